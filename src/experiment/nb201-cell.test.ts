// Stored experiments on the nb201 space with a cell of its own (issue 16
// §7: 4 nodes, 6 ops with max pooling), on a tiny synthetic CIFAR-10
// directory: a multi-trial search with the training estimator, and DARTS
// and SPOS on the cell's supernet, each stop part-way and resume to the trials
// of an uninterrupted run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { syntheticDataset, writeCifar10Dir } from '../data/synthetic.js';
import { getSpace } from '../kits/index.js';
import { NB201_CELL_OP_CATALOGUE } from '../spaces/nb201.js';
import type { Sample } from '../spaces/types.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { memory, setNumThreads } from '../tensor/index.js';
import { checkConfig, readConfigFile } from './config.js';
import { runExperiment } from './run.js';

setNumThreads(1);

const CELL = { nodes: 4, ops: [...NB201_CELL_OP_CATALOGUE] };

async function trialsOf(store: Store, name: string) {
  const e = (await store.getExperiment(name))!;
  return (await store.listTrials(e.id)).map((t) => ({ number: t.number, sample: t.sample as Sample, state: t.state, accuracy: t.metrics?.['accuracy'] }));
}

function withData(run: (dataset: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnas-cell-'));
    try {
      writeCifar10Dir(dir, syntheticDataset({ n: 60, height: 32, width: 32, seed: 1 }), syntheticDataset({ n: 10, height: 32, width: 32, seed: 2 }));
      await run(`cifar10:${dir}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('a training experiment on the 4-node, 6-op cell: stopped and resumed, the same trials as an uninterrupted run', withData(async (dataset) => {
  const config = checkConfig({
    name: 'cell',
    seed: 2,
    space: { name: 'nb201', options: CELL },
    strategy: { name: 'random' },
    estimator: { kind: 'training', epochs: 1, batch: 16, channels: 4, cells: 1, resolution: 8 },
    dataset: { name: dataset, limitTrain: 40, validFraction: 0.25 },
    budget: { trials: 4 },
    threads: 1,
  });
  const before = memory().numTensors;
  const whole = await openStore('sqlite::memory:');
  const parts = await openStore('sqlite::memory:');
  try {
    assert.equal((await runExperiment({ store: whole, config })).told, 4);
    assert.equal((await runExperiment({ store: parts, config, stopAfter: 2 })).finished, false);
    assert.equal((await runExperiment({ store: parts, config })).finished, true);
    const trials = await trialsOf(whole, 'cell');
    assert.equal(trials.length, 4);
    const space = getSpace('nb201', { nb201: CELL });
    for (const t of trials) {
      assert.equal(t.state, 'complete');
      assert.ok(typeof t.accuracy === 'number' && t.accuracy >= 0 && t.accuracy <= 1, JSON.stringify(t));
      space.validate(t.sample);
      assert.equal(Object.keys(t.sample).length, 10);
    }
    assert.deepEqual(await trialsOf(parts, 'cell'), trials);
    // The stored config keeps the cell, so the experiment reopens on the same space.
    const stored = (await whole.getExperiment('cell'))!.config as { space: { options: unknown } };
    assert.deepEqual(stored.space.options, CELL);
  } finally {
    await whole.close();
    await parts.close();
  }
  assert.equal(memory().numTensors, before, 'no tensor leaked');
}));

const ONE_SHOT: Record<string, Record<string, unknown>> = {
  darts: { epochs: 2, channels: 4, cells: 1, resolution: 8, batch: 16, stepsPerEpoch: 2 },
  spos: { epochs: 2, channels: 4, cells: 1, resolution: 8, batch: 16, stepsPerEpoch: 2, budget: 6, population: 3, calibrationBatches: 1, evalBatches: 1 },
};

for (const [method, options] of Object.entries(ONE_SHOT)) {
  test(`${method} on the 4-node, 6-op cell (its supernet): stopped after an epoch and resumed, the architecture of an uninterrupted run`, withData(async (dataset) => {
    const config = checkConfig({
      name: 'ws',
      seed: 5,
      space: { name: 'nb201', options: CELL },
      strategy: { name: method, options },
      dataset: { name: dataset, limitTrain: 40 },
      threads: 1,
    });
    // The table covers only the default cell, so the search's own numbers are the default estimator here.
    assert.equal(config.estimator.kind, 'supernet');
    const whole = await openStore('sqlite::memory:');
    const parts = await openStore('sqlite::memory:');
    try {
      assert.equal((await runExperiment({ store: whole, config })).finished, true);
      const controller = new AbortController();
      const r = await runExperiment({ store: parts, config, signal: controller.signal, onEpoch: (rec) => rec.epoch === 1 && controller.abort() });
      assert.equal(r.interrupted, true);
      assert.equal((await runExperiment({ store: parts, config })).finished, true);
      const [found] = await trialsOf(whole, 'ws');
      getSpace('nb201', { nb201: CELL }).validate(found!.sample);
      assert.deepEqual(await trialsOf(parts, 'ws'), [found]);
    } finally {
      await whole.close();
      await parts.close();
    }
  }));
}

test('examples/nb201-course-cell.yaml is a valid config of the course cell', () => {
  const config = checkConfig(readConfigFile(fileURLToPath(new URL('../../examples/nb201-course-cell.yaml', import.meta.url))));
  assert.deepEqual(config.space.options, CELL);
  assert.equal(getSpace('nb201', { nb201: config.space.options }).size(), 6n ** 10n);
});
