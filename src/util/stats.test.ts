import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kendallTau, mean, median, pearson, precisionAtTop, quantile, ranks, spearman, std } from './stats.js';

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

test('mean, std (population and sample), median, quantile', () => {
  close(mean([1, 2, 3, 4]), 2.5);
  close(std([2, 4, 4, 4, 5, 5, 7, 9]), 2);
  close(std([1, 2, 3, 4], 1), Math.sqrt(5 / 3));
  close(std([7], 1), 0);
  close(median([5, 1, 3]), 3);
  close(median([4, 1, 3, 2]), 2.5);
  close(quantile([1, 2, 3, 4, 5], 0.25), 2);
  assert.throws(() => mean([]), RangeError);
});

test('ranks average ties', () => {
  assert.deepEqual(ranks([10, 20, 20, 5]), [2, 3.5, 3.5, 1]);
});

test('Spearman and Kendall against hand-computed values', () => {
  // d = [0,1,1,0]: rho = 1 - 6*2/(4*15) = 0.8; one discordant pair of six: tau = 4/6.
  close(spearman([1, 2, 3, 4], [1, 3, 2, 4]), 0.8);
  close(kendallTau([1, 2, 3, 4], [1, 3, 2, 4]), 4 / 6);
  // With a tie in b: ranks(b) = [1,2,3.5,5,3.5] -> rho = 8/sqrt(10*9.5);
  // 8 concordant, 1 discordant, 1 tied in b -> tau_b = 7/sqrt(9*10).
  close(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), 8 / Math.sqrt(95));
  close(kendallTau([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), 7 / Math.sqrt(90));
  close(spearman([1, 2, 3], [30, 20, 10]), -1);
  close(pearson([1, 2, 3], [2, 4, 6]), 1);
  assert.throws(() => spearman([1, 2], [1]), RangeError);
});

test('precisionAtTop: share of a\'s top ceil(f·n) among b\'s, ties broken by position', () => {
  const b = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1];
  assert.equal(precisionAtTop([10, 9, 8, 7, 6, 5, 4, 3, 2, 1], b, 0.2), 1);
  assert.equal(precisionAtTop([9, 1, 10, 2, 3, 4, 5, 6, 7, 8], b, 0.2), 0.5);
  assert.equal(precisionAtTop([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], b, 0.3), 0);
  // ceil(0.05 · 10) = 1: only the very best counts.
  assert.equal(precisionAtTop([5, 5, 1, 1, 1, 1, 1, 1, 1, 1], b, 0.05), 1);
  assert.equal(precisionAtTop([5, 6, 1, 1, 1, 1, 1, 1, 1, 1], b, 0.05), 0);
  assert.throws(() => precisionAtTop([1, 2], [1, 2], 0), /fraction must be in \(0, 1\], got 0/);
  assert.throws(() => precisionAtTop([1, 2], [1], 0.5), /differ in length/);
});
