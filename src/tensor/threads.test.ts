import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { lastJson, runTsnas } from '../testing/cli.js';

test('commands use every core unless told otherwise, and say so', () => {
  const all = runTsnas(['bench', 'step', '--workload', 'nb201', '--steps', '1', '--batch', '2', '--json'], { TSNAS_THREADS: undefined });
  assert.equal(all.code, 0, all.stderr);
  assert.equal((lastJson(all.stdout) as { threads: number }).threads, availableParallelism());
  const one = runTsnas(['bench', 'step', '--workload', 'nb201', '--steps', '1', '--batch', '2'], { TSNAS_THREADS: '1' });
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stderr, /\b1 threads\b/);
});

test('a bad TSNAS_THREADS is a usage error naming it', () => {
  const r = runTsnas(['bench', 'step', '--workload', 'nb201', '--steps', '1', '--batch', '2'], { TSNAS_THREADS: 'lots' });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /TSNAS_THREADS/);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
});
