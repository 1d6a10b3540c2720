// Differentiable search on space supernets (generic.ts): DARTS and GDAS on
// the chain and hierarchical spaces (and second-order DARTS, β-DARTS, DrNAS
// and SDARTS on chain) move
// α, record softmax(α) per label with the label's values, end with a valid
// sample of the space, and resume from a stored checkpoint exactly;
// cell-only options and PC-DARTS are refused by name. Tiny supernets, 1 thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syntheticDataset } from '../../data/synthetic.js';
import { safetensorsToTensors, tensorsToSafetensors } from '../../export/safetensors.js';
import { getKit, getSpace } from '../../kits/index.js';
import type { Json } from '../../store/types.js';
import { memory, setNumThreads } from '../../tensor/index.js';
import { TsnasError } from '../../errors.js';
import { getWeightSharingMethod } from '../methods.js';
import type { WeightSharingEpoch, WeightSharingResult } from '../run.js';
import { createSupernetDifferentiableRun, type SupernetSearchOptions } from './generic.js';
import type { DifferentiableMethod } from './traits.js';

setNumThreads(1);

const data = syntheticDataset({ n: 48, height: 8, width: 8, numClasses: 3, seed: 5 });

/** Space options keyed by space name (as getSpace takes them): chain's small setting, a hierarchical space of at most 2 stages of at most 2 cells. */
const SPACE_OPTIONS: Record<string, Record<string, object>> = {
  chain: { chain: getKit('chain').testing.spaceOptions! },
  hierarchical: { hierarchical: { stageCounts: [1, 2], cellsPerStage: [1, 2], channels: [4, 8] } },
  mobilenet: {
    mobilenet: { resolutions: [8], widths: [8, 16], strides: [2, 2], activations: ['relu', 'relu'], squeezeExcite: [false, false], depths: [1, 2], kernels: [3, 5], expandRatios: [2, 3] },
  },
};

const optionsOf = (space: string, method: DifferentiableMethod): SupernetSearchOptions => ({
  method, space, spaceOptions: SPACE_OPTIONS[space]!, epochs: 3, batchSize: 4, stepsPerEpoch: 2, archLr: 0.05, seed: 4,
  augment: { crop: { padding: 1 }, flip: true },
});

const cases: [string, DifferentiableMethod][] = [
  ['chain', 'darts'], ['chain', 'darts2'], ['chain', 'gdas'], ['hierarchical', 'darts'], ['hierarchical', 'gdas'],
  ['chain', 'beta-darts'], ['chain', 'drnas'], ['chain', 'sdarts'], ['chain', 'proxyless'], ['mobilenet', 'proxyless'],
];

interface Outcome {
  records: WeightSharingEpoch[];
  result: WeightSharingResult;
}

const comparable = (records: WeightSharingEpoch[]) => records.map(({ seconds: _, ...rest }) => rest);

async function trainToEnd(run: ReturnType<typeof createSupernetDifferentiableRun>, records: WeightSharingEpoch[]): Promise<WeightSharingResult> {
  while (run.epochsDone < run.epochs) records.push(await run.trainEpoch());
  return run.finish();
}

/** The whole run; `restartAfter`: a checkpoint after that many epochs, stored (safetensors, JSON) and restored into a fresh run that trains the rest. */
async function runOf(o: SupernetSearchOptions, restartAfter?: number): Promise<Outcome & { alphaMoved: boolean }> {
  const records: WeightSharingEpoch[] = [];
  let run = createSupernetDifferentiableRun(data, o);
  const alphaStart = run.supernet.architectureParameters().map((a) => a.toArray());
  try {
    if (restartAfter !== undefined) {
      for (let e = 0; e < restartAfter; e++) records.push(await run.trainEpoch());
      const c = run.checkpoint();
      const bytes = tensorsToSafetensors(c.tensors);
      const state = JSON.parse(JSON.stringify(c.state)) as Json;
      run.dispose();
      run = createSupernetDifferentiableRun(data, o);
      const { tensors } = safetensorsToTensors(bytes);
      try {
        run.restore(state, tensors);
      } finally {
        for (const t of Object.values(tensors)) t.dispose();
      }
      assert.equal(run.epochsDone, restartAfter);
    }
    const result = await trainToEnd(run, records);
    const alphaEnd = run.supernet.architectureParameters().map((a) => a.toArray());
    return { records, result, alphaMoved: alphaEnd.some((a, i) => a.some((v, j) => v !== alphaStart[i]![j])) };
  } finally {
    run.dispose();
  }
}

