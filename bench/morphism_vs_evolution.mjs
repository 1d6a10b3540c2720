#!/usr/bin/env node
// The stored `morphism` strategy (NASH hill climbing, children inheriting
// their parent's weights through the training estimator) against regularized
// evolution (every trial from scratch) at equal wall time, on a Fashion-MNIST
// subset (Debian's dataset-fashion-mnist), one libtorch thread. The two
// alternate within each seed (morphism, then evolution), so machine load
// drifts hit both alike. Prints one JSON line per finished run.
//
// Usage: nice -n 10 node bench/morphism_vs_evolution.mjs [--minutes 6] [--seeds 0,1] [--epochs 2] [--only morphism|evolution]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { checkConfig } from '../dist/experiment/config.js';
import { runExperiment } from '../dist/experiment/run.js';
import { summarizeExperiment } from '../dist/experiment/summary.js';
import { openStore } from '../dist/store/index.js';

const { values: a } = parseArgs({
  options: { minutes: { type: 'string', default: '6' }, seeds: { type: 'string', default: '0,1' }, epochs: { type: 'string', default: '2' }, only: { type: 'string' } },
});
const strategies = {
  morphism: { children: 4, morphismsPerChild: 2, start: 'conv:3:8:relu > conv:3:8:relu' },
  evolution: { population: 6, sampleSize: 3 },
};

for (const seed of a.seeds.split(',').map(Number)) {
  for (const [name, options] of Object.entries(strategies).filter(([n]) => a.only === undefined || n === a.only)) {
    const config = checkConfig({
      name: 'exp',
      seed,
      threads: 1,
      space: { name: 'chain', options: { maxDepth: 6, filters: [8, 16, 32], kernels: [3, 5], poolAfter: [1, 3] } },
      strategy: { name, options },
      estimator: { kind: 'training', epochs: Number(a.epochs), batch: 64, lr: 0.05 },
      dataset: { name: 'fashion-mnist', limitTrain: 3000, validFraction: 1 / 3 },
      budget: { trials: 10000, minutes: Number(a.minutes) },
    });
    const dir = mkdtempSync(join(tmpdir(), `tsnas-morphism-bench-${name}-`));
    const store = await openStore('sqlite::memory:');
    const load = loadavg()[0];
    const started = Date.now();
    try {
      const r = await runExperiment({ store, config, artifactsDir: dir });
      const summary = await summarizeExperiment(store, 'exp');
      const trials = await store.listTrials(r.experimentId);
      const curve = [];
      let best = -Infinity;
      for (const t of trials) if ((t.metrics?.accuracy ?? -Infinity) > best) curve.push([t.number, (best = t.metrics.accuracy)]);
      console.log(JSON.stringify({
        strategy: name, seed, minutes: Number(a.minutes), epochs: Number(a.epochs), trials: r.told, seconds: (Date.now() - started) / 1000,
        best: summary.bestArchitecture?.metrics?.accuracy ?? best, arch: summary.bestArchitecture?.arch, improvements: curve,
        load: [load, loadavg()[0]].map((x) => Math.round(x * 10) / 10),
      }));
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
