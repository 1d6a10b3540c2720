import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memory } from '../tensor/index.js';
import { runTsnas } from '../testing/cli.js';
import { timeSteps, workload } from './step.js';

test('timeSteps reports wall and CPU time, and --profile writes libtorch\'s op trace of the timed steps', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-step-'));
  const before = memory().numTensors;
  const w = workload('nb201')({ batch: 2 });
  try {
    const file = join(dir, 'trace.json');
    const r = timeSteps(w, 2, 1, file);
    assert.equal(r.times.length, 2);
    assert.ok(r.cpuMedian > 0 && r.median > 0);
    const events = JSON.parse(readFileSync(file, 'utf8')) as { name: string; ph: string; dur: number }[];
    const names = new Set(events.filter((e) => e.ph === 'X').map((e) => e.name));
    // Forward, backward and the optimiser's updates are all recorded.
    for (const op of ['aten::mkldnn_convolution', 'aten::convolution_backward', 'aten::add_']) assert.ok(names.has(op), `${op} in the trace`);
  } finally {
    w.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(memory().numTensors, before);
});

test('bench step --profile into a missing directory is a usage error naming the flag', () => {
  const r = runTsnas(['bench', 'step', '--workload', 'nb201', '--steps', '1', '--batch', '2', '--profile', '/nonexistent-dir/t.json']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--profile/);
});
