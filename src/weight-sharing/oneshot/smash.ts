// SMASH (Brock et al. 2018) as a checkpointable weight-sharing run on the
// NAS-Bench-201 cell space: each step samples a cell uniformly, the
// hypernetwork generates its convolution kernels, and one SGD step on a
// training batch updates the hypernetwork (and the ordinary layers) through
// them. The final step is the paper's: score random distinct cells by their
// validation accuracy with generated weights (batch norm re-estimated per
// cell) and keep the best.
import { TsnasError, configError, dataError } from '../../errors.js';
import type { Dataset } from '../../data/dataset.js';
import { DataLoader, splitIndices, type Batch, type LoaderState } from '../../data/loader.js';
import { getKit, getSpace } from '../../kits/index.js';
import { SGD } from '../../nn/optim.js';
import { LrScheduler, clipGradNorm, cosineAnnealing } from '../../nn/schedule.js';
import { nb201Space } from '../../spaces/nb201.js';
import type { Sample } from '../../spaces/types.js';
import { crossEntropy, manualSeed, noGrad, tidy, type Tensor } from '../../tensor/index.js';
import type { Json } from '../../util/json.js';
import { betweenSteps, loadModuleTensors, loadOptimizerCheckpoint, moduleTensors, optimizerCheckpoint, reseed } from '../checkpoint.js';
import type { RunDataOptions, WeightSharingCheckpoint, WeightSharingEpoch, WeightSharingResult, WeightSharingRun } from '../run.js';
import { oneShotCostModel, type SampleCost } from './constraints.js';
import { HyperNetwork } from './hypernet.js';
import { pathAccuracy, recalibrateBatchNorm } from './paths.js';
import { disposeBatches, holdOutBatches, type SupernetTrainingOptions } from './training.js';

export interface SmashOptions extends SupernetTrainingOptions, RunDataOptions {
  /** Channels of the first stage (default: the nb201 kit's). */
  C?: number;
  /** Cells per stage (default: the nb201 kit's). */
  cells?: number;
  /** Hidden width of the hypernetwork (default 64). */
  hidden?: number;
  /** Batches of training images that re-estimate batch norm per scored cell (default 4). */
  calibrationBatches?: number;
  /** Validation batches each cell is scored on (default 4). */
  evalBatches?: number;
  /** Distinct random cells scored in the final step (default 100). */
  budget?: number;
  /** Called at the end of finish() with the scoring of any cell (e.g. to measure ranking quality). */
  afterSearch?: (ctx: { evaluate: (s: Sample) => number }) => void;
}

interface SavedState {
  method: 'smash';
  epochsDone: number;
  trainingSeconds: number;
  stoppedByBudget: boolean;
  loader: LoaderState;
  scheduler: { epoch: number; baseLrs: number[] };
  optimizer: Json;
}

export class SmashRun implements WeightSharingRun {
  readonly net: HyperNetwork;
  readonly optimizer: SGD;
  readonly scheduler: LrScheduler;
  readonly space = nb201Space();
  readonly seed: number;
  readonly calibration: Batch[];
  readonly validBatches: Batch[] = [];
  readonly costModel: (s: Sample) => SampleCost;
  readonly #loader: DataLoader;
  readonly #planned: number;
  #done = 0;
  #trainingSeconds = 0;
  #stoppedByBudget = false;

  constructor(data: Dataset, readonly options: SmashOptions) {
    const o = options;
    if (!(Number.isInteger(o.epochs) && o.epochs >= 1)) throw configError(`expected at least 1 epoch, got ${o.epochs}`, 'epochs');
    if (o.budget !== undefined && !(Number.isInteger(o.budget) && o.budget >= 1)) throw configError(`expected at least 1 cell to score, got ${o.budget}`, 'budget');
    this.#planned = o.epochs;
    this.seed = o.seed ?? 0;
    const sized = getKit('nb201').sized!;
    const C = o.C ?? sized.channels;
    const cells = o.cells ?? sized.cells;
    const side = o.augment?.resize ?? data.height;
    this.costModel = oneShotCostModel(getSpace('nb201'), { numClasses: data.numClasses, input: [data.channels, side, side], C, cells });
    const split = splitIndices(data.n, { validFraction: o.validFraction ?? 0.5, seed: this.seed, limit: o.limitTrain });
    const batchSize = o.batchSize ?? 64;
    this.#loader = new DataLoader(data, { batchSize, indices: split.train, augment: o.augment, seed: this.seed, dropLast: split.train.length >= batchSize });
    this.calibration = holdOutBatches(data, split.train, o.calibrationBatches ?? 4, batchSize, o.augment, this.seed + 2);
    try {
      this.validBatches = holdOutBatches(data, split.valid, o.evalBatches ?? 4, batchSize, o.augment, this.seed + 3);
      manualSeed(this.seed);
      this.net = new HyperNetwork({ C, N: cells, numClasses: data.numClasses, inChannels: data.channels, ...(o.hidden !== undefined ? { hidden: o.hidden } : {}) });
    } catch (e) {
      disposeBatches(this.calibration);
      disposeBatches(this.validBatches);
      throw e;
    }
    this.optimizer = new SGD(this.net.parameters(), { lr: o.lr ?? 0.025, momentum: o.momentum ?? 0.9, weightDecay: o.weightDecay ?? 3e-4 });
    this.scheduler = new LrScheduler(this.optimizer, o.schedule ?? cosineAnnealing(o.epochs, o.lrMin ?? 0.001));
  }

  get epochs(): number {
    return this.#stoppedByBudget ? this.#done : this.#planned;
  }

  get epochsDone(): number {
    return this.#done;
  }

