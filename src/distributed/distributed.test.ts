// Many-machine search over PostgreSQL with a pg-boss queue: a coordinator
// (runExperiment with execution.queue pgboss, in this process or as a CLI
// child) and workers (`tsnas worker` children, or runWorker in this
// process) on a throwaway PostgreSQL server.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { checkConfig, type ExperimentConfig } from '../experiment/config.js';
import { configSpace } from '../experiment/estimators.js';
import { createStrategy } from '../strategies/index.js';
import { runExperiment } from '../experiment/run.js';
import { summarizeExperiment } from '../experiment/summary.js';
import { openStore } from '../store/index.js';
import { findPostgresBinDir, usePostgresForTests } from '../testing/postgres.js';
import type { Store, Trial } from '../store/types.js';
import { memory } from '../tensor/index.js';
import { lastJson, startTsnas, type TsnasProcess } from '../testing/cli.js';
import { queueEvaluator } from './coordinator.js';
import { trialQueueName } from './queue.js';
import { runWorker } from './worker.js';

const available = process.env.TSNAS_PG_URL !== undefined || findPostgresBinDir() !== null;
async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function fingerprint(store: Store, name: string) {
  const e = (await store.getExperiment(name))!;
  const summary = await summarizeExperiment(store, name);
  return { status: e.status, best: summary.bestArchitecture?.arch, trials: (await store.listTrials(e.id)).map((t) => [t.number, t.sampleHash, t.state, t.metrics]) };
}

/** The same config run here on SQLite (no queue): the reference results. */
async function localRun(config: ExperimentConfig) {
  const { execution: _execution, ...local } = config;
  const store = await openStore('sqlite::memory:');
  try {
    await runExperiment({ store, config: local as ExperimentConfig });
    return await fingerprint(store, config.name!);
  } finally {
    await store.close();
  }
}

