// Shared by the nn and networks tests: PyTorch fixtures and close comparison.
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { Tensor, tensor, type DType } from '../tensor/index.js';

/** A tensor as the fixture generator writes it (scripts/fixtures/gen_nn.py). */
export interface Encoded {
  shape: number[];
  data: number[];
}

export function loadNnFixture<T = any>(name: string): T { // eslint-disable-line @typescript-eslint/no-explicit-any
  return JSON.parse(readFileSync(new URL(`../../test/fixtures/nn/${name}`, import.meta.url), 'utf8')) as T;
}

export function decode(e: Encoded, dtype: DType = 'float32'): Tensor {
  return tensor(e.data, e.shape, { dtype });
}

/** Asserts |actual - expected| <= atol + rtol |expected| elementwise, and equal shapes. */
export function assertClose(actual: Tensor | number[], expected: Encoded | number[], what: string, rtol = 1e-5,
  atol = 1e-6): void {
  const a = actual instanceof Tensor ? actual.toArray() : actual;
  const e = Array.isArray(expected) ? expected : expected.data;
  if (actual instanceof Tensor && !Array.isArray(expected)) {
    assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  }
  assert.equal(a.length, e.length, `${what}: length`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    const excess = Math.abs(a[i]! - e[i]!) - (atol + rtol * Math.abs(e[i]!));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) assert.fail(`${what}: element ${worst} is ${a[worst]}, expected ${e[worst]} (rtol ${rtol}, atol ${atol})`);
}
