// A long training loop must not leak: neither live native tensors nor
// resident memory may grow once the loop has warmed up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  conv2d, crossEntropy, linear, manualSeed, memory, randint, randn, tidy, adaptiveAvgPool2d, batchNorm, zeros, ones, noGrad, leakedCount,
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

test('a tensor collected without dispose() is freed by the backstop and counted as a leak', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const before = memory().numTensors;
  const leaksBefore = leakedCount();
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  (() => {
    for (let i = 0; i < 10; i++) randn([100]);
  })();
  assert.equal(memory().numTensors, before + 10);
  for (let i = 0; i < 20 && memory().numTensors > before; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
  process.off('warning', onWarning);
  assert.equal(memory().numTensors, before, 'the finalizer freed the native memory');
  assert.equal(leakedCount() - leaksBefore, 10);
  if (leaksBefore === 0) assert.ok(warnings.includes('TsnasLeakWarning'), 'a leak warning was emitted');
});
