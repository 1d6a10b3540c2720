// The sandwich rule in SPOS on elastic supernets: every step trains the
// largest path, the smallest and random ones; spaces without elastic
// (numeric) choices refuse it by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syntheticDataset } from '../../data/synthetic.js';
import type { Sample } from '../../spaces/types.js';
import { manualSeed, memory, setNumThreads } from '../../tensor/index.js';
import { runSpos } from './spos.js';
import { OneShotSupernet } from './training.js';

const TINY_SPACES = {
  chain: { chain: { maxDepth: 3, filters: [4, 8], poolAfter: [1] } },
  mobilenet: {
    mobilenet: {
      resolutions: [8, 12], widths: [8, 16], strides: [2, 2], activations: ['relu', 'hswish'], squeezeExcite: [false, true],
      depths: [1, 2], kernels: [3, 5], expandRatios: [2, 3],
    },
  },
};

setNumThreads(1);
const data = syntheticDataset({ n: 64, height: 12, width: 12, numClasses: 3, seed: 5 });

for (const space of ['mobilenet', 'chain'] as const) {
  test(`sandwich on ${space}: each step trains the largest path, the smallest and the random ones`, async () => {
    const start = memory().numTensors;
    const steps: Sample[][] = [];
    let labels: ReadonlyMap<string, readonly unknown[]> | null = null;
    const original = OneShotSupernet.prototype.trainStep;
    OneShotSupernet.prototype.trainStep = function (this: OneShotSupernet, batch, paths) {
      labels = this.net.labels();
      steps.push([...paths]);
      return original.call(this, batch, paths);
    };
    try {
      manualSeed(2);
      const r = await runSpos(data, {
        space, spaceOptions: TINY_SPACES[space], C: 4, cells: 1, epochs: 1, batchSize: 8, stepsPerEpoch: 3, seed: 1, sandwich: 2,
        calibrationBatches: 1, evalBatches: 1, evolution: { budget: 3, population: 3 },
      });
      assert.ok(Number.isFinite(r.history[0]!.trainLoss));
    } finally {
      OneShotSupernet.prototype.trainStep = original;
    }
    assert.equal(steps.length, 3);
    const numeric = [...labels!].filter(([, values]) => values.every((v) => typeof v === 'number')) as [string, number[]][];
    assert.ok(numeric.length > 0);
    for (const paths of steps) {
      assert.equal(paths.length, 4, 'largest, smallest and 2 random paths');
      for (const [label, values] of numeric) {
        assert.equal(paths[0]![label], Math.max(...values), `largest path, ${label}`);
        assert.equal(paths[1]![label], Math.min(...values), `smallest path, ${label}`);
      }
    }
    assert.equal(memory().numTensors, start);
  });
}

test('sandwich is refused where no choice is elastic (nb201) and with strict-fair sampling, naming the option', async () => {
  const start = memory().numTensors;
  const o = { space: 'nb201', C: 4, cells: 1, epochs: 1, batchSize: 8, stepsPerEpoch: 1, sandwich: 1, calibrationBatches: 1, evalBatches: 1 };
  await assert.rejects(runSpos(data, o), (e: Error & { where?: string }) => e.where === 'strategy.options.sandwich' && /numeric choices/.test(e.message));
  await assert.rejects(runSpos(data, { ...o, space: 'mobilenet', spaceOptions: TINY_SPACES.mobilenet, sampling: 'strict-fair' }), (e: Error & { where?: string }) => e.where === 'strategy.options.sandwich');
  assert.equal(memory().numTensors, start);
});
