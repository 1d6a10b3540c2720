// Commands that only read (ls, show, report, dashboard) open the store
// read-only: they write nothing to it, create no file or directory, and a
// file that is not a tsnas store is a clear error (exit 2), SQLite and PostgreSQL.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { REPO_ROOT, runTsnas, TSNAS_BIN } from '../testing/cli.js';
import { bindReadOnly, mountRefusal, unmount } from '../testing/mounts.js';
import { findPostgresBinDir, usePostgresForTests } from '../testing/postgres.js';
import { openStore } from './index.js';

const READERS: [string, string[]][] = [['ls', []], ['show', ['x']], ['report', ['x', '--out', '/dev/null']]];

test('read-only commands on a junk file, a foreign SQLite database, a missing file and a directory: exit 2 naming --storage, nothing written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-readonly-'));
  try {
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'junk\n'.repeat(100));
    const foreign = join(dir, 'foreign.db');
    const db = new Database(foreign);
    db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES (\'hello\')');
    db.close();
    const foreignBytes = readFileSync(foreign);
    for (const [command, args] of READERS) {
      const j = runTsnas([command, ...args, '--storage', `sqlite:${junk}`]);
      assert.equal(j.code, 2, `${command}: ${j.stderr}`);
      assert.match(j.stderr, /--storage: .*junk\.db is not an SQLite database/);
      assert.doesNotMatch(j.stderr, /^\s+at /m);
      const f = runTsnas([command, ...args, '--storage', `sqlite:${foreign}`]);
      assert.equal(f.code, 2, `${command}: ${f.stderr}`);
      assert.match(f.stderr, /--storage: .*foreign\.db is an SQLite database but not a tsnas store/);
      const m = runTsnas([command, ...args, '--storage', `sqlite:${join(dir, 'typo', 'new.db')}`]);
      assert.equal(m.code, 2, `${command}: ${m.stderr}`);
      assert.match(m.stderr, /--storage: no tsnas store at .*typo\/new\.db/);
      const d = runTsnas([command, ...args, '--storage', `sqlite:${dir}`]);
      assert.equal(d.code, 2, `${command}: ${d.stderr}`);
      assert.match(d.stderr, /is a directory, not a store file/);
    }
    assert.equal(readFileSync(junk, 'utf8'), 'junk\n'.repeat(100));
    assert.deepEqual(readFileSync(foreign), foreignBytes, 'the foreign database is unchanged (no tables, no WAL mode)');
    assert.equal(existsSync(join(dir, 'typo')), false, 'no directory created');
    assert.equal(existsSync(`${foreign}-wal`), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('read-only commands read a real store without changing its file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-readonly-'));
  try {
    const path = join(dir, 's.db');
    assert.equal(runTsnas(['search', '--name', 'x', '--budget', '3', '--storage', `sqlite:${path}`, '--quiet']).code, 0);
    // Fold the WAL into the file, so that the file's bytes are the whole store.
    const s = await openStore(`sqlite:${path}`);
    await s.close();
    const db = new Database(path);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const before = readFileSync(path);
    const ls = runTsnas(['ls', '--storage', `sqlite:${path}`]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /^x\s+finished/m);
    assert.equal(runTsnas(['show', 'x', '--storage', `sqlite:${path}`, '--json']).code, 0);
    assert.deepEqual(readFileSync(path), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A finished store of 3 trials, experiment x, with its WAL folded into the file (as a clean close leaves it). */
function finishedStore(path: string): void {
  const r = runTsnas(['search', '--name', 'x', '--budget', '3', '--storage', `sqlite:${path}`, '--quiet']);
  assert.equal(r.code, 0, r.stderr);
}

/** Read-only commands work, and commands that write exit 2 naming the file (no stack trace). */
function assertReadableNotWritable(run: (args: string[]) => { code: number | null; stdout: string; stderr: string }, path: string, newPath: string): void {
  for (const [command, args] of READERS) {
    const r = run([command, ...args, '--storage', `sqlite:${path}`]);
    assert.equal(r.code, 0, `${command}: ${r.stderr}`);
  }
  assert.match(run(['show', 'x', '--storage', `sqlite:${path}`]).stdout, /trials 3: pending 0, running 0, complete 3/);
  for (const [args, file] of [
    [['search', '--name', 'x', '--budget', '5', '--quiet'], path],
    [['rm', 'x', '--yes'], path],
    [['search', '--name', 'y', '--budget', '2', '--quiet'], newPath],
  ] as const) {
    const r = run([...args, '--storage', `sqlite:${file}`]);
    const what = `${args.join(' ')}: ${r.stderr}`;
    assert.equal(r.code, 2, what);
    assert.match(r.stderr, new RegExp(`--storage: cannot write to the store ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(SQLITE_\\w+: .*\\): the file or its directory is read-only for this user; commands that only read \\(ls, show, report\\) still work`), what);
    assert.doesNotMatch(r.stderr, /^\s+at |node:internal/m, what);
  }
}

test('a store on a read-only mount (even for root): ls, show and report work; search and rm exit 2 naming the file', { skip: mountRefusal() ?? false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-rofs-'));
  const view = join(dir, 'view');
  try {
    mkdirSync(join(dir, 'data'));
    mkdirSync(view);
    finishedStore(join(dir, 'data', 's.db'));
    const before = readFileSync(join(dir, 'data', 's.db'));
    bindReadOnly(join(dir, 'data'), view);
    try {
      assertReadableNotWritable(runTsnas, join(view, 's.db'), join(view, 'new.db'));
    } finally {
      unmount(view);
    }
    assert.deepEqual(readFileSync(join(dir, 'data', 's.db')), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('read-only commands read a store of the previous schema version (2, before leases) as it is', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-readonly-'));
  try {
    const path = join(dir, 's.db');
    finishedStore(path);
    const db = new Database(path);
    db.exec('DROP TABLE tsnas_leases; PRAGMA user_version = 2;');
    db.close();
    const ls = runTsnas(['ls', '--storage', `sqlite:${path}`]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /^x\s+finished/m);
    assert.equal(runTsnas(['show', 'x', '--storage', `sqlite:${path}`]).code, 0);
    const check = new Database(path, { readonly: true });
    assert.equal(check.pragma('user_version', { simple: true }), 2, 'not upgraded by reading');
    check.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const asNobody = process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0;

test('a read-only store file and an unwritable directory (chmod, run as user nobody): reading works; writing exits 2 naming the file', { skip: asNobody ? false : 'needs root and setpriv, to run tsnas as user nobody (root ignores file modes)' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-chmod-'));
  try {
    const path = join(dir, 's.db');
    finishedStore(path);
    chmodSync(dir, 0o755);
    chmodSync(path, 0o444);
    const nobody = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
    // nobody owns the directory (it may create files there) but the file is read-only.
    chownSync(dir, nobody, -1);
    chownSync(path, nobody, -1);
    const run = (args: string[]) => {
      const r = spawnSync('setpriv', [`--reuid=${nobody}`, `--regid=${nobody}`, '--clear-groups', '--', process.execPath, TSNAS_BIN, ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    // The directory is writable here, so only the existing file is refused.
    const r = run(['search', '--name', 'x', '--budget', '5', '--quiet', '--storage', `sqlite:${path}`]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /cannot write to the store .*s\.db \(SQLITE_READONLY: /);
    // Now neither the directory nor the file.
    chmodSync(dir, 0o555);
    assertReadableNotWritable(run, path, join(dir, 'new.db'));
  } finally {
    chmodSync(dir, 0o755);
    rmSync(dir, { recursive: true, force: true });
  }
});

const pgAvailable = process.env.TSNAS_PG_URL !== undefined || findPostgresBinDir() !== null;

describe('read-only on PostgreSQL', { skip: pgAvailable ? false : 'no PostgreSQL binaries and no TSNAS_PG_URL' }, () => {
  const pgTest = usePostgresForTests('tsnas_ro');
  test('ls on a schema without a tsnas store: exit 2, and no table is created', async () => {
    const schema = await pgTest.freshSchema();
    try {
      const r = runTsnas(['ls', '--storage', schema.url]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--storage: .*holds no tsnas store/);
      await assert.rejects(openStore(schema.url, { readOnly: true }), /holds no tsnas store/);
      // A writing open then creates it; reading works after.
      const s = await openStore(schema.url);
      await s.close();
      assert.equal(runTsnas(['ls', '--storage', schema.url]).code, 0);
      // A worker told to serve an experiment the store does not have stops at once instead of waiting.
      const worker = runTsnas(['worker', '--storage', schema.url, '--experiment', 'typo', '--once']);
      assert.equal(worker.code, 2, worker.stderr);
      assert.match(worker.stderr, /--experiment: no experiment named 'typo' in this store/);
    } finally {
      await schema.dispose();
    }
  });
});
