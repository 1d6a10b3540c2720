// Training hyperparameters as dimensions: the combined space, its text form,
// its errors, the network and cost of its architecture part, and the
// training estimator reading them per sample.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TsnasError } from '../errors.js';
import { buildNetwork, costOf, getSpace } from '../kits/index.js';
import { checkConfig } from '../experiment/config.js';
import { createTrialEstimator } from '../experiment/estimators.js';
import { memory, setNumThreads } from '../tensor/index.js';
import { Rng } from '../util/random.js';
import { isHyperparameterSpace, logGrid, withHyperparameters } from './hyperparameters.js';
import { nb201Space } from './nb201.js';

setNumThreads(1);

const hyperparameters = { lr: { log: [0.01, 0.1], count: 3 }, weightDecay: [0, 5e-4], epochs: [1, 2], augment: ['standard', 'none'] };

test('log grids are evenly spaced in log', () => {
  assert.deepEqual(logGrid(0.001, 0.1, 3), [0.001, 0.01, 0.1]);
  assert.deepEqual(logGrid(0.01, 0.1, 3), [0.01, 0.03162, 0.1]);
  assert.deepEqual(logGrid(0.5, 2, 1), [0.5]);
});

test('a space with hyperparameters: dimensions after the architecture, size, text form, split', () => {
  const arch = nb201Space();
  const space = withHyperparameters(arch, hyperparameters);
  assert.deepEqual(space.dimensions().slice(-4).map((d) => d.label), ['lr', 'weightDecay', 'epochs', 'augment']);
  assert.equal(space.size(), arch.size() * 3n * 2n * 2n * 2n);
  const rng = new Rng(2);
  for (let i = 0; i < 20; i++) {
    const s = space.sample(rng);
    assert.deepEqual(space.parse(space.format(s)), s);
    const { architecture, hyperparameters: hp } = space.split(s);
    arch.validate(architecture);
    assert.deepEqual(Object.keys(hp).sort(), ['augment', 'epochs', 'lr', 'weightDecay']);
  }
  const s = space.parse(`${arch.format(arch.sample(rng))} @ lr=0.03162 weightDecay=0 epochs=2 augment=none`);
  assert.equal(space.split(s).hyperparameters.epochs, 2);
  // The encodings the predictors read cover the hyperparameters too.
  assert.equal(space.encode(s, 'path').length, arch.encode(space.split(s).architecture, 'path').length + 3 + 2 + 2 + 2);
  assert.throws(() => space.parse(arch.format(arch.sample(rng))), /expected the architecture, then '@'/);
  assert.throws(() => space.parse(`${arch.format(arch.sample(rng))} @ lr=0.5 weightDecay=0 epochs=2 augment=none`), /'lr' has value 0\.5/);
});

test('bad hyperparameters are config errors naming the field', () => {
  const arch = nb201Space();
  const check = (raw: unknown, where: RegExp) => assert.throws(() => withHyperparameters(arch, raw), (e: unknown) => e instanceof TsnasError && e.code === 'config' && where.test(e.where ?? ''));
  check({ momentum: [0.9] }, /hyperparameters\.momentum$/);
  check({ lr: [0.1, -1] }, /hyperparameters\.lr$/);
  check({ lr: { log: [0.1, 0.01], count: 3 } }, /hyperparameters\.lr\.log$/);
  check({ epochs: [1.5] }, /hyperparameters\.epochs$/);
  check({ augment: ['yes'] }, /hyperparameters\.augment$/);
  const training = { kind: 'training' };
  assert.throws(() => checkConfig({ space: { name: 'chain', options: { hyperparameters: { batch: [0] } } }, estimator: training }), (e: unknown) => e instanceof TsnasError && e.where === 'space.options.hyperparameters.batch');
  // The table and the proxies never train, and weight-sharing methods search architectures only.
  for (const raw of [{ estimator: { kind: 'benchmark' } }, { strategy: { name: 'spos' }, estimator: training }]) {
    assert.throws(() => checkConfig({ space: { name: 'nb201', options: { hyperparameters: { epochs: [1, 3] } } }, ...raw }), (e: unknown) => e instanceof TsnasError && e.where === 'space.options.hyperparameters');
  }
});

test('getSpace with the hyperparameters option: networks and costs are those of the architecture part', () => {
  const space = getSpace('chain', { chain: { maxDepth: 3, hyperparameters } });
  assert.ok(isHyperparameterSpace(space));
  const arch = getSpace('chain', { chain: { maxDepth: 3 } });
  const s = space.sample(new Rng(4));
  const a = space.split(s).architecture;
  const o = { numClasses: 10, inChannels: 1, inputSize: 8 };
  const before = memory().numTensors;
  const net = buildNetwork(space, s, o);
  assert.equal(net.numParameters(), costOf(arch, a, { input: [1, 8, 8], classes: 10 }).params);
  assert.deepEqual(costOf(space, s, { input: [1, 8, 8], classes: 10 }), costOf(arch, a, { input: [1, 8, 8], classes: 10 }));
  net.dispose();
  assert.equal(memory().numTensors, before);
});

test("the training estimator trains each sample with the sample's epochs", () => {
  const config = checkConfig({
    seed: 0,
    space: { name: 'chain', options: { maxDepth: 2, hyperparameters: { epochs: [1, 3], lr: [0.05] } } },
    estimator: { kind: 'training', epochs: 2, batch: 16, resolution: 8 },
    dataset: { limitTrain: 40, validFraction: 0.25 },
  });
  const estimator = createTrialEstimator(config);
  const space = getSpace('chain', { chain: config.space.options as object });
  const rng = new Rng(1);
  try {
    for (const epochs of [1, 3]) {
      const s = { ...space.sample(rng), epochs };
      const steps: number[] = [];
      estimator.evaluate(space.fromJSON(s), { intermediate: (m, step) => void (m === 'valid_accuracy' && steps.push(step)) });
      assert.equal(steps.length, epochs);
    }
  } finally {
    estimator.dispose();
  }
});