for (const [space, method] of cases) {
  test(`${method} on the ${space} supernet: α moves, records softmax(α) per label, ends with a sample of the space, resumes exactly`, async () => {
    const before = memory().numTensors;
    const o = optionsOf(space, method);
    const whole = await runOf(o);
    const sp = getSpace(space, o.spaceOptions);
    assert.ok(whole.alphaMoved, 'α was trained');
    assert.equal(whole.records.length, 3);
    for (const r of whole.records) {
      assert.equal(r.phase, 'search');
      const labels = sp.dimensions().map((d) => d.label);
      assert.deepEqual(Object.keys(r.weights!).sort(), [...labels].sort(), 'one α per label of the space');
      for (const [label, w] of Object.entries(r.weights!)) {
        assert.ok(Math.abs(w.reduce((a, b) => a + b, 0) - 1) < 1e-5, `softmax of ${label} sums to 1`);
        assert.deepEqual(r.operations![label], sp.dimension(label).values.map(String));
      }
      sp.validate(sp.parse(r.arch!));
      assert.equal(r.tau === null, method !== 'gdas');
    }
    if (method === 'gdas') assert.ok(whole.records[0]!.tau! > whole.records[2]!.tau!, 'τ is annealed');
    sp.validate(whole.result.sample);
    assert.equal(whole.result.arch, sp.format(whole.result.sample));
    assert.equal(whole.result.arch, whole.records[2]!.arch);
    const accuracy = whole.result.metrics['supernet_accuracy']!;
    assert.ok(accuracy >= 0 && accuracy <= 1 && accuracy === whole.records[2]!.validAccuracy);

    for (const k of [1, 2]) {
      const resumed = await runOf(o, k);
      assert.deepEqual(comparable(resumed.records), comparable(whole.records), `resumed after epoch ${k}: records`);
      assert.deepEqual(resumed.result, whole.result, `resumed after epoch ${k}: result`);
    }
    assert.equal(memory().numTensors, before, 'no tensor leaked');
  });
}

test('through the method table: spaces other than nb201 and darts get the supernet run; cell-only options and pcdarts are refused by name', () => {
  const before = memory().numTensors;
  const context = { space: 'chain', spaceOptions: SPACE_OPTIONS['chain']!, seed: 0, validFraction: 0.5, augment: {}, limits: {} };
  const defaults = { epochs: 1, batch: 8, lr: 0.025, lrMin: 0.001, momentum: 0.9, weightDecay: 3e-4, gradClip: 5, archLr: 3e-4, archWeightDecay: 1e-3, fairLambda: 0, skipDropout: 0, hessianEvery: 0, hessianIterations: 20, earlyStop: 0 };
  const run = getWeightSharingMethod('darts').create(data, context, defaults);
  assert.equal(run.epochs, 1);
  run.dispose();
  const whereOf = (method: string, o: Record<string, unknown>) => {
    try {
      getWeightSharingMethod(method).create(data, context, { ...defaults, ...o }).dispose();
    } catch (e) {
      assert.ok(e instanceof TsnasError && e.code === 'config', String(e));
      return e.message;
    }
    assert.fail('accepted');
  };
  assert.match(whereOf('darts', { skipDropout: 0.2 }), /^strategy\.options\.skipDropout: .*not the chain supernet/);
  assert.match(whereOf('darts', { cost: { kind: 'flops', lambda: 0.1 } }), /^strategy\.options\.cost: /);
  assert.match(whereOf('darts', { earlyStop: 2 }), /^strategy\.options\.earlyStop: /);
  assert.match(whereOf('pcdarts', { pcK: 2, edgeNormalization: true }), /^strategy\.name: pcdarts .* on chain use darts, darts2 or gdas/);
  assert.match(whereOf('darts-minus', { auxSkip: 1 }), /darts-minus adds an auxiliary skip connection beside the skip_connect candidates; this supernet has none/);
  assert.equal(memory().numTensors, before, 'no tensor leaked');
});
