// The native addon: a thin layer over libtorch (see native/*.cc). Everything
// here takes and returns opaque handles; src/tensor wraps them in Tensor.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultThreads } from './threads.js';

/** An opaque id of one libtorch tensor, owned by exactly one Tensor. */
export type Handle = number & { readonly __tsnasHandle: never };

export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool' | 'float16';
type H = Handle;
type N = number;
type Num = number | boolean;
type HorN = Handle | number;
type Opt<T> = T | null | undefined;
type Dims = number | number[];
export type Reduction = 'mean' | 'sum' | 'none';

/** Which native CPU kernels conv2d, maxPool2d, avgPool2d and batchNorm use where they apply (see native/kernels.h). */
export interface NativeKernels {
  depthwise: boolean;
  pointwise: boolean;
  maxPool: boolean;
  avgPool: boolean;
  batchNorm: boolean;
}

export interface NativeAddon {
  fromArray(data: ArrayBufferView, shape: number[], dtype: DType, device?: string | null): H;
  toArray(h: H): Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;
  item(h: H): number;
  shape(h: H): number[];
  dtype(h: H): DType;
  device(h: H): string;
  free(h: H): void;
  isLive(h: H): boolean;
  memory(): { numTensors: number; numBytes: number };
  to(h: H, dtype: Opt<DType>, device: Opt<string>, copy?: boolean): H;
  zeros(shape: number[], dtype?: Opt<DType>, device?: Opt<string>): H;
  ones(shape: number[], dtype?: Opt<DType>, device?: Opt<string>): H;
  empty(shape: number[], dtype?: Opt<DType>, device?: Opt<string>): H;
  full(shape: number[], value: Num, dtype?: Opt<DType>, device?: Opt<string>): H;
  rand(shape: number[], dtype?: Opt<DType>, device?: Opt<string>): H;
  randn(shape: number[], dtype?: Opt<DType>, device?: Opt<string>): H;
  randint(low: N, high: N, shape: number[], dtype?: Opt<DType>, device?: Opt<string>): H;
  randperm(n: N, device?: Opt<string>): H;
  arange(start: N, end: N, step: N, dtype?: Opt<DType>, device?: Opt<string>): H;
  eye(n: N, dtype?: Opt<DType>, device?: Opt<string>): H;
  manualSeed(seed: number | bigint): void;
  setNumThreads(n: N): void;
  getNumThreads(): number;
  profilerStart(file: string): void;
  profilerStop(): void;
  cudaAvailable(): boolean;
  cudaSynchronize(): void;

  requiresGrad(h: H): boolean;
  setRequiresGrad(h: H, v: boolean): void;
  grad(h: H): H | null;
  setGrad(h: H, g: Opt<H>): void;
  retainGrad(h: H): void;
  isLeaf(h: H): boolean;
  backward(h: H, gradient: Opt<H>, retainGraph?: Opt<boolean>, createGraph?: boolean): void;
  autogradGrad(
    outputs: H[],
    inputs: H[],
    gradOutputs: Opt<H[]>,
    createGraph: boolean,
    retainGraph: Opt<boolean>,
    allowUnused: boolean,
  ): (H | null)[];
  detach(h: H): H;
  detach_(h: H): void;
  hasGradFn(h: H): boolean;
  isGradEnabled(): boolean;
  setGradEnabled(v: boolean): void;
  enterInferenceMode(): void;
  exitInferenceMode(): void;

