// The one test suite every store backend must pass (see types.ts for the
// contract it checks). A backend's test file calls runStoreSuite with a
// factory of fresh, empty storages.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TsnasError } from '../errors.js';
import { openStore } from './index.js';
import type { Checkpoint, CheckpointInput, Experiment, Json, Store, Trial } from './types.js';

export interface FreshStorage {
  /** A storage URL for openStore; opening it several times gives connections to the same store. */
  readonly url: string;
  /** Removes the storage after the test (its stores are already closed). */
  dispose(): Promise<void>;
  /**
   * Makes the database itself refuse every insert into and update of
   * `table` (a trigger raising "refused by test"), so that a test can fail a
   * transaction half-way. Returns the function that undoes it.
   */
  refuseWrites(table: string): Promise<() => Promise<void>>;
}

/** Bytes filled from a fixed xorshift stream, so that any misplaced byte shows. */
function patternBytes(length: number, seed: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(length / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return new Uint8Array(words.buffer, 0, length);
}

/** Compares bytes without printing them (a failing deepEqual on megabytes prints megabytes). */
function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assert.ok(actual instanceof Uint8Array, `${what}: expected a Uint8Array, got ${typeof actual}`);
  assert.equal(actual.byteLength, expected.byteLength, `${what}: byte length`);
  assert.equal(Buffer.compare(actual, expected), 0, `${what}: bytes differ`);
}

function assertCheckpoint(actual: Checkpoint | null, expected: CheckpointInput, what: string): void {
  assert.ok(actual, `${what}: no checkpoint`);
  assert.equal(actual.stage, expected.stage, `${what}: stage`);
  assert.equal(actual.epoch, expected.epoch, `${what}: epoch`);
  assert.deepEqual(actual.state, expected.state, `${what}: state`);
  assertSameBytes(actual.data, expected.data, `${what}: data`);
}

