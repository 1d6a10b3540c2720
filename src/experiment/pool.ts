// Runs trial evaluations: in this thread (parallel: 1) or in k worker
// threads, each with its own estimator and an equal share of the libtorch
// threads (never k × all cores).
import { Worker } from 'node:worker_threads';
import { TsnasError, type ErrorCode } from '../errors.js';
import { kitModules } from '../kits/index.js';
import { defaultThreads, getNumThreads, setNumThreads } from '../tensor/index.js';
import type { ExperimentConfig } from './config.js';
import { trialEstimatorConfig } from './config.js';
import { cheapMetricsFunction, createTrialEstimator, type EstimatorFiles, type Metrics, type TrialEstimator } from './estimators.js';
import type { EvalJob, EvalOutcome, Evaluator, IntermediateSink } from './evaluator.js';

/** Total libtorch threads → threads per trial for k parallel trials (at least 1). */
export function threadsPerTrial(total: number, parallel: number): number {
  return Math.max(1, Math.floor(total / parallel));
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Evaluations in this thread, one at a time: by the config's estimator, or
 * by `given` (a caller's object, which the caller disposes).
 */
export function inlineEvaluator(config: ExperimentConfig, given?: TrialEstimator, files: EstimatorFiles = {}): Evaluator {
  const threads = config.threads ?? getNumThreads();
  setNumThreads(threads);
  const estimator: TrialEstimator = given ?? createTrialEstimator(config, files);
  return {
    slots: 1,
    threadsPerTrial: threads,
    cheapMetrics: (s) => estimator.cheapMetrics?.(s) ?? {},
    async run(job, onIntermediate) {
      try {
        return { ok: true, metrics: checkedMetrics(await estimator.evaluate(job.sample, { intermediate: onIntermediate, metadata: job.metadata })) };
      } catch (e) {
        return { ok: false, error: errorText(e) };
      }
    },
    // Built-in estimators run synchronously: none is in flight when this is called; an async one finishes its trial.
    interrupt() {},
    async close() {
      if (!given) estimator.dispose?.();
    },
  };
}

/** An estimator's result, refused (the trial fails) unless it is a record of numbers. */
function checkedMetrics(metrics: unknown): Metrics {
  if (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics)) throw new Error(`the estimator returned ${String(metrics)}, expected a record of metric values`);
  for (const [k, v] of Object.entries(metrics)) if (typeof v !== 'number') throw new Error(`the estimator returned metric ${k} = ${JSON.stringify(v)}, expected a number`);
  return metrics as Metrics;
}

/** Messages between the pool and a worker (worker.ts). */
export type ToWorker = { type: 'job'; job: EvalJob };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'intermediate'; trialId: number; metric: string; step: number; value: number }
  | { type: 'done'; trialId: number; outcome: EvalOutcome }
  | { type: 'fatal'; error: string; code?: ErrorCode };

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  busy: boolean;
  current?: { job: EvalJob; resolve: (o: EvalOutcome) => void; sink: IntermediateSink };
}

/** k worker threads; jobs go to the first idle one. */
export async function workerEvaluator(config: ExperimentConfig, parallel: number, files: EstimatorFiles = {}): Promise<Evaluator> {
  const total = config.threads ?? defaultThreads();
  const each = threadsPerTrial(total, parallel);
  // The main thread only coordinates; it keeps one libtorch thread.
  setNumThreads(1);
  const cheap = cheapMetricsFunction(config);
  // Workers import the modules that registered the spaces, so that they know the config's space too.
  const modules = kitModules(config.space.name);
  const slots: Slot[] = [];
  const waiting: (() => void)[] = [];
  for (let i = 0; i < parallel; i++) {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: { config, threads: each, modules, files } });
    const slot: Slot = { worker, busy: false, ready: Promise.resolve() };
    slot.ready = new Promise((resolve, reject) => {
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'fatal') reject(m.code ? new TsnasError(m.code, m.error) : new Error(m.error));
        else if (m.type === 'intermediate') slot.current?.sink(m.metric, m.step, m.value);
        else if (m.type === 'done' && slot.current) {
          const { resolve: done } = slot.current;
          slot.current = undefined;
          slot.busy = false;
          done(m.outcome);
          waiting.shift()?.();
        }
      });
      worker.on('error', (e) => {
        reject(e);
        if (slot.current) {
          slot.current.resolve({ ok: false, error: `worker crashed: ${errorText(e)}` });
          slot.current = undefined;
        }
      });
    });
    slots.push(slot);
  }
  await Promise.all(slots.map((s) => s.ready));
  let interrupted = false;
  return {
    slots: parallel,
    threadsPerTrial: each,
    cheapMetrics: cheap,
    async run(job, sink) {
      if (interrupted) return { ok: false, error: 'interrupted', interrupted: true };
      let slot = slots.find((s) => !s.busy);
      while (!slot) {
        await new Promise<void>((r) => waiting.push(r));
        if (interrupted) return { ok: false, error: 'interrupted', interrupted: true };
        slot = slots.find((s) => !s.busy);
      }
      slot.busy = true;
      const chosen = slot;
      return new Promise<EvalOutcome>((resolve) => {
        chosen.current = { job, resolve, sink };
        chosen.worker.postMessage({ type: 'job', job } satisfies ToWorker);
      });
    },
    interrupt() {
      if (interrupted) return;
      interrupted = true;
      for (const s of slots) {
        // Terminating stops the job between two libtorch calls; its result never comes.
        void s.worker.terminate();
        if (s.current) {
          const { resolve } = s.current;
          s.current = undefined;
          resolve({ ok: false, error: 'interrupted', interrupted: true });
        }
      }
      for (const wake of waiting.splice(0)) wake();
    },
    async close() {
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}

/**
 * The evaluator a config asks for. Training always runs in worker threads,
 * even one at a time, so that this thread stays free to see Ctrl-C and stop
 * a trial mid-training; benchmark lookups and proxies are quick enough inline.
 */
export async function createEvaluator(config: ExperimentConfig, files: EstimatorFiles = {}): Promise<Evaluator> {
  const training = trialEstimatorConfig(config.estimator).kind === 'training';
  return config.parallel > 1 || training ? workerEvaluator(config, config.parallel, files) : inlineEvaluator(config, undefined, files);
}
