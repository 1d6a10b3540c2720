// Network morphisms of every kit that has them: each child, loaded with
// weights inherited from its parent, computes the parent's function in eval
// mode (random samples, random weights, random batch-norm statistics); its
// sample is one of the space's (formats and parses back) and its network has
// the cost model's parameter count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TsnasError } from '../errors.js';
import type { Module } from '../nn/module.js';
import { memory, noGrad, randn, setNumThreads, tidy } from '../tensor/index.js';
import { Rng } from '../util/random.js';
import { buildNetwork, costOf, costOptionsFor, getKit, getSpace, kitNames, morphismsOf, networkInputShape, smallSetting } from './index.js';

setNumThreads(1);

/** Random weights and batch-norm statistics, so that no morphism passes by accident of a default init. */
function randomize(net: Module): void {
  noGrad(() => {
    for (const [key, t] of Object.entries(net.stateDict())) {
      if (key.endsWith('num_batches_tracked')) continue;
      if (key.endsWith('running_var')) t.uniform_(0.5, 2);
      else t.normal_(0, key.endsWith('running_mean') ? 0.5 : 0.4);
    }
  });
}

for (const name of kitNames((k) => k.morphisms)) {
  test(`${name}: every morphism's child computes its parent's function and is a sample of the space`, () => {
    const kit = getKit(name);
    const { space, options } = smallSetting(kit);
    const rng = new Rng(7);
    const start = memory().numTensors;
    const seen = new Set<string>();
    let checked = 0;
    for (let i = 0; i < 60 && (checked < 40 || i < 3); i++) {
      const s = space.sample(rng);
      const morphisms = morphismsOf(space, s, rng);
      // Beyond the first few samples, only those bringing a kind not seen yet (keeps the test short).
      const todo = i < 3 ? morphisms : morphisms.filter((m) => !seen.has(m.kind));
      if (todo.length === 0) continue;
      const parent = buildNetwork(space, s, options);
      try {
        randomize(parent);
        parent.eval();
        const x = randn([2, ...networkInputShape(space, s, options)]);
        const before = tidy(() => parent.call(x).clone());
        for (const m of todo) {
          const what = `${name} ${space.format(s)}: ${m.description}`;
          space.validate(m.child);
          assert.deepEqual(space.parse(space.format(m.child)), space.fromJSON(m.child), `${what}: child parses back`);
          assert.notEqual(space.format(m.child), space.format(s), `${what}: the architecture changes`);
          const child = buildNetwork(space, m.child, options);
          try {
            assert.equal(child.numParameters(), costOf(space, m.child, costOptionsFor(options)).params, `${what}: parameters`);
            randomize(child);
            m.inherit(parent.stateDict(), child);
            child.eval();
            const diff = tidy(() => child.call(x).sub(before).abs().max().item());
            assert.ok(diff < 1e-5, `${what}: output changed by ${diff}`);
          } finally {
            child.dispose();
          }
          seen.add(m.kind);
          checked++;
        }
        x.dispose();
        before.dispose();
      } finally {
        parent.dispose();
      }
    }
    for (const kind of kit.testing.morphismKinds ?? []) assert.ok(seen.has(kind), `${name}: no '${kind}' morphism among the samples' (saw ${[...seen].join(', ')})`);
    assert.equal(memory().numTensors, start, 'no tensor outlives its network');
  });
}

test('morphismsOf a space without morphisms is a usage error naming the spaces with them', () => {
  const space = getSpace('transformer');
  assert.throws(() => morphismsOf(space, space.sample(new Rng(1)), new Rng(1)), (e: unknown) =>
    e instanceof TsnasError && e.code === 'usage' && /no network morphisms for space 'transformer'.*chain/.test(e.message));
});

test('inherit names a parent tensor that is missing', () => {
  const space = getSpace('chain');
  const s = space.parse('conv:3:16:relu > conv:3:16:relu');
  const [m] = morphismsOf(space, s, new Rng(1));
  const child = buildNetwork(space, m!.child, { numClasses: 3 });
  const start = memory().numTensors;
  assert.throws(() => m!.inherit({}, child), (e: unknown) => e instanceof TsnasError && e.code === 'data' && /parent has no tensor 'blocks\.0\.0\.weight'/.test(e.message));
  assert.equal(memory().numTensors, start);
  child.dispose();
});
