// Differentiable runs resumed from a checkpoint (tensors through
// safetensors bytes, state through JSON) end exactly as uninterrupted ones:
// every number of every epoch record and the final architecture, for each
// method (and GDAS's modes), after 1 or 2 epochs, after an abort in the middle of an epoch, and
// across DARTS-ES and time-budget stops. Tiny supernets, 1 thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syntheticDataset } from '../../data/synthetic.js';
import { safetensorsToTensors, tensorsToSafetensors } from '../../export/safetensors.js';
import type { Json } from '../../util/json.js';
import { memory, setNumThreads } from '../../tensor/index.js';
import { createDifferentiableRun, type DifferentiableEpoch, type DifferentiableResult, type SearchOptions } from './run.js';
import { flopsCostTable } from './search.js';

setNumThreads(1);

const data = syntheticDataset({ n: 48, height: 8, width: 8, numClasses: 3, seed: 5 });
// 24 training images in batches of 8 and 2 steps per epoch: the loaders' epochs do not line up with the search's.
const base: SearchOptions = {
  method: 'darts', space: 'nb201', C: 4, cells: 1, epochs: 3, batchSize: 8, stepsPerEpoch: 2, archLr: 0.05, seed: 4,
  augment: { crop: { padding: 1 }, flip: true },
};

const cases: [string, SearchOptions][] = [
  ['darts (Hessian, fairness and cost terms)', { ...base, hessianEvery: 1, hessianIterations: 3, fairLambda: 0.1, cost: { table: flopsCostTable('nb201', 4), lambda: 0.01 } }],
  ['darts2 (skip dropout)', { ...base, method: 'darts2', skipDropout: 0.3 }],
  ['pcdarts (warm-up, edge normalisation)', { ...base, method: 'pcdarts', pcK: 2, archWarmupEpochs: 1 }],
  ['gdas (the reference code\'s defaults)', { ...base, method: 'gdas' }],
  ['gdas soft (geometric τ, α first, no idle decay)', { ...base, method: 'gdas', gdasMode: 'soft', tauSchedule: 'geometric', stepOrder: 'arch-first', decayIdle: false }],
  ['beta-darts', { ...base, method: 'beta-darts', betaLambdaMax: 5 }],
  ['drnas', { ...base, method: 'drnas' }],
  ['darts-minus', { ...base, method: 'darts-minus' }],
  ['sdarts', { ...base, method: 'sdarts' }],
  ['sdarts adversarial', { ...base, method: 'sdarts', perturbation: 'adversarial', attackSteps: 2 }],
  ['proxyless', { ...base, method: 'proxyless' }],
];

interface Outcome {
  records: DifferentiableEpoch[];
  result: DifferentiableResult;
}

/** Records without their wall-clock seconds, the one field that may differ. */
const comparable = (records: DifferentiableEpoch[]) => records.map(({ seconds: _, ...rest }) => rest);

/** A checkpoint as it comes back from storage: tensors through safetensors bytes, state through JSON. */
function stored(run: ReturnType<typeof createDifferentiableRun>): { bytes: Uint8Array; state: Json } {
  const c = run.checkpoint();
  return { bytes: tensorsToSafetensors(c.tensors), state: JSON.parse(JSON.stringify(c.state)) as Json };
}

async function trainToEnd(run: ReturnType<typeof createDifferentiableRun>, records: DifferentiableEpoch[]): Promise<DifferentiableResult> {
  while (run.epochsDone < run.epochs) records.push(await run.trainEpoch());
  return run.finish();
}

async function uninterrupted(o: SearchOptions): Promise<Outcome> {
  const run = createDifferentiableRun(data, o);
  try {
    const records: DifferentiableEpoch[] = [];
    return { records, result: await trainToEnd(run, records) };
  } finally {
    run.dispose();
  }
}

/** k epochs, a checkpoint (then optionally part of an aborted epoch), and the rest in a new run restored from it. */
async function resumed(o: SearchOptions, k: number, abortMidEpoch = false): Promise<Outcome> {
  const records: DifferentiableEpoch[] = [];
  const first = createDifferentiableRun(data, o);
  let saved: { bytes: Uint8Array; state: Json };
  let epochsDone: number;
  try {
    for (let e = 0; e < k; e++) records.push(await first.trainEpoch());
    saved = stored(first);
    epochsDone = first.epochsDone;
    if (abortMidEpoch) {
      const controller = new AbortController();
      const epoch = first.trainEpoch(controller.signal);
      // The run yields between steps: this fires after its first step.
      setImmediate(() => controller.abort(new Error('interrupted')));
      await assert.rejects(epoch, /interrupted/);
      assert.throws(() => first.checkpoint(), /an epoch or a restore was interrupted; restore a checkpoint first/);
    }
  } finally {
    first.dispose();
  }
  const second = createDifferentiableRun(data, o);
  const { tensors } = safetensorsToTensors(saved.bytes);
  try {
    second.restore(saved.state, tensors);
    for (const t of Object.values(tensors)) t.dispose();
    assert.equal(second.epochsDone, epochsDone);
    return { records, result: await trainToEnd(second, records) };
  } finally {
    second.dispose();
  }
}

