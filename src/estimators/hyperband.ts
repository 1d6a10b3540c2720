// Budget allocation across candidates: successive halving (train all at a
// small budget, keep the best 1/eta, multiply the budget by eta, repeat) and
// Hyperband (several successive-halving brackets trading the number of
// candidates against their starting budget). Budgets are in epochs (or any
// unit the runs understand).
import { configError } from '../errors.js';
import type { Sample } from '../spaces/types.js';
import type { Estimate, Estimator } from './types.js';
import { trainingRun, type TrainingSetup } from './training.js';

/** A candidate being trained: advance(b) continues it to total budget b and returns its metric there (higher is better). */
export interface BudgetedRun {
  advance(budget: number): number;
  dispose?(): void;
}

export interface RungResult {
  /** Index of the candidate in the list given to successiveHalving. */
  candidate: number;
  bracket: number;
  rung: number;
  budget: number;
  value: number;
}

export interface HalvingResult {
  /** The candidate with the best value at the highest budget reached. */
  best: { candidate: number; value: number; budget: number };
  /** Every evaluation, in order: the intermediate values of every candidate. */
  records: RungResult[];
  /** Budget spent (sum over candidates of the largest budget each reached). */
  spent: number;
}

export interface HalvingOptions {
  /** Budget of the first rung. */
  minBudget: number;
  /** No candidate gets more. */
  maxBudget: number;
  /** Keep 1/eta of the candidates per rung, multiply the budget by eta (default 3). */
  eta?: number;
  /** Recorded in the results (Hyperband's bracket index). */
  bracket?: number;
}

function checkBudgets(o: HalvingOptions): number {
  const eta = o.eta ?? 3;
  if (!(o.minBudget > 0 && o.maxBudget >= o.minBudget)) {
    throw configError(`expected 0 < minBudget <= maxBudget, got ${o.minBudget} and ${o.maxBudget}`, 'budget');
  }
  if (!(eta > 1)) throw configError(`eta must be > 1, got ${eta}`, 'eta');
  return eta;
}

/** Successive halving of candidates; runs are created by start() and disposed here. */
export function successiveHalving<C>(candidates: readonly C[], start: (c: C, index: number) => BudgetedRun, o: HalvingOptions): HalvingResult {
  const eta = checkBudgets(o);
  if (candidates.length === 0) throw configError('successive halving needs at least one candidate', 'candidates');
  const runs = new Map<number, BudgetedRun>();
  const reached = new Map<number, number>();
  const records: RungResult[] = [];
  let alive = candidates.map((_, i) => i);
  let budget = o.minBudget;
  let last: { candidate: number; value: number }[] = [];
  try {
    for (let rung = 0; ; rung++) {
      const b = Math.min(Math.round(budget), o.maxBudget);
      last = alive.map((i) => {
        let run = runs.get(i);
        if (!run) {
          run = start(candidates[i]!, i);
          runs.set(i, run);
        }
        const value = run.advance(b);
        reached.set(i, b);
        records.push({ candidate: i, bracket: o.bracket ?? 0, rung, budget: b, value });
        return { candidate: i, value };
      });
      const ranked = [...last].sort((x, y) => y.value - x.value || x.candidate - y.candidate);
      if (b >= o.maxBudget) {
        const top = ranked[0]!;
        return { best: { ...top, budget: b }, records, spent: [...reached.values()].reduce((s, v) => s + v, 0) };
      }
      // The best 1/eta go on (at least one, which then trains up to maxBudget); free the others' runs.
      const keep = Math.max(1, Math.floor(alive.length / eta));
      const kept = new Set(ranked.slice(0, keep).map((r) => r.candidate));
      for (const i of alive) {
        if (!kept.has(i)) {
          runs.get(i)?.dispose?.();
          runs.delete(i);
        }
      }
      alive = alive.filter((i) => kept.has(i));
      budget *= eta;
    }
  } finally {
    for (const run of runs.values()) run.dispose?.();
  }
}

/** The brackets of Hyperband: (number of candidates, starting budget) per bracket, most exploratory first. */
export function hyperbandBrackets(minBudget: number, maxBudget: number, eta = 3): { n: number; budget: number }[] {
  checkBudgets({ minBudget, maxBudget, eta });
  const sMax = Math.floor(Math.log(maxBudget / minBudget) / Math.log(eta) + 1e-9);
  const out: { n: number; budget: number }[] = [];
  for (let s = sMax; s >= 0; s--) {
    out.push({ n: Math.ceil(((sMax + 1) / (s + 1)) * eta ** s), budget: maxBudget * eta ** -s });
  }
  return out;
}

/** Hyperband: successive halving in every bracket, on fresh candidates from sample(n). */
export function hyperband<C>(
  sample: (n: number, bracket: number) => C[],
  start: (c: C, index: number) => BudgetedRun,
  o: HalvingOptions,
): { best: { candidate: C; value: number; budget: number; bracket: number }; brackets: (HalvingResult & { candidates: C[] })[]; spent: number } {
  const eta = checkBudgets(o);
  const brackets = hyperbandBrackets(o.minBudget, o.maxBudget, eta).map(({ n, budget }, bracket) => {
    const candidates = sample(n, bracket);
    const r = successiveHalving(candidates, start, { minBudget: budget, maxBudget: o.maxBudget, eta, bracket });
    return { ...r, candidates };
  });
  let best: { candidate: C; value: number; budget: number; bracket: number } | undefined;
  brackets.forEach((b, k) => {
    const cand = { candidate: b.candidates[b.best.candidate]!, value: b.best.value, budget: b.best.budget, bracket: k };
    // Prefer results at larger budgets; among equal budgets, higher values.
    if (!best || cand.budget > best.budget || (cand.budget === best.budget && cand.value > best.value)) best = cand;
  });
  return { best: best!, brackets, spent: brackets.reduce((s, b) => s + b.spent, 0) };
}

/**
 * Successive halving as an estimator: estimateMany trains the given samples
 * under successive halving and reports for each the accuracy at the largest
 * budget it reached (details.budget says which), with its curve.
 */
export class SuccessiveHalvingEstimator implements Estimator {
  readonly name = 'successive-halving';
  readonly objective = 'accuracy';
  constructor(readonly setup: TrainingSetup, readonly budgets: HalvingOptions) {
    checkBudgets(budgets);
  }

  estimate(sample: Sample): Estimate {
    return this.estimateMany([sample])[0]!;
  }

  estimateMany(samples: readonly Sample[]): Estimate[] {
    const curves = new Map<number, number[]>();
    const t0 = performance.now();
    const result = successiveHalving(samples, (s, i) => {
      const run = trainingRun(this.setup, s);
      curves.set(i, run.curve);
      return run;
    }, this.budgets);
    const seconds = (performance.now() - t0) / 1000;
    return samples.map((_, i) => {
      const mine = result.records.filter((r) => r.candidate === i);
      const last = mine.at(-1)!;
      return {
        objectives: { accuracy: last.value },
        curve: [...(curves.get(i) ?? [])],
        cost: { seconds: seconds / samples.length, epochs: last.budget },
        details: { budget: last.budget, rungs: mine.length, best: result.best.candidate === i },
      };
    });
  }

  dispose(): void {}
}
