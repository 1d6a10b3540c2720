// Supernet on nb201: DARTS mixing, GDAS, PC-DARTS and single-path sampling
// run forward and backward, share state per label, and export samples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, memory, randn, randint, tidy, crossEntropy } from '../tensor/index.js';
import { Rng } from '../util/random.js';
import { DartsMixing, GdasMixing, Nb201Supernet, PcDartsMixing, SinglePathMixing, type MixingStrategy } from './supernet.js';

const small = (mixing: MixingStrategy, C = 4) => new Nb201Supernet({ C, N: 1, numClasses: 3, mixing });

function step(net: Nb201Supernet) {
  tidy(() => {
    const x = randn([2, 3, 8, 8]);
    const y = randint(0, 3, [2]);
    const logits = net.call(x);
    assert.deepEqual(logits.shape, [2, 3]);
    crossEntropy(logits, y).backward();
  });
}

test('DARTS mixing: one shared alpha per edge label, gradients reach every alpha, argmax export', () => {
  const start = memory().numTensors;
  manualSeed(0);
  const mixing = new DartsMixing();
  const net = small(mixing);
  const named = mixing.namedArchitectureParameters();
  assert.deepEqual(named.map(([l]) => l), ['edge_1_0', 'edge_2_0', 'edge_2_1', 'edge_3_0', 'edge_3_1', 'edge_3_2']);
  assert.ok(named.every(([, a]) => a.shape[0] === 5));
  step(net);
  for (const [label, a] of named) {
    const g = a.grad;
    assert.ok(g, `${label} has a gradient`);
    assert.ok(g!.toArray().some((v) => v !== 0));
    g!.dispose();
  }
  // The export is the argmax of each label's alpha.
  const s = net.exportSample();
  for (const [label, a] of named) {
    const v = a.toArray();
    assert.equal(s[label], ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'][v.indexOf(Math.max(...v))]);
  }
  net.space.validate(s);
  assert.equal(Object.keys(s).length, 6);
  net.dispose();
  assert.equal(memory().numTensors, start);
});

test('single-path sampling: paths follow the rng, setPath fixes a sample and export gives it back', () => {
  const start = memory().numTensors;
  manualSeed(1);
  const mixing = new SinglePathMixing();
  const net = small(mixing);
  assert.deepEqual(mixing.architectureParameters(), []);
  const rng = new Rng(5);
  const seen = new Set<string>();
  for (let i = 0; i < 4; i++) {
    mixing.resample(rng);
    const s = net.exportSample();
    net.space.validate(s);
    seen.add(net.space.format(s));
    step(net);
  }
  assert.ok(seen.size > 1);
  const target = net.space.parse('|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|');
  mixing.setPath(target);
  assert.deepEqual(net.exportSample(), target);
  // Only the chosen candidates run: their weights get gradients, others do not.
  net.zeroGrad();
  step(net);
  const cell = net.cells.at(0) as unknown as { edges: { at(i: number): { candidate(k: number): { parameters(): { grad: unknown }[] } } } };
  const conv3 = cell.edges.at(0).candidate(3).parameters();
  const conv1 = cell.edges.at(0).candidate(2).parameters();
  const hasGrad = (p: { grad: unknown }) => {
    const g = p.grad as { dispose(): void } | null;
    g?.dispose();
    return g !== null;
  };
  assert.ok(conv3.map(hasGrad).some(Boolean));
  assert.ok(!conv1.map(hasGrad).some(Boolean));
  net.dispose();
  assert.equal(memory().numTensors, start);
});

test('GDAS and PC-DARTS override only their hooks and still train the alphas', () => {
  const start = memory().numTensors;
  manualSeed(2);
  for (const mixing of [new GdasMixing(5), new PcDartsMixing(2)]) {
    const net = small(mixing, 4);
    step(net);
    const grads = mixing.architectureParameters().map((a) => a.grad);
    assert.ok(grads.every((g) => g !== null), mixing.constructor.name);
    assert.ok(grads.some((g) => g!.toArray().some((v) => v !== 0)), mixing.constructor.name);
    for (const g of grads) g!.dispose();
    net.space.validate(net.exportSample());
    net.dispose();
  }
  assert.throws(() => small(new PcDartsMixing(3), 4), /divisible by k=3/);
  assert.equal(memory().numTensors, start);
});
