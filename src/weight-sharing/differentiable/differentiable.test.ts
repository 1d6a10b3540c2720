// Differentiable search: the second-order hypergradient against an exact
// double-backward computation, genotype derivation on hand-set weights,
// every method moving α on tiny supernets, GDAS's single path, PC-DARTS's
// memory, regularisers and the Hessian eigenvalue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  crossEntropy, grad, manualSeed, memory, noGrad, randint, randn, stack, tidy, type Tensor,
} from '../../tensor/index.js';
import { DARTS_PRIMITIVES } from '../../nn/ops.js';
import { NB201_OPS } from '../../spaces/nb201.js';
import { parseGenotype, formatGenotype } from '../../spaces/darts.js';
import { syntheticDataset } from '../../data/synthetic.js';
import { dartsEdgeLabel, dartsEdges } from '../../supernets/darts.js';
import { deriveArchitecture, deriveDartsGenotype, type ArchWeights } from '../../supernets/genotype.js';
import { autogradOracle, dominantHessianEigenvalue, unrolledArchGradient } from './hypergradient.js';
import { mixedOps, SearchDartsMixing } from './mixing.js';
import { buildCellSupernet } from './network.js';
import { BilevelSearch, flopsCostTable } from './search.js';
import type { DifferentiableMethod } from './traits.js';
import { runDifferentiableSearch } from './run.js';

const f64 = { dtype: 'float64' as const };

test('second-order hypergradient (finite-difference HVP) matches exact double backward to 1e-3', () => {
  const start = memory().numTensors;
  manualSeed(3);
  tidy(() => {
    const w1 = randn([5, 3], f64).requiresGrad_(true);
    const w2 = randn([3, 5], f64).requiresGrad_(true);
    const alpha = randn([3], f64).requiresGrad_(true);
    const xt = randn([16, 3], f64);
    const yt = randint(0, 3, [16]);
    const xv = randn([16, 3], f64);
    const yv = randint(0, 3, [16]);
    const bufs = [randn([5, 3], f64), randn([3, 5], f64)];
    const net = (x: Tensor, a: Tensor, b: Tensor) => {
      const h = x.matmul(a.t());
      const p = alpha.softmax(0);
      const mixed = h.tanh().mul(p.select(0, 0)).add(h.mul(p.select(0, 1))).add(h.sigmoid().mul(p.select(0, 2)));
      return mixed.matmul(b.t());
    };
    const xi = 0.1;
    const wd = 3e-4;
    const momentum = 0.9;
    // Exact: d/dα L_val(w − ξ(∇w L_train(w, α) + wd·w + m·buf), α), differentiating through ∇w L_train.
    const [g1, g2] = grad(crossEntropy(net(xt, w1, w2), yt), [w1, w2], { createGraph: true }) as Tensor[];
    const u1 = w1.sub(g1!.add(w1.mul(wd)).add(bufs[0]!.mul(momentum)).mul(xi));
    const u2 = w2.sub(g2!.add(w2.mul(wd)).add(bufs[1]!.mul(momentum)).mul(xi));
    const exact = grad(crossEntropy(net(xv, u1, u2), yv), [alpha])[0]!;
    const before = stack([w1.detach().sum(), w2.detach().sum()]).toArray();
    const { grads } = unrolledArchGradient({
      weights: [w1, w2], alphas: [alpha], xi, weightDecay: wd, momentum, momentumBuffers: bufs,
      trainLoss: () => crossEntropy(net(xt, w1, w2), yt),
      validLoss: () => crossEntropy(net(xv, w1, w2), yv),
    });
    const approx = grads[0]!;
    const rel = approx.sub(exact).norm().item() / exact.norm().item();
    assert.ok(rel < 1e-3, `relative error ${rel}`);
    // The implicit term matters: the first-order gradient differs by far more.
    const firstOrder = grad(crossEntropy(net(xv, w1, w2), yv), [alpha])[0]!;
    assert.ok(firstOrder.sub(exact).norm().item() / exact.norm().item() > 1e-2);
    // The weights are restored exactly.
    assert.deepEqual(stack([w1.detach().sum(), w2.detach().sum()]).toArray(), before);
  });
  assert.equal(memory().numTensors, start);
});

