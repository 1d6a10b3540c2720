// The nb201 space's cell as options (issue 16 §7): `nodes` and `ops` reshape
// the space, its fixed network, cost model, supernet and exports alike. The
// course's example cell (4 nodes, 6 ops with max pooling) is checked end to
// end on tiny networks; bad options are config errors naming the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TsnasError } from '../errors.js';
import { checkConfig } from '../experiment/config.js';
import { checkOnnxAgainstModule, exportToOnnx } from '../export/onnx/index.js';
import { safetensorsToTensors, tensorsToSafetensors } from '../export/safetensors.js';
import { nb201Space, NB201_CELL_OP_CATALOGUE, type Nb201Space } from '../spaces/nb201.js';
import { DartsMixing, GdasMixing } from '../spaces/supernet.js';
import type { Sample } from '../spaces/types.js';
import { manualSeed, memory, randn, setNumThreads, tidy } from '../tensor/index.js';
import { Rng } from '../util/random.js';
import { buildNetwork, buildSupernet, costOf, costOptionsFor, getSpace, latencyModel, morphismsOf } from './index.js';

setNumThreads(1);

const COURSE = { nodes: 4, ops: [...NB201_CELL_OP_CATALOGUE] };
const TINY = { numClasses: 3, channels: 4, cells: 1, inputSize: 8 };
const courseSpace = () => getSpace('nb201', { nb201: COURSE }) as Nb201Space;

/** Random samples of the space, the last with max pooling on every edge, so that the pooling's path is always met. */
function samplesOf(space: Nb201Space, n: number, rng: Rng): Sample[] {
  const out = Array.from({ length: n - 1 }, () => space.sample(rng));
  out.push(space.fromOps(space.edges.map(() => 'max_pool_3x3')));
  return out;
}

test('4 nodes and 6 ops: 10 edges of 6 ops, the size formula, the text form round trip, the encodings', () => {
  const space = courseSpace();
  assert.equal(space.dimensions().length, 10);
  assert.ok(space.dimensions().every((d) => d.values.length === 6));
  assert.equal(space.size(), 6n ** 10n);
  assert.match(space.sizeFormula(), /^6\^10 = 60466176 /);
  const rng = new Rng(3);
  for (let i = 0; i < 20; i++) {
    const s = space.sample(rng);
    const text = space.format(s);
    assert.equal(text.split('+').length, 4, text);
    assert.deepEqual(space.parse(text), s);
    assert.deepEqual(space.parseArch(JSON.stringify(space.opsOf(s))), s);
    assert.equal(space.encode(s, 'onehot').length, 60);
    // NASLib's path layout over 6 ops, paths of up to 4 edges.
    assert.equal(space.encode(s, 'path').length, 6 + 36 + 216 + 1296);
    // 5×5 adjacency, then a one-hot over the 6 ops for each of the 10 node pairs.
    assert.equal(space.encode(s, 'adjacency').length, 25 + 10 * 6);
    const m = space.mutate(s, rng);
    assert.equal(space.format(m).split('+').length, 4);
  }
  assert.equal(space.neighbours(space.sample(rng)).length, 10 * 5);
  // The default cell's text is one node short, and the reverse.
  const nb201 = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|';
  assert.throws(() => space.parse(nb201), (e: TsnasError) => e.code === 'usage' && /expected '\+' before node 4/.test(e.message));
  assert.throws(() => nb201Space().parse(space.format(space.sample(rng))), /expected the end of the string after node 3/);
  assert.throws(() => nb201Space().parse(nb201.replace('nor_conv_3x3~2', 'max_pool_3x3~2')), /one of none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3/);
  // The drawing has the extra node.
  const [graph] = space.graphs(space.sample(rng));
  assert.equal(graph!.nodes.length, 5);
  assert.equal(graph!.nodes[4]!.role, 'output');
});

