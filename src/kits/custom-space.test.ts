// examples/custom-space.mjs, run as a user would (node, importing 'tsnas'):
// a space defined and registered in that one file goes through a stored
// training search in worker threads, a proxies search, stored DARTS and SPOS
// searches on its supernet, the cost model, a drawing and an ONNX export.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const ARCH = /^conv[35]\/(8|16)( conv[35]\/(8|16)){0,2}$/;

test('examples/custom-space.mjs: a space of its own runs through every part of tsnas and prints one JSON line', () => {
  const r = spawnSync(process.execPath, ['examples/custom-space.mjs'], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `exit ${r.status}: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `one line of stdout, got: ${r.stdout}`);
  const out = JSON.parse(lines[0]!);
  // 1 to 3 blocks of 2 ops × 2 widths: 4 + 16 + 64.
  assert.deepEqual(out.space, { name: 'tinyconv', size: 84, arch: 'conv3/8 conv5/16' });
  // Trained in worker threads, which imported the example to know the space.
  assert.equal(out.training.length, 2);
  for (const t of out.training) {
    assert.equal(t.state, 'complete', JSON.stringify(t));
    assert.match(t.arch, ARCH);
    assert.ok(t.accuracy >= 0 && t.accuracy <= 1, `accuracy ${t.accuracy}`);
  }
  assert.equal(out.proxies.length, 3);
  for (const t of out.proxies) {
    assert.equal(t.state, 'complete', JSON.stringify(t));
    assert.ok(Number.isFinite(t.synflow) && t.synflow > 0 && Number.isFinite(t.snip), JSON.stringify(t));
  }
  // Weight-sharing searches as stored experiments, each ending in one trial scored by the supernet.
  for (const ws of [out.spos, out.darts]) {
    assert.equal(ws.state, 'complete', JSON.stringify(ws));
    assert.match(ws.arch, ARCH);
    assert.ok(ws.metrics.supernet_accuracy >= 0 && ws.metrics.supernet_accuracy <= 1, JSON.stringify(ws));
  }
  assert.equal(out.spos.metrics.evaluations, 6);
  assert.ok(out.spos.metrics.params > 0);
  // One α per label: depth, and each block's op and width; the found architecture is the last epoch's.
  assert.equal(out.darts.alphas, 1 + 2 * 3);
  assert.equal(out.darts.metrics.supernet_epochs, 2);
  assert.equal(out.darts.arch, out.darts.last_epoch_arch);
  // conv3 1→8 (72) + BN (16) + conv5 8→16 (3200) + BN (32) + linear 16→10 (170).
  assert.deepEqual(out.cost, { params: 3490, flops: 12 * 12 * (9 * 8 + 25 * 8 * 16) + 170, network_params: 3490 });
  assert.ok(out.drawing.has_blocks && out.drawing.svg_bytes > 0);
  assert.deepEqual(out.onnx.output_shape, [3, 10]);
  assert.ok(out.onnx.max_abs_diff < 1e-4, `onnxruntime differs by ${out.onnx.max_abs_diff}`);
  assert.equal(out.leaked_tensors, 0);
});
