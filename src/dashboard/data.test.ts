// The dashboard's data layer on in-memory SQLite stores: the view's
// contents (best by direction, durations, choices, front, per-choice
// statistics, cells), the tracker's incremental reads and fingerprint, the
// updates (only what changed) and the collapse warnings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getSpace } from '../kits/index.js';
import { SqliteStore } from '../store/sqlite.js';
import type { ListTrialsOptions, Store } from '../store/types.js';
import { choiceImportance, collapseWarnings, experimentSnapshot, ExperimentTracker, listExperimentRows, ViewDiffer, type TrialRow } from './data.js';

const nb201 = getSpace('nb201', {});

async function addNb201Trial(store: Store, experimentId: number, arch: string, metrics: Record<string, number>): Promise<void> {
  const sample = nb201.parse(arch);
  const { trial } = await store.createTrial(experimentId, sample as never, nb201.hash(sample));
  await store.claimTrial(experimentId, 'w');
  await store.finishTrial(trial.id, { state: 'complete', metrics });
}
const ARCH_A = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|';
const ARCH_B = '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|';
const ARCH_C = '|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|';

test('view: best follows the objective direction, durations only for finished trials, trials in number order', async () => {
  const store = new SqliteStore(':memory:');
  try {
    const e = await store.createExperiment('latency-run', { objectives: [{ name: 'latency', direction: 'min' }] });
    for (const [i, latency] of [5, 3, 4].entries()) {
      const { trial } = await store.createTrial(e.id, { i }, `h${i}`);
      await store.claimTrial(e.id, 'w');
      await store.finishTrial(trial.id, { state: 'complete', metrics: { latency } });
    }
    const { trial: pruned } = await store.createTrial(e.id, { i: 3 }, 'h3');
    await store.finishTrial(pruned.id, { state: 'pruned', reason: 'too big' });
    await store.createTrial(e.id, { i: 4 }, 'h4');

    const view = (await experimentSnapshot(store, 'latency-run'))!;
    assert.equal(view.best, 1, 'lowest latency wins');
    assert.equal(view.total, 5);
    assert.deepEqual(view.counts, { pending: 1, running: 0, complete: 3, failed: 0, pruned: 1 });
    assert.deepEqual(view.trials.map((t) => t.number), [0, 1, 2, 3, 4]);
    assert.equal(view.trials[4]!.durationMs, null, 'pending: no duration');
    assert.equal(view.trials[3]!.durationMs, null, 'pruned before it ran: no duration');
    assert.equal(view.trials[3]!.error, 'too big');
    assert.ok(view.trials[2]!.durationMs !== null && view.trials[2]!.durationMs >= 0);
    assert.equal(view.front, null, 'one objective and no params: no front');
    assert.equal(view.curves, null, 'no intermediate values: no curves');
    assert.equal(view.weightSharing, null);
    assert.deepEqual(view.trials[0]!.choices, [null, null, null, null, null, null], 'not samples of the (default nb201) space: no choices');
    assert.equal(await experimentSnapshot(store, 'other'), null);

    const [row] = await listExperimentRows(store);
    assert.deepEqual([row!.name, row!.objective, row!.direction, row!.best, row!.total], ['latency-run', 'latency', 'min', 3, 5]);
  } finally {
    await store.close();
  }
});

test('view: dimensions and choices come from the space kit; the front, per-choice statistics and best cells', async () => {
  const store = new SqliteStore(':memory:');
  try {
    const e = await store.createExperiment('nb', { space: { name: 'nb201' }, objectives: ['accuracy', 'params'] });
    await addNb201Trial(store, e.id, ARCH_A, { accuracy: 0.9, params: 1e6 });
    await addNb201Trial(store, e.id, ARCH_B, { accuracy: 0.8, params: 2e6 });
    await addNb201Trial(store, e.id, ARCH_C, { accuracy: 0.7, params: 0.5e6 });
    const view = (await experimentSnapshot(store, 'nb'))!;
    assert.deepEqual(view.dimensions!.map((d) => d.label), nb201.dimensions().map((d) => d.label));
    const first = view.dimensions![0]!;
    assert.equal(view.trials[0]!.choices![0], first.values.indexOf('nor_conv_3x3'));
    assert.equal(view.trials[1]!.choices![0], first.values.indexOf('avg_pool_3x3'));
    assert.deepEqual(view.front, { objectives: [{ name: 'accuracy', direction: 'max' }, { name: 'params', direction: 'min' }], numbers: [0, 2] }, '#1 is dominated by #0');
    assert.deepEqual(view.cells.map((c) => c.number), [0, 1, 2], 'best first');
    assert.match(view.cells[0]!.svg, /^<svg /);
    // Edge 1 (the first dimension): nor_conv_3x3 in #0 and #2 (0.9, 0.7), avg_pool_3x3 in #1.
    const edge = view.importance!.filter((c) => c.label === first.label);
    assert.deepEqual(edge.map((c) => [c.value, c.n]), [['nor_conv_3x3', 2], ['avg_pool_3x3', 1]].sort((a, b) => first.values.indexOf(a[0] as string) - first.values.indexOf(b[0] as string)));
    const conv = edge.find((c) => c.value === 'nor_conv_3x3')!;
    assert.ok(Math.abs(conv.mean - 0.8) < 1e-12);
    assert.ok(Math.abs(conv.sd - Math.sqrt(0.02)) < 1e-12, 'sample standard deviation of 0.9 and 0.7');
    assert.equal(edge.find((c) => c.value === 'avg_pool_3x3')!.sd, 0, 'one trial: no spread');
  } finally {
    await store.close();
  }
});