function assertSame(actual: Outcome, expected: Outcome, what: string): void {
  assert.deepEqual(comparable(actual.records), comparable(expected.records), `${what}: epoch records`);
  const { derived: _a, ...a } = actual.result;
  const { derived: _e, ...e } = expected.result;
  assert.deepEqual(a, e, `${what}: result`);
}

for (const [name, o] of cases) {
  test(`${name}: resumed after 1 and 2 epochs, the run ends exactly as uninterrupted`, async () => {
    const start = memory().numTensors;
    const whole = await uninterrupted(o);
    assert.equal(whole.records.length, 3);
    // The records carry what the method has: α moves, the warm-up freezes it.
    const labels = Object.keys(whole.records[0]!.weights);
    assert.deepEqual(Object.keys(whole.records[0]!.operations), labels);
    assert.ok(labels.every((l) => whole.records[0]!.operations[l]!.length === whole.records[0]!.weights[l]!.length));
    assert.notDeepEqual(whole.records[2]!.weights, whole.records[0]!.weights);
    assert.deepEqual(whole.records.map((r) => r.phase), o.method === 'pcdarts' ? ['warmup', 'search', 'search'] : ['search', 'search', 'search']);
    assert.equal(whole.records.every((r) => r.edgeWeights !== undefined), o.method === 'pcdarts');
    assert.equal(whole.records.every((r) => r.tau !== null), o.method === 'gdas');
    assert.equal(whole.records.every((r) => r.hessianEigenvalue !== null), o.hessianEvery === 1);
    assert.equal(whole.records.every((r) => r.extra !== undefined), ['beta-darts', 'darts-minus', 'sdarts'].includes(o.method), 'the scheduled coefficient is recorded');
    assert.equal(whole.records.every((r) => r.expectedCost !== null), o.cost !== undefined);
    assert.equal(whole.result.arch, whole.records[2]!.arch);
    assert.equal(whole.result.metrics.stopped_early, 0);
    assert.equal('expected_cost' in whole.result.metrics, o.cost !== undefined);
    for (const k of [1, 2]) assertSame(await resumed(o, k), whole, `resumed after ${k}`);
    if (o.method === 'pcdarts') assertSame(await resumed(o, 1, true), whole, 'aborted in epoch 2, resumed after 1');
    assert.equal(memory().numTensors, start);
  });
}

for (const method of ['darts', 'gdas', 'beta-darts', 'drnas', 'darts-minus', 'sdarts', 'proxyless'] as const) {
  test(`${method} on the darts space: α moves, a genotype is derived, resumed after 1 epoch the run ends exactly as uninterrupted`, async () => {
    const start = memory().numTensors;
    const o: SearchOptions = { ...base, method, space: 'darts', cells: 3, epochs: 2, ...(method === 'darts' ? {} : { stepsPerEpoch: 1 }) };
    const whole = await uninterrupted(o);
    assert.match(whole.result.arch, /^Genotype\(/);
    assert.notDeepEqual(whole.records[1]!.weights, whole.records[0]!.weights);
    assertSame(await resumed(o, 1), whole, 'resumed after 1');
    assert.equal(memory().numTensors, start);
  });
}

test('DARTS-ES and the time budget stop early, and the stop survives a checkpoint', async () => {
  const start = memory().numTensors;
  // ratio 0: any positive mean eigenvalue counts as a rise, so it stops after 2 epochs with epoch 1's architecture.
  const es: SearchOptions = { ...base, epochs: 5, stepsPerEpoch: 1, hessianIterations: 3, earlyStop: { window: 1, ratio: 0 } };
  const whole = await uninterrupted(es);
  assert.equal(whole.records.length, 2);
  assert.equal(whole.result.arch, whole.records[0]!.arch);
  assert.equal(whole.result.metrics.stopped_early, 1);
  assert.equal(whole.result.epochsTrained, 2);
  assertSame(await resumed(es, 1), whole, 'DARTS-ES resumed after 1');
  assertSame(await resumed(es, 2), whole, 'DARTS-ES resumed after the stop');

  const budget: SearchOptions = { ...base, epochs: 4, timeBudgetSeconds: 0 };
  const stopped = await uninterrupted(budget);
  assert.equal(stopped.records.length, 1);
  assert.equal(stopped.result.arch, stopped.records[0]!.arch);
  assert.equal(stopped.result.metrics.stopped_early, 1);
  assertSame(await resumed(budget, 1), stopped, 'time budget resumed after the stop');
  assert.equal(memory().numTensors, start);
});

test('a run refuses a checkpoint of another method, and epochs past the end', async () => {
  const start = memory().numTensors;
  const darts = createDifferentiableRun(data, { ...base, epochs: 1 });
  const gdas = createDifferentiableRun(data, { ...base, method: 'gdas' });
  try {
    await darts.trainEpoch();
    await assert.rejects(darts.trainEpoch(), /all 1 epochs are done/);
    const c = darts.checkpoint();
    assert.throws(() => gdas.restore(c.state, c.tensors), /the checkpoint is of darts on nb201, this run is gdas on nb201/);
    await assert.rejects(gdas.finish(), /finish: 0 of 3 epochs are done/);
  } finally {
    darts.dispose();
    gdas.dispose();
  }
  assert.equal(memory().numTensors, start);
});
