// Supernets of the chain, mobilenet, hierarchical and transformer spaces
// (and the buildSupernet entry point over every built-in space): dense and
// single-path forwards, one architecture state per label, a DARTS α step,
// single path = the extracted fixed network (whose parameters the cost model
// counts), export round trips, no leaks. The transformer's own cases are in
// transformer.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Adam } from '../nn/optim.js';
import { crossEntropy, manualSeed, memory, noGrad, randint, randn, resizeBilinear, tidy, type Tensor } from '../tensor/index.js';
import { Rng } from '../util/random.js';
import { chainSpace } from '../spaces/chain.js';
import { hierarchicalSpace } from '../spaces/hierarchical.js';
import { mobilenetSpace } from '../spaces/mobilenet.js';
import { transformerSpace } from '../spaces/transformer.js';
import type { DefinedSpace } from '../spaces/space.js';
import { DartsMixing, GdasMixing, MixedOp, PcDartsMixing, SinglePathMixing, type MixingStrategy } from '../spaces/supernet.js';
import type { Sample } from '../spaces/types.js';
import { BatchNorm2d } from '../nn/layers.js';
import { ChainSupernet, HierarchicalSupernet, MobilenetSupernet, TransformerSupernet, batchNormFirst, type SpaceSupernet } from './index.js';
import { buildSupernet, costOf } from '../kits/index.js';
import type { Module } from '../nn/module.js';

const chain = () => chainSpace({ minDepth: 1, maxDepth: 4, kernels: [3, 5], filters: [4, 8], poolAfter: [1] });
const mobilenet = () => mobilenetSpace({
  depths: [1, 2], expandRatios: [3, 6], kernels: [3, 5, 7], resolutions: [16, 24],
  widths: [8, 16], strides: [2, 2], activations: ['relu', 'hswish'], squeezeExcite: [false, true],
});
const hierarchical = () => hierarchicalSpace({ stageCounts: [1, 2], cellsPerStage: [1, 2], channels: [4, 8] });
const transformer = () => transformerSpace({ embedDims: [8, 16], depths: [1, 2, 3], heads: [1, 2], mlpRatios: [1, 2], headDim: 4 });

interface Case {
  name: string;
  space: () => DefinedSpace;
  build: (space: DefinedSpace, mixing: MixingStrategy) => SpaceSupernet & { extract(s?: Sample): Module };
  /** Input side for a sample (mobilenet: its resolution). */
  side: (s: Sample) => number;
  /** Whether it mixes candidates densely (DARTS); the transformer's supernet takes single paths only. */
  dense: boolean;
}

const cases: Case[] = [
  { name: 'chain', space: chain, build: (sp, mixing) => new ChainSupernet(sp as ReturnType<typeof chain>, { numClasses: 3, mixing }), side: () => 8, dense: true },
  { name: 'mobilenet', space: mobilenet, build: (sp, mixing) => new MobilenetSupernet(sp as ReturnType<typeof mobilenet>, { numClasses: 3, mixing }), side: (s) => Number(s.resolution), dense: true },
  { name: 'hierarchical', space: hierarchical, build: (sp, mixing) => new HierarchicalSupernet(sp as ReturnType<typeof hierarchical>, { numClasses: 3, mixing }), side: () => 8, dense: true },
  { name: 'transformer', space: transformer, build: (sp, mixing) => new TransformerSupernet(sp as ReturnType<typeof transformer>, { numClasses: 3, mixing, inputSize: 12 }), side: () => 12, dense: false },
];

function lossStep(net: SpaceSupernet, side: number): void {
  tidy(() => {
    const logits = net.call(randn([2, 3, side, side]));
    assert.deepEqual(logits.shape, [2, 3]);
    assert.ok(logits.toArray().every(Number.isFinite));
    crossEntropy(logits, randint(0, 3, [2])).backward();
  });
}

const maxAbsDiff = (a: Tensor, b: Tensor) => a.sub(b).abs().max().item();

