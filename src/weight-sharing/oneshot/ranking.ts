// Ranking quality of a weight-sharing supernet: how well the accuracies of
// sub-networks with inherited weights order cells as the NAS-Bench-201
// table (trained from scratch) does — Kendall τ and Spearman ρ over
// distinct sampled cells, and whether the supernet's best 5% are the
// table's best 5%. The table comes in as a function (src/benchmarks
// sits above this layer).
import { configError } from '../../errors.js';
import { nb201Space } from '../../spaces/nb201.js';
import type { Sample } from '../../spaces/types.js';
import { kendallTau, precisionAtTop, spearman } from '../../util/stats.js';
import type { Rng } from '../../util/random.js';

export interface RankingQuality {
  kendallTau: number;
  spearman: number;
  /** Share of the supernet's top 5% of the cells that are among the table's top 5% (of these cells). */
  precisionAtTop5: number;
  cells: { arch: string; supernetAccuracy: number; tableAccuracy: number }[];
}

/** Scores n distinct uniformly sampled nb201 cells with `evaluate` and correlates with `tableAccuracy` (of a cell's nb201 string). */
export function rankingQuality(
  evaluate: (s: Sample) => number,
  tableAccuracy: (arch: string) => number,
  rng: Rng,
  n = 100,
): RankingQuality {
  if (!(Number.isInteger(n) && n >= 2)) throw configError(`expected at least 2 cells, got ${n}`, 'cells');
  const space = nb201Space();
  const seen = new Set<string>();
  const cells: RankingQuality['cells'] = [];
  for (let tries = 0; cells.length < n && tries < 100 * n; tries++) {
    const s = space.sample(rng);
    const arch = space.format(s);
    if (seen.has(arch)) continue;
    seen.add(arch);
    cells.push({ arch, supernetAccuracy: evaluate(s), tableAccuracy: tableAccuracy(arch) });
  }
  const a = cells.map((c) => c.supernetAccuracy);
  const b = cells.map((c) => c.tableAccuracy);
  return { kendallTau: kendallTau(a, b), spearman: spearman(a, b), precisionAtTop5: precisionAtTop(a, b, 0.05), cells };
}
