import { z } from 'zod';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Sample } from '../spaces/types.js';
import { memory } from '../tensor/index.js';
import { TsnasError } from '../errors.js';
import { checkStrategyOptions, createStrategy, findStrategy, strategyKinds, strategyNames, type StrategyName, type Strategy, type Trial } from './index.js';
import { ToySpace, allToySamples, toyObjectives } from './testing/toy-space.js';
import { Bananas } from './bananas.js';

const space = new ToySpace();
const optimum = Math.max(...allToySamples().map((s) => toyObjectives(s).accuracy!));


// Small settings so every strategy gets past its warm-up within the budget.
const options: Record<StrategyName, object> = {
  random: {},
  evolution: { population: 8, sampleSize: 3 },
  ga: { population: 8, elites: 2 },
  local: {},
  reinforce: { controller: { hidden: 8, learningRate: 0.05 } },
  ppo: { batch: 5, controller: { hidden: 8, learningRate: 0.05 } },
  bo: { initial: 5, batch: 3, ensemble: 3, mutationCandidates: 30, randomCandidates: 10, mlp: { hidden: 8, epochs: 30 } },
  nsga2: { population: 8 },
  nao: { initial: 8, batch: 13, hidden: 8, embedding: 4, epochs: 15, parents: 5, maxSteps: 5 },
  bohb: {},
  // Needs a space with network morphisms: morphism.test.ts runs these checks on the chain space.
  morphism: { children: 3, morphismsPerChild: 2 },
  'proxy-bo': { pool: 150, initial: 3, ensemble: 3, trees: 30, proxies: ['width'], proxyScores: { score: (ss: readonly Sample[]) => ss.map((x) => ({ width: Number(x['width'] ?? 4) })) } },
};

function make(name: StrategyName, seed: number): Strategy {
  return createStrategy(name, space, { seed, ...options[name] } as never);
}

/** Runs `budget` sequential ask/tell steps; returns the hashes asked. */
function drive(s: Strategy, budget: number, batch = 1): string[] {
  const asked: string[] = [];
  while (asked.length < budget) {
    const samples = s.ask(Math.min(batch, budget - asked.length));
    for (const x of samples) {
      space.validate(x);
      asked.push(space.hash(x));
    }
    for (const x of samples) s.tell(x, toyObjectives(x));
  }
  return asked;
}

const bestAccuracy = (trials: readonly Trial[]) => Math.max(...trials.map((t) => t.objectives.accuracy!));

for (const name of strategyNames.filter((n) => n !== 'morphism')) {
  test(`${name}: valid, distinct samples; same seed gives the same run; finds good samples`, () => {
    const before = memory().numTensors;
    const a = make(name, 3);
    const askedA = drive(a, 60);
    assert.equal(new Set(askedA).size, askedA.length, 'a sample was asked twice');
    const b = make(name, 3);
    assert.deepEqual(drive(b, 60), askedA);
    const c = make(name, 4);
    assert.notDeepEqual(drive(c, 60), askedA, 'different seeds gave the same run');
    // 60 of 320 samples: the best found should be near the top of the toy landscape.
    assert.ok(bestAccuracy(a.history()) >= optimum - 2.5, `${name} best ${bestAccuracy(a.history())} vs optimum ${optimum}`);
    assert.equal(a.best()!.objectives.accuracy, bestAccuracy(a.history()));
    for (const s of [a, b, c]) s.dispose();
    assert.equal(memory().numTensors, before, 'tensors leaked');
  });

  test(`${name}: saving and restoring mid-run gives the same final result`, () => {
    const before = memory().numTensors;
    const whole = make(name, 11);
    const full = drive(whole, 45);
    const first = make(name, 11);
    const head = drive(first, 23);
    // Through JSON, as a state file would be.
    const state = JSON.parse(JSON.stringify(first.getState()));
    first.dispose();
    const resumed = make(name, 999); // a different seed: everything must come from the state
    resumed.setState(state);
    const tail = drive(resumed, 45 - 23);
    assert.deepEqual([...head, ...tail], full);
    assert.deepEqual(resumed.history().map((t) => t.objectives), whole.history().map((t) => t.objectives));
    whole.dispose();
    resumed.dispose();
    assert.equal(memory().numTensors, before, 'tensors leaked');
  });

  test(`${name}: batched asks are distinct and pending asks survive a restore`, () => {
    const s = make(name, 5);
    const asked = drive(s, 30, 4);
    const pending = s.ask(3);
    const restored = make(name, 5);
    restored.setState(JSON.parse(JSON.stringify(s.getState())));
    const more = restored.ask(3).map((x) => space.hash(x));
    const all = [...asked, ...pending.map((x) => space.hash(x)), ...more];
    assert.equal(new Set(all).size, all.length);
    s.dispose();
    restored.dispose();
  });
}

