// The math that sets the DARTS variants apart, each on a tiny case: GDAS's
// straight-through gradient on a one-edge toy (every candidate's logit, or
// the sampled one's only) and its soft mode, the Dirichlet sampler of DrNAS
// (moments, pathwise gradient, positive concentrations), β-DARTS's
// regulariser and its ramp, DARTS−'s auxiliary skip and its decay, SDARTS's
// bounded noise and its ramp and adversarial attack, idle weights decaying
// under GDAS's reference optimiser, and its α batches drawn with
// replacement.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Identity } from '../../nn/layers.js';
import { Times } from '../../nn/testing/times.js';
import { ArchitectureChoices, DartsMixing, GdasMixing, MixedOp, type MixingStrategy } from '../../spaces/supernet.js';
import { crossEntropy, grad, manualSeed, memory, noGrad, rand, randn, setNumThreads, tensor, tidy, type Tensor } from '../../tensor/index.js';
import { dirichletConcentration, sampleDirichlet } from './dirichlet.js';
import { auxiliarySkip, mixedOps, RandomSmoothing } from './mixing.js';
import { BilevelSearch, betaRegularizer } from './search.js';
import { createDifferentiableRun, type SearchOptions } from './run.js';
import { syntheticDataset } from '../../data/synthetic.js';
import { DataLoader, type LoaderState } from '../../data/loader.js';
import { Rng } from '../../util/random.js';

setNumThreads(1);

const close = (a: number[], b: number[], tol: number, what: string) =>
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) <= tol, `${what}[${i}]: ${v} vs ${b[i]} (all: ${a} vs ${b})`));

/** One edge: candidates x·1 (skip), x·2, x·−3, x·0.5 under `mixing`. */
function oneEdge(mixing: MixingStrategy): { op: MixedOp; choices: ArchitectureChoices } {
  const choices = new ArchitectureChoices(mixing);
  const ks = [1, 2, -3, 0.5];
  const op = new MixedOp('edge_1_0', ['skip_connect', 'a', 'b', 'c'], (_v, i) => (i === 0 ? new Identity() : new Times(ks[i]!)), choices);
  return { op, choices };
}

test('GDAS straight-through: the logit gradient is that of soft·v, v_a = g_a for the sampled candidate and S = Σ∂L/∂y for the others (reference), or only the sampled term', () => {
  const start = memory().numTensors;
  for (const gradient of ['all', 'sampled'] as const) {
    const mixing = new GdasMixing(2, { gradient });
    const { op, choices } = oneEdge(mixing);
    tidy(() => {
      const alpha = mixing.architectureParameters()[0]!;
      noGrad(() => alpha.copy_(tensor([0.3, -0.2, 0.5, 0.1])));
      const x = randn([2, 3]);
      const c = randn([2, 3]);
      manualSeed(11);
      choices.beginForward();
      const y = op.call(x);
      const index = (choices.weightsFor('edge_1_0') as { index: number }).index;
      const actual = grad(y.mul(c).sum(), [alpha])[0]!.toArray();
      // The same Gumbel draw by hand: soft = softmax((log softmax α + G)/τ).
      manualSeed(11);
      const u = rand([4]);
      const gumbel = u.add(1e-20).log().neg().add(1e-20).log().neg();
      const soft = alpha.logSoftmax(0).add(gumbel).div(2).softmax(0);
      const candidate = op.candidate(index).call(x);
      const ga = candidate.mul(c).sum().item();
      const S = c.sum().item();
      const v = [0, 1, 2, 3].map((i) => (i === index ? ga : gradient === 'all' ? S : 0));
      const expected = grad(soft.mul(tensor(v)).sum(), [alpha])[0]!.toArray();
      close(actual, expected, 1e-5, `${gradient}: ∂L/∂α`);
      // The forward is the sampled candidate alone: the offset is exactly 0.
      assert.deepEqual(y.toArray(), candidate.toArray());
      if (gradient === 'sampled') assert.ok(Math.abs(expected.reduce((a, b) => a + b, 0)) < 1e-6);
    });
    op.dispose();
    mixing.dispose();
  }
  assert.equal(memory().numTensors, start);
});

