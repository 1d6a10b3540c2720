// `tsnas search --strategy darts|...` and its alias `tsnas darts --method`
// as a user runs them: the last-line JSON, progress on stderr, usage errors
// with exit code 2. Data: a synthetic CIFAR-10 directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticDataset, writeCifar10Dir } from '../../data/synthetic.js';
import { Nb201Table } from '../../benchmarks/nb201.js';
import { lastJson, runTsnas } from '../../testing/cli.js';

const run = (...args: string[]) => runTsnas(args);
const tsnas = (...args: string[]) => run('darts', ...args);

/** Each command line (after `tsnas <command>`) exits 2 with a message matching its pattern. */
function assertUsageErrors(command: string, cases: [string[], RegExp][]): void {
  for (const [args, message] of cases) {
    const r = run(command, ...args);
    assert.equal(r.status, 2, `${args.join(' ')}\n${r.stderr}`);
    assert.match(r.stderr, message);
  }
}

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
  assertUsageErrors('darts', cases);
});

test('tsnas search --strategy: the weight-sharing form (table accuracy, latency cost from tsnas bench latency)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-search-ws-'));
  try {
    const train = syntheticDataset({ n: 64, height: 32, width: 32, numClasses: 10, seed: 3 });
    const test = syntheticDataset({ n: 8, height: 32, width: 32, numClasses: 10, seed: 4 });
    writeCifar10Dir(dir, train, test);
    const lut = join(dir, 'lut.json');
    const b = run('bench', 'latency', '--space', 'nb201', '--channels', '4', '--cells', '1', '--resolution', '8', '--repeats', '3', '--threads', '1', '--clock', 'cpu', '--validate', '4', '--out', lut, '--json');
    assert.equal(b.status, 0, b.stderr);
    const bench = lastJson(b.stdout);
    assert.equal(bench.entries, 15);
    const twoThreads = run('bench', 'latency', '--clock', 'cpu', '--threads', '2', '--out', join(dir, 'x.json'));
    assert.equal(twoThreads.status, 2);
    assert.match(twoThreads.stderr, /--clock: CPU time adds up the threads' time/);
    assert.equal(bench.validation.cells.length, 4);
    assert.ok(bench.validation.spearman >= -1 && bench.validation.spearman <= 1 && bench.validation.mean_relative_error >= 0);
    assert.ok(bench.validation.cells.every((c: { predicted_ms: number; measured_ms: number }) => c.predicted_ms > 0 && c.measured_ms > 0));
    assert.equal(JSON.parse(readFileSync(lut, 'utf8')).entries.length, 15);
    const common = ['--space', 'nb201', '--dataset', `cifar10:${dir}`, '--resolution', '8', '--channels', '4', '--cells', '1', '--limit-train', '64', '--batch', '16', '--seed', '1', '--threads', '1'];
    const r = run('search', '--strategy', 'darts2', '--epochs', '2', ...common, '--benchmark', 'nb201:cifar10', '--cost', `latency:${lut}`, '--cost-lambda', '0.5', '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /epoch 2: train/);
    const out = lastJson(r.stdout);
    assert.equal(out.method, 'darts2');
    assert.equal(out.epochs, 2);
    assert.equal(out.benchmark_accuracy, Nb201Table.load().accuracy(out.arch, 'cifar10'));
    assert.ok(out.seconds > 0 && out.peak_rss_mb > 0);
    assert.equal(out.cost, `latency:${lut}`);
    assert.ok(out.expected_cost > 0 && out.predicted_latency_ms > 0);
    // The alias gives the same search (same seed, one thread).
    const alias = tsnas('--method', 'darts2', '--epochs', '2', ...common, '--benchmark', 'nb201:cifar10', '--cost', `latency:${lut}`, '--cost-lambda', '0.5', '--json');
    assert.equal(alias.status, 0, alias.stderr);
    assert.equal(lastJson(alias.stdout).arch, out.arch);
    // Usage errors name the flag, exit 2.
    const cases: [string[], RegExp][] = [
      [['--strategy', 'gdas', '--space', 'chain'], /--space: expected one of nb201, darts, got 'chain'/],
      [['--strategy', 'darts', '--space', 'darts', '--benchmark', 'nb201:cifar10'], /--benchmark: the nb201 benchmark needs --space nb201/],
      [['--strategy', 'darts,random'], /--strategy: a weight-sharing strategy runs alone/],
      [['--strategy', 'dart'], /--strategy: expected one of random, .* \(multi-trial\) or darts, darts2, gdas, pcdarts, spos, enas, ofa \(weight-sharing\), got 'dart'/],
      [['--strategy', 'darts', '--space', 'darts', '--cost', `latency:${lut}`], /--cost: the latency table .* was measured for the nb201 space, but the search is on 'darts'/],
      [['--strategy', 'darts', '--cost', 'watts'], /--cost: expected flops or latency:<table.json>, got 'watts'/],
      [['--strategy', 'darts', '--cost', `latency:${join(dir, 'missing.json')}`], /cannot read the latency table .*missing.json/],
      [['--strategy', 'spos', '--ranking', '5'], /--ranking: --ranking needs --strategy spos or enas and --benchmark/],
    ];
    assertUsageErrors('search', cases);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tsnas search --strategy spos|ofa on the elastic spaces: found architecture, its cost, the exported network; usage errors exit 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-search-ofa-'));
  try {
    const train = syntheticDataset({ n: 64, height: 32, width: 32, numClasses: 10, seed: 5 });
    const test = syntheticDataset({ n: 8, height: 32, width: 32, numClasses: 10, seed: 6 });
    writeCifar10Dir(dir, train, test);
    const mobilenet = JSON.stringify({ resolutions: [8, 12], widths: [8, 16], strides: [2, 2], activations: ['relu', 'hswish'], squeezeExcite: [false, true], depths: [1, 2], kernels: [3, 5], expandRatios: [2, 3] });
    const common = ['--dataset', `cifar10:${dir}`, '--resolution', '12', '--limit-train', '64', '--batch', '16', '--seed', '1', '--threads', '1', '--budget', '4', '--json'];
    const exported = join(dir, 'found.safetensors');
    // No --space: ofa's supernet is mobilenet's.
    const r = run('search', '--strategy', 'ofa', '--space-options', mobilenet, '--epochs', '5', '--phase-split', '2,1,1,1', '--max-flops', '1400000', '--export', exported, ...common);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /phase full \(epochs 1-2\): largest [\d.]+%, smallest [\d.]+%/);
    assert.match(r.stderr, /phase expand \(epochs 5-5\)/);
    const out = lastJson(r.stdout);
    assert.equal(out.method, 'ofa');
    assert.equal(out.space, 'mobilenet');
    assert.match(out.arch, /^r(8|12)\|/);
    assert.ok(out.flops <= 1400000 && out.params > 0, `${out.flops}`);
    assert.deepEqual(out.history.map((h: { phase: string }) => h.phase), ['full', 'full', 'kernel', 'depth', 'expand']);
    assert.equal(out.phases.length, 4);
    assert.equal(out.export, exported);
    const header = readFileSync(exported);
    const meta = JSON.parse(header.subarray(8, 8 + Number(header.readBigUInt64LE(0))).toString('utf8')).__metadata__;
    assert.equal(meta.arch, out.arch);
    for (const [space, options] of [['chain', '{"maxDepth":2,"filters":[4,8]}'], ['hierarchical', '{"stageCounts":[1,2],"channels":[4,8]}']]) {
      const s = run('search', '--strategy', 'spos', '--space', space!, '--space-options', options!, '--epochs', '1', '--sampling', 'strict-fair', ...common);
      assert.equal(s.status, 0, s.stderr);
      const found = lastJson(s.stdout);
      assert.equal(found.space, space);
      assert.equal(found.evaluations, 4);
      assert.ok(found.flops > 0 && found.supernet_accuracy >= 0);
    }
    const cases: [string[], RegExp][] = [
      [['--strategy', 'ofa', '--space', 'nb201'], /--space: Once-for-All progressive shrinking needs the elastic mobilenet supernet \(--space mobilenet\), got 'nb201'/],
      [['--strategy', 'ofa', '--space', 'mobilenet', '--epochs', '3'], /--phase-split: 3 epochs split 1,1,1,1 leave the expand phase without an epoch/],
      [['--strategy', 'ofa', '--space', 'mobilenet', '--phase-split', '0,1,1,1'], /--phase-split: the full phase needs a positive share/],
      [['--strategy', 'ofa', '--space', 'mobilenet', '--phase-split', '1,2'], /--phase-split: expected 4 comma-separated shares/],
      [['--strategy', 'spos', '--phase-split', '1,1,1,1'], /--phase-split: only --strategy ofa has progressive-shrinking phases/],
      [['--strategy', 'darts', '--space', 'mobilenet'], /--space: expected one of nb201, darts, got 'mobilenet'/],
      [['--strategy', 'enas', '--max-flops', '100'], /--max-flops: resource limits steer the evolutionary search of --strategy spos and ofa/],
      [['--strategy', 'spos', '--export', exported], /--export: .*got 'nb201'/],
      [['--strategy', 'spos', '--space', 'chain', '--space-options', '{"depth":3}'], /--space-options: unknown option 'depth' of the chain space, expected one of minDepth/],
      [['--strategy', 'spos', '--space', 'nb201', '--space-options', '{}'], /--space-options: the nb201 space has no options/],
      [['--strategy', 'ofa', '--space', 'mobilenet', '--space-options', mobilenet, '--max-flops', '1000', ...common.slice(0, 4)], /--max-flops: no sub-network meets --max-flops 1000: the smallest \(r8\|k3e2\|k3e2\) has \d+ FLOPs/],
    ];
    assertUsageErrors('search', cases);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
