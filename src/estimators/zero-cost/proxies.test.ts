// Zero-cost proxies against PyTorch computations of the same definitions on
// the same weights and batch (fixtures from scripts/fixtures/gen_proxies.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { NB201Network } from '../../networks/nb201.js';
import { parseNb201Ops } from '../../spaces/nb201.js';
import { manualSeed, memory, randn, tensor, type Tensor } from '../../tensor/index.js';
import { Activation, AdaptiveAvgPool2d, Conv2d, Flatten, Linear, ReLU, Sequential } from '../../nn/layers.js';
import type { Module } from '../../nn/module.js';
import { NETWORK_PROXIES, computeProxies, parseProxyList, PROXY_NAMES, type ProxyName } from './proxies.js';
import type { ProxyRandom } from './recent.js';

const dir = new URL('../../../test/fixtures/proxies/', import.meta.url);

interface Case {
  name: string;
  arch: string;
  /** false: the zero-cost-nas reference's cells (biased convs, BN without affine or running stats). */
  cellAffine: boolean;
  file: string;
  tensors: { name: string; shape: number[]; offset: number }[];
  labels: number[];
  values: Record<string, number>;
  /** The reference's random draws (zen, az_*, meco_opt), replayed in order. */
  draws: {
    file: string;
    normal: { shape: number[]; offset: number }[];
    rademacher: { shape: number[]; offset: number }[];
    choices: number[][];
  };
}
const manifest = JSON.parse(readFileSync(new URL('cases.json', dir), 'utf8')) as {
  C: number; N: number; numClasses: number; inputShape: number[]; batch: number; cases: Case[];
};

function load(c: Case): { net: NB201Network; x: Tensor; y: Tensor } {
  const bytes = readFileSync(new URL(c.file, dir));
  const floats = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const dict: Record<string, Tensor> = {};
  for (const t of c.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    dict[t.name] = tensor(floats.subarray(t.offset, t.offset + n), t.shape);
  }
  const x = dict.__input__!;
  delete dict.__input__;
  const net = new NB201Network({
    ops: parseNb201Ops(c.arch), C: manifest.C, N: manifest.N, numClasses: manifest.numClasses, inChannels: 3,
    affine: c.cellAffine, trackRunningStats: c.cellAffine,
  });
  const { missingKeys, unexpectedKeys } = net.loadStateDict(dict, { strict: false });
  for (const t of Object.values(dict)) t.dispose();
  assert.deepEqual(unexpectedKeys, []);
  assert.ok(missingKeys.every((k) => k.endsWith('num_batches_tracked')), `missing ${missingKeys.join(', ')}`);
  const y = tensor(c.labels, [c.labels.length], { dtype: 'int64' });
  return { net, x, y };
}

function close(actual: number, expected: number, rel: number, what: string): void {
  const err = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-12);
  assert.ok(err <= rel, `${what}: ${actual} vs PyTorch ${expected} (relative error ${err.toExponential(2)} > ${rel})`);
}

/** A ProxyRandom that hands out the reference's draws in order, and checks each one's shape. */
function replay(c: Case): ProxyRandom & { left(): number } {
  const bytes = readFileSync(new URL(c.draws.file, dir));
  const floats = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const queues = { normal: [...c.draws.normal], rademacher: [...c.draws.rademacher] };
  const choices = [...c.draws.choices];
  const next = (kind: 'normal' | 'rademacher', shape: number[]) => {
    const d = queues[kind].shift();
    assert.ok(d, `no ${kind} draw left`);
    assert.deepEqual(shape, d.shape, `${kind} draw shape`);
    return tensor(floats.subarray(d.offset, d.offset + shape.reduce((a, b) => a * b, 1)), shape);
  };
  return {
    normal: (shape) => next('normal', shape),
    rademacher: (shape) => next('rademacher', shape),
    choose: (n, k) => {
      const idx = choices.shift();
      assert.ok(idx && idx.length === k && idx.every((i) => i < n), `channel choice ${k} of ${n}`);
      return idx;
    },
    left: () => queues.normal.length + queues.rademacher.length + choices.length,
  };
}

