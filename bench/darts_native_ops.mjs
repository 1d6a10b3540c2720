#!/usr/bin/env node
// Per-op timing of the addon's native CPU kernels against libtorch's for the
// shapes of the DARTS search step (batch 32, C = 8/16/32): depthwise
// convolutions (sep 3x3/5x5, dil 3x3/5x5, strides 1 and 2), 3x3 max
// pooling, 3x3 average pooling (padding not counted) and training-mode
// batch norm without affine parameters, forward alone and forward + backward (input and weight
// gradients). Prints one JSON line per case with the minimum ms over --reps.
//   node bench/darts_native_ops.mjs [--threads 1] [--reps 20] [--batch 32]
import { performance } from 'node:perf_hooks';
import {
  avgPool2d, batchNorm, conv2d, grad, manualSeed, maxPool2d, noGrad, randn, setNativeKernels, setNumThreads, tidy,
} from '../dist/tensor/index.js';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const threads = Number(args.threads ?? 1);
const reps = Number(args.reps ?? 20);
const batch = Number(args.batch ?? 32);
setNumThreads(threads);
manualSeed(0);

// The minimum over repetitions: the machine is shared, and the minimum is the least disturbed by other processes.
const best = (xs) => Math.min(...xs);
function time(fn) {
  for (let i = 0; i < 3; i++) tidy(fn);
  const ts = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    tidy(fn);
    ts.push(performance.now() - t0);
  }
  return best(ts);
}
function both(fn) {
  const prev = setNativeKernels({ depthwise: false, pointwise: false, maxPool: false, avgPool: false, batchNorm: false });
  const libtorch = time(fn);
  setNativeKernels({ depthwise: true, pointwise: true, maxPool: true, avgPool: true, batchNorm: true });
  const native = time(fn);
  setNativeKernels(prev);
  return { libtorch_ms: +libtorch.toFixed(3), native_ms: +native.toFixed(3), speedup: +(libtorch / native).toFixed(1) };
}

const convs = [
  ['sep_conv_3x3', 3, 1, 1], ['sep_conv_5x5', 5, 2, 1], ['dil_conv_3x3', 3, 2, 2], ['dil_conv_5x5', 5, 4, 2],
];
for (const [c, size] of [[16, 32], [32, 16], [64, 8]]) {
  tidy(() => {
    const x = randn([batch, c, size, size]).requiresGrad_(true);
    const forward = both(() => batchNorm(x, { training: true }));
    const backward = both(() => {
      const y = batchNorm(x, { training: true });
      grad([y], [x], { gradOutputs: [y.detach()] });
    });
    console.log(JSON.stringify({ op: 'batch_norm', shape: [batch, c, size, size], forward_with_graph: forward, forward_backward: backward }));
  });
  for (const stride of [1, 2]) {
    for (const [name, k, padding, dilation] of convs) {
      tidy(() => {
        const x = randn([batch, c, size, size]).requiresGrad_(true);
        const w = randn([c, 1, k, k]).requiresGrad_(true);
        const o = { stride, padding, dilation, groups: c };
        const forward = both(() => noGrad(() => conv2d(x, w, null, o)));
        const backward = both(() => {
          const y = conv2d(x, w, null, o);
          grad([y], [x, w], { gradOutputs: [y.detach()] });
        });
        console.log(JSON.stringify({ op: name, shape: [batch, c, size, size], stride, forward, forward_backward: backward }));
      });
    }
    tidy(() => {
      const x = randn([batch, c, size, size]).requiresGrad_(true);
      const forward = both(() => maxPool2d(x, 3, { stride, padding: 1 }));
      const backward = both(() => {
        const y = maxPool2d(x, 3, { stride, padding: 1 });
        grad([y], [x], { gradOutputs: [y.detach()] });
      });
      console.log(JSON.stringify({ op: 'max_pool_3x3', shape: [batch, c, size, size], stride, forward_with_graph: forward, forward_backward: backward }));
    });
    tidy(() => {
      const x = randn([batch, c, size, size]).requiresGrad_(true);
      const o = { stride, padding: 1, countIncludePad: false };
      const forward = both(() => avgPool2d(x, 3, o));
      const backward = both(() => {
        const y = avgPool2d(x, 3, o);
        grad([y], [x], { gradOutputs: [y.detach()] });
      });
      console.log(JSON.stringify({ op: 'avg_pool_3x3', shape: [batch, c, size, size], stride, forward_with_graph: forward, forward_backward: backward }));
    });
  }
}
