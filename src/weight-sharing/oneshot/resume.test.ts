// The one-shot methods (and SMASH) as checkpointable runs: a run stopped after k epochs
// (and for the first k aborted in the middle of epoch k+1), saved through safetensors bytes
// and JSON, and restored into a new run ends with exactly the records,
// architecture, metrics and inherited weights of an uninterrupted run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syntheticDataset } from '../../data/synthetic.js';
import { safetensorsToTensors, tensorsToSafetensors } from '../../export/safetensors.js';
import type { Json } from '../../util/json.js';
import { manualSeed, memory, type Tensor } from '../../tensor/index.js';
import type { WeightSharingEpoch, WeightSharingRun } from '../run.js';
import { createEnasRun } from './enas.js';
import { createOfaRun } from './ofa.js';
import { createSmashRun } from './smash.js';
import { createFairnasRun, createSposRun, type SposOptions } from './spos.js';
import { oneThreadInThisFile } from '../../testing/threads.js';

oneThreadInThisFile();

// 12×12 images resized to 8 and randomly cropped and flipped, so the training loader's augmentation generator is part of the state.
const data = syntheticDataset({ n: 48, height: 12, width: 12, numClasses: 3, seed: 2 });
const augment = { resize: 8, crop: { padding: 1 }, flip: true };

const nb201: SposOptions = {
  space: 'nb201', C: 4, cells: 1, epochs: 3, batchSize: 8, stepsPerEpoch: 2, seed: 5, augment,
  calibrationBatches: 1, evalBatches: 1, evolution: { budget: 4, population: 2, topK: 2 },
};

const tinyMobilenet = {
  resolutions: [8, 12], widths: [8, 16], strides: [2, 2], activations: ['relu', 'hswish'] as ('relu' | 'hswish')[], squeezeExcite: [false, true],
  depths: [1, 2], kernels: [3, 5], expandRatios: [2, 3],
};

interface Case {
  name: string;
  create: () => WeightSharingRun;
  /** Epochs before the checkpoint. */
  stopAfter: number[];
  check?: (records: WeightSharingEpoch[]) => void;
}

const cases: Case[] = [
  {
    name: 'spos', create: () => createSposRun(data, nb201), stopAfter: [1, 2],
    check: (records) => assert.ok(records.every((r) => r.phase === 'supernet' && r.extra === undefined)),
  },
  {
    // Split after epoch 1: checkpoints at the split (sub-supernets just copied) and after a few-shot epoch.
    name: 'spos few-shot', create: () => createSposRun(data, { ...nb201, fewShot: { edge: 'edge_3_1', epochs: 1 } }), stopAfter: [1, 2],
    check: (records) => assert.deepEqual(records.map((r) => r.phase), ['supernet', 'few-shot', 'few-shot']),
  },
  { name: 'fairnas', create: () => createFairnasRun(data, nb201), stopAfter: [1] },
  {
    name: 'smash', create: () => createSmashRun(data, { C: 4, cells: 1, epochs: 3, batchSize: 8, stepsPerEpoch: 2, seed: 5, augment, calibrationBatches: 1, evalBatches: 1, hidden: 8, budget: 3 }), stopAfter: [1, 2],
    check: (records) => assert.ok(records.every((r) => r.phase === 'hypernetwork')),
  },
  {
    name: 'enas', create: () => createEnasRun(data, { ...nb201, controllerSteps: 2, deriveSamples: 3 }), stopAfter: [1, 2],
    check: (records) => assert.ok(records.every((r) => (r.extra?.controllerRewards as number[]).length === 2 && typeof r.extra?.controllerBaseline === 'number')),
  },
  {
    // Phases full, kernel, depth: a checkpoint at the shrinking phases' start (no teacher yet) and one after (the teacher saved).
    name: 'ofa',
    create: () => createOfaRun(data, {
      spaceOptions: { mobilenet: tinyMobilenet }, epochs: 3, phaseSplit: [1, 1, 1, 0], subnetsPerStep: 2, batchSize: 8, stepsPerEpoch: 2, seed: 3,
      augment: { crop: { padding: 1 }, flip: true }, calibrationBatches: 1, evalBatches: 1, evolution: { budget: 3, population: 2, topK: 2 },
    }),
    stopAfter: [1, 2],
    check: (records) => {
      assert.deepEqual(records.map((r) => r.phase), ['full', 'kernel', 'depth']);
      assert.equal(typeof records[0]!.extra?.initialLargestAccuracy, 'number');
      assert.deepEqual(records.map((r) => r.extra?.phaseEpochs), [[1, 1], [2, 2], [3, 3]]);
      assert.ok(records.every((r) => typeof r.extra?.smallestAccuracy === 'number' && typeof r.extra?.largestAccuracy === 'number'));
    },
  },
];

/** A record without its wall-clock time. */
const comparable = ({ seconds: _seconds, ...rest }: WeightSharingEpoch) => rest;

interface Outcome {
  records: ReturnType<typeof comparable>[];
  arch: string;
  metrics: Record<string, number>;
  inherited: Record<string, number[]> | null;
}

