#!/usr/bin/env node
// Interleaved timing of `tsnas bench step --workload darts1|darts2` and its
// PyTorch eager baseline (bench/pytorch_darts_step.py) at the same thread
// count and batch; prints the ratio of the medians (the machine is shared,
// so runs alternate and the medians are compared).
//   node bench/darts_step_ratio.mjs [--workload darts1] [--threads 1] [--rounds 3] [--steps 3] [--batch 32]
// Needs Debian's python3-torch (/usr/bin/python3).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const workload = args.workload ?? 'darts1';
if (workload !== 'darts1' && workload !== 'darts2') {
  console.error(`workload must be darts1 or darts2, got '${workload}'`);
  process.exit(2);
}
const threads = args.threads ?? '1';
const rounds = Number(args.rounds ?? 3);
const steps = args.steps ?? '3';
const batch = args.batch ?? '32';
const root = fileURLToPath(new URL('..', import.meta.url));
const lastJson = (out) => JSON.parse(out.trim().split('\n').at(-1));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ours = [];
const theirs = [];
for (let r = 0; r < rounds; r++) {
  ours.push(lastJson(execFileSync(process.execPath, ['bin/tsnas.js', 'bench', 'step', '--workload', workload, '--threads', threads,
    '--steps', steps, '--batch', batch, '--json'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })).ms_per_step);
  theirs.push(lastJson(execFileSync('/usr/bin/python3', ['bench/pytorch_darts_step.py', '--order', workload.slice(-1), '--threads', threads,
    '--steps', steps, '--batch', batch], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })).ms_per_step);
  console.error(`round ${r + 1}: tsnas ${ours.at(-1).toFixed(0)} ms, pytorch ${theirs.at(-1).toFixed(0)} ms, ratio ${(ours.at(-1) / theirs.at(-1)).toFixed(2)}`);
}
console.log(JSON.stringify({
  workload, threads: Number(threads), batch: Number(batch), rounds,
  tsnas_ms: median(ours), pytorch_ms: median(theirs), ratio: median(ours) / median(theirs),
  per_round_ratios: ours.map((t, i) => t / theirs[i]),
}));
