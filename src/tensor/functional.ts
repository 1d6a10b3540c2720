// Functional ops that are not methods of one tensor: layers, losses,
// joining, selection and linear algebra.
import { native, type NativeKernels, type Reduction } from './native.js';
import { Tensor } from './tensor.js';

type Pair = number | [number, number];
const pair = (v: Pair): number[] => (typeof v === 'number' ? [v, v] : v);

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, o: Conv2dOptions = {}): Tensor {
  return new Tensor(
    native.conv2d(x.handle, weight.handle, bias?.handle ?? null, pair(o.stride ?? 1), pair(o.padding ?? 0),
      pair(o.dilation ?? 1), o.groups ?? 1),
  );
}

/**
 * Depthwise convolution (weight [C, 1, kh, kw] on a [N, C, H, W] float32 CPU
 * input) by the addon's direct loops, forward and both gradients. conv2d
 * takes this path by itself for groups == channels; this names it.
 */
export function depthwiseConv2d(x: Tensor, weight: Tensor, o: Omit<Conv2dOptions, 'groups'> = {}): Tensor {
  return new Tensor(native.depthwiseConv2d(x.handle, weight.handle, pair(o.stride ?? 1), pair(o.padding ?? 0),
    pair(o.dilation ?? 1)));
}

/**
 * The input and weight gradients of depthwiseConv2d for an output gradient,
 * computed by the native kernels outside autograd (for tests and benchmarks).
 */
export function depthwiseConv2dBackward(gradOut: Tensor, x: Tensor, weight: Tensor, o: Omit<Conv2dOptions, 'groups'> = {}):
  [Tensor, Tensor] {
  const [gi, gw] = native.depthwiseConv2dBackward(gradOut.handle, x.handle, weight.handle, pair(o.stride ?? 1),
    pair(o.padding ?? 0), pair(o.dilation ?? 1));
  return [new Tensor(gi), new Tensor(gw)];
}

export type { NativeKernels };
/**
 * Switches the native CPU kernels that conv2d (depthwise, float32, not an
 * undilated 3x3; pointwise: 1x1, stride 1, no padding, one group, float32,
 * at most 512 input x output channel pairs), maxPool2d (float32, no
 * dilation or ceil mode), avgPool2d (float32, no ceil mode) and batchNorm (float32 4-d, training,
 * no affine weight or bias, at least 1024 values per channel) use in place
 * of libtorch's; all but pointwise are on by default (TSNAS_NATIVE_KERNELS=0
 * starts with all off). pointwise is opt-in: its rounding differs from
 * oneDNN's enough to move ill-conditioned proxies (zico, fisher) off their
 * PyTorch parity. Returns the previous settings.
 */
export function setNativeKernels(o: Partial<NativeKernels>): NativeKernels {
  return native.setNativeKernels(o);
}

export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return new Tensor(native.linear(x.handle, weight.handle, bias?.handle ?? null));
}

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  training: boolean;
  momentum?: number;
  eps?: number;
}
/** Batch norm; in training mode the running statistics are updated in place. */
export function batchNorm(x: Tensor, o: BatchNormOptions): Tensor {
  return new Tensor(
    native.batchNorm(x.handle, o.weight?.handle ?? null, o.bias?.handle ?? null, o.runningMean?.handle ?? null,
      o.runningVar?.handle ?? null, o.training, o.momentum ?? 0.1, o.eps ?? 1e-5),
  );
}

export function layerNorm(x: Tensor, shape: number[], weight: Tensor | null = null, bias: Tensor | null = null,
  eps = 1e-5): Tensor {
  return new Tensor(native.layerNorm(x.handle, shape, weight?.handle ?? null, bias?.handle ?? null, eps));
}

export interface PoolOptions {
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
}
export function maxPool2d(x: Tensor, kernel: Pair, o: PoolOptions & { dilation?: Pair } = {}): Tensor {
  return new Tensor(native.maxPool2d(x.handle, pair(kernel), pair(o.stride ?? kernel), pair(o.padding ?? 0),
    pair(o.dilation ?? 1), o.ceilMode ?? false));
}
export function avgPool2d(x: Tensor, kernel: Pair, o: PoolOptions & { countIncludePad?: boolean } = {}): Tensor {
  return new Tensor(native.avgPool2d(x.handle, pair(kernel), pair(o.stride ?? kernel), pair(o.padding ?? 0),
    o.ceilMode ?? false, o.countIncludePad ?? true));
}
export function adaptiveAvgPool2d(x: Tensor, size: Pair): Tensor {
  return new Tensor(native.adaptiveAvgPool2d(x.handle, pair(size)));
}

export function softmax(x: Tensor, dim: number): Tensor {
  return x.softmax(dim);
}
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return x.logSoftmax(dim);
}

