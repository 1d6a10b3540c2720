#!/usr/bin/env node
// Where a supernet's ranking (the --out JSON of bench/spos_ranking.mjs)
// goes right or wrong: τ over all cells and over the cells the table gives
// more than 15% (cells whose output is cut off from the input by `none`
// edges score 10% in both), the τ of a count of convolutions (3×3 as 1,
// 1×1 as 0.5) on the same cells as a naive reference, and the mean
// supernet and table accuracy by the operation on each edge.
// Usage: node bench/ranking_breakdown.mjs result.json [more.json ...]
import { readFileSync } from 'node:fs';
import { kendallTau, mean, precisionAtTop } from '../dist/util/stats.js';

const EDGES = ['edge_1_0', 'edge_2_0', 'edge_2_1', 'edge_3_0', 'edge_3_1', 'edge_3_2'];
const opsOf = (arch) => [...arch.matchAll(/([a-z_0-9]+)~\d/g)].map((m) => m[1]);
const convs = (arch) => opsOf(arch).reduce((n, op) => n + (op === 'nor_conv_3x3' ? 1 : op === 'nor_conv_1x1' ? 0.5 : 0), 0);
const round = (x) => Math.round(x * 1000) / 1000;

for (const file of process.argv.slice(2)) {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const { cells } = r;
  const tau = (cs, f) => round(kendallTau(cs.map(f), cs.map((c) => c.tableAccuracy)));
  const connected = cells.filter((c) => c.tableAccuracy > 15);
  const byOp = {};
  EDGES.forEach((edge, e) => {
    const groups = {};
    for (const c of cells) (groups[opsOf(c.arch)[e]] ??= []).push(c);
    byOp[edge] = Object.fromEntries(Object.entries(groups).map(([op, cs]) => [op, {
      n: cs.length, supernet: round(mean(cs.map((c) => c.supernetAccuracy))), table: round(mean(cs.map((c) => c.tableAccuracy)) / 100),
    }]));
  });
  console.log(JSON.stringify({
    file, kendallTau: round(r.kendallTau), spearman: round(r.spearman), precisionAtTop5: r.precisionAtTop5,
    connected: { n: connected.length, kendallTau: tau(connected, (c) => c.supernetAccuracy), precisionAtTop5: precisionAtTop(connected.map((c) => c.supernetAccuracy), connected.map((c) => c.tableAccuracy), 0.05) },
    convCount: { kendallTau: tau(cells, (c) => convs(c.arch)), connectedKendallTau: tau(connected, (c) => convs(c.arch)) },
    supernetAccuracy: r.supernetAccuracy, lastEpoch: r.history.at(-1), byOp,
  }, null, 1));
}
