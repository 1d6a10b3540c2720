// One-shot search: paths of both spaces, strict-fair sampling, batch-norm
// recalibration, SPOS and ENAS end to end on tiny supernets, evolutionary
// search and ranking quality against the NAS-Bench-201 table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, memory, randint, randn, tidy } from '../../tensor/index.js';
import { BatchNorm2d } from '../../nn/layers.js';
import { syntheticDataset } from '../../data/synthetic.js';
import { Nb201Table } from '../../benchmarks/nb201.js';
import { dartsSpace, parseGenotype, genotypeToSample, DARTS_V2_TEXT } from '../../spaces/darts.js';
import { nb201Space } from '../../spaces/nb201.js';
import { Rng } from '../../util/random.js';
import { mixedOps } from '../differentiable/mixing.js';
import type { CellSpaceSupernet } from '../../supernets/index.js';
import { evolutionarySearch } from './evolution.js';
import { runSpos } from './spos.js';
import { OneShotSupernet } from './training.js';
import { runEnas } from './enas.js';
import { recalibrateBatchNorm, strictFairPaths } from './paths.js';
import { dartsSamplePath } from '../../supernets/darts.js';
import { rankingQuality } from './ranking.js';

test('DARTS genotype -> supernet path: two edges per node carry ops, the rest none', () => {
  const s = genotypeToSample(parseGenotype(DARTS_V2_TEXT));
  dartsSpace().validate(s);
  const path = dartsSamplePath(s, 4);
  assert.equal(Object.keys(path).length, 28);
  assert.equal(Object.values(path).filter((v) => v !== 'none').length, 16);
  assert.equal(path['normal_edge_2_0'], 'sep_conv_3x3');
  assert.equal(path['normal_edge_5_2'], 'dil_conv_3x3');
  assert.equal(path['reduce_edge_3_2'], 'skip_connect');
  assert.equal(path['normal_edge_3_2'], 'none');
});

test('strict fairness: each group of paths uses every candidate of every label exactly once', () => {
  const labels = new Map<string, readonly string[]>([['a', ['x', 'y', 'z']], ['b', ['p', 'q', 'r']]]);
  const paths = strictFairPaths(labels, new Rng(1));
  assert.equal(paths.length, 3);
  for (const [label, values] of labels) assert.deepEqual(paths.map((p) => p[label]).sort(), [...values].sort());
});

test('batch-norm recalibration: running statistics become the average over the given batches', () => {
  manualSeed(1);
  const start = memory().numTensors;
  const shot = new OneShotSupernet({ space: 'nb201', C: 4, cells: 1, numClasses: 3 }, { epochs: 1 });
  shot.mixing.setPath(nb201Space().parse('|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|'));
  const stemBn = shot.net.modules().find((m) => m instanceof BatchNorm2d) as BatchNorm2d;
  const xs = tidy(() => [randn([4, 3, 8, 8]).add(3).keep(), randn([4, 3, 8, 8]).add(3).keep()]);
  recalibrateBatchNorm(shot.net, xs);
  assert.equal(stemBn.numBatchesTracked!.item(), 2);
  assert.equal(stemBn.momentum, 0.1);
  // The stem's running mean is the mean of the two batches' means (cumulative average, not EMA from 0).
  const expected = tidy(() => {
    const conv = (shot.net as CellSpaceSupernet).net.stem.at(0);
    return [0, 1].map((i) => conv.call(xs[i]!).mean([0, 2, 3]).toArray());
  });
  const got = stemBn.runningMean!.toArray();
  got.forEach((v, c) => assert.ok(Math.abs(v - (expected[0]![c]! + expected[1]![c]!) / 2) < 1e-4));
  xs.forEach((x) => x.dispose());
  shot.dispose();
  assert.equal(memory().numTensors, start);
});

test('evolutionary search finds the optimum of a known fitness within budget, without repeats', async () => {
  const space = nb201Space();
  const target = space.parse('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|');
  const fitness = (s: Record<string, unknown>) => Object.keys(target).filter((k) => s[k] === target[k]).length;
  const { best, evaluated } = await evolutionarySearch(space, fitness, new Rng(3), { budget: 300, population: 20, topK: 5 });
  assert.equal(new Set(evaluated.map((e) => space.hash(e.sample))).size, evaluated.length);
  assert.ok(evaluated.length <= 300);
  assert.equal(best.fitness, 6);
});

