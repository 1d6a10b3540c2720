// The contract of a trial estimator: what turns one sample into the metrics
// a strategy is told. The built-in ones (tabular benchmark, training,
// zero-cost proxies: src/experiment/estimators.ts) and a user's own object
// passed to runExperiment all offer it.
import type { Sample } from '../spaces/types.js';
import type { MetricDirections, TrialMetadata } from '../strategies/types.js';

export type Metrics = Record<string, number>;

/** What an evaluation may use besides the sample. */
export interface TrialContext {
  /** Reports a value while the trial runs (learning curves); stored with the trial. */
  intermediate(metric: string, step: number, value: number): void;
  /** What the strategy attached to the sample (Strategy.trialMetadata); use the keys you know. */
  readonly metadata?: TrialMetadata;
}

export interface TrialEstimator {
  /**
   * Every metric evaluate (and intermediate) may produce, with its
   * direction: an objective naming one of them without a direction gets it.
   */
  readonly metrics: MetricDirections;
  /** Final metrics of one sample (finite numbers); a throw fails the trial. */
  evaluate(sample: Sample, context: TrialContext): Metrics | Promise<Metrics>;
  /**
   * Metrics known without evaluating (params, flops from a cost model), so
   * that constraints on them prune a trial before it runs.
   */
  cheapMetrics?(sample: Sample): Metrics;
  dispose?(): void;
}
