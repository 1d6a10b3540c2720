// Composed estimators behind any strategy: the strategy proposes many
// candidates, a cheap ranker (zero-cost proxies, or a learned predictor fitted
// on the results so far) picks the top k, and only those become trials that
// the real estimator (`then`) evaluates.
//
// ScreenedStrategy wraps the configured strategy. Each *round* asks the inner
// strategy for `candidates` samples, ranks them, and hands the top k to the
// loop one ask at a time. When all k are told, the inner strategy is told the
// round: first the screened-out candidates, worst first, then the k evaluated
// ones (so ageing populations keep the evaluated). A screened-out candidate
// is told an estimate, never a measurement:
//   - predictor: the predictor's mean;
//   - proxies: a value below the round's lowest evaluated result that keeps
//     the screen's order (lowest − (r+1)/rest · spread);
// its other objectives come from the cost model (params, flops) or are the
// round's worst. Only evaluated candidates are trials in the store, count
// toward budget.trials and appear in history().
//
// Resume: the round (its chosen and screened-out candidates and the results
// told so far) is part of getState(), saved with every told trial. A round
// that no saved state knows of is recomputed from the restored inner
// strategy (seeded: it asks the same candidates) and a ranker that depends
// only on the told results and seeds (proxies of seeded networks; a predictor
// trained from scratch with a fixed seed), so it picks the same top k.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createPredictor, type Predictor } from '../predictors/index.js';
import type { ProxyName } from '../estimators/zero-cost/proxies.js';
import { withPopulationScores } from '../estimators/zero-cost/population.js';
import { TsnasError } from '../errors.js';
import type { DefinedSpace } from '../spaces/space.js';
import type { Sample } from '../spaces/types.js';
import type { Objectives, Strategy, StrategyState, Trial, TrialMetadata } from '../strategies/types.js';
import type { ConstraintConfig, ObjectiveConfig } from './config.js';
import { brokenConstraint, type Metrics, type ProxyScorer } from './estimators.js';

/** How a ranker judges a round's candidates: higher score is better; estimate is the primary objective's predicted value (natural units). */
export interface Ranking {
  score: number[];
  estimate?: number[];
}

export interface CandidateRanker {
  readonly name: string;
  /** Whether it ranks yet, given the evaluated trials so far (a predictor waits for its warm-up). */
  ready(evaluated: readonly Trial[]): boolean;
  /** Ranks candidates; yields to the event loop between candidates so that Ctrl-C is seen; stops early (undefined) when signal aborts. */
  rank(candidates: readonly Sample[], evaluated: readonly Trial[], signal?: AbortSignal): Promise<Ranking | undefined>;
  dispose(): void;
}

/**
 * Ranks by zero-cost proxies: the sum over proxies of each candidate's rank
 * (non-finite scores rank lowest); population proxies (az_nas, te_nas,
 * ensemble) are aggregated over the round's candidates first.
 */
export function proxyCandidateRanker(scorer: ProxyScorer, proxies: readonly ProxyName[], ensemble?: readonly ProxyName[]): CandidateRanker {
  return {
    name: `proxies(${proxies.join('+')})`,
    ready: () => true,
    async rank(candidates, _evaluated, signal) {
      const scores: Metrics[] = [];
      for (const c of candidates) {
        if (signal?.aborted) return undefined;
        scores.push(scorer.score(c, proxies));
        await nextTurn();
      }
      return { score: sumOfRanks(withPopulationScores(scores, proxies, ensemble), proxies) };
    },
    dispose: () => scorer.dispose(),
  };
}

/** Sum over keys of each row's rank (0 = lowest value; ties keep input order); missing values rank lowest. */
export function sumOfRanks(rows: readonly Metrics[], keys: readonly string[]): number[] {
  const total = new Array<number>(rows.length).fill(0);
  for (const k of keys) {
    const values = rows.map((r) => (Number.isFinite(r[k]) ? r[k]! : -Infinity));
    const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]! || a - b);
    order.forEach((i, rank) => (total[i]! += rank));
  }
  return total;
}

export interface PredictorRankerOptions {
  model: string;
  space: DefinedSpace;
  /** Evaluated trials before it ranks. */
  warmup: number;
  /** Rank by mean + kappa·std. */
  kappa: number;
  primary: ObjectiveConfig;
  seed: number;
}

