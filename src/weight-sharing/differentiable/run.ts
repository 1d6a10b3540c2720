// Differentiable search (the DARTS family of search.ts) as a
// checkpointable WeightSharingRun (../run.ts): epochs of bilevel steps on a
// seeded train/valid split of the training set, a record of α per epoch,
// DARTS-ES and a time budget as early stops, and the architecture derived
// from α at the end. BilevelRun is that loop for any supernet; the cell
// search networks (DifferentiableRun, here) and space supernets
// (generic.ts) say what α stands for. runDifferentiableSearch runs a cell
// search from start to end.
import { TsnasError, configError } from '../../errors.js';
import type { Dataset } from '../../data/dataset.js';
import { DataLoader, splitIndices, type LoaderState } from '../../data/loader.js';
import type { Json } from '../../util/json.js';
import { manualSeed, noGrad, tidy, type Tensor } from '../../tensor/index.js';
import { deriveArchitecture, type ArchWeights, type DerivedArchitecture, type EdgeWeights } from '../../supernets/genotype.js';
import {
  listTensors, loadListTensors, loadModuleTensors, loadOptimizerCheckpoint, moduleTensors, optimizerCheckpoint, reseed,
} from '../checkpoint.js';
import type { RunDataOptions, WeightSharingCheckpoint, WeightSharingEpoch, WeightSharingResult, WeightSharingRun } from '../run.js';
import type { SupernetConfig } from './network.js';
import { BilevelSearch, type BilevelOptions } from './search.js';
import { referenceDefaults, type DifferentiableMethod, type ReferenceDefaults } from './traits.js';

/** What every bilevel run takes: the search's options, its data and schedule, and its diagnostics. */
export interface BilevelRunOptions extends BilevelOptions, RunDataOptions {
  /** Every this many epochs, the dominant Hessian eigenvalue (0: never; default 0). */
  hessianEvery?: number;
  hessianIterations?: number;
  /**
   * DARTS-ES (Zela et al., 2020): with the eigenvalue computed every epoch,
   * stop when mean(λ over the last `window` epochs) / mean(λ over the
   * window before) exceeds 1/0.75, and return the architecture of `window`
   * epochs earlier.
   */
  earlyStop?: { window: number; ratio?: number };
  /** How α's batches are drawn (default: referenceDefaults(method)). */
  archBatches?: ReferenceDefaults['archBatches'];
}

/** A cell search's options: the bilevel run's and the cell search network's. */
export type SearchOptions = BilevelRunOptions & Omit<SupernetConfig, 'numClasses' | 'inChannels'>;

/** The record of an epoch of differentiable search: the fields it always has. */
export type DifferentiableEpoch = WeightSharingEpoch & Required<Pick<WeightSharingEpoch,
  'validLoss' | 'validAccuracy' | 'weights' | 'operations' | 'arch' | 'skipFraction' | 'noneFraction' | 'parameterFreeFraction' | 'hessianEigenvalue' | 'tau' | 'expectedCost'>>;

export interface DifferentiableResult extends WeightSharingResult {
  derived: DerivedArchitecture;
  stoppedEarly: boolean;
  /** Epochs actually trained (fewer than `epochs` after an early stop). */
  epochsTrained: number;
}

/** α of one epoch, as numbers: what DARTS-ES goes back to. */
export interface ArchSnapshot {
  weights: ArchWeights;
  edgeWeights?: EdgeWeights;
  expectedCost: number | null;
}

