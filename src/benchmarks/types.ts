// A benchmark answers "how good is this sample" without training: it is the
// estimator of a search, in place of real training.
import type { SearchSpace, Sample } from '../spaces/types.js';
import type { MetricDirections, Objectives } from '../strategies/types.js';

export interface Benchmark {
  /** e.g. 'nb201:cifar10'. */
  readonly name: string;
  readonly dataset: string;
  readonly space: SearchSpace;
  /** The metrics evaluate returns, with their directions. */
  readonly metrics: MetricDirections;
  /**
   * Objectives of a sample: at least { accuracy }; tabular benchmarks add
   * params, flops and device costs. A metric in `required` that the
   * benchmark lacks for this sample is an error instead of an absent key.
   */
  evaluate(sample: Sample, required?: readonly string[]): Objectives;
  /** Best accuracy over the whole benchmark (for regret and optimum rates). */
  optimum(): number;
  /** The named metrics of every cell it can enumerate (tables), for exact Pareto fronts. */
  points?(names: readonly string[]): number[][];
}
