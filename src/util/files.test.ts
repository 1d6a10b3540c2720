import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TsnasError } from '../errors.js';
import { checkOutputFile, readFileChecked, writeFileAtomic } from './files.js';

const fails = (f: () => unknown, code: string, message: RegExp) =>
  assert.throws(f, (e: unknown) => e instanceof TsnasError && e.code === code && message.test(e.message));

test('writeFileAtomic replaces the file whole and leaves no temporary file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-files-'));
  try {
    const path = join(dir, 'out.txt');
    writeFileAtomic(path, 'first');
    writeFileAtomic(path, new Uint8Array([104, 105]));
    assert.equal(readFileSync(path, 'utf8'), 'hi');
    assert.deepEqual(readdirSync(dir), ['out.txt']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeFileAtomic writes into a pipe or device in place instead of renaming a file over it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-files-'));
  try {
    const fifo = join(dir, 'pipe');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const reader = spawn('sh', ['-c', `cat "${fifo}" > "${join(dir, 'got.txt')}"`]);
    const done = new Promise((resolve) => reader.on('exit', resolve));
    writeFileAtomic(fifo, 'through the pipe');
    await done;
    assert.ok(statSync(fifo).isFIFO());
    assert.equal(readFileSync(join(dir, 'got.txt'), 'utf8'), 'through the pipe');
    assert.deepEqual(readdirSync(dir).sort(), ['got.txt', 'pipe']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('output paths: a missing directory, a file as directory, a directory as file are usage errors naming where', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-files-'));
  try {
    const file = join(dir, 'f');
    writeFileSync(file, 'x');
    mkdirSync(join(dir, 'sub'));
    fails(() => checkOutputFile(join(dir, 'no', 'x.onnx'), '--onnx'), 'usage', /^--onnx: directory .*no does not exist/);
    fails(() => checkOutputFile(join(file, 'x.onnx'), '--onnx'), 'usage', /^--onnx: .*f is not a directory/);
    fails(() => checkOutputFile(join(file, 'x', 'y.onnx'), '--onnx'), 'usage', /^--onnx: directory .*f\/x does not exist/);
    fails(() => checkOutputFile(join(dir, 'sub'), '--out'), 'usage', /^--out: .*sub is a directory; expected a file name/);
    fails(() => writeFileAtomic(join(dir, 'sub'), 'x'), 'usage', /sub: is a directory/);
    fails(() => writeFileAtomic(join(dir, 'no', 'x'), 'x', '--plot'), 'usage', /^--plot: directory/);
    checkOutputFile(file, '--out'); // an existing file may be replaced
    assert.deepEqual(readdirSync(dir).sort(), ['f', 'sub'], 'nothing created');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readFileChecked: a missing file and a directory are data errors naming the path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-files-'));
  try {
    fails(() => readFileChecked(join(dir, 'absent')), 'data', /absent: file not found/);
    fails(() => readFileChecked(dir), 'data', /: expected a file, found a directory/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
