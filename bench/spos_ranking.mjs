#!/usr/bin/env node
// Ranking quality of a SPOS supernet (optionally split few-shot) on
// NAS-Bench-201 CIFAR-10: trains the supernet on CIFAR-10 from ../shared,
// then scores 100 distinct random cells with inherited weights (batch norm
// re-fitted per cell) and correlates with the table (Kendall τ, Spearman ρ,
// precision at the top 5%). Prints one JSON object (and writes it to --out).
// Usage: nice -n 10 node bench/spos_ranking.mjs [--seed 0] [--epochs 60] [--budget-seconds 840]
//   [--limit-train 20000] [--resolution 16] [--channels 16] [--lr 0.025] [--batch 64]
//   [--calibration-batches 8] [--eval-batches 32] [--cells 100]
//   [--few-shot-edge edge_1_0 --few-shot-split 20] [--threads 1] [--out file.json]
import { writeFileSync } from 'node:fs';
import { Nb201Table } from '../dist/benchmarks/nb201.js';
import { datasetSource, standardAugment } from '../dist/data/spec.js';
import { setNumThreads } from '../dist/tensor/index.js';
import { Rng } from '../dist/util/random.js';
import { createSposRun } from '../dist/weight-sharing/oneshot/spos.js';
import { rankingQuality } from '../dist/weight-sharing/oneshot/ranking.js';

const args = process.argv.slice(2);
const flag = (name, def) => {
  const i = args.indexOf(name);
  return i < 0 ? def : args[i + 1];
};
const num = (name, def) => Number(flag(name, def));
const seed = num('--seed', 0);
const resolution = num('--resolution', 16);
const edge = flag('--few-shot-edge');
setNumThreads(num('--threads', 1));

const source = datasetSource(`cifar10:${flag('--data', new URL('../../shared/data/cifar10', import.meta.url).pathname)}`);
const train = source.load('train');
const augment = { ...standardAugment(source, train, resolution), crop: { padding: 2 } };
const options = {
  space: 'nb201', C: num('--channels', 16), cells: 1, epochs: num('--epochs', 60), batchSize: num('--batch', 64),
  lr: num('--lr', 0.025), seed, limitTrain: num('--limit-train', 20000), validFraction: 0.5, augment,
  calibrationBatches: num('--calibration-batches', 8), evalBatches: num('--eval-batches', 32),
  timeBudgetSeconds: num('--budget-seconds', 840),
  ...(edge ? { fewShot: { edge, epochs: num('--few-shot-split', 20) } } : {}),
};
const run = createSposRun(train, options);
const history = [];
const start = performance.now();
try {
  while (run.epochsDone < run.epochs) {
    const r = await run.trainEpoch();
    history.push({ epoch: r.epoch, seconds: +r.seconds.toFixed(1), lr: +r.lr.toFixed(4), trainLoss: +r.trainLoss.toFixed(3), trainAccuracy: +r.trainAccuracy.toFixed(3) });
    process.stderr.write(`${JSON.stringify(history.at(-1))}\n`);
  }
  const trainingSeconds = (performance.now() - start) / 1000;
  const table = Nb201Table.load();
  const evalStart = performance.now();
  const q = rankingQuality((s) => run.evaluate(s), (arch) => table.accuracy(arch, 'cifar10'), new Rng(seed + 1000), num('--cells', 100));
  const sorted = [...q.cells].sort((a, b) => b.supernetAccuracy - a.supernetAccuracy);
  const out = {
    options: { ...options, augment: undefined, resolution }, epochsTrained: run.epochsDone, trainingSeconds: +trainingSeconds.toFixed(0),
    rankingSeconds: +((performance.now() - evalStart) / 1000).toFixed(0),
    kendallTau: q.kendallTau, spearman: q.spearman, precisionAtTop5: q.precisionAtTop5,
    supernetAccuracy: { best: sorted[0].supernetAccuracy, median: sorted[sorted.length >> 1].supernetAccuracy },
    history, cells: q.cells,
  };
  const text = JSON.stringify(out);
  if (flag('--out')) writeFileSync(flag('--out'), `${text}\n`);
  console.log(JSON.stringify({ ...out, history: undefined, cells: undefined }));
} finally {
  run.dispose();
}