function oneHotWeights(labels: string[], ops: readonly string[], pick: Record<string, [string, number]>, rest = 0.01): ArchWeights {
  const out: ArchWeights = {};
  for (const label of labels) {
    const w = ops.map(() => rest);
    const chosen = pick[label];
    if (chosen) w[ops.indexOf(chosen[0])] = chosen[1];
    out[label] = w;
  }
  return out;
}

test('DARTS genotype: top-2 inputs by strongest non-none op, op = argmax without none', () => {
  const labels = (['normal', 'reduce'] as const).flatMap((cell) => dartsEdges(4).map(([to, from]) => dartsEdgeLabel(cell, to, from)));
  const pick: Record<string, [string, number]> = {
    // node 2: 'none' dominates edge 0 but its best real op still counts.
    normal_edge_2_0: ['none', 0.9],
    normal_edge_2_1: ['sep_conv_3x3', 0.5],
    // node 3: the strongest two of three.
    normal_edge_3_0: ['skip_connect', 0.2],
    normal_edge_3_1: ['dil_conv_5x5', 0.6],
    normal_edge_3_2: ['max_pool_3x3', 0.7],
    normal_edge_4_3: ['sep_conv_5x5', 0.8],
    normal_edge_4_0: ['avg_pool_3x3', 0.3],
    normal_edge_5_4: ['dil_conv_3x3', 0.4],
    normal_edge_5_2: ['skip_connect', 0.35],
    reduce_edge_2_0: ['max_pool_3x3', 0.5],
    reduce_edge_2_1: ['max_pool_3x3', 0.6],
    reduce_edge_3_2: ['skip_connect', 0.5],
    reduce_edge_3_0: ['avg_pool_3x3', 0.4],
    reduce_edge_4_1: ['sep_conv_3x3', 0.5],
    reduce_edge_4_3: ['dil_conv_3x3', 0.45],
    reduce_edge_5_0: ['sep_conv_5x5', 0.5],
    reduce_edge_5_4: ['skip_connect', 0.3],
  };
  const weights = oneHotWeights(labels, DARTS_PRIMITIVES, pick);
  // Edge 2_0's best non-none op: make max_pool the runner-up there.
  weights['normal_edge_2_0']![DARTS_PRIMITIVES.indexOf('max_pool_3x3')] = 0.05;
  const g = deriveDartsGenotype(weights);
  assert.deepEqual(g.normal, [
    ['sep_conv_3x3', 1], ['max_pool_3x3', 0],
    ['max_pool_3x3', 2], ['dil_conv_5x5', 1],
    ['sep_conv_5x5', 3], ['avg_pool_3x3', 0],
    ['dil_conv_3x3', 4], ['skip_connect', 2],
  ]);
  assert.deepEqual(g.reduce, [
    ['max_pool_3x3', 1], ['max_pool_3x3', 0],
    ['skip_connect', 2], ['avg_pool_3x3', 0],
    ['sep_conv_3x3', 1], ['dil_conv_3x3', 3],
    ['sep_conv_5x5', 0], ['skip_connect', 4],
  ]);
  assert.deepEqual(g.normal_concat, [2, 3, 4, 5]);
  // β reweights edges: node 2 of the normal cell then prefers input 0's op.
  const withBeta = deriveDartsGenotype(weights, { edgeWeights: { normal_node2: [0.99, 0.01] } });
  assert.deepEqual(withBeta.normal.slice(0, 2), [['max_pool_3x3', 0], ['sep_conv_3x3', 1]]);
  const derived = deriveArchitecture('darts', weights);
  assert.equal(formatGenotype(parseGenotype(derived.arch)), derived.arch);
  assert.equal(derived.skipFraction, 3 / 16);
  assert.equal(derived.noneFraction, 0);
});

test('NAS-Bench-201 derivation keeps none and reports collapse fractions', () => {
  const labels = ['edge_1_0', 'edge_2_0', 'edge_2_1', 'edge_3_0', 'edge_3_1', 'edge_3_2'];
  const ops = ['nor_conv_3x3', 'none', 'skip_connect', 'skip_connect', 'avg_pool_3x3', 'nor_conv_1x1'];
  const weights = oneHotWeights(labels, NB201_OPS, Object.fromEntries(labels.map((l, i) => [l, [ops[i]!, 0.9]])));
  const d = deriveArchitecture('nb201', weights);
  assert.equal(d.arch, '|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_1x1~2|');
  assert.equal(d.skipFraction, 2 / 6);
  assert.equal(d.noneFraction, 1 / 6);
  assert.equal(d.parameterFreeFraction, 4 / 6);
});