export interface LossOptions {
  reduction?: Reduction;
  weight?: Tensor | null;
}
/** Cross entropy of logits against int64 class targets (or class probabilities). */
export function crossEntropy(logits: Tensor, target: Tensor, o: LossOptions & { labelSmoothing?: number } = {}): Tensor {
  return new Tensor(native.crossEntropy(logits.handle, target.handle, o.reduction ?? 'mean', o.labelSmoothing ?? 0,
    o.weight?.handle ?? null));
}
export function nllLoss(logProbs: Tensor, target: Tensor, o: LossOptions = {}): Tensor {
  return new Tensor(native.nllLoss(logProbs.handle, target.handle, o.reduction ?? 'mean', o.weight?.handle ?? null));
}
export function mseLoss(a: Tensor, b: Tensor, reduction: Reduction = 'mean'): Tensor {
  return new Tensor(native.mseLoss(a.handle, b.handle, reduction));
}

export function dropout(x: Tensor, p: number, training: boolean): Tensor {
  return new Tensor(native.dropout(x.handle, p, training));
}
export function embedding(weight: Tensor, indices: Tensor): Tensor {
  return new Tensor(native.embedding(weight.handle, indices.handle));
}
/** One LSTM step; returns the new hidden and cell states. */
export function lstmCell(x: Tensor, h: Tensor, c: Tensor, wIh: Tensor, wHh: Tensor, bIh: Tensor | null,
  bHh: Tensor | null): [Tensor, Tensor] {
  const [h2, c2] = native.lstmCell(x.handle, h.handle, c.handle, wIh.handle, wHh.handle, bIh?.handle ?? null,
    bHh?.handle ?? null);
  return [new Tensor(h2), new Tensor(c2)];
}
/** Constant padding; pads as torch.nn.functional.pad (last dim first). */
export function pad(x: Tensor, pads: number[], value = 0): Tensor {
  return new Tensor(native.pad(x.handle, pads, value));
}
export function oneHot(indices: Tensor, classes: number): Tensor {
  return new Tensor(native.oneHot(indices.handle, classes));
}
export function resizeBilinear(x: Tensor, size: [number, number], alignCorners = false): Tensor {
  return new Tensor(native.upsampleBilinear(x.handle, size, alignCorners));
}

export function cat(xs: Tensor[], dim = 0): Tensor {
  return new Tensor(native.cat(xs.map((t) => t.handle), dim));
}
export function stack(xs: Tensor[], dim = 0): Tensor {
  return new Tensor(native.stack(xs.map((t) => t.handle), dim));
}
/**
 * Σ_k weights[indices[k]]·terms[k] (terms of one shape, weights 1-d), with
 * the values and gradients of the chain of mul and add, as one autograd
 * node (float32 CPU terms; other tensors take that chain).
 */
export function weightedSum(terms: Tensor[], weights: Tensor, indices: number[]): Tensor {
  return new Tensor(native.weightedSum(terms.map((t) => t.handle), weights.handle, indices));
}
/** cond ? a : b, elementwise; a and b may be numbers. */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  return new Tensor(native.where(cond.handle, typeof a === 'number' ? a : a.handle, typeof b === 'number' ? b : b.handle,
    typeof a === 'number', typeof b === 'number'));
}

/** Sign and log|det| of square matrices. */
export function slogdet(x: Tensor): { sign: Tensor; logabsdet: Tensor } {
  const [s, l] = native.slogdet(x.handle);
  return { sign: new Tensor(s), logabsdet: new Tensor(l) };
}
/** Eigenvalues of symmetric matrices, ascending. */
export function eigvalsh(x: Tensor): Tensor {
  return new Tensor(native.eigvalsh(x.handle));
}
/** Pearson correlation of the rows of a 2-D tensor. */
export function corrcoef(x: Tensor): Tensor {
  return new Tensor(native.corrcoef(x.handle));
}

// Multi-tensor updates: one native call for a whole parameter list.
export const foreach = {
  add_(xs: Tensor[], ys: Tensor[], alpha = 1): void {
    native.foreachAdd_(xs.map((t) => t.handle), ys.map((t) => t.handle), alpha);
  },
  mul_(xs: Tensor[], s: number): void {
    native.foreachMulScalar_(xs.map((t) => t.handle), s);
  },
  addcmul_(xs: Tensor[], as: Tensor[], bs: Tensor[], value = 1): void {
    native.foreachAddcmul_(xs.map((t) => t.handle), as.map((t) => t.handle), bs.map((t) => t.handle), value);
  },
  addcdiv_(xs: Tensor[], as: Tensor[], bs: Tensor[], value = 1): void {
    native.foreachAddcdiv_(xs.map((t) => t.handle), as.map((t) => t.handle), bs.map((t) => t.handle), value);
  },
  sqrt(xs: Tensor[]): Tensor[] {
    return native.foreachSqrt(xs.map((t) => t.handle)).map((h) => new Tensor(h));
  },
  norm(xs: Tensor[]): Tensor[] {
    return native.foreachNorm(xs.map((t) => t.handle)).map((h) => new Tensor(h));
  },
};
