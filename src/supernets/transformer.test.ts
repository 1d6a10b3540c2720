// The transformer supernet (AutoFormer weight entanglement): sub-networks
// share leading slices, DARTS-style mixing is refused, SPOS runs end to end,
// and nothing leaks. Single path = extracted network and GDAS are checked
// with the other spaces' supernets in supernets.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticDataset } from '../data/synthetic.js';
import { loadSafetensors } from '../export/safetensors.js';
import { runSpos } from '../weight-sharing/oneshot/spos.js';
import { crossEntropy, manualSeed, memory, randint, randn, tidy, type Tensor } from '../tensor/index.js';
import { transformerSpace } from '../spaces/transformer.js';
import { DartsMixing, SinglePathMixing } from '../spaces/supernet.js';
import { TransformerSupernet } from './index.js';
import { buildSupernet, costOf } from '../kits/index.js';

const tinyOptions = { embedDims: [8, 16], depths: [1, 2, 3], heads: [1, 2], mlpRatios: [1, 2], headDim: 4 };
const tiny = () => transformerSpace(tinyOptions);

test('transformer supernet: sub-networks train leading slices only; layers beyond the depth get no gradient', () => {
  const start = memory().numTensors;
  manualSeed(3);
  const space = tiny();
  const net = new TransformerSupernet(space, { numClasses: 3, inputSize: 8 });
  net.setActive(space.parse('e8|h1:m1'));
  tidy(() => crossEntropy(net.call(randn([2, 3, 8, 8])), randint(0, 3, [2])).backward());
  const gradOf = (t: Tensor) => {
    const g = t.grad;
    assert.ok(g, 'has a gradient');
    return g;
  };
  tidy(() => {
    // q: rows beyond one head (4) and columns beyond e=8 are untouched.
    const q = gradOf(net.layers.at(0).attn.q.weight);
    assert.ok(q.narrow(0, 0, 4).narrow(1, 0, 8).abs().sum().item() > 0);
    assert.equal(q.narrow(0, 4, 4).abs().sum().item(), 0);
    assert.equal(q.narrow(1, 8, 8).abs().sum().item(), 0);
    const fc1 = gradOf(net.layers.at(0).fc1.weight);
    assert.equal(fc1.narrow(0, 8, 24).abs().sum().item(), 0, 'hidden units beyond ratio 1 × e 8');
    const pos = gradOf(net.posEmbed);
    assert.equal(pos.narrow(2, 8, 8).abs().sum().item(), 0);
    q.dispose();
    fc1.dispose();
    pos.dispose();
  });
  assert.ok(net.layers.at(1).parameters().every((p) => p.grad === null), 'layer 1 is beyond the depth');
  net.dispose();
  assert.equal(memory().numTensors, start);
});

test('transformer supernet: buildSupernet builds it with one label per dimension; DARTS-style mixing is refused', () => {
  const start = memory().numTensors;
  const space = tiny();
  const net = buildSupernet(space, { numClasses: 3, inputSize: 8 });
  assert.ok(net instanceof TransformerSupernet);
  assert.deepEqual([...net.labels().keys()], space.dimensions().map((d) => d.label));
  const darts = new DartsMixing();
  assert.throws(() => net.setMixing(darts), /single paths only/);
  assert.throws(() => new TransformerSupernet(space, { numClasses: 3, mixing: darts }), /single paths only/);
  darts.dispose();
  const previous = net.setMixing(new SinglePathMixing());
  previous.dispose();
  net.dispose();
  assert.equal(memory().numTensors, start);
});

test('SPOS on the transformer supernet: a valid sample, its cost, the exported network at the data\'s size, no leaked tensors', async () => {
  manualSeed(7);
  const start = memory().numTensors;
  const data = syntheticDataset({ n: 64, height: 12, width: 12, numClasses: 3, seed: 5 });
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-tf-spos-'));
  const path = join(dir, 'vit.safetensors');
  const r = await runSpos(data, {
    exportPath: path,
    space: 'transformer', spaceOptions: { transformer: tinyOptions }, C: 4, cells: 1, epochs: 2, batchSize: 8, stepsPerEpoch: 2, seed: 1,
    calibrationBatches: 1, evalBatches: 1, evolution: { budget: 6, population: 3, topK: 2 },
  });
  const space = tiny();
  space.validate(r.sample);
  assert.equal(r.arch, space.format(r.sample));
  assert.equal(r.evaluations, 6);
  assert.ok(r.supernetAccuracy >= 0 && r.supernetAccuracy <= 1);
  assert.deepEqual(r.cost, costOf(space, r.sample, { classes: 3, input: [3, 12, 12] }));
  // The exported weights are the fixed network of 12×12 images: 9 positions, params = the cost model's.
  const { tensors, metadata } = loadSafetensors(path);
  assert.equal(metadata.arch, r.arch);
  assert.deepEqual(tensors['pos_embed']!.shape, [1, 9, Number(r.sample.embed_dim)]);
  assert.equal(Object.values(tensors).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0), r.cost.params);
  for (const t of Object.values(tensors)) t.dispose();
  rmSync(dir, { recursive: true, force: true });
  assert.equal(memory().numTensors, start);
});
