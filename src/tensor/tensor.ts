// Tensor: a JavaScript owner of one libtorch tensor. Methods are thin calls
// into the addon; memory is released by dispose(), scopes (tidy) or the
// owning Module, never by the garbage collector (which only warns).
import { native, type DType, type Handle } from './native.js';
import { leakRegistry, track } from './scope.js';

export type { DType };
export type TypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;
type Other = Tensor | number;

const h = (x: Other): Handle | number => (typeof x === 'number' ? x : x.handle);

export class Tensor {
  readonly handle: Handle;
  kept = false;
  #disposed = false;
  #shape: number[] | undefined;

  constructor(handle: Handle) {
    this.handle = handle;
    track(this);
    leakRegistry.register(this, handle, this);
  }

  // ------------------------------------------------------------ identity and data

  get shape(): number[] {
    return (this.#shape ??= native.shape(this.handle));
  }
  get dtype(): DType {
    return native.dtype(this.handle);
  }
  get device(): string {
    return native.device(this.handle);
  }
  get ndim(): number {
    return this.shape.length;
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  size(dim: number): number {
    const s = this.shape;
    return s[dim < 0 ? s.length + dim : dim]!;
  }
  /** A copy of the data, in the dtype's TypedArray (bool as Uint8Array). */
  data(): TypedArray {
    return native.toArray(this.handle);
  }
  /** The data as plain numbers (int64 converted). */
  toArray(): number[] {
    return Array.from(this.data() as ArrayLike<number | bigint>, Number);
  }
  item(): number {
    return native.item(this.handle);
  }

  get isDisposed(): boolean {
    return this.#disposed;
  }
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    leakRegistry.unregister(this);
    native.free(this.handle);
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
  /** Exempts this tensor from scopes: the caller owns it. */
  keep(): this {
    this.kept = true;
    return this;
  }

  to(options: { dtype?: DType; device?: string; copy?: boolean }): Tensor {
    return new Tensor(native.to(this.handle, options.dtype ?? null, options.device ?? null, options.copy ?? false));
  }
  float(): Tensor {
    return this.to({ dtype: 'float32' });
  }
  double(): Tensor {
    return this.to({ dtype: 'float64' });
  }
  long(): Tensor {
    return this.to({ dtype: 'int64' });
  }

  // ------------------------------------------------------------ autograd

  get requiresGrad(): boolean {
    return native.requiresGrad(this.handle);
  }
  set requiresGrad(v: boolean) {
    native.setRequiresGrad(this.handle, v);
  }
  requiresGrad_(v = true): this {
    native.setRequiresGrad(this.handle, v);
    return this;
  }
  /** The accumulated gradient, as a new tensor sharing its storage, or null. */
  get grad(): Tensor | null {
    const g = native.grad(this.handle);
    return g === null ? null : new Tensor(g); // 0 is a valid tensor id
  }
  set grad(g: Tensor | null) {
    native.setGrad(this.handle, g ? g.handle : null);
  }
  get isLeaf(): boolean {
    return native.isLeaf(this.handle);
  }
  get hasGradFn(): boolean {
    return native.hasGradFn(this.handle);
  }
  retainGrad(): this {
    native.retainGrad(this.handle);
    return this;
  }
  backward(gradient?: Tensor | null, options: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    native.backward(this.handle, gradient?.handle ?? null, options.retainGraph ?? null, options.createGraph ?? false);
  }
  detach(): Tensor {
    return new Tensor(native.detach(this.handle));
  }

  // ------------------------------------------------------------ elementwise

  add(o: Other): Tensor { return new Tensor(native.add(this.handle, h(o), typeof o === 'number')); }
  sub(o: Other): Tensor { return new Tensor(native.sub(this.handle, h(o), typeof o === 'number')); }
  mul(o: Other): Tensor { return new Tensor(native.mul(this.handle, h(o), typeof o === 'number')); }
  div(o: Other): Tensor { return new Tensor(native.div(this.handle, h(o), typeof o === 'number')); }
  pow(o: Other): Tensor { return new Tensor(native.pow(this.handle, h(o), typeof o === 'number')); }
  /** n - this */
  rsub(n: number): Tensor { return new Tensor(native.rsub(this.handle, n)); }
  fmod(o: Other): Tensor { return new Tensor(native.fmod(this.handle, h(o), typeof o === 'number')); }
  eq(o: Other): Tensor { return new Tensor(native.eq(this.handle, h(o), typeof o === 'number')); }
  ne(o: Other): Tensor { return new Tensor(native.ne(this.handle, h(o), typeof o === 'number')); }
  lt(o: Other): Tensor { return new Tensor(native.lt(this.handle, h(o), typeof o === 'number')); }
  le(o: Other): Tensor { return new Tensor(native.le(this.handle, h(o), typeof o === 'number')); }
  gt(o: Other): Tensor { return new Tensor(native.gt(this.handle, h(o), typeof o === 'number')); }
  ge(o: Other): Tensor { return new Tensor(native.ge(this.handle, h(o), typeof o === 'number')); }
  maximum(o: Tensor): Tensor { return new Tensor(native.maximum(this.handle, o.handle)); }
  minimum(o: Tensor): Tensor { return new Tensor(native.minimum(this.handle, o.handle)); }
  logicalAnd(o: Tensor): Tensor { return new Tensor(native.logicalAnd(this.handle, o.handle)); }
  logicalOr(o: Tensor): Tensor { return new Tensor(native.logicalOr(this.handle, o.handle)); }
  logicalNot(): Tensor { return new Tensor(native.logicalNot(this.handle)); }
  neg(): Tensor { return new Tensor(native.neg(this.handle)); }
  abs(): Tensor { return new Tensor(native.abs(this.handle)); }
  sign(): Tensor { return new Tensor(native.sign(this.handle)); }
  log(): Tensor { return new Tensor(native.log(this.handle)); }
  exp(): Tensor { return new Tensor(native.exp(this.handle)); }
  sqrt(): Tensor { return new Tensor(native.sqrt(this.handle)); }
  rsqrt(): Tensor { return new Tensor(native.rsqrt(this.handle)); }
  reciprocal(): Tensor { return new Tensor(native.reciprocal(this.handle)); }
  square(): Tensor { return new Tensor(native.square(this.handle)); }
  floor(): Tensor { return new Tensor(native.floor(this.handle)); }
  round(): Tensor { return new Tensor(native.round(this.handle)); }
  isnan(): Tensor { return new Tensor(native.isnan(this.handle)); }
  relu(): Tensor { return new Tensor(native.relu(this.handle)); }
  relu6(): Tensor { return new Tensor(native.relu6(this.handle)); }
  gelu(approximate: 'none' | 'tanh' = 'none'): Tensor { return new Tensor(native.gelu(this.handle, approximate)); }
  sigmoid(): Tensor { return new Tensor(native.sigmoid(this.handle)); }
  tanh(): Tensor { return new Tensor(native.tanh(this.handle)); }
  silu(): Tensor { return new Tensor(native.silu(this.handle)); }
  mish(): Tensor { return new Tensor(native.mish(this.handle)); }
  hardswish(): Tensor { return new Tensor(native.hardswish(this.handle)); }
  hardsigmoid(): Tensor { return new Tensor(native.hardsigmoid(this.handle)); }
  softplus(): Tensor { return new Tensor(native.softplus(this.handle)); }
  leakyRelu(slope = 0.01): Tensor { return new Tensor(native.leakyRelu(this.handle, slope)); }
  clamp(min: number | null, max: number | null = null): Tensor {
    return new Tensor(native.clamp(this.handle, min, max));
  }
  softmax(dim: number): Tensor { return new Tensor(native.softmax(this.handle, dim)); }
  logSoftmax(dim: number): Tensor { return new Tensor(native.logSoftmax(this.handle, dim)); }
  matmul(o: Tensor): Tensor { return new Tensor(native.matmul(this.handle, o.handle)); }
  /** Matrix transpose of a 2-D tensor. */
  t(): Tensor { return new Tensor(native.t(this.handle)); }

  // ------------------------------------------------------------ reductions (dims: null = all)

  sum(dims: number | number[] | null = null, keepdim = false, dtype: DType | null = null): Tensor {
    return new Tensor(native.sum(this.handle, dims, keepdim, dtype));
  }
  mean(dims: number | number[] | null = null, keepdim = false): Tensor {
    return new Tensor(native.mean(this.handle, dims, keepdim));
  }
  /** Maximum over dims (all when null), values only. */
  max(dims: number | number[] | null = null, keepdim = false): Tensor {
    return new Tensor(native.amax(this.handle, dims ?? [], keepdim));
  }
  min(dims: number | number[] | null = null, keepdim = false): Tensor {
    return new Tensor(native.amin(this.handle, dims ?? [], keepdim));
  }
  /** Maximum along one dim, with the indices. */
  maxWithIndices(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    const [v, i] = native.maxDim(this.handle, dim, keepdim);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  minWithIndices(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    const [v, i] = native.minDim(this.handle, dim, keepdim);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  argmax(dim: number | null = null, keepdim = false): Tensor {
    return new Tensor(native.argmax(this.handle, dim, keepdim));
  }
  argmin(dim: number | null = null, keepdim = false): Tensor {
    return new Tensor(native.argmin(this.handle, dim, keepdim));
  }
  var(dims: number | number[] | null = null, unbiased = true, keepdim = false): Tensor {
    return new Tensor(native.var(this.handle, dims, unbiased, keepdim));
  }
  std(dims: number | number[] | null = null, unbiased = true, keepdim = false): Tensor {
    return new Tensor(native.std(this.handle, dims, unbiased, keepdim));
  }
  /** Vector p-norm over dims (all when null). */
  norm(p = 2, dims: number | number[] | null = null, keepdim = false): Tensor {
    return new Tensor(native.norm(this.handle, p, dims, keepdim));
  }
  logsumexp(dims: number | number[], keepdim = false): Tensor {
    return new Tensor(native.logsumexp(this.handle, dims, keepdim));
  }
  cumsum(dim: number): Tensor { return new Tensor(native.cumsum(this.handle, dim)); }
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    const [v, i] = native.sort(this.handle, dim, descending);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  topk(k: number, dim = -1, largest = true): { values: Tensor; indices: Tensor } {
    const [v, i] = native.topk(this.handle, k, dim, largest);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }

  // ------------------------------------------------------------ shape and indexing

  reshape(...shape: number[]): Tensor { return new Tensor(native.reshape(this.handle, shape)); }
  view(...shape: number[]): Tensor { return new Tensor(native.view(this.handle, shape)); }
  permute(...dims: number[]): Tensor { return new Tensor(native.permute(this.handle, dims)); }
  transpose(a: number, b: number): Tensor { return new Tensor(native.transpose(this.handle, a, b)); }
  flatten(start = 0, end = -1): Tensor { return new Tensor(native.flatten(this.handle, start, end)); }
  contiguous(): Tensor { return new Tensor(native.contiguous(this.handle)); }
  clone(): Tensor { return new Tensor(native.clone(this.handle)); }
  squeeze(dim: number | null = null): Tensor { return new Tensor(native.squeeze(this.handle, dim)); }
  unsqueeze(dim: number): Tensor { return new Tensor(native.unsqueeze(this.handle, dim)); }
  expand(...shape: number[]): Tensor { return new Tensor(native.expand(this.handle, shape)); }
  repeat(...reps: number[]): Tensor { return new Tensor(native.repeat(this.handle, reps)); }
  split(sizes: number | number[], dim = 0): Tensor[] {
    return native.split(this.handle, sizes, dim).map((x) => new Tensor(x));
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return native.chunk(this.handle, chunks, dim).map((x) => new Tensor(x));
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return new Tensor(native.narrow(this.handle, dim, start, length));
  }
  slice(dim: number, start: number, end: number, step = 1): Tensor {
    return new Tensor(native.slice(this.handle, dim, start, end, step));
  }
  select(dim: number, index: number): Tensor { return new Tensor(native.select(this.handle, dim, index)); }
  indexSelect(dim: number, index: Tensor): Tensor {
    return new Tensor(native.indexSelect(this.handle, dim, index.handle));
  }
  gather(dim: number, index: Tensor): Tensor { return new Tensor(native.gather(this.handle, dim, index.handle)); }
  /** Advanced indexing: x.index([null, idx]) is x[:, idx]. */
  index(indices: (Tensor | null)[]): Tensor {
    return new Tensor(native.index(this.handle, indices.map((i) => i?.handle ?? null)));
  }
  /** Out-of-place x[indices] = values (or += with accumulate), differentiable. */
  indexPut(indices: (Tensor | null)[], values: Tensor, accumulate = false): Tensor {
    return new Tensor(native.indexPut(this.handle, indices.map((i) => i?.handle ?? null), values.handle, accumulate));
  }
  scatter(dim: number, index: Tensor, src: Tensor): Tensor {
    return new Tensor(native.scatter(this.handle, dim, index.handle, src.handle));
  }
  maskedSelect(mask: Tensor): Tensor { return new Tensor(native.maskedSelect(this.handle, mask.handle)); }
  nonzero(): Tensor { return new Tensor(native.nonzero(this.handle)); }
  flip(...dims: number[]): Tensor { return new Tensor(native.flip(this.handle, dims)); }
  roll(shifts: number[], dims: number[]): Tensor { return new Tensor(native.roll(this.handle, shifts, dims)); }

  // ------------------------------------------------------------ in place (return this)

  add_(o: Other, alpha = 1): this { native.add_(this.handle, h(o), alpha, typeof o === 'number'); return this; }
  sub_(o: Other, alpha = 1): this { native.sub_(this.handle, h(o), alpha, typeof o === 'number'); return this; }
  mul_(o: Other): this { native.mul_(this.handle, h(o), typeof o === 'number'); return this; }
  div_(o: Other): this { native.div_(this.handle, h(o), typeof o === 'number'); return this; }
  addcmul_(a: Tensor, b: Tensor, value = 1): this { native.addcmul_(this.handle, a.handle, b.handle, value); return this; }
  addcdiv_(a: Tensor, b: Tensor, value = 1): this { native.addcdiv_(this.handle, a.handle, b.handle, value); return this; }
  lerp_(end: Tensor, weight: number): this { native.lerp_(this.handle, end.handle, weight); return this; }
  fill_(v: Other): this { native.fill_(this.handle, h(v), typeof v === 'number'); return this; }
  zero_(): this { native.zero_(this.handle); return this; }
  copy_(src: Tensor): this { native.copy_(this.handle, src.handle); return this; }
  sqrt_(): this { native.sqrt_(this.handle); return this; }
  clamp_(min: number | null, max: number | null = null): this { native.clamp_(this.handle, min, max); return this; }
  uniform_(from = 0, to = 1): this { native.uniform_(this.handle, from, to); return this; }
  normal_(mean = 0, std = 1): this { native.normal_(this.handle, mean, std); return this; }
  bernoulli_(p: number): this { native.bernoulli_(this.handle, p); return this; }
  maskedFill_(mask: Tensor, value: number | boolean): this {
    native.maskedFill_(this.handle, mask.handle, value);
    return this;
  }
  detach_(): this { native.detach_(this.handle); return this; }

  toString(): string {
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device})`;
  }
}
