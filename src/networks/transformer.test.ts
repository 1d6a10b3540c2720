// The transformer space's ViT: logits equal PyTorch's for the same weights,
// shapes and gradients, parameters = the cost model's exactly, FLOPs = a hand
// count, a tiny network learns synthetic data, and nothing leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Adam } from '../nn/optim.js';
import { crossEntropy, manualSeed, memory, noGrad, randint, randn, tensor, tidy } from '../tensor/index.js';
import { Rng } from '../util/random.js';
import { transformerCost } from '../hardware/cost.js';
import { transformerSpace } from '../spaces/transformer.js';
import { buildNetwork, costOf, costOptionsFor, getSpace, networkInputShape } from '../kits/index.js';
import { checkConfig } from '../experiment/config.js';
import { runExperiment } from '../experiment/run.js';
import type { Sample } from '../spaces/types.js';
import { openStore } from '../store/index.js';
import { TransformerNetwork } from './transformer.js';

interface Stored {
  shape: number[];
  data: number[];
}
interface Fixture {
  config: { patchSize: number; headDim: number; numClasses: number; inChannels: number; inputSize: number; arch: { embedDim: number; layers: { heads: number; mlpRatio: number }[] } };
  state: Record<string, Stored>;
  input: Stored;
  logits: Stored;
}

test('transformer network: logits equal PyTorch (nn.MultiheadAttention / einsum attention, nn.LayerNorm, F.gelu) to 1e-4', () => {
  const start = memory().numTensors;
  const fx = JSON.parse(readFileSync(new URL('../../test/fixtures/transformer/vit_parity.json', import.meta.url), 'utf8')) as Fixture;
  const net = new TransformerNetwork(fx.config);
  tidy(() => {
    const state = Object.fromEntries(Object.entries(fx.state).map(([k, v]) => [k, tensor(v.data, v.shape)]));
    assert.deepEqual(Object.keys(net.stateDict()).sort(), Object.keys(state).sort());
    net.loadStateDict(state);
  });
  net.eval();
  const logits = tidy(() => noGrad(() => net.call(tensor(fx.input.data, fx.input.shape)).toArray()));
  assert.equal(logits.length, fx.logits.data.length);
  const diff = Math.max(...logits.map((v, i) => Math.abs(v - fx.logits.data[i]!)));
  assert.ok(diff <= 1e-4, `max |tsnas - torch| = ${diff}`);
  // The comparison is not vacuous: the reference logits are far from zero.
  assert.ok(Math.max(...fx.logits.data.map(Math.abs)) > 1e-2);
  net.dispose();
  assert.equal(memory().numTensors, start);
});

test('transformer network: forward shape, gradients reach every parameter, other image sizes resize the position embedding', () => {
  const start = memory().numTensors;
  manualSeed(0);
  const space = transformerSpace();
  const s = space.fromArch({ embedDim: 32, layers: [{ heads: 2, mlpRatio: 2 }, { heads: 4, mlpRatio: 1 }] });
  const net = buildNetwork(space, s, { numClasses: 10, inChannels: 1, inputSize: 28 }) as TransformerNetwork;
  assert.deepEqual(networkInputShape(space, s, { inChannels: 1, inputSize: 28 }), [1, 28, 28]);
  assert.deepEqual(net.posEmbed.shape, [1, 49, 32]);
  tidy(() => {
    const logits = net.call(randn([3, 1, 28, 28]));
    assert.deepEqual(logits.shape, [3, 10]);
    crossEntropy(logits, randint(0, 10, [3])).backward();
  });
  for (const [name, p] of net.namedParameters()) {
    const g = p.grad;
    assert.ok(g, `${name} has a gradient`);
    assert.ok(tidy(() => g.abs().sum().item()) > 0, `${name}'s gradient is not zero`);
    g.dispose();
  }
  // 32×32 images on a network built for 28×28: an 8×8 grid from the 7×7 embedding.
  tidy(() => assert.deepEqual(net.call(randn([1, 1, 32, 32])).shape, [1, 10]));
  net.dispose();
  assert.equal(memory().numTensors, start);
});

test('transformer cost: params equal numParameters() exactly for sampled architectures and inputs', () => {
  const start = memory().numTensors;
  const space = transformerSpace();
  const rng = new Rng(5);
  for (const [inChannels, inputSize, numClasses] of [[3, 32, 10], [1, 28, 10], [3, 16, 7]] as const) {
    for (let i = 0; i < 3; i++) {
      const s = space.sample(rng);
      const o = { numClasses, inChannels, inputSize };
      const net = buildNetwork(space, s, o);
      assert.equal(costOf(space, s, costOptionsFor(o)).params, net.numParameters(), `${space.format(s)} at ${inChannels}x${inputSize}x${inputSize}`);
      net.dispose();
    }
  }
  assert.equal(memory().numTensors, start);
});

