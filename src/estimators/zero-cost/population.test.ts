// Population proxies: rank aggregation over the networks ranked together.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { averageRanks, populationScores, withPopulationScores } from './population.js';
import { checkEnsemble, perNetworkProxies } from './proxies.js';

test('averageRanks: 1 = lowest, ties share their mean rank, non-finite and missing rank lowest', () => {
  assert.deepEqual(averageRanks([3, 1, 2]), [3, 1, 2]);
  assert.deepEqual(averageRanks([5, 5, 1, 7]), [2.5, 2.5, 1, 4]);
  assert.deepEqual(averageRanks([2, Number.NaN, undefined, -Infinity, 0]), [5, 2, 2, 2, 4]);
});

test('az_nas sums log(rank / L) over expressivity, progressivity, trainability and FLOPs', () => {
  const rows = [
    { az_expressivity: 1, az_progressivity: 0.3, az_trainability: -1, flops: 10 },
    { az_expressivity: 3, az_progressivity: 0.1, az_trainability: -Infinity, flops: 30 },
    { az_expressivity: 2, az_progressivity: 0.2, az_trainability: -0.5, flops: 20 },
  ];
  const L = 3;
  const expected = [
    Math.log(1 / L) + Math.log(3 / L) + Math.log(2 / L) + Math.log(1 / L),
    Math.log(3 / L) + Math.log(1 / L) + Math.log(1 / L) + Math.log(3 / L),
    Math.log(2 / L) + Math.log(2 / L) + Math.log(3 / L) + Math.log(2 / L),
  ];
  populationScores(rows, 'az_nas').forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-12, `${v} vs ${expected[i]}`));
});

test('te_nas sums ranks; ensemble aggregates its members, population members included', () => {
  const rows = [
    { te_ntk: -10, te_linear_regions: 8, meco: 1, az_expressivity: 1, az_progressivity: 1, az_trainability: 1, flops: 1 },
    { te_ntk: -2, te_linear_regions: 8, meco: 3, az_expressivity: 2, az_progressivity: 2, az_trainability: 2, flops: 2 },
  ];
  assert.deepEqual(populationScores(rows, 'te_nas'), [1 + 1.5, 2 + 1.5]);
  const e = populationScores(rows, 'ensemble', ['meco', 'az_nas']);
  assert.deepEqual(e, [Math.log(1 / 2) + Math.log(1 / 2), 0]);
  const filled = withPopulationScores(rows, ['meco', 'te_nas']);
  assert.deepEqual((filled as Record<string, number>[]).map((r) => r.te_nas), [2.5, 3.5]);
  assert.equal(filled[0]!.meco, 1);
  assert.equal((rows[0] as Record<string, number>).te_nas, undefined, 'the input rows are not changed');
});

test('perNetworkProxies expands population proxies; checkEnsemble names a bad member', () => {
  assert.deepEqual(perNetworkProxies(['snip', 'az_nas', 'flops']), ['snip', 'az_expressivity', 'az_progressivity', 'az_trainability', 'flops']);
  assert.deepEqual(perNetworkProxies(['ensemble'], ['meco', 'te_nas']), ['meco', 'te_ntk', 'te_linear_regions']);
  assert.throws(() => checkEnsemble(['meco', 'ensemble']), /'ensemble' is not/);
  assert.throws(() => checkEnsemble(['meco', 'meco']), /at least two/);
  assert.deepEqual(checkEnsemble(['meco', 'swap']), ['meco', 'swap']);
});
