// Supervised training of a classifier: SGD with a cosine schedule, gradient
// clipping, per-epoch metrics and evaluation. Estimators (full training,
// early stopping, curve extrapolation) build on trainModel's epoch hook.
import type { Dataset } from '../data/dataset.js';
import { DataLoader } from '../data/loader.js';
import type { AugmentOptions } from '../data/augment.js';
import type { AnyModule } from '../nn/module.js';
import { SGD } from '../nn/optim.js';
import { LrScheduler, clipGradNorm, constantLr, cosineAnnealing, cosineAt } from '../nn/schedule.js';
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
  /**
   * Ends training once this many seconds have passed (checked before each
   * step, so at least one runs; the epoch cut short is recorded and
   * evaluated as any other). A cosine schedule then anneals over the time
   * (or the steps, whichever is further along), so that the rate reaches
   * etaMin when time is up however fast the machine turns out to be.
   * `now` (milliseconds) is for tests.
   */
  timeLimit?: { seconds: number; now?: () => number };
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
  /** Epochs actually run (fewer than asked when onEpoch stopped training or time ran out). */
  epochs: number;
  stoppedEarly: boolean;
  /** The time limit ended training (the last epoch may be partial). */
  outOfTime: boolean;
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
  if (o.timeLimit && !(o.timeLimit.seconds > 0)) throw configError(`expected a positive number of seconds, got ${o.timeLimit.seconds}`, 'timeLimit');
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
  const cosine = (o.schedule ?? 'cosine') === 'cosine';
  const scheduler = new LrScheduler(optimizer, cosine ? cosineAnnealing(o.epochs || 1, o.etaMin ?? 0) : constantLr());
  const clip = o.gradClip ?? 5;
  const history: EpochRecord[] = [];
  let stoppedEarly = false;
  let outOfTime = false;
  const steps = loader.batchesPerEpoch;
  const totalSteps = o.epochs * steps;
  const now = o.timeLimit?.now ?? (() => performance.now());
  const clockStart = now();
  /** Under a time limit: the share of the training done, by time or by steps, whichever is further. */
  const progress = (stepsDone: number) => Math.max((now() - clockStart) / 1000 / o.timeLimit!.seconds, stepsDone / Math.max(1, totalSteps));
  // One bar over all epochs: a log gets a line per 10% of the training, not per 10% of each epoch.
  const label = typeof o.progress === 'string' ? o.progress : 'train';
  const bar = o.progress ? new ProgressBar(o.timeLimit ? `${label} (${Math.round(o.timeLimit.seconds)} s limit)` : label, totalSteps) : undefined;
  try {
    for (let epoch = 0; epoch < o.epochs && !outOfTime; epoch++) {
      const epochStart = performance.now();
      model.train();
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      for (let step = 0; step < steps; step++) {
        const done = epoch * steps + step;
        if (o.timeLimit) {
          const p = progress(done);
          if (done > 0 && p >= 1) {
            outOfTime = true;
            break;
          }
          if (cosine) optimizer.setLr(scheduler.baseLrs.map((base) => cosineAt(p, base, o.etaMin ?? 0)));
        }
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
        const suffix = `epoch ${epoch + 1}/${o.epochs} loss ${(lossSum / seen).toFixed(3)} acc ${(correct / seen).toFixed(3)}`;
        if (bar && o.timeLimit) bar.update(Math.min(totalSteps, Math.round(progress(done + 1) * totalSteps)), suffix);
        else bar?.tick(1, suffix);
      }
      const record: EpochRecord = {
        epoch: epoch + 1,
        lr: scheduler.lastLr[0]!,
        trainLoss: lossSum / Math.max(1, seen),
        trainAccuracy: correct / Math.max(1, seen),
        seconds: (performance.now() - epochStart) / 1000,
      };
      if (!o.timeLimit) scheduler.step();
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
    if (outOfTime) bar?.update(totalSteps);
  } finally {
    optimizer.dispose();
  }
  return { history, epochs: history.length, stoppedEarly: stoppedEarly || outOfTime, outOfTime, seconds: (performance.now() - start) / 1000 };
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
