// The shared test helpers themselves: a comparison that fails where it
// should, and a CLI runner that reports exit codes and kills on timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memory, tensor, tidy } from '../tensor/index.js';
import { assertClose } from './assert.js';
import { lastJson, runTsnas } from './cli.js';

test('assertClose: within atol + rtol |expected| passes; otherwise names the worst element', () => {
  assertClose([1, 2.00001, NaN], [1, 2, NaN], 'close');
  assertClose([1.05, 2], [1, 2], 'loose', 0.1, 0);
  assert.throws(() => assertClose([1, 2.1, 3.5], [1, 2, 3], 'far'), /far: element 2 is 3\.5, expected 3/);
  assert.throws(() => assertClose([NaN], [1], 'nan'), /nan: element 0 is NaN/);
  assert.throws(() => assertClose([1], [NaN], 'expected nan'), /expected nan: element 0/);
  assert.throws(() => assertClose([1, 2], [1, 2, 3], 'short'), /short: length/);
  const before = memory().numTensors;
  tidy(() => {
    assertClose(tensor([1, 2, 3, 4], [2, 2]), { shape: [2, 2], data: [1, 2, 3, 4] }, 'fixture');
    assert.throws(() => assertClose(tensor([1, 2, 3, 4], [2, 2]), { shape: [4], data: [1, 2, 3, 4] }, 'shaped'), /shaped: shape/);
    // int64 tensors read back as bigints: compared exactly with numbers or bigints.
    assertClose(tensor([3, 4], [2], { dtype: 'int64' }), [3, 4], 'int64');
    assert.throws(() => assertClose(tensor([3, 4], [2], { dtype: 'int64' }), [3, 5], 'int64 off', 0.5, 1), /int64 off: element 1 is 4, expected 5/);
  });
  assert.equal(memory().numTensors, before);
});

test('runTsnas: exit code and output of the CLI; killed and noted past its timeout', () => {
  const bad = runTsnas(['no-such-command']);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /no-such-command/);
  const info = runTsnas(['space', 'info', '--space', 'nb201', '--json']);
  assert.equal(info.code, 0, info.stderr);
  assert.equal(lastJson(info.stdout).size, '15625');
  const killed = runTsnas(['--help'], {}, { timeoutMs: 1 });
  assert.equal(killed.code, null);
  assert.equal(killed.signal, 'SIGKILL');
  assert.match(killed.stderr, /killed after 1 ms/);
});