async function trainAndFinish(run: WeightSharingRun, records: WeightSharingEpoch[]): Promise<Outcome> {
  while (run.epochsDone < run.epochs) records.push(await run.trainEpoch());
  const r = await run.finish();
  const inherited = r.inherited ? Object.fromEntries(Object.entries(r.inherited).map(([k, t]) => [k, t.toArray()])) : null;
  for (const t of Object.values(r.inherited ?? {})) t.dispose();
  run.dispose();
  return { records: records.map(comparable), arch: r.arch, metrics: r.metrics, inherited };
}

/** A checkpoint as the store keeps it: tensors as safetensors bytes, state as JSON text. */
function save(run: WeightSharingRun): { bytes: Uint8Array; json: string } {
  const { state, tensors } = run.checkpoint();
  return { bytes: tensorsToSafetensors(tensors), json: JSON.stringify(state) };
}

/** A new run restored from a saved checkpoint (the loaded tensors freed after). */
function restored(c: Case, saved: { bytes: Uint8Array; json: string }): WeightSharingRun {
  const run = c.create();
  // A generator state no epoch starts from: what follows must come from the checkpoint and the per-epoch reseeding.
  manualSeed(12345);
  const { tensors } = safetensorsToTensors(saved.bytes);
  try {
    run.restore(JSON.parse(saved.json) as Json, tensors);
  } finally {
    for (const t of Object.values(tensors) as Tensor[]) t.dispose();
  }
  return run;
}

for (const c of cases) {
  test(`${c.name}: restored from a checkpoint after k epochs (and an aborted epoch), a new run ends exactly as an uninterrupted one; no leaked tensors`, async () => {
    const start = memory().numTensors;
    const whole = await trainAndFinish(c.create(), []);
    c.check?.(whole.records as WeightSharingEpoch[]);
    assert.ok(whole.metrics.evaluations! >= 1 && Number.isFinite(whole.metrics.supernet_accuracy) && whole.metrics.flops! > 0);

    for (const k of c.stopAfter) {
      const first = c.create();
      const records: WeightSharingEpoch[] = [];
      for (let e = 0; e < k; e++) records.push(await first.trainEpoch());
      const saved = save(first);
      if (k === c.stopAfter[0]) {
        // Aborted in the middle of epoch k+1: the fresh run below resumes from the checkpoint of epoch k.
        const stop = new Error('Ctrl-C');
        const controller = new AbortController();
        const epoch = first.trainEpoch(controller.signal);
        // The epoch waits for the event loop before each step: this runs after its first step.
        setImmediate(() => controller.abort(stop));
        await assert.rejects(epoch, (e) => e === stop);
        // An already aborted signal stops before any step.
        await assert.rejects(first.trainEpoch(controller.signal), (e) => e === stop);
      }
      first.dispose();
      const second = restored(c, saved);
      assert.equal(second.epochsDone, k);
      const resumed = await trainAndFinish(second, records);
      assert.deepEqual(resumed, whole, `${c.name} resumed after ${k} epochs`);
    }

    assert.equal(memory().numTensors, start);
  });
}

test('restore refuses a checkpoint of another method, naming it', async () => {
  const start = memory().numTensors;
  const enas = createEnasRun(data, { ...nb201, controllerSteps: 1, deriveSamples: 1 });
  const spos = createSposRun(data, nb201);
  try {
    const { state, tensors } = enas.checkpoint();
    assert.throws(() => spos.restore(state, tensors), /checkpoint: expected a checkpoint of the spos method, got one of 'enas'/);
  } finally {
    enas.dispose();
    spos.dispose();
  }
  assert.equal(memory().numTensors, start);
});

test('a time budget ends training after the epoch that spends it, also for a restored run; OFA then closes the phase it stopped in', async () => {
  const start = memory().numTensors;
  const run = createSposRun(data, { ...nb201, timeBudgetSeconds: 0 });
  const again = createSposRun(data, { ...nb201, timeBudgetSeconds: 0 });
  const ofa = createOfaRun(data, {
    spaceOptions: { mobilenet: tinyMobilenet }, epochs: 4, batchSize: 8, stepsPerEpoch: 1, calibrationBatches: 1, evalBatches: 1, timeBudgetSeconds: 0,
  });
  try {
    assert.equal(run.epochs, 3);
    await run.trainEpoch();
    assert.deepEqual([run.epochsDone, run.epochs], [1, 1]);
    await assert.rejects(run.trainEpoch(), /all 1 epochs of the spos run are trained already/);
    const { state, tensors } = run.checkpoint();
    again.restore(state, tensors);
    assert.deepEqual([again.epochsDone, again.epochs], [1, 1]);
    const record = await ofa.trainEpoch();
    assert.equal(ofa.epochs, 1);
    assert.equal(record.phase, 'full');
    assert.deepEqual(record.extra?.phaseEpochs, [1, 1]);
  } finally {
    run.dispose();
    again.dispose();
    ofa.dispose();
  }
  assert.equal(memory().numTensors, start);
});