/** The JSON part of a checkpoint. */
interface RunState {
  method: DifferentiableMethod;
  space: string;
  epochsTrained: number;
  stoppedEarly: boolean;
  /** Training seconds so far, for the time budget. */
  seconds: number;
  trainLoader: LoaderState;
  validLoader: LoaderState;
  weightOptimizer: Json;
  archOptimizer: Json;
  /** DARTS-ES: eigenvalue and α of the last 2·window epochs, oldest first. */
  recent: (ArchSnapshot & { eigenvalue: number | null })[];
  /** The α the result is derived from when DARTS-ES stopped the search. */
  chosen: ArchSnapshot | null;
  /** Of the last epoch that measured it (absent in checkpoints of older versions). */
  lastValidAccuracy?: number | null;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

function disposeBatch(b: { x: Tensor; y: Tensor }): void {
  b.x.dispose();
  b.y.dispose();
}

/** The record fields besides those every bilevel epoch has: what α stands for now. */
type ArchFields<E extends WeightSharingEpoch> = Omit<E, 'epoch' | 'phase' | 'seconds' | 'lr' | 'trainLoss' | 'trainAccuracy' | 'validLoss' | 'validAccuracy' | 'weights' | 'operations' | 'edgeWeights' | 'hessianEigenvalue' | 'tau' | 'expectedCost'>;

/**
 * The epoch loop, checkpoint and restore of a bilevel search on any
 * supernet. A subclass says what α stands for after each epoch
 * (describe: the architecture fields of the record) and what the run ends
 * with (conclude, from the α finish() settles on).
 */
export abstract class BilevelRun<E extends WeightSharingEpoch, R extends WeightSharingResult> implements WeightSharingRun {
  readonly epochs: number;
  readonly #o: BilevelRunOptions;
  readonly #space: string;
  readonly #seed: number;
  readonly #search: BilevelSearch;
  readonly #trainLoader: DataLoader;
  readonly #validLoader: DataLoader;
  readonly #steps: number;
  /** α batches drawn with replacement (from a generator reseeded per epoch) rather than walked by the valid loader. */
  readonly #randomArchBatches: boolean;
  readonly #operations: Record<string, string[]>;
  #epochsTrained = 0;
  #stoppedEarly = false;
  #seconds = 0;
  #recent: RunState['recent'] = [];
  #chosen: ArchSnapshot | null = null;
  #lastValidAccuracy: number | null = null;
  /** Set while an epoch runs, and left set when it fails or is aborted: the state is then half an epoch's. */
  #interrupted = false;
  #disposed = false;