for (const c of cases.filter((k) => k.dense)) {
  test(`${c.name} supernet: dense DARTS forward, one α per label, an α step changes α, argmax export is a valid sample`, () => {
    const start = memory().numTensors;
    manualSeed(0);
    const space = c.space();
    const net = c.build(space, new DartsMixing());
    const named = net.namedArchitectureParameters();
    // Exactly one architecture parameter per dimension of the space, with one entry per value.
    assert.deepEqual(named.map(([label]) => label), space.dimensions().map((d) => d.label));
    named.forEach(([label, a]) => assert.equal(a.shape[0], space.dimension(label).values.length, label));
    const before = tidy(() => named.map(([, a]) => a.detach().clone().keep()));
    const optimizer = new Adam(net.architectureParameters(), { lr: 0.05 });
    lossStep(net, 16);
    // Every label feeds the loss in dense mode, so every α has a gradient.
    for (const [label, a] of named) {
      const g = a.grad;
      assert.ok(g, `${label} has a gradient`);
      assert.ok(tidy(() => g.abs().sum().item()) > 0, `${label}'s gradient is not zero`);
      g.dispose();
    }
    optimizer.step();
    const moved = tidy(() => named.map(([, a], i) => maxAbsDiff(a, before[i]!)));
    assert.ok(moved.every((d) => d > 1e-4), `every α moved: ${moved.join(', ')}`);
    for (const t of before) t.dispose();
    optimizer.dispose();
    const s = net.exportSample();
    space.validate(s);
    assert.deepEqual(space.parse(space.format(s)), s);
    // Argmax export: each active label takes the value its α ranks first.
    for (const [label, value] of Object.entries(s)) {
      const a = named.find(([l]) => l === label)![1].toArray();
      assert.equal(value, space.dimension(label).values[a.indexOf(Math.max(...a))], label);
    }
    net.dispose();
    assert.equal(memory().numTensors, start);
  });

}

for (const c of cases) {
  test(`${c.name} supernet: GDAS (hard Gumbel single path) trains the α through the straight-through scale`, () => {
    const start = memory().numTensors;
    manualSeed(1);
    const space = c.space();
    const mixing = new GdasMixing(5);
    const net = c.build(space, mixing);
    lossStep(net, 16);
    const grads = mixing.architectureParameters().map((a) => a.grad);
    assert.ok(grads.filter((g) => g !== null).length > 0);
    assert.ok(grads.some((g) => g !== null && tidy(() => g.abs().sum().item()) > 0));
    for (const g of grads) g?.dispose();
    space.validate(net.exportSample());
    net.dispose();
    assert.equal(memory().numTensors, start);
  });

  test(`${c.name} supernet: single path follows sampled subnets and equals the extracted fixed network`, () => {
    const start = memory().numTensors;
    manualSeed(2);
    const space = c.space();
    const net = c.build(space, new SinglePathMixing());
    assert.deepEqual(net.architectureParameters(), []);
    const rng = new Rng(7);
    const seen = new Set<string>();
    for (let trial = 0; trial < 6; trial++) {
      const s = net.sampleActive(rng);
      seen.add(space.hash(s));
      assert.deepEqual(net.exportSample(), s);
      // A training step on this path moves the shared weights and batch-norm statistics.
      net.train();
      lossStep(net, c.side(s));
      net.zeroGrad();
      for (const mode of ['eval', 'train'] as const) {
        net.train(mode === 'train');
        const fixed = net.extract(s);
        assert.equal(fixed.training, mode === 'train');
        assert.equal(fixed.numParameters(), costOf(space, s, { classes: 3, input: [3, c.side(s), c.side(s)] }).params, `params of ${space.format(s)}`);
        const diff = tidy(() => noGrad(() => {
          const x = randn([2, 3, c.side(s), c.side(s)]);
          return maxAbsDiff(net.call(x), fixed.call(x));
        }));
        assert.ok(diff <= 1e-5, `${mode}: ${space.format(s)} differs by ${diff}`);
        fixed.dispose();
      }
    }
    assert.ok(seen.size > 1);
    // Negative control: another subnet of the same weights gives other outputs.
    net.eval();
    const a = net.sampleActive(rng);
    let b = net.sampleActive(rng);
    while (space.hash(b) === space.hash(a) || c.side(b) !== c.side(a)) b = net.sampleActive(rng);
    const fixedA = net.extract(a);
    const diff = tidy(() => noGrad(() => {
      const x = randn([2, 3, c.side(b), c.side(b)]);
      return maxAbsDiff(net.call(x), fixedA.call(x));
    }));
    assert.ok(diff > 1e-4, `subnets ${space.format(a)} and ${space.format(b)} should differ`);
    fixedA.dispose();
    net.dispose();
    assert.equal(memory().numTensors, start);
  });

}