test('GDAS soft mode mixes every candidate but none with the Gumbel-softmax weights (summing to 1)', () => {
  const start = memory().numTensors;
  manualSeed(2);
  const search = new BilevelSearch({ space: 'nb201', C: 4, cells: 1, numClasses: 3 }, { method: 'gdas', epochs: 2, gdasMode: 'soft' });
  const ops = mixedOps(search.net);
  let calls = 0;
  const removers = ops.flatMap((op) => op.candidates.children().map((c) => c.registerForwardHook(() => void calls++)));
  tidy(() => {
    search.net.call(randn([2, 3, 8, 8]));
    const w = search.mixing.processWeights('edge_1_0', search.mixing.getWeights('edge_1_0'));
    assert.equal(w.kind, 'dense');
    if (w.kind === 'dense') assert.ok(Math.abs(w.weights.sum().item() - 1) < 1e-5);
  });
  // 4 of the 5 nb201 operations are computed on each mixed op ('none' is skipped).
  assert.equal(calls, 4 * ops.length);
  removers.forEach((r) => r());
  search.dispose();
  assert.equal(memory().numTensors, start);
});

test('DrNAS: concentrations elu(α)+1 stay positive; Dirichlet draws have the right mean and variance and a pathwise gradient that matches ∂E[w]/∂c', () => {
  const start = memory().numTensors;
  tidy(() => {
    close(dirichletConcentration(tensor([-3, 0, 2, -80])).toArray(), [Math.exp(-3), 1, 3, 0], 1e-6, 'elu + 1');
    assert.ok(dirichletConcentration(tensor([-80])).item() > 0, 'positive even far below 0');
  });
  manualSeed(5);
  const c = [0.4, 1.5, 3];
  const s = c.reduce((a, b) => a + b, 0);
  const n = 2000;
  const sums = [0, 0, 0];
  const squares = [0, 0, 0];
  const gradSums = [0, 0, 0];
  for (let k = 0; k < n; k++) {
    tidy(() => {
      const conc = tensor(c).requiresGrad_(true);
      const w = sampleDirichlet(conc);
      const values = w.toArray();
      assert.ok(values.every((v) => v > 0) && Math.abs(values.reduce((a, b) => a + b, 0) - 1) < 1e-5);
      values.forEach((v, i) => {
        sums[i]! += v;
        squares[i]! += v * v;
      });
      const g = grad(w.select(0, 0), [conc])[0]!.toArray();
      assert.ok(g.every(Number.isFinite));
      g.forEach((v, i) => (gradSums[i]! += v));
    });
  }
  const mean = sums.map((v) => v / n);
  close(mean, c.map((v) => v / s), 0.02, 'mean');
  // Var[w_i] = m_i(1 − m_i)/(s + 1).
  close(squares.map((v, i) => v / n - mean[i]! ** 2), c.map((v) => ((v / s) * (1 - v / s)) / (s + 1)), 0.01, 'variance');
  // ∂E[w_0]/∂c = ((s − c_0)/s², −c_0/s², −c_0/s²): the mean pathwise gradient estimates it (the acceptance correction is dropped).
  close(gradSums.map((v) => v / n), [(s - c[0]!) / s ** 2, -c[0]! / s ** 2, -c[0]! / s ** 2], 0.02, '∂E[w_0]/∂c');
  assert.equal(memory().numTensors, start);
});

test('β-DARTS: the regulariser is the mean over edges of logsumexp(α), weighted by λ rising linearly over the epochs', () => {
  const start = memory().numTensors;
  tidy(() => {
    const a = tensor([0.5, -1, 2]);
    const b = tensor([0, 0]);
    const hand = (Math.log(Math.exp(0.5) + Math.exp(-1) + Math.exp(2)) + Math.log(2)) / 2;
    assert.ok(Math.abs(betaRegularizer([a, b]).item() - hand) < 1e-6);
  });
  manualSeed(1);
  const search = new BilevelSearch({ space: 'nb201', C: 4, cells: 1, numClasses: 3 }, { method: 'beta-darts', epochs: 10, betaLambdaMin: 2, betaLambdaMax: 12 });
  const alphas = search.mixing.architectureParameters();
  for (const [epoch, lambda] of [[0, 2], [5, 7], [9, 11]] as const) {
    search.setEpoch(epoch);
    assert.deepEqual(search.coefficients, { betaLambda: lambda });
    tidy(() => assert.ok(Math.abs(search.regularizer()!.item() - lambda * betaRegularizer(alphas).item()) < 1e-5));
  }
  search.dispose();
  assert.equal(memory().numTensors, start);
});

