// nao and bohb as strategies of stored experiments on the NAS-Bench-201
// table: a run stopped part-way resumes to the trials of an uninterrupted one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { setNumThreads } from '../tensor/index.js';
import { checkConfig } from './config.js';
import { runExperiment } from './run.js';

setNumThreads(1);

async function trialsOf(store: Store) {
  const e = (await store.getExperiment('exp'))!;
  return (await store.listTrials(e.id)).map((t) => [t.number, t.sampleHash, t.state, t.metrics]);
}

const strategies = {
  nao: { initial: 6, batch: 4, hidden: 12, embedding: 8, epochs: 20, maxSteps: 5 },
  bohb: { topPercent: 30 },
};

for (const [name, options] of Object.entries(strategies)) {
  test(`${name} in a stored experiment: stopped and resumed twice, the same trials as an uninterrupted run`, async () => {
    const config = checkConfig({
      name: 'exp',
      seed: 3,
      strategy: { name, options },
      estimator: { kind: 'benchmark', benchmark: 'nb201:cifar10' },
      budget: { trials: 18 },
      batch: 2,
    });
    const whole = await openStore('sqlite::memory:');
    const parts = await openStore('sqlite::memory:');
    try {
      const r = await runExperiment({ store: whole, config });
      assert.equal(r.told, 18);
      const first = await runExperiment({ store: parts, config, stopAfter: 7 });
      assert.equal(first.finished, false);
      for (let i = 0; i < 10 && !(await runExperiment({ store: parts, config, stopAfter: 5 })).finished; i++);
      const trials = await trialsOf(parts);
      assert.deepEqual(trials, await trialsOf(whole));
      assert.equal(new Set(trials.map((t) => t[1])).size, 18, 'a sample was asked twice');
    } finally {
      await whole.close();
      await parts.close();
    }
  });
}

test('bohb with an epochs dimension (training hyperparameters) in a stored training experiment: the budgets of Hyperband reach the trainer', async () => {
  const config = checkConfig({
    name: 'exp',
    seed: 1,
    space: { name: 'chain', options: { maxDepth: 2, filters: [4, 8], hyperparameters: { epochs: [1, 3] } } },
    strategy: { name: 'bohb', options: { fidelity: 'epochs' } },
    estimator: { kind: 'training', batch: 16, resolution: 8 },
    dataset: { limitTrain: 40, validFraction: 0.25 },
    budget: { trials: 6 },
  });
  const store = await openStore('sqlite::memory:');
  try {
    await runExperiment({ store, config });
    const e = (await store.getExperiment('exp'))!;
    const trials = await store.listTrials(e.id);
    // s_max = 1: bracket 1 is 3 configurations at 1 epoch and the best at 3; bracket 0 is 2 at 3.
    assert.deepEqual(trials.map((t) => (t.sample as Record<string, unknown>)['epochs']), [1, 1, 1, 3, 3, 3]);
    assert.ok(trials.every((t) => t.state === 'complete'));
    // Each trial's learning curve has as many epochs as its sample says.
    for (const t of trials) assert.equal(t.intermediate['valid_accuracy']?.length, (t.sample as Record<string, number>)['epochs']);
  } finally {
    await store.close();
  }
});
