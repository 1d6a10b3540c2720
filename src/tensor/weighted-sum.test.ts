// weightedSum (native/ops_weighted_sum.cc) against the chain of mul and add
// it replaces in the mixed operations: values and gradients bit for bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { cat, getNumThreads, grad, manualSeed, noGrad, randn, setNumThreads, weightedSum, type Tensor } from './index.js';
import { assertClose, assertNoLeak } from '../testing/assert.js';

/** The reference: Σ_k terms[k]·w[indices[k]] as separate mul and add ops, in order. */
function chain(terms: Tensor[], w: Tensor, indices: number[]): Tensor {
  let sum: Tensor | null = null;
  terms.forEach((t, k) => {
    const y = t.mul(w.select(0, indices[k]!));
    sum = sum ? sum.add(y) : y;
  });
  return sum!;
}

const same = (a: Tensor | null, b: Tensor | null, what: string) => {
  assert.ok(a && b, `${what}: both defined`);
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  assert.deepEqual(a.toArray(), b.toArray(), `${what}: values`);
};

/**
 * A mixed op's inputs: α of 8 candidates, an input x and a builder of 5
 * terms from it (x itself twice, as an identity candidate), 'none' slots skipped.
 */
function mixedOpCase(shape: number[]) {
  const alpha = randn([8]).mul(0.5).requiresGrad_(true);
  const x = randn(shape).requiresGrad_(true);
  const terms = () => [x.relu(), x.mul(2), x, x.sigmoid(), x];
  return { alpha, x, terms, indices: [1, 2, 3, 5, 7] };
}

// Row lengths below and above the kernel's block of 1024 floats, and one sample.
for (const shape of [[3, 5, 7, 9], [2, 8, 32, 32], [1, 4, 16, 20]]) {
  test(`forward and gradients (α and input, contiguous and sliced upstream gradients) equal the chain bit for bit, ${shape.join('x')}`, () => {
    manualSeed(11);
    assertNoLeak(() => {
      const { alpha, x, terms, indices } = mixedOpCase(shape);
      const upstream = randn([shape[0]!, 2 * shape[1]!, ...shape.slice(2)]);
      const run = (sum: typeof chain) => {
        const w = alpha.softmax(0);
        const out = sum(terms(), w, indices);
        // A cat hands the sum a gradient that is a slice: rows of the upstream gradient.
        const loss = cat([out, x.detach()], 1).mul(upstream).sum();
        const [ga, gx] = grad(loss, [alpha, x]);
        return { out, ga: ga!, gx: gx! };
      };
      const ours = run(weightedSum);
      const theirs = run(chain);
      same(ours.out, theirs.out, 'sum');
      same(ours.ga, theirs.ga, 'α gradient');
      same(ours.gx, theirs.gx, 'input gradient');
    });
  });
}

test('gradients of the terms alone (weights constant, as in a weight step) and of the weights alone', () => {
  manualSeed(12);
  assertNoLeak(() => {
    const { alpha, x, terms, indices } = mixedOpCase([2, 3, 6, 6]);
    const w = alpha.softmax(0).detach();
    const gx = (sum: typeof chain) => grad(sum(terms(), w, indices).square().sum(), [x])[0]!;
    same(gx(weightedSum), gx(chain), 'input gradient, constant weights');
    const constant = terms().map((t) => t.detach());
    const ga = (sum: typeof chain) => grad(sum(constant, alpha.softmax(0), indices).square().sum(), [alpha])[0]!;
    same(ga(weightedSum), ga(chain), 'α gradient, constant terms');
    const plain = noGrad(() => weightedSum(terms(), w, indices));
    assert.equal(plain.requiresGrad, false);
    same(plain, noGrad(() => chain(terms(), w, indices)), 'no-grad sum');
  });
});

test('double backward (create_graph) equals the chain', () => {
  manualSeed(13);
  assertNoLeak(() => {
    const { alpha, x, terms, indices } = mixedOpCase([2, 3, 5, 5]);
    const v = randn([8]);
    const run = (sum: typeof chain) => {
      const loss = sum(terms(), alpha.softmax(0), indices).square().mean();
      const [ga] = grad(loss, [alpha], { createGraph: true });
      return grad(ga!.mul(v).sum(), [alpha, x]);
    };
    const ours = run(weightedSum);
    const theirs = run(chain);
    assertClose(ours[0]!, theirs[0]!, 'Hessian-vector product in α', 0, 1e-6);
    assertClose(ours[1]!, theirs[1]!, 'mixed second derivative', 0, 1e-6);
  });
});

test('two threads give the values of one; float64 terms take the chain; bad arguments are refused', () => {
  manualSeed(14);
  assertNoLeak(() => {
    const { alpha, terms: build, indices } = mixedOpCase([4, 8, 16, 16]);
    const terms = build();
    const w = alpha.softmax(0);
    const threads = getNumThreads();
    const one = weightedSum(terms, w, indices);
    setNumThreads(2);
    try {
      same(weightedSum(terms, w, indices), one, '2 threads');
    } finally {
      setNumThreads(threads);
    }
    const doubles = terms.map((t) => t.double());
    same(weightedSum(doubles, w.double(), indices), chain(doubles, w.double(), indices), 'float64');
    assert.throws(() => weightedSum(terms, w, [1, 2]), /5 terms but 2 indices/);
    assert.throws(() => weightedSum(terms, w, [1, 2, 3, 5, 8]), /index 8 out of range for 8 weights/);
    assert.throws(() => weightedSum([], w, []), /at least one term/);
    assert.throws(() => weightedSum(terms, w.view(2, 4), indices), /weights must be 1-d/);
  });
});