// Relative tolerances: float32 sums of a few thousand terms; grasp is a
// signed sum with cancellation, the logdets are O(10-100) in magnitude;
// zico sums logs of ratios of float32 gradient statistics; the NTK's
// condition number comes from float32 gradients.
const tolerance: Record<string, number> = {
  grad_norm: 1e-4, snip: 1e-4, grasp: 1e-3, fisher: 1e-4, synflow: 1e-6, jacob_cov: 1e-4, nwot: 1e-6,
  zico: 1e-4, meco: 1e-6, meco_opt: 1e-6, swap: 0, swap_reg: 1e-9, zen: 1e-4,
  az_expressivity: 1e-6, az_progressivity: 1e-4, az_trainability: 1e-4, te_ntk: 1e-3, te_linear_regions: 0,
};

for (const c of manifest.cases) {
  test(`zero-cost proxies match PyTorch: ${c.name}`, () => {
    const before = memory().numTensors;
    const { net, x, y } = load(c);
    const paramsBefore = net.parameters().map((p) => p.toArray());
    const buffersBefore = net.buffers().map((b) => b.toArray());
    const random = replay(c);
    const scores = computeProxies(net, { x, y }, NETWORK_PROXIES, { random });
    assert.equal(random.left(), 0, 'every reference draw is used');
    for (const name of NETWORK_PROXIES) {
      assert.ok(Number.isFinite(scores[name]!), `${name} is ${scores[name]}`);
      close(scores[name]!, c.values[name]!, tolerance[name]!, `${c.name} ${name}`);
    }
    // The network is left as it was: parameters, running statistics, no gradients.
    assert.deepEqual(net.parameters().map((p) => p.toArray()), paramsBefore);
    assert.deepEqual(net.buffers().map((b) => b.toArray()), buffersBefore);
    assert.ok(net.parameters().every((p) => p.grad === null));
    // Each proxy alone gives the value it gives in the shared pass.
    for (const name of ['fisher', 'grasp', 'nwot', 'jacob_cov', 'zico', 'meco', 'te_ntk'] as const) {
      const alone = computeProxies(net, { x, y }, [name]);
      close(alone[name]!, scores[name]!, 1e-9, `${name} alone`);
    }
    net.dispose();
    x.dispose();
    y.dispose();
    assert.equal(memory().numTensors, before);
  });
}

test('synflow without any batch norm differs from the reference handling', () => {
  const c = manifest.cases[0]!;
  const { net, x, y } = load(c);
  const before = memory().numTensors;
  const ref = computeProxies(net, { x, y }, ['synflow']).synflow!;
  const none = computeProxies(net, { x, y }, ['synflow'], { synflowBatchNorm: 'none' }).synflow!;
  assert.equal(memory().numTensors, before);
  close(ref, c.values.synflow!, 1e-6, 'synflow');
  assert.ok(Math.abs(none - ref) / ref > 1e-3, `expected a different value, got ${none} and ${ref}`);
  net.dispose();
  x.dispose();
  y.dispose();
});

test('parseProxyList takes all or a list, and names a bad entry', () => {
  assert.deepEqual(parseProxyList('all'), [...PROXY_NAMES]);
  assert.deepEqual(parseProxyList('snip, synflow,snip'), ['snip', 'synflow'] as ProxyName[]);
  assert.throws(() => parseProxyList('snip,foo'), /unknown proxy 'foo'/);
  assert.throws(() => parseProxyList(','), /expected 'all'/);
});

test('nwot reads the codes of any activation: a swish network scores like its ReLU twin', () => {
  const before = memory().numTensors;
  manualSeed(3);
  const x = randn([6, 3, 8, 8]);
  const y = tensor([0, 1, 2, 0, 1, 2], [6], { dtype: 'int64' });
  const build = (act: () => Module) => {
    manualSeed(4);
    return new Sequential(new Conv2d(3, 8, 3, { padding: 1 }), act(), new Conv2d(8, 8, 3, { padding: 1 }), act(),
      new AdaptiveAvgPool2d(1), new Flatten(), new Linear(8, 3));
  };
  const scores = [() => new ReLU(), () => new Activation('swish'), () => new Activation('mish')].map((act) => {
    const net = build(act);
    const s = computeProxies(net, { x, y }, ['nwot']).nwot!;
    net.dispose();
    return s;
  });
  // Same weights, same pre-activations before the first activation, so the first layer's codes
  // agree; the scores are finite and close but not identical (the second layer's inputs differ).
  for (const s of scores) assert.ok(Number.isFinite(s), `nwot ${s}`);
  assert.ok(Math.abs(scores[1]! - scores[0]!) / Math.abs(scores[0]!) < 0.2, `swish ${scores[1]} vs relu ${scores[0]}`);
  x.dispose();
  y.dispose();
  assert.equal(memory().numTensors, before);
});
