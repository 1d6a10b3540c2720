// Supervised training of a classifier: SGD with a cosine schedule, gradient
// clipping, per-epoch metrics and evaluation. Estimators (full training,
// early stopping, curve extrapolation) build on trainModel's epoch hook.
import type { Dataset } from '../data/dataset.js';
import { DataLoader } from '../data/loader.js';
import type { AugmentOptions } from '../data/augment.js';
import type { AnyModule } from '../nn/module.js';
import { SGD } from '../nn/optim.js';
import { LrScheduler, clipGradNorm, constantLr, cosineAnnealing } from '../nn/schedule.js';
import { crossEntropy, noGrad, tidy, type Tensor } from '../tensor/index.js';
import { ProgressBar } from '../util/progress.js';
import { configError } from '../errors.js';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  /** Cosine annealing to etaMin over the epochs (default), or a constant rate. */
  schedule?: 'cosine' | 'constant';
  etaMin?: number;
  /** Gradient-norm clipping; 0 disables it (default 5). */
  gradClip?: number;
  labelSmoothing?: number;
  /** Training-time preprocessing and augmentation. */
  augment?: AugmentOptions;
  /** Use at most this many training samples (a seeded subset). */
  limitTrain?: number;
  /** Seeds shuffling and augmentation (weights are seeded by the caller via manualSeed). */
  seed?: number;
  /** Evaluated after every epoch when given (e.g. a validation split). */
  valid?: Dataset;
  /** Called after every epoch; returning 'stop' ends training early (pruning, curve extrapolation). */
  onEpoch?: (record: EpochRecord) => void | 'stop';
  /** A progress bar on stderr. */
  progress?: boolean | string;
}

export interface EpochRecord {
  epoch: number;
  lr: number;
  trainLoss: number;
  trainAccuracy: number;
  validLoss?: number;
  validAccuracy?: number;
  seconds: number;
}

export interface TrainResult {
  history: EpochRecord[];
  /** Epochs actually run (fewer than asked when onEpoch stopped training). */
  epochs: number;
  stoppedEarly: boolean;
  seconds: number;
}

export interface EvalResult {
  loss: number;
  accuracy: number;
  n: number;
}

function check(o: TrainOptions): void {
  if (!(Number.isInteger(o.epochs) && o.epochs >= 0)) throw configError(`expected an integer >= 0, got ${o.epochs}`, 'epochs');
  if (!(Number.isInteger(o.batchSize) && o.batchSize >= 1)) throw configError(`expected an integer >= 1, got ${o.batchSize}`, 'batch');
  if (!(o.lr > 0)) throw configError(`expected a positive number, got ${o.lr}`, 'lr');
}

/** Trains model in place on train; returns the per-epoch history. */
export function trainModel(model: AnyModule, train: Dataset, o: TrainOptions): TrainResult {
  check(o);
  const start = performance.now();
  const loader = new DataLoader(train, {
    batchSize: o.batchSize,
    limit: o.limitTrain,
    seed: o.seed ?? 0,
    augment: o.augment,
    train: true,
    dropLast: false,
  });
  const params = model.parameters();
  const optimizer = new SGD(params, {
    lr: o.lr,
    momentum: o.momentum ?? 0.9,
    nesterov: o.nesterov ?? true,
    weightDecay: o.weightDecay ?? 5e-4,
  });
  const schedule = (o.schedule ?? 'cosine') === 'cosine' ? cosineAnnealing(o.epochs, o.etaMin ?? 0) : constantLr();
  const scheduler = new LrScheduler(optimizer, schedule);
  const clip = o.gradClip ?? 5;
  const history: EpochRecord[] = [];
  let stoppedEarly = false;
  const steps = loader.batchesPerEpoch;
  // One bar over all epochs: a log gets a line per 10% of the training, not per 10% of each epoch.
  const bar = o.progress ? new ProgressBar(typeof o.progress === 'string' ? o.progress : 'train', o.epochs * steps) : undefined;
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const epochStart = performance.now();
      model.train();
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      for (let step = 0; step < steps; step++) {
        const batch = loader.next();
        const [loss, right] = tidy(() => {
          optimizer.zeroGrad();
          const logits = model.call(batch.x) as Tensor;
          const l = crossEntropy(logits, batch.y, { labelSmoothing: o.labelSmoothing ?? 0 });
          l.backward();
          if (clip > 0) clipGradNorm(params, clip);
          optimizer.step();
          const hits = noGrad(() => logits.argmax(1).eq(batch.y).sum().item());
          return [l.item(), hits];
        });
        const n = batch.y.shape[0]!;
        batch.x.dispose();
        batch.y.dispose();
        if (!Number.isFinite(loss)) throw configError(`training diverged: loss ${loss} at epoch ${epoch + 1}, step ${step + 1}`, 'lr');
        lossSum += loss * n;
        correct += right;
        seen += n;
        bar?.tick(1, `epoch ${epoch + 1}/${o.epochs} loss ${(lossSum / seen).toFixed(3)} acc ${(correct / seen).toFixed(3)}`);
      }
      const record: EpochRecord = {
        epoch: epoch + 1,
        lr: scheduler.lastLr[0]!,
        trainLoss: lossSum / Math.max(1, seen),
        trainAccuracy: correct / Math.max(1, seen),
        seconds: (performance.now() - epochStart) / 1000,
      };
      scheduler.step();
      if (o.valid) {
        const v = evaluate(model, o.valid, { batchSize: Math.max(256, o.batchSize), augment: o.augment });
        record.validLoss = v.loss;
        record.validAccuracy = v.accuracy;
      }
      history.push(record);
      if (o.onEpoch?.(record) === 'stop') {
        stoppedEarly = true;
        break;
      }
    }
  } finally {
    optimizer.dispose();
  }
  return { history, epochs: history.length, stoppedEarly, seconds: (performance.now() - start) / 1000 };
}

/** Loss and accuracy on a whole dataset, in eval mode, without gradients. */
export function evaluate(
  model: AnyModule,
  data: Dataset,
  o: { batchSize?: number; augment?: AugmentOptions; limit?: number } = {},
): EvalResult {
  const wasTraining = model.training;
  model.eval();
  const loader = new DataLoader(data, {
    batchSize: o.batchSize ?? 256,
    shuffle: false,
    augment: o.augment,
    train: false,
    limit: o.limit,
  });
  let lossSum = 0;
  let correct = 0;
  let seen = 0;
  try {
    for (let step = 0; step < loader.batchesPerEpoch; step++) {
      const batch = loader.next();
      const [loss, right] = tidy(() =>
        noGrad(() => {
          const logits = model.call(batch.x) as Tensor;
          const l = crossEntropy(logits, batch.y, { reduction: 'sum' }).item();
          return [l, logits.argmax(1).eq(batch.y).sum().item()];
        }),
      );
      seen += batch.y.shape[0]!;
      batch.x.dispose();
      batch.y.dispose();
      lossSum += loss;
      correct += right;
    }
  } finally {
    model.train(wasTraining);
  }
  return { loss: lossSum / Math.max(1, seen), accuracy: correct / Math.max(1, seen), n: seen };
}
