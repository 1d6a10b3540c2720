// The CLI as a user runs it: exit codes, messages, and the last-line JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTsnas } from '../testing/cli.js';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const ARCH = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';

const tsnas = (...args: string[]) => runTsnas(args);

test('usage errors name the argument and exit with code 2', () => {
  const cases: [string[], RegExp][] = [
    [['train', '--arch', ARCH, '--epochs', 'two'], /--epochs: expected an integer, got 'two'/],
    [['train', '--arch', ARCH, '--frobnicate'], /--frobnicate: unknown flag/],
    [['train'], /--arch: is required/],
    [['train', '--arch', '|nor_conv_3x3~0|+|conv~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|'],
      /at position 19: found 'conv'/],
    [['train', '--arch', ARCH, '--dataset', 'mnist'], /unknown dataset "mnist"/],
    [['train', '--arch', ARCH, '--threads', '0'], /--threads: expected a value >= 1, got 0/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ];
  for (const [args, message] of cases) {
    const r = tsnas(...args);
    assert.equal(r.code, 2, `${args.join(' ')} exits 2\n${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

test('a corrupt data file is a data error naming the file, exit code 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-cli-'));
  try {
    writeFileSync(join(dir, 'data_batch_1.bin'), Buffer.alloc(3000));
    writeFileSync(join(dir, 'test_batch.bin'), Buffer.alloc(3073));
    const r = tsnas('train', '--arch', ARCH, '--dataset', `cifar10:${dir}`);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /data_batch_1\.bin/);
    assert.match(r.stderr, /expected a multiple of 3073 bytes.*found 3000/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--help lists the commands and flags', () => {
  const r = tsnas('--help');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /train/);
  const t = tsnas('train', '--help');
  assert.equal(t.code, 0);
  assert.match(t.stdout, /--limit-train/);
});

test('the issue target: a one-cell NB201 network reaches 0.85 on Fashion-MNIST in 2 epochs', { timeout: 600_000 }, () => {
  const r = tsnas('train', '--space', 'nb201', '--arch', ARCH, '--dataset', 'fashion-mnist', '--channels', '8', '--cells', '1',
    '--epochs', '2', '--limit-train', '20000', '--threads', '2', '--json');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const result = JSON.parse(lines.at(-1)!);
  assert.ok(result.test_accuracy >= 0.85, `test accuracy ${result.test_accuracy}`);
  assert.equal(typeof result.params, 'number');
  assert.ok(result.seconds > 0);
  assert.match(r.stderr, /train \[#+\] .* epoch 2\/2 loss/, 'progress goes to stderr');
});

test('npx tsnas runs the CLI from a set-up checkout', () => {
  const r = spawnSync('npx', ['--no-install', 'tsnas', '--help'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /usage: tsnas <command>/);
});
