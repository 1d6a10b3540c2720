import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, memory, tidy } from '../tensor/index.js';
import { SGD } from './optim.js';
import {
  LrScheduler, clipGradNorm, cosineAnnealing, linearWarmup, multiStepDecay, stepDecay,
} from './schedule.js';
import { assertClose } from '../testing/assert.js';
import { decode, loadNnFixture, type Encoded } from '../testing/fixtures.js';

const fixture = loadNnFixture('schedule.json');

function lrsOver(schedule: ReturnType<typeof cosineAnnealing>, baseLr: number, epochs: number): number[] {
  const p = tidy(() => decode({ shape: [1], data: [0] }).requiresGrad_());
  const opt = new SGD([p], { lr: baseLr });
  const sched = new LrScheduler(opt, schedule);
  const out: number[] = [];
  for (let e = 0; e < epochs; e++) {
    out.push(opt.lrs[0]!);
    sched.step();
  }
  p.dispose();
  return out;
}

test('cosine annealing matches torch CosineAnnealingLR', () => {
  const c = fixture.cosine;
  assertClose(lrsOver(cosineAnnealing(c.tMax, c.etaMin), c.baseLr, c.lrs.length), c.lrs, 'cosine', 1e-9, 1e-12);
});

test('step decay matches torch StepLR; multi-step decay counts milestones', () => {
  const c = fixture.step;
  assertClose(lrsOver(stepDecay(c.stepSize, c.gamma), c.baseLr, c.lrs.length), c.lrs, 'step', 1e-12, 0);
  const multi = multiStepDecay([2, 5], 0.1);
  assert.deepEqual([0, 1, 2, 4, 5, 9].map((e) => multi(e, 1).toPrecision(6)), ['1.00000', '1.00000', '0.100000', '0.100000', '0.0100000', '0.0100000']);
});

test('linear warm-up then cosine matches torch SequentialLR(LinearLR, CosineAnnealingLR)', () => {
  const c = fixture.warmupCosine;
  const schedule = linearWarmup(c.warmup, cosineAnnealing(c.tMax, c.etaMin), c.startFactor);
  assertClose(lrsOver(schedule, c.baseLr, c.lrs.length), c.lrs, 'warm-up cosine', 1e-9, 1e-12);
});

test('scheduler state resumes at the same epoch', () => {
  const p = tidy(() => decode({ shape: [1], data: [0] }).requiresGrad_());
  const opt = new SGD([p], { lr: 0.1 });
  const a = new LrScheduler(opt, cosineAnnealing(10));
  for (let i = 0; i < 4; i++) a.step();
  const saved = a.stateDict();
  const lrAt4 = opt.lrs[0];
  const opt2 = new SGD([p], { lr: 0.1 });
  const b = new LrScheduler(opt2, cosineAnnealing(10));
  b.loadStateDict(saved);
  assert.equal(b.epoch, 4);
  assert.equal(opt2.lrs[0], lrAt4);
  assert.throws(() => b.loadStateDict({ epoch: -1 }), /non-negative integer/);
  assert.throws(() => cosineAnnealing(0), /positive integer/);
  p.dispose();
});

test('clipGradNorm matches torch.nn.utils.clip_grad_norm_ (2, 1 and inf norms)', () => {
  const start = memory().numTensors;
  for (const c of fixture.clip as { maxNorm: number; normType: number | 'inf'; grads: Encoded[]; total: number; clipped: Encoded[] }[]) {
    const params: Tensor[] = c.grads.map((g) => tidy(() => decode(g).mul(0).requiresGrad_()));
    tidy(() => params.forEach((p, i) => {
      p.grad = decode(c.grads[i]!);
    }));
    const total = clipGradNorm(params, c.maxNorm, c.normType === 'inf' ? Infinity : c.normType);
    assertClose([total], [c.total], `total ${c.normType}-norm`);
    tidy(() => params.forEach((p, i) => assertClose(p.grad!, c.clipped[i]!, `clipped grad ${i} (max ${c.maxNorm})`)));
    for (const p of params) p.dispose();
  }
  assert.equal(clipGradNorm([], 1), 0);
  assert.equal(memory().numTensors, start);
});
