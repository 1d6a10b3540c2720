// The morphism strategy (NASH hill climbing) on the chain space, with a
// made-up objective: its children are the samples their lineages replay to,
// each step moves to the best child, runs are seeded, a state saved mid-run
// continues as the uninterrupted run, and bad options are named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getKit, morphismPath } from '../kits/index.js';
import type { WeightInheritance } from '../networks/morphism.js';
import type { ChainSpace } from '../spaces/chain.js';
import type { Sample } from '../spaces/types.js';
import { Rng } from '../util/random.js';
import { checkStrategyOptions, createStrategy, findStrategy, type Strategy } from './index.js';
import { ToySpace } from './testing/toy-space.js';

const space = getKit('chain').space({ maxDepth: 5, filters: [4, 8, 16], kernels: [1, 3, 5] }) as ChainSpace;
const start = 'conv:1:4:relu > conv:1:4:relu';
/** Rewards width and depth, with a hash-dependent wobble so that children differ. */
const objective = (s: Sample) => {
  const layers = space.layersOf(s);
  const wobble = Number.parseInt(space.hash(s).slice(0, 4), 16) / 0xffff;
  return { accuracy: layers.reduce((a, l) => a + Math.log2(l.filters) + l.kernel / 5, 0) + wobble };
};
const make = (seed: number, children = 3) => createStrategy('morphism', space, { seed, children, morphismsPerChild: 2, start });

/** Asks and tells `budget` samples, `batch` at a time; returns each asked sample's text and metadata. */
function drive(s: Strategy, budget: number, batch = 1): { arch: string; metadata: WeightInheritance | undefined }[] {
  const out: { arch: string; metadata: WeightInheritance | undefined }[] = [];
  while (out.length < budget) {
    const asked = s.ask(Math.min(batch, budget - out.length));
    for (const x of asked) out.push({ arch: space.format(x), metadata: s.trialMetadata?.(x) as WeightInheritance | undefined });
    for (const x of asked) s.tell(x, objective(x));
  }
  return out;
}

test('morphism: the start first, then children whose lineage replays to them; each step moves to its best child', () => {
  const s = make(1);
  const run = drive(s, 10);
  assert.equal(run[0]!.arch, start);
  assert.deepEqual(run[0]!.metadata, { keepWeights: true });
  const history = s.history();
  // Steps of 3 children: trials 1-3 are the start's, 4-6 the best of 1-3's, 7-9 the best of 4-6's.
  for (let i = 1; i < 10; i++) {
    const { inherit, keepWeights } = run[i]!.metadata!;
    assert.equal(keepWeights, true);
    assert.ok(inherit, `trial ${i} has no lineage`);
    const replayed = morphismPath(space, inherit.parent, inherit.steps, new Rng(inherit.seed)).at(-1)!.child;
    assert.equal(space.format(replayed), run[i]!.arch);
    const stepStart = 1 + 3 * Math.floor((i - 1) / 3);
    const expectedParent = stepStart === 1 ? 0 : [stepStart - 3, stepStart - 2, stepStart - 1].reduce((a, b) => (history[b]!.objectives.accuracy! > history[a]!.objectives.accuracy! ? b : a));
    assert.equal(space.format(inherit.parent), run[expectedParent]!.arch, `trial ${i}'s parent`);
  }
  assert.equal(new Set(run.map((r) => r.arch)).size, run.length, 'a sample was asked twice');
  // Told samples carry nothing any more.
  assert.equal(s.trialMetadata!(space.parse(start)), undefined);
});

test('morphism: same seed, same run; a state saved mid-run (with pending asks) continues as the uninterrupted run', () => {
  const whole = drive(make(5), 14, 2);
  assert.deepEqual(drive(make(5), 14, 2), whole);
  assert.notDeepEqual(drive(make(6), 14, 2), whole);
  const first = make(5);
  const head = drive(first, 6, 2);
  const pending = first.ask(2);
  const state = JSON.parse(JSON.stringify(first.getState()));
  const resumed = make(99);
  resumed.setState(state);
  // The pending asks keep their metadata through the state.
  const pendingMetadata = pending.map((x) => resumed.trialMetadata!(x));
  assert.deepEqual(pendingMetadata, pending.map((x) => first.trialMetadata!(x)));
  for (const x of pending) resumed.tell(x, objective(x));
  const tail = drive(resumed, 6, 2);
  assert.deepEqual([...head, ...pending.map((x, i) => ({ arch: space.format(x), metadata: pendingMetadata[i] as WeightInheritance | undefined })), ...tail], whole);
});

test('morphism: bad options and spaces without morphisms are named', () => {
  const kind = findStrategy('morphism')!;
  assert.throws(() => checkStrategyOptions(kind, { children: 0 }, 'strategy.options'), /strategy\.options\.children/);
  assert.throws(() => checkStrategyOptions(kind, { morphismsPerChild: 1.5 }, 'strategy.options'), /strategy\.options\.morphismsPerChild/);
  assert.throws(() => createStrategy('morphism', space, { start: 'conv:2:4:relu' }), /expected a kernel \(one of 1, 3, 5\)/);
  assert.throws(() => createStrategy('morphism', new ToySpace()), /morphism search needs a registered space/);
});
