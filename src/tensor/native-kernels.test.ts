// The addon's native CPU kernels (native/ops_depthwise.cc, native/ops_pool.cc):
// depthwise convolution, max and average pooling, training-mode batch norm,
// forward and gradients,
// against PyTorch's values (fixture), libtorch's own kernels (the same call
// with the native kernels switched off) and a float64 libtorch computation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import {
  Tensor, avgPool2d, batchNorm, conv2d, depthwiseConv2d, depthwiseConv2dBackward, getNumThreads, grad, manualSeed, maxPool2d,
  ones, randn, setNativeKernels, setNumThreads, tensor, tidy, noGrad, full, zeros, type NativeKernels,
} from './index.js';
import { assertKernelClose, assertNoLeak } from '../testing/assert.js';

const NATIVE: NativeKernels = { depthwise: true, pointwise: true, maxPool: true, avgPool: true, batchNorm: true };
const LIBTORCH: NativeKernels = { depthwise: false, pointwise: false, maxPool: false, avgPool: false, batchNorm: false };

function withKernels<T>(kernels: NativeKernels, fn: () => T): T {
  const previous = setNativeKernels(kernels);
  try {
    return fn();
  } finally {
    setNativeKernels(previous);
  }
}


interface ConvCase {
  shape: [number, number, number, number];
  kernel: number;
  stride: number;
  padding: number;
  dilation: number;
}

// Kernels 3/5/7, dilation 1-3, stride 1-3, odd and non-square sizes.
const convCases: ConvCase[] = [
  { shape: [2, 3, 9, 11], kernel: 5, stride: 1, padding: 2, dilation: 1 },
  { shape: [2, 4, 12, 12], kernel: 5, stride: 2, padding: 4, dilation: 2 },
  { shape: [3, 5, 13, 7], kernel: 3, stride: 2, padding: 2, dilation: 2 },
  { shape: [2, 3, 10, 9], kernel: 3, stride: 1, padding: 2, dilation: 2 },
  { shape: [1, 2, 7, 9], kernel: 5, stride: 2, padding: 0, dilation: 1 },
  { shape: [2, 3, 6, 5], kernel: 3, stride: 1, padding: 3, dilation: 2 },
  { shape: [2, 3, 8, 8], kernel: 7, stride: 3, padding: 1, dilation: 1 },
  { shape: [2, 2, 9, 8], kernel: 3, stride: 1, padding: 1, dilation: 3 },
  { shape: [4, 8, 32, 32], kernel: 5, stride: 1, padding: 4, dilation: 2 },
  { shape: [2, 6, 16, 16], kernel: 3, stride: 1, padding: 1, dilation: 1 },
];

const label = (c: ConvCase) => `${c.shape.join('x')} k${c.kernel} s${c.stride} p${c.padding} d${c.dilation}`;

test('depthwise conv2d: forward and both gradients equal libtorch kernels and float64 libtorch', () => {
  manualSeed(11);
  for (const c of convCases) {
    assertNoLeak(() => {
      const x = randn(c.shape).requiresGrad_(true);
      const w = randn([c.shape[1], 1, c.kernel, c.kernel]).requiresGrad_(true);
      const o = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.shape[1] };
      const run = (kernels: NativeKernels) => withKernels(kernels, () => {
        const y = conv2d(x, w, null, o);
        const g = y.detach().tanh();
        const [gx, gw] = grad([y], [x, w], { gradOutputs: [g] });
        return { y, gx: gx!, gw: gw! };
      });
      const ours = run(NATIVE);
      const theirs = run(LIBTORCH);
      assertKernelClose(ours.y, theirs.y, `${label(c)} output`);
      assertKernelClose(ours.gx, theirs.gx, `${label(c)} input gradient`);
      assertKernelClose(ours.gw, theirs.gw, `${label(c)} weight gradient`);

      // The straightforward computation in float64 (libtorch's double kernels).
      const x64 = x.detach().double().requiresGrad_(true);
      const w64 = w.detach().double().requiresGrad_(true);
      const y64 = conv2d(x64, w64, null, o);
      const [gx64, gw64] = grad([y64], [x64, w64], { gradOutputs: [ours.y.detach().tanh().double()] });
      assertKernelClose(ours.y, y64, `${label(c)} output vs float64`);
      assertKernelClose(ours.gx, gx64!, `${label(c)} input gradient vs float64`);
      assertKernelClose(ours.gw, gw64!, `${label(c)} weight gradient vs float64`);
    });
  }
});