  /** `space` names the run's space in its checkpoints; `build` makes the search (after the generator is seeded). */
  constructor(data: Dataset, o: BilevelRunOptions, space: string, build: () => BilevelSearch) {
    const window = o.earlyStop?.window;
    if (window !== undefined && !(Number.isInteger(window) && window >= 1)) throw configError(`expected an integer >= 1, got ${window}`, 'earlyStop.window');
    this.#o = o;
    this.#space = space;
    this.#seed = o.seed ?? 0;
    this.epochs = o.epochs;
    const split = splitIndices(data.n, { validFraction: o.validFraction ?? 0.5, seed: this.#seed, limit: o.limitTrain });
    const batchSize = o.batchSize ?? 64;
    this.#randomArchBatches = (o.archBatches ?? referenceDefaults(o.method).archBatches) === 'random';
    const dropLast = (n: number) => !this.#randomArchBatches && n >= batchSize;
    this.#trainLoader = new DataLoader(data, { batchSize, indices: split.train, augment: o.augment, seed: this.#seed, dropLast: dropLast(split.train.length) });
    this.#validLoader = new DataLoader(data, { batchSize, indices: split.valid, augment: o.augment, seed: this.#seed + 1, dropLast: dropLast(split.valid.length) });
    this.#steps = Math.min(this.#trainLoader.batchesPerEpoch, this.#randomArchBatches ? Infinity : this.#validLoader.batchesPerEpoch, o.stepsPerEpoch ?? Infinity);
    // The initial weights, α and β depend on the seed alone, so every run built with these options starts alike.
    manualSeed(this.#seed);
    this.#search = build();
    this.#operations = this.#search.operations();
  }

  protected get search(): BilevelSearch {
    return this.#search;
  }

  protected get stoppedEarly(): boolean {
    return this.#stoppedEarly;
  }

  protected get epochsTrained(): number {
    return this.#epochsTrained;
  }

  /** The validation accuracy of the last epoch that trained α (null before). */
  protected get lastValidAccuracy(): number | null {
    return this.#lastValidAccuracy;
  }

  /** The architecture fields of an epoch's record, from α after the epoch. */
  protected abstract describe(weights: ArchWeights, edgeWeights: EdgeWeights | undefined): ArchFields<E>;

  /** The result, from the α finish() settled on (the last epoch's, or DARTS-ES's choice). */
  protected abstract conclude(chosen: ArchSnapshot): R;

  get epochsDone(): number {
    return this.#stoppedEarly ? this.epochs : this.#epochsTrained;
  }

  #usable(what: string): void {
    if (this.#disposed) throw new TsnasError('usage', `${what}: the run was disposed`);
    if (this.#interrupted) throw new TsnasError('usage', `${what}: an epoch or a restore was interrupted; restore a checkpoint first`);
  }

  async trainEpoch(signal?: AbortSignal): Promise<E> {
    this.#usable('trainEpoch');
    if (this.epochsDone >= this.epochs) throw new TsnasError('usage', `all ${this.epochs} epochs are done`);
    signal?.throwIfAborted();
    this.#interrupted = true;
    const o = this.#o;
    const search = this.#search;
    const epoch = this.#epochsTrained;
    const started = performance.now();
    const epochRng = reseed(this.#seed, epoch);
    search.setEpoch(epoch);
    search.net.train();
    const sums = { trainLoss: 0, trainCorrect: 0, trainN: 0, validLoss: 0, validCorrect: 0, validN: 0 };
    // The first validation batch is kept for the Hessian diagnostic.
    let heldValid: { x: Tensor; y: Tensor } | null = null;
    let hessian: number | null = null;
    try {
      for (let s = 0; s < this.#steps; s++) {
        await yieldToEventLoop();
        signal?.throwIfAborted();
        const train = this.#trainLoader.next();
        const valid = this.#randomArchBatches ? this.#validLoader.randomBatch(epochRng) : this.#validLoader.next();
        try {
          const r = search.step(train, valid);
          sums.trainLoss += r.train.loss * r.train.n;
          sums.trainCorrect += r.train.correct;
          sums.trainN += r.train.n;
          if (r.valid) {
            sums.validLoss += r.valid.loss * r.valid.n;
            sums.validCorrect += r.valid.correct;
            sums.validN += r.valid.n;
          }
          if (!Number.isFinite(r.train.loss)) throw configError(`search diverged: training loss ${r.train.loss} at epoch ${epoch + 1}`, 'lr');
        } finally {
          disposeBatch(train);
          if (s === 0) heldValid = valid;
          else disposeBatch(valid);
        }
      }
      const every = o.earlyStop ? 1 : o.hessianEvery ?? 0;
      // GDAS's and DrNAS's forwards draw the architecture, so their Hessian would be of a different network each call.
      if (every > 0 && (epoch + 1) % every === 0 && heldValid && !search.sampled) {
        await yieldToEventLoop();
        signal?.throwIfAborted();
        hessian = search.hessianEigenvalue(heldValid, o.hessianIterations ?? 20);
      }
    } finally {
      if (heldValid) disposeBatch(heldValid);
    }
    const weights = search.archWeights();
    const edgeWeights = search.edgeWeights();
    const expectedCost = o.cost ? tidy(() => noGrad(() => search.expectedCost().item())) : null;
    const coefficients = search.coefficients;
    const seconds = (performance.now() - started) / 1000;
    const record = {
      epoch: epoch + 1,
      phase: search.archActive ? 'search' : 'warmup',
      seconds,
      lr: search.lr,
      trainLoss: sums.trainLoss / Math.max(1, sums.trainN),
      trainAccuracy: sums.trainCorrect / Math.max(1, sums.trainN),
      validLoss: sums.validN ? sums.validLoss / sums.validN : null,
      validAccuracy: sums.validN ? sums.validCorrect / sums.validN : null,
      weights,
      operations: this.#operations,
      ...(edgeWeights ? { edgeWeights } : {}),
      ...this.describe(weights, edgeWeights),
      hessianEigenvalue: hessian,
      tau: search.tau,
      expectedCost,
      ...(coefficients ? { extra: coefficients } : {}),
    } as E;
    if (sums.validN) this.#lastValidAccuracy = sums.validCorrect / sums.validN;
    this.#epochsTrained = epoch + 1;
    this.#seconds += seconds;
    if (o.earlyStop) this.#checkEarlyStop(o.earlyStop, { weights, ...(edgeWeights ? { edgeWeights } : {}), expectedCost, eigenvalue: hessian });
    if (!this.#stoppedEarly && o.timeBudgetSeconds !== undefined && this.#seconds >= o.timeBudgetSeconds) {
      this.#stoppedEarly = this.#epochsTrained < this.epochs;
    }
    this.#interrupted = false;
    return record;
  }

  /** DARTS-ES: compares the mean |λ| of the last window with the window before. */
  #checkEarlyStop(es: NonNullable<BilevelRunOptions['earlyStop']>, latest: RunState['recent'][number]): void {
    const k = es.window;
    this.#recent.push(latest);
    if (this.#recent.length > 2 * k) this.#recent.shift();
    if (this.#recent.length < 2 * k) return;
    const eig = this.#recent.map((r) => Math.abs(r.eigenvalue ?? NaN));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const recent = mean(eig.slice(k));
    const before = mean(eig.slice(0, k));
    if (before > 0 && recent / before > (es.ratio ?? 1 / 0.75)) {
      const { eigenvalue: _, ...back } = this.#recent[k - 1]!;
      this.#chosen = back;
      this.#stoppedEarly = true;
    }
  }

  checkpoint(): WeightSharingCheckpoint {
    this.#usable('checkpoint');
    const search = this.#search;
    const weightOptimizer = optimizerCheckpoint('weightOptimizer', search.weightOptimizer);
    const archOptimizer = optimizerCheckpoint('archOptimizer', search.archOptimizer);
    const state: RunState = {
      method: this.#o.method,
      space: this.#space,
      epochsTrained: this.#epochsTrained,
      stoppedEarly: this.#stoppedEarly,
      seconds: this.#seconds,
      trainLoader: this.#trainLoader.getState(),
      validLoader: this.#validLoader.getState(),
      weightOptimizer: weightOptimizer.state,
      archOptimizer: archOptimizer.state,
      recent: this.#recent,
      chosen: this.#chosen,
      lastValidAccuracy: this.#lastValidAccuracy,
    };
    return {
      // A deep copy, so that later epochs do not change a checkpoint already taken.
      state: JSON.parse(JSON.stringify(state)) as Json,
      tensors: {
        ...moduleTensors('net', search.net),
        // α, then β under edge normalisation.
        ...listTensors('alpha', search.alphas),
        ...weightOptimizer.tensors,
        ...archOptimizer.tensors,
      },
    };
  }

  restore(state: Json, tensors: Record<string, Tensor>): void {
    if (this.#disposed) throw new TsnasError('usage', 'restore: the run was disposed');
    const s = state as unknown as RunState;
    if (s?.method !== this.#o.method || s.space !== this.#space) {
      throw new TsnasError('data', `the checkpoint is of ${s?.method} on ${s?.space}, this run is ${this.#o.method} on ${this.#space}`);
    }
    if (!(Number.isInteger(s.epochsTrained) && s.epochsTrained >= 0 && s.epochsTrained <= this.epochs)) {
      throw new TsnasError('data', `the checkpoint has ${s.epochsTrained} epochs done, this run has ${this.epochs}`);
    }
    // Until everything is loaded the run is half old, half restored.
    this.#interrupted = true;
    const search = this.#search;
    loadModuleTensors('net', search.net, tensors);
    loadListTensors('alpha', search.alphas, tensors);
    loadOptimizerCheckpoint('weightOptimizer', search.weightOptimizer, s.weightOptimizer, tensors);
    loadOptimizerCheckpoint('archOptimizer', search.archOptimizer, s.archOptimizer, tensors);
    this.#trainLoader.setState(s.trainLoader);
    this.#validLoader.setState(s.validLoader);
    this.#epochsTrained = s.epochsTrained;
    this.#stoppedEarly = s.stoppedEarly;
    this.#seconds = s.seconds;
    this.#recent = structuredClone(s.recent);
    this.#chosen = structuredClone(s.chosen);
    this.#lastValidAccuracy = s.lastValidAccuracy ?? null;
    this.#interrupted = false;
  }

  async finish(signal?: AbortSignal): Promise<R> {
    this.#usable('finish');
    if (this.epochsDone < this.epochs) throw new TsnasError('usage', `finish: ${this.epochsDone} of ${this.epochs} epochs are done`);
    signal?.throwIfAborted();
    reseed(this.#seed, 'final');
    const search = this.#search;
    const edgeWeights = search.edgeWeights();
    return this.conclude(this.#chosen ?? {
      weights: search.archWeights(),
      ...(edgeWeights ? { edgeWeights } : {}),
      expectedCost: this.#o.cost ? tidy(() => noGrad(() => search.expectedCost().item())) : null,
    });
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#search.dispose();
  }
}

/** A differentiable search of a cell space (nb201, darts): α stands for a genotype. */
export class DifferentiableRun extends BilevelRun<DifferentiableEpoch, DifferentiableResult> {
  readonly #space: SearchOptions['space'];

  constructor(data: Dataset, o: SearchOptions) {
    super(data, o, o.space, () => new BilevelSearch({ space: o.space, C: o.C, cells: o.cells, numClasses: data.numClasses, inChannels: data.channels }, o));
    this.#space = o.space;
  }

  protected describe(weights: ArchWeights, edgeWeights: EdgeWeights | undefined) {
    const derived = deriveArchitecture(this.#space, weights, edgeWeights);
    return { arch: derived.arch, skipFraction: derived.skipFraction, noneFraction: derived.noneFraction, parameterFreeFraction: derived.parameterFreeFraction };
  }

  protected conclude(chosen: ArchSnapshot): DifferentiableResult {
    const derived = deriveArchitecture(this.#space, chosen.weights, chosen.edgeWeights);
    return {
      arch: derived.arch,
      sample: derived.sample,
      metrics: {
        skip_fraction: derived.skipFraction,
        none_fraction: derived.noneFraction,
        parameter_free_fraction: derived.parameterFreeFraction,
        ...(chosen.expectedCost !== null ? { expected_cost: chosen.expectedCost } : {}),
        stopped_early: this.stoppedEarly ? 1 : 0,
        epochs: this.epochsTrained,
      },
      derived,
      stoppedEarly: this.stoppedEarly,
      epochsTrained: this.epochsTrained,
    };
  }
}

/** A differentiable search on a training set (split into train and valid), ready to train epoch by epoch. */
export function createDifferentiableRun(data: Dataset, o: SearchOptions): DifferentiableRun {
  return new DifferentiableRun(data, o);
}

export interface SearchResult {
  method: DifferentiableMethod;
  arch: string;
  derived: DerivedArchitecture;
  history: DifferentiableEpoch[];
  /** Epochs trained. */
  epochs: number;
  stoppedEarly: boolean;
  seconds: number;
}

/** Runs a whole differentiable search, calling onEpoch after each epoch. */
export async function runDifferentiableSearch(
  data: Dataset,
  o: SearchOptions & { onEpoch?: (record: DifferentiableEpoch) => void; signal?: AbortSignal },
): Promise<SearchResult> {
  const start = performance.now();
  const run = createDifferentiableRun(data, o);
  try {
    const history: DifferentiableEpoch[] = [];
    while (run.epochsDone < run.epochs) {
      const record = await run.trainEpoch(o.signal);
      history.push(record);
      o.onEpoch?.(record);
    }
    const r = await run.finish(o.signal);
    return { method: o.method, arch: r.arch, derived: r.derived, history, epochs: r.epochsTrained, stoppedEarly: r.stoppedEarly, seconds: (performance.now() - start) / 1000 };
  } finally {
    run.dispose();
  }
}