function batches(n: number, size: number, classes = 3) {
  return Array.from({ length: n }, () => ({ x: randn([size, 3, 8, 8]).keep(), y: randint(0, classes, [size]).keep() }));
}

const methods: DifferentiableMethod[] = ['darts', 'darts2', 'gdas', 'pcdarts'];
for (const space of ['nb201', 'darts'] as const) {
  for (const method of methods) {
    test(`${method} on a tiny ${space} supernet: a few steps move α, no tensor leaks`, () => {
      manualSeed(11);
      const start = memory().numTensors;
      const data = batches(2, 4);
      const search = new BilevelSearch(
        { space, C: 8, cells: space === 'nb201' ? 1 : 3, numClasses: 3 },
        { method, epochs: 4, archWarmupEpochs: 0, archLr: 0.05, fairLambda: method === 'darts' ? 0.1 : 0, skipDropout: method === 'darts' ? 0.2 : 0 },
      );
      const before = search.alphas.map((a) => a.toArray());
      const weightBefore = search.weights[0]!.toArray();
      for (let s = 0; s < 2; s++) {
        const r = search.step(data[s]!, data[1 - s]!);
        assert.ok(Number.isFinite(r.train.loss));
        assert.ok(r.valid && Number.isFinite(r.valid.loss));
      }
      const after = search.alphas.map((a) => a.toArray());
      const moved = after.filter((a, i) => a.some((v, k) => Math.abs(v - before[i]![k]!) > 1e-6)).length;
      // GDAS updates the sampled path's α; every other method moves every α.
      assert.ok(method === 'gdas' ? moved > 0 : moved === after.length, `${moved} of ${after.length} α moved`);
      assert.ok(search.weights[0]!.toArray().some((v, k) => v !== weightBefore[k]));
      const d = search.derive();
      assert.ok(d.arch.length > 0);
      search.dispose();
      for (const b of data) {
        b.x.dispose();
        b.y.dispose();
      }
      assert.equal(memory().numTensors, start);
    });
  }
}

test('GDAS computes exactly one candidate per mixed op in a forward pass; τ anneals 10 -> 0.1, linearly or geometrically', () => {
  manualSeed(2);
  const start = memory().numTensors;
  const search = new BilevelSearch({ space: 'darts', C: 4, cells: 3, numClasses: 3 }, { method: 'gdas', epochs: 5 });
  const ops = mixedOps(search.net);
  let calls = 0;
  const removers = ops.flatMap((op) => op.candidates.children().map((c) => c.registerForwardHook(() => void calls++)));
  tidy(() => {
    search.net.call(randn([2, 3, 8, 8]));
  });
  assert.equal(calls, ops.length);
  removers.forEach((r) => r());
  assert.equal(search.tau, 10);
  search.setEpoch(4);
  assert.ok(Math.abs(search.tau! - 0.1) < 1e-12);
  search.setEpoch(2);
  assert.ok(Math.abs(search.tau! - 5.05) < 1e-12, 'linear by default, as the reference code');
  search.dispose();
  const geometric = new BilevelSearch({ space: 'nb201', C: 4, cells: 1, numClasses: 3 }, { method: 'gdas', epochs: 5, tauSchedule: 'geometric' });
  geometric.setEpoch(2);
  assert.ok(Math.abs(geometric.tau! - 1) < 1e-12);
  geometric.dispose();
  assert.equal(memory().numTensors, start);
});

