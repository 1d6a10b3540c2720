// BOHB: Hyperband's schedule (budgets and counts of every bracket and rung),
// the strategy following it with the budget as a dimension of the space,
// promotions of the best configurations, and the TPE densities
// concentrating proposals on the good region.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TsnasError } from '../errors.js';
import { defineSpace, range } from '../spaces/space.js';
import type { Sample } from '../spaces/types.js';
import { Rng } from '../util/random.js';
import { Bohb, DensityModel, hyperbandBracket, hyperbandBudgets } from './bohb.js';

test("hyperband budgets: R·η^-s for s = s_max..0, s_max = ⌊log_η(R/r)⌋", () => {
  assert.deepEqual(hyperbandBudgets(1, 27, 3), [1, 3, 9, 27]);
  assert.deepEqual(hyperbandBudgets(1, 81, 3), [1, 3, 9, 27, 81]);
  assert.deepEqual(hyperbandBudgets(2, 20, 3), [20 / 9, 20 / 3, 20]);
  assert.deepEqual(hyperbandBudgets(5, 5, 3), [5]);
  assert.deepEqual(hyperbandBudgets(1, 16, 2), [1, 2, 4, 8, 16]);
  assert.throws(() => hyperbandBudgets(1, 9, 1), TsnasError);
});

test("hyperband brackets: n = ⌈(s_max+1)/(s+1)·η^s⌉ configurations, ⌊n·η^-i⌋ at rung i (the paper's R = 81, η = 3 table)", () => {
  const table = [4, 3, 2, 1, 0].map((s) => hyperbandBracket(s, 4, 3).map((r) => [r.configurations, r.budget]));
  assert.deepEqual(table, [
    [[81, 0], [27, 1], [9, 2], [3, 3], [1, 4]],
    [[34, 1], [11, 2], [3, 3], [1, 4]],
    [[15, 2], [5, 3], [1, 4]],
    [[8, 3], [2, 4]],
    [[5, 4]],
  ]);
  assert.deepEqual(hyperbandBracket(0, 0, 3), [{ configurations: 1, budget: 0 }]);
});

const space = defineSpace({
  name: 'toy-hp',
  dimensions: [
    { label: 'op0', values: ['a', 'b', 'c', 'd'] },
    { label: 'op1', values: ['a', 'b', 'c', 'd'] },
    { label: 'width', kind: 'integer', values: range(1, 8) },
    { label: 'epochs', kind: 'integer', values: [1, 2, 3, 5, 9] },
  ],
});

/** Higher with op0 = c, width near 6 and more epochs; op1 is noise. */
function objective(s: Sample): { accuracy: number } {
  const epochs = Number(s['epochs']);
  return { accuracy: 50 + (s['op0'] === 'c' ? 10 : 0) - Math.abs(Number(s['width']) - 6) + 3 * Math.log(epochs) + (s['op1'] === 'b' ? 0.5 : 0) };
}

test('bohb follows Hyperband: budgets and counts of each rung, promotions are the best of the rung at the next budget', () => {
  const bohb = new Bohb(space, { seed: 2, fidelity: 'epochs', eta: 3 });
  assert.deepEqual(bohb.budgets, [1, 3, 9]);
  const asked: Sample[] = [];
  for (let i = 0; i < 9 + 3 + 1 + 5 + 1 + 3; i++) {
    const [s] = bohb.ask(1);
    space.validate(s!);
    asked.push(s!);
    bohb.tell(s!, objective(s!));
  }
  // s_max = 2: bracket 2 is 9@1, 3@3, 1@9; bracket 1 is 5@3, 1@9; bracket 0 is 3@9.
  const budgets = asked.map((s) => s['epochs']);
  assert.deepEqual(budgets, [...Array(9).fill(1), 3, 3, 3, 9, 3, 3, 3, 3, 3, 9, 9, 9, 9]);
  const config = (s: Sample) => `${s['op0']}${s['op1']}${s['width']}`;
  const rung0 = asked.slice(0, 9).sort((a, b) => objective(b).accuracy - objective(a).accuracy);
  assert.deepEqual(asked.slice(9, 12).map(config), rung0.slice(0, 3).map(config));
  const rung1 = asked.slice(9, 12).sort((a, b) => objective(b).accuracy - objective(a).accuracy);
  assert.equal(config(asked[12]!), config(rung1[0]!));
  // The next cycle starts again with the widest bracket.
  assert.equal(bohb.ask(1)[0]!['epochs'], 1);
});

