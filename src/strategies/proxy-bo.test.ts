import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Sample } from '../spaces/types.js';
import { TsnasError } from '../errors.js';
import { createStrategy } from './index.js';
import { ToySpace, allToySamples, toyObjectives } from './testing/toy-space.js';
import type { ProxyScoreSource, Strategy } from './types.js';

const space = new ToySpace();
const accuracy = (s: Sample) => toyObjectives(s).accuracy!;

function source(proxy: (s: Sample) => number): ProxyScoreSource & { scored: number } {
  const src = {
    scored: 0,
    score(samples: readonly Sample[], names: readonly string[]) {
      src.scored += samples.length;
      return samples.map((s) => Object.fromEntries(names.map((n) => [n, proxy(s)])));
    },
  };
  return src;
}

/** Best accuracy after each of `budget` sequential queries. */
function run(s: Strategy, budget: number): number[] {
  const curve: number[] = [];
  for (let i = 0; i < budget; i++) {
    const [x] = s.ask(1);
    s.tell(x!, toyObjectives(x!));
    curve.push(Math.max(accuracy(x!), curve.at(-1) ?? -Infinity));
  }
  return curve;
}

const optimum = Math.max(...allToySamples().map(accuracy));
const mean = (v: number[]) => v.reduce((x, y) => x + y, 0) / v.length;

test('proxy-bo: a proxy equal to the objective leads straight to the optimum; the pool is scored, not queried', () => {
  for (const seed of [0, 1, 2]) {
    const scores = source(accuracy);
    // The pool is the whole toy space (320), so the label-free ranking's first pick is the optimum.
    const s = createStrategy('proxy-bo', space, { seed, pool: 320, proxies: ['oracle'], proxyScores: scores });
    assert.equal(run(s, 1)[0], optimum, `seed ${seed}`);
    assert.equal(scores.scored, 320);
    s.dispose();
  }
});

test('proxy-bo: with a proxy that ranks backwards, the model fitted on the queries turns the ranking around', () => {
  const seeds = [0, 1, 2, 3];
  const afterStart: number[] = [];
  const proxyBest: number[] = [];
  const randomBest: number[] = [];
  for (const seed of seeds) {
    const s = createStrategy('proxy-bo', space, { seed, pool: 320, initial: 5, ensemble: 3, trees: 40, proxies: ['inverse'], proxyScores: source((x) => -accuracy(x)) });
    const curve = run(s, 20);
    afterStart.push(curve[4]!);
    proxyBest.push(curve[19]!);
    s.dispose();
    const r = createStrategy('random', space, { seed });
    randomBest.push(run(r, 20)[19]!);
    r.dispose();
  }
  // The first five are the worst by the proxy; fifteen model-guided queries then beat twenty random ones.
  assert.ok(mean(proxyBest) > mean(afterStart) + 2, `start ${mean(afterStart)}, after 20 ${mean(proxyBest)}`);
  assert.ok(mean(proxyBest) > mean(randomBest), `proxy-bo ${mean(proxyBest)} vs random ${mean(randomBest)} (optimum ${optimum})`);
});

test('proxy-bo without proxy scores is a config error that says where they come from', () => {
  assert.throws(() => createStrategy('proxy-bo', space, { seed: 0 }), (e: unknown) => e instanceof TsnasError && /--proxy-scores/.test(e.message));
});