const data = syntheticDataset({ n: 64, height: 8, width: 8, numClasses: 3, seed: 2 });

test('SPOS (uniform and strict-fair) trains a tiny supernet and returns a cell of the space', async () => {
  for (const sampling of ['uniform', 'strict-fair'] as const) {
    manualSeed(3);
    const start = memory().numTensors;
    let ranked = 0;
    const r = await runSpos(data, {
      space: 'nb201', C: 4, cells: 1, epochs: 2, batchSize: 8, stepsPerEpoch: 2, sampling, seed: 1,
      calibrationBatches: 1, evalBatches: 1, evolution: { budget: 8, population: 4, topK: 2 },
      afterSearch: ({ evaluate }) => {
        const table = Nb201Table.load();
        const q = rankingQuality(evaluate, (arch) => table.accuracy(arch, 'cifar10'), new Rng(4), 5);
        assert.equal(q.cells.length, 5);
        assert.ok(q.kendallTau >= -1 && q.kendallTau <= 1 && Number.isFinite(q.spearman));
        ranked = q.cells.length;
      },
    });
    nb201Space().validate(r.sample);
    assert.equal(r.arch, nb201Space().format(r.sample));
    assert.equal(r.history.length, 2);
    assert.ok(r.history.every((h) => Number.isFinite(h.trainLoss)));
    assert.equal(r.evaluations, 8);
    assert.ok(r.supernetAccuracy >= 0 && r.supernetAccuracy <= 1);
    assert.equal(ranked, 5);
    assert.equal(memory().numTensors, start);
  }
});

test('SPOS on the DARTS space: the found architecture is a valid genotype', async () => {
  manualSeed(4);
  const start = memory().numTensors;
  const r = await runSpos(data, {
    space: 'darts', C: 4, cells: 3, epochs: 1, batchSize: 8, stepsPerEpoch: 1, seed: 2,
    calibrationBatches: 1, evalBatches: 1, evolution: { budget: 3, population: 3 },
  });
  dartsSpace().validate(r.sample);
  assert.ok(r.arch.startsWith('Genotype('));
  assert.equal(memory().numTensors, start);
});

test('ENAS: controller samples train the shared weights; one validation reward per controller step', async () => {
  manualSeed(5);
  const start = memory().numTensors;
  const r = await runEnas(data, {
    space: 'nb201', C: 4, cells: 1, epochs: 2, batchSize: 8, stepsPerEpoch: 2, seed: 3, controllerSteps: 3,
    calibrationBatches: 1, evalBatches: 1, deriveSamples: 3,
  });
  nb201Space().validate(r.sample);
  assert.equal(r.controllerRewards.length, 6);
  assert.ok(r.controllerRewards.every((v) => v >= 0 && v <= 1));
  assert.ok(r.evaluations >= 1 && r.evaluations <= 3);
  assert.equal(memory().numTensors, start);
});

test('single-path training only moves the weights of the sampled candidates', () => {
  manualSeed(6);
  const start = memory().numTensors;
  const shot = new OneShotSupernet({ space: 'nb201', C: 4, cells: 1, numClasses: 3 }, { epochs: 1, weightDecay: 0 });
  const path = nb201Space().parse('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|');
  const edge = mixedOps((shot.net as CellSpaceSupernet).net)[0]!;
  const conv1x1 = edge.candidate(2).parameters()[0]!;
  const conv3x3 = edge.candidate(3).parameters()[0]!;
  const [a1, a3] = [conv1x1.toArray(), conv3x3.toArray()];
  tidy(() => {
    shot.trainStep({ x: randn([4, 3, 8, 8]), y: randint(0, 3, [4]) }, [path]);
  });
  assert.deepEqual(conv1x1.toArray(), a1);
  assert.ok(conv3x3.toArray().some((v, i) => v !== a3[i]));
  shot.dispose();
  assert.equal(memory().numTensors, start);
});
