// The DARTS evaluation network: DARTS's parameter counts, reduction
// placement, the auxiliary head and drop-path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, memory, ones, randn, tidy } from '../tensor/index.js';
import { dartsCost } from '../hardware/cost.js';
import { DARTS_V2_TEXT, dartsSpace, parseGenotype, type Genotype } from '../spaces/darts.js';
import { DartsCell, DartsNetwork, dropPath } from './darts.js';
import { buildNetwork, costOf } from '../kits/index.js';
import { readFileSync } from 'node:fs';
import { assertClose } from '../testing/assert.js';
import { decode, type Encoded } from '../testing/fixtures.js';

const V2 = parseGenotype(DARTS_V2_TEXT);

test('DARTS V2 at C=36, 20 cells has DARTS\'s 3,349,342 parameters, with and without the auxiliary head', () => {
  const start = memory().numTensors;
  const plain = new DartsNetwork({ genotype: V2, C: 36, layers: 20, numClasses: 10 });
  assert.equal(plain.numParameters(), 3_349_342);
  assert.equal(plain.numParameters(), dartsCost(V2).params);
  plain.dispose();
  const aux = new DartsNetwork({ genotype: V2, C: 36, layers: 20, numClasses: 10, auxiliary: true });
  // The head reads 576 channels at 8x8: 1x1 conv to 128 + BN, 2x2 conv to 768 + BN, linear.
  assert.equal(aux.numParameters(), 3_349_342 + 576 * 128 + 256 + 128 * 768 * 4 + 1536 + 768 * 10 + 10);
  assert.equal(aux.numParameters(), dartsCost(V2, { auxiliary: true }).params);
  const names = aux.stateDict();
  for (const key of ['stem.0.weight', 'cells.0.preprocess0.op.1.weight', 'cells.7.preprocess0.conv_1.weight',
    'cells.0._ops.0.op.1.weight', 'auxiliary_head.features.2.weight', 'auxiliary_head.classifier.weight', 'classifier.weight']) {
    assert.ok(key in names, `DARTS parameter name ${key}`);
  }
  aux.dispose();
  // 100 classes, through the space and buildNetwork.
  const d = dartsSpace();
  const s = d.fromGenotype(V2);
  const net100 = buildNetwork(d, s, { numClasses: 100, auxiliary: true });
  assert.equal(net100.numParameters(), costOf(d, s, { classes: 100, auxiliary: true }).params);
  net100.dispose();
  assert.equal(memory().numTensors, start);
});

test('reduction cells double the channels and halve the map where placed', () => {
  const start = memory().numTensors;
  const net = new DartsNetwork({ genotype: V2, C: 4, layers: 4, numClasses: 3, reductionCells: [0, 2], inputSize: 16 });
  assert.deepEqual(net.reductionCells, [0, 2]);
  assert.deepEqual([...net.cells].map((c) => c.reduction), [true, false, true, false]);
  assert.deepEqual([...net.cells].map((c) => c.outChannels), [32, 32, 64, 64]);
  tidy(() => {
    const widths: number[][] = [];
    const remove = [...net.cells].map((cell) => cell.registerForwardHook((_m, _in, out) => void widths.push(out.shape.slice(1))));
    assert.deepEqual(net.call(randn([2, 3, 16, 16])).shape, [2, 3]);
    remove.forEach((r) => r());
    assert.deepEqual(widths, [[32, 8, 8], [32, 8, 8], [64, 4, 4], [64, 4, 4]]);
  });
  net.dispose();
  assert.throws(() => new DartsNetwork({ genotype: V2, C: 4, layers: 4, numClasses: 3, reductionCells: [4] }), /reduction cell index 4 is outside 0\.\.3/);
  assert.throws(() => new DartsNetwork({ genotype: V2, C: 5, layers: 4, numClasses: 3 }), /C must be even/);
  assert.equal(memory().numTensors, start);
});

test('the auxiliary head gives logits only while training', () => {
  const start = memory().numTensors;
  const net = new DartsNetwork({ genotype: V2, C: 4, layers: 5, numClasses: 7, auxiliary: true, inputSize: 32 });
  tidy(() => {
    const x = randn([2, 3, 32, 32]);
    const train = net.forwardWithAuxiliary(x);
    assert.deepEqual(train.logits.shape, [2, 7]);
    assert.deepEqual(train.auxLogits?.shape, [2, 7]);
    train.logits.sum().add(train.auxLogits!.sum().mul(0.4)).backward();
    assert.ok(net.auxiliaryHead!.classifier.weight.grad !== null, 'the auxiliary loss reaches its head');
    net.eval();
    assert.equal(net.forwardWithAuxiliary(x).auxLogits, null);
  });
  net.dispose();
  // At 16x16 the head would see a 4x4 map, too small for its 5x5/3 pool and 2x2 conv.
  assert.throws(() => new DartsNetwork({ genotype: V2, C: 4, layers: 5, numClasses: 7, auxiliary: true, inputSize: 16 }), /at least 8x8 at its cell, found 4x4/);
  assert.equal(memory().numTensors, start);
});

