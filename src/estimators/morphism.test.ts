// NASH hill climbing on morphisms: a chain of morphisms keeps the network's
// function, a climb trains the children it reports (each one morphism
// sequence away from its parent) and leaks no tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syntheticDataset } from '../data/synthetic.js';
import { buildNetwork, getKit } from '../kits/index.js';
import { memory, randn, setNumThreads, tidy } from '../tensor/index.js';
import { Rng } from '../util/random.js';
import { TsnasError } from '../errors.js';
import type { WeightInheritance } from '../networks/morphism.js';
import { createStrategy } from '../strategies/index.js';
import { evaluate, trainModel } from '../train/trainer.js';
import { hillClimbMorphisms, inheritedNetwork, morphNetwork } from './morphism.js';

setNumThreads(1);
const space = getKit('chain').space({ maxDepth: 4, filters: [4, 8], kernels: [1, 3] });
const start = space.parse('conv:1:4:relu > conv:1:4:relu');
const network = { numClasses: 3, inChannels: 1, inputSize: 8 };

test('morphNetwork applies several morphisms and keeps the function', () => {
  const before = memory().numTensors;
  const net = buildNetwork(space, start, network);
  net.eval();
  const x = randn([2, 1, 8, 8]);
  const child = morphNetwork(space, { sample: start, net }, 3, new Rng(3), network);
  assert.equal(child.morphisms.length, 3);
  assert.notEqual(space.format(child.sample), space.format(start));
  child.net.eval();
  const diff = tidy(() => child.net.call(x).sub(net.call(x)).abs().max().item());
  assert.ok(diff < 1e-5, `changed by ${diff}`);
  for (const t of [x]) t.dispose();
  child.net.dispose();
  net.dispose();
  assert.equal(memory().numTensors, before);
});

test('hillClimbMorphisms trains the start network and each step\'s children', () => {
  const before = memory().numTensors;
  const train = syntheticDataset({ n: 24, channels: 1, height: 8, width: 8, numClasses: 3, seed: 1 });
  const valid = syntheticDataset({ n: 12, channels: 1, height: 8, width: 8, numClasses: 3, seed: 2 });
  const seen: number[] = [];
  const { best, history } = hillClimbMorphisms({
    space, start, network, train, valid, steps: 2, children: 2, morphismsPerChild: 2, startEpochs: 1, childEpochs: 1,
    training: { batchSize: 8, lr: 0.05 }, seed: 4, onChild: (c) => seen.push(c.step),
  });
  assert.deepEqual(seen, [0, 1, 1, 2, 2]);
  assert.equal(history.length, 5);
  for (const r of history.slice(1)) {
    assert.ok(r.parent && r.morphisms.length > 0, 'a child has a parent and the morphisms that made it');
    assert.ok(r.validAccuracy >= 0 && r.validAccuracy <= 1);
  }
  // Step 2's parent is step 1's best child.
  const step1 = history.filter((r) => r.step === 1);
  const step1Best = step1.reduce((a, b) => (b.validAccuracy > a.validAccuracy ? b : a));
  assert.equal(space.format(history[3]!.parent!), space.format(step1Best.sample));
  assert.equal(best.step, 2);
  assert.equal(memory().numTensors, before);
});

test('hillClimbMorphisms names a bad setting', () => {
  const d = syntheticDataset({ n: 4, channels: 1, numClasses: 3 });
  assert.throws(() => hillClimbMorphisms({
    space, start, network, train: d, valid: d, steps: 1, children: 0, morphismsPerChild: 1, startEpochs: 0, childEpochs: 1, training: { batchSize: 2, lr: 0.1 },
  }), /children must be an integer >= 1, got 0/);
});

test('inheritedNetwork: a child of the morphism strategy starts from its parent\'s function (same accuracy on a batch before training)', () => {
  const before = memory().numTensors;
  const data = syntheticDataset({ n: 24, channels: 1, height: 8, width: 8, numClasses: 3, seed: 5 });
  const parent = buildNetwork(space, start, network);
  trainModel(parent, data, { epochs: 1, batchSize: 8, lr: 0.05, seed: 1 });
  const strategy = createStrategy('morphism', space, { seed: 2, children: 2, morphismsPerChild: 3, start: space.format(start) });
  const [first] = strategy.ask(1);
  strategy.tell(first!, { accuracy: 0.5 });
  const [child] = strategy.ask(1);
  const { inherit } = strategy.trialMetadata!(child!) as WeightInheritance;
  const net = inheritedNetwork(space, inherit!, parent.stateDict(), child!, network);
  assert.notEqual(space.format(child!), space.format(start));
  const accuracy = evaluate(parent, data).accuracy;
  assert.equal(evaluate(net, data).accuracy, accuracy);
  parent.eval();
  net.eval();
  const x = randn([4, 1, 8, 8]);
  const diff = tidy(() => net.call(x).sub(parent.call(x)).abs().max().item());
  assert.ok(diff < 1e-5, `changed by ${diff}`);
  // A lineage that does not lead to the trial's sample is refused, naming both.
  assert.throws(() => inheritedNetwork(space, inherit!, parent.stateDict(), start, network), (e: Error) => e instanceof TsnasError && e.code === 'data' && /lead to .*, not to the trial's conv:1:4:relu > conv:1:4:relu/.test(e.message));
  x.dispose();
  net.dispose();
  parent.dispose();
  strategy.dispose();
  assert.equal(memory().numTensors, before);
});
