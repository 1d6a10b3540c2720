// How well estimated scores rank candidates against their true values.
import { kendallTau, spearman } from '../util/stats.js';

export interface RankQuality {
  /** Spearman's rho, or null with fewer than two finite pairs (or a constant list). */
  spearman: number | null;
  kendall: number | null;
  /** Pairs used: those whose estimate and truth are both finite. */
  n: number;
}

/** Rank correlations of estimates with truths, over the pairs where both are finite. */
export function rankQuality(estimates: readonly number[], truths: readonly number[]): RankQuality {
  if (estimates.length !== truths.length) {
    throw new RangeError(`rankQuality: ${estimates.length} estimates but ${truths.length} truths`);
  }
  const a: number[] = [];
  const b: number[] = [];
  estimates.forEach((e, i) => {
    const t = truths[i]!;
    if (Number.isFinite(e) && Number.isFinite(t)) {
      a.push(e);
      b.push(t);
    }
  });
  if (a.length < 2) return { spearman: null, kendall: null, n: a.length };
  const finiteOrNull = (v: number) => (Number.isFinite(v) ? v : null);
  return { spearman: finiteOrNull(spearman(a, b)), kendall: finiteOrNull(kendallTau(a, b)), n: a.length };
}
