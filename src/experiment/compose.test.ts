// Composed estimators behind any strategy (zero-cost screening then top-k,
// predictor-guided choice), trial estimators on every built-in space, and
// interrupting a run in the middle of a training trial.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nb201Cost } from '../hardware/cost.js';
import { Activation, ReLU } from '../nn/layers.js';
import { buildNetwork, getSpace } from '../kits/index.js';
import { nb201Space } from '../spaces/index.js';
import type { Sample } from '../spaces/types.js';
import { createStrategy } from '../strategies/index.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { memory } from '../tensor/index.js';
import { checkConfig, type ExperimentConfig } from './config.js';
import { runExperiment } from './run.js';
import { ScreenedStrategy, sumOfRanks, type CandidateRanker } from './screen.js';

const nb201 = nb201Space();
const paramsOf = (s: Sample) => nb201Cost(nb201.opsOf(s)).params;

test('sumOfRanks adds each key\'s rank; missing values rank lowest', () => {
  assert.deepEqual(sumOfRanks([{ a: 3, b: 1 }, { a: 1, b: 2 }, { a: 2 }], ['a', 'b']), [2 + 1, 0 + 2, 1 + 0]);
});

test('ScreenedStrategy: each round hands out the top-k of the candidates, tells the inner strategy all of them, and resumes mid-round', async () => {
  const ranker: CandidateRanker = {
    name: 'params',
    ready: () => true,
    rank: async (cands) => ({ score: cands.map(paramsOf) }),
    dispose: () => {},
  };
  const make = () => new ScreenedStrategy(createStrategy('random', nb201, { seed: 5 } as never), {
    ranker, candidates: 12, topK: 3, objectives: [{ name: 'accuracy', direction: 'max' }], constraints: [],
    cheapMetrics: (s) => ({ params: paramsOf(s) }), space: nb201,
  });
  const s = make();
  assert.ok(await s.prepare(2));
  const first = s.ask(2);
  assert.equal(first.length, 2);
  const saved = s.getState();
  assert.deepEqual(saved.pending.map((x) => nb201.hash(x)), first.map((x) => nb201.hash(x)));
  const rest = s.ask(5);
  assert.equal(rest.length, 1, 'a round hands out no more than its top-k');
  const chosen = [...first, ...rest];
  chosen.forEach((c, i) => s.tell(c, { accuracy: 90 + i }));
  const innerTold = s.inner.history();
  assert.equal(innerTold.length, 12, 'the inner strategy hears every candidate of the round');
  assert.equal(s.history().length, 3, 'only evaluated candidates are the trials');
  // The chosen are the 3 largest by params, told last; the screened-out are told values below every result.
  const byParams = innerTold.map((t) => paramsOf(t.sample)).sort((a, b) => b - a);
  assert.deepEqual(chosen.map(paramsOf), byParams.slice(0, 3));
  assert.deepEqual(innerTold.slice(-3).map((t) => nb201.hash(t.sample)), chosen.map((c) => nb201.hash(c)));
  for (const t of innerTold.slice(0, 9)) assert.ok(t.objectives['accuracy']! < 90 && t.objectives['params'] === paramsOf(t.sample));
  assert.deepEqual(s.stats(), { screenedOut: 9, rounds: 1 });

  // A copy restored from the mid-round state hands out the same remaining candidate and ends in the same state.
  const copy = make();
  copy.setState(saved);
  assert.deepEqual(copy.ask(5).map((x) => nb201.hash(x)), rest.map((x) => nb201.hash(x)));
  chosen.forEach((c, i) => copy.tell(c, { accuracy: 90 + i }));
  assert.deepEqual(copy.getState(), s.getState());
  assert.ok(await s.prepare(1));
  assert.ok(await copy.prepare(1));
  assert.deepEqual(copy.ask(1), s.ask(1));
  s.dispose();
  copy.dispose();
});

/** The trials of an experiment, without timings. */
async function fingerprint(store: Store, name: string) {
  const e = (await store.getExperiment(name))!;
  const untimed = (m: Record<string, number> | null) => m && Object.fromEntries(Object.entries(m).filter(([k]) => !k.endsWith('seconds')));
  return { status: e.status, trials: (await store.listTrials(e.id)).map((t) => [t.number, t.sampleHash, t.state, untimed(t.metrics)]) };
}

