import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, memory, noGrad, ones, randn, tensor, tidy, type Tensor } from '../tensor/index.js';
import {
  AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, Dropout, Embedding, LSTMCell, LayerNorm, Linear, MaxPool2d, ReLU, Sequential,
} from './layers.js';
import * as init from './init.js';
import { assertClose } from '../testing/assert.js';
import { decode, loadNnFixture, type Encoded } from '../testing/fixtures.js';

const fixture = loadNnFixture('init.json');

function assertStateMatches(state: Record<string, { toArray(): number[]; shape: number[] }>, expected: Record<string, Encoded>,
  what: string): void {
  assert.deepEqual(Object.keys(state), Object.keys(expected), `${what}: keys`);
  for (const [k, e] of Object.entries(expected)) {
    assert.deepEqual(state[k]!.shape, e.shape, `${what}.${k}: shape`);
    // Same generator, same draws: equal to float32 rounding of the fixture's doubles.
    assertClose(state[k]!.toArray(), e.data, `${what}.${k}`, 0, 0);
  }
}

test('default initialisation draws exactly what PyTorch draws after the same seed', () => {
  const start = memory().numTensors;
  manualSeed(fixture.seed);
  const conv = new Conv2d(3, 5, 3, { bias: true });
  const grouped = new Conv2d(4, 4, 3, { groups: 4, bias: false });
  const lin = new Linear(6, 3);
  const cell = new LSTMCell(4, 5);
  assertStateMatches(conv.stateDict(), fixture.conv, 'conv');
  assertStateMatches(grouped.stateDict(), fixture.grouped, 'grouped');
  assertStateMatches(lin.stateDict(), fixture.linear, 'linear');
  assertStateMatches(cell.stateDict(), fixture.lstm, 'lstm');
  for (const m of [conv, grouped, lin, cell]) m.dispose();
  assert.equal(memory().numTensors, start);
});

test('BatchNorm2d running statistics and eval output match PyTorch (momentum and cumulative)', () => {
  const bnFix = fixture.bn;
  const batches = bnFix.batches.map((b: Encoded) => decode(b));
  for (const [label, momentum] of [['momentum', bnFix.momentumValue], ['cumulative', null]] as const) {
    const bn = new BatchNorm2d(3, { momentum });
    tidy(() => {
      for (const b of batches) bn.call(b);
    });
    const expected = bnFix[label];
    assertClose(bn.runningMean!, expected.runningMean, `${label} running mean`);
    assertClose(bn.runningVar!, expected.runningVar, `${label} running var`);
    assert.equal(bn.numBatchesTracked!.item(), expected.numBatchesTracked);
    bn.eval();
    tidy(() => assertClose(bn.call(batches[0]), expected.evalOutput, `${label} eval output`));
    bn.dispose();
  }
  for (const b of batches) b.dispose();
});

test('BatchNorm2d: eval leaves statistics alone; without tracking it always normalises by the batch', () => {
  const x = tidy(() => randn([8, 2, 3, 3]).mul(3).add(5));
  const bn = new BatchNorm2d(2);
  bn.eval();
  tidy(() => {
    const y = bn.call(x);
    // Fresh running stats (mean 0, var 1): eval output is x / sqrt(1 + eps).
    assertClose(y, x.div(Math.sqrt(1 + 1e-5)).toArray(), 'eval with initial stats');
  });
  assert.deepEqual(bn.runningMean!.toArray(), [0, 0]);
  assert.equal(bn.numBatchesTracked!.item(), 0);

  const free = new BatchNorm2d(2, { trackRunningStats: false, affine: false });
  assert.equal(free.buffers().length, 0);
  assert.equal(free.parameters().length, 0);
  free.eval();
  tidy(() => {
    const y = free.call(x);
    const mean = y.mean([0, 2, 3]).toArray();
    const variance = y.var([0, 2, 3], false).toArray();
    mean.forEach((v) => assert.ok(Math.abs(v) < 1e-5, `batch-normalised mean ${v}`));
    variance.forEach((v) => assert.ok(Math.abs(v - 1) < 1e-3, `batch-normalised var ${v}`));
  });
  assert.throws(() => tidy(() => bn.call(randn([2, 2]))), /4-D input/);
  x.dispose();
  bn.dispose();
  free.dispose();
});

