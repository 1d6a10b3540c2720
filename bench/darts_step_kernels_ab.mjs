#!/usr/bin/env node
// What each native kernel saves in one DARTS search step: builds the
// `tsnas bench step --workload darts1|darts2` workload once, then times
// steps alternately with one kernel family switched on and off (the others
// stay on), and prints the medians.
//   node bench/darts_step_kernels_ab.mjs [--kernel depthwise|pointwise|maxPool|avgPool|batchNorm|all] [--threads 1] [--rounds 4] [--order 1]
import { dartsStepWorkload } from '../dist/weight-sharing/differentiable/bench-step.js';
import { manualSeed, setNativeKernels, setNumThreads } from '../dist/tensor/index.js';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const families = ['depthwise', 'pointwise', 'maxPool', 'avgPool', 'batchNorm'];
const kernel = args.kernel ?? 'all';
if (kernel !== 'all' && !families.includes(kernel)) {
  console.error(`kernel must be one of ${families.join(', ')} or all, got '${kernel}'`);
  process.exit(2);
}
const rounds = Number(args.rounds ?? 4);
setNumThreads(Number(args.threads ?? 1));
manualSeed(0);
const switchTo = (on) => setNativeKernels(Object.fromEntries((kernel === 'all' ? families : [kernel]).map((k) => [k, on])));
const workload = dartsStepWorkload(Number(args.order ?? 1) === 2 ? 2 : 1, { batch: Number(args.batch ?? 32) });
workload.step();
workload.step();
const times = { on: [], off: [] };
for (let r = 0; r < rounds; r++) {
  for (const mode of ['on', 'off']) {
    switchTo(mode === 'on');
    const t0 = performance.now();
    workload.step();
    times[mode].push(performance.now() - t0);
  }
}
switchTo(true);
workload.dispose();
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(JSON.stringify({
  kernel, on_ms: Math.round(median(times.on)), off_ms: Math.round(median(times.off)),
  on: times.on.map(Math.round), off: times.off.map(Math.round),
}));
