// Metric directions are declared where metrics are produced, and strategy
// options are checked by the strategy's own schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { METRIC_DIRECTIONS } from '../estimators/metrics.js';
import { nb201Space } from '../spaces/nb201.js';
import { memory, setNumThreads } from '../tensor/index.js';
import { Rng } from '../util/random.js';
import { TsnasError } from '../errors.js';
import { checkConfig } from './config.js';
import { createTrialEstimator } from './estimators.js';

setNumThreads(1);

test('an objective without a direction takes the declared one: latency_ms, params, loss minimised; accuracy, proxies maximised', () => {
  const c = checkConfig({ strategy: { name: 'nsga2' }, objectives: ['accuracy', 'latency_ms', 'params', 'synflow', 'loss', { name: 'flops' }, 'latency_ms_custom'] });
  assert.deepEqual(c.objectives.map((o) => `${o.name}:${o.direction}`), ['accuracy:max', 'latency_ms:min', 'params:min', 'synflow:max', 'loss:min', 'flops:min', 'latency_ms_custom:max']);
  // An explicit direction wins.
  assert.equal(checkConfig({ objectives: ['latency_ms:max'] }).objectives[0]!.direction, 'max');
});

test('every metric each built-in estimator produces (final, intermediate, cheap) has a declared direction', () => {
  const space = nb201Space();
  const rng = new Rng(1);
  const samples = [space.sample(rng), space.sample(rng)];
  const tiny = { channels: 2, cells: 1, resolution: 8 };
  const configs = {
    benchmark: { estimator: { kind: 'benchmark' } },
    training: { estimator: { kind: 'training', epochs: 1, batch: 16, ...tiny }, dataset: { limitTrain: 48, validFraction: 0.25 } },
    proxies: { estimator: { kind: 'proxies', proxies: ['synflow', 'nwot', 'params'], proxyBatch: 4, ...tiny }, objectives: ['synflow'], dataset: { limitTrain: 16 } },
  };
  for (const [kind, raw] of Object.entries(configs)) {
    const before = memory().numTensors;
    const estimator = createTrialEstimator(checkConfig({ seed: 0, ...raw }));
    try {
      for (const [name, direction] of Object.entries(estimator.metrics)) {
        assert.equal(METRIC_DIRECTIONS[name], direction, `${kind}: ${name} is declared ${direction} but the table says ${METRIC_DIRECTIONS[name]}`);
      }
      const produced = new Set<string>();
      for (const s of samples) {
        for (const k of Object.keys(estimator.evaluate(s, { intermediate: (m) => produced.add(m) }))) produced.add(k);
        for (const k of Object.keys(estimator.cheapMetrics(s))) produced.add(k);
      }
      assert.ok(produced.size >= 2, `${kind} produced ${[...produced].join(', ')}`);
      for (const name of produced) assert.ok(name in estimator.metrics, `${kind} produces ${name} without declaring its direction`);
    } finally {
      estimator.dispose();
    }
    assert.equal(memory().numTensors, before, `${kind} leaked tensors`);
  }
});

test('strategy options are checked by the strategy\'s schema, errors naming strategy.options.X', () => {
  const fails = (raw: object, pattern: RegExp) => {
    assert.throws(() => checkConfig(raw), (e: unknown) => e instanceof TsnasError && e.code === 'config' && pattern.test(e.message));
  };
  fails({ strategy: { name: 'evolution', options: { population: 0 } } }, /^strategy\.options\.population: expected an integer >= 1, found 0/);
  fails({ strategy: { name: 'evolution', options: { popSize: 5 } } }, /^strategy\.options\.popSize: unknown key \(value 5\); expected one of population, sampleSize/);
  fails({ strategy: { name: 'random', options: { seed: 3 } } }, /^strategy\.options\.seed: unknown key/);
  fails({ strategy: { name: 'ppo', options: { controller: { hidden: 'big' } } } }, /^strategy\.options\.controller\.hidden: expected an integer >= 1, found "big"/);
  fails({ strategy: { name: 'ga', options: { crossoverKind: 'two-point' } } }, /^strategy\.options\.crossoverKind: expected one of uniform, single-point, cell/);
  assert.equal(checkConfig({ strategy: { name: 'bo', options: { acquisition: 'ei', initial: 4 } } }).strategy.options['acquisition'], 'ei');
});
