import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syntheticDataset } from '../data/synthetic.js';
import { Flatten, Linear, Sequential } from '../nn/layers.js';
import { cosineAt } from '../nn/schedule.js';
import { manualSeed, memory } from '../tensor/index.js';
import { oneThreadInThisFile } from '../testing/threads.js';
import { trainModel } from './trainer.js';

oneThreadInThisFile();

/** 8 images in batches of 4: two steps an epoch. */
const data = syntheticDataset({ n: 8, channels: 1, height: 4, width: 4, numClasses: 2, seed: 3 });
const net = () => {
  manualSeed(0);
  return new Sequential(new Flatten(), new Linear(16, 2));
};
/** A clock that moves one second each time it is read. */
function ticking(): () => number {
  let ms = 0;
  return () => (ms += 1000);
}

test('a time limit ends training mid-epoch, records the cut epoch, and anneals the rate over the time', () => {
  const before = memory().numTensors;
  const model = net();
  const epochs: number[] = [];
  // Start reads 1 s; step k is checked at (k + 2) s, i.e. progress (k + 1) / 10: nine steps run, the tenth check is at the limit.
  const r = trainModel(model, data, { epochs: 100, batchSize: 4, lr: 0.1, seed: 0, valid: data, timeLimit: { seconds: 10, now: ticking() }, onEpoch: (e) => void epochs.push(e.epoch) });
  assert.equal(r.outOfTime, true);
  assert.equal(r.stoppedEarly, true);
  assert.deepEqual(epochs, [1, 2, 3, 4, 5], 'four whole epochs and the fifth cut after its first step, each reported');
  assert.ok(r.history.every((h) => h.validAccuracy !== undefined), 'the cut epoch is evaluated too');
  // The rate in force at an epoch's last step: epoch 1 ends with step 1 (progress 0.2), the cut epoch with step 8 (0.9).
  assert.ok(Math.abs(r.history[0]!.lr - cosineAt(0.2, 0.1)) < 1e-12);
  assert.ok(Math.abs(r.history[4]!.lr - cosineAt(0.9, 0.1)) < 1e-12);
  model.dispose();
  assert.equal(memory().numTensors, before);
});

test('under a time limit that is not reached, the epochs end training and the steps drive the schedule', () => {
  const model = net();
  // Two epochs of two steps in 1,000 s: time progress stays near 0, so the rate at the last step is the steps' 3/4.
  const r = trainModel(model, data, { epochs: 2, batchSize: 4, lr: 0.1, seed: 0, timeLimit: { seconds: 1000, now: ticking() } });
  assert.equal(r.outOfTime, false);
  assert.equal(r.stoppedEarly, false);
  assert.equal(r.epochs, 2);
  assert.ok(Math.abs(r.history[1]!.lr - cosineAt(0.75, 0.1)) < 1e-12);
  model.dispose();
});

test('without a time limit the schedule is the per-epoch cosine, as before', () => {
  const model = net();
  const r = trainModel(model, data, { epochs: 4, batchSize: 4, lr: 0.1, seed: 0 });
  assert.deepEqual(r.history.map((h) => +h.lr.toFixed(12)), [0, 1, 2, 3].map((e) => +cosineAt(e / 4, 0.1).toFixed(12)));
  model.dispose();
});

test('a time limit that is not a positive number is a config error naming it', () => {
  const model = net();
  assert.throws(() => trainModel(model, data, { epochs: 1, batchSize: 4, lr: 0.1, timeLimit: { seconds: 0 } }), (e: any) => e.code === 'config' && e.where === 'timeLimit');
  model.dispose();
});
