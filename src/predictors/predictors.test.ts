// Every predictor learns a synthetic function of NAS-Bench-201 cells to a high rank correlation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nb201Space } from '../spaces/nb201.js';
import type { Sample } from '../spaces/types.js';
import { memory } from '../tensor/index.js';
import { Rng } from '../util/random.js';
import { rankQuality } from '../estimators/rank.js';
import { createPredictor, EnsemblePredictor, MlpPredictor, PREDICTOR_NAMES, SparseMlpEnsemble, tokenizer, graphFeaturizer } from './index.js';

const space = nb201Space();
const rng = new Rng(7);
const seen = new Set<string>();
const cells: Sample[] = [];
while (cells.length < 260) {
  const s = space.sample(rng);
  const key = space.format(s);
  if (!seen.has(key)) {
    seen.add(key);
    cells.push(s);
  }
}
// A smooth target: each op has a worth that depends on its edge, plus a bonus for a conv path 0→1→3.
const worth: Record<string, number> = { none: -1, skip_connect: 0.2, nor_conv_1x1: 0.6, nor_conv_3x3: 1, avg_pool_3x3: 0 };
const target = (s: Sample) => {
  const ops = space.opsOf(s);
  const base = ops.reduce((acc, op, e) => acc + worth[op]! * (1 + 0.2 * e), 0);
  return base + (ops[0]!.startsWith('nor') && ops[4]!.startsWith('nor') ? 1.5 : 0);
};
const train = cells.slice(0, 160);
const held = cells.slice(160);
const steps = { steps: 250 };

for (const name of PREDICTOR_NAMES) {
  test(`${name} learns a synthetic function of the cell`, () => {
    const before = memory().numTensors;
    const p = createPredictor(name, space, { seed: 1, mlp: steps, lstm: { ...steps, hidden: 32 }, gcn: { ...steps, hidden: 32 }, ensembleSize: 3 });
    p.fit(train, train.map(target));
    const pred = p.query(held);
    const q = rankQuality(pred.mean, held.map(target));
    assert.ok(q.spearman! > 0.85, `${name}: spearman ${q.spearman}`);
    assert.equal(pred.std.length, held.length);
    if (p.needs.uncertainty) assert.ok(pred.std.some((s) => s > 0), `${name} reports an uncertainty`);
    else assert.ok(pred.std.every((s) => s === 0));
    p.dispose();
    assert.equal(memory().numTensors, before);
  });
}

test('predictors are deterministic per seed, declare their needs and refuse misuse', () => {
  const a = new MlpPredictor(space, { seed: 3, steps: 50 });
  const b = new MlpPredictor(space, { seed: 3, steps: 50 });
  a.fit(train, train.map(target));
  b.fit(train, train.map(target));
  assert.deepEqual(a.query(held.slice(0, 5)).mean, b.query(held.slice(0, 5)).mean);
  assert.deepEqual(a.needs, { input: 'encoding', encoding: 'onehot', partialCurves: false, minTrainingSamples: 10, uncertainty: false });
  a.dispose();
  b.dispose();
  assert.throws(() => new MlpPredictor(space).query(held), /before fit/);
  assert.throws(() => new MlpPredictor(space).fit(train, [1]), /160 samples but 1 values/);
  assert.throws(() => createPredictor('forest', space), /unknown predictor 'forest'/);
  assert.throws(() => new EnsemblePredictor(() => new MlpPredictor(space), 1), /at least 2/);
});

test('features: tokens and operation-node graphs of NB201 cells', () => {
  const t = tokenizer(space);
  assert.equal(t.length, 6);
  assert.equal(t.vocabulary, 31);
  const s = space.parse('|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|');
  const tokens = t.tokens(s);
  assert.equal(new Set(tokens).size, 6);
  const g = graphFeaturizer(space, s).graph(s);
  assert.equal(g.nodes, 10); // 4 nodes + 6 operation nodes
  assert.equal(g.edges.length, 12);
});

test('the plain-TS sparse MLP ensemble (BANANAS\' default predictor) learns the function, with an uncertainty, deterministically per seed', () => {
  const make = (seed: number) => new SparseMlpEnsemble(space, { size: 3, seed, mlp: { epochs: 150 } });
  const a = make(2);
  a.fit(train, train.map(target));
  const pred = a.query(held);
  const q = rankQuality(pred.mean, held.map(target));
  assert.ok(q.spearman! > 0.85, `spearman ${q.spearman}`);
  assert.ok(pred.std.some((s) => s > 0));
  assert.equal(a.needs.uncertainty, true);
  const b = make(2);
  b.fit(train, train.map(target));
  assert.deepEqual(b.query(held.slice(0, 5)).mean, pred.mean.slice(0, 5));
  const c = make(3);
  c.fit(train, train.map(target));
  assert.notDeepEqual(c.query(held.slice(0, 5)).mean, pred.mean.slice(0, 5));
  assert.throws(() => make(0).query(held), /query before fit/);
  assert.throws(() => new SparseMlpEnsemble(space, { size: 1 }), /at least 2/);
});
