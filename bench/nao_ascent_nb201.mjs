#!/usr/bin/env node
// What NAO's proposals are on NAS-Bench-201 CIFAR-10: fit the model (default
// settings) on 50 uniform cells, check that it reconstructs them, then move
// the 10 best cells' embeddings up the predictor's gradient until each decodes
// to an unseen cell, for several step sizes; print each run's reconstruction,
// the edits from parent to proposal and the proposals' true accuracy against
// their parents'. Usage (after `npx tsc -p .`): node bench/nao_ascent_nb201.mjs [--seeds 1,2]
import { manualSeed, noGrad, setNumThreads, tidy } from '../dist/tensor/index.js';
import { NaoModel } from '../dist/strategies/nao.js';
import { nb201Space } from '../dist/spaces/nb201.js';
import { Nb201Benchmark } from '../dist/benchmarks/nb201.js';
import { Standardizer } from '../dist/predictors/types.js';
import { Rng } from '../dist/util/random.js';

const at = process.argv.indexOf('--seeds');
const seeds = (at > 0 ? process.argv[at + 1] : '1,2').split(',').map(Number);
setNumThreads(1);
const space = nb201Space();
const bench = new Nb201Benchmark('cifar10');
const accuracy = (s) => bench.evaluate(s).accuracy;
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

for (const seed of seeds) {
  const rng = new Rng(seed);
  const cells = Array.from({ length: 50 }, () => space.sample(rng));
  const ys = cells.map(accuracy);
  const scale = new Standardizer(ys);
  manualSeed(seed);
  const model = new NaoModel(space);
  model.fit(cells, scale.forward(ys));
  const decoded = tidy(() => noGrad(() => model.decode(model.encode(cells))));
  const reconstructed = decoded.filter((d, i) => space.hash(d) === space.hash(cells[i])).length;
  const parents = ys.map((_, i) => i).sort((a, b) => ys[b] - ys[a]).slice(0, 10).map((i) => cells[i]);
  const seen = new Set(cells.map((s) => space.hash(s)));
  for (const step of [1, 0.3, 0.1]) {
    let z = tidy(() => noGrad(() => model.encode(parents))).keep();
    const found = new Array(parents.length).fill(undefined);
    for (let t = 0; t < 40 && found.some((f) => !f); t++) {
      const next = model.ascend(z, step).keep();
      z.dispose();
      z = next;
      model.decode(z).forEach((d, r) => {
        if (!found[r] && !seen.has(space.hash(d))) found[r] = d;
      });
    }
    z.dispose();
    const rows = parents.map((p, r) => ({ p, f: found[r] })).filter((x) => x.f);
    console.log(JSON.stringify({
      seed, step, reconstructed: `${reconstructed}/${cells.length}`, proposals: rows.length,
      edits: +mean(rows.map(({ p, f }) => Object.keys(p).filter((k) => p[k] !== f[k]).length)).toFixed(2),
      proposalAccuracy: +mean(rows.map(({ f }) => accuracy(f))).toFixed(2),
      parentAccuracy: +mean(rows.map(({ p }) => accuracy(p))).toFixed(2),
      uniformAccuracy: +mean(ys).toFixed(2),
    }));
  }
  model.dispose();
}