test('depthwiseConv2d (native forward) and depthwiseConv2dBackward equal libtorch', () => {
  manualSeed(12);
  for (const c of convCases) {
    assertNoLeak(() => {
      const x = randn(c.shape);
      const w = randn([c.shape[1], 1, c.kernel, c.kernel]);
      const o = { stride: c.stride, padding: c.padding, dilation: c.dilation };
      const ours = depthwiseConv2d(x, w, o);
      const theirs = withKernels(LIBTORCH, () => conv2d(x, w, null, { ...o, groups: c.shape[1] }));
      assertKernelClose(ours, theirs, `${label(c)} native forward`);

      const g = randn(theirs.shape);
      const [gx, gw] = depthwiseConv2dBackward(g, x, w, o);
      const xr = x.detach().requiresGrad_(true);
      const wr = w.detach().requiresGrad_(true);
      const [gxRef, gwRef] = withKernels(LIBTORCH, () =>
        grad([conv2d(xr, wr, null, { ...o, groups: c.shape[1] })], [xr, wr], { gradOutputs: [g] }));
      assertKernelClose(gx, gxRef!, `${label(c)} raw input gradient`);
      assertKernelClose(gw, gwRef!, `${label(c)} raw weight gradient`);

      // Through autograd, with the native forward.
      const [gx2, gw2] = grad([depthwiseConv2d(xr, wr, o)], [xr, wr], { gradOutputs: [g] });
      assertKernelClose(gx2!, gxRef!, `${label(c)} autograd input gradient`);
      assertKernelClose(gw2!, gwRef!, `${label(c)} autograd weight gradient`);
    });
  }
});

interface Reference {
  cases: {
    op: 'depthwise' | 'maxPool' | 'avgPool';
    shape: number[];
    kernel: number;
    stride: number;
    padding: number;
    dilation?: number;
    outShape: number[];
    out: number[];
    gradInput: number[];
    gradWeight?: number[];
  }[];
}

test('native kernels match values recorded from PyTorch', () => {
  const ref = JSON.parse(readFileSync(new URL('../../test/fixtures/native-kernels/reference.json', import.meta.url), 'utf8')) as Reference;
  assert.ok(ref.cases.length >= 10);
  const closedForm = (shape: number[], fn: (i: number) => number) =>
    tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => fn(i)), shape);
  for (const c of ref.cases) {
    assertNoLeak(() => {
      const what = `${c.op} ${c.shape.join('x')} k${c.kernel} s${c.stride} p${c.padding}`;
      const x = closedForm(c.shape, (i) => Math.sin(0.7 * i + 0.3)).requiresGrad_(true);
      const g = closedForm(c.outShape, (i) => Math.sin(0.11 * i + 1));
      let y: Tensor;
      let w: Tensor | null = null;
      if (c.op === 'depthwise') {
        w = closedForm([c.shape[1]!, 1, c.kernel, c.kernel], (i) => 0.5 * Math.cos(1.3 * i)).requiresGrad_(true);
        y = conv2d(x, w, null, { stride: c.stride, padding: c.padding, dilation: c.dilation!, groups: c.shape[1]! });
      } else if (c.op === 'maxPool') {
        y = maxPool2d(x, c.kernel, { stride: c.stride, padding: c.padding });
      } else {
        y = avgPool2d(x, c.kernel, { stride: c.stride, padding: c.padding, countIncludePad: false });
      }
      const grads = grad([y], w ? [x, w] : [x], { gradOutputs: [g] });
      assertKernelClose(y, tensor(c.out, c.outShape, { dtype: 'float64' }), `${what} output`);
      assertKernelClose(grads[0]!, tensor(c.gradInput, c.shape, { dtype: 'float64' }), `${what} input gradient`);
      if (w) assertKernelClose(grads[1]!, tensor(c.gradWeight!, w.shape, { dtype: 'float64' }), `${what} weight gradient`);
    });
  }
});

