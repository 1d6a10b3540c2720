// `tsnas darts` as a user runs it: the last-line JSON, progress on stderr,
// usage errors with exit code 2. Data: a synthetic CIFAR-10 directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { syntheticDataset, writeCifar10Dir } from '../../data/synthetic.js';
import { Nb201Table } from '../../benchmarks/nb201.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const tsnas = (...args: string[]) => spawnSync(process.execPath, ['bin/tsnas.js', 'darts', ...args], { cwd: root, encoding: 'utf8' });

test('tsnas darts: searches, reports per-epoch progress and the table accuracy of the found cell', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-darts-'));
  try {
    const train = syntheticDataset({ n: 64, height: 32, width: 32, numClasses: 10, seed: 1 });
    const test = syntheticDataset({ n: 8, height: 32, width: 32, numClasses: 10, seed: 2 });
    writeCifar10Dir(dir, train, test);
    const common = ['--dataset', `cifar10:${dir}`, '--resolution', '8', '--channels', '4', '--limit-train', '64', '--batch', '16', '--benchmark', 'nb201:cifar10', '--json'];
    const r = tsnas('--method', 'pcdarts', '--epochs', '2', '--arch-warmup', '0', ...common);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /epoch 2: train/);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    assert.equal(out.method, 'pcdarts');
    assert.equal(out.epochs, 2);
    assert.equal(out.history.length, 2);
    assert.equal(out.benchmark_accuracy, Nb201Table.load().accuracy(out.arch, 'cifar10'));
    assert.ok(out.peak_rss_mb > 0 && out.seconds > 0);
    const s = tsnas('--method', 'spos', '--epochs', '1', '--budget', '4', '--ranking', '4', ...common);
    assert.equal(s.status, 0, s.stderr);
    const spos = JSON.parse(s.stdout.trim().split('\n').at(-1)!);
    assert.equal(spos.evaluations, 4);
    assert.equal(spos.ranking_cells, 4);
    assert.ok(spos.kendall_tau >= -1 && spos.kendall_tau <= 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tsnas darts: usage errors name the flag and exit 2', () => {
  const cases: [string[], RegExp][] = [
    [['--method', 'nope'], /--method: expected one of darts, darts2, gdas, pcdarts, spos, enas/],
    [['--space', 'darts', '--benchmark', 'nb201:cifar10'], /--benchmark: the nb201 benchmark needs --space nb201/],
    [['--ranking', '10', '--method', 'darts'], /--ranking: /],
  ];
  for (const [args, message] of cases) {
    const r = tsnas(...args);
    assert.equal(r.status, 2, `${args.join(' ')}\n${r.stderr}`);
    assert.match(r.stderr, message);
  }
});
