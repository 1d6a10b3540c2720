// Function-preserving network morphisms (Net2Net; Wei et al.'s network
// morphism): the pieces every space's morphisms share. A morphism turns a
// sample into a child sample whose network, loaded with weights derived from
// the parent's, computes the same function in eval mode: inserted layers
// start as the identity, widened layers duplicate channels and split their
// outgoing weights, new branches start adding zero, larger kernels are the
// old ones zero-padded. Each space's kit says which morphisms its samples
// allow (SpaceKit.morphisms) and how its parameter names map.
import { TsnasError } from '../errors.js';
import { tensor, tidy, type Tensor } from '../tensor/index.js';
import type { Module } from '../nn/module.js';
import type { Sample } from '../spaces/types.js';
import type { Rng } from '../util/random.js';

export type StateDict = Record<string, Tensor>;

export type MorphismKind = 'deepen' | 'widen' | 'skip' | 'kernel';

export interface Morphism {
  readonly kind: MorphismKind;
  /** What changes, for logs: "widen layer 1 to 32 filters". */
  readonly description: string;
  /** The child's sample (validated by the space). */
  readonly child: Sample;
  /**
   * Loads the child's network (built by the space's kit with the options the
   * parent's was) with the parent's weights and the morphed parts, so that it
   * computes what the parent's does in eval mode. The parent's tensors are
   * only read.
   */
  inherit(parent: StateDict, child: Module): void;
}

/**
 * What one key of the child's state dict gets: a key of the parent's (copied
 * as is), or a tensor made for it (disposed after the copy).
 */
export type MorphedSource = string | Tensor;

/**
 * Loads every tensor of child's state dict from source(key, target); a
 * parent key that is missing or has the wrong shape is a data error naming it.
 */
export function loadMorphed(child: Module, parent: StateDict, source: (key: string, target: Tensor) => MorphedSource): void {
  tidy(() => {
    const dict: StateDict = {};
    for (const [key, target] of Object.entries(child.stateDict())) {
      const s = source(key, target);
      if (typeof s === 'string' && !(s in parent)) throw new TsnasError('data', `morphism: the parent has no tensor '${s}' for the child's '${key}'`);
      dict[key] = typeof s === 'string' ? parent[s]! : s;
    }
    child.loadStateDict(dict);
  });
}

/** Data and shape of a float tensor, as JS numbers. */
function read(t: Tensor): { data: Float32Array; shape: number[] } {
  return { data: Float32Array.from(t.toArray()), shape: [...t.shape] };
}

const strides = (shape: readonly number[]): number[] => {
  const out = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) out[d] = out[d + 1]! * shape[d + 1]!;
  return out;
};

/**
 * A conv weight [out, in/groups, k, k] that passes its input through (with
 * the padding (k - 1)/2): 1 at the kernel's centre from channel c to c.
 * out must equal in (groups 1) or groups (depthwise).
 */
export function identityConvWeight(shape: readonly number[]): Tensor {
  const [out, inPerGroup, kh, kw] = shape as [number, number, number, number];
  if (shape.length !== 4 || kh % 2 === 0 || kw % 2 === 0 || (inPerGroup !== 1 && inPerGroup !== out)) {
    throw new TsnasError('usage', `no identity conv weight of shape [${shape.join(', ')}]`);
  }
  const data = new Float32Array(out * inPerGroup * kh * kw);
  const st = strides(shape);
  for (let c = 0; c < out; c++) data[c * st[0]! + (inPerGroup === 1 ? 0 : c) * st[1]! + ((kh - 1) / 2) * st[2]! + (kw - 1) / 2] = 1;
  return tensor(data, [...shape]);
}

/**
 * The tensor of a batch norm's state-dict entry (by its name's last part) that
 * makes it pass its input through in eval mode: mean 0, variance 1, weight
 * √(1 + eps), bias 0.
 */
export function identityBatchNormEntry(key: string, target: Tensor, eps = 1e-5): Tensor {
  const leaf = key.slice(key.lastIndexOf('.') + 1);
  const n = target.numel;
  switch (leaf) {
    case 'weight': return tensor(new Float32Array(n).fill(Math.sqrt(1 + eps)), [...target.shape]);
    case 'running_var': return tensor(new Float32Array(n).fill(1), [...target.shape]);
    case 'bias': case 'running_mean': return tensor(new Float32Array(n), [...target.shape]);
    case 'num_batches_tracked': return target.clone();
    default: throw new TsnasError('usage', `'${key}' is not a batch norm entry`);
  }
}

