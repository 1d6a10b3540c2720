#!/usr/bin/env node
// Where a step's time goes, tsnas against PyTorch eager, op by op: both
// programs run the same workload under libtorch's own op profiler (the one
// torch.autograd.profiler uses; `tsnas bench step --profile`, the baselines'
// --profile), so both traces name the same aten ops and autograd nodes.
// Prints, per step: wall time, time inside libtorch ops (top-level events),
// time outside them (the host program, its bindings, the allocator between
// ops, and for tsnas its native kernels, which libtorch does not record), and
// the ops with the most self time side by side.
//   node bench/profile_step.mjs [--workload nb201|darts1|darts2|proxies] [--threads 1] [--steps 5] [--top 25] [--batch B]
// The profiler adds a few microseconds per op to both programs; compare the
// shares, and take absolute times from bench/step-ratio.mjs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const workload = args.workload ?? 'nb201';
const threads = args.threads ?? '1';
const steps = Number(args.steps ?? 5);
const top = Number(args.top ?? 25);
const batch = args.batch ?? (workload.startsWith('darts') ? '32' : '64');
const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tsnas-profile-'));

const baseline = {
  nb201: ['bench/pytorch_nb201_step.py'],
  proxies: ['bench/pytorch_proxies.py'],
  darts1: ['bench/pytorch_darts_step.py', '--order', '1'],
  darts2: ['bench/pytorch_darts_step.py', '--order', '2'],
}[workload];
if (!baseline) {
  console.error(`no PyTorch baseline for workload '${workload}'`);
  process.exit(2);
}

const lastJson = (out) => JSON.parse(out.trim().split('\n').at(-1));
const run = (cmd, argv) => lastJson(execFileSync(cmd, argv, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));

/** Self and total time per op name, and the time covered by top-level events, from a Chrome trace of complete events. */
function analyse(file) {
  const raw = JSON.parse(readFileSync(file, 'utf8'));
  const events = (Array.isArray(raw) ? raw : raw.traceEvents).filter((e) => e.ph === 'X');
  const byThread = new Map();
  for (const e of events) {
    if (!byThread.has(e.tid)) byThread.set(e.tid, []);
    byThread.get(e.tid).push({ name: e.name, ts: Number(e.ts), dur: Number(e.dur), child: 0 });
  }
  const ops = new Map();
  let topLevel = 0;
  for (const list of byThread.values()) {
    list.sort((a, b) => a.ts - b.ts || b.dur - a.dur);
    const stack = [];
    const close = (e) => {
      const o = ops.get(e.name) ?? { self: 0, total: 0, calls: 0 };
      o.self += e.dur - e.child;
      o.total += e.dur;
      o.calls++;
      ops.set(e.name, o);
    };
    for (const e of list) {
      while (stack.length && stack.at(-1).ts + stack.at(-1).dur <= e.ts) close(stack.pop());
      if (stack.length) stack.at(-1).child += e.dur;
      else topLevel += e.dur;
      stack.push(e);
    }
    while (stack.length) close(stack.pop());
  }
  return { ops, topLevel };
}

const ours = run(process.execPath, ['bin/tsnas.js', 'bench', 'step', '--workload', workload, '--threads', threads,
  '--steps', String(steps), '--batch', batch, '--profile', join(dir, 'tsnas.json'), '--json']);
const theirs = run('/usr/bin/python3', [...baseline, '--threads', threads, '--steps', String(steps), '--batch', batch,
  '--profile', join(dir, 'pytorch.json')]);
const a = analyse(join(dir, 'tsnas.json'));
const b = analyse(join(dir, 'pytorch.json'));
rmSync(dir, { recursive: true, force: true });

const perStep = (us) => us / 1000 / steps;
const fmt = (x) => x.toFixed(1).padStart(9);
const summary = (name, r, wallMs) => {
  const inOps = perStep(r.topLevel);
  return `${name.padEnd(8)} wall ${fmt(wallMs)} ms/step  in libtorch ops ${fmt(inOps)}  outside ${fmt(wallMs - inOps)} (${(100 * (1 - inOps / wallMs)).toFixed(0)}%)`;
};
console.log(`workload ${workload}, batch ${batch}, ${threads} thread(s), ${steps} profiled steps (wall times include the profiler)`);
console.log(summary('tsnas', a, ours.ms_per_step));
console.log(summary('pytorch', b, theirs.ms_per_step));
const names = [...new Set([...a.ops.keys(), ...b.ops.keys()])];
const selfOf = (r, n) => perStep(r.ops.get(n)?.self ?? 0);
const callsOf = (r, n) => (r.ops.get(n)?.calls ?? 0) / steps;
names.sort((x, y) => Math.max(selfOf(a, y), selfOf(b, y)) - Math.max(selfOf(a, x), selfOf(b, x)));
console.log(`\n${'op (self time, ms per step)'.padEnd(60)}    tsnas  pytorch  calls/step tsnas pytorch`);
for (const n of names.slice(0, top)) {
  console.log(`${n.slice(0, 60).padEnd(60)}${fmt(selfOf(a, n))}${fmt(selfOf(b, n))}   ${String(callsOf(a, n)).padStart(8)} ${String(callsOf(b, n)).padStart(7)}`);
}
const sumSelf = (r) => perStep([...r.ops.values()].reduce((s, o) => s + o.self, 0));
const engine = (r) => perStep([...r.ops].filter(([n]) => n.startsWith('autograd::engine')).reduce((s, [, o]) => s + o.self, 0));
console.log(`\nself time in all ops: tsnas ${sumSelf(a).toFixed(1)}, pytorch ${sumSelf(b).toFixed(1)} ms/step; ` +
  `of it in autograd engine wrappers: ${engine(a).toFixed(1)} vs ${engine(b).toFixed(1)}; ` +
  `op calls per step: ${[...a.ops.values()].reduce((s, o) => s + o.calls, 0) / steps} vs ${[...b.ops.values()].reduce((s, o) => s + o.calls, 0) / steps}`);
console.log(JSON.stringify({ workload, threads: Number(threads), batch: Number(batch), steps,
  tsnas: { wall_ms: ours.ms_per_step, in_ops_ms: perStep(a.topLevel) },
  pytorch: { wall_ms: theirs.ms_per_step, in_ops_ms: perStep(b.topLevel) } }));
