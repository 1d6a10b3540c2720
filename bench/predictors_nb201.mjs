#!/usr/bin/env node
// Learned predictors on NAS-Bench-201 CIFAR-10: for each training size, fit on
// a seeded random subset of the table and report Spearman and Kendall on all
// the other cells. Usage (after `npx tsc -p .`):
//   node bench/predictors_nb201.mjs [--sizes 20,50,100,200,500] [--predictors mlp,lstm,gcn,ensemble,gp]
//                                   [--seeds 0] [--test N] [--threads T] [--dataset cifar10]
//                                   [--proxies bench/results/proxies_nb201_all_scores.jsonl.gz [--proxy-names synflow,snip,...]]
// --test N scores a seeded random N of the held-out cells instead of all of them.
// --proxies gives predictors that read proxy features ('gbt') the precomputed
// scores of every cell (default names: all in the file).
import { Nb201Table } from '../dist/benchmarks/nb201.js';
import { nb201Space } from '../dist/spaces/nb201.js';
import { createPredictor } from '../dist/predictors/index.js';
import { rankQuality } from '../dist/estimators/rank.js';
import { setNumThreads, memory } from '../dist/tensor/index.js';
import { Rng } from '../dist/util/random.js';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const sizes = arg('sizes', '20,50,100,200,500').split(',').map(Number);
const names = arg('predictors', 'mlp,lstm,gcn,ensemble,gp').split(',');
const seeds = arg('seeds', '0').split(',').map(Number);
const testLimit = arg('test') ? Number(arg('test')) : undefined;
const dataset = arg('dataset', 'cifar10');
setNumThreads(Number(arg('threads', '2')));

const table = Nb201Table.load();
const space = nb201Space();
let proxies;
if (arg('proxies')) {
  const byArch = new Map();
  for (const line of gunzipSync(readFileSync(arg('proxies'))).toString().split('\n')) {
    if (line.trim()) {
      const r = JSON.parse(line);
      byArch.set(r.arch, r.scores);
    }
  }
  const names = arg('proxy-names') ? arg('proxy-names').split(',') : Object.keys(byArch.values().next().value);
  proxies = { names, scores: (ss) => ss.map((s) => byArch.get(space.format(s)) ?? {}) };
}
const samples = table.archs.map((a) => space.parse(a));
const values = Array.from(table.values(dataset));
const rows = [];
for (const seed of seeds) {
  const order = new Rng(seed).permutation(samples.length);
  for (const n of sizes) {
    const trainIdx = order.slice(0, n);
    let testIdx = order.slice(n);
    if (testLimit) testIdx = testIdx.slice(0, testLimit);
    for (const name of names) {
      const before = memory().numTensors;
      const p = createPredictor(name, space, { seed, proxies });
      const t0 = performance.now();
      p.fit(trainIdx.map((i) => samples[i]), trainIdx.map((i) => values[i]));
      const fitSeconds = (performance.now() - t0) / 1000;
      const pred = p.query(testIdx.map((i) => samples[i]));
      const q = rankQuality(pred.mean, testIdx.map((i) => values[i]));
      p.dispose();
      const row = { predictor: name, proxies: proxies?.names.join('+') ?? null, train: n, test: testIdx.length, seed, spearman: q.spearman, kendall: q.kendall, fit_seconds: fitSeconds, leaked: memory().numTensors - before };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  }
}
// Mean over seeds per (predictor, size).
const summary = {};
for (const r of rows) {
  const k = `${r.predictor}@${r.train}`;
  (summary[k] ??= []).push(r);
}
console.log(JSON.stringify(Object.fromEntries(Object.entries(summary).map(([k, v]) => [k, {
  spearman: v.reduce((s, r) => s + r.spearman, 0) / v.length, kendall: v.reduce((s, r) => s + r.kendall, 0) / v.length,
}]))));