async function rejectsWithCode(promise: Promise<unknown>, code: TsnasError['code'], pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof TsnasError, `expected a TsnasError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    return true;
  });
}

export function runStoreSuite(name: string, openFreshStorage: () => Promise<FreshStorage>): void {
  /** Runs body with a store on a fresh storage (and a way to open more connections to it), closing everything after. */
  async function withStore(body: (store: Store, connect: () => Promise<Store>, storage: FreshStorage) => Promise<void>): Promise<void> {
    const storage = await openFreshStorage();
    const opened: Store[] = [];
    const connect = async (): Promise<Store> => {
      const store = await openStore(storage.url);
      opened.push(store);
      return store;
    };
    try {
      await body(await connect(), connect, storage);
    } finally {
      for (const store of opened) await store.close();
      await storage.dispose();
    }
  }

  async function experimentWithTrials(store: Store, count: number, experimentName = 'exp'): Promise<{ experiment: Experiment; trials: Trial[] }> {
    const experiment = await store.createExperiment(experimentName, { seed: 1 });
    const trials: Trial[] = [];
    for (let i = 0; i < count; i++) trials.push((await store.createTrial(experiment.id, { op: `conv${i}`, depth: i }, `h${i}`)).trial);
    return { experiment, trials };
  }

  describe(`store contract: ${name}`, () => {
    it('creates, finds, lists, updates and deletes experiments', () =>
      withStore(async (store) => {
        const before = Date.now();
        const config: Json = { space: { name: 'nb201', options: { cells: 3 } }, zeta: [1, 2.5, 'x', null, true], alpha: 'first?' };
        const a = await store.createExperiment('alpha', config);
        const b = await store.createExperiment('beta', null);
        assert.equal(a.name, 'alpha');
        assert.equal(a.status, 'created');
        assert.deepEqual(a.config, config);
        // Key order is part of what the user wrote; the store keeps it.
        assert.deepEqual(Object.keys(a.config as object), ['space', 'zeta', 'alpha']);
        assert.ok(a.createdAt >= before - 1000 && a.createdAt <= Date.now() + 1000, `createdAt ${a.createdAt} is not about now`);
        assert.notEqual(a.id, b.id);

        assert.deepEqual(await store.getExperiment('alpha'), a);
        assert.deepEqual(await store.getExperimentById(b.id), b);
        assert.equal(await store.getExperiment('gamma'), null);
        assert.equal(await store.getExperimentById(a.id + b.id + 100), null);
        assert.deepEqual((await store.listExperiments()).map((e) => e.name), ['alpha', 'beta']);

        await rejectsWithCode(store.createExperiment('alpha', {}), 'state', /"alpha" already exists/);
        await rejectsWithCode(store.createExperiment('', {}), 'usage', /experiment name/);

        await store.setExperimentStatus(a.id, 'running');
        assert.equal((await store.getExperiment('alpha'))!.status, 'running');
        await rejectsWithCode(store.setExperimentStatus(a.id + b.id + 100, 'finished'), 'state', /does not exist/);
        await rejectsWithCode(store.setExperimentStatus(a.id, 'bogus' as never), 'usage', /status must be one of/);

        const trial = (await store.createTrial(a.id, { x: 1 }, 'hx')).trial;
        await store.saveStrategyState(a.id, { population: [] }, 0);
        assert.equal(await store.deleteExperiment('alpha'), true);
        assert.equal(await store.deleteExperiment('alpha'), false);
        assert.equal(await store.getExperiment('alpha'), null);
        assert.equal(await store.getTrial(trial.id), null, 'trials go with their experiment');
        assert.equal(await store.loadStrategyState(a.id), null, 'strategy state goes with its experiment');
        assert.deepEqual((await store.listExperiments()).map((e) => e.name), ['beta']);
      }));

    it('creates pending trials numbered 0, 1, 2 per experiment and deduplicates by sample hash', () =>
      withStore(async (store) => {
        const e1 = await store.createExperiment('one', {});
        const e2 = await store.createExperiment('two', {});
        const before = Date.now();
        const sample = { cell: ['conv3x3', 'skip'], depth: 4, width: 16.5 };
        const first = await store.createTrial(e1.id, sample, 'hash-a');
        assert.equal(first.created, true);
        const t = first.trial;
        assert.equal(t.experimentId, e1.id);
        assert.equal(t.number, 0);
        assert.equal(t.state, 'pending');
        assert.deepEqual(t.sample, sample);
        assert.equal(t.sampleHash, 'hash-a');
        assert.equal(t.metrics, null);
        assert.deepEqual(t.intermediate, {});
        assert.deepEqual(t.artifacts, {});
        assert.equal(t.workerId, null);
        assert.equal(t.heartbeatAt, null);
        assert.equal(t.startedAt, null);
        assert.equal(t.finishedAt, null);
        assert.equal(t.error, null);
        assert.ok(t.createdAt >= before - 1000 && t.createdAt <= Date.now() + 1000);

        const duplicate = await store.createTrial(e1.id, { different: 'sample' }, 'hash-a');
        assert.equal(duplicate.created, false);
        assert.deepEqual(duplicate.trial, t, 'the existing trial comes back unchanged');

        // The duplicate did not use up a number.
        assert.equal((await store.createTrial(e1.id, { n: 1 }, 'hash-b')).trial.number, 1);
        assert.equal((await store.createTrial(e1.id, { n: 2 }, 'hash-c')).trial.number, 2);
        // Hashes and numbers are per experiment.
        const other = await store.createTrial(e2.id, sample, 'hash-a');
        assert.equal(other.created, true);
        assert.equal(other.trial.number, 0);
        assert.notEqual(other.trial.id, t.id);

        assert.deepEqual(await store.getTrial(t.id), t);
        assert.deepEqual(await store.getTrialByHash(e1.id, 'hash-a'), t);
        assert.equal(await store.getTrialByHash(e1.id, 'nope'), null);
        assert.equal(await store.getTrial(t.id + 1000), null);
        await rejectsWithCode(store.createTrial(e2.id + e1.id + 100, {}, 'h'), 'state', /experiment \d+ does not exist/);
        await rejectsWithCode(store.createTrial(e1.id, {}, ''), 'usage', /sample hash/);
      }));

    it('gives concurrent creators of one hash one trial, and distinct hashes gapless numbers', () =>
      withStore(async (store, connect) => {
        const other = await connect();
        const e = await store.createExperiment('e', {});
        const same = await Promise.all(
          Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? store : other).createTrial(e.id, { i }, 'shared')),
        );
        assert.equal(same.filter((r) => r.created).length, 1);
        assert.equal(new Set(same.map((r) => r.trial.id)).size, 1);
        const distinct = await Promise.all(
          Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? store : other).createTrial(e.id, { i }, `h${i}`)),
        );
        assert.ok(distinct.every((r) => r.created));
        assert.deepEqual(
          distinct.map((r) => r.trial.number).sort((a, b) => a - b),
          Array.from({ length: 12 }, (_, i) => i + 1),
        );
      }));

    it('claims the lowest-numbered pending trial and marks it running for its worker', () =>
      withStore(async (store) => {
        const { experiment, trials } = await experimentWithTrials(store, 3);
        const elsewhere = await experimentWithTrials(store, 1, 'elsewhere');
        const before = Date.now();
        const claimed = await store.claimTrial(experiment.id, 'worker-1');
        assert.ok(claimed);
        assert.equal(claimed.id, trials[0]!.id);
        assert.equal(claimed.state, 'running');
        assert.equal(claimed.workerId, 'worker-1');
        assert.ok(claimed.heartbeatAt !== null && claimed.heartbeatAt >= before - 1000);
        assert.ok(claimed.startedAt !== null && claimed.startedAt >= before - 1000);
        assert.deepEqual(claimed.sample, trials[0]!.sample);
        assert.equal((await store.claimTrial(experiment.id, 'worker-2'))!.id, trials[1]!.id);
        assert.equal((await store.claimTrial(experiment.id, 'worker-1'))!.id, trials[2]!.id);
        assert.equal(await store.claimTrial(experiment.id, 'worker-1'), null, 'nothing left to claim');
        assert.equal((await store.getTrial(elsewhere.trials[0]!.id))!.state, 'pending', 'claims stay in their experiment');
        assert.deepEqual(await store.countTrials(experiment.id), { pending: 0, running: 3, complete: 0, failed: 0, pruned: 0 });
      }));

    it('claims a named trial only if it is a pending trial of the experiment', () =>
      withStore(async (store) => {
        const { experiment, trials } = await experimentWithTrials(store, 3);
        const elsewhere = await experimentWithTrials(store, 1, 'elsewhere');
        const claimed = await store.claimTrial(experiment.id, 'w1', { trialId: trials[2]!.id });
        assert.equal(claimed?.id, trials[2]!.id, 'the named trial, not the lowest pending one');
        assert.equal(claimed.workerId, 'w1');
        assert.equal(await store.claimTrial(experiment.id, 'w2', { trialId: trials[2]!.id }), null, 'already running');
        assert.equal(await store.claimTrial(experiment.id, 'w2', { trialId: elsewhere.trials[0]!.id }), null, 'another experiment\'s');
        assert.equal((await store.getTrial(elsewhere.trials[0]!.id))!.state, 'pending');
        assert.equal((await store.claimTrial(experiment.id, 'w2'))!.id, trials[0]!.id);
      }));

    it('never gives one trial to two of 20 concurrent claimers', () =>
      withStore(async (store, connect) => {
        const connections = [store, await connect(), await connect()];
        const { experiment, trials } = await experimentWithTrials(store, 10);
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => connections[i % connections.length]!.claimTrial(experiment.id, `worker-${i}`)),
        );
        const claimed = results.filter((t): t is Trial => t !== null);
        assert.equal(claimed.length, 10, 'every pending trial was claimed once');
        assert.deepEqual(
          claimed.map((t) => t.id).sort((a, b) => a - b),
          trials.map((t) => t.id).sort((a, b) => a - b),
        );
        // Each claimed trial is recorded as held by the worker that got it.
        for (const [i, t] of results.entries()) {
          if (t) assert.equal((await store.getTrial(t.id))!.workerId, `worker-${i}`);
        }
        assert.equal((await store.countTrials(experiment.id)).running, 10);
      }));

    it('refreshes heartbeats only for the worker that holds a running trial', () =>
      withStore(async (store) => {
        const { experiment, trials } = await experimentWithTrials(store, 2);
        const claimed = (await store.claimTrial(experiment.id, 'w1'))!;
        await sleep(20);
        assert.equal(await store.heartbeat(claimed.id, 'w1'), true);
        const beaten = (await store.getTrial(claimed.id))!;
        assert.ok(beaten.heartbeatAt! > claimed.heartbeatAt!, `heartbeat ${beaten.heartbeatAt} should be after ${claimed.heartbeatAt}`);
        assert.equal(await store.heartbeat(claimed.id, 'w2'), false, 'another worker');
        assert.equal(await store.heartbeat(trials[1]!.id, 'w1'), false, 'a pending trial');
        assert.equal(await store.heartbeat(trials[1]!.id + 1000, 'w1'), false, 'a missing trial');
        assert.equal((await store.getTrial(claimed.id))!.heartbeatAt, beaten.heartbeatAt);
      }));

    it('finishes trials as complete, failed or pruned', () =>
      withStore(async (store) => {
        const { experiment, trials } = await experimentWithTrials(store, 4);
        const t0 = (await store.claimTrial(experiment.id, 'w'))!;
        const t1 = (await store.claimTrial(experiment.id, 'w'))!;
        const t2 = (await store.claimTrial(experiment.id, 'w'))!;
        const before = Date.now();
        const metrics = { accuracy: 0.9134, params: 1_234_567, flops: 3.5e8, latency_ms: 0.125 };
        const done = await store.finishTrial(t0.id, { state: 'complete', metrics }, { workerId: 'w' });
        assert.equal(done.state, 'complete');
        assert.deepEqual(done.metrics, metrics);
        assert.equal(done.error, null);
        assert.equal(done.workerId, 'w', 'the worker that finished it stays recorded');
        assert.ok(done.finishedAt !== null && done.finishedAt >= before - 1000 && done.finishedAt <= Date.now() + 1000);
        assert.deepEqual(await store.getTrial(t0.id), done);

        const failed = await store.finishTrial(t1.id, { state: 'failed', error: 'CUDA out of memory\nat step 3' });
        assert.equal(failed.state, 'failed');
        assert.equal(failed.metrics, null);
        assert.equal(failed.error, 'CUDA out of memory\nat step 3');

        const pruned = await store.finishTrial(t2.id, { state: 'pruned', metrics: { accuracy: 0.1 }, reason: 'below median at epoch 2' });
        assert.equal(pruned.state, 'pruned');
        assert.deepEqual(pruned.metrics, { accuracy: 0.1 });
        assert.equal(pruned.error, 'below median at epoch 2');

        // A candidate rejected before it runs (e.g. by a constraint) goes straight from pending.
        const rejected = await store.finishTrial(trials[3]!.id, { state: 'pruned' });
        assert.equal(rejected.state, 'pruned');
        assert.equal(rejected.metrics, null);
        assert.equal(rejected.startedAt, null);
        assert.deepEqual(await store.countTrials(experiment.id), { pending: 0, running: 0, complete: 1, failed: 1, pruned: 2 });
      }));

    it('refuses bad outcomes and finishing by a worker that does not hold the trial', () =>
      withStore(async (store) => {
        const { experiment, trials } = await experimentWithTrials(store, 2);
        const t = (await store.claimTrial(experiment.id, 'w1'))!;
        await rejectsWithCode(store.finishTrial(t.id, { state: 'complete', metrics: { accuracy: Number.NaN } }), 'usage', /accuracy.*finite/);
        await rejectsWithCode(store.finishTrial(t.id, { state: 'complete', metrics: { 'bad"name': 1 } }), 'usage', /metric name/);
        await rejectsWithCode(store.finishTrial(t.id, { state: 'running' } as never), 'usage', /complete, failed or pruned/);
        await rejectsWithCode(store.finishTrial(t.id, { state: 'complete', metrics: { accuracy: 1 } }, { workerId: 'w2' }), 'state', /held by "w1"/);
        await rejectsWithCode(store.finishTrial(trials[1]!.id, { state: 'failed', error: 'x' }, { workerId: 'w1' }), 'state', /pending/);
        await rejectsWithCode(store.finishTrial(t.id + 1000, { state: 'failed', error: 'x' }), 'state', /trial \d+ does not exist/);
        const unchanged = (await store.getTrial(t.id))!;
        assert.equal(unchanged.state, 'running');
        assert.equal(unchanged.metrics, null);
      }));

    it('never changes a finished trial', () =>
      withStore(async (store) => {
        const { experiment } = await experimentWithTrials(store, 3);
        const ids: number[] = [];
        for (const outcome of [
          { state: 'complete', metrics: { accuracy: 0.5 } },
          { state: 'failed', error: 'boom' },
          { state: 'pruned' },
        ] as const) {
          const t = (await store.claimTrial(experiment.id, 'w'))!;
          await store.reportIntermediate(t.id, 'loss', 0, 2.3);
          await store.setArtifact(t.id, 'checkpoint', `/tmp/ckpt-${t.id}`);
          await store.finishTrial(t.id, outcome);
          ids.push(t.id);
        }
        for (const id of ids) {
          const finished = (await store.getTrial(id))!;
          await rejectsWithCode(store.finishTrial(id, { state: 'complete', metrics: { accuracy: 1 } }), 'state', /finished trials never change/);
          await rejectsWithCode(store.finishTrial(id, { state: 'failed', error: 'again' }), 'state', new RegExp(`trial ${id}: it is ${finished.state}`));
          await rejectsWithCode(store.reportIntermediate(id, 'loss', 1, 1.0), 'state', /finished trials never change/);
          await rejectsWithCode(store.reportIntermediate(id, 'loss', 0, 9.9), 'state', /finished trials never change/);
          await rejectsWithCode(store.setArtifact(id, 'checkpoint', '/elsewhere'), 'state', /finished trials never change/);
          await rejectsWithCode(store.setArtifact(id, 'other', '/elsewhere'), 'state', /finished trials never change/);
          assert.equal(await store.heartbeat(id, 'w'), false);
          assert.deepEqual(await store.requeueRunning(experiment.id), []);
          assert.deepEqual(await store.requeueStale(experiment.id, 0), []);
          assert.deepEqual(await store.getTrial(id), finished, `trial ${id} (${finished.state}) is unchanged`);
        }
      }));

    it('records learning curves and artifacts', () =>
      withStore(async (store) => {
        const { experiment } = await experimentWithTrials(store, 2);
        const t = (await store.claimTrial(experiment.id, 'w'))!;
        await store.reportIntermediate(t.id, 'val_acc', 2, 0.7);
        await store.reportIntermediate(t.id, 'val_acc', 0, 0.3);
        await store.reportIntermediate(t.id, 'val_acc', 1, 0.55);
        await store.reportIntermediate(t.id, 'train/loss', 0, 2.25);
        await store.reportIntermediate(t.id, 'val_acc', 1, 0.5); // replaces step 1
        await store.setArtifact(t.id, 'checkpoint', 'runs/x/epoch1.safetensors');
        await store.setArtifact(t.id, 'log', 'runs/x/train.log');
        await store.setArtifact(t.id, 'checkpoint', 'runs/x/epoch2.safetensors'); // replaces
        const read = (await store.getTrial(t.id))!;
        assert.deepEqual(read.intermediate, {
          val_acc: [
            { step: 0, value: 0.3 },
            { step: 1, value: 0.5 },
            { step: 2, value: 0.7 },
          ],
          'train/loss': [{ step: 0, value: 2.25 }],
        });
        assert.deepEqual(read.artifacts, { checkpoint: 'runs/x/epoch2.safetensors', log: 'runs/x/train.log' });
        // They come back through every read, and stay after finishing.
        const done = await store.finishTrial(t.id, { state: 'complete', metrics: { val_acc: 0.7 } });
        assert.deepEqual(done.intermediate, read.intermediate);
        assert.deepEqual((await store.listTrials(experiment.id, { states: ['complete'] }))[0]!.artifacts, read.artifacts);
        assert.deepEqual((await store.bestTrials(experiment.id, 'val_acc', 'max'))[0]!.intermediate, read.intermediate);
        // Other trials have their own (empty) curves.
        const other = (await store.listTrials(experiment.id, { states: ['pending'] }))[0]!;
        assert.deepEqual(other.intermediate, {});
        assert.deepEqual(other.artifacts, {});

        await rejectsWithCode(store.reportIntermediate(other.id, 'val_acc', -1, 0.5), 'usage', /step.*integer >= 0/);
        await rejectsWithCode(store.reportIntermediate(other.id, 'val_acc', 1.5, 0.5), 'usage', /step.*integer >= 0/);
        await rejectsWithCode(store.reportIntermediate(other.id, 'val_acc', 1, Infinity), 'usage', /finite/);
        await rejectsWithCode(store.reportIntermediate(other.id + 1000, 'val_acc', 1, 0.5), 'state', /does not exist/);
        await rejectsWithCode(store.setArtifact(other.id, '', 'x'), 'usage', /artifact name/);
        await rejectsWithCode(store.setArtifact(other.id + 1000, 'a', 'x'), 'state', /does not exist/);
      }));

    it('lists trials by state with limit and offset, and counts them', () =>
      withStore(async (store) => {
        const { experiment, trials } = await experimentWithTrials(store, 6);
        await experimentWithTrials(store, 2, 'other');
        // numbers 0,1 complete; 2 failed; 3 running; 4,5 pending
        for (let k = 0; k < 4; k++) await store.claimTrial(experiment.id, 'w');
        await store.finishTrial(trials[0]!.id, { state: 'complete', metrics: { accuracy: 0.5 } });
        await store.finishTrial(trials[1]!.id, { state: 'complete', metrics: { accuracy: 0.6 } });
        await store.finishTrial(trials[2]!.id, { state: 'failed', error: 'x' });
        const numbers = (list: Trial[]) => list.map((t) => t.number);
        assert.deepEqual(numbers(await store.listTrials(experiment.id)), [0, 1, 2, 3, 4, 5]);
        assert.deepEqual(numbers(await store.listTrials(experiment.id, { states: [] })), [0, 1, 2, 3, 4, 5]);
        assert.deepEqual(numbers(await store.listTrials(experiment.id, { states: ['complete'] })), [0, 1]);
        assert.deepEqual(numbers(await store.listTrials(experiment.id, { states: ['pending', 'failed'] })), [2, 4, 5]);
        assert.deepEqual(numbers(await store.listTrials(experiment.id, { states: ['running'] })), [3]);
        assert.deepEqual(numbers(await store.listTrials(experiment.id, { states: ['pruned'] })), []);
        assert.deepEqual(numbers(await store.listTrials(experiment.id, { limit: 2 })), [0, 1]);
        assert.deepEqual(numbers(await store.listTrials(experiment.id, { limit: 2, offset: 3 })), [3, 4]);
        assert.deepEqual(numbers(await store.listTrials(experiment.id, { offset: 4 })), [4, 5]);
        assert.deepEqual(numbers(await store.listTrials(experiment.id, { states: ['pending', 'complete'], limit: 3, offset: 1 })), [1, 4, 5]);
        assert.deepEqual(await store.listTrials(experiment.id + 1000), []);
        await rejectsWithCode(store.listTrials(experiment.id, { states: ['done' as never] }), 'usage', /trial state must be one of/);
        await rejectsWithCode(store.listTrials(experiment.id, { limit: -1 }), 'usage', /limit/);

        assert.deepEqual(await store.countTrials(experiment.id), { pending: 2, running: 1, complete: 2, failed: 1, pruned: 0 });
        assert.deepEqual(await store.countTrials(experiment.id + 1000), { pending: 0, running: 0, complete: 0, failed: 0, pruned: 0 });
      }));

    it('finds the best complete trials by a metric in either direction', () =>
      withStore(async (store) => {
        const { experiment, trials } = await experimentWithTrials(store, 7);
        const outcomes = [
          { state: 'complete', metrics: { accuracy: 0.8, params: 5e5 } },
          { state: 'complete', metrics: { accuracy: 0.92, params: 2e6 } },
          { state: 'complete', metrics: { accuracy: 0.8, params: 1e5 } }, // ties trial 0 on accuracy
          { state: 'complete', metrics: { params: 10 } }, // no accuracy: never ranked by it
          { state: 'pruned', metrics: { accuracy: 0.99, params: 1 } }, // not complete: never ranked
          { state: 'complete', metrics: { accuracy: 0.75, params: 3e6 } },
        ] as const;
        for (const [i, outcome] of outcomes.entries()) {
          await store.claimTrial(experiment.id, 'w');
          await store.finishTrial(trials[i]!.id, outcome);
        }
        // trial 6 stays pending
        const numbers = (list: Trial[]) => list.map((t) => t.number);
        assert.deepEqual(numbers(await store.bestTrials(experiment.id, 'accuracy', 'max')), [1]);
        assert.deepEqual(numbers(await store.bestTrials(experiment.id, 'accuracy', 'max', 10)), [1, 0, 2, 5]);
        assert.deepEqual(numbers(await store.bestTrials(experiment.id, 'accuracy', 'min', 3)), [5, 0, 2]);
        assert.deepEqual(numbers(await store.bestTrials(experiment.id, 'params', 'min', 2)), [3, 2]);
        assert.deepEqual(numbers(await store.bestTrials(experiment.id, 'params', 'max', 2)), [5, 1]);
        assert.deepEqual(await store.bestTrials(experiment.id, 'latency', 'min', 5), []);
        assert.deepEqual((await store.bestTrials(experiment.id, 'accuracy', 'max'))[0]!.metrics, outcomes[1].metrics);
        await rejectsWithCode(store.bestTrials(experiment.id, "x') OR 1=1 --", 'max'), 'usage', /metric name/);
        await rejectsWithCode(store.bestTrials(experiment.id, 'accuracy', 'up' as never), 'usage', /direction/);
      }));

    it('requeues running trials whose heartbeat is stale, keeping their curves and artifacts', () =>
      withStore(async (store) => {
        const { experiment } = await experimentWithTrials(store, 3);
        const stale = (await store.claimTrial(experiment.id, 'dead-worker'))!;
        const alive = (await store.claimTrial(experiment.id, 'live-worker'))!;
        await store.reportIntermediate(stale.id, 'val_acc', 0, 0.4);
        await store.setArtifact(stale.id, 'checkpoint', '/ckpt/epoch0');
        await sleep(300);
        assert.equal(await store.heartbeat(alive.id, 'live-worker'), true);
        assert.deepEqual(await store.requeueStale(experiment.id, 10_000), [], 'nothing is 10 s old');
        assert.deepEqual(await store.requeueStale(experiment.id, 200), [stale.id]);
        const requeued = (await store.getTrial(stale.id))!;
        assert.equal(requeued.state, 'pending');
        assert.equal(requeued.workerId, null);
        assert.equal(requeued.heartbeatAt, null);
        assert.equal(requeued.startedAt, null);
        assert.deepEqual(requeued.intermediate, { val_acc: [{ step: 0, value: 0.4 }] });
        assert.deepEqual(requeued.artifacts, { checkpoint: '/ckpt/epoch0' });
        assert.equal((await store.getTrial(alive.id))!.state, 'running');
        // The dead worker has lost it: its heartbeat and finish are refused.
        assert.equal(await store.heartbeat(stale.id, 'dead-worker'), false);
        await rejectsWithCode(store.finishTrial(stale.id, { state: 'complete', metrics: { a: 1 } }, { workerId: 'dead-worker' }), 'state', /pending/);
        // It is the lowest-numbered pending trial again, so it is claimed next.
        const reclaimed = (await store.claimTrial(experiment.id, 'new-worker'))!;
        assert.equal(reclaimed.id, stale.id);
        assert.equal(reclaimed.workerId, 'new-worker');
        await rejectsWithCode(store.requeueStale(experiment.id, -1), 'usage', /olderThanMs/);
      }));

    it('a worker releases its own running trial back to pending, and only its own', () =>
      withStore(async (store) => {
        const { experiment } = await experimentWithTrials(store, 2);
        const held = (await store.claimTrial(experiment.id, 'worker-a'))!;
        await store.reportIntermediate(held.id, 'val_acc', 0, 0.5);
        assert.equal(await store.releaseTrial(held.id, 'worker-b'), false, 'another worker cannot release it');
        assert.equal((await store.getTrial(held.id))!.state, 'running');
        assert.equal(await store.releaseTrial(held.id, 'worker-a'), true);
        const released = (await store.getTrial(held.id))!;
        assert.equal(released.state, 'pending');
        assert.equal(released.workerId, null);
        assert.equal(released.heartbeatAt, null);
        assert.equal(released.startedAt, null);
        assert.deepEqual(released.intermediate, { val_acc: [{ step: 0, value: 0.5 }] });
        assert.equal(await store.releaseTrial(held.id, 'worker-a'), false, 'no longer running');
        assert.equal(await store.heartbeat(held.id, 'worker-a'), false);
        const reclaimed = (await store.claimTrial(experiment.id, 'worker-c'))!;
        assert.equal(reclaimed.id, held.id);
        await store.finishTrial(reclaimed.id, { state: 'complete', metrics: { a: 1 } }, { workerId: 'worker-c' });
        assert.equal(await store.releaseTrial(reclaimed.id, 'worker-c'), false, 'a finished trial never changes');
        assert.equal((await store.getTrial(reclaimed.id))!.state, 'complete');
        assert.equal(await store.releaseTrial(999_999, 'worker-a'), false);
      }));

    it('requeues every running trial of one experiment for a resume', () =>
      withStore(async (store) => {
        const { experiment, trials } = await experimentWithTrials(store, 4);
        const other = await experimentWithTrials(store, 1, 'other');
        for (let i = 0; i < 3; i++) await store.claimTrial(experiment.id, `w${i}`);
        const otherRunning = (await store.claimTrial(other.experiment.id, 'w'))!;
        await store.finishTrial(trials[1]!.id, { state: 'complete', metrics: { accuracy: 0.7 } });
        assert.deepEqual(await store.requeueRunning(experiment.id), [trials[0]!.id, trials[2]!.id]);
        assert.deepEqual(await store.countTrials(experiment.id), { pending: 3, running: 0, complete: 1, failed: 0, pruned: 0 });
        assert.equal((await store.getTrial(otherRunning.id))!.state, 'running', 'other experiments are untouched');
        assert.deepEqual(await store.requeueRunning(experiment.id), []);
      }));

    it('leases: one holder at a time; taken over once expired or when its owner is named', () =>
      withStore(async (store, connect) => {
        const { experiment } = await experimentWithTrials(store, 0);
        const other = await connect();
        const a = { owner: 'host-a:10:x', host: 'host-a', pid: 10 };
        const b = { owner: 'host-b:20:y', host: 'host-b', pid: 20 };
        assert.equal(await store.getLease(experiment.id), null);
        const first = await store.acquireLease(experiment.id, a, { expireMs: 60_000 });
        assert.ok(first.acquired);
        assert.equal(first.previous, null);
        assert.deepEqual({ ...first.lease, acquiredAt: 0, heartbeatAt: 0 }, { ...a, acquiredAt: 0, heartbeatAt: 0 });
        assert.deepEqual(await other.getLease(experiment.id), first.lease);

        // A live lease is refused to another process, naming its holder.
        const refused = await other.acquireLease(experiment.id, b, { expireMs: 60_000 });
        assert.ok(!refused.acquired);
        assert.equal(refused.lease.owner, a.owner);
        assert.equal(refused.lease.pid, 10);
        assert.ok(refused.expiresInMs > 50_000 && refused.expiresInMs <= 60_000, `expires in ${refused.expiresInMs} ms`);
        assert.equal(await other.renewLease(experiment.id, b.owner), false);
        assert.equal(await other.releaseLease(experiment.id, b.owner), false);

        // The holder renews and re-acquires its own lease (acquiredAt kept).
        await sleep(20);
        assert.equal(await store.renewLease(experiment.id, a.owner), true);
        const renewed = (await store.getLease(experiment.id))!;
        assert.ok(renewed.heartbeatAt > first.lease.heartbeatAt);
        const again = await store.acquireLease(experiment.id, a, { expireMs: 60_000 });
        assert.ok(again.acquired && again.previous === null && again.lease.acquiredAt === first.lease.acquiredAt);

        // Expired: not renewed for expireMs, so b takes it, and a's renewals fail from then on.
        await sleep(250);
        const taken = await other.acquireLease(experiment.id, b, { expireMs: 200 });
        assert.ok(taken.acquired);
        assert.equal(taken.previous?.owner, a.owner);
        assert.equal(taken.lease.owner, b.owner);
        assert.equal(await store.renewLease(experiment.id, a.owner), false);
        assert.equal((await store.getLease(experiment.id))!.owner, b.owner);

        // Named: a live lease whose owner the caller knows is dead.
        assert.equal((await store.acquireLease(experiment.id, a, { expireMs: 60_000, replacing: 'someone-else' })).acquired, false);
        const replaced = await store.acquireLease(experiment.id, a, { expireMs: 60_000, replacing: b.owner });
        assert.ok(replaced.acquired && replaced.previous?.owner === b.owner);

        // Released: free for anyone at once; deleting the experiment removes its lease.
        assert.equal(await store.releaseLease(experiment.id, a.owner), true);
        assert.equal(await store.getLease(experiment.id), null);
        assert.ok((await other.acquireLease(experiment.id, b, { expireMs: 60_000 })).acquired);
        await rejectsWithCode(store.acquireLease(experiment.id + 1000, a, { expireMs: 1000 }), 'state', /does not exist/);
        await rejectsWithCode(store.acquireLease(experiment.id, { owner: '', host: 'h', pid: 1 }, { expireMs: 1000 }), 'usage', /owner/);
        await rejectsWithCode(store.acquireLease(experiment.id, a, { expireMs: 0 }), 'usage', /expireMs/);
        assert.equal(await store.deleteExperiment('exp'), true);
        assert.equal(await store.getLease(experiment.id), null);
      }));

    it('leases: of concurrent acquirers of a free lease exactly one wins', () =>
      withStore(async (store, connect) => {
        const { experiment } = await experimentWithTrials(store, 0);
        const stores = [store, await connect(), await connect()];
        const results = await Promise.all(
          Array.from({ length: 6 }, (_, i) => stores[i % 3]!.acquireLease(experiment.id, { owner: `o${i}`, host: 'h', pid: i }, { expireMs: 60_000 })),
        );
        const winners = results.filter((r) => r.acquired);
        assert.equal(winners.length, 1);
        const owner = winners[0]!.lease.owner;
        for (const r of results) assert.equal(r.lease.owner, owner);
      }));

    it('saves and loads the strategy state, also atomically with a finished trial', () =>
      withStore(async (store) => {
        const { experiment, trials } = await experimentWithTrials(store, 2);
        assert.equal(await store.loadStrategyState(experiment.id), null);
        const state: Json = { population: [{ arch: 'a|b', fitness: 0.5 }], rng: [1, 2, 3, 4], weights: [0.1, -2.5e-7] };
        const before = Date.now();
        await store.saveStrategyState(experiment.id, state, 0);
        const loaded = (await store.loadStrategyState(experiment.id))!;
        assert.deepEqual(loaded.state, state);
        assert.equal(loaded.toldCount, 0);
        assert.ok(loaded.savedAt >= before - 1000 && loaded.savedAt <= Date.now() + 1000);

        const t = (await store.claimTrial(experiment.id, 'w'))!;
        await store.finishTrial(t.id, { state: 'complete', metrics: { accuracy: 0.5 } }, { strategyState: { state: { generation: 1 }, toldCount: 1 } });
        let current = (await store.loadStrategyState(experiment.id))!;
        assert.deepEqual(current.state, { generation: 1 });
        assert.equal(current.toldCount, 1);

        // A finish that is refused saves no state either.
        await rejectsWithCode(
          store.finishTrial(t.id, { state: 'failed', error: 'x' }, { strategyState: { state: { generation: 99 }, toldCount: 2 } }),
          'state',
          /finished trials never change/,
        );
        current = (await store.loadStrategyState(experiment.id))!;
        assert.deepEqual(current.state, { generation: 1 });
        assert.equal(current.toldCount, 1);

        await store.saveStrategyState(experiment.id, 'plain string state', 2);
        assert.equal((await store.loadStrategyState(experiment.id))!.state, 'plain string state');
        await rejectsWithCode(store.saveStrategyState(experiment.id + 1000, {}, 0), 'state', /experiment \d+ does not exist/);
        await rejectsWithCode(store.saveStrategyState(experiment.id, {}, -1), 'usage', /toldCount/);
        assert.equal(trials.length, 2);
      }));

    it('records epochs in the order first recorded, replaces by (stage, epoch), and filters by stage and afterEpoch', () =>
      withStore(async (store) => {
        const e = await store.createExperiment('ws', { method: 'darts' });
        const other = await store.createExperiment('other', {});
        assert.deepEqual(await store.listEpochs(e.id), []);
        const before = Date.now();
        const first: Json = {
          epoch: 1,
          phase: 'warmup',
          lr: 0.025,
          trainLoss: 2.302585,
          validAccuracy: null,
          weights: { 'edge/0-1': [0.2, 0.2, 0.2, 0.2, 0.2] },
          arch: '|nor_conv_3x3~0|+|skip_connect~0|',
          extra: { note: 'α ünïcode', tiny: 1e-300, big: -1.5e300 },
        };
        await store.recordEpoch(e.id, 'supernet', 1, first);
        await store.recordEpoch(e.id, 'supernet', 2, { epoch: 2, trainLoss: 2.0 });
        await store.recordEpoch(e.id, 'final', 1, { evaluations: 100 });
        await store.recordEpoch(e.id, 'supernet', 3, { epoch: 3, trainLoss: 1.5 });
        await store.recordEpoch(other.id, 'supernet', 1, { elsewhere: true });
        const listed = await store.listEpochs(e.id);
        assert.deepEqual(
          listed.map((r) => [r.stage, r.epoch]),
          [['supernet', 1], ['supernet', 2], ['final', 1], ['supernet', 3]],
          'in the order first recorded, not sorted by stage or epoch',
        );
        assert.deepEqual(listed[0]!.record, first);
        assert.deepEqual(Object.keys(listed[0]!.record as object), Object.keys(first), 'key order is kept');
        for (const r of listed) assert.ok(r.recordedAt >= before - 1000 && r.recordedAt <= Date.now() + 1000, `recordedAt ${r.recordedAt} is not about now`);

        await sleep(5);
        await store.recordEpoch(e.id, 'supernet', 2, { epoch: 2, trainLoss: 1.9, rerun: true });
        const replaced = await store.listEpochs(e.id);
        assert.deepEqual(
          replaced.map((r) => [r.stage, r.epoch]),
          [['supernet', 1], ['supernet', 2], ['final', 1], ['supernet', 3]],
          'a replaced record keeps its place',
        );
        assert.deepEqual(replaced[1]!.record, { epoch: 2, trainLoss: 1.9, rerun: true });
        assert.ok(replaced[1]!.recordedAt >= listed[1]!.recordedAt);
        assert.deepEqual([replaced[0], replaced[2], replaced[3]], [listed[0], listed[2], listed[3]], 'the others are unchanged');

        const keys = (records: { stage: string; epoch: number }[]) => records.map((r) => `${r.stage}:${r.epoch}`);
        assert.deepEqual(keys(await store.listEpochs(e.id, { stage: 'supernet' })), ['supernet:1', 'supernet:2', 'supernet:3']);
        assert.deepEqual(keys(await store.listEpochs(e.id, { afterEpoch: 1 })), ['supernet:2', 'supernet:3']);
        assert.deepEqual(keys(await store.listEpochs(e.id, { stage: 'supernet', afterEpoch: 2 })), ['supernet:3']);
        assert.deepEqual(keys(await store.listEpochs(e.id, { stage: 'final', afterEpoch: 0 })), ['final:1']);
        assert.deepEqual(keys(await store.listEpochs(e.id, { afterEpoch: 3 })), []);
        assert.deepEqual(await store.listEpochs(e.id, { stage: 'nope' }), []);
        assert.deepEqual(keys(await store.listEpochs(other.id)), ['supernet:1'], 'records stay in their experiment');
        assert.deepEqual(await store.listEpochs(e.id + other.id + 100), []);
      }));

    it('refuses bad epoch arguments and unknown experiments, writing nothing', () =>
      withStore(async (store) => {
        const e = await store.createExperiment('ws', {});
        const checkpoint: CheckpointInput = { stage: 'supernet', epoch: 1, state: {}, data: new Uint8Array([1, 2, 3]) };
        await rejectsWithCode(store.recordEpoch(e.id, '', 1, {}), 'usage', /stage.*non-empty string/);
        await rejectsWithCode(store.recordEpoch(e.id, 'x'.repeat(201), 1, {}), 'usage', /stage.*at most 200/);
        await rejectsWithCode(store.recordEpoch(e.id, 7 as never, 1, {}), 'usage', /stage/);
        await rejectsWithCode(store.recordEpoch(e.id, 'supernet', -1, {}), 'usage', /epoch.*integer >= 0, got -1/);
        await rejectsWithCode(store.recordEpoch(e.id, 'supernet', 1.5, {}), 'usage', /epoch.*integer >= 0, got 1.5/);
        await rejectsWithCode(store.recordEpoch(e.id, 'supernet', 1, [1, 2]), 'usage', /record of epoch 1 of experiment \d+ must be a JSON object/);
        await rejectsWithCode(store.recordEpoch(e.id, 'supernet', 1, null), 'usage', /must be a JSON object/);
        await rejectsWithCode(store.recordEpoch(e.id, 'supernet', 1, 'loss 2.3'), 'usage', /must be a JSON object/);
        await rejectsWithCode(store.recordEpoch(e.id, 'supernet', 1, {}, { ...checkpoint, stage: '' }), 'usage', /checkpoint stage/);
        await rejectsWithCode(store.recordEpoch(e.id, 'supernet', 1, {}, { ...checkpoint, epoch: -2 }), 'usage', /checkpoint epoch.*integer >= 0/);
        await rejectsWithCode(store.recordEpoch(e.id, 'supernet', 1, {}, { ...checkpoint, state: undefined as never }), 'usage', /checkpoint state.*JSON/);
        await rejectsWithCode(store.recordEpoch(e.id, 'supernet', 1, {}, { ...checkpoint, data: [1, 2, 3] as never }), 'usage', /checkpoint data.*Uint8Array/);
        await rejectsWithCode(store.recordEpoch(e.id, 'supernet', 1, {}, { ...checkpoint, data: 'AQID' as never }), 'usage', /checkpoint data.*Uint8Array/);
        await rejectsWithCode(store.listEpochs(e.id, { stage: '' }), 'usage', /stage filter/);
        await rejectsWithCode(store.listEpochs(e.id, { afterEpoch: -1 }), 'usage', /afterEpoch.*integer >= 0/);
        assert.deepEqual(await store.listEpochs(e.id), [], 'refused calls wrote no record');
        assert.equal(await store.loadCheckpoint(e.id), null, 'refused calls wrote no checkpoint');

        const missing = e.id + 1000;
        await rejectsWithCode(store.recordEpoch(missing, 'supernet', 1, {}), 'state', new RegExp(`experiment ${missing} does not exist`));
        await rejectsWithCode(store.recordEpoch(missing, 'supernet', 1, {}, checkpoint), 'state', new RegExp(`experiment ${missing} does not exist`));
        assert.deepEqual(await store.listEpochs(missing), []);
        assert.equal(await store.loadCheckpoint(missing), null);
        // Epoch 0 is allowed (1-based is a convention of the runs, not a rule of the store).
        await store.recordEpoch(e.id, 'supernet', 0, {});
        assert.deepEqual((await store.listEpochs(e.id)).map((r) => r.epoch), [0]);
      }));

    it('keeps one checkpoint per experiment, replaced by each epoch that brings one', () =>
      withStore(async (store) => {
        const e = await store.createExperiment('ws', {});
        const other = await store.createExperiment('other', {});
        assert.equal(await store.loadCheckpoint(e.id), null);
        const first: CheckpointInput = {
          stage: 'supernet',
          epoch: 1,
          state: { optimizer: { step: 50, lr: 0.0248 }, loaders: [{ position: 50, order: [3, 1, 2] }], rng: [12345, 678], tau: null },
          data: patternBytes(1000, 1),
        };
        const before = Date.now();
        await store.recordEpoch(e.id, 'supernet', 1, { epoch: 1 }, first);
        const loaded = await store.loadCheckpoint(e.id);
        assertCheckpoint(loaded, first, 'first checkpoint');
        assert.ok(loaded!.savedAt >= before - 1000 && loaded!.savedAt <= Date.now() + 1000, `savedAt ${loaded!.savedAt} is not about now`);

        await store.recordEpoch(e.id, 'supernet', 2, { epoch: 2 });
        assert.deepEqual(await store.loadCheckpoint(e.id), loaded, 'an epoch without a checkpoint keeps the last one');

        // Any JSON state, and no bytes at all, round-trip too.
        const second: CheckpointInput = { stage: 'supernet', epoch: 3, state: 'plain string state', data: new Uint8Array(0) };
        await store.recordEpoch(e.id, 'supernet', 3, { epoch: 3 }, second);
        assertCheckpoint(await store.loadCheckpoint(e.id), second, 'second checkpoint');

        const third: CheckpointInput = { stage: 'final', epoch: 1, state: [1, 'two', { three: [3] }], data: patternBytes(5000, 3) };
        await store.recordEpoch(e.id, 'final', 1, { done: true }, third);
        assertCheckpoint(await store.loadCheckpoint(e.id), third, 'third checkpoint');
        assert.equal(await store.loadCheckpoint(other.id), null, 'checkpoints stay in their experiment');
        assert.deepEqual(
          (await store.listEpochs(e.id)).map((r) => `${r.stage}:${r.epoch}`),
          ['supernet:1', 'supernet:2', 'supernet:3', 'final:1'],
        );
      }));

    it('round-trips a 24 MB checkpoint byte for byte', () =>
      withStore(async (store, connect) => {
        const e = await store.createExperiment('ws', {});
        // A view at an odd offset into a larger buffer: only the viewed bytes are stored.
        const whole = patternBytes(24 * 1024 * 1024 + 7, 24);
        const data = whole.subarray(7);
        await store.recordEpoch(e.id, 'supernet', 1, { epoch: 1 }, { stage: 'supernet', epoch: 1, state: { bytes: data.byteLength }, data });
        const reader = await connect();
        const loaded = await reader.loadCheckpoint(e.id);
        assertCheckpoint(loaded, { stage: 'supernet', epoch: 1, state: { bytes: data.byteLength }, data }, '24 MB checkpoint');
        // A smaller checkpoint replaces it entirely (no bytes of the old one remain).
        const small = patternBytes(3, 5);
        await store.recordEpoch(e.id, 'supernet', 2, { epoch: 2 }, { stage: 'supernet', epoch: 2, state: {}, data: small });
        assertSameBytes((await reader.loadCheckpoint(e.id))!.data, small, 'replacing checkpoint');
      }));

    it('deleting an experiment removes its epochs and checkpoint', () =>
      withStore(async (store) => {
        const e = await store.createExperiment('ws', {});
        const kept = await store.createExperiment('kept', {});
        const checkpoint: CheckpointInput = { stage: 'supernet', epoch: 1, state: { a: 1 }, data: patternBytes(64, 9) };
        await store.recordEpoch(e.id, 'supernet', 1, { epoch: 1 }, checkpoint);
        await store.recordEpoch(kept.id, 'supernet', 1, { epoch: 1 }, checkpoint);
        assert.equal(await store.deleteExperiment('ws'), true);
        assert.deepEqual(await store.listEpochs(e.id), []);
        assert.equal(await store.loadCheckpoint(e.id), null);
        await rejectsWithCode(store.recordEpoch(e.id, 'supernet', 2, {}), 'state', /does not exist/);
        assert.equal((await store.listEpochs(kept.id)).length, 1, 'other experiments keep theirs');
        assertCheckpoint(await store.loadCheckpoint(kept.id), checkpoint, 'other experiment');
        // A new experiment of the same name starts empty.
        const again = await store.createExperiment('ws', {});
        assert.deepEqual(await store.listEpochs(again.id), []);
        assert.equal(await store.loadCheckpoint(again.id), null);
      }));

    it('leaves the previous record and checkpoint when a write of recordEpoch fails half-way', () =>
      withStore(async (store, connect, storage) => {
        const e = await store.createExperiment('ws', {});
        const saved: CheckpointInput = { stage: 'supernet', epoch: 1, state: { step: 1 }, data: patternBytes(4096, 11) };
        await store.recordEpoch(e.id, 'supernet', 1, { epoch: 1 }, saved);
        await store.recordEpoch(e.id, 'supernet', 2, { epoch: 2, version: 'old' });
        const recordsBefore = await store.listEpochs(e.id);
        const checkpointBefore = await store.loadCheckpoint(e.id);
        const next = (epoch: number): CheckpointInput => ({ stage: 'supernet', epoch, state: { step: epoch }, data: patternBytes(4096, epoch + 100) });

        // The epoch row is written, then the checkpoint write fails: the epoch write must be undone too.
        const allowCheckpoints = await storage.refuseWrites('tsnas_checkpoints');
        await assert.rejects(store.recordEpoch(e.id, 'supernet', 2, { epoch: 2, version: 'new' }, next(2)), /refused by test/);
        await assert.rejects(store.recordEpoch(e.id, 'supernet', 3, { epoch: 3 }, next(3)), /refused by test/);
        const reader = await connect();
        for (const [who, s] of [['writer', store], ['other connection', reader]] as const) {
          assert.deepEqual(await s.listEpochs(e.id), recordsBefore, `${who}: records are as before`);
          assert.deepEqual(await s.loadCheckpoint(e.id), checkpointBefore, `${who}: checkpoint is as before`);
        }
        // Only checkpoint writes were refused: a record alone still goes in.
        await store.recordEpoch(e.id, 'supernet', 3, { epoch: 3 });
        await allowCheckpoints();

        const allowEpochs = await storage.refuseWrites('tsnas_epochs');
        await assert.rejects(store.recordEpoch(e.id, 'supernet', 4, { epoch: 4 }, next(4)), /refused by test/);
        assert.deepEqual(await reader.loadCheckpoint(e.id), checkpointBefore, 'no checkpoint without its record');
        await allowEpochs();

        await store.recordEpoch(e.id, 'supernet', 4, { epoch: 4 }, next(4));
        assertCheckpoint(await reader.loadCheckpoint(e.id), next(4), 'after the faults are gone');
        assert.deepEqual(
          (await reader.listEpochs(e.id)).map((r) => [r.epoch, r.record]),
          [[1, { epoch: 1 }], [2, { epoch: 2, version: 'old' }], [3, { epoch: 3 }], [4, { epoch: 4 }]],
        );
      }));

    it('shares epochs and checkpoints between connections, and concurrent writers never mix a checkpoint', () =>
      withStore(async (store, connect) => {
        const other = await connect();
        const e = await store.createExperiment('ws', {});
        /** Every byte of epoch k's data is k, and its state names k: a mixed checkpoint would show. */
        const checkpointOf = (epoch: number): CheckpointInput => ({ stage: 'supernet', epoch, state: { epoch }, data: new Uint8Array(2048).fill(epoch) });
        await store.recordEpoch(e.id, 'supernet', 1, { epoch: 1 }, checkpointOf(1));
        assert.deepEqual(await other.listEpochs(e.id), await store.listEpochs(e.id));
        assertCheckpoint(await other.loadCheckpoint(e.id), checkpointOf(1), 'seen by the other connection');
        await other.recordEpoch(e.id, 'supernet', 2, { epoch: 2 }, checkpointOf(2));
        assert.deepEqual((await store.listEpochs(e.id)).map((r) => r.epoch), [1, 2]);
        assertCheckpoint(await store.loadCheckpoint(e.id), checkpointOf(2), 'seen by the first connection');

        await Promise.all(
          Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? store : other).recordEpoch(e.id, 'supernet', i + 3, { epoch: i + 3 }, checkpointOf(i + 3))),
        );
        // Six writers replace the record of epoch 1 at once: one record remains, still first.
        await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? store : other).recordEpoch(e.id, 'supernet', 1, { epoch: 1, writer: i })));
        const records = await other.listEpochs(e.id);
        assert.equal(records.length, 12);
        assert.deepEqual(records.slice(0, 2).map((r) => r.epoch), [1, 2]);
        assert.deepEqual(records.map((r) => r.epoch).sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i + 1));
        for (const r of records.slice(2)) assert.deepEqual(r.record, { epoch: r.epoch });
        const writer = (records[0]!.record as { writer: number }).writer;
        assert.ok([0, 1, 2, 3, 4, 5].includes(writer), `epoch 1 was last written by writer ${writer}`);
        const last = (await store.loadCheckpoint(e.id))!;
        assert.ok(last.epoch >= 3 && last.epoch <= 12, `checkpoint of epoch ${last.epoch}`);
        assertCheckpoint(last, checkpointOf(last.epoch), 'the last concurrent checkpoint, whole');
      }));

    it('keeps everything across close and reopen', () =>
      withStore(async (store, connect) => {
        const { experiment } = await experimentWithTrials(store, 3);
        const t = (await store.claimTrial(experiment.id, 'w'))!;
        await store.reportIntermediate(t.id, 'acc', 0, 0.25);
        await store.setArtifact(t.id, 'checkpoint', '/c');
        await store.finishTrial(t.id, { state: 'complete', metrics: { acc: 0.25 } }, { strategyState: { state: { s: [1] }, toldCount: 1 } });
        await store.claimTrial(experiment.id, 'w');
        await store.recordEpoch(experiment.id, 'supernet', 1, { trainLoss: 2.1 }, { stage: 'supernet', epoch: 1, state: { s: 1 }, data: patternBytes(100, 2) });
        const trialsBefore = await store.listTrials(experiment.id);
        const epochsBefore = await store.listEpochs(experiment.id);
        const checkpointBefore = await store.loadCheckpoint(experiment.id);
        await store.close();
        await store.close(); // closing twice is harmless

        const reopened = await connect();
        assert.deepEqual(await reopened.getExperiment('exp'), experiment);
        assert.deepEqual(await reopened.listTrials(experiment.id), trialsBefore);
        assert.deepEqual((await reopened.loadStrategyState(experiment.id))!.state, { s: [1] });
        assert.deepEqual(await reopened.listEpochs(experiment.id), epochsBefore);
        assert.deepEqual(await reopened.loadCheckpoint(experiment.id), checkpointBefore);
        // Numbering goes on where it stopped.
        assert.equal((await reopened.createTrial(experiment.id, {}, 'new')).trial.number, 3);
      }));
  });
}
