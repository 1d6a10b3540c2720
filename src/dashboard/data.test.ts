// The dashboard's data layer on an in-memory SQLite store: snapshot contents
// (best by direction, durations, table limit) and the fingerprint that lets
// polls skip unchanged experiments.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SqliteStore } from '../store/sqlite.js';
import { experimentFingerprint, experimentSnapshot, listExperimentRows } from './data.js';

test('snapshot: best follows the objective direction, durations only for finished trials, the table keeps the newest', async () => {
  const store = new SqliteStore(':memory:');
  try {
    const e = await store.createExperiment('latency-run', { objectives: [{ name: 'latency', direction: 'min' }] });
    const latencies = [5, 3, 4];
    for (const [i, latency] of latencies.entries()) {
      const { trial } = await store.createTrial(e.id, { i }, `h${i}`);
      await store.claimTrial(e.id, 'w');
      await store.finishTrial(trial.id, { state: 'complete', metrics: { latency } });
    }
    const { trial: pruned } = await store.createTrial(e.id, { i: 3 }, 'h3');
    await store.finishTrial(pruned.id, { state: 'pruned', reason: 'too big' });
    await store.createTrial(e.id, { i: 4 }, 'h4');

    const snapshot = (await experimentSnapshot(store, 'latency-run', { trialLimit: 3 }))!;
    assert.equal(snapshot.best?.number, 1, 'lowest latency wins');
    assert.equal(snapshot.total, 5);
    assert.deepEqual(snapshot.counts, { pending: 1, running: 0, complete: 3, failed: 0, pruned: 1 });
    assert.deepEqual(snapshot.trials.map((t) => t.number), [4, 3, 2]);
    assert.equal(snapshot.trials[0]!.durationMs, null, 'pending: no duration');
    assert.equal(snapshot.trials[1]!.durationMs, null, 'pruned before it ran: no duration');
    assert.equal(snapshot.trials[1]!.error, 'too big');
    assert.ok(snapshot.trials[2]!.durationMs !== null && snapshot.trials[2]!.durationMs >= 0);
    assert.match(snapshot.charts.bestSoFar!, /<svg /);
    assert.equal(snapshot.charts.pareto, null, 'one objective and no params: no scatter');
    assert.equal(snapshot.charts.curves, null, 'no intermediate values: no curves');
    assert.equal(await experimentSnapshot(store, 'other'), null);

    const [row] = await listExperimentRows(store);
    assert.deepEqual([row!.name, row!.objective, row!.direction, row!.best, row!.total], ['latency-run', 'latency', 'min', 3, 5]);
  } finally {
    await store.close();
  }
});

test('fingerprint: unchanged while nothing changes; changes with a claim, a learning-curve point, a finish and the status', async () => {
  const store = new SqliteStore(':memory:');
  try {
    const e = await store.createExperiment('fp', {});
    const { trial } = await store.createTrial(e.id, { a: 1 }, 'a');
    const seen = [await experimentFingerprint(store, 'fp')];
    assert.equal(await experimentFingerprint(store, 'fp'), seen[0]);
    await store.claimTrial(e.id, 'w');
    seen.push(await experimentFingerprint(store, 'fp'));
    await store.heartbeat(trial.id, 'w');
    assert.equal(await experimentFingerprint(store, 'fp'), seen[1], 'a heartbeat alone shows nothing new');
    await store.reportIntermediate(trial.id, 'val_accuracy', 0, 0.5);
    seen.push(await experimentFingerprint(store, 'fp'));
    await store.finishTrial(trial.id, { state: 'complete', metrics: { accuracy: 0.5 } });
    seen.push(await experimentFingerprint(store, 'fp'));
    await store.setExperimentStatus(e.id, 'finished');
    seen.push(await experimentFingerprint(store, 'fp'));
    assert.equal(new Set(seen).size, seen.length, 'each change gives a new fingerprint');
    assert.equal(await experimentFingerprint(store, 'gone'), 'missing');
  } finally {
    await store.close();
  }
});
