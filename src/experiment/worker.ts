// A worker thread of a parallel experiment: imports the modules that
// registered the spaces (spaces of one's own among them), builds its own
// estimator from the config, takes its share of libtorch threads, evaluates
// jobs one at a time and reports learning curves and outcomes to the pool
// (pool.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { TsnasError } from '../errors.js';
import { setNumThreads } from '../tensor/index.js';
import type { ExperimentConfig } from './config.js';
import { createTrialEstimator, type EstimatorFiles } from './estimators.js';
import type { FromWorker, ToWorker } from './pool.js';

const port = parentPort!;
const post = (m: FromWorker) => port.postMessage(m);
const { config, threads, modules, files } = workerData as { config: ExperimentConfig; threads: number; modules: string[]; files: EstimatorFiles };

try {
  for (const url of modules) await import(url);
  setNumThreads(threads);
  const estimator = createTrialEstimator(config, files);
  port.on('message', (m: ToWorker) => {
    const { job } = m;
    try {
      const metrics = estimator.evaluate(job.sample, {
        intermediate: (metric, step, value) => post({ type: 'intermediate', trialId: job.trialId, metric, step, value }),
        metadata: job.metadata,
      });
      post({ type: 'done', trialId: job.trialId, outcome: { ok: true, metrics } });
    } catch (e) {
      post({ type: 'done', trialId: job.trialId, outcome: { ok: false, error: e instanceof Error ? e.message : String(e) } });
    }
  });
  post({ type: 'ready' });
} catch (e) {
  // A user's mistake (a dataset too small for the split) stays one across the thread boundary.
  post({ type: 'fatal', error: e instanceof Error ? e.message : String(e), ...(e instanceof TsnasError ? { code: e.code } : {}) });
}