  neg(h: H): H; abs(h: H): H; sign(h: H): H; log(h: H): H; exp(h: H): H; sqrt(h: H): H;
  rsqrt(h: H): H; reciprocal(h: H): H; square(h: H): H; relu(h: H): H; relu6(h: H): H;
  sigmoid(h: H): H; tanh(h: H): H; silu(h: H): H; mish(h: H): H; hardswish(h: H): H;
  hardsigmoid(h: H): H; softplus(h: H): H; floor(h: H): H; round(h: H): H;
  logicalNot(h: H): H; isnan(h: H): H; t(h: H): H;
  gelu(h: H, approximate?: 'none' | 'tanh'): H;
  leakyRelu(h: H, slope: N): H;
  // Binary ops: b is a tensor, or a number when bIsScalar is true.
  add(a: H, b: HorN, bIsScalar: boolean): H; sub(a: H, b: HorN, bIsScalar: boolean): H;
  mul(a: H, b: HorN, bIsScalar: boolean): H; div(a: H, b: HorN, bIsScalar: boolean): H;
  pow(a: H, b: HorN, bIsScalar: boolean): H; eq(a: H, b: HorN, bIsScalar: boolean): H;
  ne(a: H, b: HorN, bIsScalar: boolean): H; lt(a: H, b: HorN, bIsScalar: boolean): H;
  le(a: H, b: HorN, bIsScalar: boolean): H; gt(a: H, b: HorN, bIsScalar: boolean): H;
  ge(a: H, b: HorN, bIsScalar: boolean): H; fmod(a: H, b: HorN, bIsScalar: boolean): H;
  maximum(a: H, b: H): H; minimum(a: H, b: H): H; logicalAnd(a: H, b: H): H; logicalOr(a: H, b: H): H;
  rsub(a: H, b: N): H;
  clamp(h: H, min: Opt<N>, max: Opt<N>): H;
  where(cond: H, a: HorN, b: HorN, aIsScalar: boolean, bIsScalar: boolean): H;
  matmul(a: H, b: H): H;
  sum(h: H, dims: Opt<Dims>, keepdim?: boolean, dtype?: Opt<DType>): H;
  mean(h: H, dims: Opt<Dims>, keepdim?: boolean): H;
  amax(h: H, dims: Opt<Dims>, keepdim?: boolean): H;
  amin(h: H, dims: Opt<Dims>, keepdim?: boolean): H;
  maxDim(h: H, dim: N, keepdim?: boolean): [H, H];
  minDim(h: H, dim: N, keepdim?: boolean): [H, H];
  argmax(h: H, dim: Opt<N>, keepdim?: boolean): H;
  argmin(h: H, dim: Opt<N>, keepdim?: boolean): H;
  var(h: H, dims: Opt<Dims>, unbiased?: boolean, keepdim?: boolean): H;
  std(h: H, dims: Opt<Dims>, unbiased?: boolean, keepdim?: boolean): H;
  norm(h: H, p: N, dims: Opt<Dims>, keepdim?: boolean): H;
  logsumexp(h: H, dims: Dims, keepdim?: boolean): H;
  cumsum(h: H, dim: N): H;
  sort(h: H, dim: N, descending?: boolean): [H, H];
  topk(h: H, k: N, dim: N, largest?: boolean): [H, H];
  slogdet(h: H): [H, H];
  eigvalsh(h: H): H;
  corrcoef(h: H): H;
  mul_(a: H, b: HorN, bIsScalar: boolean): void; div_(a: H, b: HorN, bIsScalar: boolean): void;
  fill_(a: H, v: HorN, vIsScalar: boolean): void;
  add_(a: H, b: HorN, alpha: N, bIsScalar: boolean): void; sub_(a: H, b: HorN, alpha: N, bIsScalar: boolean): void;
  addcmul_(a: H, t1: H, t2: H, value?: N): void; addcdiv_(a: H, t1: H, t2: H, value?: N): void;
  lerp_(a: H, end: H, weight: N): void; zero_(a: H): void; copy_(a: H, src: H): void; sqrt_(a: H): void;
  clamp_(a: H, min: Opt<N>, max: Opt<N>): void;
  uniform_(a: H, from: N, to: N): void; normal_(a: H, mean: N, std: N): void; bernoulli_(a: H, p: N): void;
  maskedFill_(a: H, mask: H, value: Num): void;
  foreachAdd_(xs: H[], ys: H[], alpha: N): void;
  foreachMulScalar_(xs: H[], s: N): void;
  foreachAddcmul_(xs: H[], as: H[], bs: H[], value: N): void;
  foreachAddcdiv_(xs: H[], as: H[], bs: H[], value: N): void;
  foreachSqrt(xs: H[]): H[];
  foreachNorm(xs: H[]): H[];

