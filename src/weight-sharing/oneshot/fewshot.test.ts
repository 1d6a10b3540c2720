// Few-shot SPOS: at the split the supernet becomes one sub-supernet per
// candidate of the edge, each starting as an exact copy (same outputs, same
// optimizer state); afterwards each trains with its own candidate on the
// edge, and a cell is scored by the copy matching its operation there.
// Bad split options are config errors naming the field. (Resuming is in
// resume.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syntheticDataset } from '../../data/synthetic.js';
import { memory, noGrad, randn, tidy } from '../../tensor/index.js';
import type { Sample } from '../../spaces/types.js';
import { checkWith } from '../../util/zod-check.js';
import { getWeightSharingMethod } from '../methods.js';
import { evaluateWithInheritedWeights } from './paths.js';
import { createSposRun, type SposOptions } from './spos.js';
import { oneThreadInThisFile } from '../../testing/threads.js';

oneThreadInThisFile();

const data = syntheticDataset({ n: 48, height: 8, width: 8, numClasses: 3, seed: 4 });
const EDGE = 'edge_2_1';
const o: SposOptions = {
  space: 'nb201', C: 4, cells: 1, epochs: 3, batchSize: 8, stepsPerEpoch: 2, seed: 1,
  calibrationBatches: 1, evalBatches: 1, fewShot: { edge: EDGE, epochs: 1 },
};
const OPS = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'];
const cellWith = (op: string): Sample => ({
  edge_1_0: 'nor_conv_3x3', edge_2_0: 'nor_conv_1x1', edge_2_1: op, edge_3_0: 'skip_connect', edge_3_1: 'nor_conv_3x3', edge_3_2: 'avg_pool_3x3',
});

test('at the split each sub-supernet copies the supernet: same outputs on every path, same momentum; training then sets them apart', async () => {
  const start = memory().numTensors;
  const run = createSposRun(data, o);
  try {
    assert.equal(run.subSupernets.length, 0);
    const first = await run.trainEpoch();
    assert.equal(first.phase, 'supernet');
    assert.equal(run.subSupernets.length, OPS.length);
    const parent = run.supernet;
    tidy(() => {
      const x = randn([2, 3, 8, 8]);
      run.subSupernets.forEach((sub, k) => {
        const path = run.shot.pathOf(cellWith(OPS[k]!));
        for (const net of [parent, sub]) {
          net.mixing.setPath(path);
          net.net.eval();
        }
        const [a, b] = noGrad(() => [parent.net.call(x), sub.net.call(x)]);
        assert.deepEqual(b!.toArray(), a!.toArray(), `sub-supernet ${OPS[k]}`);
        assert.notEqual(sub.net, parent.net);
      });
    });
    const momentum = (opt: typeof parent.optimizer) => Object.values(opt.stateDict().state).map((s) => (s['momentumBuffer'] as { toArray(): unknown }).toArray());
    assert.ok(momentum(parent.optimizer).length > 0);
    for (const sub of run.subSupernets) assert.deepEqual(momentum(sub.optimizer), momentum(parent.optimizer));

    // The stem trains in every sub-supernet, on different paths: the copies differ afterwards, and the parent stays as it was.
    const stem = (net: typeof parent) => net.net.parameters()[0]!.toArray();
    const parentStem = stem(parent);
    const second = await run.trainEpoch();
    assert.equal(second.phase, 'few-shot');
    assert.ok(Number.isFinite(second.trainLoss));
    assert.notDeepEqual(stem(run.subSupernets[0]!), stem(run.subSupernets[3]!));
    assert.notDeepEqual(stem(run.subSupernets[0]!), parentStem);
    assert.deepEqual(stem(parent), parentStem);
  } finally {
    run.dispose();
  }
  assert.equal(memory().numTensors, start);
});

