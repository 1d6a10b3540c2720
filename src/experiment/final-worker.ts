// The worker thread of the main job's final training (final.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { TsnasError } from '../errors.js';
import { finalTraining, type FinalTrainingOptions, type FromFinalWorker } from './final.js';

const post = (m: FromFinalWorker) => parentPort!.postMessage(m);
try {
  const metrics = finalTraining(workerData as FinalTrainingOptions, (epoch) => post({ type: 'epoch', epoch }));
  post({ type: 'done', metrics });
} catch (e) {
  post({ type: 'error', message: e instanceof Error ? e.message : String(e), ...(e instanceof TsnasError ? { code: e.code } : {}) });
}