  conv2d(x: H, w: H, b: Opt<H>, stride: number[], padding: number[], dilation: number[], groups: N): H;
  linear(x: H, w: H, b: Opt<H>): H;
  batchNorm(x: H, w: Opt<H>, b: Opt<H>, rm: Opt<H>, rv: Opt<H>, training: boolean, momentum: N, eps: N): H;
  layerNorm(x: H, shape: number[], w: Opt<H>, b: Opt<H>, eps: N): H;
  maxPool2d(x: H, k: number[], s: number[], p: number[], d: number[], ceil: boolean): H;
  depthwiseConv2d(x: H, w: H, stride: number[], padding: number[], dilation: number[]): H;
  depthwiseConv2dBackward(gradOut: H, x: H, w: H, stride: number[], padding: number[], dilation: number[]): [H, H];
  setNativeKernels(o?: Partial<NativeKernels>): NativeKernels;
  weightedSum(terms: H[], weights: H, indices: number[]): H;
  avgPool2d(x: H, k: number[], s: number[], p: number[], ceil: boolean, countIncludePad: boolean): H;
  adaptiveAvgPool2d(x: H, size: number[]): H;
  softmax(x: H, dim: N): H;
  logSoftmax(x: H, dim: N): H;
  crossEntropy(logits: H, target: H, reduction: Opt<Reduction>, labelSmoothing?: N, weight?: Opt<H>): H;
  nllLoss(logp: H, target: H, reduction: Opt<Reduction>, weight?: Opt<H>): H;
  mseLoss(a: H, b: H, reduction: Opt<Reduction>): H;
  dropout(x: H, p: N, training: boolean): H;
  embedding(w: H, idx: H): H;
  lstmCell(x: H, h: H, c: H, wIh: H, wHh: H, bIh: Opt<H>, bHh: Opt<H>): [H, H];
  pad(x: H, pads: number[], value?: N): H;
  oneHot(idx: H, classes: N): H;
  upsampleBilinear(x: H, size: number[], alignCorners: boolean): H;

  reshape(h: H, shape: number[]): H; view(h: H, shape: number[]): H; permute(h: H, dims: number[]): H;
  transpose(h: H, a: N, b: N): H; flatten(h: H, start: N, end: N): H; contiguous(h: H): H; clone(h: H): H;
  squeeze(h: H, dim?: Opt<N>): H; unsqueeze(h: H, dim: N): H; expand(h: H, shape: number[]): H;
  repeat(h: H, reps: number[]): H;
  cat(hs: H[], dim: N): H; stack(hs: H[], dim: N): H;
  split(h: H, sizes: N | number[], dim: N): H[]; chunk(h: H, chunks: N, dim: N): H[];
  narrow(h: H, dim: N, start: N, length: N): H; slice(h: H, dim: N, start: N, end: N, step: N): H;
  select(h: H, dim: N, index: N): H; indexSelect(h: H, dim: N, index: H): H; gather(h: H, dim: N, index: H): H;
  index(h: H, indices: Opt<H>[]): H; indexPut(h: H, indices: Opt<H>[], values: H, accumulate?: boolean): H;
  scatter(h: H, dim: N, index: H, src: H): H; maskedSelect(h: H, mask: H): H; nonzero(h: H): H;
  flip(h: H, dims: number[]): H; roll(h: H, shifts: number[], dims: number[]): H;
}

function load(): NativeAddon {
  // Lets tests prove that a command computing nothing never loads libtorch.
  if (process.env['TSNAS_FORBID_NATIVE'] === '1') throw new Error('the native addon was loaded, but TSNAS_FORBID_NATIVE=1 forbids it');
  const require = createRequire(import.meta.url);
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const path = `${root}build/Release/tsnas_native.node`;
  if (!existsSync(path)) {
    throw new Error(`the native addon is not built (${path} is missing): run \`npm run setup\` in a tsnas checkout, or \`npm rebuild tsnas\` where tsnas is an installed package`);
  }
  const addon = require(path) as NativeAddon;
  addon.setNumThreads(defaultThreads());
  return addon;
}

/**
 * The addon, loaded on first use: importing tensor code costs nothing, so
 * commands that compute nothing (help, ls, show, config checks) start fast.
 * The first property read goes to the prototype, which loads the addon and
 * copies its functions onto this object; later reads find them directly.
 */
export const native: NativeAddon = Object.create(
  new Proxy({}, {
    get(_target, key, receiver) {
      const addon = load();
      Object.setPrototypeOf(receiver, null);
      for (const k of Reflect.ownKeys(addon)) (receiver as Record<string | symbol, unknown>)[k] = (addon as unknown as Record<string | symbol, unknown>)[k];
      return (addon as unknown as Record<string | symbol, unknown>)[key];
    },
  }),
) as NativeAddon;
