// A disk that fills up during a stored search (issue 17 §7): the run stops
// with exit 2 naming the store file (no stack trace), the store stays valid,
// and once space is back the same command ends with the trials of an
// uninterrupted run. The disk is a small tmpfs (needs the right to mount).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStore } from '../store/index.js';
import { runTsnas } from '../testing/cli.js';
import { mountRefusal, mountTmpfs, unmount } from '../testing/mounts.js';

test('disk full during trial writes: exit 2 naming the store, a valid store, and the same command resumes once space is back', { skip: mountRefusal() ?? false }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-diskfull-'));
  const disk = join(dir, 'disk');
  mkdirSync(disk);
  // 8 MB: the WAL grows to about 4 MB before SQLite folds it into the file.
  mountTmpfs(disk, 8 * 1024 * 1024);
  const args = (path: string) => ['search', '--name', 'exp', '--storage', `sqlite:${path}`, '--quiet', '--seed', '4', '--strategy', 'evolution',
    '--strategy.options', '{population: 10, sampleSize: 3}', '--space', 'nb201', '--benchmark', 'nb201:cifar10', '--budget', '120', '--batch', '2', '--threads', '1'];
  try {
    const path = join(disk, 's.db');
    // A little room: the experiment and its first trials fit, the rest does not.
    const { bavail, bsize } = statfsSync(disk);
    writeFileSync(join(disk, 'filler'), new Uint8Array(bavail * bsize - 160 * 1024));
    const full = runTsnas(args(path));
    assert.equal(full.code, 2, full.stderr);
    assert.match(full.stderr, new RegExp(`--storage: the disk holding the store ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is full \\(SQLITE_FULL: .*\\); .*run the same command to resume`));
    assert.doesNotMatch(full.stderr, /^\s+at |node:internal/m);
    const db = new Database(path, { readonly: true });
    const told = (db.prepare(`SELECT count(*) AS n FROM tsnas_trials WHERE state <> 'pending'`).get() as { n: number }).n;
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    db.close();
    assert.ok(told < 120, `the disk did not fill (${told} trials finished)`);

    unlinkSync(join(disk, 'filler'));
    const resumed = runTsnas(args(path));
    assert.equal(resumed.code, 0, resumed.stderr);
    const whole = runTsnas(args(join(dir, 'whole.db')));
    assert.equal(whole.code, 0, whole.stderr);
    const trials = async (p: string) => {
      const store = await openStore(`sqlite:${p}`, { readOnly: true });
      try {
        return (await store.listTrials((await store.getExperiment('exp'))!.id)).map((t) => [t.number, t.sampleHash, t.state, t.metrics]);
      } finally {
        await store.close();
      }
    };
    const expected = await trials(join(dir, 'whole.db'));
    assert.equal(expected.length, 120);
    assert.deepEqual(await trials(path), expected);
  } finally {
    unmount(disk);
    rmSync(dir, { recursive: true, force: true });
  }
});
