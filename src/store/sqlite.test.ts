import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { TsnasError } from '../errors.js';
import { DEFAULT_STORAGE_URL, openStore, parseStorageUrl, SQLITE_SCHEMA_VERSION, SqliteStore } from './index.js';
import { mountRefusal, mountTmpfs, unmount } from '../testing/mounts.js';
import { runStoreSuite } from './suite.js';

const root = mkdtempSync(join(tmpdir(), 'tsnas-sqlite-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Runs SQL on the file through a connection of its own, as another process would. */
function execOn(path: string, sql: string): void {
  const db = new Database(path);
  try {
    db.pragma('busy_timeout = 30000');
    db.exec(sql);
  } finally {
    db.close();
  }
}

let counter = 0;
runStoreSuite('sqlite', async () => {
  const dir = join(root, `store-${counter++}`);
  // A nested path checks that the store creates missing directories.
  const path = join(dir, 'nested', 'exp.db');
  return {
    url: `sqlite:${path}`,
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
    refuseWrites: async (table) => {
      const triggers = ['INSERT', 'UPDATE'].map((event) => [`tsnas_test_refuse_${table}_${event.toLowerCase()}`, event] as const);
      execOn(path, triggers.map(([name, event]) => `CREATE TRIGGER ${name} BEFORE ${event} ON ${table} BEGIN SELECT RAISE(ABORT, 'refused by test'); END;`).join('\n'));
      return async () => execOn(path, triggers.map(([name]) => `DROP TRIGGER ${name};`).join('\n'));
    },
  };
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

  it('gives each pending trial to one of several threads claiming from the same file at once', async () => {
    const path = join(root, 'threads.db');
    const store = new SqliteStore(path);
    const e = await store.createExperiment('e', {});
    const pendingIds: number[] = [];
    for (let i = 0; i < 60; i++) pendingIds.push((await store.createTrial(e.id, { i }, `h${i}`)).trial.id);
    // Each thread has its own connection and claims until nothing is left;
    // they start together so their claims interleave.
    const moduleUrl = new URL('./sqlite.js', import.meta.url).href;
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      (async () => {
        const { SqliteStore } = await import(workerData.moduleUrl);
        const store = new SqliteStore(workerData.path);
        const shared = new Int32Array(workerData.gate);
        Atomics.add(shared, 0, 1);
        while (Atomics.load(shared, 0) < workerData.threads) Atomics.wait(shared, 0, Atomics.load(shared, 0), 5);
        const ids = [];
        for (let t; (t = await store.claimTrial(workerData.experimentId, 'thread-' + workerData.index)); ) ids.push(t.id);
        await store.close();
        parentPort.postMessage(ids);
      })();
    `;
    const threads = 4;
    const gate = new SharedArrayBuffer(4);
    const claimedPerThread = await Promise.all(
      Array.from(
        { length: threads },
        (_, index) =>
          new Promise<number[]>((resolve, reject) => {
            const worker = new Worker(code, { eval: true, workerData: { moduleUrl, path, experimentId: e.id, index, threads, gate } });
            worker.once('message', resolve);
            worker.once('error', reject);
          }),
      ),
    );
    const all = claimedPerThread.flat();
    assert.equal(all.length, pendingIds.length, 'no trial was claimed twice or missed');
    assert.deepEqual([...all].sort((a, b) => a - b), pendingIds);
    for (const [index, ids] of claimedPerThread.entries()) {
      for (const id of ids) assert.equal((await store.getTrial(id))!.workerId, `thread-${index}`);
    }
    await store.close();
  });

  it('adds the epoch, checkpoint and lease tables to a file of schema version 1 when it opens', async () => {
    const path = join(root, 'v1.db');
    const old = new SqliteStore(path);
    const e = await old.createExperiment('e', {});
    await old.close();
    // What a store written before the epoch tables existed looks like.
    execOn(path, 'DROP TABLE tsnas_epochs; DROP TABLE tsnas_checkpoints; DROP TABLE tsnas_leases; PRAGMA user_version = 1;');
    const store = new SqliteStore(path);
    try {
      await store.recordEpoch(e.id, 'supernet', 1, { epoch: 1 }, { stage: 'supernet', epoch: 1, state: {}, data: new Uint8Array([7]) });
      assert.deepEqual((await store.listEpochs(e.id)).map((r) => r.record), [{ epoch: 1 }]);
      assert.deepEqual([...(await store.loadCheckpoint(e.id))!.data], [7]);
      assert.equal((await store.acquireLease(e.id, { owner: 'o', host: 'h', pid: 1 }, { expireMs: 1000 })).acquired, true);
    } finally {
      await store.close();
    }
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.pragma('user_version', { simple: true }), SQLITE_SCHEMA_VERSION);
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

describe('SQLite store on a full disk', { skip: mountRefusal() ?? false }, () => {
  it('a checkpoint that does not fit is a data error naming the file; the store keeps the previous epoch and takes the write once space is back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnas-full-'));
    // 8 MB: the WAL grows to about 4 MB before SQLite folds it into the file.
    mountTmpfs(dir, 8 * 1024 * 1024);
    try {
      const path = join(dir, 's.db');
      const store = await openStore(`sqlite:${path}`);
      const e = await store.createExperiment('ws', {});
      const small = { stage: 'supernet', epoch: 1, state: { lr: 0.1 }, data: new Uint8Array(64 * 1024).fill(1) };
      await store.recordEpoch(e.id, 'supernet', 1, { epoch: 1 }, small);
      // Leave less room than the next checkpoint needs.
      const { bavail, bsize } = statfsSync(dir);
      writeFileSync(join(dir, 'filler'), new Uint8Array(bavail * bsize - 256 * 1024));
      const big = { stage: 'supernet', epoch: 2, state: { lr: 0.05 }, data: new Uint8Array(1024 * 1024).fill(2) };
      await assert.rejects(store.recordEpoch(e.id, 'supernet', 2, { epoch: 2 }, big), (err: unknown) => {
        assert.ok(err instanceof TsnasError, String(err));
        assert.equal(err.exitCode, 2);
        assert.match(err.message, new RegExp(`^--storage: the disk holding the store ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is full \\(SQLITE_FULL: .*\\); .*run the same command to resume`));
        return true;
      });
      // The failed transaction left nothing: the first epoch and its checkpoint, whole.
      assert.deepEqual((await store.listEpochs(e.id)).map((r) => r.epoch), [1]);
      assert.deepEqual((await store.loadCheckpoint(e.id))!.data, Buffer.from(small.data));
      await store.close();
      unlinkSync(join(dir, 'filler'));
      const reopened = await openStore(`sqlite:${path}`);
      await reopened.recordEpoch(e.id, 'supernet', 2, { epoch: 2 }, big);
      assert.deepEqual((await reopened.listEpochs(e.id)).map((r) => r.epoch), [1, 2]);
      assert.equal((await reopened.loadCheckpoint(e.id))!.epoch, 2);
      await reopened.close();
      const db = new Database(path, { readonly: true });
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      db.close();
    } finally {
      unmount(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
