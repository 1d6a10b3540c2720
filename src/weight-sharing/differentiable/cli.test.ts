// Weight-sharing searches from the command line, as a user runs them:
// `tsnas search --strategy darts|...` (and its alias `tsnas darts --method`)
// make one stored experiment; progress on stderr, the summary with the
// per-epoch history in the last-line JSON, usage errors with exit code 2
// and nothing stored. Data: a synthetic CIFAR-10 directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticDataset, writeCifar10Dir } from '../../data/synthetic.js';
import { Nb201Table } from '../../benchmarks/nb201.js';
import { lastJson, runTsnas } from '../../testing/cli.js';

const run = (...args: string[]) => {
  const r = runTsnas(args);
  return { ...r, status: r.code };
};

/** A synthetic CIFAR-10 directory and a store in a fresh temporary directory. */
function workspace(seed: number) {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-ws-cli-'));
  writeCifar10Dir(dir, syntheticDataset({ n: 64, height: 32, width: 32, numClasses: 10, seed }), syntheticDataset({ n: 8, height: 32, width: 32, numClasses: 10, seed: seed + 1 }));
  return { dir, storage: `sqlite:${join(dir, 'runs.db')}` };
}

test('tsnas search --strategy pcdarts and tsnas darts --method pcdarts: the same stored run; table accuracy, per-epoch history', () => {
  const { dir, storage } = workspace(1);
  try {
    const common = ['--dataset', `cifar10:${dir}`, '--resolution', '8', '--channels', '4', '--limit-train', '64', '--batch', '16', '--benchmark', 'nb201:cifar10', '--epochs', '2', '--arch-warmup', '0', '--threads', '1', '--storage', storage, '--json'];
    const r = run('search', '--strategy', 'pcdarts', '--name', 'a', ...common);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /epoch 2\/2 \(search\): train/);
    const out = lastJson(r.stdout);
    assert.equal(out.strategy, 'pcdarts');
    assert.equal(out.status, 'finished');
    assert.equal(out.weightSharing.history.length, 2);
    assert.equal(Object.keys(out.weightSharing.alpha).length, 6);
    const found = out.bestArchitecture;
    assert.equal(found.metrics.accuracy, Nb201Table.load().accuracy(found.arch, 'cifar10'));
    const alias = run('darts', '--method', 'pcdarts', '--name', 'b', ...common);
    assert.equal(alias.status, 0, alias.stderr);
    assert.equal(lastJson(alias.stdout).bestArchitecture.arch, found.arch);
    // Usage errors name the flag, exit 2, and store nothing.
    const cases: [string[], RegExp][] = [
      [['--strategy', 'pcdarts', '--space', 'chain'], /--strategy: pcdarts mixes part of the channels of the cell search networks of nb201 and darts \(their default cells\); on chain use darts, darts2 or gdas \(config field strategy\.name\)/],
      [['--strategy', 'gdas', '--space', 'chain', '--strategy.options.skipDropout', '0.2'], /--strategy\.options\.skipDropout: skipDropout is for the cell search networks of nb201 and darts, not the chain supernet/],
      [['--strategy', 'darts', '--space', 'darts', '--benchmark', 'nb201:cifar10'], /--benchmark: estimator kind 'benchmark' \(nb201:cifar10\) is a NAS-Bench-201 table and covers only space nb201/],
      [['--strategy', 'dart'], /--strategy: expected one of random, .*darts, darts2, gdas, pcdarts, beta-darts, drnas, darts-minus, sdarts, proxyless, spos, fairnas, enas, ofa, smash, found "dart"/],
      [['--strategy', 'darts', '--cost', 'watts'], /--cost: expected one of flops, latency, found "watts"/],
      [['--strategy', 'darts', '--epochs', '0'], /--epochs: expected an integer >= 1, found 0/],
      [['--strategy', 'spos', '--parallel', '2'], /--parallel: a weight-sharing run \(spos\) trains one supernet/],
    ];
    for (const [args, message] of cases) {
      const e = run('search', ...args, '--name', 'bad', '--dataset', `cifar10:${dir}`, '--storage', storage);
      assert.equal(e.status, 2, `${args.join(' ')}\n${e.stderr}`);
      assert.match(e.stderr, message);
    }
    const ls = run('ls', '--storage', storage);
    assert.doesNotMatch(ls.stdout, /\bbad\b/, 'a refused config stored nothing');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tsnas search --strategy darts2 with a latency table from tsnas bench latency: the expected latency is a metric of the found cell', () => {
  const { dir, storage } = workspace(3);
  try {
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
    assert.equal(JSON.parse(readFileSync(lut, 'utf8')).entries.length, 15);
    const r = run('search', '--strategy', 'darts2', '--name', 'hw', '--epochs', '2', '--space', 'nb201', '--dataset', `cifar10:${dir}`, '--resolution', '8', '--channels', '4', '--cells', '1',
      '--limit-train', '64', '--batch', '16', '--seed', '1', '--threads', '1', '--cost', `latency:${lut}`, '--cost-lambda', '0.5', '--storage', storage, '--json');
    assert.equal(r.status, 0, r.stderr);
    const out = lastJson(r.stdout);
    assert.ok(out.bestArchitecture.metrics.expected_cost > 0);
    assert.ok(out.weightSharing.history.every((h: { expectedCost: number }) => h.expectedCost > 0));
    const missing = run('search', '--strategy', 'darts', '--name', 'x', '--cost', `latency:${join(dir, 'missing.json')}`, '--dataset', `cifar10:${dir}`, '--storage', storage);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /cannot read the latency table .*missing.json/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tsnas search --strategy ofa|spos on the elastic spaces: found architecture under the limit, its inherited weights as safetensors and ONNX', () => {
  const { dir, storage } = workspace(5);
  try {
    const mobilenet = JSON.stringify({ resolutions: [8, 12], widths: [8, 16], strides: [2, 2], activations: ['relu', 'hswish'], squeezeExcite: [false, true], depths: [1, 2], kernels: [3, 5], expandRatios: [2, 3] });
    const common = ['--dataset', `cifar10:${dir}`, '--resolution', '12', '--limit-train', '64', '--batch', '16', '--seed', '1', '--threads', '1', '--budget', '4', '--storage', storage, '--json'];
    const r = run('search', '--strategy', 'ofa', '--name', 'ofa', '--space', 'mobilenet', '--space-options', mobilenet, '--epochs', '5', '--phase-split', '2,1,1,1', '--max-flops', '1400000', ...common);
    assert.equal(r.status, 0, r.stderr);
    const out = lastJson(r.stdout);
    assert.equal(out.space, 'mobilenet');
    const found = out.bestArchitecture;
    assert.match(found.arch, /^r(8|12)\|/);
    assert.ok(found.metrics.flops <= 1400000 && found.metrics.params > 0, `${found.metrics.flops}`);
    assert.deepEqual(out.weightSharing.history.map((h: { phase: string }) => h.phase), ['full', 'full', 'kernel', 'depth', 'expand']);
    // The found network's inherited weights, beside the store.
    const header = readFileSync(join(dir, 'ofa', 'found.safetensors'));
    assert.equal(JSON.parse(header.subarray(8, 8 + Number(header.readBigUInt64LE(0))).toString('utf8')).__metadata__.arch, found.arch);
    assert.ok(existsSync(join(dir, 'ofa', 'found.onnx')));
    const show = run('show', 'ofa', '--storage', storage, '--json');
    assert.equal(show.status, 0, show.stderr);
    for (const [space, options] of [['chain', '{"maxDepth":2,"filters":[4,8]}'], ['hierarchical', '{"stageCounts":[1,2],"channels":[4,8]}']]) {
      const s = run('search', '--strategy', 'fairnas', '--name', space!, '--space', space!, '--space-options', options!, '--epochs', '1', ...common);
      assert.equal(s.status, 0, s.stderr);
      const spos = lastJson(s.stdout).bestArchitecture;
      assert.equal(spos.metrics.evaluations, 4);
      assert.ok(spos.metrics.flops > 0 && spos.metrics.supernet_accuracy >= 0);
    }
    const cases: [string[], RegExp][] = [
      [['--strategy', 'ofa', '--space', 'nb201'], /--space: Once-for-All progressive shrinking needs the elastic mobilenet supernet/],
      [['--strategy', 'ofa', '--space', 'mobilenet', '--epochs', '3'], /3 epochs split 1,1,1,1 leave the expand phase without an epoch/],
      [['--strategy', 'ofa', '--space', 'mobilenet', '--phase-split', '0,1,1,1'], /the full phase needs a positive share/],
      [['--strategy', 'enas', '--max-flops', '100'], /--max-flops: ENAS samples from its controller and takes no resource limit/],
      [['--strategy', 'spos', '--space', 'chain', '--space-options', '{"depth":3}'], /--space-options: unknown option of space chain/],
      [['--strategy', 'ofa', '--space', 'mobilenet', '--space-options', mobilenet, '--max-flops', '1000'], /no sub-network meets .*1000/],
    ];
    for (const [args, message] of cases) {
      const e = run('search', ...args, '--name', 'bad', ...common.slice(0, 4), '--storage', storage);
      assert.equal(e.status, 2, `${args.join(' ')}\n${e.stderr}`);
      assert.match(e.stderr, message);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
