import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memory, tensor } from '../tensor/index.js';
import { decodeSafetensors, encodeSafetensors, loadSafetensors, saveSafetensors } from './safetensors.js';
import { TsnasError } from '../errors.js';

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