/** Runs config whole in one store and with stops in another; both must end with the same trials. */
async function wholeAndInterrupted(config: ExperimentConfig, stopEvery: number) {
  const whole = await openStore('sqlite::memory:');
  const parts = await openStore('sqlite::memory:');
  try {
    const r = await runExperiment({ store: whole, config });
    assert.equal(r.finished, true);
    for (let i = 0; i < 50 && !(await runExperiment({ store: parts, config, stopAfter: stopEvery })).finished; i++);
    const a = await fingerprint(whole, config.name!);
    assert.deepEqual(await fingerprint(parts, config.name!), a);
    const state = (await whole.loadStrategyState(r.experimentId))!.state as { strategy: { extra: { screenedOut: number; rounds: number } | null } };
    const extra = state.strategy.extra;
    return { trials: a.trials, screen: extra && { screenedOut: extra.screenedOut, rounds: extra.rounds } };
  } finally {
    await whole.close();
    await parts.close();
  }
}

const meanAccuracy = (trials: unknown[][]) => trials.reduce((a, t) => a + (t[3] as Record<string, number>)['accuracy']!, 0) / trials.length;

test('composed: zero-cost screening of many candidates, then the tabular benchmark on the top-k; resumable', async () => {
  const base = {
    name: 'screen', seed: 2, strategy: { name: 'random' },
    dataset: { name: 'fashion-mnist', limitTrain: 400 }, budget: { trials: 20 },
  };
  const start = memory().numTensors;
  const config = checkConfig({
    ...base,
    estimator: { type: 'composed', screen: { proxies: ['synflow'], candidates: 30, proxyBatch: 8, channels: 4, resolution: 8 }, topK: 5, then: { type: 'benchmark' } },
  });
  const screened = await wholeAndInterrupted(config, 3);
  assert.equal(memory().numTensors, start, 'the screen frees its networks and batches');
  assert.equal(screened.trials.length, 20);
  assert.deepEqual(screened.screen, { screenedOut: 4 * 25, rounds: 4 });
  // The same seed without the screen: random cells. Screening by synflow finds better ones on average.
  const plain = await wholeAndInterrupted(checkConfig({ ...base, estimator: { type: 'benchmark' } }), 7);
  assert.ok(meanAccuracy(screened.trials) > meanAccuracy(plain.trials) + 1, `screened ${meanAccuracy(screened.trials)} vs random ${meanAccuracy(plain.trials)}`);
});

test('composed: population proxies (az_nas, an ensemble) rank each round\'s candidates together; resumable', async () => {
  const start = memory().numTensors;
  const config = checkConfig({
    name: 'screen-population', seed: 3, strategy: { name: 'random' },
    dataset: { name: 'fashion-mnist', limitTrain: 400 }, budget: { trials: 4 },
    estimator: {
      type: 'composed', topK: 2, then: { type: 'benchmark' },
      screen: { proxies: ['az_nas', 'ensemble'], ensemble: ['meco', 'swap'], candidates: 6, proxyBatch: 8, channels: 4, resolution: 8 },
    },
  });
  const screened = await wholeAndInterrupted(config, 1);
  assert.equal(memory().numTensors, start);
  assert.equal(screened.trials.length, 4);
  assert.deepEqual(screened.screen, { screenedOut: 2 * 4, rounds: 2 });
  assert.throws(() => checkConfig({ ...config, estimator: { ...config.estimator, screen: { ...config.estimator.screen!, ensemble: ['meco', 'ensemble'] } } }), /ensemble/);
});

test('predictor-guided: a GP fitted on the results so far picks the candidates after warm-up; resumable', async () => {
  const config = checkConfig({
    name: 'guided', seed: 4, strategy: { name: 'random' },
    estimator: { type: 'predictor', model: 'gp', warmup: 40, candidates: 60, topK: 5, then: { type: 'benchmark' } },
    budget: { trials: 60 }, batch: 5,
  });
  const { trials, screen } = await wholeAndInterrupted(config, 4);
  assert.equal(trials.length, 60);
  assert.deepEqual(screen, { screenedOut: 4 * 55, rounds: 8 + 4 }, 'warm-up rounds are one batch each, then 4 rounds of 60');
  const warm = meanAccuracy(trials.slice(0, 40));
  const guided = meanAccuracy(trials.slice(40));
  assert.ok(guided > warm + 1, `guided ${guided} vs random warm-up ${warm}`);
});

const chainOptions = { maxDepth: 3, filters: [4, 8] };