test('drop-path zeroes whole samples with the given probability and rescales the rest', () => {
  const start = memory().numTensors;
  manualSeed(3);
  tidy(() => {
    const x = ones([4000, 2, 2, 2]);
    const y = dropPath(x, 0.3);
    const perSample = y.sum([1, 2, 3]).toArray() as number[];
    const dropped = perSample.filter((v) => v === 0).length;
    assert.ok(perSample.every((v) => v === 0 || Math.abs(v - 8 / 0.7) < 1e-4), 'kept samples are scaled by 1/keep');
    assert.ok(Math.abs(dropped / 4000 - 0.3) < 0.03, `dropped fraction ${dropped / 4000}`);
    assert.equal(dropPath(x, 0), x, 'probability 0 is the identity');
  });
  assert.throws(() => tidy(() => dropPath(ones([1]), 1)), /below 1/);
  assert.equal(memory().numTensors, start);
});

test('cells drop non-identity edges while training only, and never identity edges', () => {
  const start = memory().numTensors;
  manualSeed(5);
  const edges = (op: string): Genotype['normal'] => [[op, 0], [op, 1], [op, 0], [op, 1], [op, 0], [op, 1], [op, 0], [op, 1]];
  const cat = [2, 3, 4, 5];
  const identity = new DartsCell(edges('skip_connect'), cat, 6, 6, 4, false, false);
  const pooling = new DartsCell(edges('avg_pool_3x3'), cat, 6, 6, 4, false, false);
  tidy(() => {
    const s0 = randn([64, 6, 4, 4]);
    const s1 = randn([64, 6, 4, 4]);
    const same = (a: ReturnType<typeof randn>, b: ReturnType<typeof randn>) => a.sub(b).abs().max().item() < 1e-6;
    assert.ok(same(identity.call(s0, s1, 0.9), identity.call(s0, s1, 0)), 'skip_connect edges are never dropped');
    assert.ok(!same(pooling.call(s0, s1, 0.9), pooling.call(s0, s1, 0)), 'pooling edges are dropped while training');
    pooling.eval();
    assert.ok(same(pooling.call(s0, s1, 0.9), pooling.call(s0, s1, 0)), 'no drop-path in eval mode');
  });
  identity.dispose();
  pooling.dispose();
  // The network passes its (mutable) probability to every cell.
  const net = new DartsNetwork({ genotype: V2, C: 4, layers: 3, numClasses: 2, dropPathProb: 0.2 });
  net.dropPathProb = 0.5;
  tidy(() => assert.deepEqual(net.call(randn([2, 3, 8, 8])).shape, [2, 2]));
  net.dispose();
  assert.equal(memory().numTensors, start);
});

test('a PyTorch DARTS network\'s state dict loads, and train and eval logits match it', () => {
  // test/fixtures/networks/gen_darts.py: every DARTS op in both cells, C=4, 5 cells, 16x16 input.
  const f = JSON.parse(readFileSync(new URL('../../test/fixtures/networks/darts.json', import.meta.url), 'utf8')) as {
    genotype: Genotype; C: number; layers: number; numClasses: number; numParameters: number;
    state: Record<string, Encoded>; input: Encoded; evalLogits: Encoded; trainLogits: Encoded;
  };
  const start = memory().numTensors;
  const net = new DartsNetwork({ genotype: f.genotype, C: f.C, layers: f.layers, numClasses: f.numClasses, inputSize: 16 });
  assert.equal(net.numParameters(), f.numParameters);
  tidy(() => {
    const state = Object.fromEntries(Object.entries(f.state).map(([k, v]) => [k, decode(v)]));
    const { missingKeys } = net.loadStateDict(state, { strict: false });
    assert.deepEqual(missingKeys.filter((k) => !k.endsWith('num_batches_tracked')), [], 'every parameter and statistic is in the PyTorch dict');
    const x = decode(f.input);
    net.eval();
    assertClose(net.call(x), f.evalLogits, 'eval-mode logits', 1e-4, 1e-5);
    net.train();
    assertClose(net.call(x), f.trainLogits, 'train-mode logits', 1e-4, 1e-5);
  });
  net.dispose();
  assert.equal(memory().numTensors, start);
});
