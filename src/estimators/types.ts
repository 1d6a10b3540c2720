// The contract every performance estimator offers: a strategy asks for
// samples, an estimator turns each into objectives (Strategy.tell's input).
// Training, tabular benchmarks, zero-cost proxies, predictors and their
// compositions all sit behind it.
import type { Sample } from '../spaces/types.js';
import type { Objectives } from '../strategies/types.js';

export interface Estimate {
  /** What the strategy is told, e.g. { accuracy: 0.93, params: 1.2e6 }. */
  objectives: Objectives;
  /** Uncertainty (standard deviation) of the main objective, when the estimator knows it. */
  std?: number;
  /** The per-epoch values of the main metric, when the sample was trained (for storing and plotting). */
  curve?: number[];
  /** What it cost. */
  cost: { seconds: number; epochs?: number };
  /** Estimator-specific facts (full training history, proxy scores, whether it was stopped early...). */
  details?: Record<string, unknown>;
}

export interface Estimator {
  readonly name: string;
  /** The objective the estimator predicts and strategies should maximise (e.g. 'accuracy'). */
  readonly objective: string;
  estimate(sample: Sample): Estimate;
  /** Several samples at once; estimators that rank or screen a batch (proxies, top-k training) use it. */
  estimateMany(samples: readonly Sample[]): Estimate[];
  /** Frees native resources held by the estimator (predictor weights, cached batches). */
  dispose(): void;
}

/** estimateMany as a loop over estimate, for estimators that treat samples independently. */
export function estimateEach(e: Pick<Estimator, 'estimate'>, samples: readonly Sample[]): Estimate[] {
  return samples.map((s) => e.estimate(s));
}
