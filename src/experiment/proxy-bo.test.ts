// proxy-bo in a stored experiment: its pool is scored by the experiment's
// zero-cost machinery, real queries train networks, and a run stopped and
// resumed ends with the same trials as an uninterrupted one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TsnasError } from '../errors.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { memory } from '../tensor/index.js';
import { checkConfig } from './config.js';
import { runExperiment } from './run.js';

async function trialsOf(store: Store, name: string) {
  const e = (await store.getExperiment(name))!;
  return (await store.listTrials(e.id)).map((t) => [t.number, t.sampleHash, t.state, t.metrics?.['accuracy']]);
}

test('proxy-bo with a training estimator on the chain space: proxies from the experiment, resumable', async () => {
  const config = checkConfig({
    name: 'pbo', seed: 4, space: { name: 'chain', options: { maxDepth: 3, filters: [4, 8] } },
    strategy: { name: 'proxy-bo', options: { pool: 12, initial: 2, ensemble: 2, trees: 10, proxies: ['synflow', 'params'] } },
    estimator: { type: 'training', epochs: 1, batch: 32, lr: 0.05, resolution: 8 },
    dataset: { limitTrain: 120, validFraction: 0.25 }, budget: { trials: 5 }, threads: 1,
  });
  const start = memory().numTensors;
  const whole = await openStore('sqlite::memory:');
  const parts = await openStore('sqlite::memory:');
  try {
    const r = await runExperiment({ store: whole, config });
    assert.equal(r.counts['complete'], 5);
    for (let i = 0; i < 10 && !(await runExperiment({ store: parts, config, stopAfter: 2 })).finished; i++);
    assert.deepEqual(await trialsOf(parts, 'pbo'), await trialsOf(whole, 'pbo'));
  } finally {
    await whole.close();
    await parts.close();
  }
  assert.equal(memory().numTensors, start, 'the proxy scorer frees its batch');
});

test('proxy-bo in a config: an unknown proxy name is a config error naming strategy.options.proxies', async () => {
  const config = checkConfig({
    name: 'pbo-bad', seed: 1, space: { name: 'chain', options: { maxDepth: 2, filters: [4] } },
    strategy: { name: 'proxy-bo', options: { pool: 4, proxies: ['no_such_proxy'] } },
    estimator: { type: 'training', epochs: 1, batch: 32, lr: 0.05, resolution: 8 },
    dataset: { limitTrain: 60 }, budget: { trials: 2 }, threads: 1,
  });
  const store = await openStore('sqlite::memory:');
  try {
    await assert.rejects(runExperiment({ store, config }), (e: unknown) => e instanceof TsnasError && /no_such_proxy/.test(e.message) && e.where === 'strategy.options.proxies');
  } finally {
    await store.close();
  }
});
