// Learning-curve fits on synthetic curves with known parameters, forecasts and early stopping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extrapolateCurve, fitCurve, curveStopper } from './curves.js';
import { rankQuality } from './rank.js';
import { Rng } from '../util/random.js';

const epochs = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

test('fitCurve recovers a power law and an exponential', () => {
  const t = epochs(12);
  const power = fitCurve(t, t.map((x) => -0.4 * x ** -0.7 + 0.9), 'power');
  assert.ok(Math.abs(power.a + 0.4) < 1e-3 && Math.abs(power.b - 0.7) < 1e-3 && Math.abs(power.c - 0.9) < 1e-3, JSON.stringify(power));
  assert.ok(power.rss < 1e-10);
  const exp = fitCurve(t, t.map((x) => -0.5 * Math.exp(-0.3 * x) + 0.8), 'exponential');
  assert.ok(Math.abs(exp.a + 0.5) < 1e-3 && Math.abs(exp.b - 0.3) < 1e-3 && Math.abs(exp.c - 0.8) < 1e-3, JSON.stringify(exp));
  assert.throws(() => fitCurve([1, 2], [0.1, 0.2], 'power'), /at least 3 points/);
});

test('extrapolateCurve prefers the model that fits and forecasts the final value', () => {
  const truth = (x: number) => -0.5 * Math.exp(-0.25 * x) + 0.85;
  const rng = new Rng(1);
  const early = epochs(10).map((x) => truth(x) + rng.normal(0, 0.003));
  const e = extrapolateCurve(early, 50, { bounds: [0, 1], seed: 2 });
  assert.ok(Math.abs(e.mean - truth(50)) < 0.02, `forecast ${e.mean} vs ${truth(50)}`);
  assert.ok(e.std > 0 && e.std < 0.05, `std ${e.std}`);
  const expWeight = e.fits.find((f) => f.model === 'exponential')!.weight;
  assert.ok(expWeight > 0.5, `exponential weight ${expWeight}`);
  // Same inputs, same seed: same answer.
  assert.deepEqual(extrapolateCurve(early, 50, { bounds: [0, 1], seed: 2 }).mean, e.mean);
});

test('forecasts from 5 of 40 epochs rank a family of curves', () => {
  const rng = new Rng(3);
  const finals: number[] = [];
  const forecasts: number[] = [];
  for (let k = 0; k < 30; k++) {
    const c = 0.6 + 0.35 * rng.next();
    const a = 0.3 + 0.3 * rng.next();
    const b = 0.4 + 0.6 * rng.next();
    const curve = (x: number) => c - a * x ** -b;
    finals.push(curve(40));
    forecasts.push(extrapolateCurve(epochs(5).map((x) => curve(x) + rng.normal(0, 0.002)), 40, { seed: k }).mean);
  }
  const q = rankQuality(forecasts, finals);
  assert.ok(q.spearman! > 0.85, `spearman ${q.spearman}`);
});

test('curveStopper stops a hopeless curve and lets a good one run', () => {
  const record = (epoch: number, acc: number) => ({ epoch, lr: 0.1, trainLoss: 1, trainAccuracy: acc, validAccuracy: acc, seconds: 0 });
  const bad = curveStopper({ finalEpoch: 30, threshold: () => 0.9 });
  let stoppedAt = -1;
  for (let e = 1; e <= 30; e++) {
    if (bad.onEpoch(record(e, 0.6 - 0.3 * Math.exp(-0.3 * e))) === 'stop') {
      stoppedAt = e;
      break;
    }
  }
  assert.equal(stoppedAt, 3);
  assert.equal(bad.stoppedAt, 3);
  assert.ok(bad.prediction!.mean < 0.7);
  const good = curveStopper({ finalEpoch: 30, threshold: () => 0.9 });
  for (let e = 1; e <= 30; e++) assert.equal(good.onEpoch(record(e, 0.95 - 0.3 * Math.exp(-0.3 * e))), undefined);
  assert.equal(good.curve.length, 30);
  const noBar = curveStopper({ finalEpoch: 30, threshold: () => undefined });
  for (let e = 1; e <= 10; e++) assert.equal(noBar.onEpoch(record(e, 0.1)), undefined);
});