test('transformer cost: FLOPs of a small network by hand', () => {
  // e8|h1:m2 on 1×8×8 images, patch 4, headDim 4, 3 classes: 4 tokens.
  const arch = { embedDim: 8, layers: [{ heads: 1, mlpRatio: 2 }] };
  const tokens = 4;
  const patch = tokens * (1 * 4 * 4 * 8 + 8); // conv MACs + bias per output
  const qkv = 3 * tokens * (8 * 4 + 4);
  const scores = 2 * 1 * tokens * tokens * 4; // q·kᵀ and attention·v
  const proj = tokens * (4 * 8 + 8);
  const mlp = tokens * (8 * 16 + 16) + tokens * (16 * 8 + 8);
  const head = 8 * 3 + 3;
  const cost = transformerCost(arch, { patchSize: 4, headDim: 4 }, { input: [1, 8, 8], classes: 3 });
  assert.equal(cost.flops, patch + qkv + scores + proj + mlp + head);
  // Params by hand: patch conv, positions, 2 LayerNorms, q/k/v/proj, MLP, final LN, head.
  const params = (16 * 8 + 8) + 4 * 8 + 2 * 16 + 3 * (8 * 4 + 4) + (4 * 8 + 8) + (8 * 16 + 16) + (16 * 8 + 8) + 16 + (8 * 3 + 3);
  assert.equal(cost.params, params);
});

test('transformer network: a tiny sample lowers the loss on synthetic data', () => {
  const start = memory().numTensors;
  manualSeed(1);
  const space = transformerSpace({ embedDims: [16], heads: [2], mlpRatios: [2], depths: [1], headDim: 8 });
  const s = space.sample(new Rng(0));
  const net = buildNetwork(space, s, { numClasses: 2, inChannels: 1, inputSize: 8 });
  // Class 1 images are brighter in the top-left patch.
  const x = tidy(() => {
    const base = randn([32, 1, 8, 8]).mul(0.5);
    const labels = randint(0, 2, [32]);
    const bump = labels.float().view(32, 1, 1, 1).mul(2);
    const mask = tensor(Array.from({ length: 64 }, (_, i) => (i % 8 < 4 && i < 32 ? 1 : 0)), [1, 1, 8, 8]);
    return { x: base.add(bump.mul(mask)).keep(), y: labels.keep() };
  });
  const optimizer = new Adam(net.parameters(), { lr: 0.01 });
  const lossOf = () => tidy(() => noGrad(() => crossEntropy(net.call(x.x), x.y).item()));
  const before = lossOf();
  for (let step = 0; step < 30; step++) {
    optimizer.zeroGrad();
    tidy(() => crossEntropy(net.call(x.x), x.y).backward());
    optimizer.step();
  }
  const after = lossOf();
  assert.ok(after < 0.5 * before, `loss ${before} -> ${after}`);
  optimizer.dispose();
  x.x.dispose();
  x.y.dispose();
  net.dispose();
  assert.equal(memory().numTensors, start);
});

test('experiments on the transformer space: the training and proxies estimators run', async () => {
  const store = await openStore('sqlite::memory:');
  const start = memory().numTensors;
  const options = { embedDims: [16, 32], depths: [1, 2], heads: [1, 2], mlpRatios: [1, 2], headDim: 8 };
  const space = getSpace('transformer', { transformer: options });
  try {
    const proxies = await runExperiment({
      store,
      config: checkConfig({
        name: 'transformer-proxies', seed: 1, space: { name: 'transformer', options }, strategy: { name: 'random' },
        estimator: { type: 'proxies', proxies: ['synflow', 'snip', 'nwot'], proxyBatch: 4, resolution: 12 },
        objectives: ['synflow'], dataset: { limitTrain: 100 }, budget: { trials: 2 },
      }),
    });
    assert.equal(proxies.counts['complete'], 2);
    for (const t of await store.listTrials(proxies.experimentId)) {
      const m = t.metrics!;
      assert.ok(m['synflow']! > 0 && m['snip']! > 0, JSON.stringify(m));
      // The parameters are those of the scored network (12×12 images, 1 channel: 9 patches).
      const net = buildNetwork(space, t.sample as Sample, { numClasses: 10, inChannels: 1, inputSize: 12 });
      assert.equal(m['params'], net.numParameters());
      net.dispose();
      // nwot reads the sign codes of the MLPs' GELU (an Activation module).
      assert.ok(Number.isFinite(m['nwot']), `nwot ${m['nwot']}`);
    }
    const trained = await runExperiment({
      store,
      config: checkConfig({
        name: 'transformer-training', seed: 2, space: { name: 'transformer', options }, strategy: { name: 'random' },
        estimator: { type: 'training', epochs: 1, batch: 32, lr: 0.01, resolution: 12 },
        dataset: { limitTrain: 128 }, budget: { trials: 2 },
      }),
    });
    assert.equal(trained.counts['complete'], 2);
    for (const t of await store.listTrials(trained.experimentId)) {
      assert.ok(t.metrics!['accuracy']! >= 0 && t.metrics!['accuracy']! <= 100, JSON.stringify(t.metrics));
    }
  } finally {
    await store.close();
  }
  assert.equal(memory().numTensors, start);
});
