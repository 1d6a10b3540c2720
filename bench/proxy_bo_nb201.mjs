#!/usr/bin/env node
// proxy-bo on NAS-Bench-201 with precomputed proxy scores (only table
// queries count): one JSON line per seed (its best-so-far curve), so that
// runs split over processes or stopped early can be summarised with
// --summarise. Usage (after `npx tsc -p .`):
//   node bench/proxy_bo_nb201.mjs --dataset cifar10 --seeds 0-99 --budget 100 [--options '{...}']
//        [--scores bench/results/proxies_nb201_all_scores.jsonl.gz] > runs.jsonl
//   node bench/proxy_bo_nb201.mjs --summarise runs.jsonl [more.jsonl ...]
// The same search as `tsnas bench search --strategy proxy-bo --proxy-scores FILE`.
import { readFileSync } from 'node:fs';
import { Nb201Benchmark } from '../dist/benchmarks/nb201.js';
import { runBenchmarkSearch, parseSeeds } from '../dist/benchmarks/harness.js';
import { loadProxyScoreFile } from '../dist/benchmarks/proxy-scores.js';
import { setNumThreads } from '../dist/tensor/index.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
if (arg('summarise')) {
  const files = process.argv.slice(process.argv.indexOf('--summarise') + 1);
  const runs = files.flatMap((f) => readFileSync(f, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l)));
  const byDataset = {};
  for (const r of runs) (byDataset[r.dataset] ??= new Map()).set(r.seed, r);
  for (const [dataset, m] of Object.entries(byDataset)) {
    const rs = [...m.values()];
    const at = (q) => {
      const v = rs.filter((r) => r.curve.length >= q).map((r) => r.curve[q - 1]);
      const mu = v.reduce((a, b) => a + b, 0) / v.length;
      const sd = Math.sqrt(v.reduce((a, b) => a + (b - mu) ** 2, 0) / Math.max(1, v.length - 1));
      return { mean: Math.round(mu * 1000) / 1000, sd: Math.round(sd * 1000) / 1000, seeds: v.length };
    };
    console.log(JSON.stringify({ dataset, seeds: rs.length, ...Object.fromEntries([10, 20, 30, 50, 100].map((q) => [q, at(q)])), optimum_rate: rs.filter((r) => r.foundOptimum).length / rs.length }));
  }
  process.exit(0);
}
setNumThreads(1);
const dataset = arg('dataset', 'cifar10');
const benchmark = new Nb201Benchmark(dataset);
const proxyScores = loadProxyScoreFile(arg('scores', 'bench/results/proxies_nb201_all_scores.jsonl.gz'), (s) => benchmark.space.format(s));
runBenchmarkSearch({
  benchmark, strategy: 'proxy-bo', budget: Number(arg('budget', '100')), seeds: parseSeeds(arg('seeds', '0-99')),
  strategyOptions: JSON.parse(arg('options', '{}')), proxyScores,
  onRun: (r) => console.log(JSON.stringify({ dataset, ...r })),
});