test('the size formula equals a brute-force count of the space (every sample reached through neighbours)', () => {
  for (const options of [{ nodes: 2, ops: ['none', 'max_pool_3x3', 'nor_conv_1x1'] }, { nodes: 3, ops: ['skip_connect', 'avg_pool_3x3'] }, { nodes: 1 }]) {
    const space = nb201Space(options);
    const seen = new Set<string>();
    const queue = [space.sample(new Rng(1))];
    while (queue.length > 0) {
      const s = queue.pop()!;
      const key = space.format(s);
      if (seen.has(key)) continue;
      seen.add(key);
      queue.push(...space.neighbours(s));
    }
    assert.equal(BigInt(seen.size), space.size(), JSON.stringify(options));
    assert.ok(space.sizeFormula().includes(`= ${seen.size} `), space.sizeFormula());
  }
});

test('fixed networks of the course cell: they run, the cost model counts their parameters, ONNX and safetensors give the same outputs', async () => {
  manualSeed(5);
  const space = courseSpace();
  const start = memory().numTensors;
  for (const s of samplesOf(space, 4, new Rng(9))) {
    const what = space.format(s);
    const net = buildNetwork(space, s, TINY);
    const copy = buildNetwork(space, s, TINY);
    try {
      assert.equal(net.numParameters(), costOf(space, s, costOptionsFor(TINY)).params, what);
      net.eval();
      copy.eval();
      const bytes = tensorsToSafetensors(net.stateDict());
      const { tensors } = safetensorsToTensors(bytes);
      copy.loadStateDict(tensors);
      for (const t of Object.values(tensors)) t.dispose();
      tidy(() => {
        const x = randn([2, 3, 8, 8]);
        const y = net.call(x);
        assert.deepEqual(y.shape, [2, 3], what);
        assert.ok(y.sub(copy.call(x)).abs().max().item() === 0, `${what}: safetensors round trip`);
      });
      const check = await checkOnnxAgainstModule(exportToOnnx(net, [3, 8, 8]).bytes, net, [3, 8, 8], { batch: 2 });
      assert.ok(check.maxRelDiff < 1e-4, `${what}: onnxruntime differs by ${check.maxAbsDiff}`);
    } finally {
      net.dispose();
      copy.dispose();
    }
  }
  assert.equal(memory().numTensors, start, 'no tensor outlives its network');
});

test('the supernet of the course cell: DARTS and GDAS mixing forward with α on every edge, single path stands for a sample', () => {
  const space = courseSpace();
  const start = memory().numTensors;
  for (const mixing of [new DartsMixing(), new GdasMixing(1)]) {
    const net = buildSupernet(space, { numClasses: 3, channels: 4, cells: 1, mixing });
    try {
      assert.equal(net.labels().size, 10);
      for (const values of net.labels().values()) assert.deepEqual(values, COURSE.ops);
      assert.equal(mixing.architectureParameters().length, 10);
      tidy(() => {
        const loss = net.call(randn([2, 3, 8, 8])).logSoftmax(1).mean().neg();
        loss.backward();
        // Each read of .grad is a new handle: read inside the scope.
        assert.ok(mixing.architectureParameters().every((a) => a.grad !== null && Number.isFinite(a.grad.sum().item())), `${mixing.constructor.name}: every α gets a gradient`);
      });
      space.validate(net.exportSample());
    } finally {
      net.dispose();
    }
  }
  const net = buildSupernet(space, { numClasses: 3, channels: 4, cells: 1 });
  try {
    for (const s of samplesOf(space, 3, new Rng(4))) {
      net.setActive(s);
      assert.deepEqual(net.exportSample(), s);
      tidy(() => assert.deepEqual(net.call(randn([1, 3, 8, 8])).shape, [1, 3]));
    }
  } finally {
    net.dispose();
  }
  assert.equal(memory().numTensors, start);
});