test('conv2d routing keeps the bias, accepts non-contiguous inputs and leaves other convolutions to libtorch', () => {
  manualSeed(13);
  assertNoLeak(() => {
    const base = randn([2, 9, 11, 4]).requiresGrad_(true);
    const x = base.permute(0, 3, 1, 2); // [2, 4, 9, 11], not contiguous
    const w = randn([4, 1, 5, 5]).requiresGrad_(true);
    const b = randn([4]).requiresGrad_(true);
    const o = { padding: 2, groups: 4 };
    const run = (kernels: NativeKernels) => withKernels(kernels, () => {
      const y = conv2d(x, w, b, o);
      return [y, ...grad([y.mul(y).sum()], [base, w, b]).map((t) => t!)];
    });
    const ours = run(NATIVE);
    const theirs = run(LIBTORCH);
    ours.forEach((t, i) => assertKernelClose(t, theirs[i]!, `output/gradient ${i}`));

    // float64 and grouped (not depthwise) convolutions still work as before.
    const x64 = randn([1, 4, 6, 6], { dtype: 'float64' });
    assert.equal(conv2d(x64, randn([4, 1, 5, 5], { dtype: 'float64' }), null, o).dtype, 'float64');
    assert.deepEqual(conv2d(randn([1, 4, 6, 6]), randn([8, 2, 3, 3]), null, { groups: 2 }).shape, [1, 8, 4, 4]);
  });
});

test('native kernels give the same values with 2 threads as with 1', () => {
  manualSeed(14);
  const threads = getNumThreads();
  try {
    assertNoLeak(() => {
      const x = randn([4, 6, 17, 15]).requiresGrad_(true);
      const w = randn([6, 1, 5, 5]).requiresGrad_(true);
      const run = () => {
        const y = conv2d(x, w, null, { padding: 4, dilation: 2, groups: 6 });
        const p = maxPool2d(x, 3, { stride: 2, padding: 1 }).sum().add(avgPool2d(x, 3, { stride: 1, padding: 1, countIncludePad: false }).pow(2).sum());
        return [y, ...grad([y.pow(2).sum().add(p)], [x, w]).map((t) => t!)];
      };
      setNumThreads(1);
      const one = run();
      setNumThreads(2);
      const two = run();
      one.forEach((t, i) => assertKernelClose(two[i]!, t, `value ${i}`, 1e-6));
    });
  } finally {
    setNumThreads(threads);
  }
});

test('max and average pooling equal libtorch bit for bit (outputs and input gradients)', () => {
  manualSeed(18);
  const cases: [number[], number, number, number][] = [
    [[2, 3, 9, 11], 3, 1, 1], [[2, 3, 9, 11], 3, 2, 1], [[1, 2, 8, 8], 2, 2, 0], [[2, 3, 7, 6], 3, 2, 0], [[2, 4, 13, 10], 5, 1, 2],
    [[32, 4, 32, 32], 3, 1, 1], [[3, 2, 12, 9], 3, 3, 1],
  ];
  for (const [shape, k, s, p] of cases) {
    assertNoLeak(() => {
      const x = randn(shape).requiresGrad_(true);
      for (const pool of ['max', 'avg', 'avg counting padding'] as const) {
        const run = (kernels: NativeKernels) => withKernels(kernels, () => {
          const y = pool === 'max'
            ? maxPool2d(x, k, { stride: s, padding: p })
            : avgPool2d(x, k, { stride: s, padding: p, countIncludePad: pool !== 'avg' });
          const g = tidy(() => randn(y.shape, { dtype: 'float64' }).float());
          return [y, grad([y], [x], { gradOutputs: [g] })[0]!];
        });
        manualSeed(19);
        const ours = run(NATIVE);
        manualSeed(19);
        const theirs = run(LIBTORCH);
        const what = `${pool} ${shape.join('x')} k${k} s${s} p${p}`;
        assert.deepEqual(ours[0]!.toArray(), theirs[0]!.toArray(), `${what} output`);
        assert.deepEqual(ours[1]!.toArray(), theirs[1]!.toArray(), `${what} input gradient`);
      }
    });
  }
});