test('after the split a cell is scored by the sub-supernet of its operation on the edge', async () => {
  const start = memory().numTensors;
  const run = createSposRun(data, o);
  try {
    await run.trainEpoch();
    await run.trainEpoch();
    const calibration = run.calibration.map((b) => b.x);
    const scores = OPS.map((op, k) => {
      const cell = cellWith(op);
      const sub = run.subSupernets[k]!;
      assert.equal(run.supernetFor(cell), sub, op);
      const expected = evaluateWithInheritedWeights(sub.net, sub.mixing, run.shot.pathOf(cell), calibration, run.validBatches);
      assert.equal(run.evaluate(cell), expected, op);
      return expected;
    });
    assert.ok(scores.every((s) => s >= 0 && s <= 1));
  } finally {
    run.dispose();
  }
  assert.equal(memory().numTensors, start);
});

test('a split at epoch 0 splits before any training', () => {
  const start = memory().numTensors;
  const run = createSposRun(data, { ...o, fewShot: { edge: EDGE, epochs: 0 } });
  try {
    assert.equal(run.subSupernets.length, OPS.length);
  } finally {
    run.dispose();
  }
  assert.equal(memory().numTensors, start);
});

test('a bad split edge or epoch is a config error naming the field and the value; nothing leaks', () => {
  const start = memory().numTensors;
  const refuses = (fewShot: SposOptions['fewShot'], where: string, pattern: RegExp) => assert.throws(
    () => createSposRun(data, { ...o, fewShot }),
    (e: Error & { code?: string; where?: string }) => e.code === 'config' && e.where === where && pattern.test(e.message),
  );
  refuses({ edge: 'edge_9_9', epochs: 1 }, 'strategy.options.fewShot.edge', /got 'edge_9_9'; expected one of edge_1_0, /);
  refuses({ edge: EDGE, epochs: 3 }, 'strategy.options.fewShot.epochs', /expected 0 to 2 epochs before it, got 3/);
  refuses({ edge: EDGE, epochs: 1.5 }, 'strategy.options.fewShot.epochs', /got 1.5/);
  assert.equal(memory().numTensors, start);
});

test("the spos method declares fewShot in its options: a config's split is checked field by field", () => {
  const schema = getWeightSharingMethod('spos').options;
  const checked = checkWith(schema, { fewShot: { edge: 'edge_3_0', epochs: 2 } }, 'strategy.options') as Record<string, unknown>;
  assert.deepEqual(checked['fewShot'], { edge: 'edge_3_0', epochs: 2 });
  assert.equal((checkWith(schema, {}, 'strategy.options') as Record<string, unknown>)['fewShot'], undefined);
  assert.throws(() => checkWith(schema, { fewShot: { edge: 'edge_3_0' } }, 'strategy.options'), (e: Error & { where?: string }) => e.where === 'strategy.options.fewShot.epochs');
  assert.throws(() => checkWith(schema, { fewShot: { edge: 'edge_3_0', epochs: -1 } }, 'strategy.options'), (e: Error & { where?: string }) => e.where === 'strategy.options.fewShot.epochs');
});

test('a checkpoint without sub-supernets does not restore into a run split earlier, nor one with them into a run without fewShot', async () => {
  const start = memory().numTensors;
  const plain = createSposRun(data, { ...o, fewShot: undefined });
  const split = createSposRun(data, o);
  try {
    await plain.trainEpoch();
    await plain.trainEpoch();
    await split.trainEpoch();
    const fromPlain = plain.checkpoint();
    const fromSplit = split.checkpoint();
    const fresh = [createSposRun(data, o), createSposRun(data, { ...o, fewShot: undefined })];
    try {
      assert.throws(() => fresh[0]!.restore(fromPlain.state, fromPlain.tensors), /checkpoint: expected the few-shot sub-supernets of a run split after 1 epochs, found none/);
      assert.throws(() => fresh[1]!.restore(fromSplit.state, fromSplit.tensors), /checkpoint: expected 0 few-shot sub-supernets \(the run's fewShot option\), got 5/);
    } finally {
      for (const run of fresh) run.dispose();
    }
  } finally {
    plain.dispose();
    split.dispose();
  }
  assert.equal(memory().numTensors, start);
});
