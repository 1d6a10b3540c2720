// The transformer space: text form and its errors, exact size, arch helpers,
// conditional layers, encodings of fixed length, configuration errors and
// the `tsnas space` commands. (spaces.test.ts runs the generic properties —
// sampling, mutation, crossover, neighbours, hashing — over every built-in
// space, this one included.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TsnasError } from '../errors.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastJson, runTsnas } from '../testing/cli.js';
import { Rng } from '../util/random.js';
import { costOf, getSpace } from '../kits/index.js';
import { transformerSpace } from './transformer.js';

test('transformer: text form round trip, arch helpers and layers active only below the depth', () => {
  const space = transformerSpace();
  const s = space.parse('e64|h4:m2 > h2:m4');
  assert.deepEqual(s, { embed_dim: 64, depth: 2, layer0_heads: 4, layer0_mlp_ratio: 2, layer1_heads: 2, layer1_mlp_ratio: 4 });
  assert.equal(space.format(s), 'e64|h4:m2 > h2:m4');
  assert.deepEqual(space.parse('  e64 | h4:m2>h2:m4 '), s);
  assert.deepEqual(space.archOf(s), { embedDim: 64, layers: [{ heads: 4, mlpRatio: 2 }, { heads: 2, mlpRatio: 4 }] });
  assert.deepEqual(space.fromArch(space.archOf(s)), s);
  assert.deepEqual(space.parseArch(JSON.stringify(s)), s);
  assert.throws(() => space.validate({ ...s, layer2_heads: 1 }), /'layer2_heads' is present but inactive \(it exists only when depth > 2\)/);
  const rng = new Rng(3);
  for (let i = 0; i < 30; i++) {
    const x = space.sample(rng);
    const layers = space.archOf(x).layers.length;
    assert.equal(Object.keys(x).length, 2 + 2 * layers);
    const m = space.mutate(x, rng);
    space.validate(m);
    space.validate(space.crossover(x, m, rng, 'cell'));
  }
});

test('transformer: parse errors name the token, its position and what was expected', () => {
  const space = transformerSpace();
  const cases: [string, RegExp][] = [
    ['e60|h4:m2', /position 1: found 'e60', expected an embedding 'e<N>' with N one of 32, 48, 64/],
    ['e64', /found the end of the text, expected '\|' and then the layers/],
    ['e64|h4:m2 > h3:m2', /position 13: found 'h3:m2', expected a layer 'h<heads>:m<ratio>' \(heads 1\/2\/4, MLP ratios 1\/2\/4\) for layer 1/],
    ['e64|h4m2', /found 'h4m2', expected a layer/],
    ['e64|h4:m2 > ', /found the end of the text, expected a layer .* for layer 1/],
    ['e32|h1:m1 > h1:m1 > h1:m1 > h1:m1 > h1:m1', /expected a depth in 1\/2\/3\/4 \(found 5 layers\)/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(() => space.parse(text), (e: unknown) => e instanceof TsnasError && e.exitCode === 2 && pattern.test(e.message), text);
  }
});

test('transformer: exact size, encodings of fixed length, drawing, options and configuration errors', () => {
  const space = getSpace('transformer');
  assert.equal(space.size(), 3n * (9n + 81n + 729n + 6561n));
  assert.match(space.sizeFormula(), /= 22140$/);
  // One-hot over every dimension: embed 3 + depth 4 + 4 layers × (3 + 3).
  assert.equal(space.encodingLength('onehot'), 31);
  const rng = new Rng(1);
  for (let i = 0; i < 10; i++) {
    const s = space.sample(rng);
    assert.equal(space.encode(s, 'onehot').length, 31);
    const [graph] = space.drawingGraphs(s);
    assert.equal(graph!.edges.length, Number(s.depth) + 2);
  }
  const small = getSpace('transformer', { transformer: { embedDims: [16], depths: [2], heads: [1, 2], mlpRatios: [4], headDim: 8, patchSize: 2 } });
  assert.equal(small.size(), 4n);
  assert.equal(small.format(small.sample(rng)).slice(0, 4), 'e16|');
  assert.throws(() => transformerSpace({ heads: [0, 2] }), /heads must be distinct positive integers, found \[0, 2\]/);
  assert.throws(() => transformerSpace({ patchSize: 0 }), /patchSize must be a positive integer, found 0/);
});

test('transformer: tsnas space info | sample | cost | draw', () => {
  const json = (...args: string[]) => {
    const r = runTsnas([...args, '--json']);
    assert.equal(r.code, 0, `${args.join(' ')}\n${r.stderr}`);
    return lastJson(r.stdout);
  };
  assert.equal(json('space', 'info', '--space', 'transformer').size, '22140');
  const sampled = json('space', 'sample', '--space', 'transformer', '--n', '2', '--input', '1x28x28');
  assert.equal(sampled.samples.length, 2);
  const space = transformerSpace();
  for (const x of sampled.samples) {
    assert.deepEqual(space.parse(x.arch), x.sample);
    assert.equal(x.params, costOf(space, x.sample, { input: [1, 28, 28] }).params);
  }
  const cost = json('space', 'cost', '--space', 'transformer', '--arch', 'e32|h1:m1');
  assert.deepEqual(cost, costOf(space, space.parse('e32|h1:m1')));
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-transformer-'));
  try {
    const out = join(dir, 'vit.svg');
    assert.equal(runTsnas(['space', 'draw', '--space', 'transformer', '--arch', 'e64|h4:m2 > h2:m4', '--out', out]).code, 0);
    const svg = readFileSync(out, 'utf8');
    assert.ok(svg.includes('<svg') && svg.includes('attn 4h, MLP x2'), 'the drawing names the layers');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // A bad layer is a usage error (exit code 2) that names the token.
  const bad = runTsnas(['space', 'cost', '--space', 'transformer', '--arch', 'e32|h3:m1']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /found 'h3:m1'/);
});
