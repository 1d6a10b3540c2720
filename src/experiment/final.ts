// The final training of a found architecture (the main job's winner, a
// weight-sharing search's cell), as the published protocols do it: its
// network trained from scratch on the training set (or a seeded subset),
// evaluated on the test set after every epoch (recorded only, never used
// for a choice), and saved as safetensors. Any registered space whose kit
// is known in a worker thread (the built-ins).
// It runs in a worker thread (final-worker.ts) so that the main thread stays
// free to see Ctrl-C.
import { Worker } from 'node:worker_threads';
import type { AugmentOptions } from '../data/augment.js';
import { subsetDataset } from '../data/dataset.js';
import { limitIndices } from '../data/loader.js';
import { datasetSource } from '../data/spec.js';
import { saveSafetensors } from '../export/safetensors.js';
import { buildNetwork, getSpace } from '../kits/index.js';
import { manualSeed, setNumThreads } from '../tensor/index.js';
import { evaluate, trainModel } from '../train/trainer.js';
import { TsnasError, type ErrorCode } from '../errors.js';
import { trialSeed } from './estimators.js';
import { spaceOptionsOf } from './config.js';

export interface FinalTrainingOptions {
  /** The space (by name, with its options as getSpace takes them) and the architecture in its text form. */
  space: { name: string; options: Record<string, unknown> };
  arch: string;
  seed: number;
  dataset: string;
  /** Width and cells of spaces whose sample does not fix them (nb201, darts). */
  channels?: number;
  cells?: number;
  resolution: number;
  epochs: number;
  batch: number;
  lr: number;
  limitTrain?: number;
  limitTest?: number;
  weightsPath: string;
  /** libtorch threads of the training. */
  threads: number;
  progress: boolean;
}

export interface FinalEpoch {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testAccuracy: number;
}

export type FinalMetrics = Record<'test_accuracy' | 'test_loss' | 'params' | 'train_seconds' | 'test_images', number>;

/** Trains and tests the winner in this thread; returns its final metrics. */
export function finalTraining(o: FinalTrainingOptions, onEpoch: (e: FinalEpoch) => void): FinalMetrics {
  setNumThreads(o.threads);
  const space = getSpace(o.space.name, spaceOptionsOf(o.space.name, o.space.options));
  const winner = space.parse(o.arch);
  const source = datasetSource(o.dataset);
  const fullTrain = source.load('train');
  const train = o.limitTrain ? subsetDataset(fullTrain, limitIndices(Array.from({ length: fullTrain.n }, (_, i) => i), o.limitTrain, o.seed)) : fullTrain;
  const fullTest = source.load('test');
  const test = o.limitTest ? subsetDataset(fullTest, limitIndices(Array.from({ length: fullTest.n }, (_, i) => i), o.limitTest, o.seed)) : fullTest;
  const augment: AugmentOptions = { resize: o.resolution === fullTrain.height ? undefined : o.resolution, normalize: source.normalization(fullTrain) };
  const seed = trialSeed(o.seed, space.hash(winner));
  manualSeed(seed);
  const net = buildNetwork(space, winner, {
    numClasses: fullTrain.numClasses, inChannels: fullTrain.channels, inputSize: o.resolution,
    ...(o.channels !== undefined ? { channels: o.channels } : {}), ...(o.cells !== undefined ? { cells: o.cells } : {}),
  });
  try {
    const result = trainModel(net, train, {
      epochs: o.epochs,
      batchSize: o.batch,
      lr: o.lr,
      augment,
      seed,
      progress: o.progress ? 'final' : false,
      onEpoch: (r) => {
        const t = evaluate(net, test, { augment });
        onEpoch({ epoch: r.epoch, trainLoss: r.trainLoss, trainAccuracy: r.trainAccuracy, testAccuracy: t.accuracy });
      },
    });
    const testResult = evaluate(net, test, { augment });
    saveSafetensors(o.weightsPath, net.stateDict(), {
      arch: o.arch, space: o.space.name, resolution: String(o.resolution), test_accuracy: String(testResult.accuracy),
      ...(o.channels !== undefined ? { C: String(o.channels) } : {}), ...(o.cells !== undefined ? { N: String(o.cells) } : {}),
    });
    return { test_accuracy: testResult.accuracy, test_loss: testResult.loss, params: net.numParameters(), train_seconds: result.seconds, test_images: testResult.n };
  } finally {
    net.dispose();
  }
}

export type FromFinalWorker = { type: 'epoch'; epoch: FinalEpoch } | { type: 'done'; metrics: FinalMetrics } | { type: 'error'; message: string; code?: string };

/**
 * finalTraining in a worker thread. Aborting the signal terminates it and
 * resolves undefined (nothing saved to the store by it).
 */
export function finalTrainingInWorker(o: FinalTrainingOptions, onEpoch: (e: FinalEpoch) => void, signal?: AbortSignal): Promise<FinalMetrics | undefined> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return resolve(undefined);
    const worker = new Worker(new URL('./final-worker.js', import.meta.url), { workerData: o });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => settle(() => {
      void worker.terminate();
      resolve(undefined);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: FromFinalWorker) => {
      if (m.type === 'epoch') onEpoch(m.epoch);
      else if (m.type === 'done') settle(() => resolve(m.metrics));
      else settle(() => reject(m.code ? new TsnasError(m.code as ErrorCode, m.message) : new Error(m.message)));
    });
    worker.on('error', (e) => settle(() => reject(e)));
    worker.on('exit', (code) => settle(() => reject(new Error(`final training worker exited with code ${code} before finishing`))));
  });
}
