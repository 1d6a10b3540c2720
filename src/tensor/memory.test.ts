// A long training loop must not leak: neither live native tensors nor
// resident memory may grow once the loop has warmed up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  conv2d, crossEntropy, linear, manualSeed, memory, randint, randn, tidy, adaptiveAvgPool2d, batchNorm, zeros, ones, noGrad,
  type Tensor,
} from './index.js';

test('2,000 training steps keep the live tensor count constant and resident memory flat', () => {
  manualSeed(0);
  const start = memory().numTensors;
  const params: Tensor[] = [
    randn([8, 1, 3, 3]).mul_(0.3).keep(),
    randn([10, 8]).mul_(0.3).keep(),
    zeros([10]).keep(),
  ].map((p) => p.requiresGrad_());
  const bnWeight = ones([8]).requiresGrad_().keep();
  const bnBias = zeros([8]).requiresGrad_().keep();
  const runningMean = zeros([8]).keep();
  const runningVar = ones([8]).keep();
  const all = [...params, bnWeight, bnBias];
  const x = randn([16, 1, 12, 12]).keep();
  const y = randint(0, 10, [16]).keep();
  const [w1, w2, b2] = params as [Tensor, Tensor, Tensor];

  let counts: number[] = [];
  let rssAfterWarmup = 0;
  let firstLoss = 0;
  let lastLoss = 0;
  for (let step = 0; step < 2000; step++) {
    lastLoss = tidy(() => {
      for (const p of all) p.grad = null;
      const h = batchNorm(conv2d(x, w1, null, { padding: 1 }), {
        weight: bnWeight, bias: bnBias, runningMean, runningVar, training: true,
      }).relu();
      const logits = linear(adaptiveAvgPool2d(h, 1).flatten(1), w2, b2);
      const loss = crossEntropy(logits, y);
      loss.backward();
      noGrad(() => {
        for (const p of all) p.add_(p.grad!, -0.05);
      });
      return loss.item();
    });
    if (step === 0) firstLoss = lastLoss;
    if (step % 100 === 0) counts.push(memory().numTensors);
    if (step === 200) {
      global.gc?.();
      rssAfterWarmup = process.memoryUsage().rss;
    }
  }
  global.gc?.();
  const rssEnd = process.memoryUsage().rss;
  assert.ok(lastLoss < firstLoss, `the loop trains (loss ${firstLoss} -> ${lastLoss})`);
  counts = [...new Set(counts)];
  assert.deepEqual(counts, [start + 9], 'live tensors constant across the loop');
  assert.ok(rssEnd <= rssAfterWarmup * 1.05, `resident memory flat: ${rssAfterWarmup} -> ${rssEnd} bytes`);
  for (const t of [...all, runningMean, runningVar, x, y]) t.dispose();
  assert.equal(memory().numTensors, start);
});
