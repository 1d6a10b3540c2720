// The safetensors format (as written by Hugging Face's safetensors): an
// 8-byte little-endian header length N, N bytes of JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}},
// then the raw little-endian tensor bytes, offsets relative to the end of
// the header. Keys are written sorted, data packed in that order.
import { dataError } from '../errors.js';
import { tensor, type Tensor } from '../tensor/index.js';
import type { DType } from '../tensor/native.js';
import { readFileChecked, writeFileAtomic } from '../util/files.js';

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

/** Where one tensor's bytes are, once its header entry is checked. */
interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

const isNatural = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** One header entry, checked against the data's length: dtype, shape and offsets that agree. */
function checkEntry(name: string, info: unknown, dataBytes: number, where: string): Entry {
  const fail = (why: string) => dataError(`tensor "${name}": ${why}`, where);
  if (typeof info !== 'object' || info === null || Array.isArray(info)) throw fail(`expected {dtype, shape, data_offsets}, found ${JSON.stringify(info)}`);
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  const kind = typeof dtype === 'string' ? FROM_NAMES[dtype] : undefined;
  if (!kind) throw fail(`unsupported dtype ${JSON.stringify(dtype)}; expected one of ${Object.keys(FROM_NAMES).join(', ')}`);
  if (!Array.isArray(shape) || !shape.every(isNatural)) throw fail(`shape must be a list of integers >= 0, found ${JSON.stringify(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNatural)) {
    throw fail(`data_offsets must be [begin, end] with integers >= 0, found ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataBytes) throw fail(`data_offsets [${begin}, ${end}] are outside the ${dataBytes} data bytes`);
  // Multiplying in order, stopping once past the data, keeps huge shapes from overflowing.
  let count = shape.includes(0) ? 0 : 1;
  for (const d of count === 0 ? [] : shape) {
    count *= d;
    if (count * kind.bytes > dataBytes) throw fail(`shape [${shape}] of ${dtype} needs more than the ${dataBytes} data bytes of the file`);
  }
  if (end - begin !== count * kind.bytes) throw fail(`shape [${shape}] of ${dtype} needs ${count * kind.bytes} bytes, data_offsets [${begin}, ${end}] give ${end - begin}`);
  return { name, dtype: dtype as string, shape: shape as number[], begin, end };
}

/**
 * Decodes safetensors bytes. The whole header is checked before any data is
 * copied: a JSON object of entries with known dtypes, shapes of integers,
 * offsets that match dtype x shape and pack the data without gaps, overlaps
 * or trailing bytes, and string metadata. Anything else is a data error
 * naming `where`.
 */
export function decodeSafetensors(bytes: Uint8Array, where = 'safetensors'): { tensors: Record<string, RawTensor>; metadata: Record<string, string> } {
  if (bytes.byteLength < 8) throw dataError(`expected at least 8 bytes (the header length), found ${bytes.byteLength}; truncated or not a safetensors file`, where);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(bytes.byteLength - 8)) throw dataError(`header length ${n} runs past the end of the ${bytes.byteLength}-byte file; truncated or not a safetensors file`, where);
  const start = 8 + Number(n);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, start - 8).toString('utf8'));
  } catch (e) {
    throw dataError(`header is not JSON: ${(e as Error).message}`, where);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw dataError(`header must be a JSON object of tensors, found ${header === null ? 'null' : Array.isArray(header) ? 'an array' : typeof header}`, where);
  }
  const { __metadata__: metadata = {}, ...infos } = header as Record<string, unknown>;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata) || !Object.values(metadata).every((v) => typeof v === 'string')) {
    throw dataError('__metadata__ must be an object of strings', where);
  }
  const dataBytes = bytes.byteLength - start;
  const entries = Object.entries(infos).map(([name, info]) => checkEntry(name, info, dataBytes, where));
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const e of byOffset) {
    if (e.begin < expected) throw dataError(`tensor "${e.name}" at [${e.begin}, ${e.end}] overlaps the tensor before it, which ends at ${expected}`, where);
    if (e.begin > expected) throw dataError(`tensor "${e.name}" starts at ${e.begin}, expected ${expected} (data must be packed without gaps)`, where);
    expected = e.end;
  }
  if (expected !== dataBytes) throw dataError(`${dataBytes - expected} bytes after the last tensor`, where);
  // fromEntries defines each name as an own property: a tensor named "__proto__" stays a tensor.
  const tensors = Object.fromEntries(entries.map((e) => [e.name, { dtype: e.dtype, shape: e.shape, data: bytes.slice(start + e.begin, start + e.end) }]));
  return { tensors, metadata: metadata as Record<string, string> };
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
  const toTensor = (raw: RawTensor): Tensor => {
    const { dtype } = FROM_NAMES[raw.dtype]!;
    const buf = raw.data.buffer.slice(raw.data.byteOffset, raw.data.byteOffset + raw.data.byteLength);
    const typed =
      dtype === 'float32' ? new Float32Array(buf)
      : dtype === 'float64' ? new Float64Array(buf)
      : dtype === 'int64' ? new BigInt64Array(buf)
      : dtype === 'int32' ? new Int32Array(buf)
      : new Uint8Array(buf);
    return tensor(typed as never, raw.shape, { dtype });
  };
  const out = Object.fromEntries(Object.entries(tensors).map(([name, raw]) => [name, toTensor(raw)]));
  return { tensors: out, metadata };
}

/** Writes tensors (e.g. a module's stateDict()) to a .safetensors file, atomically (temp file, then rename). */
export function saveSafetensors(path: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, tensorsToSafetensors(tensors, metadata));
}

/** Reads a .safetensors file into new tensors (the caller owns them) and its metadata. */
export function loadSafetensors(path: string): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  return safetensorsToTensors(readFileChecked(path), path);
}