test('training and proxies run on every built-in space with a fixed network', async () => {
  const store = await openStore('sqlite::memory:');
  const start = memory().numTensors;
  try {
    const spaces: [string, Record<string, unknown>][] = [
      ['chain', chainOptions],
      ['darts', {}],
      ['mobilenet', { resolutions: [12, 16], widths: [8, 16], depths: [1, 2], strides: [2, 2], activations: ['relu', 'hswish'], squeezeExcite: [false, true], expandRatios: [3, 4] }],
      ['hierarchical', { channels: [4, 8] }],
    ];
    for (const [name, options] of spaces) {
      const config = checkConfig({
        name: `proxies-${name}`, seed: 1, space: { name, options }, strategy: { name: 'random' },
        estimator: { type: 'proxies', proxies: ['synflow', 'nwot'], proxyBatch: 4, resolution: 12, ...(name === 'darts' ? { channels: 4, cells: 3 } : {}) },
        objectives: ['synflow'], dataset: { limitTrain: 100 }, budget: { trials: 2 },
      });
      const r = await runExperiment({ store, config });
      assert.equal(r.counts['complete'], 2, name);
      const trials = await store.listTrials(r.experimentId);
      const space = getSpace(name, { [name]: options });
      for (const t of trials) {
        // A network of zero and identity layers has a synflow of 0; nwot reads the codes of every
        // activation (ReLU, swish, mish, hard swish), so it is expected wherever the network has one.
        assert.ok(t.metrics!['synflow']! >= 0, `${name}: ${JSON.stringify(t.metrics)}`);
        const net = buildNetwork(space, t.sample as Sample, { numClasses: 10, inChannels: 1, inputSize: 12, ...(name === 'darts' ? { channels: 4, cells: 3 } : {}) });
        if (net.modules().some((m) => m instanceof ReLU || m instanceof Activation)) {
          assert.ok(Number.isFinite(t.metrics!['nwot']), `${name}: ${JSON.stringify(t.metrics)}`);
        }
        // params is the cost model's count of the very network that was scored.
        assert.equal(t.metrics!['params'], net.numParameters(), name);
        net.dispose();
      }
    }
  } finally {
    await store.close();
  }
  assert.equal(memory().numTensors, start);
});

test('chain space training: learning curves stored; an abort mid-trial requeues it and the rerun ends like an uninterrupted run', async () => {
  const config = checkConfig({
    name: 'chain', seed: 3, space: { name: 'chain', options: chainOptions }, strategy: { name: 'random' },
    estimator: { type: 'training', epochs: 2, batch: 32, lr: 0.05, resolution: 12 },
    // Enough images that a trial trains for a while (about a second): the abort below must land mid-trial.
    dataset: { limitTrain: 1200, validFraction: 0.2 }, budget: { trials: 3 }, threads: 1,
  });
  const whole = await openStore('sqlite::memory:');
  const parts = await openStore('sqlite::memory:');
  try {
    const r = await runExperiment({ store: whole, config });
    assert.equal(r.counts['complete'], 3);
    for (const t of await whole.listTrials(r.experimentId)) {
      assert.ok(t.metrics!['accuracy']! >= 0 && t.metrics!['accuracy']! <= 1);
      assert.deepEqual(t.intermediate['valid_accuracy']!.map((p) => p.step), [1, 2]);
    }
    // Abort as soon as the second trial is running (training runs in a worker, so this thread sees it).
    const controller = new AbortController();
    // One poll at a time, and none left in flight once the run returns (the store closes later).
    let polling: Promise<void> = Promise.resolve();
    const watch = setInterval(() => {
      polling = polling.then(async () => {
        const e = await parts.getExperiment('chain');
        if (!e || controller.signal.aborted) return;
        const running = await parts.listTrials(e.id, { states: ['running'] });
        if (running.some((t) => t.number >= 1)) controller.abort();
      });
    }, 5);
    const first = await runExperiment({ store: parts, config, signal: controller.signal });
    clearInterval(watch);
    await polling;
    assert.equal(first.interrupted, true);
    const e = (await parts.getExperiment('chain'))!;
    assert.equal(e.status, 'stopped');
    const counts = await parts.countTrials(e.id);
    assert.equal(counts.running, 0);
    assert.ok(counts.pending >= 1, `the interrupted trial is pending again: ${JSON.stringify(counts)}`);
    const second = await runExperiment({ store: parts, config });
    assert.equal(second.finished, true);
    assert.deepEqual(await fingerprint(parts, 'chain'), await fingerprint(whole, 'chain'));
  } finally {
    await whole.close();
    await parts.close();
  }
});
