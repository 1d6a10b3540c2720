// Every built-in space gives a fixed network for any sample: it trains
// (forward and backward), has the cost model's parameter count and leaks no
// tensors. Small channel settings keep this quick.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crossEntropy, memory, randint, randn, tidy } from '../tensor/index.js';
import { Rng } from '../util/random.js';
import { costOf } from '../hardware/cost.js';
import { getSpace, mobilenetSpace, SPACE_NAMES } from '../spaces/index.js';
import { buildNetwork, costOptionsFor, networkInputShape, type BuildNetworkOptions } from './index.js';
import { SMALL_NETWORK_SETTINGS as SETTINGS } from './testing.js';


for (const name of SPACE_NAMES) {
  test(`${name}: fixed networks of random samples train, match the cost model and leak nothing`, () => {
    const { space, options } = SETTINGS[name]!;
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
  assert.throws(() => buildNetwork('resnet', s, { numClasses: 10 }), /unknown space 'resnet'/);
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
