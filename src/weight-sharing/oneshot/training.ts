// What the one-shot methods (SPOS/FairNAS, ENAS, OFA, SMASH) share as
// checkpointable runs (../run.ts): the seeded train/valid split and training
// loader, the held-out batches for batch-norm recalibration and scoring, the
// epoch loop (reseeded per epoch, yielding between steps) over a trained
// module with its SGD optimizer, and the checkpoint of all that (EpochRun);
// for the supernet methods also the single-path supernet and the end of the
// final step: the found network's cost, inherited weights and export
// (OneShotRun).
import { TsnasError, configError, dataError } from '../../errors.js';
import type { AugmentOptions } from '../../data/augment.js';
import type { Dataset } from '../../data/dataset.js';
import { DataLoader, splitIndices, type Batch, type LoaderState } from '../../data/loader.js';
import type { Module } from '../../nn/module.js';
import { SGD } from '../../nn/optim.js';
import { LrScheduler, clipGradNorm, cosineAnnealing, type LrSchedule } from '../../nn/schedule.js';
import { SinglePathMixing } from '../../spaces/supernet.js';
import type { SpaceSupernet } from '../../supernets/index.js';
import { getSpace } from '../../kits/index.js';
import type { Sample } from '../../spaces/types.js';
import type { Json } from '../../util/json.js';
import { crossEntropy, manualSeed, noGrad, tidy, type Tensor } from '../../tensor/index.js';
import type { Rng } from '../../util/random.js';
import { betweenSteps, loadModuleTensors, loadOptimizerCheckpoint, moduleTensors, optimizerCheckpoint, reseed } from '../checkpoint.js';
import { buildOneShotSupernet, type OneShotSupernetConfig } from '../differentiable/network.js';
import type { RunDataOptions, WeightSharingCheckpoint, WeightSharingEpoch, WeightSharingResult, WeightSharingRun } from '../run.js';
import {
  canExtract, costLimitsText, inheritedWeights, oneShotCostModel, requireExportable, requireFeasible, withinLimits, writeSubnetwork,
  type CostLimits, type SampleCost,
} from './constraints.js';
import { evolutionarySearch, type Evaluated, type EvolutionOptions } from './evolution.js';
import { evaluateWithInheritedWeights, supernetSpace, type OneShotSpace } from './paths.js';

export interface SupernetTrainingOptions {
  epochs: number;
  lr?: number;
  lrMin?: number;
  momentum?: number;
  weightDecay?: number;
  gradClip?: number;
  /** Learning rate per epoch (default: cosine annealing from lr to lrMin over the epochs). */
  schedule?: LrSchedule;
}

/** A single-path supernet of any space with its SGD optimizer (cosine schedule over the epochs). */
export class OneShotSupernet {
  readonly mixing = new SinglePathMixing();
  /** The supernet (it owns the mixing). */
  readonly net: SpaceSupernet;
  readonly optimizer: SGD;
  readonly scheduler: LrScheduler;
  readonly weights: Tensor[];
  /** The space's samples as paths of this supernet. */
  readonly shot: OneShotSpace;

  constructor(readonly config: OneShotSupernetConfig, readonly o: SupernetTrainingOptions) {
    this.net = buildOneShotSupernet(config, this.mixing);
    this.weights = this.net.weightParameters();
    this.optimizer = new SGD(this.weights, { lr: o.lr ?? 0.025, momentum: o.momentum ?? 0.9, weightDecay: o.weightDecay ?? 3e-4 });
    this.scheduler = new LrScheduler(this.optimizer, o.schedule ?? cosineAnnealing(Math.max(1, o.epochs), o.lrMin ?? 0.001));
    this.shot = supernetSpace(this.net);
  }

  /** One update: the loss of each path on the batch is back-propagated (accumulated), then one step. */
  trainStep(batch: { x: Tensor; y: Tensor }, paths: readonly Sample[]): StepResult {
    this.net.train();
    this.optimizer.zeroGrad();
    let loss = 0;
    let correct = 0;
    for (const path of paths) {
      this.mixing.setPath(path);
      tidy(() => {
        const logits = this.net.call(batch.x);
        const l = crossEntropy(logits, batch.y);
        l.backward();
        loss += l.item() / paths.length;
        correct += noGrad(() => logits.argmax(1).eq(batch.y).sum().item()) / paths.length;
      });
    }
    if ((this.o.gradClip ?? 5) > 0) clipGradNorm(this.weights, this.o.gradClip ?? 5);
    this.optimizer.step();
    this.optimizer.zeroGrad();
    return { loss, correct };
  }