test('DARTS mixing skips none yet gives the plain weighted sum and the same gradients', () => {
  manualSeed(4);
  const start = memory().numTensors;
  const mixing = new SearchDartsMixing();
  const net = buildCellSupernet({ space: 'nb201', C: 4, cells: 1, numClasses: 3 }, mixing);
  net.eval();
  const x = randn([2, 3, 8, 8]).keep();
  const run = () => tidy(() => {
    const y = net.call(x);
    const g = grad(y.square().sum(), mixing.architectureParameters());
    return { y: y.toArray(), g: g.flatMap((t) => t!.toArray()) };
  });
  const fast = run();
  // The straightforward sum over every candidate (base class behaviour).
  const proto = Object.getPrototypeOf(SearchDartsMixing.prototype) as { applyWeights: typeof mixing.applyWeights };
  mixing.applyWeights = proto.applyWeights.bind(mixing);
  const plain = run();
  fast.y.forEach((v, i) => assert.ok(Math.abs(v - plain.y[i]!) < 1e-5));
  fast.g.forEach((v, i) => assert.ok(Math.abs(v - plain.g[i]!) < 1e-5 * Math.max(1, Math.abs(v))));
  net.dispose();
  x.dispose();
  assert.equal(memory().numTensors, start);
});

test('PC-DARTS (k=4) peaks below DARTS on the same configuration (peak RSS of one step, fresh processes)', () => {
  const probe = fileURLToPath(new URL('./memory-probe.js', import.meta.url));
  const peak = (method: string) => {
    const out = execFileSync(process.execPath, [probe, JSON.stringify({ method, space: 'darts', C: 8, cells: 3, batch: 8, resolution: 16 })], { encoding: 'utf8' });
    return (JSON.parse(out.trim()) as { peakStepBytes: number }).peakStepBytes;
  };
  const darts = peak('darts');
  const pc = peak('pcdarts');
  assert.ok(darts > 0);
  assert.ok(pc < 0.75 * darts, `PC-DARTS ${pc} bytes vs DARTS ${darts}`);
});

test('hardware cost and FairNAS penalty are differentiable α-only terms; Hessian eigenvalue by power iteration', () => {
  manualSeed(6);
  const start = memory().numTensors;
  const search = new BilevelSearch({ space: 'nb201', C: 4, cells: 1, numClasses: 3 }, {
    method: 'darts', epochs: 1, fairLambda: 1, cost: { table: flopsCostTable('nb201', 4), lambda: 1 }, archLr: 0.1,
  });
  const cost0 = tidy(() => noGrad(() => search.expectedCost().item()));
  // Uniform α: each of 6 edges expects (0 + 0 + 4 + 36 + 9)/5.
  assert.ok(Math.abs(cost0 - (6 * 49) / 5) < 0.1);
  // Only the regulariser: gradient steps lower the expected cost.
  for (let i = 0; i < 5; i++) {
    tidy(() => {
      const g = grad(search.regularizer()!, search.mixing.architectureParameters());
      search.mixing.architectureParameters().forEach((a, k) => (a.grad = g[k]!));
      search.archOptimizer.step();
      search.archOptimizer.zeroGrad();
    });
  }
  assert.ok(tidy(() => noGrad(() => search.expectedCost().item())) < cost0);
  // The power iteration's eigenvalue on a quadratic: H = diag(1, 2, 7) -> 7.
  tidy(() => {
    const p = randn([3]).requiresGrad_(true);
    const d = [1, 2, 7];
    const lambda = dominantHessianEigenvalue([p], () => stack(d.map((v, i) => p.select(0, i).square().mul(v / 2))).sum(), { iterations: 100, tolerance: 1e-7 });
    assert.ok(Math.abs(lambda - 7) < 1e-3, `eigenvalue ${lambda}`);
  });
  const v = tidy(() => search.hessianEigenvalue({ x: randn([4, 3, 8, 8]), y: randint(0, 3, [4]) }, 5));
  assert.ok(Number.isFinite(v));
  search.dispose();
  assert.equal(memory().numTensors, start);
});

