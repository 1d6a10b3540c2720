// What the experiment loop (run.ts) runs trials on: an evaluator. Local
// ones are in pool.ts; the queue one (execution.queue pgboss) is in
// src/distributed, above this layer, so the loop's caller passes it in
// (RunOptions.queueEvaluator).
import type { Sample } from '../spaces/types.js';
import type { TrialMetadata } from '../strategies/types.js';
import type { Experiment, Store, Trial } from '../store/types.js';
import type { ExperimentConfig } from './config.js';
import type { EstimatorFiles, Metrics } from './estimators.js';

export interface EvalJob {
  trialId: number;
  sample: Sample;
  /** What the strategy attached to the sample, for the estimator. */
  metadata?: TrialMetadata;
}

/** interrupted: the job was stopped by interrupt(); it has no result and its trial runs again on resume. */
export type EvalOutcome = { ok: true; metrics: Metrics } | { ok: false; error: string; interrupted?: boolean };

export type IntermediateSink = (metric: string, step: number, value: number) => void;

export interface Evaluator {
  /** How many jobs may run at once. */
  readonly slots: number;
  /** libtorch threads each job gets. */
  readonly threadsPerTrial: number;
  run(job: EvalJob, onIntermediate: IntermediateSink): Promise<EvalOutcome>;
  /** Metrics known without evaluating (constraints on them prune before running). */
  cheapMetrics(sample: Sample): Metrics;
  /** Stops the jobs in flight at once (Ctrl-C): they resolve as interrupted, and the evaluator takes no more jobs. */
  interrupt(): void;
  close(): Promise<void>;
  /**
   * Present on evaluators whose trials other processes claim, run and
   * finish in the store (execution.queue pgboss, src/distributed): the loop
   * then neither claims nor finishes a trial nor calls run(); it hands the
   * trial over and gets it back finished (null when interrupted).
   */
  readonly handOver?: (job: EvalJob) => Promise<Trial | null>;
}

/** Builds the evaluator of execution.queue pgboss (src/distributed/coordinator.ts queueEvaluator). */
export type QueueEvaluatorFactory = (o: { config: ExperimentConfig; store: Store; experiment: Experiment; storageUrl: string | undefined; files?: EstimatorFiles }) => Promise<Evaluator>;
