// runExperiment with a strategy and an estimator written by a user: objects
// implementing the ask/tell and trial-estimator contracts, no names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TrialEstimator } from '../estimators/types.js';
import { nb201Space } from '../spaces/nb201.js';
import type { Sample } from '../spaces/types.js';
import { openStore } from '../store/index.js';
import type { Objectives, Strategy, StrategyState, Trial } from '../strategies/types.js';
import { Rng } from '../util/random.js';
import { checkConfig } from './config.js';
import { runExperiment } from './run.js';

const space = nb201Space();

/** Uniform samples, never one twice; its state is its RNG, history and pending asks. */
class MyStrategy implements Strategy {
  readonly name = 'mine';
  disposed = 0;
  private rng: Rng;
  private told: Trial[] = [];
  private pending: Sample[] = [];
  private seen = new Set<string>();
  constructor(seed: number) {
    this.rng = new Rng(seed);
  }
  ask(n = 1): Sample[] {
    const out: Sample[] = [];
    while (out.length < n) {
      const s = space.sample(this.rng);
      if (this.seen.has(space.hash(s))) continue;
      this.seen.add(space.hash(s));
      out.push(s);
    }
    this.pending.push(...out);
    return out;
  }
  tell(sample: Sample, objectives: Objectives): void {
    this.pending = this.pending.filter((p) => space.hash(p) !== space.hash(sample));
    this.told.push({ sample, objectives });
  }
  history(): readonly Trial[] {
    return this.told;
  }
  best(): Trial | undefined {
    return [...this.told].sort((a, b) => b.objectives['score']! - a.objectives['score']!)[0];
  }
  getState(): StrategyState {
    return { strategy: this.name, version: 1, rng: this.rng.getState(), history: [...this.told], pending: [...this.pending], extra: null };
  }
  setState(state: StrategyState): void {
    this.rng.setState(state.rng);
    this.told = [...state.history];
    this.pending = [...state.pending];
    this.seen = new Set([...this.told.map((t) => t.sample), ...this.pending].map((s) => space.hash(s)));
  }
  dispose(): void {
    this.disposed++;
  }
}

/** Scores a cell by its convolutions; counts its evaluations. */
function myEstimator(): TrialEstimator & { calls: string[] } {
  const calls: string[] = [];
  const convs = (s: Sample) => space.format(s).split('conv').length - 1;
  return {
    calls,
    metrics: { score: 'max', convs: 'min' },
    async evaluate(sample, context) {
      calls.push(space.hash(sample));
      context.intermediate('score', 1, convs(sample) / 2);
      return { score: convs(sample) + (space.hash(sample).charCodeAt(0) % 7) / 10, convs: convs(sample) };
    },
    cheapMetrics: (sample) => ({ convs: convs(sample) }),
  };
}

const config = checkConfig({ name: 'mine', seed: 0, space: { name: 'nb201' }, objectives: ['score'], constraints: ['convs <= 5'], budget: { trials: 10 } });

test('a user strategy and estimator object run an experiment; stopped and resumed, it gives the same trials as one run', async () => {
  const whole = await openStore('sqlite::memory:');
  const parts = await openStore('sqlite::memory:');
  try {
    const strategy = new MyStrategy(3);
    const estimator = myEstimator();
    const r = await runExperiment({ store: whole, config, strategy, estimator });
    assert.equal(r.finished, true);
    assert.equal(strategy.history().length, 10);
    assert.equal(strategy.disposed, 0, 'the loop disposed the caller\'s strategy');
    const trials = await whole.listTrials(r.experimentId);
    assert.equal(trials.length, 10);
    // Metrics are the estimator's; constraints on its cheap metrics prune before it runs.
    for (const t of trials) {
      assert.equal(t.metrics!['convs'], space.format(t.sample as Sample).split('conv').length - 1);
      assert.equal(t.state, t.metrics!['convs']! <= 5 ? 'complete' : 'pruned');
    }
    assert.equal(estimator.calls.length, trials.filter((t) => t.state === 'complete').length);
    const complete = trials.find((t) => t.state === 'complete')!;
    assert.equal(complete.intermediate['score']?.length, 1);

    // Stopped after 4 trials, resumed by fresh objects built the same way.
    const first = myEstimator();
    const a = await runExperiment({ store: parts, config, strategy: new MyStrategy(3), estimator: first, stopAfter: 4 });
    assert.equal(a.finished, false);
    const second = myEstimator();
    const resumed = new MyStrategy(3);
    const b = await runExperiment({ store: parts, config, strategy: resumed, estimator: second });
    assert.equal(b.finished, true);
    assert.equal(resumed.history().length, 10);
    const again = await parts.listTrials(b.experimentId);
    const view = (ts: typeof trials) => ts.map((t) => [t.number, space.hash(t.sample as Sample), t.state, t.metrics]);
    assert.deepEqual(view(again), view(trials));
    // No trial was evaluated twice.
    assert.equal(new Set([...first.calls, ...second.calls]).size, first.calls.length + second.calls.length);
  } finally {
    await whole.close();
    await parts.close();
  }
});

test('a user estimator is refused with parallel > 1 or when it does not produce an objective; a bad result fails its trial', async () => {
  const store = await openStore('sqlite::memory:');
  try {
    await assert.rejects(runExperiment({ store, config: { ...config, name: 'p', parallel: 2 }, strategy: new MyStrategy(0), estimator: myEstimator() }), /parallel: expected 1 with an estimator object/);
    await assert.rejects(runExperiment({ store, config: checkConfig({ name: 'o', objectives: ['accuracy'] }), estimator: myEstimator() }), /objectives\[0\]: the given estimator does not produce "accuracy"; it declares score, convs/);
    const broken: TrialEstimator = { metrics: { score: 'max' }, evaluate: () => ({ score: 'high' }) as never };
    const r = await runExperiment({ store, config: checkConfig({ name: 'b', objectives: ['score'], budget: { trials: 2 } }), strategy: new MyStrategy(0), estimator: broken });
    const trials = await store.listTrials(r.experimentId);
    assert.deepEqual(trials.map((t) => t.state), ['failed', 'failed']);
    assert.match(trials[0]!.error!, /metric score = "high", expected a number/);
  } finally {
    await store.close();
  }
});
