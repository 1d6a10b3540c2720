// The safetensors format (as written by Hugging Face's safetensors): an
// 8-byte little-endian header length N, N bytes of JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}},
// then the raw little-endian tensor bytes, offsets relative to the end of
// the header. Keys are written sorted, data packed in that order.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dataError } from '../errors.js';
import { tensor, type Tensor } from '../tensor/index.js';
import type { DType } from '../tensor/native.js';

/** safetensors dtype names of the dtypes we write. */
const DTYPE_NAMES: Partial<Record<DType, string>> = { float32: 'F32', float64: 'F64', int64: 'I64', int32: 'I32', uint8: 'U8', bool: 'BOOL' };
const FROM_NAMES: Record<string, { dtype: DType; bytes: number }> = {
  F32: { dtype: 'float32', bytes: 4 },
  F64: { dtype: 'float64', bytes: 8 },
  I64: { dtype: 'int64', bytes: 8 },
  I32: { dtype: 'int32', bytes: 4 },
  U8: { dtype: 'uint8', bytes: 1 },
  BOOL: { dtype: 'bool', bytes: 1 },
};

export interface RawTensor {
  dtype: string;
  shape: number[];
  /** Little-endian bytes. */
  data: Uint8Array;
}

/** Encodes named raw tensors and string metadata into safetensors bytes. */
export function encodeSafetensors(tensors: Record<string, RawTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data starts 8-byte aligned (allowed by the format).
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    out.set(tensors[name]!.data, at);
    at += tensors[name]!.data.byteLength;
  }
  return out;
}

/** Decodes safetensors bytes; checks the header length, offsets (contiguous, in bounds) and sizes. */
export function decodeSafetensors(bytes: Uint8Array, where = 'safetensors'): { tensors: Record<string, RawTensor>; metadata: Record<string, string> } {
  if (bytes.byteLength < 8) throw dataError(`expected at least 8 bytes, found ${bytes.byteLength}`, where);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (8 + n > bytes.byteLength) throw dataError(`header length ${n} runs past the end of the ${bytes.byteLength}-byte file`, where);
  let header: Record<string, any>;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, n).toString('utf8'));
  } catch (e) {
    throw dataError(`header is not JSON: ${(e as Error).message}`, where);
  }
  const start = 8 + n;
  const tensors: Record<string, RawTensor> = {};
  const spans: [number, number, string][] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const kind = FROM_NAMES[info?.dtype];
    if (!kind) throw dataError(`tensor "${name}": unsupported dtype ${JSON.stringify(info?.dtype)}; expected one of ${Object.keys(FROM_NAMES).join(', ')}`, where);
    const [begin, end] = info.data_offsets as [number, number];
    const shape = info.shape as number[];
    const count = shape.reduce((a, b) => a * b, 1);
    if (!(Number.isInteger(begin) && Number.isInteger(end) && begin >= 0 && end >= begin && start + end <= bytes.byteLength)) {
      throw dataError(`tensor "${name}": data_offsets [${begin}, ${end}] are outside the ${bytes.byteLength - start} data bytes`, where);
    }
    if (end - begin !== count * kind.bytes) throw dataError(`tensor "${name}": shape [${shape}] of ${info.dtype} needs ${count * kind.bytes} bytes, offsets give ${end - begin}`, where);
    tensors[name] = { dtype: info.dtype, shape, data: bytes.slice(start + begin, start + end) };
    spans.push([begin, end, name]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  let expected = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== expected) throw dataError(`tensor "${name}" starts at ${begin}, expected ${expected} (data must be contiguous)`, where);
    expected = end;
  }
  if (start + expected !== bytes.byteLength) throw dataError(`${bytes.byteLength - start - expected} bytes after the last tensor`, where);
  return { tensors, metadata: (header['__metadata__'] as Record<string, string>) ?? {} };
}

function rawOf(t: Tensor): RawTensor {
  const name = DTYPE_NAMES[t.dtype];
  if (!name) throw dataError(`cannot save dtype ${t.dtype}`, 'safetensors');
  const data = t.device === 'cpu' ? t.data() : t.to({ device: 'cpu' }).data();
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { dtype: name, shape: [...t.shape], data: bytes.slice() };
}

/** Encodes tensors (e.g. a module's stateDict()) as safetensors bytes. */
export function tensorsToSafetensors(tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  return encodeSafetensors(Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, rawOf(t)])), metadata);
}

/** Decodes safetensors bytes into new tensors (the caller owns them) and their metadata; `where` names the source in errors. */
export function safetensorsToTensors(bytes: Uint8Array, where = 'safetensors'): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const { tensors, metadata } = decodeSafetensors(bytes, where);
  const out: Record<string, Tensor> = {};
  for (const [name, raw] of Object.entries(tensors)) {
    const { dtype } = FROM_NAMES[raw.dtype]!;
    const buf = raw.data.buffer.slice(raw.data.byteOffset, raw.data.byteOffset + raw.data.byteLength);
    const typed =
      dtype === 'float32' ? new Float32Array(buf)
      : dtype === 'float64' ? new Float64Array(buf)
      : dtype === 'int64' ? new BigInt64Array(buf)
      : dtype === 'int32' ? new Int32Array(buf)
      : new Uint8Array(buf);
    out[name] = tensor(typed as never, raw.shape, { dtype });
  }
  return { tensors: out, metadata };
}

/** Writes tensors (e.g. a module's stateDict()) to a .safetensors file, atomically (temp file, then rename). */
export function saveSafetensors(path: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, tensorsToSafetensors(tensors, metadata));
  renameSync(tmp, path);
}

/** Reads a .safetensors file into new tensors (the caller owns them) and its metadata. */
export function loadSafetensors(path: string): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  return safetensorsToTensors(readFileSync(path), path);
}
