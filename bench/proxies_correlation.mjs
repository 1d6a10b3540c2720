#!/usr/bin/env node
// Rank correlation of zero-cost proxy scores with the NAS-Bench-201 table,
// for every dataset column, from the JSON lines of
//   tsnas proxies --archs N --json ... > scores.jsonl
// Usage: node bench/proxies_correlation.mjs scores.jsonl
import { readFileSync } from 'node:fs';
import { Nb201Table, NB201_DATASETS } from '../dist/benchmarks/nb201.js';
import { rankQuality } from '../dist/estimators/rank.js';

const lines = readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l.trim() !== '');
const cells = lines.map((l) => JSON.parse(l)).filter((r) => r.arch && r.scores);
const table = Nb201Table.load();
const proxies = Object.keys(cells[0].scores);
const out = { n: cells.length, seconds_per_arch: cells.reduce((s, c) => s + c.seconds, 0) / cells.length, datasets: {} };
for (const d of NB201_DATASETS) {
  const truth = cells.map((c) => table.accuracy(c.arch, d));
  out.datasets[d] = Object.fromEntries(proxies.map((p) => {
    const q = rankQuality(cells.map((c) => c.scores[p]), truth);
    return [p, { spearman: q.spearman, kendall: q.kendall, n: q.n }];
  }));
}
console.log(JSON.stringify(out, null, 1));
