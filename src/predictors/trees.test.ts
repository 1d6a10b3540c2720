import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nb201Space } from '../spaces/nb201.js';
import { spearman } from '../util/stats.js';
import { Rng } from '../util/random.js';
import { graphFeatureNames, graphFeatures, MISSING_PROXY_FEATURE, proxyFeatureRows } from './features.js';
import { BoostedTrees, BoostedTreesPredictor, tabularFeatures } from './trees.js';
import { createPredictor } from './index.js';

const space = nb201Space();

test('graph features of a hand-checked NB201 cell', () => {
  // Edges: 0→1 conv3, 0→2 skip, 1→2 none, 0→3 conv1, 1→3 conv3, 2→3 avg_pool.
  const s = space.parse('|nor_conv_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|nor_conv_3x3~1|avg_pool_3x3~2|');
  const f = Object.fromEntries(graphFeatureNames(space, s).map((n, i) => [n, graphFeatures(space, s)[i]]));
  assert.deepEqual(f, {
    'cell.count.none': 1, 'cell.count.skip_connect': 1, 'cell.count.nor_conv_1x1': 1, 'cell.count.nor_conv_3x3': 2, 'cell.count.avg_pool_3x3': 1,
    // Paths (none cuts 1→2): 0→1→3 [conv3, conv3], 0→2→3 [skip, avg], 0→3 [conv1].
    'cell.maxOnPath.skip_connect': 1, 'cell.maxOnPath.nor_conv_1x1': 1, 'cell.maxOnPath.nor_conv_3x3': 2, 'cell.maxOnPath.avg_pool_3x3': 1,
    'cell.paths': 3, 'cell.longestPath': 2, 'cell.shortestPath': 1,
    'cell.depth.1': 1, 'cell.depth.2': 1, 'cell.depth.3': 2,
  });
  // An output cut off by 'none' everywhere: no path, unreachable nodes at depth -1.
  const cut = space.parse('|none~0|+|none~0|none~1|+|none~0|none~1|none~2|');
  const g = Object.fromEntries(graphFeatureNames(space, cut).map((n, i) => [n, graphFeatures(space, cut)[i]]));
  assert.equal(g['cell.paths'], 0);
  assert.equal(g['cell.longestPath'], 0);
  assert.equal(g['cell.depth.3'], -1);
});

test('proxy features: any names, sign-log scaled, missing and non-finite below every finite value', () => {
  const s = space.sample(new Rng(1));
  const rows = proxyFeatureRows({ names: ['a', 'b', 'c', 'zico'], scores: (ss) => ss.map(() => ({ a: 1e20, b: -1, c: Number.NaN })) }, [s]);
  assert.deepEqual(rows[0]!.map((v) => Math.round(v * 1000) / 1000), [Math.round(Math.log1p(1e20) * 1000) / 1000, -0.693, MISSING_PROXY_FEATURE, MISSING_PROXY_FEATURE]);
  const names = tabularFeatures(space, { proxies: { names: ['zico'], scores: (ss) => ss.map(() => ({ zico: 1 })) } }).names;
  assert.equal(names.at(-1), 'proxy.zico');
  assert.ok(names.includes('cell.paths') && names.includes('onehot[0]'));
});

test('boosted trees fit a nonlinear toy function', () => {
  const rng = new Rng(3);
  const f = (x: number[]) => x[0]! * x[0]! + (x[1]! > 0.3 ? 1 : 0) - 0.5 * x[2]!;
  const make = (n: number) => Array.from({ length: n }, () => [rng.next() * 2 - 1, rng.next() * 2 - 1, rng.next() * 2 - 1, rng.next()]);
  const train = make(300);
  const held = make(200);
  const model = new BoostedTrees({ trees: 200, depth: 3, learningRate: 0.1, columnSample: 1, seed: 1 });
  model.fit(train, train.map(f));
  const p = model.predict(held);
  const truth = held.map(f);
  const mse = p.reduce((a, v, i) => a + (v - truth[i]!) ** 2, 0) / p.length;
  const mu = truth.reduce((a, b) => a + b, 0) / truth.length;
  const variance = truth.reduce((a, v) => a + (v - mu) ** 2, 0) / truth.length;
  assert.ok(1 - mse / variance > 0.85, `R² ${1 - mse / variance}`);
  assert.throws(() => new BoostedTrees({ depth: 0 }), /depth/);
  assert.throws(() => model.fit([[1]], [1]), /at least 2/);
});

test('gbt predictor reads proxy features: a proxy equal to the target ranks unseen cells almost perfectly', () => {
  const rng = new Rng(5);
  const cells = Array.from({ length: 300 }, () => space.sample(rng));
  const target = (s: (typeof cells)[number]) => Number(space.encode(s, 'onehot').reduce((a, v, i) => a + v * Math.sin(i), 0));
  const proxies = { names: ['oracle'], scores: (ss: readonly (typeof cells)[number][]) => ss.map((s) => ({ oracle: Math.exp(10 * target(s)) })) };
  const p = createPredictor('gbt', space, { seed: 1, proxies, gbt: { encoding: false, graphFeatures: false } });
  assert.ok(p instanceof BoostedTreesPredictor);
  p.fit(cells.slice(0, 100), cells.slice(0, 100).map(target));
  const rho = spearman(p.query(cells.slice(100)).mean, cells.slice(100).map(target));
  assert.ok(rho > 0.95, `spearman ${rho}`);
  p.dispose();
});