/** Ranks by a learned predictor trained from scratch (seeded) on every evaluated trial so far. */
export function predictorCandidateRanker(o: PredictorRankerOptions): CandidateRanker {
  const predictor: Predictor = createPredictor(o.model, o.space, { seed: o.seed });
  const sign = o.primary.direction === 'max' ? 1 : -1;
  const usable = (evaluated: readonly Trial[]) => evaluated.filter((t) => Number.isFinite(t.objectives[o.primary.name]));
  return {
    name: `predictor(${predictor.name})`,
    ready: (evaluated) => usable(evaluated).length >= o.warmup,
    async rank(candidates, evaluated, signal) {
      const train = usable(evaluated);
      predictor.fit(train.map((t) => t.sample), train.map((t) => sign * t.objectives[o.primary.name]!));
      await nextTurn();
      if (signal?.aborted) return undefined;
      const p = predictor.query(candidates);
      return { score: p.mean.map((m, i) => m + o.kappa * p.std[i]!), estimate: p.mean.map((m) => sign * m) };
    },
    dispose: () => predictor.dispose(),
  };
}

export interface ScreenedStrategyOptions {
  ranker: CandidateRanker;
  /** Candidates asked from the inner strategy per round. */
  candidates: number;
  /** Candidates of a round that become trials. */
  topK: number;
  objectives: readonly ObjectiveConfig[];
  constraints: readonly ConstraintConfig[];
  /** Cost-model metrics (params, flops): constraints on them exclude candidates, and screened-out candidates are told them. */
  cheapMetrics: (s: Sample) => Metrics;
  space: DefinedSpace;
}

/** A screened-out candidate of a round, in screening order (best first). */
interface ScreenedOut {
  sample: Sample;
  /** The ranker's estimate of the primary objective (predictors), else null. */
  estimate: number | null;
}

interface Round {
  /** The chosen candidates, best first; they become trials in this order. */
  chosen: Sample[];
  /** How many were handed to the loop. */
  handed: number;
  /** Results told, by position in chosen. */
  told: (Objectives | null)[];
  out: ScreenedOut[];
}

interface ScreenedExtra {
  inner: StrategyState;
  round: Round | null;
  /** Candidates screened out over all rounds. */
  screenedOut: number;
  rounds: number;
}

export class ScreenedStrategy implements Strategy {
  readonly name: string;
  private readonly told: Trial[] = [];
  private round: Round | null = null;
  private screenedOut = 0;
  private rounds = 0;

  constructor(readonly inner: Strategy, readonly options: ScreenedStrategyOptions) {
    if (!(options.topK >= 1 && options.candidates >= options.topK)) {
      throw new TsnasError('config', `expected 1 <= topK <= candidates, found topK ${options.topK} and candidates ${options.candidates}`, { where: 'estimator.topK' });
    }
    this.name = `${options.ranker.name}->${inner.name}`;
  }

  /** Candidates screened out so far, and rounds started. */
  stats(): { screenedOut: number; rounds: number } {
    return { screenedOut: this.screenedOut, rounds: this.rounds };
  }

  private remaining(): number {
    return this.round ? this.round.chosen.length - this.round.handed : 0;
  }

  /**
   * Makes sure ask(n) has candidates: starts a round (asks the inner
   * strategy and ranks) when the current one has none left to hand out.
   * Returns false when interrupted (nothing changed).
   */
  async prepare(n: number, signal?: AbortSignal): Promise<boolean> {
    if (this.remaining() > 0) return true;
    if (this.round && this.round.told.some((t) => t === null)) {
      throw new TsnasError('state', 'a new screening round was asked for before the current round was told');
    }
    const { ranker, candidates, topK } = this.options;
    if (!ranker.ready(this.told)) {
      // Warm-up: the inner strategy's own choice, evaluated as it asked.
      const chosen = this.inner.ask(n);
      this.round = { chosen, handed: 0, told: chosen.map(() => null), out: [] };
      this.rounds++;
      return true;
    }
    const innerState = this.inner.getState();
    const asked = this.inner.ask(candidates);
    if (asked.length === 0) {
      // The space has no unasked candidate left: ask() hands out nothing.
      this.inner.setState(innerState);
      this.round = { chosen: [], handed: 0, told: [], out: [] };
      return true;
    }
    const ranking = await ranker.rank(asked, this.told, signal);
    if (!ranking) {
      // Interrupted: as if never asked (the inner strategy is seeded, so a resume asks the same).
      this.inner.setState(innerState);
      return false;
    }
    const feasible = (i: number) => brokenConstraint(this.options.constraints, this.options.cheapMetrics(asked[i]!)) === undefined;
    const order = asked.map((_, i) => i).sort((a, b) => Number(feasible(b)) - Number(feasible(a)) || ranking.score[b]! - ranking.score[a]! || a - b);
    const k = Math.min(topK, order.filter(feasible).length);
    const chosen = order.slice(0, k).map((i) => asked[i]!);
    const out = order.slice(k).map((i) => ({ sample: asked[i]!, estimate: ranking.estimate ? ranking.estimate[i]! : null }));
    this.round = { chosen, handed: 0, told: chosen.map(() => null), out };
    this.rounds++;
    this.screenedOut += out.length;
    // A round without a feasible candidate is told at once; the next prepare starts another.
    if (chosen.length === 0) {
      this.flushRound();
      return this.prepare(n, signal);
    }
    return true;
  }

