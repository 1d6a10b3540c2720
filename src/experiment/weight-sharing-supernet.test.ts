// DARTS on a space other than the cell ones (chain) as a stored experiment:
// stopped (AbortSignal) after epoch 1 and resumed, it stores exactly the
// history and the architecture of an uninterrupted run. Tiny chain space,
// 96 images at 8×8, 1 thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticDataset, writeIdxPair } from '../data/synthetic.js';
import { getSpace } from '../kits/index.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { memory, setNumThreads } from '../tensor/index.js';
import { checkConfig } from './config.js';
import { runExperiment } from './run.js';

setNumThreads(1);

const CHAIN = { maxDepth: 3, filters: [4, 8] };

/** What the run stores, but times: epoch records, trials, the checkpoint's epoch. */
async function fingerprint(store: Store) {
  const e = (await store.getExperiment('chain-darts'))!;
  const epochs = (await store.listEpochs(e.id)).map((r) => {
    const { seconds: _seconds, ...rest } = r.record as Record<string, unknown>;
    return [r.stage, r.epoch, rest];
  });
  const trials = (await store.listTrials(e.id)).map((t) => [t.number, t.sample, t.state, t.metrics]);
  return { status: e.status, epochs, trials, checkpointEpoch: (await store.loadCheckpoint(e.id))?.epoch };
}

for (const method of ['darts', 'gdas']) {
  test(`${method} on the chain space through runExperiment: stopped after epoch 1 and resumed, the same as uninterrupted`, async () => {
    const before = memory().numTensors;
    const dir = mkdtempSync(join(tmpdir(), 'tsnas-ws-supernet-'));
    writeIdxPair(dir, 'train', syntheticDataset({ n: 96, channels: 1, height: 8, width: 8, numClasses: 4, seed: 1 }));
    writeIdxPair(dir, 't10k', syntheticDataset({ n: 16, channels: 1, height: 8, width: 8, numClasses: 4, seed: 2 }));
    const config = checkConfig({
      name: 'chain-darts',
      seed: 3,
      space: { name: 'chain', options: CHAIN },
      strategy: { name: method, options: { epochs: 3, batch: 16, stepsPerEpoch: 2, archLr: 0.05 } },
      dataset: { name: `fashion-mnist:${dir}` },
      estimator: { kind: 'supernet' },
      threads: 1,
    });
    const whole = await openStore('sqlite::memory:');
    const parts = await openStore('sqlite::memory:');
    try {
      assert.equal((await runExperiment({ store: whole, config, artifactsDir: dir })).finished, true);
      const controller = new AbortController();
      const stopped = await runExperiment({ store: parts, config, artifactsDir: dir, signal: controller.signal, onEpoch: (r) => r.epoch === 1 && controller.abort() });
      assert.equal(stopped.interrupted, true);
      assert.equal((await fingerprint(parts)).checkpointEpoch, 1);
      assert.equal((await runExperiment({ store: parts, config, artifactsDir: dir })).finished, true);
      const fw = await fingerprint(whole);
      assert.equal(fw.status, 'finished');
      assert.equal(fw.epochs.length, 3);
      const record = fw.epochs[2]![2] as Record<string, any>;
      assert.deepEqual(Object.keys(record['weights']), Object.keys(record['operations']));
      assert.equal(fw.trials.length, 1);
      const [, sample, state, metrics] = fw.trials[0]!;
      assert.equal(state, 'complete');
      const space = getSpace('chain', { chain: CHAIN });
      space.validate(sample as never);
      assert.equal(space.format(sample as never), record['arch'], 'the trial is the last epoch\'s architecture');
      assert.ok(typeof (metrics as Record<string, number>)['accuracy'] === 'number', JSON.stringify(metrics));
      assert.deepEqual(await fingerprint(parts), fw);
    } finally {
      await whole.close();
      await parts.close();
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(memory().numTensors, before, 'no tensor leaked');
  });
}
