// The final training of a found architecture (the main job's winner, a
// weight-sharing search's cell), as the published protocols do it: its
// network trained from scratch on the training set (or a seeded subset),
// evaluated on the test set after every epoch (recorded only, never used
// for a choice), and saved as safetensors. With a validation fraction (tsnas
// fit) it trains on the rest of the training set, evaluates the held-out
// split after every epoch and the test set, where there is one, once at the
// end. The weights carry in their metadata what a prediction needs: the
// space, the architecture, the network's size, the class names and the
// input's size and normalisation. Any registered space whose kit
// is known in a worker thread (the built-ins).
// It runs in a worker thread (final-worker.ts) so that the main thread stays
// free to see Ctrl-C.
import { Worker } from 'node:worker_threads';
import type { AugmentOptions } from '../data/augment.js';
import { subsetDataset, type Dataset } from '../data/dataset.js';
import { limitIndices, splitIndices } from '../data/loader.js';
import { datasetSource, standardAugment } from '../data/spec.js';
import { saveSafetensors } from '../export/safetensors.js';
import { buildNetwork, getSpace } from '../kits/index.js';
import type { AnyModule } from '../nn/module.js';
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
  /** Hold out this share of the training set (seeded) as the per-epoch validation split; the test set is then used once, at the end. */
  validFraction?: number;
  /**
   * When (Date.now() milliseconds: worker threads have their own
   * performance clock) the training and the evaluations after it must be
   * done (tsnas fit): the training stops on the clock, early enough for
   * those evaluations, timed here on the untrained network first.
   */
  deadline?: number;
  weightsPath: string;
  /** libtorch threads of the training. */
  threads: number;
  progress: boolean;
}

export interface FinalEpoch {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  /** Without a validation fraction: the test accuracy (recorded, never used for a choice). */
  testAccuracy?: number;
  /** With a validation fraction: the held-out split's accuracy. */
  validAccuracy?: number;
}

/** test_* where the test set was evaluated (always without a validation fraction), valid_* with one. */
export type FinalMetrics = Record<'params' | 'train_seconds', number> &
  Partial<Record<'test_accuracy' | 'test_loss' | 'test_images' | 'valid_accuracy' | 'valid_loss' | 'valid_images', number>>;

/** The metadata keys of the final weights that describe the network and its input. */
export interface FinalWeightsMetadata {
  arch: string;
  space: string;
  resolution: string;
  C?: string;
  N?: string;
  /** JSON: the class names by index. */
  classes: string;
  in_channels: string;
  /** The side images were stored at before the resize to `resolution` (folders resize to a common size first). */
  image_size: string;
  /** JSON: per-channel mean and std of pixels scaled to [0, 1]. */
  mean: string;
  std: string;
  /** JSON: the training's random augmentation ({crop, flip, cutout}; {} for none), a record of how the weights were made. */
  augment?: string;
}

/** Seconds to evaluate the given splits once after the training: measured on up to two batches of each's first images, with a margin of a quarter. */
function evaluationSeconds(net: AnyModule, augment: AugmentOptions, splits: (Dataset | undefined)[]): number {
  let seconds = 0;
  for (const d of splits) {
    if (!d) continue;
    const probe = subsetDataset(d, Array.from({ length: Math.min(d.n, 512) }, (_, i) => i));
    evaluate(net, probe, { augment, limit: 256 });
    const t0 = performance.now();
    evaluate(net, probe, { augment });
    seconds += ((performance.now() - t0) / 1000) * (d.n / probe.n);
  }
  return 1.25 * seconds;
}

