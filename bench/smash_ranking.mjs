#!/usr/bin/env node
// Ranking quality of SMASH's hypernetwork next to the SPOS supernet at the
// same training time (issue 16 §2): both train on the same CIFAR-10 images,
// resolution, width and batch, their epochs alternating in one process (so
// both see the same machine load) until each has spent --seconds of training;
// then the same 100 distinct random nb201 cells are scored with generated
// (SMASH) or inherited (SPOS) weights after batch-norm re-estimation, and
// correlated (Kendall τ, Spearman ρ) with the NAS-Bench-201 table's CIFAR-10
// test accuracy.
// Usage: nice -n 10 node bench/smash_ranking.mjs [--seed 0] [--seconds 600] [--cells 100]
//          [--limit-train 20000] [--resolution 16] [--channels 16] [--steps 50] [--data /work/shared/data/cifar10]
import { loadCifar10 } from '../dist/data/cifar.js';
import { datasetSource, standardAugment } from '../dist/data/spec.js';
import { Nb201Table } from '../dist/benchmarks/nb201.js';
import { memory, setNumThreads } from '../dist/tensor/index.js';
import { Rng } from '../dist/util/random.js';
import { rankingQuality } from '../dist/weight-sharing/oneshot/ranking.js';
import { createSmashRun } from '../dist/weight-sharing/oneshot/smash.js';
import { createSposRun } from '../dist/weight-sharing/oneshot/spos.js';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : args[i + 1];
};
const seed = Number(option('--seed', 0));
const seconds = Number(option('--seconds', 600));
const cells = Number(option('--cells', 100));
const limitTrain = Number(option('--limit-train', 20000));
const resolution = Number(option('--resolution', 16));
const C = Number(option('--channels', 16));
const steps = Number(option('--steps', 50));
const dir = option('--data', '/work/shared/data/cifar10');

setNumThreads(1);
const train = loadCifar10({ dir, split: 'train' });
const augment = { ...standardAugment(datasetSource(`cifar10:${dir}`), train, resolution), crop: { padding: 2 } };
// Epochs of `steps` steps, as many as the time allows: the schedule is planned over far more, and the time budget ends training.
const common = {
  C, cells: 1, epochs: 1000, batchSize: 64, stepsPerEpoch: steps, limitTrain, augment, seed,
  calibrationBatches: 8, evalBatches: 8, timeBudgetSeconds: seconds,
};
const runs = {
  spos: createSposRun(train, { ...common, space: 'nb201' }),
  smash: createSmashRun(train, common),
};
const log = (...xs) => console.error(new Date().toISOString().slice(11, 19), ...xs);
log(`seed ${seed}: ${limitTrain} images (half trains), ${resolution}px, C=${C}, ${seconds}s of training each; load ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const trained = { spos: { epochs: 0, seconds: 0, loss: NaN, acc: NaN }, smash: { epochs: 0, seconds: 0, loss: NaN, acc: NaN } };
while (Object.values(runs).some((r) => r.epochsDone < r.epochs)) {
  for (const [name, run] of Object.entries(runs)) {
    if (run.epochsDone >= run.epochs) continue;
    const r = await run.trainEpoch();
    Object.assign(trained[name], { epochs: r.epoch, seconds: trained[name].seconds + r.seconds, loss: r.trainLoss, acc: r.trainAccuracy });
    log(`${name} epoch ${r.epoch}: ${r.seconds.toFixed(1)}s, loss ${r.trainLoss.toFixed(3)}, train acc ${r.trainAccuracy.toFixed(3)}`);
  }
}
const table = Nb201Table.load();
const results = {};
for (const [name, run] of Object.entries(runs)) {
  const start = performance.now();
  const q = rankingQuality((s) => run.evaluate(s), (arch) => table.accuracy(arch, 'cifar10'), new Rng(seed + 1000), cells);
  const scores = q.cells.map((c) => c.supernetAccuracy);
  results[name] = {
    kendallTau: q.kendallTau, spearman: q.spearman, steps: trained[name].epochs * steps, trainingSeconds: trained[name].seconds,
    finalTrainLoss: trained[name].loss, finalTrainAccuracy: trained[name].acc,
    meanAccuracy: scores.reduce((a, b) => a + b, 0) / scores.length, maxAccuracy: Math.max(...scores),
    scoringSeconds: (performance.now() - start) / 1000, cells: q.cells,
  };
  log(`${name}: τ ${q.kendallTau.toFixed(3)}, ρ ${q.spearman.toFixed(3)} over ${q.cells.length} cells`);
  run.dispose();
}
console.log(JSON.stringify({ seed, seconds, limitTrain, resolution, C, steps, tensorsLeft: memory().numTensors, results }));
