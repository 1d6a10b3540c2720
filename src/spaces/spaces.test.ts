// Property tests over every built-in space, plus exact sizes and the
// generic builder's counting, sampling and validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TsnasError } from '../errors.js';
import { Rng } from '../util/random.js';
import {
  canonicalJson,
  chainSpace,
  defineSpace,
  diffSamples,
  hierarchicalSpace,
  mobilenetSpace,
  range,
  whenGreater,
  type DefinedSpace,
  type Sample,
} from './index.js';
import { getSpace, kitNames } from '../kits/index.js';

const SAMPLES_PER_SPACE = 40;

function samplesOf(space: DefinedSpace, seed: number, n = SAMPLES_PER_SPACE): Sample[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => (i % 2 === 0 ? space.sample(rng) : space.sampleUniform(rng)));
}

/** Labels whose existence depends on a condition. */
const conditional = (space: DefinedSpace) => new Set(space.dimensions().filter((d) => d.condition).map((d) => d.label));

for (const name of kitNames()) {
  const space = getSpace(name);

  test(`${name}: samples are valid and round-trip through JSON, text and parseArch`, () => {
    for (const s of samplesOf(space, 11)) {
      space.validate(s);
      const viaJson = space.fromJSON(JSON.parse(JSON.stringify(s)));
      assert.deepEqual(viaJson, s);
      const text = space.format(s);
      assert.deepEqual(space.parse(text), s, `text form ${text}`);
      assert.equal(space.format(space.parse(text)), text);
      assert.deepEqual(space.parseArch(JSON.stringify(s)), s);
      assert.deepEqual(space.parseArch(` ${text} `), s);
      assert.equal(space.hash(viaJson), space.hash(s));
    }
  });

  test(`${name}: the same seed gives the same samples`, () => {
    assert.deepEqual(samplesOf(space, 5, 8), samplesOf(space, 5, 8));
    assert.notDeepEqual(samplesOf(space, 5, 8), samplesOf(space, 6, 8));
  });

  test(`${name}: mutation changes exactly one shared dimension and stays in the space`, () => {
    const rng = new Rng(21);
    const cond = conditional(space);
    const structural = new Set(space.structuralLabels);
    for (const s of samplesOf(space, 12)) {
      const m = space.mutate(s, rng);
      space.validate(m);
      const d = diffSamples(s, m);
      assert.equal(d.changed.length, 1, `changed ${d.changed.join(', ')}`);
      // Dimensions appear or vanish only when a structural dimension (e.g. depth) changed.
      if (!structural.has(d.changed[0]!)) assert.deepEqual([d.added, d.removed], [[], []]);
      for (const l of [...d.added, ...d.removed]) assert.ok(cond.has(l), `${l} appeared/vanished but is unconditional`);
    }
  });

  test(`${name}: crossover children are in the space and take each value from a parent`, () => {
    const rng = new Rng(31);
    const list = samplesOf(space, 13);
    for (let i = 0; i + 1 < list.length; i += 2) {
      const [a, b] = [list[i]!, list[i + 1]!];
      for (const kind of ['uniform', 'single-point', 'cell'] as const) {
        const child = space.crossover(a, b, rng, kind);
        space.validate(child);
        for (const [label, v] of Object.entries(child)) {
          const fromParent = v === a[label] || v === b[label];
          const inNeither = a[label] === undefined && b[label] === undefined;
          assert.ok(fromParent || inNeither, `${kind}: ${label}=${v} from neither parent`);
        }
      }
    }
    assert.throws(() => space.crossover(list[0]!, list[1]!, rng, 'bogus' as never), TsnasError);
  });

  test(`${name}: neighbours differ in one dimension, are distinct and counted by the domains`, () => {
    for (const s of samplesOf(space, 14, 6)) {
      const ns = space.neighbours(s);
      const expected = space.activeDimensions(s).reduce((acc, d) => acc + d.values.length - 1, 0);
      assert.equal(ns.length, expected);
      const hashes = new Set(ns.map((n) => space.hash(n)));
      assert.equal(hashes.size, ns.length);
      assert.ok(!hashes.has(space.hash(s)));
      for (const n of ns) {
        space.validate(n);
        assert.equal(diffSamples(s, n).changed.length, 1);
      }
    }
  });

  test(`${name}: encodings have fixed lengths and 0/1 entries`, () => {
    const kinds = space.graphs(space.sample(new Rng(1))).length > 0 ? (['onehot', 'adjacency', 'path'] as const) : (['onehot'] as const);
    for (const kind of kinds) {
      const n = space.encodingLength(kind);
      assert.ok(n > 0);
      for (const s of samplesOf(space, 15, 10)) {
        const e = space.encode(s, kind);
        assert.equal(e.length, n, kind);
        assert.ok(e.every((x) => x === 0 || x === 1));
        assert.ok(e.some((x) => x === 1));
      }
    }
    const activeOneHot = space.encode(space.sample(new Rng(2)), 'onehot').reduce((a, b) => a + b, 0);
    assert.ok(activeOneHot >= space.dimensions().filter((d) => !d.condition).length);
  });

  test(`${name}: validation names the label and value`, () => {
    const s = space.sample(new Rng(3));
    const [first] = Object.keys(s);
    assert.throws(() => space.validate({ ...s, [first!]: 'not_a_value' }), (e: TsnasError) => e.code === 'usage' && e.message.includes(first!) && e.message.includes('not_a_value'));
    assert.throws(() => space.validate({ ...s, bogus_label: 1 }), /unknown label 'bogus_label'/);
    const missing = { ...s };
    delete (missing as Record<string, unknown>)[first!];
    assert.throws(() => space.validate(missing), new RegExp(`'${first}' is missing`));
    assert.throws(() => space.parseArch('{not json'), (e: TsnasError) => e.exitCode === 2);
  });
}

