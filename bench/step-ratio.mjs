#!/usr/bin/env node
// Runs `tsnas bench step` and its PyTorch eager baseline alternately, several
// rounds, at the same thread count and batch, and prints the ratio of the
// medians: of wall time, and of CPU time (all threads of the process). At one
// thread the CPU-time ratio hardly moves when other jobs share the machine,
// so it is the number to trust on a busy machine; wall time needs a quiet one.
//   node bench/step-ratio.mjs [--workload nb201|proxies|darts1|darts2] [--threads 2] [--rounds 3] [--steps S] [--batch B]
// Needs Debian's python3-torch (/usr/bin/python3).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BASELINES as baselines, median, readFlags } from './baselines.mjs';

const args = readFlags(process.argv.slice(2));
const workload = args.workload ?? 'nb201';
const baseline = baselines[workload];
if (!baseline) {
  console.error(`no PyTorch baseline for workload '${workload}'; known: ${Object.keys(baselines).join(', ')}`);
  process.exit(2);
}
const threads = args.threads ?? '2';
const rounds = Number(args.rounds ?? 3);
const steps = args.steps ?? baseline.steps;
const batch = args.batch ?? baseline.batch;
const root = fileURLToPath(new URL('..', import.meta.url));

const lastJson = (out) => JSON.parse(out.trim().split('\n').at(-1));
const run = (cmd, argv) => lastJson(execFileSync(cmd, argv, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
const ours = [];
const theirs = [];
for (let r = 0; r < rounds; r++) {
  ours.push(run(process.execPath, ['bin/tsnas.js', 'bench', 'step', '--workload', workload, '--threads', threads,
    '--steps', steps, '--batch', batch, '--json']));
  theirs.push(run('/usr/bin/python3', [...baseline.script, '--threads', threads, '--steps', steps, '--batch', batch]));
  const [a, b] = [ours.at(-1), theirs.at(-1)];
  console.error(`round ${r + 1}: wall tsnas ${a.ms_per_step.toFixed(1)} ms, pytorch ${b.ms_per_step.toFixed(1)} ms (${(a.ms_per_step / b.ms_per_step).toFixed(2)}); ` +
    `cpu ${a.cpu_ms_per_step.toFixed(1)} vs ${b.cpu_ms_per_step.toFixed(1)} ms (${(a.cpu_ms_per_step / b.cpu_ms_per_step).toFixed(2)})`);
}
const wall = (xs) => median(xs.map((x) => x.ms_per_step));
const cpu = (xs) => median(xs.map((x) => x.cpu_ms_per_step));
console.log(JSON.stringify({
  workload, threads: Number(threads), batch: Number(batch), rounds,
  tsnas_ms: wall(ours), pytorch_ms: wall(theirs), ratio: wall(ours) / wall(theirs),
  tsnas_cpu_ms: cpu(ours), pytorch_cpu_ms: cpu(theirs), cpu_ratio: cpu(ours) / cpu(theirs),
  per_round_ratios: ours.map((x, i) => x.ms_per_step / theirs[i].ms_per_step),
}));
