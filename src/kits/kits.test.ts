// The space registry: every registered kit gives a fixed network for any
// sample (it trains, has the cost model's parameter count and leaks no
// tensors), lookups by name fail clearly, and a kit of one's own takes part
// in every lookup once registered. Small settings (each kit's `testing`)
// keep this quick.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TsnasError } from '../errors.js';
import { Flatten, Linear, Sequential } from '../nn/layers.js';
import { crossEntropy, memory, randint, randn, tidy } from '../tensor/index.js';
import { Rng } from '../util/random.js';
import { defineSpace, mobilenetSpace } from '../spaces/index.js';
import type { BuildNetworkOptions } from '../networks/index.js';
import {
  buildNetwork, buildSupernet, costOf, costOptionsFor, getKit, getSpace, kitModules, kitNames, latencyModel, networkInputShape, registerSpace,
  smallSetting, type SpaceKit,
} from './index.js';

for (const name of kitNames()) {
  test(`${name}: fixed networks of random samples train, match the cost model and leak nothing`, () => {
    const { space, options } = smallSetting(getKit(name));
    const rng = new Rng(20 + name.length);
    const start = memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const s = space.sample(rng);
      // The last sample also runs on one-channel images.
      const o: BuildNetworkOptions = i === 2 ? { ...options, inChannels: 1 } : options;
      const net = buildNetwork(space, s, o);
      try {
        const what = `${name} ${space.format(s)} (${o.inChannels ?? 3} input channels)`;
        assert.equal(net.numParameters(), costOf(space, s, costOptionsFor(o)).params, `${what}: parameters`);
        const shape = networkInputShape(space, s, o);
        assert.equal(shape[0], o.inChannels ?? 3);
        tidy(() => {
          const x = randn([2, ...shape]);
          const logits = net.call(x);
          assert.deepEqual(logits.shape, [2, o.numClasses], `${what}: logits`);
          const loss = crossEntropy(logits, randint(0, o.numClasses, [2]));
          assert.ok(Number.isFinite(loss.item()), `${what}: loss`);
          loss.backward();
          const withGrad = net.parameters().filter((p) => p.grad !== null);
          // The classifier always gets a gradient; finite everywhere.
          assert.ok(withGrad.length > 0, `${what}: gradients`);
          for (const p of withGrad) assert.ok(Number.isFinite(p.grad!.abs().sum().item()), `${what}: finite gradient`);
          net.zeroGrad();
          net.eval();
          assert.deepEqual(net.call(x).shape, [2, o.numClasses], `${what}: eval logits`);
        });
      } finally {
        net.dispose();
      }
    }
    assert.equal(memory().numTensors, start, 'no tensor outlives its network');
  });
}

test('buildNetwork takes a space name, and the name picks the default configuration', () => {
  const start = memory().numTensors;
  const space = getSpace('nb201');
  const s = space.parse('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|');
  const net = buildNetwork('nb201', s, { numClasses: 10 });
  assert.equal(net.numParameters(), 1_531_546, 'NAS-Bench-201 at C=16, N=5');
  net.dispose();
  assert.throws(() => buildNetwork('nb201', { edge_1_0: 'none' }, { numClasses: 10 }), /missing|edge_2_0/);
  assert.throws(() => buildNetwork('resnet', s, { numClasses: 10 }), (e: TsnasError) => e.code === 'usage' && /unknown space 'resnet', expected one of nb201, darts, chain, mobilenet, hierarchical, transformer/.test(e.message));
  assert.equal(memory().numTensors, start);
});

test('mobilenet networks take the sample resolution as their input size', () => {
  const mb = mobilenetSpace({ resolutions: [32, 64] });
  const s = mb.parse('r64|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3');
  assert.deepEqual(networkInputShape(mb, s), [3, 64, 64]);
  assert.deepEqual(networkInputShape(getSpace('chain'), getSpace('chain').sample(new Rng(1)), { inputSize: 24 }), [3, 24, 24]);
});

test('mobilenet with expand ratio 1 (no expansion conv): the cost model counts what the network builds', () => {
  const space = mobilenetSpace({ resolutions: [32], expandRatios: [1, 2] });
  const rng = new Rng(5);
  for (let i = 0; i < 3; i++) {
    const s = space.sample(rng);
    const net = buildNetwork(space, s, { numClasses: 10 });
    try {
      assert.equal(net.numParameters(), costOf(space, s, { classes: 10 }).params, space.format(s));
    } finally {
      net.dispose();
    }
  }
});