  /** One SGD step of the hypernetwork on a batch through the weights it generates for `sample`. */
  trainStep(batch: { x: Tensor; y: Tensor }, sample: Sample): { loss: number; correct: number } {
    const { net, optimizer } = this;
    net.setOps(this.space.opsOf(sample));
    net.train();
    optimizer.zeroGrad();
    const r = tidy(() => {
      const logits = net.call(batch.x);
      const loss = crossEntropy(logits, batch.y);
      loss.backward();
      return { loss: loss.item(), correct: noGrad(() => logits.argmax(1).eq(batch.y).sum().item()) };
    });
    if ((this.options.gradClip ?? 5) > 0) clipGradNorm(this.net.parameters(), this.options.gradClip ?? 5);
    optimizer.step();
    optimizer.zeroGrad();
    return r;
  }

  async trainEpoch(signal?: AbortSignal): Promise<WeightSharingEpoch> {
    if (this.#done >= this.epochs) throw new TsnasError('state', `all ${this.epochs} epochs of the smash run are trained already`);
    const epoch = this.#done;
    const start = performance.now();
    const rng = reseed(this.seed, epoch);
    this.scheduler.loadStateDict({ epoch });
    const lr = this.optimizer.lrs[0]!;
    const steps = Math.min(this.#loader.batchesPerEpoch, this.options.stepsPerEpoch ?? Infinity);
    let loss = 0;
    let correct = 0;
    let n = 0;
    for (let s = 0; s < steps; s++) {
      await betweenSteps(signal);
      const batch = this.#loader.next();
      try {
        const r = this.trainStep(batch, this.space.sample(rng));
        if (!Number.isFinite(r.loss)) throw configError(`hypernetwork training diverged: loss ${r.loss} at epoch ${epoch + 1}`, 'lr');
        loss += r.loss * batch.y.size(0);
        correct += r.correct;
        n += batch.y.size(0);
      } finally {
        batch.x.dispose();
        batch.y.dispose();
      }
    }
    const seconds = (performance.now() - start) / 1000;
    this.#done = epoch + 1;
    this.#trainingSeconds += seconds;
    const budget = this.options.timeBudgetSeconds;
    if (budget !== undefined && this.#trainingSeconds >= budget && this.#done < this.#planned) this.#stoppedByBudget = true;
    return { epoch: epoch + 1, phase: 'hypernetwork', seconds, lr, trainLoss: loss / n, trainAccuracy: correct / n };
  }

  /** Validation accuracy of a cell with generated weights, after re-estimating its batch norms on the calibration batches. */
  evaluate(s: Sample): number {
    this.net.setOps(this.space.opsOf(s));
    recalibrateBatchNorm(this.net, this.calibration.map((b) => b.x));
    return pathAccuracy(this.net, this.validBatches);
  }

  async finish(signal?: AbortSignal): Promise<WeightSharingResult> {
    const rng = reseed(this.seed, 'final');
    const budget = this.options.budget ?? 100;
    const seen = new Set<string>();
    let best: { sample: Sample; arch: string; accuracy: number } | undefined;
    for (let tries = 0; seen.size < budget && tries < 100 * budget; tries++) {
      const sample = this.space.sample(rng);
      const arch = this.space.format(sample);
      if (seen.has(arch)) continue;
      seen.add(arch);
      await betweenSteps(signal);
      const accuracy = this.evaluate(sample);
      if (!best || accuracy > best.accuracy) best = { sample, arch, accuracy };
    }
    this.options.afterSearch?.({ evaluate: (s) => this.evaluate(s) });
    const cost = this.costModel(best!.sample);
    return {
      arch: best!.arch,
      sample: best!.sample,
      metrics: { supernet_accuracy: best!.accuracy, flops: cost.flops, params: cost.params, evaluations: seen.size },
    };
  }

  checkpoint(): WeightSharingCheckpoint {
    const optimizer = optimizerCheckpoint('optimizer', this.optimizer);
    const state: SavedState = {
      method: 'smash',
      epochsDone: this.#done,
      trainingSeconds: this.#trainingSeconds,
      stoppedByBudget: this.#stoppedByBudget,
      loader: this.#loader.getState(),
      scheduler: this.scheduler.stateDict(),
      optimizer: optimizer.state,
    };
    return { state: state as unknown as Json, tensors: { ...moduleTensors('hypernet', this.net), ...optimizer.tensors } };
  }

  restore(state: Json, tensors: Record<string, Tensor>): void {
    const saved = state as unknown as SavedState;
    if (saved === null || typeof saved !== 'object' || saved.method !== 'smash') {
      throw dataError(`expected a checkpoint of the smash method, got ${saved !== null && typeof saved === 'object' ? `one of '${String(saved.method)}'` : String(saved)}`, 'checkpoint');
    }
    if (!(Number.isInteger(saved.epochsDone) && saved.epochsDone >= 0 && saved.epochsDone <= this.#planned)) {
      throw dataError(`expected 0 to ${this.#planned} epochs done, got ${saved.epochsDone}`, 'checkpoint');
    }
    loadModuleTensors('hypernet', this.net, tensors);
    loadOptimizerCheckpoint('optimizer', this.optimizer, saved.optimizer, tensors);
    this.scheduler.loadStateDict(saved.scheduler);
    this.#loader.setState(saved.loader);
    this.#done = saved.epochsDone;
    this.#trainingSeconds = saved.trainingSeconds;
    this.#stoppedByBudget = saved.stoppedByBudget;
  }

  dispose(): void {
    disposeBatches(this.calibration);
    disposeBatches(this.validBatches);
    this.optimizer.dispose();
    this.net.dispose();
  }
}

export function createSmashRun(data: Dataset, o: SmashOptions): SmashRun {
  return new SmashRun(data, o);
}
