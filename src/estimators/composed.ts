// Composed estimators, each behind the Estimator interface so any strategy
// can use them:
// - ProxyEstimator: zero-cost proxy scores as objectives (no training).
// - BenchmarkEstimator: a tabular benchmark's answer (the "training" of simulations).
// - TopKEstimator: rank a batch cheaply, spend the expensive estimator on the
//   top k only. With zero-cost proxies as the ranker this is zero-cost
//   screening (the recommendation for small budgets: screen thousands, train
//   the best few); with a learned predictor (refitted on every result) it is
//   predictor-guided choice of candidates.
import type { Benchmark } from '../benchmarks/types.js';
import type { Sample } from '../spaces/types.js';
import type { Nb201Space } from '../spaces/nb201.js';
import { configError } from '../errors.js';
import type { ProxyBatch, ProxyName, ProxyOptions } from './zero-cost/proxies.js';
import { scoreNb201 } from './zero-cost/score.js';
import type { Predictor } from './predictors/types.js';
import { estimateEach, type Estimate, type Estimator } from './types.js';

export interface ProxyEstimatorOptions extends ProxyOptions {
  space: Nb201Space;
  proxies: readonly ProxyName[];
  /** The proxy reported as the objective (default the first). */
  objective?: ProxyName;
  batch: ProxyBatch;
  numClasses: number;
  C?: number;
  N?: number;
  seed?: number;
}

/** Zero-cost proxies of NAS-Bench-201 cells as objectives. The caller keeps ownership of the batch. */
export class ProxyEstimator implements Estimator {
  readonly name: string;
  readonly objective: string;
  constructor(readonly options: ProxyEstimatorOptions) {
    if (options.proxies.length === 0) throw configError('expected at least one proxy', 'proxies');
    this.objective = options.objective ?? options.proxies[0]!;
    if (!options.proxies.includes(this.objective as ProxyName)) {
      throw configError(`the objective '${this.objective}' is not among the proxies ${options.proxies.join(', ')}`, 'objective');
    }
    this.name = `proxy:${options.proxies.join(',')}`;
  }
  estimate(sample: Sample): Estimate {
    const r = scoreNb201(this.options.space.opsOf(sample), this.options);
    return { objectives: r.scores as Record<string, number>, cost: { seconds: r.seconds }, details: { proxies: r.scores } };
  }
  estimateMany(samples: readonly Sample[]): Estimate[] {
    return estimateEach(this, samples);
  }
  dispose(): void {}
}

/** A tabular benchmark as an estimator (the objective is its accuracy). */
export class BenchmarkEstimator implements Estimator {
  readonly name: string;
  readonly objective = 'accuracy';
  constructor(readonly benchmark: Benchmark) {
    this.name = benchmark.name;
  }
  estimate(sample: Sample): Estimate {
    return { objectives: this.benchmark.evaluate(sample), cost: { seconds: 0 } };
  }
  estimateMany(samples: readonly Sample[]): Estimate[] {
    return estimateEach(this, samples);
  }
  dispose(): void {}
}

/** Scores a batch for ranking (higher is better); `predicted` optionally gives objective values with uncertainty. */
export interface Ranker {
  readonly name: string;
  rank(samples: readonly Sample[]): { score: number[]; predicted?: { mean: number[]; std: number[] } };
  /** Told every expensive result (predictors refit on them). */
  observe?(samples: readonly Sample[], values: readonly number[]): void;
}

/** Ranks by zero-cost proxies: one proxy, or the sum of the ranks of several (ties averaged). */
export function proxyRanker(estimator: ProxyEstimator, use: readonly ProxyName[] = [estimator.objective as ProxyName]): Ranker {
  return {
    name: `proxies(${use.join('+')})`,
    rank(samples) {
      const scores = estimator.estimateMany(samples).map((e) => e.objectives);
      const total = new Array<number>(samples.length).fill(0);
      for (const p of use) {
        const values = scores.map((s) => (Number.isFinite(s[p]) ? s[p]! : -Infinity));
        const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]!);
        order.forEach((i, r) => (total[i]! += r));
      }
      return { score: total };
    },
  };
}

