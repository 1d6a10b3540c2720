import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { TsnasError } from '../errors.js';
import { DEFAULT_STORAGE_URL, openStore, parseStorageUrl, SQLITE_SCHEMA_VERSION, SqliteStore } from './index.js';
import { runStoreSuite } from './suite.js';

const root = mkdtempSync(join(tmpdir(), 'tsnas-sqlite-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
runStoreSuite('sqlite', async () => {
  const dir = join(root, `store-${counter++}`);
  // A nested path checks that the store creates missing directories.
  return { url: `sqlite:${join(dir, 'nested', 'exp.db')}`, dispose: async () => rmSync(dir, { recursive: true, force: true }) };
});

describe('SQLite store specifics', () => {
  it('uses WAL mode and records its schema version', async () => {
    const path = join(root, 'wal', 'x.db');
    const store = await openStore(`sqlite:${path}`);
    assert.equal(store.kind, 'sqlite');
    await store.createExperiment('e', {});
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('user_version', { simple: true }), SQLITE_SCHEMA_VERSION);
    } finally {
      db.close();
    }
    await store.close();
  });

  it('refuses a file written by a newer schema version', async () => {
    const path = join(root, 'future.db');
    new SqliteStore(path).close();
    const db = new Database(path);
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION + 1}`);
    db.close();
    assert.throws(
      () => new SqliteStore(path),
      (e: unknown) => e instanceof TsnasError && e.code === 'state' && /schema version \d+, newer than this tsnas supports/.test(e.message),
    );
  });

  it('enforces immutability of finished trials in the file itself', async () => {
    const path = join(root, 'trigger.db');
    const store = new SqliteStore(path);
    const e = await store.createExperiment('e', {});
    const { trial } = await store.createTrial(e.id, {}, 'h');
    await store.finishTrial(trial.id, { state: 'failed', error: 'x' });
    await store.close();
    const db = new Database(path);
    try {
      assert.throws(() => db.prepare(`UPDATE tsnas_trials SET state = 'pending' WHERE id = ?`).run(trial.id), /finished trials never change/);
      assert.throws(() => db.prepare(`INSERT INTO tsnas_trial_values VALUES (?, 'a', 0, 1)`).run(trial.id), /finished trials never change/);
    } finally {
      db.close();
    }
  });

  it('works in memory', async () => {
    const store = await openStore('sqlite::memory:');
    const e = await store.createExperiment('m', { a: 1 });
    assert.equal((await store.createTrial(e.id, {}, 'h')).trial.number, 0);
    await store.close();
    assert.equal(existsSync(':memory:'), false, 'no file named :memory: was created');
  });

  it('parses storage URLs and names the bad one', () => {
    assert.deepEqual(parseStorageUrl('sqlite:runs/exp.db'), { kind: 'sqlite', path: 'runs/exp.db' });
    assert.deepEqual(parseStorageUrl('sqlite:///abs/exp.db'), { kind: 'sqlite', path: '/abs/exp.db' });
    assert.deepEqual(parseStorageUrl('postgres://u:p@h:5432/db'), { kind: 'postgres', url: 'postgres://u:p@h:5432/db' });
    assert.deepEqual(parseStorageUrl('postgresql://h/db'), { kind: 'postgres', url: 'postgresql://h/db' });
    assert.equal(parseStorageUrl(DEFAULT_STORAGE_URL).kind, 'sqlite');
    assert.match(DEFAULT_STORAGE_URL, /^sqlite:runs\//);
    for (const bad of ['runs/exp.db', 'sqlite:', 'mysql://h/db', '']) {
      assert.throws(
        () => parseStorageUrl(bad),
        (e: unknown) => e instanceof TsnasError && e.code === 'usage' && e.message.includes(JSON.stringify(bad)) && /sqlite:PATH/.test(e.message),
        bad,
      );
    }
  });
});