/** A batch norm's entry that makes it output zeros (weight and bias 0, statistics as the identity's): a branch that adds zero. */
export function zeroBatchNormEntry(key: string, target: Tensor): Tensor {
  return key.endsWith('.weight') ? tensor(new Float32Array(target.numel), [...target.shape]) : identityBatchNormEntry(key, target);
}

/** A conv weight [out, in, k, k] zero-padded to the larger odd kernel [out, in, k2, k2] (with padding (k2 - 1)/2 the output is unchanged). */
export function zeroPadKernel(w: Tensor, kernel: number): Tensor {
  const { data, shape } = read(w);
  const [out, inn, kh, kw] = shape as [number, number, number, number];
  if (shape.length !== 4 || kernel < kh || kernel < kw || (kernel - kh) % 2 !== 0 || (kernel - kw) % 2 !== 0) {
    throw new TsnasError('usage', `cannot zero-pad a kernel of shape [${shape.join(', ')}] to ${kernel}×${kernel}`);
  }
  const padded = new Float32Array(out * inn * kernel * kernel);
  const [dh, dw] = [(kernel - kh) / 2, (kernel - kw) / 2];
  for (let o = 0; o < out * inn; o++) {
    for (let y = 0; y < kh; y++) {
      for (let x = 0; x < kw; x++) padded[o * kernel * kernel + (y + dh) * kernel + x + dw] = data[o * kh * kw + y * kw + x]!;
    }
  }
  return tensor(padded, [out, inn, kernel, kernel]);
}

/**
 * Net2Net's widening of `from` units to `to`: unit u of the wider layer
 * copies unit mapping[u] (the first `from` keep their place, the others copy
 * random ones), and fractions[u] is its share of its source's outgoing
 * weights. Shares are random (positive, summing to 1 over a source's copies),
 * not equal, so that the copies get different gradients and drift apart.
 */
export interface Widening {
  readonly mapping: readonly number[];
  readonly fractions: readonly number[];
}

/** The widening of `from` units to `to` (equal: every unit keeps its place and its whole share). */
export function widening(from: number, to: number, rng: Rng): Widening {
  if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 1 && to >= from)) throw new TsnasError('usage', `cannot widen ${from} units to ${to}`);
  const mapping = Array.from({ length: to }, (_, u) => (u < from ? u : rng.int(from)));
  const raw = mapping.map(() => 0.5 + rng.next());
  const total = new Array<number>(from).fill(0);
  mapping.forEach((src, u) => (total[src]! += raw[u]!));
  return { mapping, fractions: mapping.map((src, u) => raw[u]! / total[src]!) };
}

/** t with its dimension `dim` gathered by w.mapping (units copied), each slice scaled by w.fractions when `split` (outgoing weights). */
export function widenAlong(t: Tensor, dim: number, w: Widening, split = false): Tensor {
  const { data, shape } = read(t);
  const st = strides(shape);
  const outShape = [...shape];
  outShape[dim] = w.mapping.length;
  const outSt = strides(outShape);
  const out = new Float32Array(outShape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) {
    let src = 0;
    let u = 0;
    for (let d = 0; d < outShape.length; d++) {
      const idx = Math.floor(i / outSt[d]!) % outShape[d]!;
      if (d === dim) u = idx;
      src += (d === dim ? w.mapping[idx]! : idx) * st[d]!;
    }
    out[i] = data[src]! * (split ? w.fractions[u]! : 1);
  }
  return tensor(out, outShape);
}

/**
 * How a network was made from another by morphisms, compactly enough to
 * travel with an asked sample: the parent's sample, and the seed and count
 * of the random morphisms applied to it (kits' morphismPath replays them, so
 * the strategy that chose the child and the estimator that trains it agree).
 */
export interface MorphismLineage {
  readonly parent: Sample;
  readonly seed: number;
  readonly steps: number;
}

/**
 * What a strategy attaches to an asked sample (its trial metadata) for an
 * estimator that trains with weight inheritance: keep the trained weights
 * (a later child may inherit them), and the lineage to inherit from (none:
 * trained from scratch). Estimators that do not train ignore it.
 */
export interface WeightInheritance {
  readonly keepWeights?: boolean;
  readonly inherit?: MorphismLineage;
}
