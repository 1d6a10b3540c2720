#!/usr/bin/env node
// Where a step's CPU time goes, tsnas against PyTorch eager, op by op, in a
// way that survives a busy machine: both programs run with bench/opcpu
// preloaded (libtorch's RecordFunction callbacks timing every op by its
// thread's CPU clock), each at two step counts; the difference of the two
// runs, divided by the difference of the steps, is the cost of one step
// without start-up and warm-up. Prints, per step: the process's CPU time,
// the part under libtorch ops and the part outside them (the host language,
// its bindings, the allocator between ops, other threads such as V8's
// collector, and tsnas's native kernels where they run outside an op), then
// the ops with the most self time side by side.
//   node bench/op_cpu.mjs [--workload nb201|darts1|darts2|proxies] [--threads 1] [--steps 2,8] [--rounds 2] [--top 25] [--out F.json]
// Meaningful at 1 thread (at 2, idle OpenMP threads' spinning counts as CPU).
// Builds bench/opcpu/opcpu.so with g++ on first use (needs libtorch-dev).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BASELINES as baselines, median, readFlags } from './baselines.mjs';

const args = readFlags(process.argv.slice(2));
const workload = args.workload ?? 'nb201';
const threads = args.threads ?? '1';
const [few, many] = (args.steps ?? '2,8').split(',').map(Number);
const rounds = Number(args.rounds ?? 2);
const top = Number(args.top ?? 25);
const root = fileURLToPath(new URL('..', import.meta.url));
const baseline = baselines[workload];
if (!baseline || !(few >= 1 && many > few)) {
  console.error(`usage: --workload ${Object.keys(baselines).join('|')} --steps A,B (B > A >= 1)`);
  process.exit(2);
}
const batch = args.batch ?? baseline.batch;

const lib = join(root, 'bench/opcpu/opcpu.so');
if (!existsSync(lib)) {
  const include = process.env.LIBTORCH ? [`-I${process.env.LIBTORCH}/include`, `-L${process.env.LIBTORCH}/lib`] : [];
  execFileSync('g++', ['-std=c++17', '-O2', '-shared', '-fPIC', ...include, join(root, 'bench/opcpu/opcpu.cc'), '-o', lib, '-ltorch_cpu', '-lc10'], { stdio: 'inherit' });
}

const dir = mkdtempSync(join(tmpdir(), 'tsnas-opcpu-'));
function measure(program, steps, round) {
  const out = join(dir, `${program}-${steps}-${round}.json`);
  const env = { ...process.env, LD_PRELOAD: lib, OPCPU_OUT: out };
  const opts = { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] };
  if (program === 'tsnas') {
    execFileSync(process.execPath, ['bin/tsnas.js', 'bench', 'step', '--workload', workload, '--threads', threads,
      '--steps', String(steps), '--batch', batch, '--json'], opts);
  } else {
    execFileSync('/usr/bin/python3', [...baseline.script, '--threads', threads, '--steps', String(steps), '--batch', batch], opts);
  }
  return JSON.parse(readFileSync(out, 'utf8'));
}

/** Per-step figures from the difference of a long and a short run. */
function perStep(short, long) {
  const d = (a, b) => (b - a) / (many - few) / 1000;
  const ops = new Map();
  for (const name of new Set([...Object.keys(short.ops), ...Object.keys(long.ops)])) {
    const s = short.ops[name] ?? { self_us: 0, calls: 0 };
    const l = long.ops[name] ?? { self_us: 0, calls: 0 };
    ops.set(name, { self: d(s.self_us, l.self_us), calls: (l.calls - s.calls) / (many - few) });
  }
  return { process: d(short.process_cpu_us, long.process_cpu_us), inOps: d(short.top_level_us, long.top_level_us), ops };
}

const results = { tsnas: [], pytorch: [] };
for (let r = 0; r < rounds; r++) {
  for (const program of ['tsnas', 'pytorch']) results[program].push(perStep(measure(program, few, r), measure(program, many, r)));
}
rmSync(dir, { recursive: true, force: true });

/** Medians over rounds, op by op. */
function combine(list) {
  const ops = new Map();
  for (const name of new Set(list.flatMap((x) => [...x.ops.keys()]))) {
    ops.set(name, {
      self: median(list.map((x) => x.ops.get(name)?.self ?? 0)),
      calls: median(list.map((x) => x.ops.get(name)?.calls ?? 0)),
    });
  }
  return { process: median(list.map((x) => x.process)), inOps: median(list.map((x) => x.inOps)), ops };
}
const a = combine(results.tsnas);
const b = combine(results.pytorch);
const f = (x) => x.toFixed(1).padStart(9);
console.log(`workload ${workload}, batch ${batch}, ${threads} thread(s); CPU ms per step from runs of ${few} and ${many} steps, median of ${rounds} rounds`);
for (const [name, r] of [['tsnas', a], ['pytorch', b]]) {
  console.log(`${name.padEnd(8)} process ${f(r.process)}  in libtorch ops ${f(r.inOps)}  outside ${f(r.process - r.inOps)}`);
}
const names = [...a.ops.keys(), ...[...b.ops.keys()].filter((n) => !a.ops.has(n))];
const self = (r, n) => r.ops.get(n)?.self ?? 0;
names.sort((x, y) => Math.max(self(a, y), self(b, y)) - Math.max(self(a, x), self(b, x)));
console.log(`\n${'op (self CPU ms per step)'.padEnd(58)}    tsnas  pytorch   calls: tsnas pytorch`);
for (const n of names.slice(0, top)) {
  console.log(`${n.slice(0, 58).padEnd(58)}${f(self(a, n))}${f(self(b, n))}   ${String(a.ops.get(n)?.calls ?? 0).padStart(12)} ${String(b.ops.get(n)?.calls ?? 0).padStart(7)}`);
}
const calls = (r) => [...r.ops.values()].reduce((s, o) => s + o.calls, 0);
console.log(`\nop calls per step: tsnas ${calls(a)}, pytorch ${calls(b)}`);
if (args.out) writeFileSync(args.out, JSON.stringify({
  workload, threads: Number(threads), batch: Number(batch), steps: [few, many], rounds,
  tsnas: { process_ms: a.process, in_ops_ms: a.inOps, ops: Object.fromEntries(a.ops) },
  pytorch: { process_ms: b.process, in_ops_ms: b.inOps, ops: Object.fromEntries(b.ops) },
}, null, 1));