test('bohb with parallel asks opens the next bracket instead of waiting, and a resumed run asks the same', () => {
  const run = (state?: unknown) => {
    const b = new Bohb(space, { seed: 5, fidelity: 'epochs' });
    if (state) b.setState(JSON.parse(JSON.stringify(state)));
    return b;
  };
  const whole = run();
  const first = whole.ask(12);
  // 9 configurations at budget 1 fill bracket 2's first rung; its promotions wait, so bracket 1 starts (budget 3).
  assert.deepEqual(first.map((s) => s['epochs']), [...Array(9).fill(1), 3, 3, 3]);
  const copy = run(whole.getState());
  for (const s of first) {
    whole.tell(s, objective(s));
    copy.tell(s, objective(s));
  }
  assert.deepEqual(copy.ask(10), whole.ask(10));
});

test('bohb: the fidelity must be a numeric dimension holding every Hyperband budget', () => {
  assert.throws(() => new Bohb(space, { fidelity: 'depth' }), /has no dimension 'depth'/);
  assert.throws(() => new Bohb(space, { fidelity: 'op0' }), /positive numeric values/);
  assert.throws(() => new Bohb(space, { fidelity: 'epochs', eta: 2 }), /needs budget 1\.125 .* not a value of 'epochs'/);
  assert.throws(() => new Bohb(space, { fidelity: 'epochs', bracket: 3 }), /bracket must be an integer from 0 to 2/);
});

test('bohb with bracket = s_max and randomFraction 1 is successive halving of uniform samples', () => {
  const sh = new Bohb(space, { seed: 1, fidelity: 'epochs', bracket: 2, randomFraction: 1 });
  const budgets: unknown[] = [];
  for (let i = 0; i < 26; i++) {
    const [s] = sh.ask(1);
    budgets.push(s!['epochs']);
    sh.tell(s!, objective(s!));
  }
  const round = [...Array(9).fill(1), 3, 3, 3, 9];
  assert.deepEqual(budgets, [...round, ...round]);
});

test('tpe densities: proposals concentrate on the good region of a toy objective', () => {
  const rng = new Rng(1);
  const dims = space.dimensions().filter((d) => d.label !== 'epochs');
  const points = Array.from({ length: 60 }, () => {
    const s = space.sample(rng);
    return { s, y: objective(s).accuracy };
  }).sort((a, b) => b.y - a.y);
  const good = points.slice(0, 9).map((p) => p.s);
  const bad = points.slice(9).map((p) => p.s);
  const model = new DensityModel(dims, good, bad);
  const proposals = Array.from({ length: 200 }, () => model.propose(rng)!);
  const inRegion = (s: Sample) => s['op0'] === 'c' && Math.abs(Number(s['width']) - 6) <= 1;
  // Uniformly, 1/4 · 3/8 ≈ 9% of samples are in the region.
  const rate = proposals.filter(inRegion).length / proposals.length;
  assert.ok(rate > 0.6, `${(rate * 100).toFixed(0)}% of proposals in the good region`);
  assert.ok(model.ratio({ op0: 'c', op1: 'a', width: 6 }) > model.ratio({ op0: 'a', op1: 'a', width: 1 }));
});

test('bohb search: better than its own uniform warm-up on the toy objective at the full budget', () => {
  const bohb = new Bohb(space, { seed: 9 });
  const asked: number[] = [];
  for (let i = 0; i < 60; i++) {
    const [s] = bohb.ask(1);
    // Without a fidelity every sample is asked as drawn (epochs is then an ordinary dimension).
    const y = objective(s!).accuracy;
    asked.push(y);
    bohb.tell(s!, { accuracy: y });
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(mean(asked.slice(30)) > mean(asked.slice(0, 10)) + 2, `${mean(asked.slice(30))} vs ${mean(asked.slice(0, 10))}`);
});