  dispose(): void {
    this.optimizer.dispose();
    this.net.dispose();
  }
}

/** What one training step reports: the mean loss and the number of correct predictions (averaged over the step's paths). */
export interface StepResult {
  loss: number;
  correct: number;
}

/** What a trained supernet hands to evaluation (afterSearch). */
export interface OneShotContext {
  supernet: OneShotSupernet;
  space: OneShotSpace;
  /** Accuracy of a space sample with inherited weights after recalibration. */
  evaluate(s: Sample): number;
}

/** The options every one-shot method takes. */
export interface OneShotOptions extends SupernetTrainingOptions, RunDataOptions, Omit<OneShotSupernetConfig, 'numClasses' | 'inChannels'> {
  /** Batches of training images used to recalibrate batch norm per candidate (default 4). */
  calibrationBatches?: number;
  /** Validation batches each candidate is scored on (default 4). */
  evalBatches?: number;
  /** Search only architectures within these FLOPs / params (the space's cost model, costOf). */
  limits?: CostLimits;
  /** Write the found architecture's fixed network (weights sliced from the supernet, batch norm recalibrated) to this .safetensors file. */
  exportPath?: string;
  /** Called at the end of finish() with the trained supernet (e.g. to measure ranking quality). */
  afterSearch?: (ctx: OneShotContext) => void;
}

/** Fixed evaluation data for a trained supernet: calibration inputs and labelled validation batches. */
function holdOutBatches(data: Dataset, indices: Int32Array, count: number, batchSize: number, augment: AugmentOptions | undefined, seed: number): Batch[] {
  const loader = new DataLoader(data, { batchSize, indices, augment, train: false, shuffle: true, seed });
  const batches: Batch[] = [];
  try {
    for (let k = 0; k < Math.min(count, loader.batchesPerEpoch); k++) batches.push(loader.next());
  } catch (e) {
    disposeBatches(batches);
    throw e;
  }
  return batches;
}

function disposeBatches(batches: Batch[]): void {
  for (const b of batches) {
    b.x.dispose();
    b.y.dispose();
  }
}

/** The run state every one-shot method saves; `method` holds the method's own. */
interface SavedState {
  method: string;
  epochsDone: number;
  trainingSeconds: number;
  stoppedByBudget: boolean;
  loader: LoaderState;
  scheduler: { epoch: number; baseLrs: number[] };
  optimizer: Json;
  methodState: Json;
}

/** A method's own part of a checkpoint; tensor names start with a prefix of the method's (not 'supernet.' or 'optimizer.'). */
export interface MethodCheckpoint {
  state: Json;
  tensors: Record<string, Tensor>;
}

/** What an EpochRun trains: a module, its SGD optimizer and their learning-rate schedule. */
export interface TrainedModule {
  readonly net: Module;
  readonly optimizer: SGD;
  readonly scheduler: LrScheduler;
}

/** The options an EpochRun reads. */
export interface EpochRunOptions extends RunDataOptions {
  calibrationBatches?: number;
  evalBatches?: number;
}

/**
 * A run of epochs of single steps on the training loader, as a
 * WeightSharingRun. Subclasses build the trained module after super() (on a
 * failure there, they call releaseData), give the training step, and may add
 * work around each epoch and state of their own; finish() is theirs.
 */
export abstract class EpochRun implements WeightSharingRun {
  readonly seed: number;
  readonly batchSize: number;
  readonly split: { train: Int32Array; valid: Int32Array };
  /** Training images that re-estimate batch norm per evaluated path, and the labelled batches it is scored on. */
  readonly calibration: Batch[] = [];
  readonly validBatches: Batch[] = [];
  protected readonly loader: DataLoader;
  readonly #planned: number;
  #done = 0;
  #trainingSeconds = 0;
  #stoppedByBudget = false;
  /** Tensors made for the last checkpoint (not the run's working tensors): freed at the next one. */
  #snapshot: Tensor[] = [];

