// Population proxies: scores that only exist relative to the networks ranked
// together. Each network gets its components (per-network proxies, stored
// like any other score); a population's scores are a rank aggregation of the
// components over that population, recomputed whenever the population is:
// - az_nas (Lee & Ham, CVPR 2024): Σ_k log(rank_k / L) over expressivity,
//   progressivity, trainability and complexity (FLOPs);
// - te_nas (Chen et al., ICLR 2021): Σ_k rank_k over −cond(NTK) and the linear regions;
// - ensemble: Σ_k log(rank_k / L) over its members (AZ-NAS's aggregation).
// Ranks run from 1 (worst) to L (best), ties share their mean rank, and a
// missing or non-finite score ranks below every finite one.
import { DEFAULT_ENSEMBLE, isPopulationProxy, populationComponents, type PopulationProxy, type ProxyName } from './proxies.js';

export type ScoreRow = Readonly<Record<string, number | undefined>>;

/** Ranks 1..L of values (higher value, higher rank), ties averaged; non-finite values rank lowest. */
export function averageRanks(values: readonly (number | undefined)[]): number[] {
  const v = values.map((x) => (x !== undefined && Number.isFinite(x) ? x : -Infinity));
  const order = v.map((_, i) => i).sort((a, b) => v[a]! - v[b]!);
  const ranks = new Array<number>(v.length);
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end + 1 < order.length && v[order[end + 1]!] === v[order[start]!]) end++;
    for (let k = start; k <= end; k++) ranks[order[k]!] = (start + end) / 2 + 1;
    start = end + 1;
  }
  return ranks;
}

/** One population proxy's scores over `rows` (each row a network's per-network scores). */
export function populationScores(rows: readonly ScoreRow[], proxy: PopulationProxy, ensemble: readonly ProxyName[] = DEFAULT_ENSEMBLE): number[] {
  const L = rows.length;
  const column = (p: ProxyName): (number | undefined)[] => (isPopulationProxy(p) ? populationScores(rows, p, ensemble) : rows.map((r) => r[p]));
  const total = new Array<number>(L).fill(0);
  for (const c of populationComponents(proxy, ensemble)) {
    averageRanks(column(c)).forEach((rank, i) => (total[i]! += proxy === 'te_nas' ? rank : Math.log(rank / L)));
  }
  return total;
}

/** The rows with every population proxy of `proxies` filled in (new objects; per-network scores kept). */
export function withPopulationScores<R extends ScoreRow>(rows: readonly R[], proxies: readonly ProxyName[], ensemble?: readonly ProxyName[]): R[] {
  const out = rows.map((r) => ({ ...r }));
  for (const p of proxies) {
    if (!isPopulationProxy(p)) continue;
    populationScores(rows, p, ensemble).forEach((v, i) => ((out[i] as Record<string, number>)[p] = v));
  }
  return out;
}
