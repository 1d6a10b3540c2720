// The morphism strategy in stored experiments with the training estimator:
// every trial keeps its weights, a child starts from its parent's function,
// a stopped run resumes to the trials of an uninterrupted one, parallel
// workers get the lineage and the parent's weights, and bad options are
// config errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TsnasError } from '../errors.js';
import { inheritedNetwork } from '../estimators/morphism.js';
import { loadSafetensors } from '../export/safetensors.js';
import { buildNetwork } from '../kits/index.js';
import type { WeightInheritance } from '../networks/morphism.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { Sample } from '../spaces/types.js';
import { createStrategy } from '../strategies/index.js';
import { memory, setNumThreads } from '../tensor/index.js';
import { evaluate } from '../train/trainer.js';
import { checkConfig } from './config.js';
import { configSpace, createTrialEstimator, loadSplit, networkPlan, weightsFile } from './estimators.js';
import { runExperiment } from './run.js';

setNumThreads(1);

const config = (overrides: Record<string, unknown> = {}) => checkConfig({
  name: 'exp',
  seed: 2,
  threads: 1,
  space: { name: 'chain', options: { maxDepth: 4, filters: [4, 8], kernels: [1, 3] } },
  strategy: { name: 'morphism', options: { children: 2, morphismsPerChild: 2, start: 'conv:1:4:relu > conv:1:4:relu' } },
  estimator: { kind: 'training', epochs: 1, batch: 16, resolution: 8 },
  dataset: { limitTrain: 48, validFraction: 0.25 },
  budget: { trials: 7 },
  ...overrides,
});

async function trialsOf(store: Store) {
  const e = (await store.getExperiment('exp'))!;
  // Everything but the measured training time.
  return (await store.listTrials(e.id)).map((t) => {
    const { train_seconds: _, ...metrics } = t.metrics ?? {};
    return [t.number, t.sampleHash, t.state, metrics];
  });
}

