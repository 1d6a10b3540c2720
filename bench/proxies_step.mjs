#!/usr/bin/env node
// Times proxiesStep (synflow, snip, grad_norm and nwot of the bench cell,
// C=16, N=5, batch of random 3x32x32 inputs), the workload that
// `tsnas bench step --workload proxies` runs; prints one JSON line like
// bench/pytorch_proxies.py so the two can be compared at the same threads.
// Usage (after `npx tsc -p .`): node bench/proxies_step.mjs [--threads T] [--steps S] [--batch 64]
import { proxiesStep } from '../dist/estimators/zero-cost/score.js';
import { manualSeed, setNumThreads, getNumThreads } from '../dist/tensor/index.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
if (process.argv.includes('--threads')) setNumThreads(arg('threads', 1));
manualSeed(0);
const steps = arg('steps', 10);
const w = proxiesStep({ batch: arg('batch', 64) });
const times = [];
for (let i = 0; i < steps + 2; i++) {
  const t0 = performance.now();
  w.step();
  if (i >= 2) times.push(performance.now() - t0);
}
w.dispose();
times.sort((a, b) => a - b);
const mid = times.length >> 1;
const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
console.log(JSON.stringify({ workload: 'proxies', impl: 'tsnas', ms_per_step: median, threads: getNumThreads(), steps, ...w.info }));