test('runDifferentiableSearch: history of weights and genotypes per epoch, PC-DARTS warm-up freezes α', async () => {
  const start = memory().numTensors;
  const data = syntheticDataset({ n: 48, height: 8, width: 8, numClasses: 3, seed: 1 });
  const r = await runDifferentiableSearch(data, {
    method: 'pcdarts', space: 'nb201', C: 8, cells: 1, epochs: 3, archWarmupEpochs: 1, batchSize: 8, stepsPerEpoch: 2, hessianEvery: 1, hessianIterations: 3, archLr: 0.05,
  });
  assert.equal(r.history.length, 3);
  assert.equal(r.history[0]!.phase, 'warmup');
  assert.equal(r.history[1]!.phase, 'search');
  assert.equal(r.history[0]!.validLoss, null);
  assert.deepEqual(r.history[0]!.weights, r.history[0]!.weights);
  // Frozen in epoch 1 (weights equal the initial near-uniform), moving after.
  const w = (e: number) => r.history[e]!.weights['edge_1_0']!;
  assert.ok(w(2).some((v, i) => Math.abs(v - w(0)[i]!) > 1e-4));
  assert.ok(r.history.every((h) => h.arch.startsWith('|') && Number.isFinite(h.hessianEigenvalue!)));
  assert.ok(r.history[2]!.edgeWeights && r.history[2]!.edgeWeights['node3']!.length === 3);
  assert.equal(r.arch, r.history[2]!.arch);
  assert.equal(memory().numTensors, start);
});

for (const size of [8, 12]) {
test(`segmented backward (depthwise gradients as forward convs) equals plain autograd on a DARTS supernet, ${size}x${size} inputs`, () => {
  manualSeed(8);
  const start = memory().numTensors;
  const search = new BilevelSearch({ space: 'darts', C: 4, cells: 3, numClasses: 3 }, { method: 'darts', epochs: 1, segmentedBackward: true });
  assert.ok(search.tape);
  const x = randn([2, 3, size, size]).keep();
  const y = randint(0, 3, [2]).keep();
  const loss = () => crossEntropy(search.net.call(x), y);
  const inputs = [...search.weights, ...search.alphas];
  tidy(() => {
    const plain = autogradOracle(loss, inputs);
    const fast = search.gradient(loss, inputs);
    let compared = 0;
    inputs.forEach((p, i) => {
      const a = plain[i];
      const b = fast[i];
      assert.equal(a === null, b === null, `gradient presence of parameter ${i}`);
      if (!a || !b) return;
      const scale = Math.max(a.abs().max().item(), 1e-6);
      assert.ok(a.sub(b).abs().max().item() / scale < 1e-4, `parameter ${i} ${p.shape}`);
      compared++;
    });
    assert.ok(compared > 100);
    // Only the asked inputs get gradients: α alone.
    const onlyAlpha = search.gradient(loss, search.alphas);
    assert.equal(onlyAlpha.length, search.alphas.length);
    assert.ok(search.weights.every((w) => w.grad === null && w.requiresGrad));
  });
  search.dispose();
  x.dispose();
  y.dispose();
  assert.equal(memory().numTensors, start);
});
}

test('DARTS supernet: 14 edges per cell, reductions at 1/3 and 2/3, parameter count as the PyTorch search network', () => {
  const start = memory().numTensors;
  const net = buildCellSupernet({ space: 'darts', C: 8, cells: 5, numClasses: 10 }, new SearchDartsMixing());
  const cells = (net as import('../../supernets/darts.js').DartsSupernet).cells;
  assert.deepEqual([...cells].map((c) => c.reduction), [false, true, false, true, false]);
  assert.ok([...cells].every((c) => c.edges.length === 14));
  assert.equal(net.choices.labels.size, 28);
  // bench/pytorch_darts_step.py (DARTS's model_search.Network, C=8, 5 layers) reports 394210.
  assert.equal(net.numParameters(), 394210);
  net.dispose();
  assert.equal(memory().numTensors, start);
});

test('DARTS-ES: a sharp rise of the dominant eigenvalue stops the search and returns the architecture of k epochs earlier', async () => {
  const start = memory().numTensors;
  const data = syntheticDataset({ n: 32, height: 8, width: 8, numClasses: 3, seed: 3 });
  // ratio 0: any positive mean eigenvalue counts as a rise, so it stops after 2k epochs.
  const r = await runDifferentiableSearch(data, {
    method: 'darts', space: 'nb201', C: 4, cells: 1, epochs: 5, batchSize: 8, stepsPerEpoch: 1, hessianIterations: 3, earlyStop: { window: 1, ratio: 0 }, archLr: 0.05,
  });
  assert.equal(r.stoppedEarly, true);
  assert.equal(r.history.length, 2);
  assert.ok(r.history.every((h) => h.hessianEigenvalue !== null));
  assert.equal(r.arch, r.history[0]!.arch);
  assert.equal(memory().numTensors, start);
});