test('max pool: ties and -inf windows route gradients where libtorch does', () => {
  assertNoLeak(() => {
    // Integer values in a small range: most windows hold ties.
    const values = Float32Array.from({ length: 2 * 3 * 7 * 9 }, (_, i) => ((i * 7) % 5) - 2);
    const cases: [number, number, number][] = [[3, 1, 1], [3, 2, 1], [2, 2, 0], [3, 2, 0], [5, 1, 2]];
    for (const [k, s, p] of cases) {
      const x = tensor(values, [2, 3, 7, 9]).requiresGrad_(true);
      const g = tensor(Float32Array.from({ length: 2 * 3 * 7 * 9 }, (_, i) => (i % 11) + 1), [2, 3, 7, 9]);
      const run = (kernels: NativeKernels) => withKernels(kernels, () => {
        const y = maxPool2d(x, k, { stride: s, padding: p });
        const gy = g.slice(2, 0, y.size(2)).slice(3, 0, y.size(3));
        return [y, grad([y], [x], { gradOutputs: [gy] })[0]!];
      });
      const ours = run(NATIVE);
      const theirs = run(LIBTORCH);
      assert.deepEqual(ours[0]!.toArray(), theirs[0]!.toArray(), `k${k} s${s} p${p} output`);
      assert.deepEqual(ours[1]!.toArray(), theirs[1]!.toArray(), `k${k} s${s} p${p} gradient`);
    }
    // A plane of -inf: every window's maximum is -inf, and libtorch names its first in-bounds pixel.
    const x = full([1, 1, 5, 6], -Infinity).requiresGrad_(true);
    const run = (kernels: NativeKernels) => withKernels(kernels, () => {
      const y = maxPool2d(x, 3, { stride: 2, padding: 1 });
      return [y, grad([y], [x], { gradOutputs: [y.detach().mul(0).add(1)] })[0]!];
    });
    const ours = run(NATIVE);
    const theirs = run(LIBTORCH);
    assert.deepEqual(ours[0]!.toArray(), theirs[0]!.toArray());
    assert.deepEqual(ours[1]!.toArray(), theirs[1]!.toArray());
  });
});

test('double backward through the native kernels equals libtorch (create_graph falls back to libtorch backward)', () => {
  manualSeed(15);
  assertNoLeak(() => {
    const x = randn([2, 4, 10, 10]).requiresGrad_(true);
    const w = randn([4, 1, 5, 5]).requiresGrad_(true);
    const v = randn([4, 1, 5, 5]);
    const run = (kernels: NativeKernels) => withKernels(kernels, () => {
      const h = conv2d(x, w, null, { padding: 4, dilation: 2, groups: 4 });
      const y = maxPool2d(h, 3, { stride: 1, padding: 1 }).add(avgPool2d(h.pow(2), 3, { stride: 2, padding: 1, countIncludePad: false }).sum());
      const loss = y.pow(2).mean();
      const [gw, gx] = grad([loss], [w, x], { createGraph: true });
      // Hessian-vector product in w, and the mixed second derivative in x.
      const [hv, hx] = grad([gw!.mul(v).sum()], [w, x]);
      return [gw!, gx!, hv!, hx!];
    });
    const ours = run(NATIVE);
    const theirs = run(LIBTORCH);
    ['weight gradient', 'input gradient', 'Hessian-vector product', 'mixed second derivative']
      .forEach((what, i) => assertKernelClose(ours[i]!, theirs[i]!, what, 1e-4));
  });
});