/** Trains and tests the winner in this thread; returns its final metrics. */
export function finalTraining(o: FinalTrainingOptions, onEpoch: (e: FinalEpoch) => void): FinalMetrics {
  setNumThreads(o.threads);
  const space = getSpace(o.space.name, spaceOptionsOf(o.space.name, o.space.options));
  const winner = space.parse(o.arch);
  const source = datasetSource(o.dataset);
  const fullTrain = source.load('train');
  const split = o.validFraction !== undefined ? splitIndices(fullTrain.n, { validFraction: o.validFraction, seed: o.seed }) : undefined;
  const trainIndices = split ? split.train : Int32Array.from({ length: fullTrain.n }, (_, i) => i);
  const train = o.limitTrain || split ? subsetDataset(fullTrain, limitIndices(trainIndices, o.limitTrain, o.seed)) : fullTrain;
  const valid = split ? subsetDataset(fullTrain, split.valid) : undefined;
  const testOnce = () => {
    const fullTest = source.load('test');
    return o.limitTest ? subsetDataset(fullTest, limitIndices(Array.from({ length: fullTest.n }, (_, i) => i), o.limitTest, o.seed)) : fullTest;
  };
  // Without a held-out split the test split is evaluated every epoch; under a deadline it is read before the clock starts (and still evaluated only at the end).
  const test = !valid || (o.deadline !== undefined && source.hasTest()) ? testOnce() : undefined;
  // The source's standard augmentation (crop and flip for colour images) while training; evaluation runs only its resize and normalisation.
  const augment = standardAugment(source, fullTrain, o.resolution === fullTrain.height ? undefined : o.resolution);
  const { normalize } = augment;
  const seed = trialSeed(o.seed, space.hash(winner));
  manualSeed(seed);
  const net = buildNetwork(space, winner, {
    numClasses: fullTrain.numClasses, inChannels: fullTrain.channels, inputSize: o.resolution,
    ...(o.channels !== undefined ? { channels: o.channels } : {}), ...(o.cells !== undefined ? { cells: o.cells } : {}),
  });
  try {
    const timeLimit = o.deadline !== undefined ? { seconds: Math.max(1, (o.deadline - Date.now()) / 1000 - evaluationSeconds(net, augment, [valid, test])) } : undefined;
    const result = trainModel(net, train, {
      epochs: o.epochs,
      batchSize: o.batch,
      lr: o.lr,
      augment,
      seed,
      progress: o.progress ? 'final' : false,
      ...(timeLimit ? { timeLimit } : {}),
      onEpoch: (r) => {
        if (valid) onEpoch({ epoch: r.epoch, trainLoss: r.trainLoss, trainAccuracy: r.trainAccuracy, validAccuracy: evaluate(net, valid, { augment }).accuracy });
        else onEpoch({ epoch: r.epoch, trainLoss: r.trainLoss, trainAccuracy: r.trainAccuracy, testAccuracy: evaluate(net, test!, { augment }).accuracy });
      },
    });
    const metrics: FinalMetrics = { params: net.numParameters(), train_seconds: result.seconds };
    if (valid) {
      const v = evaluate(net, valid, { augment });
      Object.assign(metrics, { valid_accuracy: v.accuracy, valid_loss: v.loss, valid_images: v.n });
    }
    const testSet = test ?? (source.hasTest() ? testOnce() : undefined);
    if (testSet) {
      const t = evaluate(net, testSet, { augment });
      Object.assign(metrics, { test_accuracy: t.accuracy, test_loss: t.loss, test_images: t.n });
    }
    const described: FinalWeightsMetadata = {
      arch: o.arch, space: o.space.name, resolution: String(o.resolution),
      ...(o.channels !== undefined ? { C: String(o.channels) } : {}), ...(o.cells !== undefined ? { N: String(o.cells) } : {}),
      classes: JSON.stringify(fullTrain.classNames ?? Array.from({ length: fullTrain.numClasses }, (_, i) => String(i))),
      in_channels: String(fullTrain.channels), image_size: String(fullTrain.height),
      mean: JSON.stringify(normalize.mean), std: JSON.stringify(normalize.std),
      augment: JSON.stringify({ crop: augment.crop, flip: augment.flip || undefined, cutout: augment.cutout || undefined }),
    };
    saveSafetensors(o.weightsPath, net.stateDict(), {
      ...described,
      ...(metrics.test_accuracy !== undefined ? { test_accuracy: String(metrics.test_accuracy) } : {}),
      ...(metrics.valid_accuracy !== undefined ? { valid_accuracy: String(metrics.valid_accuracy) } : {}),
    });
    return metrics;
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
