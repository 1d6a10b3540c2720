// Comparing computed numbers with expected ones in tests.
import assert from 'node:assert/strict';
import { Tensor, memory, tidy } from '../tensor/index.js';

type Values = ArrayLike<number> | ArrayLike<bigint>;

/** Expected values: a tensor, plain numbers, or a fixture's `{shape, data}`. */
export type Expected = Tensor | Values | { shape: readonly number[]; data: Values };

const shapeOf = (x: Expected): readonly number[] | undefined => (x instanceof Tensor ? x.shape : 'shape' in x ? x.shape : undefined);
const valuesOf = (x: Expected): Values => (x instanceof Tensor ? x.data() : 'data' in x ? x.data : x);

/**
 * Asserts equal shapes (when both have one), equal lengths, and
 * |actual − expected| ≤ atol + rtol·|expected| for every element; NaN
 * matches only NaN, and bigints (int64 tensors) must be equal. Names the worst
 * element when it fails.
 */
export function assertClose(actual: Tensor | Values, expected: Expected, what: string, rtol = 1e-5, atol = 1e-6): void {
  const [shapeA, shapeE] = [shapeOf(actual), shapeOf(expected)];
  if (shapeA && shapeE) assert.deepEqual([...shapeA], [...shapeE], `${what}: shape`);
  const a = valuesOf(actual);
  const e = valuesOf(expected);
  assert.equal(a.length, e.length, `${what}: length`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    const [x, y] = [a[i]!, e[i]!];
    // == compares a bigint (int64 tensors) with a number exactly.
    if (x == y || (Number.isNaN(x) && Number.isNaN(y))) continue; // eslint-disable-line eqeqeq
    const excess = typeof x === 'bigint' || typeof y === 'bigint' ? Infinity : Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) assert.fail(`${what}: element ${worst} is ${a[worst]}, expected ${e[worst]} (rtol ${rtol}, atol ${atol})`);
}

/** Kernel results against a reference: max |a - b| <= tolerance * max |b| (rounding error scales with the whole tensor). */
export function assertKernelClose(a: Tensor, b: Tensor, what: string, tolerance = 1e-5): void {
  const scale = Array.from(b.data(), Number).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assertClose(a, b, what, 0, tolerance * scale);
}

/** Runs fn in a scope and asserts that every tensor made inside is freed; returns what fn returned. */
export function assertNoLeak<T>(fn: () => T): T {
  const before = memory().numTensors;
  const out = tidy(fn);
  assert.equal(memory().numTensors, before, 'every tensor made inside is freed');
  return out;
}