test('DARTS−: the auxiliary skip adds weight·skip(x) to the mixed output, its weight decaying linearly from 1 to 0 over the epochs', () => {
  const start = memory().numTensors;
  manualSeed(3);
  const search = new BilevelSearch({ space: 'nb201', C: 4, cells: 1, numClasses: 3 }, { method: 'darts-minus', epochs: 5 });
  const weights = [0, 1, 2, 3, 4].map((e) => {
    search.setEpoch(e);
    return search.coefficients!['auxSkip']!;
  });
  close(weights, [1, 0.75, 0.5, 0.25, 0], 1e-12, 'β');
  search.dispose();
  // On one edge: softmax-mixed output plus 0.5·x, and nothing once removed.
  const { op, choices } = oneEdge(new DartsMixing());
  tidy(() => {
    const x = randn([2, 3]);
    choices.beginForward();
    const plain = op.call(x);
    const remove = auxiliarySkip(op, () => 0.5);
    choices.beginForward();
    close(op.call(x).toArray(), plain.add(x.mul(0.5)).toArray(), 1e-6, 'aux skip');
    remove();
    choices.beginForward();
    close(op.call(x).toArray(), plain.toArray(), 0, 'removed');
  });
  choices.mixing.dispose();
  op.dispose();
  assert.equal(memory().numTensors, start);
});

test('SDARTS: in the weight step softmax(α) gets noise in [−ε, ε], clipped to [0, 1] and renormalised; none otherwise; ε rises from 0.03 to epsilonMax', () => {
  const start = memory().numTensors;
  const smoothing = new RandomSmoothing();
  smoothing.epsilon = 0.1;
  tidy(() => {
    const alpha = tensor([0.2, -0.4, 1, -3]);
    const clean = alpha.softmax(0).toArray();
    close(smoothing.forward(alpha).toArray(), clean, 0, 'inactive');
    smoothing.active = true;
    manualSeed(8);
    const noisy = smoothing.forward(alpha).toArray();
    manualSeed(8);
    const noise = rand([4]).mul(0.2).sub(0.1).toArray();
    assert.ok(noise.every((d) => Math.abs(d) <= 0.1 + 1e-7));
    const clipped = clean.map((v, i) => Math.min(1, Math.max(0, v + noise[i]!)));
    const sum = clipped.reduce((a, b) => a + b, 0);
    close(noisy, clipped.map((v) => v / sum), 1e-6, 'perturbed');
    assert.ok(noisy.some((v, i) => Math.abs(v - clean[i]!) > 1e-4));
    close(smoothing.mean(alpha).toArray(), clean, 0, 'mean');
  });
  const search = new BilevelSearch({ space: 'nb201', C: 4, cells: 1, numClasses: 3 }, { method: 'sdarts', epochs: 10, epsilonMax: 0.3 });
  const eps = [0, 5].map((e) => {
    search.setEpoch(e);
    return search.coefficients!['epsilon']!;
  });
  close(eps, [0.03, 0.165], 1e-12, 'ε');
  assert.equal(search.smoothing!.active, false, 'off outside the weight step');
  search.dispose();
  assert.equal(memory().numTensors, start);
});

test('decayIdle: weights that had a gradient but got none this step keep moving (momentum, decay) under GDAS\'s reference optimiser, not otherwise', () => {
  const start = memory().numTensors;
  const unchangedAfterSteps = (decayIdle: boolean) => {
    manualSeed(6);
    const search = new BilevelSearch({ space: 'nb201', C: 4, cells: 1, numClasses: 3 }, { method: 'gdas', epochs: 2, decayIdle });
    const batch = () => ({ x: randn([4, 3, 8, 8]), y: tensor([0, 1, 2, 0], undefined, { dtype: 'int64' }) });
    const steps = [batch(), batch(), batch()];
    for (const b of steps.slice(0, 2)) search.weightStep(b);
    const before = search.weights.map((w) => w.toArray());
    const buffers = search.weightOptimizer.stateDict().state;
    search.weightStep(steps[2]!);
    const unchanged = search.weights.filter((w, i) => buffers[String(i)] && w.toArray().every((v, j) => v === before[i]![j])).length;
    for (const b of steps) {
      b.x.dispose();
      b.y.dispose();
    }
    search.dispose();
    return unchanged;
  };
  assert.equal(unchangedAfterSteps(true), 0, 'every weight with a momentum buffer moved');
  assert.ok(unchangedAfterSteps(false) > 0, 'weights of the candidates not sampled in the last step stay');
  assert.equal(memory().numTensors, start);
});