test('choiceImportance skips trials without the objective or the dimension', () => {
  const dims = [{ label: 'op', kind: 'categorical', values: ['a', 'b'] }];
  const row = (state: TrialRow['state'], choice: number | null, accuracy?: number): TrialRow => ({
    number: 0, state, arch: '', metrics: accuracy === undefined ? {} : { accuracy }, durationMs: null, error: null, choices: [choice],
  });
  const stats = choiceImportance(dims, [row('complete', 0, 1), row('complete', 0, 3), row('complete', null, 9), row('complete', 1), row('failed', 1, 5)], 'accuracy');
  assert.deepEqual(stats, [{ label: 'op', value: 'a', n: 2, mean: 2, sd: Math.SQRT2 }]);
});

test('tracker: reads only from the lowest unfinished trial on; the fingerprint moves with claims, curve points, finishes and the status', async () => {
  const inner = new SqliteStore(':memory:');
  const offsets: (number | undefined)[] = [];
  const store = new Proxy(inner, {
    get(target, key) {
      if (key === 'listTrials') {
        return (id: number, o?: ListTrialsOptions) => {
          if (!o?.states) offsets.push(o?.offset);
          return target.listTrials(id, o);
        };
      }
      const value = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as Store;
  try {
    const e = await store.createExperiment('fp', {});
    for (let i = 0; i < 3; i++) {
      const { trial } = await store.createTrial(e.id, { i }, `h${i}`);
      await store.finishTrial(trial.id, { state: 'complete', metrics: { accuracy: i / 10 } });
    }
    const { trial } = await store.createTrial(e.id, { a: 1 }, 'a');
    const tracker = new ExperimentTracker(store, 'fp');
    await tracker.refresh();
    await tracker.refresh();
    assert.deepEqual(offsets, [0, 3], 'the second read starts at the first unfinished trial');

    const seen = [await tracker.fingerprint()];
    assert.equal(await tracker.fingerprint(), seen[0]);
    await store.claimTrial(e.id, 'w');
    seen.push(await tracker.fingerprint());
    await store.heartbeat(trial.id, 'w');
    assert.equal(await tracker.fingerprint(), seen[1], 'a heartbeat alone shows nothing new');
    await store.reportIntermediate(trial.id, 'val_accuracy', 0, 0.5);
    seen.push(await tracker.fingerprint());
    const view = (await tracker.refresh())!;
    assert.deepEqual(view.curves, { metric: 'val_accuracy', trials: [{ number: 3, points: [[0, 0.5]] }] });
    await store.finishTrial(trial.id, { state: 'complete', metrics: { accuracy: 0.5 } });
    seen.push(await tracker.fingerprint());
    await store.setExperimentStatus(e.id, 'finished');
    seen.push(await tracker.fingerprint());
    await store.recordEpoch(e.id, 'supernet', 1, { epoch: 1 });
    seen.push(await tracker.fingerprint());
    assert.equal(new Set(seen).size, seen.length, 'each change gives a new fingerprint');
    assert.equal(await new ExperimentTracker(store, 'gone').fingerprint(), 'missing');
  } finally {
    await inner.close();
  }
});

test('updates: the first is the whole view, then only new or changed trials and the fields that moved; nothing when nothing changed', async () => {
  const store = new SqliteStore(':memory:');
  try {
    const e = await store.createExperiment('nb', { space: { name: 'nb201' } });
    await addNb201Trial(store, e.id, ARCH_A, { accuracy: 0.7 });
    await addNb201Trial(store, e.id, ARCH_B, { accuracy: 0.8 });
    const tracker = new ExperimentTracker(store, 'nb');
    const differ = new ViewDiffer();
    const first = differ.diff((await tracker.refresh())!)!;
    assert.equal(first.trials!.length, 2);
    assert.deepEqual(first.epochs, []);
    assert.equal(differ.diff((await tracker.refresh())!), null, 'nothing changed');

    await addNb201Trial(store, e.id, ARCH_C, { accuracy: 0.9 });
    const delta = differ.diff((await tracker.refresh())!)!;
    assert.deepEqual(delta.trials!.map((t) => t.number), [2], 'only the new trial');
    assert.equal(delta.best, 2);
    assert.equal(delta.total, 3);
    assert.ok(delta.cells && delta.importance && delta.counts);
    assert.equal(delta.dimensions, undefined, 'unchanged fields are left out');
    assert.equal(delta.experiment, undefined);
    assert.equal(delta.epochs, undefined);

    const { trial } = await store.createTrial(e.id, { edge_1_0: 'none' }, 'p');
    assert.deepEqual(Object.keys(differ.diff((await tracker.refresh())!)!).sort(), ['counts', 'total', 'trials']);
    await store.finishTrial(trial.id, { state: 'pruned', reason: 'x' });
    const finished = differ.diff((await tracker.refresh())!)!;
    assert.deepEqual(finished.trials!.map((t) => [t.number, t.state]), [[3, 'pruned']]);
  } finally {
    await store.close();
  }
});

test('weight-sharing view: operations once, epochs as records, the derived cell drawn, updates carry new epochs only', async () => {
  const store = new SqliteStore(':memory:');
  try {
    const e = await store.createExperiment('ws', { space: { name: 'nb201' } });
    await store.saveStrategyState(e.id, { method: 'darts', phase: 'supernet', epochsDone: 0, epochs: 4 }, 0);
    const epoch = (n: number, skipFraction: number) =>
      store.recordEpoch(e.id, 'supernet', n, { epoch: n, phase: 'search', weights: { edge_1_0: [0.5, 0.5] }, operations: { edge_1_0: ['none', 'skip_connect'] }, arch: ARCH_C, skipFraction });
    await epoch(1, 0.1);
    const tracker = new ExperimentTracker(store, 'ws');
    const differ = new ViewDiffer();
    const view = (await tracker.refresh())!;
    differ.diff(view);
    assert.deepEqual(view.weightSharing!.operations, { edge_1_0: ['none', 'skip_connect'] });
    assert.equal(view.epochs[0]!.record['operations'], undefined, 'operation names are not repeated per epoch');
    assert.deepEqual([view.weightSharing!.method, view.weightSharing!.phase, view.weightSharing!.epochsDone, view.weightSharing!.epochs], ['darts', 'supernet', 1, 4]);
    assert.match(view.weightSharing!.derivedCell!, /^<svg /);
    assert.equal(view.weightSharing!.derivedArch, ARCH_C);
    assert.deepEqual(view.weightSharing!.collapse, []);

    await epoch(2, 0.5);
    const delta = differ.diff((await tracker.refresh())!)!;
    assert.deepEqual(delta.epochs!.map((r) => r.key), ['supernet:2']);
    assert.deepEqual(delta.weightSharing!.collapse, [{ epoch: 2, reason: 'skip share 0.5 >= 0.25' }]);
    assert.equal(delta.trials, undefined);
  } finally {
    await store.close();
  }
});

test('collapse warnings: the skip share threshold and a growing Hessian eigenvalue, each at its first epoch', () => {
  const history = Array.from({ length: 12 }, (_, i) => ({ epoch: i + 1, skipFraction: i < 8 ? 0.125 : 0.25, hessianEigenvalue: i < 6 ? 0.1 : 0.2 }));
  // λ is 0.1 for epochs 1-6, then 0.2. Windows of 5 exist from epoch 10: mean of epochs 1-5 (0.1) over mean of 6-10 (0.18) = 0.56 < 0.75.
  assert.deepEqual(collapseWarnings(history), [
    { epoch: 9, reason: 'skip share 0.25 >= 0.25' },
    { epoch: 10, reason: 'Hessian eigenvalue grew 1.8x over 5 epochs' },
  ]);
  assert.deepEqual(collapseWarnings(history.map((h) => ({ ...h, skipFraction: 0.1, hessianEigenvalue: 0.1 }))), [], 'a steady run: no warning');
});