test('morphism with the training estimator: every trial keeps its weights, and a child starts from its parent\'s function', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-morphism-'));
  const store = await openStore('sqlite::memory:');
  try {
    const c = config();
    const r = await runExperiment({ store, config: c, artifactsDir: dir });
    assert.equal(r.told, 7);
    const trials = await store.listTrials(r.experimentId);
    assert.ok(trials.every((t) => t.state === 'complete'), JSON.stringify(trials.map((t) => t.error)));
    const weightsDir = join(dir, 'weights');
    for (const t of trials) assert.ok(existsSync(weightsFile(weightsDir, t.sampleHash)), `trial ${t.number} kept no weights`);

    // Trial 1 is a child of trial 0 (the start): from trial 0's kept weights, its network computes what trial 0's did.
    const space = configSpace(c);
    const split = loadSplit(c, 8);
    const plan = networkPlan(space, c.estimator, split.train);
    const before = memory().numTensors;
    const [parentTrial, childTrial] = trials as [(typeof trials)[0], (typeof trials)[0]];
    const parentSample = parentTrial.sample as unknown as Sample;
    const parent = buildNetwork(space, parentSample, plan.options(parentSample));
    const { tensors } = loadSafetensors(weightsFile(weightsDir, parentTrial.sampleHash));
    parent.loadStateDict(tensors);
    // The lineage is the strategy's: a fresh strategy of the same seed asks the same.
    const fresh = createStrategy('morphism', space, { seed: c.seed, ...(c.strategy.options as object) });
    const [first] = fresh.ask(1);
    assert.equal(space.hash(first!), parentTrial.sampleHash);
    fresh.tell(first!, parentTrial.metrics!);
    const [child] = fresh.ask(1);
    assert.equal(space.hash(child!), childTrial.sampleHash);
    const { inherit } = fresh.trialMetadata!(child!) as WeightInheritance;
    const net = inheritedNetwork(space, inherit!, tensors, child!, plan.options(parentSample));
    // As the estimator evaluates (trainer.ts): the validation split with the training augmentation's settings, not training.
    const augment = { ...split.augment, resize: 8 };
    const parentAccuracy = evaluate(parent, split.valid, { augment }).accuracy;
    assert.equal(evaluate(net, split.valid, { augment }).accuracy, parentAccuracy);
    // The parent's stored accuracy was measured on the same validation images by the same network.
    assert.ok(Math.abs(parentAccuracy - parentTrial.metrics!['accuracy']!) < 1e-9, `${parentAccuracy} vs stored ${parentTrial.metrics!['accuracy']}`);
    for (const t of Object.values(tensors)) t.dispose();
    net.dispose();
    parent.dispose();
    fresh.dispose();
    assert.equal(memory().numTensors, before);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('morphism with the training estimator: a run stopped twice resumes to the trials of an uninterrupted one', async () => {
  const dirs = ['whole', 'parts'].map((n) => mkdtempSync(join(tmpdir(), `tsnas-morphism-${n}-`)));
  const [whole, parts] = await Promise.all(dirs.map(() => openStore('sqlite::memory:')));
  try {
    // Batches of 2 stopped after an odd count: a child asked but not told is pending in the saved state, and its lineage with it.
    const c = config({ batch: 2 });
    await runExperiment({ store: whole!, config: c, artifactsDir: dirs[0] });
    const first = await runExperiment({ store: parts!, config: c, artifactsDir: dirs[1], stopAfter: 3 });
    assert.equal(first.finished, false);
    for (let i = 0; i < 10 && !(await runExperiment({ store: parts!, config: c, artifactsDir: dirs[1], stopAfter: 3 })).finished; i++);
    const expected = await trialsOf(whole!);
    assert.equal(expected.length, 7);
    assert.deepEqual(await trialsOf(parts!), expected);
  } finally {
    await Promise.all([whole, parts].map((s) => s!.close()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});

test('morphism with parallel trials: workers get each child\'s lineage and its parent\'s kept weights', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-morphism-parallel-'));
  const store = await openStore('sqlite::memory:');
  try {
    // Seed 6: the first step's uniform sample has morphisms too, so whichever of the two first trials
    // wins (parallel training makes that vary), the next children inherit. With seed 2 it is
    // identity > max_pool, whose children come from scratch when it wins.
    const c = config({ seed: 6, batch: 2, parallel: 2, threads: 2 });
    const r = await runExperiment({ store, config: c, artifactsDir: dir });
    const trials = await store.listTrials(r.experimentId);
    assert.ok(trials.length === 7 && trials.every((t) => t.state === 'complete'));
    for (const t of trials) assert.ok(existsSync(weightsFile(join(dir, 'weights'), t.sampleHash)), `trial ${t.number} kept no weights`);
    // Networks trained from scratch at once draw from libtorch's one generator in any order, so the
    // run is compared with itself: replayed in this thread from the run's own kept weights, the first
    // two children (trained at once on the two workers) give what the workers stored.
    const space = configSpace(c);
    const replay = createStrategy('morphism', space, { seed: c.seed, ...(c.strategy.options as object) });
    const firstBatch = replay.ask(2);
    assert.deepEqual(firstBatch.map((s) => space.hash(s)), trials.slice(0, 2).map((t) => t.sampleHash));
    firstBatch.forEach((s, i) => replay.tell(s, trials[i]!.metrics!));
    const children = replay.ask(2);
    assert.deepEqual(children.map((s) => space.hash(s)), trials.slice(2, 4).map((t) => t.sampleHash));
    const estimator = createTrialEstimator(c, { weightsDir: join(dir, 'weights') });
    children.forEach((child, i) => {
      const metadata = replay.trialMetadata!(child)!;
      assert.ok('inherit' in metadata);
      const { train_seconds: _, ...metrics } = estimator.evaluate(child, { intermediate: () => {}, metadata });
      const { train_seconds: __, ...stored } = trials[2 + i]!.metrics!;
      assert.deepEqual(metrics, stored, `child ${i}`);
    });
    estimator.dispose();
    replay.dispose();
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('morphism: bad options and a space without morphisms are config errors', async () => {
  assert.throws(() => config({ strategy: { name: 'morphism', options: { children: 0 } } }), (e: Error) => e instanceof TsnasError && e.code === 'config' && /strategy\.options\.children/.test(e.message));
  assert.throws(() => config({ strategy: { name: 'morphism', options: { morphisms: 3 } } }), (e: Error) => e instanceof TsnasError && e.code === 'config' && /strategy\.options\.morphisms: unknown key/.test(e.message));
  const store = await openStore('sqlite::memory:');
  try {
    const badStart = config({ space: { name: 'nb201' }, strategy: { name: 'morphism', options: { start: 'not a cell' } }, estimator: { kind: 'benchmark' } });
    await assert.rejects(runExperiment({ store, config: badStart }), (e: Error) => e instanceof TsnasError && e.code === 'config' && /strategy\.options/.test(`${e.message} ${e.where}`));
    const noMorphisms = config({ space: { name: 'darts' }, strategy: { name: 'morphism', options: {} }, estimator: { kind: 'proxies', proxies: ['params'] }, objectives: [{ name: 'params', direction: 'min' }], dataset: { limitTrain: 8 } });
    await assert.rejects(runExperiment({ store, config: noMorphisms }), (e: Error) => e instanceof TsnasError && e.code === 'config' && /no network morphisms for space 'darts'/.test(e.message));
    assert.equal(await store.getExperiment('exp'), null, 'a refused config left an experiment');
    // A strategy's malformed lineage fails the trial with a data error naming it.
    const c = config();
    const estimator = createTrialEstimator(c);
    const sample = configSpace(c).parse('conv:1:4:relu');
    assert.throws(() => estimator.evaluate(sample, { intermediate: () => {}, metadata: { inherit: { parent: sample, seed: 'x', steps: 1 } } }),
      (e: Error) => e instanceof TsnasError && e.code === 'data' && /trial metadata inherit must be \{ parent, seed, steps \}/.test(e.message));
    estimator.dispose();
  } finally {
    await store.close();
  }
});