test('SDARTS-ADV: the attack finds a perturbation within [−ε, ε] that raises the batch loss over the unperturbed weights (or none)', () => {
  const start = memory().numTensors;
  manualSeed(9);
  const search = new BilevelSearch({ space: 'nb201', C: 4, cells: 1, numClasses: 3 }, { method: 'sdarts', epochs: 10, epsilonMax: 0.3, perturbation: 'adversarial', attackSteps: 4 });
  search.setEpoch(9);
  const eps = search.smoothing!.epsilon;
  const batch = { x: randn([8, 3, 8, 8]), y: tensor([0, 1, 2, 0, 1, 2, 0, 1], undefined, { dtype: 'int64' }) };
  // A few weight steps first, so that the operations differ and the weights matter.
  for (let k = 0; k < 3; k++) search.weightStep(batch);
  tidy(() => {
    const deltas = search.adversarialPerturbation(batch);
    const values = [...deltas.values()].map((d) => d.toArray());
    assert.equal(values.length, 6);
    assert.ok(values.flat().every((v) => Math.abs(v) <= eps + 1e-6), 'within the L∞ ball');
    assert.ok(values.flat().some((v) => v !== 0), 'the attack raised the loss, so it is kept');
    const lossWith = (d: Map<Tensor, Tensor> | null) => noGrad(() => {
      search.net.eval();
      search.smoothing!.deltas = d;
      search.smoothing!.active = d !== null;
      const loss = crossEntropy(search.net.call(batch.x), batch.y).item();
      search.smoothing!.active = false;
      search.smoothing!.deltas = null;
      search.net.train();
      return loss;
    });
    assert.ok(lossWith(deltas) > lossWith(null));
  });
  assert.equal(search.net.training, true, 'back in training mode');
  batch.x.dispose();
  batch.y.dispose();
  search.dispose();
  assert.equal(memory().numTensors, start);
});

test('archBatches: GDAS draws each α batch with replacement and keeps the weights\' last short batch; DARTS walks both halves and drops it', async () => {
  const start = memory().numTensors;
  // 24 + 24 images in batches of 10: 3 weight steps per epoch with the short one, 2 without.
  const data = syntheticDataset({ n: 48, height: 8, width: 8, numClasses: 3, seed: 5 });
  const loaderStates = async (o: Partial<SearchOptions>) => {
    const run = createDifferentiableRun(data, { method: 'darts', space: 'nb201', C: 4, cells: 1, epochs: 2, batchSize: 10, seed: 1, ...o });
    try {
      await run.trainEpoch();
      const state = run.checkpoint().state as unknown as { trainLoader: LoaderState; validLoader: LoaderState };
      return [state.trainLoader.position, state.validLoader.position];
    } finally {
      run.dispose();
    }
  };
  assert.deepEqual(await loaderStates({ method: 'gdas' }), [3, 0], 'gdas: the valid loader is not walked');
  assert.deepEqual(await loaderStates({ method: 'darts' }), [2, 2]);
  assert.deepEqual(await loaderStates({ method: 'darts', archBatches: 'random' }), [3, 0]);
  // With replacement: 30 draws of 24 images must repeat some; the loader's own state is untouched.
  const loader = new DataLoader(data, { batchSize: 30, indices: Int32Array.from({ length: 24 }, (_, i) => i), seed: 2 });
  const before = loader.getState();
  tidy(() => {
    const a = loader.randomBatch(new Rng(3));
    const b = loader.randomBatch(new Rng(3));
    assert.equal(a.x.size(0), 30);
    assert.ok(new Set(a.indices).size < 30 && [...a.indices].every((i) => i >= 0 && i < 24));
    assert.deepEqual([...a.indices], [...b.indices], 'the generator alone decides');
  });
  assert.deepEqual(loader.getState(), before);
  assert.equal(memory().numTensors, start);
});
