#!/usr/bin/env node
// Times proxiesStep (synflow, snip, grad_norm and nwot of the bench cell,
// C=16, N=5, batch of random 3x32x32 inputs), the workload that
// `tsnas bench step --workload proxies` runs; prints one JSON line like
// bench/pytorch_proxies.py so the two can be compared at the same threads
// (wall time, and process CPU time of all threads).
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
const cpu = [];
for (let i = 0; i < steps + 2; i++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  w.step();
  const c1 = process.cpuUsage(c0);
  if (i >= 2) {
    times.push(performance.now() - t0);
    cpu.push((c1.user + c1.system) / 1000);
  }
}
w.dispose();
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
// CPU time (all threads) is far less sensitive than wall time to other jobs on a shared machine.
console.log(JSON.stringify({
  workload: 'proxies', impl: 'tsnas', ms_per_step: median(times), cpu_ms_per_step: median(cpu), threads: getNumThreads(), steps, ...w.info,
}));
