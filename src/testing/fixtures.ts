// PyTorch fixtures of the nn and networks tests (test/fixtures/nn).
import { readFileSync } from 'node:fs';
import { tensor, type DType, type Tensor } from '../tensor/index.js';

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

/** A safetensors file of any header (hostile ones included): its u64 length, the header as JSON, then dataBytes zero bytes. */
export function rawSafetensors(header: unknown, dataBytes: number): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}
