// Training-based estimators on a tiny network and synthetic data; budget allocation on known curves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syntheticDataset } from '../data/synthetic.js';
import { NB201Network } from '../networks/nb201.js';
import { nb201Space } from '../spaces/nb201.js';
import { memory } from '../tensor/index.js';
import type { Sample } from '../spaces/types.js';
import { TrainingEstimator, trainingRun, type TrainingSetup } from './training.js';
import { hyperband, hyperbandBrackets, successiveHalving, SuccessiveHalvingEstimator } from './hyperband.js';

const space = nb201Space();
const cell = space.parse('|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|');
const train = syntheticDataset({ n: 48, channels: 3, height: 8, width: 8, numClasses: 4, seed: 1 });
const valid = syntheticDataset({ n: 32, channels: 3, height: 8, width: 8, numClasses: 4, seed: 2 });

function setup(seen: [Sample, number][]): TrainingSetup {
  return {
    build: (s) => new NB201Network({ ops: space.opsOf(s), C: 2, N: 1, numClasses: 4, inChannels: 3 }),
    train, valid, batchSize: 16, lr: 0.05, seed: 3,
    onEpoch: (s, r) => seen.push([s, r.epoch]),
    extraObjectives: (_s, m) => ({ params: m.numParameters() }),
  };
}

test('full training, early stopping and curve extrapolation record every epoch', () => {
  const before = memory().numTensors;
  const seen: [Sample, number][] = [];
  const full = new TrainingEstimator({ ...setup(seen), epochs: 4 });
  const f = full.estimate(cell);
  assert.equal(f.curve!.length, 4);
  assert.equal(f.cost.epochs, 4);
  assert.equal(f.objectives.accuracy, f.curve![3]);
  assert.ok(f.objectives.params! > 0);
  assert.deepEqual(seen.map(([, e]) => e), [1, 2, 3, 4]);
  assert.equal(full.bestFinal, f.objectives.accuracy);
  // The same seed gives the same run.
  assert.deepEqual(full.estimate(cell).curve, f.curve);

  const early = new TrainingEstimator({ ...setup(seen), epochs: 4, mode: { kind: 'early-stop', epochs: 2 } });
  const e = early.estimate(cell);
  assert.equal(e.curve!.length, 2);
  assert.deepEqual(e.curve, f.curve!.slice(0, 2), 'the first epochs of the full schedule');
  assert.equal(early.name, 'train:2');
  assert.throws(() => new TrainingEstimator({ ...setup(seen), epochs: 4, mode: { kind: 'early-stop', epochs: 5 } }), /1\.\.4/);

  const curve = new TrainingEstimator({ ...setup(seen), epochs: 8, mode: { kind: 'curve', minEpochs: 3 } });
  curve.bestFinal = 2; // unreachable: every candidate is hopeless
  const c = curve.estimate(cell);
  assert.equal(c.cost.epochs, 3);
  assert.equal(c.details!.stoppedEarly, true);
  assert.ok(c.std !== undefined && c.std >= 0);
  assert.equal(memory().numTensors, before);
});

test('successive halving keeps the best third per rung and trains the survivor to the maximum', () => {
  // Candidate k's value at budget b is k·b: the ranking never changes.
  const advanced: [number, number][] = [];
  const disposed: number[] = [];
  const r = successiveHalving([0, 1, 2, 3, 4, 5, 6, 7, 8], (k) => ({
    advance: (b) => {
      advanced.push([k, b]);
      return k * b;
    },
    dispose: () => disposed.push(k),
  }), { minBudget: 1, maxBudget: 9, eta: 3 });
  assert.deepEqual(r.best, { candidate: 8, value: 72, budget: 9 });
  assert.deepEqual(r.records.filter((x) => x.rung === 1).map((x) => x.candidate), [6, 7, 8]);
  assert.deepEqual(r.records.filter((x) => x.rung === 2).map((x) => x.candidate), [8]);
  assert.equal(r.spent, 6 * 1 + 2 * 3 + 9);
  assert.equal(disposed.length, 9, 'every run is disposed');
});

test('hyperband brackets and allocation', () => {
  assert.deepEqual(hyperbandBrackets(1, 27, 3), [
    { n: 27, budget: 1 }, { n: 12, budget: 3 }, { n: 6, budget: 9 }, { n: 4, budget: 27 },
  ]);
  let next = 0;
  const r = hyperband((n) => Array.from({ length: n }, () => next++), (k) => ({ advance: (b) => (k % 50) + b / 100 }), {
    minBudget: 1, maxBudget: 27, eta: 3,
  });
  assert.equal(r.brackets.length, 4);
  assert.equal(r.best.budget, 27);
  // Brackets hold candidates 0-26, 27-38, 39-44 and 45-48; each one's best reaches budget 27.
  assert.deepEqual(r.brackets.map((b) => b.candidates[b.best.candidate]), [26, 38, 44, 48]);
  assert.equal(r.best.candidate, 48);
  assert.equal(r.best.bracket, 3);
});

test('successive halving estimator trains real networks', () => {
  const before = memory().numTensors;
  const seen: [Sample, number][] = [];
  const est = new SuccessiveHalvingEstimator(setup(seen), { minBudget: 1, maxBudget: 2, eta: 2 });
  const cells = [cell, space.parse('|skip_connect~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|')];
  const out = est.estimateMany(cells);
  assert.equal(out.length, 2);
  const budgets = out.map((o) => o.details!.budget).sort();
  assert.deepEqual(budgets, [1, 2]);
  for (const o of out) assert.equal(o.curve!.length, o.details!.budget);
  const run = trainingRun(setup(seen), cell);
  run.advance(1);
  run.advance(2);
  assert.equal(run.curve.length, 2);
  run.dispose();
  assert.equal(memory().numTensors, before);
});