test('hashes are stable across runs (fixed values computed once)', () => {
  const cases: [string, string, string][] = [
    ['nb201', '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|', 'c52692677d61632456a0ab334e1af787df52a7e3'],
    ['chain', 'conv:3:32:relu > sep_conv:5:64:swish', '70caba8f18f1df5a0f14f1780d54bf12a15da30a'],
    ['mobilenet', 'r224|k3e4,k5e6|k3e3,k3e3,k7e6|k3e3,k3e3|k5e4,k5e4,k5e4,k5e4|k7e6,k7e6', '2e6cf30747b6e5ff103011bd84f2a9156da28462'],
    ['hierarchical', '|nor_conv_3x3~0|+|none~0|skip_connect~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_3x3~2| @ 2x16,3x32', 'c618f7f0b780440f503471247b36abad1f32ff35'],
  ];
  for (const [name, text, hash] of cases) {
    const space = getSpace(name);
    assert.equal(space.hash(space.parse(text)), hash, name);
  }
  // Key order does not matter.
  const nb = getSpace('nb201');
  const s = nb.parse(cases[0]![1]);
  const reversed = Object.fromEntries(Object.entries(s).reverse());
  assert.equal(nb.hash(reversed), cases[0]![2]);
  assert.equal(canonicalJson({ b: 1, a: [2, { d: 1, c: 2 }] }), '{"a":[2,{"c":2,"d":1}],"b":1}');
});

test('exact sizes of the built-in spaces', () => {
  assert.equal(getSpace('nb201').size(), 15625n);
  const darts = getSpace('darts');
  assert.equal(darts.size(), 1_076_746_950_455_072_400n);
  assert.equal(darts.size(), (1n * 3n * 6n * 10n * 7n ** 8n) ** 2n);
  assert.equal(1n * 3n * 6n * 10n * 7n ** 8n, 1_037_664_180n);
  assert.match(darts.sizeFormula(), /1·3·6·10·7\^8/);
  let chain = 0n;
  for (let d = 1n; d <= 6n; d++) chain += 252n ** d;
  assert.equal(getSpace('chain').size(), chain);
  assert.equal(getSpace('mobilenet').size(), 5n * (81n + 729n + 6561n) ** 5n);
  assert.equal(getSpace('hierarchical').size(), 15625n * (12n ** 2n + 12n ** 3n + 12n ** 4n));
  for (const name of kitNames()) assert.ok(getSpace(name).sizeFormula().includes(String(getSpace(name).size())), name);
});

