// SMASH: the hypernetwork generates correctly shaped kernels for any cell,
// training reaches its parameters through them, the method refuses bad
// options naming the field, and its final step scores distinct cells.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataLoader } from '../../data/loader.js';
import { syntheticDataset } from '../../data/synthetic.js';
import { nb201Space } from '../../spaces/nb201.js';
import { memory, noGrad, tidy } from '../../tensor/index.js';
import { Rng } from '../../util/random.js';
import { findWeightSharingMethod } from '../methods.js';
import { architectureCode, HyperNetwork } from './hypernet.js';
import { createSmashRun, type SmashOptions } from './smash.js';
import { oneThreadInThisFile } from '../../testing/threads.js';

oneThreadInThisFile();

const data = syntheticDataset({ n: 48, height: 8, width: 8, numClasses: 3, seed: 4 });
const tiny: SmashOptions = { C: 4, cells: 2, hidden: 8, epochs: 1, batchSize: 8, stepsPerEpoch: 2, seed: 1, calibrationBatches: 1, evalBatches: 1, budget: 4 };
const space = nb201Space();
const firstBatch = (n: number) => new DataLoader(data, { batchSize: n, train: false, shuffle: false }).next();

test('generated kernels have each convolution edge\'s shape (stage width, kernel size) for any cell, none for the other edges; no leaks', () => {
  const start = memory().numTensors;
  const net = new HyperNetwork({ C: 4, N: 2, numClasses: 3, inChannels: 3, hidden: 8 });
  const rng = new Rng(3);
  for (let i = 0; i < 20; i++) {
    const ops = space.opsOf(space.sample(rng));
    tidy(() => {
      const weights = noGrad(() => net.generate(ops));
      assert.equal(weights.length, 3);
      weights.forEach((stage, s) => {
        const w = 4 << s;
        assert.equal(stage.length, 2);
        for (const cell of stage) {
          ops.forEach((op, e) => {
            const k = op === 'nor_conv_3x3' ? 3 : op === 'nor_conv_1x1' ? 1 : 0;
            if (k === 0) assert.equal(cell[e], null, `${op} on edge ${e}`);
            else assert.deepEqual(cell[e]!.shape, [w, w, k, k], `${op} on edge ${e}, stage ${s}`);
          });
        }
      });
      net.setOps(ops);
      assert.deepEqual(noGrad(() => net.call(firstBatch(2).x)).shape, [2, 3]);
    });
  }
  // Different cells get different kernels for the same slot: the code is an input.
  const [a, b] = tidy(() => noGrad(() => [
    net.generate(['nor_conv_3x3', 'none', 'none', 'none', 'none', 'none'])[0]![0]![0]!.toArray(),
    net.generate(['nor_conv_3x3', 'skip_connect', 'none', 'none', 'none', 'none'])[0]![0]![0]!.toArray(),
  ]));
  assert.notDeepEqual(a, b);
  net.dispose();
  assert.equal(memory().numTensors, start);
});

test('training steps through generated weights change the hypernetwork and lower the loss on a fixed batch; no leaks', () => {
  const start = memory().numTensors;
  const run = createSmashRun(data, { ...tiny, lr: 0.05, gradClip: 0 });
  const batch = firstBatch(8);
  const cell = space.fromOps(['nor_conv_3x3', 'nor_conv_1x1', 'skip_connect', 'nor_conv_3x3', 'avg_pool_3x3', 'nor_conv_1x1']);
  try {
    const before = [run.net.trunk.weight, run.net.heads.at(1).weight].map((t) => t.toArray());
    const losses = Array.from({ length: 6 }, () => run.trainStep(batch, cell).loss);
    const changed = [run.net.trunk.weight, run.net.heads.at(1).weight].map((t) => t.toArray());
    before.forEach((b, i) => assert.notDeepEqual(changed[i], b, `hypernetwork parameter ${i} unchanged`));
    assert.ok(losses[5]! < losses[0]!, `loss ${losses.join(', ')}`);
  } finally {
    batch.x.dispose();
    batch.y.dispose();
    run.dispose();
  }
  assert.equal(memory().numTensors, start);
});

test('the final step scores `budget` distinct cells and hands the scoring to afterSearch; no leaks', async () => {
  const start = memory().numTensors;
  let scored: number | undefined;
  const run = createSmashRun(data, { ...tiny, afterSearch: ({ evaluate }) => (scored = evaluate(space.sample(new Rng(9)))) });
  try {
    await run.trainEpoch();
    const r = await run.finish();
    assert.equal(r.metrics.evaluations, 4);
    assert.equal(space.format(r.sample), r.arch);
    assert.ok(r.metrics.supernet_accuracy! >= 0 && r.metrics.supernet_accuracy! <= 1 && r.metrics.flops! > 0);
    assert.ok(scored !== undefined && scored >= 0 && scored <= 1);
  } finally {
    run.dispose();
  }
  assert.equal(memory().numTensors, start);
});

test('bad options are config errors naming the field', () => {
  const start = memory().numTensors;
  const smash = findWeightSharingMethod('smash')!;
  const context = { space: 'nb201', spaceOptions: {}, seed: 0, validFraction: 0.5, augment: {}, limits: {} };
  assert.throws(() => smash.create(data, { ...context, space: 'chain' }, { epochs: 1 }), /space\.name: smash generates the weights of nb201 cells/);
  assert.throws(() => smash.create(data, { ...context, limits: { maxFlops: 1e6 } }, { epochs: 1 }), /constraints: smash scores random cells/);
  assert.throws(() => createSmashRun(data, { ...tiny, epochs: 0 }), (e: any) => e.code === 'config' && e.where === 'epochs');
  assert.throws(() => createSmashRun(data, { ...tiny, budget: 0 }), (e: any) => e.code === 'config' && e.where === 'budget');
  assert.throws(() => createSmashRun(data, { ...tiny, hidden: 0 }), (e: any) => e.code === 'config' && e.where === 'hidden');
  assert.throws(() => architectureCode(['nor_conv_3x3', 'conv_5x5', 'none', 'none', 'none', 'none']), /arch: edge 1 has unknown operation 'conv_5x5'/);
  assert.throws(() => architectureCode(['none']), /arch: expected 6 edge operations, got 1/);
  assert.equal(memory().numTensors, start);
});