for (const c of cases.filter((k) => k.dense)) {
  test(`${c.name} supernet: setMixing swaps strategies, PC-DARTS is refused, setActive needs a single path`, () => {
    const start = memory().numTensors;
    const space = c.space();
    const net = c.build(space, new DartsMixing());
    assert.throws(() => net.setActive(space.sample(new Rng(1))), /setActive needs single-path mixing/);
    const darts = net.setMixing(new SinglePathMixing());
    assert.ok(darts instanceof DartsMixing);
    const s = space.sample(new Rng(3));
    net.setActive(s);
    assert.deepEqual(net.exportSample(), s);
    // Back to the same α: they were kept by the returned strategy.
    const single = net.setMixing(darts);
    single.dispose();
    assert.equal(net.architectureParameters().length, space.dimensions().length);
    const pc = new PcDartsMixing(2);
    assert.throws(() => c.build(space, pc), /mixes whole tensors/);
    pc.dispose();
    net.dispose();
    assert.equal(memory().numTensors, start);
  });
}

test('chain supernet: layers beyond the depth do not run on a single path; dense mixing weighs every depth', () => {
  const start = memory().numTensors;
  manualSeed(3);
  const space = chain();
  const net = new ChainSupernet(space, { numClasses: 3, mixing: new SinglePathMixing() });
  const s = space.fromLayers([{ op: 'conv', kernel: 3, filters: 8, activation: 'relu' }, { op: 'sep_conv', kernel: 5, filters: 4, activation: 'mish' }]);
  net.setActive(s);
  net.zeroGrad();
  lossStep(net, 8);
  const hasGrad = (m: Module) => m.parameters().some((p) => {
    const g = p.grad;
    g?.dispose();
    return g !== null;
  });
  assert.ok(hasGrad(net.layers.at(1).candidate(space.config.ops.indexOf('sep_conv'))));
  assert.ok(!hasGrad(net.layers.at(1).candidate(space.config.ops.indexOf('conv'))), 'unchosen op gets no gradient');
  assert.ok(!hasGrad(net.layers.at(2)), 'layer 2 is beyond the depth');
  net.dispose();
  assert.equal(memory().numTensors, start);
});

test('hierarchical supernet: every cell of every stage shares the cell edge labels', () => {
  const start = memory().numTensors;
  const space = hierarchical();
  const mixing = new DartsMixing();
  const net = new HierarchicalSupernet(space, { numClasses: 3, mixing });
  const ops = net.modules().filter((m): m is MixedOp => m instanceof MixedOp);
  const cells = 2 * 2; // stages × deepest stack
  assert.equal(ops.length, 6 * cells);
  const byLabel = new Map<string, number>();
  for (const op of ops) byLabel.set(op.label, (byLabel.get(op.label) ?? 0) + 1);
  assert.deepEqual([...byLabel.values()], Array(6).fill(cells));
  assert.deepEqual([...byLabel.keys()], space.dimensions().filter((d) => d.label.startsWith('cell_')).map((d) => d.label));
  // One α per label, so the cells' ops read the same tensor.
  assert.equal(mixing.architectureParameters().filter((_, i) => mixing.namedArchitectureParameters()[i]![0].startsWith('cell_')).length, 6);
  assert.ok(ops.every((op) => op.choices === net.choices));
  net.dispose();
  assert.equal(memory().numTensors, start);
});

test('mobilenet supernet: kernel transforms are learned, resolution resizes the input, extract copies the transformed kernels', () => {
  const start = memory().numTensors;
  manualSeed(4);
  const space = mobilenet();
  const net = new MobilenetSupernet(space, { numClasses: 3 });
  const transforms = net.namedParameters().filter(([name]) => name.includes('transform_to_'));
  // Per elastic block: 7->5 and 5->3 matrices.
  assert.equal(transforms.length, 2 * 2 * 2);
  noGrad(() => tidy(() => {
    for (const [, t] of transforms) t.add_(randn(t.shape).mul(0.2));
  }));
  const s = space.fromArch({ resolution: 16, stages: [[{ kernel: 3, expand: 6 }], [{ kernel: 5, expand: 3 }, { kernel: 3, expand: 6 }]] });
  net.setActive(s);
  net.eval();
  const fixed = net.extract(s);
  const [diff, plain] = tidy(() => noGrad(() => {
    // A 24×24 input is resized to the sample's 16×16.
    const x = randn([2, 3, 24, 24]);
    const ref = fixed.call(resizeBilinear(x, [16, 16]));
    return [maxAbsDiff(net.call(x), ref), ref.abs().max().item()];
  }));
  assert.ok(plain > 0);
  assert.ok(diff <= 1e-5, `resized input: ${diff}`);
  fixed.dispose();
  // Without transforms, the kernels are plain centre crops.
  const plainNet = new MobilenetSupernet(space, { numClasses: 3, kernelTransform: false });
  assert.equal(plainNet.namedParameters().filter(([name]) => name.includes('transform_to_')).length, 0);
  plainNet.setActive(s);
  plainNet.eval();
  const plainFixed = plainNet.extract(s);
  const d2 = tidy(() => noGrad(() => {
    const x = randn([1, 3, 16, 16]);
    return maxAbsDiff(plainNet.call(x), plainFixed.call(x));
  }));
  assert.ok(d2 <= 1e-5);
  plainFixed.dispose();
  plainNet.dispose();
  net.dispose();
  assert.equal(memory().numTensors, start);
});

