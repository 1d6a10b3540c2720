#!/usr/bin/env node
// Runs `tsnas bench step` and its PyTorch eager baseline alternately, several
// rounds, at the same thread count, and prints the ratio of the medians.
//   node bench/step-ratio.mjs [--workload nb201] [--threads 2] [--rounds 3] [--steps 10]
// Needs Debian's python3-torch (/usr/bin/python3).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const workload = args.workload ?? 'nb201';
const threads = args.threads ?? '2';
const rounds = Number(args.rounds ?? 3);
const steps = args.steps ?? '10';
const root = fileURLToPath(new URL('..', import.meta.url));
const baselines = { nb201: 'bench/pytorch_nb201_step.py', proxies: 'bench/pytorch_proxies.py' };
const baseline = baselines[workload];
if (!baseline) {
  console.error(`no PyTorch baseline for workload '${workload}'`);
  process.exit(2);
}

const lastJson = (out) => JSON.parse(out.trim().split('\n').at(-1));
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const ours = [];
const theirs = [];
for (let r = 0; r < rounds; r++) {
  ours.push(lastJson(execFileSync(process.execPath, ['bin/tsnas.js', 'bench', 'step', '--workload', workload,
    '--threads', threads, '--steps', steps, '--json'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })).ms_per_step);
  theirs.push(lastJson(execFileSync('/usr/bin/python3', [baseline, '--threads', threads, '--steps', steps],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })).ms_per_step);
  console.error(`round ${r + 1}: tsnas ${ours.at(-1).toFixed(1)} ms, pytorch ${theirs.at(-1).toFixed(1)} ms`);
}
const result = {
  workload, threads: Number(threads), rounds,
  tsnas_ms: median(ours), pytorch_ms: median(theirs), ratio: median(ours) / median(theirs),
};
console.log(JSON.stringify(result));