  /** `method` names the run in its checkpoints; `epochs` is the planned number of epochs. */
  constructor(readonly method: string, readonly data: Dataset, o: EpochRunOptions, epochs: number) {
    if (!(Number.isInteger(epochs) && epochs >= 1)) throw configError(`expected at least 1 epoch, got ${epochs}`, 'epochs');
    this.#planned = epochs;
    this.seed = o.seed ?? 0;
    this.split = splitIndices(data.n, { validFraction: o.validFraction ?? 0.5, seed: this.seed, limit: o.limitTrain });
    this.batchSize = o.batchSize ?? 64;
    this.loader = new DataLoader(data, { batchSize: this.batchSize, indices: this.split.train, augment: o.augment, seed: this.seed, dropLast: this.split.train.length >= this.batchSize });
    this.calibration = holdOutBatches(data, this.split.train, o.calibrationBatches ?? 4, this.batchSize, o.augment, this.seed + 2);
    try {
      this.validBatches = holdOutBatches(data, this.split.valid, o.evalBatches ?? 4, this.batchSize, o.augment, this.seed + 3);
    } catch (e) {
      this.releaseData();
      throw e;
    }
  }

  /** The module trained, with its optimizer and schedule (checkpointed under 'supernet.' and 'optimizer.'). */
  protected abstract get trained(): TrainedModule;

  /** The run's options as the subclass keeps them (the data and schedule fields). */
  protected abstract get options(): RunDataOptions;

  /** Planned epochs, or the epochs done once the time budget has ended training. */
  get epochs(): number {
    return this.#stoppedByBudget ? this.#done : this.#planned;
  }

  get epochsDone(): number {
    return this.#done;
  }

  /** The phase name of an epoch (0-based) in its record. */
  protected phaseOf(_epoch: number): string {
    return 'supernet';
  }

  /** Work before an epoch, ahead of its reseeding (so it draws nothing from the epoch's generators); returns fields for the record's extra. */
  protected beforeEpoch(_epoch: number): Record<string, Json> {
    return {};
  }

  /** One update on a batch (freed afterwards); random choices come from the epoch's rng. */
  protected abstract step(batch: Batch, epoch: number, rng: Rng): StepResult;

  /** Work after an epoch's steps, drawing on from its rng; `last`: training ends with this epoch. Returns fields for the record's extra. */
  protected async afterEpoch(_epoch: number, _rng: Rng, _last: boolean, _signal?: AbortSignal): Promise<Record<string, Json>> {
    return {};
  }

  /** The method's own state (default none). */
  protected methodCheckpoint(): MethodCheckpoint {
    return { state: null, tensors: {} };
  }

  protected restoreMethod(_state: Json, _tensors: Record<string, Tensor>): void {}

  abstract finish(signal?: AbortSignal): Promise<WeightSharingResult>;

