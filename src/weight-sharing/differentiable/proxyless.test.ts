// ProxylessNAS on tiny cases: only the sampled paths run (one per weight
// step, two per α step), the binary-gate gradient on a one-edge toy equals
// the paper's formula, the α update leaves the unsampled paths' α alone and
// the pair's total probability unchanged, and the latency term is the
// table's expectation under softmax(α).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Times } from '../../nn/testing/times.js';
import { ArchitectureChoices, MixedOp } from '../../spaces/supernet.js';
import { grad, manualSeed, memory, noGrad, randint, randn, setNumThreads, tensor, tidy } from '../../tensor/index.js';
import { mixedOps, ProxylessMixing } from './mixing.js';
import { BilevelSearch } from './search.js';

setNumThreads(1);

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('binary gates: the α gradient is Σ_m ∂L/∂g_m·p_m(δ_mk − p_k) over the sampled pair (p: the pair\'s softmax), 0 elsewhere; the forward is the active path', () => {
  const start = memory().numTensors;
  const mixing = new ProxylessMixing();
  const choices = new ArchitectureChoices(mixing);
  const ks = [1, 2, -3, 0.5];
  const op = new MixedOp('e', ['a', 'b', 'c', 'd'], (_v, i) => new Times(ks[i]!), choices);
  const seen = new Set<string>();
  for (let seed = 0; seed < 12; seed++) {
    tidy(() => {
      const alpha = mixing.architectureParameters()[0]!;
      noGrad(() => alpha.copy_(tensor([0.3, -0.2, 0.5, 0.1])));
      const x = randn([2, 3]);
      const c = randn([2, 3]);
      manualSeed(seed);
      mixing.phase = 'arch';
      choices.beginForward();
      const y = op.call(x);
      const [i, j] = mixing.sampledIndices('e')!;
      assert.notEqual(i, j);
      const actual = grad(y.mul(c).sum(), [alpha])[0]!.toArray();
      mixing.phase = 'argmax';
      // ∂L/∂g_m = <c, k_m·x>; the pair's softmax by hand.
      const g = (m: number) => x.mul(c).sum().item() * ks[m]!;
      const a = [0.3, -0.2, 0.5, 0.1];
      const z = Math.exp(a[i!]!) + Math.exp(a[j!]!);
      const p = new Map([[i!, Math.exp(a[i!]!) / z], [j!, Math.exp(a[j!]!) / z]]);
      for (let k = 0; k < 4; k++) {
        const expected = p.has(k) ? [i!, j!].reduce((s, m) => s + g(m) * p.get(m)! * ((m === k ? 1 : 0) - p.get(k)!), 0) : 0;
        close(actual[k]!, expected, 1e-5, `∂L/∂α[${k}] (pair ${i},${j})`);
      }
      const active = [i!, j!].find((m) => Math.abs(y.sub(x.mul(ks[m]!)).abs().max().item()) < 1e-6);
      assert.ok(active !== undefined, 'the output is one of the pair\'s paths, unscaled');
      seen.add(`${i},${j}`);
    });
    mixing.rescale();
  }
  assert.ok(seen.size > 2, `pairs drawn: ${[...seen]}`);
  op.dispose();
  mixing.dispose();
  assert.equal(memory().numTensors, start);
});

/** A tiny nb201 search network with every candidate's forwards counted per edge label. */
function countedSearch(lambda = 0) {
  manualSeed(3);
  const table = { none: 0, skip_connect: 0.5, nor_conv_1x1: 2, nor_conv_3x3: 7, avg_pool_3x3: 1 };
  const search = new BilevelSearch({ space: 'nb201', C: 4, cells: 1, numClasses: 3 }, {
    method: 'proxyless', epochs: 2, archLr: 0.1, archWeightDecay: 0, cost: { table, lambda },
  });
  const runs = new Map<MixedOp, Set<number>>();
  for (const op of mixedOps(search.net)) {
    runs.set(op, new Set());
    [...op.candidates].forEach((candidate, k) => candidate.registerForwardHook(() => void runs.get(op)!.add(k)));
  }
  return { search, runs, table };
}

test('path binarisation: a weight step runs one candidate per edge, an α step two, and unsampled candidates get no gradient', () => {
  const start = memory().numTensors;
  const { search, runs } = countedSearch();
  const batch = () => ({ x: randn([4, 3, 8, 8]).keep(), y: randint(0, 3, [4]).keep() });
  const train = batch();
  const valid = batch();
  try {
    search.weightStep(train);
    for (const [op, ran] of runs) assert.equal(ran.size, 1, `${op.label} ran ${[...ran]} in a weight step`);
    for (const ran of runs.values()) ran.clear();
    const before = search.weights.map((w) => w.toArray());
    search.archStep(train, valid);
    for (const [op, ran] of runs) assert.equal(ran.size, 2, `${op.label} ran ${[...ran]} in an α step`);
    // The weight step's update reaches only the sampled candidates' parameters (no weight decay without a gradient).
    for (const ran of runs.values()) ran.clear();
    search.weightStep(train);
    const moved = new Set(search.weights.filter((w, i) => w.toArray().some((v, k) => v !== before[i]![k])));
    for (const [op, ran] of runs) {
      [...op.candidates].forEach((candidate, k) => {
        for (const p of candidate.parameters()) assert.equal(moved.has(p), ran.has(k), `${op.label} candidate ${k}: moved ${moved.has(p)}, ran ${ran.has(k)}`);
      });
    }
  } finally {
    search.dispose();
    for (const b of [train, valid]) {
      b.x.dispose();
      b.y.dispose();
    }
  }
  assert.equal(memory().numTensors, start);
});

test('an α step changes only the sampled pair\'s α and keeps their Σ exp(α); the latency term is Σ_edges Σ_o softmax(α)_o·T(o)', () => {
  const start = memory().numTensors;
  const { search, runs, table } = countedSearch(0);
  const x = randn([4, 3, 8, 8]).keep();
  const y = randint(0, 3, [4]).keep();
  try {
    const named = () => search.mixing.namedArchitectureParameters().map(([label, a]) => [label, a.toArray()] as const);
    const before = new Map(named());
    search.archStep({ x, y }, { x, y });
    const pairs = new Map([...runs].map(([op, ran]) => [op.label, [...ran]]));
    let changed = 0;
    for (const [label, after] of named()) {
      const pair = pairs.get(label)!;
      const old = before.get(label)!;
      after.forEach((v, k) => {
        if (!pair.includes(k)) assert.equal(v, old[k], `${label}[${k}] is not sampled`);
        else if (v !== old[k]) changed++;
      });
      const lse = (xs: number[]) => Math.log(pair.reduce((s, k) => s + Math.exp(xs[k]!), 0));
      close(lse(after), lse(old), 1e-5, `${label}: log Σ exp over the pair ${pair}`);
    }
    assert.ok(changed > 0, 'the pairs\' α moved');
    const ops = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'] as const;
    const expected = named().reduce((s, [, a]) => {
      const z = a.reduce((t, v) => t + Math.exp(v), 0);
      return s + a.reduce((t, v, k) => t + (Math.exp(v) / z) * table[ops[k]!], 0);
    }, 0);
    close(tidy(() => search.expectedCost().item()), expected, 1e-4, 'expected latency');
  } finally {
    search.dispose();
    x.dispose();
    y.dispose();
  }
  assert.equal(memory().numTensors, start);
});
