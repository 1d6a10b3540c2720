// Training-based estimation: full training, early stopping (n epochs of the
// full schedule as a proxy) and learning-curve extrapolation that stops
// hopeless candidates. Every epoch of every candidate is recorded.
import type { Dataset } from '../data/dataset.js';
import type { AugmentOptions } from '../data/augment.js';
import type { AnyModule } from '../nn/module.js';
import type { Sample } from '../spaces/types.js';
import type { Objectives } from '../strategies/types.js';
import { manualSeed } from '../tensor/index.js';
import { trainModel, evaluate, type EpochRecord, type TrainOptions } from '../train/trainer.js';
import { configError } from '../errors.js';
import { curveStopper, type ExtrapolationOptions } from './curves.js';
import type { Estimate, Estimator } from './types.js';

export interface TrainingSetup {
  /** Builds the (untrained) network of a sample. */
  build: (sample: Sample) => AnyModule;
  train: Dataset;
  /** Where accuracy is measured after every epoch. */
  valid: Dataset;
  batchSize: number;
  lr: number;
  augment?: AugmentOptions;
  limitTrain?: number;
  /** Seeds weights (manualSeed before build) and data order. */
  seed?: number;
  weightDecay?: number;
  /** Called after every epoch of every candidate: store or plot curves here. */
  onEpoch?: (sample: Sample, record: EpochRecord) => void;
  /** Extra objectives of a sample (e.g. params, latency from a cost model). */
  extraObjectives?: (sample: Sample, model: AnyModule) => Objectives;
}

export type TrainingMode =
  | { kind: 'full' }
  /** Train the first `epochs` epochs of the full schedule and report the accuracy there. */
  | { kind: 'early-stop'; epochs: number }
  /** Extrapolate from the first epochs; stop when the forecast is confidently below the best final so far. */
  | { kind: 'curve'; minEpochs?: number; z?: number; extrapolation?: ExtrapolationOptions };

export interface TrainingEstimatorOptions extends TrainingSetup {
  /** Length of the full schedule (cosine annealing over these epochs). */
  epochs: number;
  mode?: TrainingMode;
}

const validAccuracy = (r: EpochRecord) => r.validAccuracy ?? r.trainAccuracy;

/** Trains each sample (as the mode says) and reports its validation accuracy as `accuracy`. */
export class TrainingEstimator implements Estimator {
  readonly name: string;
  readonly objective = 'accuracy';
  readonly mode: TrainingMode;
  /** Best final (fully trained) accuracy seen so far: the bar curve extrapolation must clear. */
  bestFinal: number | undefined;

  constructor(readonly options: TrainingEstimatorOptions) {
    if (!(Number.isInteger(options.epochs) && options.epochs >= 1)) throw configError(`expected an integer >= 1, got ${options.epochs}`, 'epochs');
    this.mode = options.mode ?? { kind: 'full' };
    if (this.mode.kind === 'early-stop' && !(Number.isInteger(this.mode.epochs) && this.mode.epochs >= 1 && this.mode.epochs <= options.epochs)) {
      throw configError(`early stopping epochs must be an integer in 1..${options.epochs}, got ${this.mode.epochs}`, 'early-stop');
    }
    this.name = this.mode.kind === 'full' ? 'train' : this.mode.kind === 'early-stop' ? `train:${this.mode.epochs}` : 'train:curve';
  }

  estimate(sample: Sample): Estimate {
    const o = this.options;
    const mode = this.mode;
    manualSeed(o.seed ?? 0);
    const model = o.build(sample);
    try {
      const stopper = mode.kind === 'curve'
        ? curveStopper({
          finalEpoch: o.epochs, minEpochs: mode.minEpochs, z: mode.z, extrapolation: mode.extrapolation,
          threshold: () => this.bestFinal, metric: validAccuracy,
        })
        : undefined;
      const limit = mode.kind === 'early-stop' ? mode.epochs : o.epochs;
      const trainOptions: TrainOptions = {
        epochs: o.epochs, batchSize: o.batchSize, lr: o.lr, augment: o.augment, limitTrain: o.limitTrain,
        seed: o.seed, weightDecay: o.weightDecay, valid: o.valid,
        onEpoch: (r) => {
          o.onEpoch?.(sample, r);
          if (stopper?.onEpoch(r) === 'stop') return 'stop';
          if (r.epoch >= limit) return 'stop';
        },
      };
      const result = trainModel(model, o.train, trainOptions);
      const curve = result.history.map(validAccuracy);
      const last = curve.at(-1) ?? evaluate(model, o.valid, { augment: o.augment }).accuracy;
      const completed = result.epochs === o.epochs;
      if (completed && (this.bestFinal === undefined || last > this.bestFinal)) this.bestFinal = last;
      const predicted = stopper?.stoppedAt !== undefined ? stopper.prediction : undefined;
      return {
        objectives: { accuracy: predicted ? predicted.mean : last, ...o.extraObjectives?.(sample, model) },
        std: predicted?.std,
        curve,
        cost: { seconds: result.seconds, epochs: result.epochs },
        details: { history: result.history, stoppedEarly: predicted !== undefined, lastObserved: last, completed },
      };
    } finally {
      model.dispose();
    }
  }

  estimateMany(samples: readonly Sample[]): Estimate[] {
    return samples.map((s) => this.estimate(s));
  }

  dispose(): void {}
}

/**
 * A network kept between calls and trained further on each: the unit of
 * successive halving and Hyperband. Each advance continues with a constant
 * learning rate (the final budget is not known in advance) and a fresh
 * optimizer; it returns the validation accuracy at the new budget.
 */
export function trainingRun(setup: TrainingSetup, sample: Sample): { advance(epochs: number): number; curve: number[]; dispose(): void } {
  manualSeed(setup.seed ?? 0);
  const model = setup.build(sample);
  let trained = 0;
  const curve: number[] = [];
  return {
    curve,
    advance(epochs: number): number {
      if (epochs > trained) {
        const offset = trained;
        trainModel(model, setup.train, {
          epochs: epochs - trained, batchSize: setup.batchSize, lr: setup.lr, schedule: 'constant', augment: setup.augment,
          limitTrain: setup.limitTrain, seed: (setup.seed ?? 0) + trained, weightDecay: setup.weightDecay, valid: setup.valid,
          onEpoch: (r) => {
            const record = { ...r, epoch: r.epoch + offset };
            curve.push(validAccuracy(record));
            setup.onEpoch?.(sample, record);
          },
        });
        trained = epochs;
      }
      return curve[trained - 1] ?? evaluate(model, setup.valid, { augment: setup.augment }).accuracy;
    },
    dispose: () => model.dispose(),
  };
}