  async trainEpoch(signal?: AbortSignal): Promise<WeightSharingEpoch> {
    if (this.#done >= this.epochs) throw new TsnasError('state', `all ${this.epochs} epochs of the ${this.method} run are trained already`);
    const epoch = this.#done;
    const start = performance.now();
    const extra = this.beforeEpoch(epoch);
    const rng = reseed(this.seed, epoch);
    const { trained, loader } = this;
    trained.scheduler.loadStateDict({ epoch });
    const lr = trained.optimizer.lrs[0]!;
    const steps = Math.min(loader.batchesPerEpoch, this.options.stepsPerEpoch ?? Infinity);
    let loss = 0;
    let correct = 0;
    let n = 0;
    for (let s = 0; s < steps; s++) {
      await betweenSteps(signal);
      const batch = loader.next();
      try {
        const r = this.step(batch, epoch, rng);
        if (!Number.isFinite(r.loss)) throw configError(`${this.method} training diverged: loss ${r.loss} at epoch ${epoch + 1}`, 'lr');
        loss += r.loss * batch.y.size(0);
        correct += r.correct;
        n += batch.y.size(0);
      } finally {
        batch.x.dispose();
        batch.y.dispose();
      }
    }
    const budget = this.options.timeBudgetSeconds;
    const overBudget = budget !== undefined && this.#trainingSeconds + (performance.now() - start) / 1000 >= budget;
    const last = epoch + 1 >= this.#planned || overBudget;
    Object.assign(extra, await this.afterEpoch(epoch, rng, last, signal));
    const seconds = (performance.now() - start) / 1000;
    this.#done = epoch + 1;
    this.#trainingSeconds += seconds;
    if (overBudget) this.#stoppedByBudget = true;
    return {
      epoch: epoch + 1,
      phase: this.phaseOf(epoch),
      seconds,
      lr,
      trainLoss: loss / n,
      trainAccuracy: correct / n,
      ...(Object.keys(extra).length > 0 ? { extra } : {}),
    };
  }

  checkpoint(): WeightSharingCheckpoint {
    this.#releaseSnapshot();
    const optimizer = optimizerCheckpoint('optimizer', this.trained.optimizer);
    const own = this.methodCheckpoint();
    for (const key of Object.keys(own.tensors)) {
      if (key.startsWith('supernet.') || key.startsWith('optimizer.')) throw new TsnasError('internal', `${this.method} checkpoint tensor ${key} clashes with the supernet's`);
    }
    const state: SavedState = {
      method: this.method,
      epochsDone: this.#done,
      trainingSeconds: this.#trainingSeconds,
      stoppedByBudget: this.#stoppedByBudget,
      loader: this.loader.getState(),
      scheduler: this.trained.scheduler.stateDict(),
      optimizer: optimizer.state,
      methodState: own.state,
    };
    return {
      state: state as unknown as Json,
      tensors: { ...moduleTensors('supernet', this.trained.net), ...optimizer.tensors, ...own.tensors },
    };
  }

  restore(state: Json, tensors: Record<string, Tensor>): void {
    const saved = state as unknown as SavedState;
    if (saved === null || typeof saved !== 'object' || saved.method !== this.method) {
      throw dataError(`expected a checkpoint of the ${this.method} method, got ${saved !== null && typeof saved === 'object' ? `one of '${String(saved.method)}'` : String(saved)}`, 'checkpoint');
    }
    if (!(Number.isInteger(saved.epochsDone) && saved.epochsDone >= 0 && saved.epochsDone <= this.#planned)) {
      throw dataError(`expected 0 to ${this.#planned} epochs done, got ${saved.epochsDone}`, 'checkpoint');
    }
    this.#releaseSnapshot();
    loadModuleTensors('supernet', this.trained.net, tensors);
    loadOptimizerCheckpoint('optimizer', this.trained.optimizer, saved.optimizer, tensors);
    this.trained.scheduler.loadStateDict(saved.scheduler);
    this.loader.setState(saved.loader);
    this.restoreMethod(saved.methodState, tensors);
    this.#done = saved.epochsDone;
    this.#trainingSeconds = saved.trainingSeconds;
    this.#stoppedByBudget = saved.stoppedByBudget;
  }

  /** Registers tensors made for a checkpoint (freed at the next checkpoint, restore or dispose) and returns them. */
  protected snapshot<T extends Tensor>(t: T): T {
    this.#snapshot.push(t.keep());
    return t;
  }

  #releaseSnapshot(): void {
    for (const t of this.#snapshot) t.dispose();
    this.#snapshot = [];
  }

  /** Frees the held-out batches (and checkpoint tensors): what this class made. */
  protected releaseData(): void {
    this.#releaseSnapshot();
    disposeBatches(this.calibration);
    disposeBatches(this.validBatches);
  }

  dispose(): void {
    this.releaseData();
    this.trained.optimizer.dispose();
    this.trained.net.dispose();
  }
}

/**
 * A one-shot search on a single-path supernet of any space. Subclasses give
 * the training step and may add work around each epoch and state of their
 * own; finish() is theirs, ending with conclude().
 */
export abstract class OneShotRun extends EpochRun {
  readonly supernet: OneShotSupernet;
  readonly shot: OneShotSpace;
  /** FLOPs and params of a sample (the space's cost model, at the data's input size). */
  readonly costModel: (s: Sample) => SampleCost;

  /** `method` names the run in its checkpoints; `epochs` is the planned number of epochs. */
  constructor(method: string, data: Dataset, readonly options: OneShotOptions, epochs: number) {
    const o = options;
    if (o.exportPath !== undefined) requireExportable(o.space);
    const side = o.augment?.resize;
    const space = getSpace(o.space, o.spaceOptions);
    const costModel = oneShotCostModel(space, { numClasses: data.numClasses, input: [data.channels, side ?? data.height, side ?? data.width], C: o.C, cells: o.cells });
    requireFeasible(space, costModel, o.limits ?? {});
    super(method, data, o, epochs);
    this.costModel = costModel;
    try {
      // The initial weights follow the seed alone, whatever libtorch's generator was.
      manualSeed(this.seed);
      this.supernet = new OneShotSupernet({ space: o.space, C: o.C, cells: o.cells, numClasses: data.numClasses, inChannels: data.channels, spaceOptions: o.spaceOptions, inputSize: side ?? data.height }, o);
    } catch (e) {
      this.releaseData();
      throw e;
    }
    this.shot = this.supernet.shot;
  }

  protected get trained(): TrainedModule {
    return this.supernet;
  }

  /** The supernet whose weights a sample inherits (this one; few-shot SPOS picks one of its sub-supernets). */
  supernetFor(_s: Sample): OneShotSupernet {
    return this.supernet;
  }

  /** Accuracy of a sample with the weights of its supernet, after batch-norm recalibration on the calibration batches. */
  evaluate(s: Sample): number {
    const { shot, calibration, validBatches } = this;
    const supernet = this.supernetFor(s);
    return evaluateWithInheritedWeights(supernet.net, supernet.mixing, shot.pathOf(s), calibration.map((b) => b.x), validBatches);
  }

  /**
   * The evolutionary search SPOS and OFA end with: inherited-weight accuracy
   * as the fitness, only architectures within the limits.
   */
  protected async searchEvolutionary(evolution: EvolutionOptions | undefined, rng: Rng, signal?: AbortSignal): Promise<WeightSharingResult> {
    const limits = this.options.limits ?? {};
    const constrained = limits.maxFlops !== undefined || limits.maxParams !== undefined;
    const o: EvolutionOptions = constrained
      ? { ...evolution, accept: (s) => withinLimits(this.costModel(s), limits), constraintText: costLimitsText(limits) }
      : { ...evolution };
    const { best, evaluated } = await evolutionarySearch(this.shot.space, (s) => this.evaluate(s), rng, o, signal);
    return this.conclude(best, evaluated.length);
  }

  /**
   * The end of every final step: the found architecture's cost, its
   * inherited weights when the supernet extracts fixed networks (written to
   * exportPath when set), and afterSearch.
   */
  protected conclude(best: Evaluated, evaluations: number): WeightSharingResult {
    const { shot, options } = this;
    const supernet = this.supernetFor(best.sample);
    const arch = shot.space.format(best.sample);
    const cost = this.costModel(best.sample);
    const inherited = canExtract(supernet.net) ? inheritedWeights(supernet.net, best.sample, this.calibration.map((b) => b.x)) : undefined;
    try {
      if (options.exportPath !== undefined && inherited) {
        writeSubnetwork(options.exportPath, inherited, { space: shot.space.name, arch, supernet_accuracy: String(best.fitness) });
      }
      options.afterSearch?.({ supernet, space: shot, evaluate: (s) => this.evaluate(s) });
    } catch (e) {
      for (const t of Object.values(inherited ?? {})) t.dispose();
      throw e;
    }
    return {
      arch,
      sample: best.sample,
      metrics: { supernet_accuracy: best.fitness, flops: cost.flops, params: cost.params, evaluations },
      ...(inherited ? { inherited } : {}),
    };
  }
}

/** What the one-off commands (runSpos, runEnas, runOfa) return. */
export interface OneShotResult {
  method: 'spos' | 'enas' | 'ofa';
  arch: string;
  sample: Sample;
  /** Supernet (inherited-weight) accuracy of the found architecture. */
  supernetAccuracy: number;
  /** FLOPs and params of the found architecture (the space's cost model). */
  cost: SampleCost;
  /** The .safetensors file the fixed network was written to (exportPath). */
  exported?: string;
  history: WeightSharingEpoch[];
  evaluations: number;
  seconds: number;
}

/**
 * A one-off search: trains a run through its epochs (onEpoch sees each
 * record), finishes it and frees it. The inherited weights are freed too
 * (exportPath has written them).
 */
export async function runToEnd(
  method: OneShotResult['method'],
  run: OneShotRun,
  onEpoch?: (record: WeightSharingEpoch) => void,
): Promise<OneShotResult> {
  const start = performance.now();
  try {
    const history: WeightSharingEpoch[] = [];
    while (run.epochsDone < run.epochs) {
      const record = await run.trainEpoch();
      history.push(record);
      onEpoch?.(record);
    }
    const { arch, sample, metrics, inherited } = await run.finish();
    for (const t of Object.values(inherited ?? {})) t.dispose();
    return {
      method,
      arch,
      sample,
      supernetAccuracy: metrics.supernet_accuracy!,
      cost: { flops: metrics.flops!, params: metrics.params! },
      ...(run.options.exportPath !== undefined ? { exported: run.options.exportPath } : {}),
      history,
      evaluations: metrics.evaluations!,
      seconds: (performance.now() - start) / 1000,
    };
  } finally {
    run.dispose();
  }
}