test('asking past the size of the space repeats samples instead of failing', () => {
  const s = make('random', 1);
  const asked = drive(s, 330);
  assert.equal(new Set(asked).size, 320);
});

test('a state of another strategy is refused', () => {
  const a = make('random', 1);
  const b = make('evolution', 1);
  assert.throws(() => b.setState(a.getState()), /cannot restore a 'random' state/);
});

test('scalarised fitness is accuracy minus λ·ln of each penalised objective', async () => {
  const { fitnessOf, scalarised } = await import('./base.js');
  const spec = scalarised('accuracy', { flops: 0.5, latency: 2 });
  assert.equal(fitnessOf({ accuracy: 90, flops: Math.E ** 2, latency: Math.E }, spec), 90 - 0.5 * 2 - 2 * 1);
  assert.equal(fitnessOf({ accuracy: 90, params: 5 }, { objective: 'params', maximize: false }), -5);
  assert.throws(() => fitnessOf({ accuracy: 90 }, spec), /objective 'flops' is missing/);
  assert.equal(fitnessOf({ accuracy: NaN }), -Infinity);
});

test('registry: every built-in strategy declares its options schema and whether it is multi-objective', () => {
  assert.deepEqual(strategyKinds.map((k) => k.name), [...strategyNames]);
  assert.deepEqual(strategyKinds.filter((k) => k.multiObjective).map((k) => k.name), ['nsga2']);
  assert.equal(findStrategy('darts'), undefined);
  for (const kind of strategyKinds) {
    assert.ok(kind.options instanceof z.ZodObject, kind.name);
    // The options of the tests above are valid; an unknown one is named in the error.
    assert.doesNotThrow(() => checkStrategyOptions(kind, options[kind.name as StrategyName] as Record<string, unknown>));
    assert.throws(() => checkStrategyOptions(kind, { nonsense: 1 }, 'strategy.options'), /strategy\.options\.nonsense/);
  }
  assert.throws(() => createStrategy('evolution', space, { population: 0 }), (e: Error) => e instanceof TsnasError && /population/.test(e.message + (e as TsnasError).where));
  assert.throws(() => createStrategy('ppo', space, { controller: { hidden: 'big' } } as never), /controller\.hidden/);
});

test('bo asks its predictor (the predictor interface): refit on every batch from a seed of its RNG, disposed after each', () => {
  let fits = 0;
  let disposed = 0;
  const seeds: number[] = [];
  const bo = new Bananas(space, {
    seed: 1, initial: 4, batch: 3,
    predictor: (seed) => {
      seeds.push(seed);
      // Predicts the toy objective itself: bo must then ask the best unseen candidates.
      return {
        name: 'oracle', needs: { input: 'encoding', partialCurves: false, minTrainingSamples: 2, uncertainty: false },
        fit: () => void fits++,
        query: (samples) => ({ mean: samples.map((s) => toyObjectives(s).accuracy!), std: samples.map(() => 0) }),
        dispose: () => void disposed++,
      };
    },
  });
  const asked = drive(bo, 13);
  assert.equal(fits, 3);
  assert.equal(disposed, 3);
  assert.equal(new Set(seeds).size, 3);
  assert.equal(new Set(asked).size, 13);
  // The oracle's picks beat the uniform warm-up.
  const values = bo.history().map((t) => t.objectives.accuracy!);
  assert.ok(Math.max(...values.slice(4)) >= Math.max(...values.slice(0, 4)));
});