test('buildSupernet: every built-in space by name, dense and single-path forwards, exports are samples of the space', () => {
  const start = memory().numTensors;
  manualSeed(5);
  const rng = new Rng(11);
  const spaceOptions = {
    chain: { minDepth: 1, maxDepth: 2, kernels: [3], filters: [4, 8], poolAfter: [0] },
    mobilenet: { depths: [1, 2], expandRatios: [3, 4], kernels: [3, 5], resolutions: [16], widths: [8], strides: [2], activations: ['relu' as const], squeezeExcite: [true] },
    hierarchical: { stageCounts: [1, 2], cellsPerStage: [1], channels: [4] },
  };
  for (const name of ['nb201', 'darts', 'chain', 'mobilenet', 'hierarchical']) {
    const net = buildSupernet(name, { numClasses: 3, channels: 4, cells: name === 'darts' ? 3 : 1, spaceOptions, mixing: new DartsMixing() });
    assert.equal(net.space.name, name);
    assert.ok(net.architectureParameters().length > 0, name);
    assert.equal(net.namedArchitectureParameters().length, net.labels().size, name);
    lossStep(net, 16);
    net.space.validate(net.exportSample());
    net.setMixing(new SinglePathMixing()).dispose();
    for (let i = 0; i < 3; i++) {
      const s = net.sampleActive(rng);
      assert.deepEqual(net.exportSample(), s, `${name}: export gives back the active sample`);
      lossStep(net, 16);
    }
    net.dispose();
  }
  assert.throws(() => buildSupernet('nope', { numClasses: 3 }), /unknown space 'nope'/);
  assert.throws(() => buildSupernet('darts', { numClasses: 3, cells: 2 }), /at least 3 cells/);
  assert.equal(memory().numTensors, start);
});

test('batchNormFirst: a slice of a batch norm normalises like a smaller one and updates only its running statistics', () => {
  const start = memory().numTensors;
  manualSeed(6);
  const wide = new BatchNorm2d(6);
  const narrow = new BatchNorm2d(3);
  const x = tidy(() => randn([4, 3, 5, 5]).add(2));
  const diff = tidy(() => maxAbsDiff(batchNormFirst(wide, x, 3), narrow.call(x)));
  assert.ok(diff < 1e-6);
  const mean = wide.runningMean!.toArray();
  assert.deepEqual(mean.slice(0, 3).map((v) => v.toFixed(5)), narrow.runningMean!.toArray().map((v) => v.toFixed(5)));
  assert.ok(mean.slice(0, 3).every((v) => v > 0.1), 'the first channels moved towards the batch mean 2');
  assert.deepEqual(mean.slice(3), [0, 0, 0]);
  assert.equal(wide.numBatchesTracked!.item(), 1);
  x.dispose();
  wide.dispose();
  narrow.dispose();
  assert.equal(memory().numTensors, start);
});

test('SPOS-style resampling on a supernet: every drawn path exports a valid sample; a cell supernet keeps its channel split', () => {
  const start = memory().numTensors;
  const space = chain();
  const mixing = new SinglePathMixing();
  const net = new ChainSupernet(space, { numClasses: 3, mixing });
  const rng = new Rng(2);
  for (let i = 0; i < 20; i++) {
    mixing.resample(rng);
    space.validate(net.exportSample());
  }
  net.dispose();
  const nb201 = buildSupernet('nb201', { numClasses: 3, channels: 4, cells: 1, mixing: new DartsMixing() });
  const pc = new PcDartsMixing(2);
  assert.throws(() => nb201.setMixing(pc), /was built for 4/);
  pc.dispose();
  nb201.dispose();
  assert.equal(memory().numTensors, start);
});
