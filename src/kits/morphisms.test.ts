// Network morphisms of every kit that has them: each child, loaded with
// weights inherited from its parent, computes the parent's function in eval
// mode (random samples, random weights, random batch-norm statistics); its
// sample is one of the space's (formats and parses back) and its network has
// the cost model's parameter count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TsnasError } from '../errors.js';
import type { Morphism } from '../networks/morphism.js';
import type { Module } from '../nn/module.js';
import { memory, noGrad, randn, setNumThreads, tidy } from '../tensor/index.js';
import { Rng } from '../util/random.js';
import { buildNetwork, costOf, costOptionsFor, getKit, getSpace, kitNames, morphismsOf, networkInputShape, smallSetting } from './index.js';

setNumThreads(1);

/**
 * Random weights and batch-norm statistics, so that no morphism passes by
 * accident of a default init; weights scaled by their fan-in, so that the
 * logits stay near 1 and 1e-5 is a tight bound.
 */
function randomize(net: Module): void {
  noGrad(() => {
    for (const [key, t] of Object.entries(net.stateDict())) {
      if (key.endsWith('num_batches_tracked')) continue;
      if (key.endsWith('running_var')) t.uniform_(0.5, 2);
      else if (t.ndim >= 2) t.normal_(0, 1 / Math.sqrt(t.numel / t.size(0)));
      else t.normal_(key.endsWith('.weight') ? 1 : 0, 0.3);
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
    // One random morphism of each kind per sample, on 4 samples, then on more samples (at most 200) for the kinds not met yet: keeps the test short.
    for (let i = 0; i < 200 && (i < 4 || (kit.testing.morphismKinds ?? []).some((k) => !seen.has(k))); i++) {
      const s = space.sample(rng);
      const byKind = new Map<string, Morphism[]>();
      for (const m of morphismsOf(space, s, rng)) byKind.set(m.kind, [...(byKind.get(m.kind) ?? []), m]);
      const todo = [...byKind.entries()].filter(([kind]) => i < 4 || !seen.has(kind)).map(([, ms]) => rng.choice(ms));
      if (todo.length === 0) continue;
      const parent = buildNetwork(space, s, options);
      try {
        randomize(parent);
        parent.eval();
        const x = randn([2, ...networkInputShape(space, s, options)]);
        const before = tidy(() => parent.call(x).clone());
        const scale = tidy(() => before.abs().max().item());
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
            assert.ok(diff < 1e-5, `${what}: output changed by ${diff} (largest logit ${scale})`);
          } finally {
            child.dispose();
          }
          seen.add(m.kind);
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