  ask(n = 1): Sample[] {
    if (this.remaining() === 0) {
      if (this.round && this.round.chosen.length === 0) return [];
      throw new TsnasError('internal', 'ScreenedStrategy.ask before prepare(): the loop must await prepare(n) first');
    }
    const r = this.round!;
    const take = r.chosen.slice(r.handed, r.handed + Math.max(1, n));
    r.handed += take.length;
    return take;
  }

  tell(sample: Sample, objectives: Objectives): void {
    const r = this.round;
    const hash = this.options.space.hash(sample);
    const i = r ? r.chosen.findIndex((c, j) => j < r.handed && r.told[j] === null && this.options.space.hash(c) === hash) : -1;
    if (!r || i < 0) throw new TsnasError('state', `told a sample that the current screening round did not hand out: ${this.options.space.format(sample)}`);
    r.told[i] = { ...objectives };
    this.told.push({ sample, objectives: { ...objectives } });
    if (r.handed === r.chosen.length && r.told.every((t) => t !== null)) this.flushRound();
  }

  /** Tells the inner strategy the round: screened-out candidates (estimates, worst first), then the evaluated ones. */
  private flushRound(): void {
    const r = this.round!;
    const [primary] = this.options.objectives;
    const sign = primary!.direction === 'max' ? 1 : -1;
    // The round's results scale the estimates; a round with none uses every result so far.
    const own = r.told.filter((t): t is Objectives => t !== null);
    const results = own.length > 0 ? own : this.told.map((t) => t.objectives);
    const values = results.map((t) => sign * t[primary!.name]!).filter(Number.isFinite);
    const lo = values.length ? Math.min(...values) : 0;
    const spread = values.length ? Math.max(...values) - lo || Math.abs(lo) * 0.01 || 1 : 1;
    const worstOf = (name: string, direction: 'max' | 'min'): number | undefined => {
      const v = results.map((t) => t[name]).filter((x): x is number => x !== undefined && Number.isFinite(x));
      if (v.length === 0) return undefined;
      return direction === 'max' ? Math.min(...v) : Math.max(...v);
    };
    for (let idx = r.out.length - 1; idx >= 0; idx--) {
      const o = r.out[idx]!;
      const cheap = this.options.cheapMetrics(o.sample);
      const told: Record<string, number> = {};
      told[primary!.name] = o.estimate ?? sign * (lo - ((idx + 1) / r.out.length) * spread);
      for (const obj of this.options.objectives.slice(1)) {
        const v = cheap[obj.name] ?? worstOf(obj.name, obj.direction);
        if (v !== undefined) told[obj.name] = v;
      }
      for (const [k, v] of Object.entries(cheap)) if (!(k in told)) told[k] = v;
      this.inner.tell(o.sample, told);
    }
    r.chosen.forEach((s, j) => this.inner.tell(s, r.told[j]!));
    this.round = null;
  }

  /** The inner strategy's: a chosen candidate stays pending there until its round is told. */
  trialMetadata(sample: Sample): TrialMetadata | undefined {
    return this.inner.trialMetadata?.(sample);
  }

  history(): readonly Trial[] {
    return this.told;
  }

  best(): Trial | undefined {
    const [primary] = this.options.objectives;
    const sign = primary!.direction === 'max' ? 1 : -1;
    let best: Trial | undefined;
    for (const t of this.told) {
      const v = t.objectives[primary!.name];
      if (v !== undefined && (best === undefined || sign * v > sign * best.objectives[primary!.name]!)) best = t;
    }
    return best;
  }

  getState(): StrategyState {
    const inner = this.inner.getState();
    const r = this.round;
    const pending = r ? r.chosen.filter((_, j) => j < r.handed && r.told[j] === null) : [];
    const extra: ScreenedExtra = { inner, round: r ? structuredClone(r) : null, screenedOut: this.screenedOut, rounds: this.rounds };
    return { strategy: this.name, version: 1, rng: inner.rng, history: this.told.map((t) => ({ sample: t.sample, objectives: t.objectives })), pending, extra };
  }

  setState(state: StrategyState): void {
    if (state.strategy !== this.name) throw new TsnasError('state', `expected a saved state of ${this.name}, found one of ${state.strategy}`);
    const extra = state.extra as ScreenedExtra;
    this.inner.setState(extra.inner);
    this.round = extra.round ? structuredClone(extra.round) : null;
    this.screenedOut = extra.screenedOut;
    this.rounds = extra.rounds;
    this.told.length = 0;
    this.told.push(...state.history.map((t) => ({ sample: t.sample, objectives: t.objectives })));
  }

  dispose(): void {
    this.inner.dispose();
    this.options.ranker.dispose();
  }
}
