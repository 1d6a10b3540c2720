#!/usr/bin/env node
// Learning-curve extrapolation on real training curves: how well does the
// forecast from the first n epochs rank candidates by their real final
// accuracy, against simply ranking by the last observed epoch?
//
// K random NAS-Bench-201 cells (C=8, N=1) are trained for E epochs on a
// seeded subset of Fashion-MNIST (Debian's dataset-fashion-mnist) with the
// trainer's cosine schedule, validation accuracy on a held-out subset of the
// test split after every epoch. Then, for each n, extrapolateCurve(curve[0..n))
// predicts epoch E; the script reports Spearman/Kendall of the forecasts and of
// the last observed values against the final accuracies, the mean absolute
// error of the forecast, the share of finals inside mean ± 1σ and ± 2σ, and
// what the curve stopper (stop when mean + σ < best final so far, candidates
// in order) would have saved and whether it keeps the best cell.
//
// Usage: node bench/curves_fashion.mjs [--cells 24] [--epochs 12] [--train 6000] [--valid 2000] [--seed 0] [--threads 1] [--out curves.json]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { datasetSource, standardAugment } from '../dist/data/spec.js';
import { subsetDataset } from '../dist/data/dataset.js';
import { getSpace } from '../dist/spaces/index.js';
import { buildNetwork } from '../dist/networks/index.js';
import { trainModel } from '../dist/train/trainer.js';
import { extrapolateCurve } from '../dist/estimators/curves.js';
import { rankQuality } from '../dist/estimators/rank.js';
import { manualSeed, setNumThreads } from '../dist/tensor/index.js';
import { Rng } from '../dist/util/random.js';

const { values: a } = parseArgs({
  options: {
    cells: { type: 'string', default: '24' }, epochs: { type: 'string', default: '12' },
    train: { type: 'string', default: '6000' }, valid: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '0' }, threads: { type: 'string', default: '1' }, out: { type: 'string' },
    curves: { type: 'string', help: 'reuse the curves of an earlier --out file instead of training' },
  },
});
const [K, E, seed] = [Number(a.cells), Number(a.epochs), Number(a.seed)];
setNumThreads(Number(a.threads));

async function trainCurves() {
  const source = datasetSource('fashion-mnist');
  const train = source.load('train');
  const test = source.load('test');
  const rng = new Rng(seed);
  const valid = subsetDataset(test, rng.sample(Array.from({ length: test.n }, (_, i) => i), Number(a.valid)), 'fashion-mnist[valid]');
  const space = getSpace('nb201');
  const seen = new Set();
  const cells = [];
  while (cells.length < K) {
    const s = space.sample(rng);
    const h = space.hash(s);
    if (!seen.has(h)) (seen.add(h), cells.push(s));
  }
  const out = [];
  for (const [i, sample] of cells.entries()) {
    manualSeed(seed + i);
    const net = buildNetwork(space, sample, { numClasses: 10, inChannels: 1, channels: 8, cells: 1 });
    const start = performance.now();
    const r = trainModel(net, train, {
      epochs: E, batchSize: 128, lr: 0.05, augment: standardAugment(source, train), limitTrain: Number(a.train), seed: seed + i, valid,
    });
    net.dispose();
    const curve = r.history.map((h) => h.validAccuracy);
    out.push({ arch: space.format(sample), curve });
    console.error(`${i + 1}/${K} ${out.at(-1).arch} final ${curve.at(-1).toFixed(4)} (${((performance.now() - start) / 1000).toFixed(1)} s)`);
  }
  return out;
}

const curves = a.curves ? JSON.parse((await import('node:fs')).readFileSync(a.curves, 'utf8')).curves : await trainCurves();
const finals = curves.map((c) => c.curve.at(-1));
const report = { cells: curves.length, epochs: E, train: Number(a.train), valid: Number(a.valid), seed, observed: {} };
for (const n of [3, 4, 6, 8].filter((n) => n < E)) {
  const preds = curves.map((c) => extrapolateCurve(c.curve.slice(0, n), E, { bounds: [0, 1], seed }));
  const last = curves.map((c) => c.curve[n - 1]);
  const forecast = rankQuality(preds.map((p) => p.mean), finals);
  const naive = rankQuality(last, finals);
  const within = (k) => preds.filter((p, i) => Math.abs(finals[i] - p.mean) <= k * p.std).length / preds.length;
  // The stopper, candidates in order: stop when mean + σ < best final so far.
  let best = -Infinity;
  let epochs = 0;
  let bestKept = true;
  const trueBest = Math.max(...finals);
  preds.forEach((p, i) => {
    if (best > -Infinity && p.mean + p.std < best) {
      epochs += n;
      if (finals[i] === trueBest) bestKept = false;
    } else {
      epochs += E;
      best = Math.max(best, finals[i]);
    }
  });
  report.observed[n] = {
    forecast: { spearman: forecast.spearman, kendall: forecast.kendall },
    last_epoch: { spearman: naive.spearman, kendall: naive.kendall },
    mae: preds.reduce((s, p, i) => s + Math.abs(p.mean - finals[i]), 0) / preds.length,
    mae_last_epoch: last.reduce((s, v, i) => s + Math.abs(v - finals[i]), 0) / last.length,
    within_1sigma: within(1), within_2sigma: within(2),
    stopper: { epochs_used: epochs, epochs_full: E * curves.length, best_kept: bestKept },
  };
}
console.log(JSON.stringify(report, null, 1));
if (a.out) writeFileSync(a.out, JSON.stringify({ report, curves }, null, 1));