test('morphisms of a cell without 1x1 convolutions stay in the space', () => {
  const space = nb201Space({ nodes: 4, ops: ['none', 'skip_connect', 'nor_conv_3x3', 'max_pool_3x3'] });
  const s = space.fromOps(space.edges.map((_, e) => (e % 2 === 0 ? 'none' : 'max_pool_3x3')));
  const morphisms = morphismsOf(space, s, new Rng(0));
  assert.equal(morphisms.length, 5, 'one none -> nor_conv_3x3 per none edge');
  for (const m of morphisms) space.validate(m.child);
});

test('bad cell options are config errors naming the field, in the space and in a config', () => {
  const cases: [object, string, RegExp][] = [
    [{ nodes: 0 }, 'space.options.nodes', /integer from 1 to 8, got 0/],
    [{ nodes: 2.5 }, 'space.options.nodes', /got 2.5/],
    [{ ops: ['none', 'conv_9x9'] }, 'space.options.ops[1]', /unknown op "conv_9x9", expected one of none, skip_connect, .*max_pool_3x3/],
    [{ ops: ['none', 'skip_connect', 'none'] }, 'space.options.ops[2]', /'none' is listed twice/],
    [{ ops: [] }, 'space.options.ops', /non-empty list/],
    [{ ops: 'none' }, 'space.options.ops', /non-empty list/],
    [{ ops: ['none'] }, 'space.options.ops', /an op other than 'none'/],
  ];
  for (const [options, where, message] of cases) {
    const check = (e: TsnasError) => e instanceof TsnasError && e.code === 'config' && e.where === where && message.test(e.message);
    assert.throws(() => nb201Space(options), check, JSON.stringify(options));
    assert.throws(() => checkConfig({ space: { name: 'nb201', options }, estimator: { kind: 'training' } }), check, JSON.stringify(options));
  }
  assert.throws(() => checkConfig({ space: { name: 'nb201', options: { cells: 3 } }, estimator: { kind: 'training' } }),
    (e: TsnasError) => e.where === 'space.options.cells' && /expected one of nodes, ops or hyperparameters/.test(e.message));
});

test('the NAS-Bench-201 table refuses any other cell, naming space.options', () => {
  for (const options of [{ nodes: 4 }, { ops: ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'max_pool_3x3'] }, { ops: ['skip_connect', 'none', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'] }]) {
    assert.throws(() => checkConfig({ space: { name: 'nb201', options }, estimator: { kind: 'benchmark' } }),
      (e: TsnasError) => e.code === 'config' && e.where === 'space.options' && /covers only its own cell/.test(e.message), JSON.stringify(options));
  }
  // The defaults spelled out are the benchmark's cell.
  checkConfig({ space: { name: 'nb201', options: { nodes: 3, ops: ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'] } }, estimator: { kind: 'benchmark' } });
});

test('latency tables (timed on the benchmark cell) refuse another cell, naming space.options', () => {
  const model = latencyModel('nb201');
  const shape = { channels: 4, cells: 1, resolution: 8 };
  assert.ok(model.sampleEdgeOps(shape, nb201Space().sample(new Rng(1))).length > 0);
  const subset = nb201Space({ ops: ['skip_connect', 'nor_conv_3x3'] });
  // No 'none' among these ops: all 6 edges of the cell in each of the 3 stages.
  assert.equal(model.sampleEdgeOps(shape, subset.sample(new Rng(1))).length, 18, 'a subset of the benchmark ops is covered');
  for (const options of [COURSE, { nodes: 2 }, { ops: ['max_pool_3x3', 'nor_conv_3x3'] }]) {
    const space = nb201Space(options);
    assert.throws(() => model.sampleEdgeOps(shape, space.fromOps(space.edges.map(() => options.ops?.[0] ?? 'nor_conv_3x3'))),
      (e: TsnasError) => e.code === 'config' && e.where === 'space.options' && /latency tables cover NAS-Bench-201's own cell/.test(e.message), JSON.stringify(options));
  }
});