test('the built-in spaces are registered in order, each from its own module', () => {
  assert.deepEqual(kitNames().slice(0, 6), ['nb201', 'darts', 'chain', 'mobilenet', 'hierarchical', 'transformer']);
  for (const name of kitNames().slice(0, 6)) {
    assert.equal(getKit(name).name, name);
    assert.equal(getKit(name).space(getKit(name).testing.spaceOptions).name, name, 'space().name is the kit name');
  }
  assert.deepEqual(kitModules().filter((m) => m.includes('/kits/')).map((m) => m.replace(/.*\/kits\//, '')),
    ['nb201.js', 'darts.js', 'chain.js', 'mobilenet.js', 'hierarchical.js', 'transformer.js']);
  // Only the cell spaces size their networks from the caller and have latency edges.
  assert.deepEqual(kitNames((k) => k.sized), ['nb201', 'darts']);
  assert.equal(latencyModel('darts').space.name, 'darts');
  assert.throws(() => latencyModel('chain'), /space 'chain' has no latency table model \(spaces with one: nb201, darts\)/);
});

/** A two-dimension toy space: width of a hidden layer and whether the head has a bias. */
const toySpace = (name: string) => defineSpace({
  name,
  dimensions: [
    { label: 'hidden', kind: 'integer', values: [2, 4] },
    { label: 'bias', values: ['yes', 'no'] },
  ],
});

function toyKit(name: string): SpaceKit {
  return {
    name,
    optionKeys: [],
    space: () => toySpace(name),
    network: (_space, s, o) => new Sequential(new Flatten(), new Linear((o.inChannels ?? 3) * 16, Number(s.hidden)), new Linear(Number(s.hidden), o.numClasses, { bias: s.bias === 'yes' })),
    cost: (_space, s, o) => {
      const inputs = (o.input?.[0] ?? 3) * 16;
      const h = Number(s.hidden);
      const classes = o.classes ?? 10;
      const params = inputs * h + h + h * classes + (s.bias === 'yes' ? classes : 0);
      return { params, flops: params };
    },
    inputSize: () => 4,
    testing: { network: { numClasses: 3, inputSize: 4 } },
  };
}

test('a kit of one\'s own: every lookup by name or space uses it, and what it lacks is a clear usage error', () => {
  const start = memory().numTensors;
  const kit = toyKit('toy-registry-test');
  registerSpace(kit);
  registerSpace(kit); // the same kit again: nothing happens
  assert.ok(kitNames().includes('toy-registry-test'));
  const space = getSpace('toy-registry-test');
  const s = space.parse('{"hidden":4,"bias":"no"}');
  assert.deepEqual(networkInputShape('toy-registry-test', s, { inChannels: 1 }), [1, 4, 4]);
  const net = buildNetwork(space, s, { numClasses: 3, inChannels: 1 });
  assert.equal(net.numParameters(), costOf(space, s, costOptionsFor({ numClasses: 3, inChannels: 1 })).params);
  assert.equal(net.numParameters(), 16 * 4 + 4 + 4 * 3);
  tidy(() => assert.deepEqual(net.call(randn([2, 1, 4, 4])).shape, [2, 3]));
  net.dispose();
  assert.throws(() => buildSupernet('toy-registry-test', { numClasses: 3 }), (e: TsnasError) => e.code === 'usage' && /no supernet for space 'toy-registry-test' \(spaces with one: nb201, darts, chain/.test(e.message));
  assert.throws(() => latencyModel('toy-registry-test'), /has no latency table model/);
  // Registered without its module: a worker thread could not load it.
  assert.throws(() => kitModules('toy-registry-test'), /registered without its module, so worker threads cannot load it/);
  assert.ok(kitModules('nb201').length >= 6);
  // Names are unique; kits are checked when registered.
  assert.throws(() => registerSpace(toyKit('toy-registry-test')), /a space named 'toy-registry-test' is already registered/);
  assert.throws(() => registerSpace(toyKit('nb201')), /already registered/);
  assert.throws(() => registerSpace({ ...toyKit('bad name!'), name: 'bad name!' }), /letters, digits/);
  assert.throws(() => registerSpace({ ...toyKit('no-cost'), cost: undefined } as unknown as SpaceKit), /needs a cost\(\) function/);
  assert.throws(() => registerSpace({ ...toyKit('no-testing'), testing: undefined } as unknown as SpaceKit), /needs testing.network/);
  assert.ok(!kitNames().includes('no-cost'));
  assert.throws(() => getKit('nope'), (e: TsnasError) => e.exitCode === 2 && /unknown space 'nope', expected one of nb201, .*toy-registry-test/.test(e.message));
  assert.equal(memory().numTensors, start);
});