test('layer shapes and simple behaviours', () => {
  const start = memory().numTensors;
  const conv = new Conv2d(4, 8, 3, { stride: 2, padding: 2, dilation: 2, groups: 2 });
  assert.deepEqual(conv.weight.shape, [8, 2, 3, 3]);
  const lstm = new LSTMCell(3, 6);
  const emb = new Embedding(10, 4);
  const ln = new LayerNorm(5);
  const drop = new Dropout(0.5);
  tidy(() => {
    assert.deepEqual(conv.call(randn([2, 4, 9, 9])).shape, [2, 8, 5, 5]);
    assert.deepEqual(new MaxPool2d(2).call(randn([1, 1, 4, 4])).shape, [1, 1, 2, 2]);
    assert.deepEqual(new AvgPool2d(3, { stride: 1, padding: 1 }).call(randn([1, 1, 4, 4])).shape, [1, 1, 4, 4]);
    assert.deepEqual(new AdaptiveAvgPool2d(1).call(randn([2, 3, 5, 5])).shape, [2, 3, 1, 1]);
    const [h, c] = lstm.call(randn([2, 3]));
    assert.deepEqual(h.shape, [2, 6]);
    const [h2] = lstm.call(randn([2, 3]), [h, c]);
    assert.deepEqual(h2.shape, [2, 6]);
    assert.deepEqual(emb.call(tensor([1, 9, 0], [3], { dtype: 'int64' })).shape, [3, 4]);
    const y = ln.call(randn([4, 5]));
    y.mean(1).toArray().forEach((v) => assert.ok(Math.abs(v) < 1e-5));
    const x = ones([1000]);
    const dropped = drop.call(x).toArray();
    assert.ok(dropped.some((v) => v === 0) && dropped.some((v) => v === 2), 'training dropout zeroes and rescales');
    drop.eval();
    assert.ok(drop.call(x).toArray().every((v) => v === 1), 'eval dropout is the identity');
  });
  for (const m of [conv, lstm, emb, ln]) m.dispose();
  assert.equal(memory().numTensors, start);
});

test('init helpers follow torch.nn.init formulas', () => {
  assert.equal(init.calculateGain('relu'), Math.sqrt(2));
  assert.equal(init.calculateGain('leaky_relu', Math.sqrt(5)), Math.sqrt(2 / 6));
  const w = tidy(() => randn([64, 32, 3, 3]));
  assert.deepEqual(init.calculateFanInAndFanOut(w), { fanIn: 288, fanOut: 576 });
  init.kaimingUniform_(w, { a: Math.sqrt(5) });
  const bound = 1 / Math.sqrt(288);
  const values = w.toArray();
  assert.ok(values.every((v) => Math.abs(v) <= bound), 'kaiming_uniform(a=sqrt 5) stays within 1/sqrt(fan_in)');
  assert.ok(Math.max(...values.map(Math.abs)) > 0.95 * bound);
  init.kaimingNormal_(w, { mode: 'fan_out', nonlinearity: 'relu' });
  const std = noGrad(() => w.std().item());
  assert.ok(Math.abs(std - Math.sqrt(2 / 576)) < 0.05 * Math.sqrt(2 / 576), `kaiming normal std ${std}`);
  init.xavierUniform_(w);
  const a = Math.sqrt(6 / (288 + 576));
  assert.ok(w.toArray().every((v) => Math.abs(v) <= a));
  init.constant_(w, 0.25);
  assert.ok(w.toArray().every((v) => v === 0.25));
  init.zeros_(w);
  assert.ok(w.toArray().every((v) => v === 0));
  const vector = ones([3]);
  assert.throws(() => init.calculateFanInAndFanOut(vector), /at least 2 dims/);
  vector.dispose();
  w.dispose();
});

test('Sequential releases each intermediate output once the next layer has read it', () => {
  const seq = new Sequential(new ReLU(), new ReLU(), new ReLU(), new ReLU());
  const x = randn([4, 8]);
  tidy(() => {
    const before = memory().numTensors;
    const y = seq.call(x);
    assert.equal(memory().numTensors - before, 1, 'only the output is alive');
    assert.deepEqual(y.shape, [4, 8]);
  });
  // A hook that keeps an output opts out.
  let held: Tensor | undefined;
  const first = seq.at(0);
  const remove = first.registerForwardHook((_m, _i, out) => {
    held = (out as Tensor).keep();
  });
  tidy(() => seq.call(x));
  remove();
  assert.ok(held && !held.isDisposed);
  held.dispose();
  x.dispose();
});
