// Factories: tensors from data, constants and random draws.
import { native, type DType } from './native.js';
import { Tensor, type TypedArray } from './tensor.js';

export interface CreateOptions {
  dtype?: DType;
  device?: string;
  requiresGrad?: boolean;
}

function finish(t: Tensor, o: CreateOptions): Tensor {
  if (o.requiresGrad) t.requiresGrad = true;
  return t;
}

function inferDType(data: TypedArray | ArrayLike<number>): DType {
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint8Array) return 'uint8';
  return 'float32';
}

function asTyped(data: ArrayLike<number> | ArrayLike<bigint>, dtype: DType): ArrayBufferView {
  switch (dtype) {
    case 'float32': return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>, Number);
    case 'float64': return data instanceof Float64Array ? data : Float64Array.from(data as ArrayLike<number>, Number);
    case 'int64': return data instanceof BigInt64Array ? data : BigInt64Array.from(data as ArrayLike<number>, (v) => BigInt(v));
    case 'int32': return data instanceof Int32Array ? data : Int32Array.from(data as ArrayLike<number>, Number);
    case 'uint8':
    case 'bool': return data instanceof Uint8Array ? data : Uint8Array.from(data as ArrayLike<number>, Number);
    default: throw new Error(`cannot create a tensor of dtype ${dtype} from data`);
  }
}

/**
 * A tensor holding a copy of data. shape defaults to [data.length]; dtype
 * defaults to the TypedArray's (float32 for plain arrays).
 */
export function tensor(
  data: TypedArray | ArrayLike<number>,
  shape?: number[],
  options: CreateOptions = {},
): Tensor {
  const dtype = options.dtype ?? inferDType(data as TypedArray);
  const s = shape ?? [data.length];
  return finish(new Tensor(native.fromArray(asTyped(data as ArrayLike<number>, dtype), s, dtype, options.device ?? null)), options);
}

/** A 0-dimensional tensor. */
export function scalar(value: number, options: CreateOptions = {}): Tensor {
  return tensor([value], [], options);
}

export function zeros(shape: number[], o: CreateOptions = {}): Tensor {
  return finish(new Tensor(native.zeros(shape, o.dtype ?? null, o.device ?? null)), o);
}
export function ones(shape: number[], o: CreateOptions = {}): Tensor {
  return finish(new Tensor(native.ones(shape, o.dtype ?? null, o.device ?? null)), o);
}
export function empty(shape: number[], o: CreateOptions = {}): Tensor {
  return finish(new Tensor(native.empty(shape, o.dtype ?? null, o.device ?? null)), o);
}
export function full(shape: number[], value: number | boolean, o: CreateOptions = {}): Tensor {
  return finish(new Tensor(native.full(shape, value, o.dtype ?? null, o.device ?? null)), o);
}
export function zerosLike(t: Tensor, o: CreateOptions = {}): Tensor {
  return zeros(t.shape, { dtype: t.dtype, device: t.device, ...o });
}
export function onesLike(t: Tensor, o: CreateOptions = {}): Tensor {
  return ones(t.shape, { dtype: t.dtype, device: t.device, ...o });
}
/** Uniform on [0, 1). */
export function rand(shape: number[], o: CreateOptions = {}): Tensor {
  return finish(new Tensor(native.rand(shape, o.dtype ?? null, o.device ?? null)), o);
}
/** Standard normal. */
export function randn(shape: number[], o: CreateOptions = {}): Tensor {
  return finish(new Tensor(native.randn(shape, o.dtype ?? null, o.device ?? null)), o);
}
/** Integers in [low, high). int64 unless dtype says otherwise. */
export function randint(low: number, high: number, shape: number[], o: CreateOptions = {}): Tensor {
  return new Tensor(native.randint(low, high, shape, o.dtype ?? 'int64', o.device ?? null));
}
/** A random permutation of 0..n-1 (int64). */
export function randperm(n: number, o: CreateOptions = {}): Tensor {
  return new Tensor(native.randperm(n, o.device ?? null));
}
export function arange(start: number, end?: number, step = 1, o: CreateOptions = {}): Tensor {
  const [a, b] = end === undefined ? [0, start] : [start, end];
  // As torch: integers give int64, any fractional bound or step gives float32.
  const integral = [a, b, step].every(Number.isInteger);
  return new Tensor(native.arange(a, b, step, o.dtype ?? (integral ? 'int64' : 'float32'), o.device ?? null));
}
export function eye(n: number, o: CreateOptions = {}): Tensor {
  return new Tensor(native.eye(n, o.dtype ?? null, o.device ?? null));
}
