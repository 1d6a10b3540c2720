// rankingQuality against the NAS-Bench-201 table: an evaluator that is the
// table ranks perfectly (τ = ρ = 1, its top 5% are the table's), the
// reversed table ranks worst (τ = −1, none of its top 5%).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Nb201Table } from '../../benchmarks/nb201.js';
import { nb201Space } from '../../spaces/nb201.js';
import { Rng } from '../../util/random.js';
import { rankingQuality } from './ranking.js';

test('rankingQuality: τ, ρ and precision at the top 5% of a perfect and a reversed evaluator over 40 distinct cells', () => {
  const table = Nb201Table.load();
  const space = nb201Space();
  const accuracy = (arch: string) => table.accuracy(arch, 'cifar10');
  const perfect = rankingQuality((s) => accuracy(space.format(s)), accuracy, new Rng(3), 40);
  assert.equal(perfect.cells.length, 40);
  assert.equal(new Set(perfect.cells.map((c) => c.arch)).size, 40);
  assert.deepEqual([perfect.kendallTau, perfect.spearman, perfect.precisionAtTop5], [1, 1, 1]);
  const reversed = rankingQuality((s) => -accuracy(space.format(s)), accuracy, new Rng(3), 40);
  assert.equal(reversed.precisionAtTop5, 0);
  assert.ok(reversed.kendallTau < -0.99, String(reversed.kendallTau));
});