describe('many-machine search over pg-boss', { skip: available ? false : 'no PostgreSQL binaries (install Debian package postgresql) and no TSNAS_PG_URL' }, () => {
  const pgTest = usePostgresForTests('tsnas_dist');

  async function freshStore(): Promise<{ store: Store; url: string; bossSchema: string; dispose: () => Promise<void> }> {
    const schema = await pgTest.freshSchema();
    const store = await openStore(schema.url);
    const bossSchema = `${schema.schema}_pgboss`;
    return {
      store,
      url: schema.url,
      bossSchema,
      dispose: async () => {
        await store.close();
        await pgTest.admin().query(`DROP SCHEMA IF EXISTS ${bossSchema} CASCADE`);
        await schema.dispose();
      },
    };
  }

  /** Jobs of an experiment's queue: how each ended and what the worker reported. */
  async function jobsOf(bossSchema: string, experimentId: number) {
    const rows = await pgTest.admin().query<{ state: string; output: { trialId?: number | null; workerId?: string; state?: string } | null }>(
      `SELECT state, output FROM ${bossSchema}.job WHERE name = $1`,
      [trialQueueName(experimentId)],
    );
    return rows.rows;
  }

  const benchmarkConfig = (name: string, trials: number) =>
    checkConfig({
      name, seed: 6, estimator: { kind: 'benchmark' }, budget: { trials }, batch: 4,
      strategy: { name: 'evolution', options: { population: 8, sampleSize: 3 } },
      execution: { queue: 'pgboss', inFlight: 4, staleSeconds: 20 },
    });

  it('config errors: queue pgboss on SQLite, an unknown queue, a worker on SQLite', async () => {
    const store = await openStore('sqlite::memory:');
    try {
      await assert.rejects(runExperiment({ store, config: benchmarkConfig('e', 4) }), (e: Error & { code?: string; where?: string }) => {
        assert.equal(e.code, 'config');
        assert.equal(e.where, 'execution.queue');
        assert.match(e.message, /postgres/);
        return true;
      });
    } finally {
      await store.close();
    }
    assert.throws(() => checkConfig({ execution: { queue: 'redis' } }), /execution\.queue.*expected one of local, pgboss, found "redis"/);
    assert.throws(() => checkConfig({ execution: { queue: 'pgboss', inFlight: 0 } }), /execution\.inFlight/);
    const dir = mkdtempSync(join(tmpdir(), 'tsnas-dist-'));
    try {
      const search = startTsnas(['search', '--name', 'e', '--storage', `sqlite:${join(dir, 'x.db')}`, '--execution.queue', 'pgboss', '--quiet']);
      assert.equal((await search.exited).code, 2);
      assert.match(search.output(), /execution\.queue/);
      const worker = startTsnas(['worker', '--storage', `sqlite:${join(dir, 'x.db')}`]);
      assert.equal((await worker.exited).code, 2);
      assert.match(worker.output(), /--storage.*PostgreSQL/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('nb201 benchmark: two worker processes run every trial; results equal a local run', async () => {
    const config = benchmarkConfig('bench', 24);
    const { store, url, bossSchema, dispose } = await freshStore();
    const workers = ['wa', 'wb'].map((id) => startTsnas(['worker', '--storage', url, '--id', id, '--threads', '1']));
    try {
      const tensors = memory().numTensors;
      const started = Date.now();
      const r = await runExperiment({ store, config, storageUrl: url, queueEvaluator });
      const seconds = (Date.now() - started) / 1000;
      assert.equal(r.finished, true);
      assert.equal(memory().numTensors, tensors);
      const trials = await store.listTrials(r.experimentId);
      assert.equal(trials.length, 24);
      const byWorker = new Map<string, number>();
      for (const t of trials) {
        assert.equal(t.state, 'complete');
        assert.match(t.workerId ?? '', /^w[ab]\/0$/, `trial ${t.number} finished by ${t.workerId}`);
        byWorker.set(t.workerId!, (byWorker.get(t.workerId!) ?? 0) + 1);
      }
      console.log(`# 24 trials, inFlight 4, 2 worker processes: ${seconds.toFixed(1)} s; per worker ${JSON.stringify(Object.fromEntries(byWorker))}`);
      assert.deepEqual(await fingerprint(store, 'bench'), await localRun(config));
      // One job per trial, each completed by the worker that ran it.
      const jobs = await jobsOf(bossSchema, r.experimentId);
      const ran = jobs.filter((j) => j.state === 'completed' && j.output?.trialId != null).map((j) => j.output!.trialId!).sort((a, b) => a - b);
      assert.deepEqual(ran, trials.map((t) => t.id));
    } finally {
      for (const w of workers) w.child.kill('SIGINT');
      const ends = await Promise.all(workers.map((w) => w.exited));
      await dispose();
      // Ctrl-C of an idle worker: a clean stop, exit code 130.
      assert.deepEqual(ends.map((e) => e.code), [130, 130], workers.map((w) => w.output()).join('\n'));
    }
  });

  it('a worker SIGKILLed mid-trial: its training trial is finished by another worker', async () => {
    const config = checkConfig({
      name: 'train', seed: 2, strategy: { name: 'random' }, budget: { trials: 2 }, threads: 1,
      estimator: { kind: 'training', epochs: 2, batch: 32, lr: 0.05, resolution: 12 },
      dataset: { limitTrain: 1200, validFraction: 0.2 },
      execution: { queue: 'pgboss', inFlight: 1, staleSeconds: 4 },
    });
    const { store, url, dispose } = await freshStore();
    const doomed = startTsnas(['worker', '--storage', url, '--id', 'doomed', '--threads', '1']);
    let rescuer: TsnasProcess | undefined;
    try {
      const run = runExperiment({ store, config, storageUrl: url, queueEvaluator });
      const victim = await waitFor('a trial running on the doomed worker', async () => {
        const e = await store.getExperiment('train');
        return e && (await store.listTrials(e.id, { states: ['running'] })).find((t) => t.workerId === 'doomed/0');
      });
      doomed.child.kill('SIGKILL');
      assert.equal((await doomed.exited).signal, 'SIGKILL');
      rescuer = startTsnas(['worker', '--storage', url, '--id', 'rescuer', '--threads', '1', '--once']);
      const r = await run;
      assert.equal(r.finished, true);
      const trials = await store.listTrials(r.experimentId);
      assert.deepEqual(trials.map((t) => [t.state, t.workerId]), [['complete', 'rescuer/0'], ['complete', 'rescuer/0']]);
      assert.equal(trials[0]!.id, victim.id);
      assert.deepEqual(trials[0]!.intermediate['valid_accuracy']!.map((p) => p.step), [1, 2]);
      // The experiment is finished: a --once worker exits by itself.
      assert.equal((await rescuer.exited).code, 0, rescuer.output());
    } finally {
      doomed.child.kill('SIGKILL');
      rescuer?.child.kill('SIGKILL');
      await dispose();
    }
  });

  it('Ctrl-C of a worker mid-trial puts the trial back at once; another worker runs it (in-process workers, no leaks)', async () => {
    const config = checkConfig({
      name: 'stop', seed: 4, strategy: { name: 'random' }, budget: { trials: 1 }, threads: 1,
      estimator: { kind: 'training', epochs: 2, batch: 32, lr: 0.05, resolution: 12 },
      dataset: { limitTrain: 1200, validFraction: 0.2 },
      // Stale detection far away: only the release can bring the trial back in time.
      execution: { queue: 'pgboss', inFlight: 1, staleSeconds: 600 },
    });
    const { store, url, dispose } = await freshStore();
    const tensors = memory().numTensors;
    try {
      const run = runExperiment({ store, config, storageUrl: url, queueEvaluator });
      const controller = new AbortController();
      const first = runWorker({ storageUrl: url, workerId: 'first', threads: 1, pollMs: 200, signal: controller.signal });
      const running = await waitFor('the trial running on the first worker', async () => {
        const e = await store.getExperiment('stop');
        return e && (await store.listTrials(e.id, { states: ['running'] })).find((t) => t.workerId === 'first/0');
      });
      controller.abort();
      const stopped = await first;
      assert.equal(stopped.interrupted, true);
      assert.deepEqual(stopped.released, [running.id]);
      assert.equal((await store.getTrial(running.id))!.state, 'pending');
      const second = await runWorker({ storageUrl: url, workerId: 'second', threads: 1, pollMs: 200, once: true });
      assert.equal(second.finished, 1);
      const r = await run;
      assert.equal(r.finished, true);
      const trial = (await store.getTrial(running.id))!;
      assert.equal(trial.state, 'complete');
      assert.equal(trial.workerId, 'second/0');
      assert.equal(memory().numTensors, tensors);
    } finally {
      await dispose();
    }
  });

  it('morphism: each job carries its trial\'s metadata and the weights directory, so children inherit as in a local run', async () => {
    const config = checkConfig({
      name: 'grow', seed: 2, threads: 1,
      space: { name: 'chain', options: { maxDepth: 4, filters: [4, 8], kernels: [1, 3] } },
      strategy: { name: 'morphism', options: { children: 2, morphismsPerChild: 2, start: 'conv:1:4:relu' } },
      estimator: { kind: 'training', epochs: 1, batch: 16, resolution: 8 },
      dataset: { limitTrain: 32, validFraction: 0.25 },
      budget: { trials: 3 },
      execution: { queue: 'pgboss', inFlight: 1 },
    });
    const dirs = ['queued', 'local'].map((n) => mkdtempSync(join(tmpdir(), `tsnas-dist-morphism-${n}-`)));
    const { store, url, bossSchema, dispose } = await freshStore();
    const local = await openStore('sqlite::memory:');
    const tensors = memory().numTensors;
    try {
      const worker = runWorker({ storageUrl: url, workerId: 'w', threads: 1, pollMs: 200, once: true });
      const r = await runExperiment({ store, config, storageUrl: url, queueEvaluator, artifactsDir: dirs[0] });
      assert.equal((await worker).finished, 3);
      const { execution: _execution, ...localConfig } = config;
      await runExperiment({ store: local, config: localConfig as ExperimentConfig, artifactsDir: dirs[1] });
      const jobs = await pgTest.admin().query<{ data: { trialId: number; metadata?: unknown; weightsDir?: string } }>(
        `SELECT data FROM ${bossSchema}.job WHERE name = $1 ORDER BY created_on`, [trialQueueName(r.experimentId)]);
      assert.equal(jobs.rows.length, 3);
      for (const { data } of jobs.rows) assert.equal(data.weightsDir, join(dirs[0]!, 'weights'));
      const trials = await store.listTrials(r.experimentId);
      // Each job's metadata is what the strategy attached to its trial: replayed from the stored results.
      const space = configSpace(config);
      const replay = createStrategy('morphism', space, { seed: config.seed, ...(config.strategy.options as object) });
      const expected = trials.map((t) => {
        const [asked] = replay.ask(1);
        assert.equal(space.hash(asked!), t.sampleHash);
        const metadata = replay.trialMetadata!(asked!);
        replay.tell(asked!, t.metrics!);
        return [t.id, JSON.parse(JSON.stringify(metadata))];
      });
      replay.dispose();
      assert.deepEqual(jobs.rows.map(({ data }) => [data.trialId, data.metadata]), expected);
      assert.ok(expected.some(([, m]) => m.inherit !== undefined), 'a child with a lineage');
      const localTrials = await local.listTrials((await local.getExperiment('grow'))!.id);
      // Kept weights (keepWeights reached the estimator), and the metrics of a child trained from its parent's weights.
      for (const t of trials) assert.ok(existsSync(join(dirs[0]!, 'weights', `${t.sampleHash}.safetensors`)), `trial ${t.number} kept no weights`);
      const withoutTime = (ts: Trial[]) => ts.map((t) => {
        const { train_seconds: _, ...metrics } = t.metrics ?? {};
        return [t.number, t.sampleHash, t.state, metrics];
      });
      assert.deepEqual(withoutTime(trials), withoutTime(localTrials));
      assert.equal(memory().numTensors, tensors);
    } finally {
      await local.close();
      await dispose();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });

  it('a trial whose worker went silent is requeued and run by another; the silent worker cannot finish it afterwards', async () => {
    const config = checkConfig({
      name: 'silent', seed: 1, strategy: { name: 'random' }, estimator: { kind: 'benchmark' }, budget: { trials: 3 }, batch: 3,
      execution: { queue: 'pgboss', inFlight: 3, staleSeconds: 2 },
    });
    const { store, url, dispose } = await freshStore();
    try {
      const run = runExperiment({ store, config, storageUrl: url, queueEvaluator });
      // A worker that claims a trial and then never heartbeats (a frozen machine).
      const frozen = await waitFor('a pending trial to claim', async () => {
        const e = await store.getExperiment('silent');
        return e && (await store.listTrials(e.id, { states: ['pending'] })).length === 3 && store.claimTrial(e.id, 'frozen');
      });
      await waitFor('the frozen trial requeued', async () => (await store.getTrial(frozen.id))!.state === 'pending');
      const worker = await runWorker({ storageUrl: url, workerId: 'live', pollMs: 200, once: true, threads: 1 });
      assert.equal(worker.finished, 3);
      const r = await run;
      assert.equal(r.counts['complete'], 3);
      await assert.rejects(store.finishTrial(frozen.id, { state: 'complete', metrics: { accuracy: 1 } }, { workerId: 'frozen' }), /finished|held/);
      const trial = (await store.getTrial(frozen.id))!;
      assert.equal(trial.workerId, 'live/0');
      assert.notEqual(trial.metrics!['accuracy'], 1);
    } finally {
      await dispose();
    }
  });

  it('Ctrl-C of the coordinator: exit 130, its trial taken back from the worker, no job left queued; the same command finishes', async () => {
    const config = checkConfig({
      name: 'halt', seed: 5, strategy: { name: 'random' }, budget: { trials: 2 }, threads: 1,
      estimator: { kind: 'training', epochs: 2, batch: 32, lr: 0.05, resolution: 12 },
      dataset: { limitTrain: 1200, validFraction: 0.2 },
      execution: { queue: 'pgboss', inFlight: 1, staleSeconds: 4 },
    });
    const { store, url, bossSchema, dispose } = await freshStore();
    const dir = mkdtempSync(join(tmpdir(), 'tsnas-dist-'));
    const file = join(dir, 'halt.json');
    writeFileSync(file, JSON.stringify({ ...config, constraints: [], objectives: ['accuracy'] }));
    const lines: string[] = [];
    const controller = new AbortController();
    const worker = runWorker({ storageUrl: url, workerId: 'w', threads: 1, pollMs: 200, signal: controller.signal, log: (l) => lines.push(l) });
    try {
      const first = startTsnas(['search', '--config', file, '--storage', url, '--quiet']);
      const running = await waitFor('a trial running on the worker', async () => {
        const e = await store.getExperiment('halt');
        return e && (await store.listTrials(e.id, { states: ['running'] }))[0];
      });
      first.child.kill('SIGINT');
      assert.equal((await first.exited).code, 130, first.output());
      const e = (await store.getExperiment('halt'))!;
      assert.equal(e.status, 'stopped');
      assert.equal((await store.getTrial(running.id))!.state, 'pending');
      // Stopped at its next heartbeat, or, if it ended first, its result refused by the store.
      await waitFor('the worker to give up the taken-back trial', async () =>
        lines.some((l) => l.includes(`trial ${running.id} was taken back`) || l.includes(`result of trial ${running.id} dropped`)),
        30_000,
      ).catch((e: Error) => assert.fail(`${e.message}; worker log:\n${lines.join('\n')}`));
      assert.equal((await store.getTrial(running.id))!.state, 'pending');
      const queued = await pgTest.admin().query(`SELECT count(*)::int AS n FROM ${bossSchema}.job WHERE name = $1 AND state IN ('created', 'retry')`, [trialQueueName(e.id)]);
      assert.equal(queued.rows[0].n, 0);
      const second = startTsnas(['search', '--config', file, '--storage', url, '--quiet']);
      assert.equal((await second.exited).code, 0, second.output());
      const trials = await store.listTrials(e.id);
      assert.deepEqual(trials.map((t) => [t.state, t.workerId]), [['complete', 'w/0'], ['complete', 'w/0']]);
    } finally {
      controller.abort();
      await worker;
      rmSync(dir, { recursive: true, force: true });
      await dispose();
    }
  });

  it('a coordinator killed and restarted resumes: same trials as a local run, no job sent twice', async () => {
    const config = benchmarkConfig('resume', 32);
    const { store, url, bossSchema, dispose } = await freshStore();
    const dir = mkdtempSync(join(tmpdir(), 'tsnas-dist-'));
    const file = join(dir, 'resume.json');
    writeFileSync(file, JSON.stringify({ ...config, constraints: [], objectives: ['accuracy'] }));
    const controller = new AbortController();
    const worker = runWorker({ storageUrl: url, workerId: 'inproc', threads: 1, pollMs: 200, signal: controller.signal });
    try {
      const first = startTsnas(['search', '--config', file, '--storage', url, '--quiet']);
      await waitFor('8 trials complete', async () => {
        const e = await store.getExperiment('resume');
        return e && (await store.countTrials(e.id)).complete >= 8;
      });
      first.child.kill('SIGKILL');
      await first.exited;
      const second = startTsnas(['search', '--config', file, '--storage', url, '--quiet', '--json']);
      const end = await second.exited;
      assert.equal(end.code, 0, second.output());
      const summary = lastJson(second.stdout()) as { finished: boolean; told: number };
      assert.equal(summary.finished, true);
      assert.equal(summary.told, 32);
      assert.deepEqual(await fingerprint(store, 'resume'), await localRun(config));
      const e = (await store.getExperiment('resume'))!;
      const trials = await store.listTrials(e.id);
      assert.ok(trials.every((t) => t.workerId === 'inproc/0'));
      const jobs = await jobsOf(bossSchema, e.id);
      const ran = jobs.filter((j) => j.output?.trialId != null).map((j) => j.output!.trialId!).sort((a, b) => a - b);
      assert.deepEqual(ran, trials.map((t) => t.id), 'each trial ran from exactly one job');
    } finally {
      controller.abort();
      await worker;
      rmSync(dir, { recursive: true, force: true });
      await dispose();
    }
  });

  it('PostgreSQL restarted under a coordinator and two worker processes: the workers ride it out, the coordinator rides it out or stops with a clear error; the same command ends with the trials of a local run', async () => {
    const config = checkConfig({ ...benchmarkConfig('restart', 60), execution: { queue: 'pgboss', inFlight: 4, staleSeconds: 3 } });
    const { store, url, dispose } = await freshStore();
    const dir = mkdtempSync(join(tmpdir(), 'tsnas-dist-'));
    const file = join(dir, 'restart.json');
    writeFileSync(file, JSON.stringify({ ...config, constraints: [], objectives: ['accuracy'] }));
    const workers = ['wa', 'wb'].map((id) => startTsnas(['worker', '--storage', url, '--id', id, '--threads', '1', '--once']));
    const noTrace = (output: string) => assert.doesNotMatch(output, /^\s+at |node:internal|Unhandled/m, output);
    try {
      const first = startTsnas(['search', '--config', file, '--storage', url, '--quiet']);
      const done = await waitFor('8 trials complete', async () => {
        const e = await store.getExperiment('restart').catch(() => null);
        const n = e ? (await store.countTrials(e.id)).complete : 0;
        return n >= 8 && n;
      });
      assert.ok(done < 60, 'the run ended before the restart');
      await pgTest.server().stopServer();
      await sleep(500);
      await pgTest.server().startServer();
      await pgTest.reconnectAdmin();
      const end = await first.exited;
      noTrace(first.output());
      if (end.code !== 0) {
        assert.equal(end.code, 1, first.output());
        assert.match(first.stderr(), /lost the connection to the PostgreSQL store .*run the same command to resume/);
        const second = startTsnas(['search', '--config', file, '--storage', url, '--quiet']);
        assert.equal((await second.exited).code, 0, second.output());
      }
      // The experiment is finished: --once workers exit by themselves, having ridden the restart out.
      const ends = await Promise.all(workers.map((w) => w.exited));
      assert.deepEqual(ends.map((e) => e.code), [0, 0], workers.map((w) => w.output()).join('\n'));
      for (const w of workers) noTrace(w.output());
      console.log(`# restart after ${done} trials: coordinator exit ${end.code}`);
      assert.deepEqual(await fingerprint(store, 'restart'), await localRun(config));
    } finally {
      for (const w of workers) w.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      await dispose();
    }
  });
});
