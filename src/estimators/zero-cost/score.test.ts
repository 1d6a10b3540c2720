// Scoring cells: seeded and order-independent, cost proxies from the cost model, no leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syntheticDataset } from '../../data/synthetic.js';
import { nb201Cost } from '../../hardware/cost.js';
import { parseNb201Ops } from '../../spaces/nb201.js';
import { memory } from '../../tensor/index.js';
import { proxyBatch, scoreNb201, proxiesStep } from './score.js';
import { resolveArchs } from '../../cli/commands/proxies.js';
import { rankQuality } from '../rank.js';

const A = '|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|';
const B = '|skip_connect~0|+|none~0|nor_conv_3x3~1|+|nor_conv_1x1~0|avg_pool_3x3~1|skip_connect~2|';

test('scoreNb201 is deterministic per seed, independent of order, and frees everything', () => {
  const before = memory().numTensors;
  const data = syntheticDataset({ n: 40, channels: 3, height: 8, width: 8, numClasses: 10, seed: 1 });
  const batch = proxyBatch(data, { size: 8, seed: 3 });
  const o = { proxies: ['synflow', 'snip', 'nwot', 'params', 'flops'] as const, batch, numClasses: 10, C: 4, N: 1, seed: 5 };
  const a1 = scoreNb201(A, o);
  const b1 = scoreNb201(B, o);
  const b2 = scoreNb201(B, o);
  const a2 = scoreNb201(parseNb201Ops(A), o);
  assert.deepEqual(a2.scores, a1.scores);
  assert.deepEqual(b2.scores, b1.scores);
  assert.notEqual(a1.scores.synflow, b1.scores.synflow);
  assert.deepEqual(Object.keys(a1.scores), ['synflow', 'snip', 'nwot', 'params', 'flops']);
  const cost = nb201Cost(parseNb201Ops(A), { input: [3, 8, 8], classes: 10, channels: 4, cells: 1 });
  assert.equal(a1.scores.params, cost.params);
  assert.equal(a1.scores.flops, cost.flops);
  const other = scoreNb201(A, { ...o, seed: 6 });
  assert.notEqual(other.scores.snip, a1.scores.snip);
  batch.x.dispose();
  batch.y.dispose();
  assert.equal(memory().numTensors, before);
});

test('proxiesStep runs the bench workload without leaking', () => {
  const before = memory().numTensors;
  const w = proxiesStep({ batch: 2 });
  const during = memory().numTensors;
  w.step();
  assert.equal(memory().numTensors, during);
  assert.ok(Number(w.info.params) > 1e5, `params ${w.info.params}`);
  w.dispose();
  assert.equal(memory().numTensors, before);
});

test('resolveArchs: N distinct seeded cells', () => {
  const a = resolveArchs('25', 4);
  assert.equal(new Set(a).size, 25);
  assert.deepEqual(resolveArchs('25', 4), a);
  assert.throws(() => resolveArchs('0', 1), /1\.\.15625/);
  assert.throws(() => resolveArchs('/nonexistent/archs.txt', 1), /readable file/);
});

test('rankQuality drops non-finite pairs and reports null below two', () => {
  const q = rankQuality([1, 2, Number.NaN, 4], [10, 20, 30, 40]);
  assert.equal(q.n, 3);
  assert.equal(q.spearman, 1);
  assert.equal(q.kendall, 1);
  assert.deepEqual(rankQuality([Number.NaN, 1], [1, 2]), { spearman: null, kendall: null, n: 1 });
  assert.equal(rankQuality([3, 2, 1], [1, 2, 3]).spearman, -1);
});

test('proxyBatch resizes before the augmentation it is given, whatever else that object holds', () => {
  const before = memory().numTensors;
  const data = syntheticDataset({ n: 10, channels: 3, height: 32, width: 32, numClasses: 10, seed: 1 });
  // A whole training pipeline's options, as tsnas proxies --augment passes them (its resize is undefined).
  const augment = { resize: undefined, crop: { padding: 4 }, flip: true, normalize: { mean: [0, 0, 0], std: [1, 1, 1] } };
  const plain = proxyBatch(data, { size: 4, seed: 2, resize: 16 });
  const augmented = proxyBatch(data, { size: 4, seed: 2, resize: 16, augment });
  assert.deepEqual(plain.x.shape, [4, 3, 16, 16]);
  assert.deepEqual(augmented.x.shape, [4, 3, 16, 16]);
  for (const b of [plain, augmented]) b.x.dispose(), b.y.dispose();
  assert.equal(memory().numTensors, before);
});