test('the generic count matches enumeration on a small conditional space', () => {
  const small = chainSpace({ maxDepth: 3, ops: ['conv', 'identity'], kernels: [3], filters: [16, 32], activations: ['relu'] });
  assert.equal(small.size(), 4n + 16n + 64n);
  // Every sample is reachable through neighbours, so a closure enumerates the space.
  const seen = new Map<string, Sample>();
  const queue = [small.sample(new Rng(0))];
  while (queue.length) {
    const s = queue.pop()!;
    const h = small.hash(s);
    if (seen.has(h)) continue;
    seen.set(h, s);
    queue.push(...small.neighbours(s));
  }
  assert.equal(BigInt(seen.size), small.size());
});

test('sampleUniform is uniform over samples; sample() is uniform per dimension', () => {
  const small = chainSpace({ maxDepth: 3, ops: ['conv', 'identity'], kernels: [3], filters: [16, 32], activations: ['relu'] });
  const rng = new Rng(9);
  const n = 3000;
  let deepUniform = 0;
  let deepPerDim = 0;
  for (let i = 0; i < n; i++) {
    if (small.sampleUniform(rng).depth === 3) deepUniform++;
    if (small.sample(rng).depth === 3) deepPerDim++;
  }
  assert.ok(Math.abs(deepUniform / n - 64 / 84) < 0.03, `uniform depth-3 share ${deepUniform / n}`);
  assert.ok(Math.abs(deepPerDim / n - 1 / 3) < 0.03, `per-dimension depth-3 share ${deepPerDim / n}`);
});

test('a user-defined space through the builder', () => {
  const space = defineSpace({
    name: 'tiny',
    dimensions: [
      { label: 'depth', kind: 'integer', values: range(1, 3) },
      ...[0, 1, 2].map((i) => ({ label: `op${i}`, values: ['a', 'b', 'c'], ...(i >= 1 ? { when: whenGreater('depth', i) } : {}), group: `layer${i}` })),
      { label: 'width', kind: 'integer' as const, values: [8, 16] },
    ],
  });
  assert.equal(space.size(), 2n * (3n + 9n + 27n));
  assert.match(space.sizeFormula(), /= 78$/);
  assert.deepEqual(space.structuralLabels, ['depth']);
  const s = space.parse('{"depth": 2, "op0": "a", "op1": "c", "width": 8}');
  assert.deepEqual(Object.keys(s), ['depth', 'op0', 'op1', 'width']);
  assert.throws(() => space.validate({ depth: 1, op0: 'a', op1: 'b', width: 8 }), /'op1' is present but inactive \(it exists only when depth > 1\)/);
  assert.throws(() => space.parse('{"depth": 2, "op0": "a", "op1": "z", "width": 8}'), /'op1' has value 'z', expected one of 'a', 'b', 'c'/);
  assert.throws(() => space.encode(s, 'path'), /no graph view/);
  // A structural change adds or drops the dependent dimension and changes nothing else.
  const deeper = space.neighbours(s).find((n) => n.depth === 3)!;
  assert.deepEqual(diffSamples(s, deeper), { changed: ['depth'], added: ['op2'], removed: [] });
  assert.equal(deeper.op2, 'a');
  assert.throws(
    () => defineSpace({ name: 'bad', dimensions: [{ label: 'x', values: [1], when: whenGreater('y', 0) }] }),
    /condition reads 'y', which must be a dimension declared earlier/,
  );
  assert.throws(() => defineSpace({ name: 'bad', dimensions: [{ label: 'x', values: [1, 1] }] }), /values must be distinct/);
});

test('space options reach the macro spaces', () => {
  const mb = mobilenetSpace({ resolutions: [128], depths: [2], kernels: [3], expandRatios: [4, 6] });
  assert.equal(mb.size(), (2n ** 2n) ** 5n);
  const h = hierarchicalSpace({ stageCounts: [3], cellsPerStage: [5], channels: [16, 32, 64] });
  assert.equal(h.size(), 15625n * 27n);
  assert.throws(() => getSpace('nope'), (e: TsnasError) => e.exitCode === 2 && /nb201, darts/.test(e.message));
});