test('no-grad forwards and argument errors', () => {
  manualSeed(16);
  assertNoLeak(() => {
    const x = randn([2, 3, 8, 8]);
    const w = randn([3, 1, 3, 3]);
    const o = { padding: 2, dilation: 2, groups: 3 };
    const ours = noGrad(() => conv2d(x, w, null, o));
    assertKernelClose(ours, withKernels(LIBTORCH, () => conv2d(x, w, null, o)), 'no-grad depthwise');
    const pooled = noGrad(() => maxPool2d(x, 3, { stride: 2, padding: 1 }));
    assertKernelClose(pooled, withKernels(LIBTORCH, () => maxPool2d(x, 3, { stride: 2, padding: 1 })), 'no-grad max pool', 0);
    assert.equal(ours.requiresGrad, false);

    assert.throws(() => depthwiseConv2d(x, randn([4, 1, 3, 3])), /expected weight \[3, 1, kh, kw\]/);
    assert.throws(() => depthwiseConv2d(x, randn([3, 1, 9, 9])), /smaller than the dilated kernel/);
    assert.throws(() => depthwiseConv2d(x.double(), w.double()), /float32 CPU/);
  });
});

test('batch norm (training, no affine): output, input gradient, running statistics and double backward equal libtorch', () => {
  manualSeed(17);
  for (const shape of [[4, 3, 17, 15], [32, 8, 16, 16], [64, 5, 1, 17]] as [number, number, number, number][]) {
    assertNoLeak(() => {
      const x = randn(shape).mul(3).add(1.5).detach().requiresGrad_(true);
      const g = randn(shape);
      const v = randn(shape);
      const run = (kernels: NativeKernels) => withKernels(kernels, () => {
        const runningMean = zeros([shape[1]]);
        const runningVar = ones([shape[1]]);
        const y = batchNorm(x, { runningMean, runningVar, training: true, momentum: 0.1, eps: 1e-5 });
        const [gx] = grad([y], [x], { gradOutputs: [g], createGraph: true });
        // Second order: the derivative of <gx, v> in x.
        const [hx] = grad([gx!.mul(v).sum()], [x]);
        const [plain] = grad([batchNorm(x, { training: true })], [x], { gradOutputs: [g] });
        return [y, gx!.detach(), hx!, plain!, runningMean, runningVar];
      });
      const ours = run(NATIVE);
      const theirs = run(LIBTORCH);
      ['output', 'input gradient (graph)', 'second derivative', 'input gradient', 'running mean', 'running variance']
        .forEach((what, i) => assertKernelClose(ours[i]!, theirs[i]!, `${shape.join('x')} ${what}`, i === 2 ? 1e-4 : 1e-5));
    });
  }
  // A large mean against a small spread: the statistics stay as accurate as
  // libtorch's (compared with float64; the float mean itself limits both).
  assertNoLeak(() => {
    const x = randn([8, 4, 32, 32]).mul(0.01).add(100).detach().requiresGrad_(true);
    const g = randn([8, 4, 32, 32]);
    const x64 = x.detach().double().requiresGrad_(true);
    const y64 = batchNorm(x64, { training: true });
    const [gx64] = grad([y64], [x64], { gradOutputs: [g.double()] });
    const y = batchNorm(x, { training: true });
    const [gx] = grad([y], [x], { gradOutputs: [g] });
    assertKernelClose(y, y64, 'offset output vs float64', 3e-4);
    assertKernelClose(gx!, gx64!, 'offset input gradient vs float64', 1e-5);
  });
  // Affine and small batch norms stay with libtorch and still work.
  assertNoLeak(() => {
    const x = randn([2, 3, 4, 4]);
    const y = batchNorm(x, { weight: ones([3]), bias: zeros([3]), training: true });
    assertKernelClose(y, withKernels(LIBTORCH, () => batchNorm(x, { training: true })), 'affine identity');
  });
});
