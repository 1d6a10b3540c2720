// One experiment, two processes (issue 17 §4): the second `tsnas search`
// of a running experiment is refused with exit 2, naming the running
// process, and changes nothing; once that process is dead the same command
// takes over and ends with the trials of an uninterrupted run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { TsnasError } from '../errors.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { TrialEstimator } from '../estimators/types.js';
import { runTsnas, startTsnas } from '../testing/cli.js';
import { checkConfig } from './config.js';
import { runExperiment } from './run.js';

async function trialsOf(store: Store, name: string) {
  const e = (await store.getExperiment(name))!;
  return (await store.listTrials(e.id)).map((t) => [t.number, t.sampleHash, t.state, t.metrics, t.workerId]);
}

/** Whether some process holds the SQLite file's write lock (then it is in the middle of a transaction). */
function writeLocked(path: string): boolean {
  const db = new Database(path, { timeout: 0 });
  try {
    db.exec('BEGIN IMMEDIATE');
    db.exec('ROLLBACK');
    return false;
  } catch (e) {
    if ((e as { code?: string }).code === 'SQLITE_BUSY') return true;
    throw e;
  } finally {
    db.close();
  }
}

test('a second tsnas search of a running experiment exits 2 naming the running process and changes nothing; after that one dies, the same command takes over', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-lease-'));
  const args = (db: string) => ['search', '--name', 'exp', '--storage', `sqlite:${join(dir, db)}`, '--quiet', '--seed', '4', '--strategy', 'evolution',
    '--strategy.options', '{population: 10, sampleSize: 3}', '--space', 'nb201', '--benchmark', 'nb201:cifar10', '--budget', '300', '--batch', '2', '--threads', '1'];
  const path = join(dir, 'parts.db');
  const first = startTsnas(args('parts.db'));
  try {
    // Once it holds the lease, the first run is frozen outside any transaction (so the second is not kept waiting on the file's lock).
    let frozen = false;
    for (let i = 0; i < 3000 && !frozen && first.child.exitCode === null; i++) {
      await sleep(10);
      const probe = await openStore(`sqlite:${path}`, { readOnly: true }).catch(() => undefined);
      if (!probe) continue;
      const e = await probe.getExperiment('exp').catch(() => null);
      const lease = e ? await probe.getLease(e.id) : null;
      await probe.close();
      if (!lease) continue;
      first.child.kill('SIGSTOP');
      if (writeLocked(path)) first.child.kill('SIGCONT');
      else frozen = true;
    }
    assert.ok(frozen, `the first run ended before it could be frozen:\n${first.output()}`);
    const probe = await openStore(`sqlite:${path}`, { readOnly: true });
    const before = await trialsOf(probe, 'exp');
    const e = (await probe.getExperiment('exp'))!;
    const lease = (await probe.getLease(e.id))!;
    assert.equal(lease.pid, first.child.pid);

    const second = runTsnas(args('parts.db'));
    assert.equal(second.code, 2, second.stderr);
    assert.match(second.stderr, new RegExp(`experiment 'exp' is being run by another process: pid ${first.child.pid} on host ${hostname()}, last heartbeat \\d+ s ago`));
    assert.match(second.stderr, /the same command takes over at once on host .*, or from any host once its lease expires \(in \d+ s, 60 s after its last heartbeat\)/);
    assert.doesNotMatch(second.stderr, /^\s+at |node:internal/m);
    assert.deepEqual(await trialsOf(probe, 'exp'), before, 'the refused run changed no trial (running ones stay with the first run)');
    assert.deepEqual(await probe.getLease(e.id), lease);
    // Reading commands still work while it runs.
    const ls = runTsnas(['ls', '--storage', `sqlite:${path}`]);
    assert.equal(ls.code, 0, ls.stderr);
    await probe.close();

    first.child.kill('SIGKILL');
    await first.exited;
    const resumed = runTsnas(args('parts.db'));
    assert.equal(resumed.code, 0, resumed.stderr);
    const whole = runTsnas(args('whole.db'));
    assert.equal(whole.code, 0, whole.stderr);
    const a = await openStore(`sqlite:${join(dir, 'whole.db')}`, { readOnly: true });
    const b = await openStore(`sqlite:${path}`, { readOnly: true });
    try {
      const strip = (rows: unknown[][]) => rows.map((r) => r.slice(0, 4));
      const fa = strip(await trialsOf(a, 'exp'));
      assert.equal(fa.length, 300);
      assert.deepEqual(strip(await trialsOf(b, 'exp')), fa);
      assert.equal(await b.getLease((await b.getExperiment('exp'))!.id), null, 'released at the end');
    } finally {
      await a.close();
      await b.close();
    }
  } finally {
    first.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('runExperiment: a concurrent second run of the same experiment in one process is refused; a finished run leaves the lease free', async () => {
  const store = await openStore('sqlite::memory:');
  try {
    const config = checkConfig({ name: 'exp', seed: 1, estimator: { kind: 'benchmark' }, strategy: { name: 'random' }, budget: { trials: 40 }, batch: 2 });
    const running = runExperiment({ store, config });
    let refused: unknown;
    // The second starts once the first holds the lease.
    for (let i = 0; i < 1000 && !refused; i++) {
      await sleep(5);
      const e = await store.getExperiment('exp');
      if (e && (await store.getLease(e.id))) refused = await runExperiment({ store, config }).then(() => 'accepted', (err: unknown) => err);
    }
    assert.ok(refused instanceof TsnasError, `expected a refusal, got ${String(refused)}`);
    assert.equal(refused.exitCode, 2);
    assert.match(refused.message, new RegExp(`pid ${process.pid} on host`));
    const result = await running;
    assert.equal(result.finished, true);
    assert.equal(await store.getLease(result.experimentId), null);
    // Free again: a later run of the finished experiment is accepted.
    assert.equal((await runExperiment({ store, config })).finished, true);
  } finally {
    await store.close();
  }
});

test('a run whose lease was taken over (it stalled past the expiry) stops before its next write, leaving the trial to the new holder', async () => {
  const store = await openStore('sqlite::memory:');
  try {
    const config = checkConfig({ name: 'stall', seed: 2, objectives: ['score'], strategy: { name: 'random' }, budget: { trials: 3 } });
    let taken: number | undefined;
    const estimator: TrialEstimator = {
      metrics: { score: 'max' },
      async evaluate() {
        if (taken === undefined) {
          // While the first trial runs, another process takes the experiment over (as once this one's lease expired).
          const e = (await store.getExperiment('stall'))!;
          const holder = (await store.getLease(e.id))!;
          const r = await store.acquireLease(e.id, { owner: 'other:1:x', host: 'other', pid: 1 }, { expireMs: 60_000, replacing: holder.owner });
          assert.ok(r.acquired);
          taken = (await store.listTrials(e.id, { states: ['running'] }))[0]!.id;
          // Long enough for this run's next renewal to find the lease gone.
          await sleep(300);
        }
        return { score: 1 };
      },
    };
    await assert.rejects(runExperiment({ store, config, estimator, leaseMs: 200 }), (e: unknown) => {
      assert.ok(e instanceof TsnasError, String(e));
      assert.match(e.message, /experiment 'stall': another process took its lease over .*; stopping without writing more/);
      return true;
    });
    const e = (await store.getExperiment('stall'))!;
    assert.equal((await store.getTrial(taken!))!.state, 'running', 'the trial was not finished by the run that lost the lease');
    assert.equal((await store.getLease(e.id))!.owner, 'other:1:x', 'and the new holder keeps the lease');
  } finally {
    await store.close();
  }
});
