#!/usr/bin/env node
// What the fused weighted sum of the mixed operations (weightedSum) and the
// native 1x1 convolution save in one DARTS search step: builds the search
// of `tsnas bench step --workload darts1|darts2` once, then alternates step
// by step between the four combinations (the weighted sum as one node or as
// the chain of mul and add it replaced; 1x1 convolutions native or
// libtorch's), so that load on a busy machine hits them alike, and prints
// the median CPU ms per step of each (all threads of the process).
//   node bench/darts_mixed_sum_ab.mjs [--order 1|2] [--rounds 5] [--threads 1]
import { isZeroOp } from '../dist/weight-sharing/differentiable/mixing.js';
import { BilevelSearch } from '../dist/weight-sharing/differentiable/search.js';
import { manualSeed, randint, randn, setNativeKernels, setNumThreads, tidy } from '../dist/tensor/index.js';
import { median, readFlags } from './baselines.mjs';

const args = readFlags(process.argv.slice(2));
const order = Number(args.order ?? 1) === 2 ? 2 : 1;
const rounds = Number(args.rounds ?? 5);
setNumThreads(Number(args.threads ?? 1));
manualSeed(0);
// The workload of bench-step.ts: DARTS space, C=8, 5 cells, batch 32 used as both train and valid.
const search = new BilevelSearch({ space: 'darts', C: 8, cells: 5, numClasses: 10, inChannels: 3 }, { method: order === 1 ? 'darts' : 'darts2', epochs: 50 });
const x = randn([Number(args.batch ?? 32), 3, 32, 32]).keep();
const y = randint(0, 10, [x.size(0)]).keep();

const fused = search.mixing.applyWeights.bind(search.mixing);
// The mixed op's sum before weightedSum: a mul per candidate, partial sums released at once.
function chain(op, input, w) {
  if (w.kind !== 'dense') return fused(op, input, w);
  let sum = null;
  for (let i = 0; i < op.candidates.length; i++) {
    const candidate = op.candidate(i);
    if (isZeroOp(candidate)) continue;
    const term = tidy(() => candidate.call(input).mul(w.weights.select(0, i)));
    if (sum) {
      const next = sum.add(term);
      sum.dispose();
      term.dispose();
      sum = next;
    } else {
      sum = term;
    }
  }
  return sum;
}
const combinations = { before: [false, chain], weightedSum: [false, fused], pointwise: [true, chain], both: [true, fused] };
const cpu = Object.fromEntries(Object.keys(combinations).map((k) => [k, []]));
const step = () => tidy(() => void search.step({ x, y }, { x, y }));
step();
step();
for (let r = 0; r < rounds; r++) {
  for (const [name, [pointwise, applyWeights]] of Object.entries(combinations)) {
    setNativeKernels({ pointwise });
    search.mixing.applyWeights = applyWeights;
    const c0 = process.cpuUsage();
    step();
    const c = process.cpuUsage(c0);
    cpu[name].push((c.user + c.system) / 1000);
  }
}
setNativeKernels({ pointwise: true });
search.dispose();
x.dispose();
y.dispose();
console.log(JSON.stringify({
  order, rounds, cpu_ms: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, Math.round(median(v))])),
  per_round: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, v.map(Math.round)])),
}));
