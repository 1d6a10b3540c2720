import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memory, tensor } from '../tensor/index.js';
import { decodeSafetensors, encodeSafetensors, loadSafetensors, safetensorsToTensors, saveSafetensors } from './safetensors.js';
import { TsnasError } from '../errors.js';
import { rawSafetensors } from '../testing/fixtures.js';

test('safetensors layout: u64 LE header length, JSON header, packed data', () => {
  const bytes = encodeSafetensors(
    { b: { dtype: 'F32', shape: [2], data: new Uint8Array(new Float32Array([1, 2]).buffer) }, a: { dtype: 'I64', shape: [1], data: new Uint8Array(new BigInt64Array([7n]).buffer) } },
    { note: 'x' },
  );
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0, 'data is 8-byte aligned');
  const header = JSON.parse(Buffer.from(bytes.slice(8, 8 + n)).toString('utf8'));
  assert.deepEqual(header, { __metadata__: { note: 'x' }, a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } });
  assert.equal(bytes.byteLength, 8 + n + 16);
  assert.deepEqual(Array.from(new Float32Array(bytes.slice(8 + n + 8).buffer)), [1, 2]);
  const back = decodeSafetensors(bytes);
  assert.deepEqual(back.metadata, { note: 'x' });
  assert.deepEqual(back.tensors['b']!.shape, [2]);
  // Truncated files are data errors naming what is wrong.
  assert.throws(() => decodeSafetensors(bytes.slice(0, bytes.byteLength - 4)), (e: unknown) => e instanceof TsnasError && /data_offsets/.test(e.message));
});

test('tensors round-trip through a file with their dtypes, shapes and metadata', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-st-'));
  const before = memory().numTensors;
  try {
    const w = tensor(new Float32Array([0.5, -1, 2, 3.25, 4, 5]), [2, 3]);
    const ids = tensor(new BigInt64Array([1n, -2n]), [2], { dtype: 'int64' });
    const path = join(dir, 'm.safetensors');
    saveSafetensors(path, { 'layer.weight': w, ids }, { arch: 'demo' });
    w.dispose();
    ids.dispose();
    const { tensors, metadata } = loadSafetensors(path);
    assert.equal(metadata['arch'], 'demo');
    assert.deepEqual(tensors['layer.weight']!.shape, [2, 3]);
    assert.deepEqual(tensors['layer.weight']!.toArray(), [0.5, -1, 2, 3.25, 4, 5]);
    assert.equal(tensors['ids']!.dtype, 'int64');
    assert.deepEqual(tensors['ids']!.toArray(), [1, -2]);
    for (const t of Object.values(tensors)) t.dispose();
    assert.ok(readFileSync(path).byteLength > 8 + 24 + 16);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(memory().numTensors, before);
});

test('hostile headers are data errors naming the source and the tensor, and create no tensor', () => {
  const f32 = (shape: unknown, data_offsets: unknown) => ({ dtype: 'F32', shape, data_offsets });
  const cases: [Uint8Array, RegExp][] = [
    [rawSafetensors(null, 0), /header must be a JSON object of tensors, found null/],
    [rawSafetensors([1, 2], 0), /found an array/],
    [rawSafetensors(7, 0), /found number/],
    [rawSafetensors({ a: null }, 0), /tensor "a": expected \{dtype, shape, data_offsets\}, found null/],
    [rawSafetensors({ a: f32([-1], [0, 4]) }, 4), /tensor "a": shape must be a list of integers >= 0, found \[-1\]/],
    [rawSafetensors({ a: f32([1.5], [0, 4]) }, 4), /tensor "a": shape must be .*\[1\.5\]/],
    [rawSafetensors({ a: f32(['2'], [0, 8]) }, 8), /tensor "a": shape must be .*\["2"\]/],
    [rawSafetensors({ a: f32('2', [0, 8]) }, 8), /tensor "a": shape must be .*"2"/],
    [rawSafetensors({ a: f32([1e300], [0, 4]) }, 4), /tensor "a": shape must be/],
    [rawSafetensors({ a: f32([2 ** 40, 2 ** 40, 2 ** 40], [0, 4]) }, 4), /tensor "a": shape \[.*\] of F32 needs more than the 4 data bytes/],
    [rawSafetensors({ a: { dtype: 'F32', shape: [1] } }, 4), /tensor "a": data_offsets must be \[begin, end\].*undefined/],
    [rawSafetensors({ a: f32([1], [0]) }, 4), /data_offsets must be \[begin, end\]/],
    [rawSafetensors({ a: f32([1], [-4, 0]) }, 4), /data_offsets must be \[begin, end\] with integers >= 0, found \[-4,0\]/],
    [rawSafetensors({ a: f32([1], [0, 8]) }, 4), /tensor "a": data_offsets \[0, 8\] are outside the 4 data bytes/],
    [rawSafetensors({ a: f32([1], [4, 0]) }, 4), /tensor "a": data_offsets \[4, 0\] are outside/],
    [rawSafetensors({ a: f32([2], [0, 4]) }, 8), /tensor "a": shape \[2\] of F32 needs 8 bytes, data_offsets \[0, 4\] give 4/],
    [rawSafetensors({ a: f32([2], [0, 8]), b: f32([1], [4, 8]) }, 8), /tensor "b" at \[4, 8\] overlaps the tensor before it, which ends at 8/],
    [rawSafetensors({ a: f32([1], [4, 8]) }, 8), /tensor "a" starts at 4, expected 0/],
    [rawSafetensors({ a: f32([1], [0, 4]) }, 8), /4 bytes after the last tensor/],
    [rawSafetensors({ a: { dtype: 'F16', shape: [1], data_offsets: [0, 2] } }, 2), /tensor "a": unsupported dtype "F16"; expected one of F32/],
    [rawSafetensors({ __metadata__: { n: 1 } }, 0), /__metadata__ must be an object of strings/],
    [new Uint8Array(5), /expected at least 8 bytes/],
    [rawSafetensors({ a: f32([1], [0, 4]) }, 4).slice(0, 20), /header length \d+ runs past the end of the 20-byte file/],
    [rawSafetensors({ a: f32([1], [0, 4]) }, 4).slice(0, -1), /data_offsets \[0, 4\] are outside the 3 data bytes/],
  ];
  const before = memory().numTensors;
  for (const [bytes, message] of cases) {
    assert.throws(() => safetensorsToTensors(bytes, 'w.safetensors'), (e: unknown) => e instanceof TsnasError && e.code === 'data' && /^w\.safetensors: /.test(e.message) && message.test(e.message), String(message));
  }
  assert.equal(memory().numTensors, before);
  // A tensor named __proto__ is a tensor like any other.
  const proto = safetensorsToTensors(rawSafetensors(JSON.parse('{"__proto__": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}'), 4));
  assert.ok(Object.hasOwn(proto.tensors, '__proto__'));
  proto.tensors['__proto__']!.dispose();
  // Empty tensors are fine, whatever their other dimensions.
  const { tensors } = safetensorsToTensors(rawSafetensors({ e: f32([2 ** 50, 0], [0, 0]) }, 0));
  assert.deepEqual(tensors['e']!.shape, [2 ** 50, 0]);
  tensors['e']!.dispose();
});
