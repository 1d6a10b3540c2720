import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { lastJson, runTsnas } from '../testing/cli.js';
import { Nb201Benchmark, expectedBestOfRandom } from './nb201.js';
import { hypervolumeRatio, parseSeeds, runBenchmarkSearch } from './harness.js';
import { regretPlotSvg } from './plot.js';

const cifar10 = new Nb201Benchmark('cifar10');
const seeds = parseSeeds('0-99');

test('seeds parse from ranges, single values and lists', () => {
  assert.deepEqual(parseSeeds('3-5'), [3, 4, 5]);
  assert.deepEqual(parseSeeds('7'), [7]);
  assert.deepEqual(parseSeeds('1,4,2'), [1, 4, 2]);
  assert.throws(() => parseSeeds('5-3'), /A-B/);
  assert.throws(() => parseSeeds('x'), /A-B/);
});

test('random search over 100 seeds is within 0.05 of the exact expectation', () => {
  const { summary, runs } = runBenchmarkSearch({ benchmark: cifar10, strategy: 'random', budget: 100, seeds });
  const exact = expectedBestOfRandom(cifar10.table.values('cifar10'), 100);
  assert.ok(Math.abs(summary.final_mean - exact) < 0.05, `${summary.final_mean} vs ${exact}`);
  assert.equal(summary.curve_mean.length, 100);
  for (const r of runs) for (let q = 1; q < r.curve.length; q++) assert.ok(r.curve[q]! >= r.curve[q - 1]!);
  assert.equal(summary.seeds, 100);
});

test('regularized evolution and local search reach 94.15 at 100 queries (CIFAR-10, 100 seeds)', () => {
  for (const strategy of ['evolution', 'local'] as const) {
    const { summary } = runBenchmarkSearch({ benchmark: cifar10, strategy, budget: 100, seeds });
    assert.ok(summary.final_mean >= 94.15, `${strategy}: ${summary.final_mean}`);
  }
});

test('NSGA-II reaches a hypervolume ratio of 0.98 at 300 queries; the whole table has ratio 1', () => {
  const all = cifar10.points(['accuracy', 'params']);
  assert.equal(hypervolumeRatio(all, all), 1);
  const { summary } = runBenchmarkSearch({ benchmark: cifar10, strategy: 'nsga2', budget: 300, seeds: seeds.slice(0, 30), objectives: ['accuracy', 'params'] });
  assert.ok(summary.hypervolume_ratio! >= 0.98 && summary.hypervolume_ratio! <= 1, String(summary.hypervolume_ratio));
});

test('scalarised search trades accuracy for fewer parameters', () => {
  const plain = runBenchmarkSearch({ benchmark: cifar10, strategy: 'evolution', budget: 100, seeds: seeds.slice(0, 10) });
  const penalised = runBenchmarkSearch({
    benchmark: cifar10, strategy: 'evolution', budget: 100, seeds: seeds.slice(0, 10), objectives: ['accuracy', 'params'], lambdas: [5],
  });
  assert.ok(penalised.summary.final_mean < plain.summary.final_mean - 0.1, `${penalised.summary.final_mean} vs ${plain.summary.final_mean}`);
});

test('the regret plot is a well-formed SVG with one curve per series', () => {
  const svg = regretPlotSvg([{ label: 'a<b', curve: [90, 93, 94.3733] }, { label: 'b', curve: [91, 92, 93], dashed: true }], { title: 't', optimum: 94.3733 });
  assert.ok(svg.startsWith('<svg') && svg.trim().endsWith('</svg>'));
  assert.equal(svg.match(/<polyline/g)?.length, 2);
  assert.ok(svg.includes('a&lt;b'));
  assert.ok(!svg.includes('NaN'));
});

test('tsnas bench search prints the summary as the last JSON line and rejects bad flags with exit code 2', () => {
  const ok = runTsnas(['bench', 'search', '--space', 'nb201', '--benchmark', 'nb201:cifar100', '--strategy', 'evolution', '--budget', '20', '--seeds', '0-4', '--json', '--quiet']);
  assert.equal(ok.code, 0, ok.stderr);
  const last = lastJson(ok);
  assert.deepEqual(Object.keys(last), ['strategy', 'dataset', 'budget', 'seeds', 'final_mean', 'final_std', 'optimum_rate', 'curve_mean']);
  assert.equal(last.dataset, 'cifar100');
  assert.equal(last.seeds, 5);
  assert.equal(last.curve_mean.length, 20);
  const plotPath = join(mkdtempSync(join(tmpdir(), 'tsnas-search-')), 'regret.svg');
  const two = runTsnas(['bench', 'search', '--benchmark', 'nb201:imagenet16_120', '--strategy', 'random,local', '--budget', '10', '--seeds', '1,2', '--plot', plotPath, '--json', '--quiet']);
  assert.equal(two.code, 0, two.stderr);
  const both = lastJson(two);
  assert.deepEqual(both.strategies.map((x: { strategy: string }) => x.strategy), ['random', 'local']);
  // Two strategies plus random search's exact expectation.
  assert.equal(readFileSync(plotPath, 'utf8').match(/<polyline/g)?.length, 3);
  rmSync(dirname(plotPath), { recursive: true, force: true });
  const bad = runTsnas(['bench', 'search', '--benchmark', 'nb201:cifar10', '--strategy', 'evolution', '--budgett', '5']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--budgett/);
});