export interface PredictorRankerOptions {
  /** Rank by mean + kappa·std (an upper confidence bound; default 0). */
  kappa?: number;
  /** Below this many observations the ranker has no opinion (all scores equal) (default the predictor's own minimum). */
  minObservations?: number;
}

/** Ranks by a learned predictor, refitted on every observation (predictor-guided choice). */
export function predictorRanker(predictor: Predictor, o: PredictorRankerOptions = {}): Ranker & { observations: number } {
  const seen: Sample[] = [];
  const values: number[] = [];
  const minimum = o.minObservations ?? predictor.needs.minTrainingSamples;
  let fitted = false;
  const ranker = {
    name: `predictor(${predictor.name})`,
    observations: 0,
    rank(samples: readonly Sample[]) {
      if (!fitted) return { score: samples.map(() => 0) };
      const p = predictor.query(samples);
      return { score: p.mean.map((m, i) => m + (o.kappa ?? 0) * p.std[i]!), predicted: p };
    },
    observe(samples: readonly Sample[], vals: readonly number[]) {
      seen.push(...samples);
      values.push(...vals);
      ranker.observations = seen.length;
      if (seen.length >= Math.max(2, minimum)) {
        predictor.fit(seen, values);
        fitted = true;
      }
    },
  };
  return ranker;
}

export interface TopKOptions {
  ranker: Ranker;
  /** The expensive estimator (training, or a benchmark in simulations). */
  inner: Estimator;
  /** How many of each batch the inner estimator sees. */
  k: number;
}

/**
 * Ranks every batch with the ranker and runs the inner estimator on the top
 * k. The others are estimated from the ranker: its predicted value when it
 * has one, else a value below every trained candidate of the batch that keeps
 * the ranker's order (min − (1 − percentile)·spread); details.screened marks them.
 */
export class TopKEstimator implements Estimator {
  readonly name: string;
  readonly objective: string;
  constructor(readonly options: TopKOptions) {
    if (!(Number.isInteger(options.k) && options.k >= 1)) throw configError(`k must be a positive integer, got ${options.k}`, 'k');
    this.objective = options.inner.objective;
    this.name = `top${options.k}(${options.ranker.name} -> ${options.inner.name})`;
  }

  estimate(sample: Sample): Estimate {
    return this.estimateMany([sample])[0]!;
  }

  estimateMany(samples: readonly Sample[]): Estimate[] {
    const { ranker, inner, k } = this.options;
    const t0 = performance.now();
    const ranked = ranker.rank(samples);
    const rankSeconds = (performance.now() - t0) / 1000;
    const order = samples.map((_, i) => i).sort((a, b) => ranked.score[b]! - ranked.score[a]! || a - b);
    const chosen = order.slice(0, Math.min(k, samples.length));
    const trained = inner.estimateMany(chosen.map((i) => samples[i]!));
    const out = new Array<Estimate>(samples.length);
    chosen.forEach((i, j) => (out[i] = { ...trained[j]!, details: { ...trained[j]!.details, screened: false, rankScore: ranked.score[i] } }));
    ranker.observe?.(chosen.map((i) => samples[i]!), trained.map((e) => e.objectives[this.objective]!));
    const values = trained.map((e) => e.objectives[this.objective]!);
    const lo = Math.min(...values);
    const spread = Math.max(...values) - lo || Math.abs(lo) * 0.01 || 1;
    const rest = order.slice(chosen.length);
    rest.forEach((i, r) => {
      const predicted = ranked.predicted;
      const value = predicted ? predicted.mean[i]! : lo - ((r + 1) / rest.length) * spread;
      out[i] = {
        objectives: { [this.objective]: value },
        std: predicted?.std[i],
        cost: { seconds: rankSeconds / samples.length },
        details: { screened: true, rankScore: ranked.score[i] },
      };
    });
    return out;
  }

  dispose(): void {
    this.options.inner.dispose();
  }
}
