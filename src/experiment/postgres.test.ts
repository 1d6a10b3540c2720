// The experiment loop against PostgreSQL: a full run (parallel workers) and
// a stopped-and-resumed run end with the same trials as on SQLite. The
// server is a throwaway one (src/testing/postgres.ts) or TSNAS_PG_URL;
// the tests skip only when no PostgreSQL binaries are installed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runTsnas, startTsnas } from '../testing/cli.js';
import { openStore } from '../store/index.js';
import { findPostgresBinDir, usePostgresForTests } from '../testing/postgres.js';
import type { Store } from '../store/types.js';
import { checkConfig, type ExperimentConfig } from './config.js';
import { runExperiment } from './run.js';
import { summarizeExperiment } from './summary.js';

const available = process.env.TSNAS_PG_URL !== undefined || findPostgresBinDir() !== null;

describe('experiment loop on PostgreSQL', { skip: available ? false : 'no PostgreSQL binaries (install Debian package postgresql) and no TSNAS_PG_URL' }, () => {
  const pgTest = usePostgresForTests('tsnas_exp');

  /** A store in a fresh schema (selected through the URL's search_path option). */
  async function freshStore(): Promise<{ store: Store; dispose: () => Promise<void> }> {
    const schema = await pgTest.freshSchema();
    const store = await openStore(schema.url);
    assert.equal(store.kind, 'postgres');
    return {
      store,
      dispose: async () => {
        await store.close();
        await schema.dispose();
      },
    };
  }

  async function fingerprint(store: Store, name: string) {
    const e = (await store.getExperiment(name))!;
    const summary = await summarizeExperiment(store, name);
    return { status: e.status, best: summary.bestArchitecture?.arch, trials: (await store.listTrials(e.id)).map((t) => [t.number, t.sampleHash, t.state, t.metrics]) };
  }

  const config = (overrides: Record<string, unknown>): ExperimentConfig =>
    checkConfig({ name: 'exp', seed: 6, estimator: { kind: 'benchmark' }, constraints: ['params <= 1e6'], budget: { trials: 60 }, ...overrides });

  async function onSqlite(c: ExperimentConfig) {
    const store = await openStore('sqlite::memory:');
    try {
      await runExperiment({ store, config: c });
      return await fingerprint(store, 'exp');
    } finally {
      await store.close();
    }
  }

  it('a full run with parallel workers gives the trials of SQLite', async () => {
    const c = config({ strategy: { name: 'evolution', options: { population: 10, sampleSize: 3 } }, parallel: 3, threads: 3 });
    const { store, dispose } = await freshStore();
    try {
      const r = await runExperiment({ store, config: c });
      assert.equal(r.finished, true);
      assert.ok(r.counts['pruned']! > 0 && r.counts['complete']! > 0);
      assert.deepEqual(await fingerprint(store, 'exp'), await onSqlite(c));
    } finally {
      await dispose();
    }
  });

  for (const [label, overrides] of [
    ['reinforce', { strategy: { name: 'reinforce', options: { batch: 4 } }, batch: 2 }],
    ['predictor-guided bo', { strategy: { name: 'bo', options: { initial: 8, ensemble: 2, randomCandidates: 20, mutationCandidates: 10 } }, estimator: { type: 'predictor', model: 'gp', warmup: 10, candidates: 30, topK: 4, then: { type: 'benchmark' } }, budget: { trials: 30 } }],
  ] as const) {
    it(`a stopped and resumed run (${label}) ends with the trials of an uninterrupted SQLite run`, async () => {
      const c = config(overrides as Record<string, unknown>);
      const { store, dispose } = await freshStore();
      try {
        const first = await runExperiment({ store, config: c, stopAfter: 7 });
        assert.equal(first.finished, false);
        assert.equal((await store.getExperiment('exp'))!.status, 'stopped');
        for (let i = 0; i < 20 && !(await runExperiment({ store, config: c, stopAfter: 9 })).finished; i++);
        assert.deepEqual(await fingerprint(store, 'exp'), await onSqlite(c));
      } finally {
        await dispose();
      }
    });
  }

  it('PostgreSQL restarted mid-run: the run stops with a clear error (exit 1, no stack trace), and the same command resumes to the trials of an uninterrupted run', async () => {
    const schema = await pgTest.freshSchema();
    const dir = mkdtempSync(join(tmpdir(), 'tsnas-pgrestart-'));
    const args = (storage: string) => ['search', '--name', 'exp', '--storage', storage, '--quiet', '--seed', '3', '--strategy', 'evolution',
      '--strategy.options', '{population: 10, sampleSize: 3}', '--space', 'nb201', '--benchmark', 'nb201:cifar10', '--budget', '400', '--batch', '2', '--threads', '1'];
    const trialsOf = async (store: Store) => (await store.listTrials((await store.getExperiment('exp'))!.id)).map((t) => [t.number, t.sampleHash, t.state, t.metrics]);
    try {
      const run = startTsnas(args(schema.url));
      // Stopped once some trials are in: a restart in the middle of the run.
      for (let done = 0; done < 10 && run.child.exitCode === null; await sleep(20)) {
        const probe = await openStore(schema.url, { readOnly: true }).catch(() => undefined);
        const e = await probe?.getExperiment('exp').catch(() => null);
        if (e) done = (await probe!.countTrials(e.id)).complete;
        await probe?.close();
      }
      await pgTest.server().stopServer();
      const end = await run.exited;
      await pgTest.server().startServer();
      await pgTest.reconnectAdmin();
      assert.equal(end.code, 1, run.output());
      assert.match(run.stderr(), /tsnas search: error: lost the connection to the PostgreSQL store postgresql:\/\/.*; what was written before is kept: once the server is back, run the same command to resume/);
      assert.doesNotMatch(run.stderr(), /^\s+at |node:internal/m);

      const resumed = runTsnas(args(schema.url));
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stderr, /resuming at \d+\/400 trials/);
      const whole = runTsnas(args(`sqlite:${join(dir, 'whole.db')}`));
      assert.equal(whole.code, 0, whole.stderr);
      const a = await openStore(`sqlite:${join(dir, 'whole.db')}`, { readOnly: true });
      const b = await openStore(schema.url, { readOnly: true });
      try {
        const expected = await trialsOf(a);
        assert.equal(expected.length, 400);
        assert.deepEqual(await trialsOf(b), expected);
      } finally {
        await a.close();
        await b.close();
      }
    } finally {
      await pgTest.server().startServer();
      rmSync(dir, { recursive: true, force: true });
      await schema.dispose();
    }
  });
});
