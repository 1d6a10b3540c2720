#!/usr/bin/env node
// Rank correlation of zero-cost proxy scores with the NAS-Bench-201 table,
// for every dataset column, from the JSON lines of
//   tsnas proxies --archs N --json ... > scores.jsonl
// Usage: node bench/proxies_correlation.mjs scores.jsonl [more.jsonl ...] [--subsets K --size N]
// With --subsets, it also reports the mean, standard deviation and range of
// Spearman's ρ over K random subsets of N cells (seeded): how much a
// correlation measured on N random cells varies with the draw.
import { readFileSync } from 'node:fs';
import { Nb201Table, NB201_DATASETS } from '../dist/benchmarks/nb201.js';
import { rankQuality } from '../dist/estimators/rank.js';
import { Rng } from '../dist/util/random.js';

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const [value] = args.splice(i, 2).slice(1);
  return Number(value);
};
const subsets = option('--subsets') ?? 0;
const size = option('--size') ?? 1000;
const cells = args.flatMap((file) => readFileSync(file, 'utf8').split('\n'))
  .filter((l) => l.trim() !== '').map((l) => JSON.parse(l)).filter((r) => r.arch && r.scores);
const table = Nb201Table.load();
const proxies = Object.keys(cells[0].scores);
const out = { n: cells.length, seconds_per_arch: cells.reduce((s, c) => s + c.seconds, 0) / cells.length, datasets: {} };
const rng = new Rng(0);
const draws = Array.from({ length: subsets }, () => rng.sample(cells, Math.min(size, cells.length)));
for (const d of NB201_DATASETS) {
  out.datasets[d] = Object.fromEntries(proxies.map((p) => {
    const quality = (set) => rankQuality(set.map((c) => c.scores[p]), set.map((c) => table.accuracy(c.arch, d)));
    const q = quality(cells);
    const entry = { spearman: q.spearman, kendall: q.kendall, n: q.n };
    if (draws.length > 0) {
      const rhos = draws.map((set) => quality(set).spearman);
      const mean = rhos.reduce((a, b) => a + b, 0) / rhos.length;
      const sd = Math.sqrt(rhos.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, rhos.length - 1));
      entry[`subsets_of_${size}`] = { k: rhos.length, mean, sd, min: Math.min(...rhos), max: Math.max(...rhos) };
    }
    return [p, entry];
  }));
}
console.log(JSON.stringify(out, null, 1));
