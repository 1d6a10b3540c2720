// The native 1x1 convolution (native/ops_pointwise.cc) that conv2d takes for
// few channels, against libtorch's (the same call with it switched off) and
// float64 libtorch: forward, both gradients, double backward, routing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  conv2d, getNumThreads, grad, manualSeed, noGrad, randn, setNativeKernels, setNumThreads, startOpProfiler, stopOpProfiler, type Tensor,
} from './index.js';
import { assertKernelClose, assertNoLeak } from '../testing/assert.js';

function withPointwise<T>(on: boolean, fn: () => T): T {
  const previous = setNativeKernels({ pointwise: on });
  try {
    return fn();
  } finally {
    setNativeKernels(previous);
  }
}


// Shapes of the DARTS search network (C = 8..16, 3C -> C preprocessing), odd planes, one sample, odd channel counts.
const cases: [number[], number][] = [
  [[4, 8, 32, 32], 8], [[2, 24, 16, 16], 8], [[3, 16, 9, 7], 16], [[2, 32, 8, 8], 16], [[1, 5, 6, 11], 3], [[2, 3, 5, 5], 7],
];

for (const [shape, cout] of cases) {
  test(`1x1 conv ${shape.join('x')} -> ${cout}: output and both gradients equal libtorch and float64 libtorch`, () => {
    manualSeed(21);
    assertNoLeak(() => {
      const x = randn(shape).requiresGrad_(true);
      const w = randn([cout, shape[1]!, 1, 1]).mul(0.3).requiresGrad_(true);
      const upstream = randn([shape[0]!, cout, shape[2]!, shape[3]!]);
      const run = (on: boolean) => withPointwise(on, () => {
        const y = conv2d(x, w);
        const [gx, gw] = grad(y.mul(upstream).sum(), [x, w]);
        return [y, gx!, gw!];
      });
      const ours = run(true);
      const theirs = run(false);
      const x64 = x.detach().double().requiresGrad_(true);
      const w64 = w.detach().double().requiresGrad_(true);
      const y64 = conv2d(x64, w64);
      const exact = [y64, ...grad(y64.mul(upstream.double()).sum(), [x64, w64]).map((g) => g!)];
      ['output', 'input gradient', 'weight gradient'].forEach((what, i) => {
        assertKernelClose(ours[i]!, theirs[i]!, `${what} vs libtorch`);
        assertKernelClose(ours[i]!, exact[i]!.float(), `${what} vs float64`);
      });
    });
  });
}

test('1x1 conv: gradients of one input alone, bias, no-grad forward, 2 threads as 1, double backward', () => {
  manualSeed(22);
  assertNoLeak(() => {
    const x = randn([3, 8, 10, 10]).requiresGrad_(true);
    const w = randn([16, 8, 1, 1]).requiresGrad_(true);
    const bias = randn([16]);
    const both = (on: boolean) => withPointwise(on, () => {
      const gx = grad(conv2d(x, w.detach(), bias).square().sum(), [x])[0]!;
      const gw = grad(conv2d(x.detach(), w, bias).square().sum(), [w])[0]!;
      return [gx, gw, noGrad(() => conv2d(x, w, bias))];
    });
    const ours = both(true);
    const theirs = both(false);
    ['input gradient alone', 'weight gradient alone', 'no-grad output with bias'].forEach((what, i) => assertKernelClose(ours[i]!, theirs[i]!, what));

    // The native loops (off by default) split the batch over threads without changing any sum's order.
    const threads = getNumThreads();
    const one = withPointwise(true, () => grad(conv2d(x, w).square().sum(), [x, w]));
    setNumThreads(2);
    try {
      const two = withPointwise(true, () => grad(conv2d(x, w).square().sum(), [x, w]));
      two.forEach((g, i) => assert.deepEqual(g!.toArray(), one[i]!.toArray(), `gradient ${i} with 2 threads`));
    } finally {
      setNumThreads(threads);
    }

    const v = randn([16, 8, 1, 1]);
    const second = (on: boolean) => withPointwise(on, () => {
      const [gw] = grad(conv2d(x, w).pow(3).mean(), [w], { createGraph: true });
      return grad(gw!.mul(v).sum(), [w, x]).map((g) => g!);
    });
    const [hv, hx] = second(true);
    const [hvRef, hxRef] = second(false);
    assertKernelClose(hv!, hvRef!, 'Hessian-vector product', 1e-4);
    assertKernelClose(hx!, hxRef!, 'mixed second derivative', 1e-4);
  });
});

/** Whether a conv2d call ran libtorch's convolution (by libtorch's op profiler). */
function runsLibtorchConvolution(f: () => Tensor): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-pointwise-'));
  try {
    startOpProfiler(join(dir, 'trace.json'));
    try {
      f();
    } finally {
      stopOpProfiler();
    }
    return readFileSync(join(dir, 'trace.json'), 'utf8').includes('aten::convolution');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('conv2d takes the native loops for few channels and leaves strided, padded, grouped, float64 and wide 1x1 convolutions to libtorch', () => {
  manualSeed(23);
  assertNoLeak(() => {
    const x = randn([2, 8, 9, 9]);
    const w = randn([8, 8, 1, 1]);
    assert.equal(withPointwise(true, () => runsLibtorchConvolution(() => conv2d(x, w))), false, 'native 1x1');
    assert.equal(withPointwise(false, () => runsLibtorchConvolution(() => conv2d(x, w))), true, 'switched off');
    const calls: [Tensor, Tensor, Parameters<typeof conv2d>[3]][] = [
      [x, w, { stride: 2 }], [x, w, { padding: 1 }], [x, randn([8, 4, 1, 1]), { groups: 2 }], [x.double(), w.double(), {}],
      [randn([1, 128, 4, 4]), randn([64, 128, 1, 1]), {}],
    ];
    for (const [input, weight, o] of calls) {
      assert.ok(withPointwise(true, () => runsLibtorchConvolution(() => conv2d(input, weight, null, o))), JSON.stringify(o));
      assert.deepEqual(withPointwise(true, () => conv2d(input, weight, null, o)).toArray(),
        withPointwise(false, () => conv2d(input, weight, null, o)).toArray(), JSON.stringify(o));
    }
  });
});
