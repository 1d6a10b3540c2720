// Seeded, resumable batching of an in-memory dataset into tensors.
//
// Ownership: each Batch's x and y are fresh tensors owned by the caller.
// Dispose them after the step (batch.x.dispose(); batch.y.dispose()), or
// fetch and consume the batch inside tidy(() => ...) so the scope frees them.
import { configError, dataError } from '../errors.js';
import { tensor, type Tensor } from '../tensor/index.js';
import { Rng, type RngState } from '../util/random.js';
import { buildTransform, gatherImages, type AugmentOptions, type BatchTransform, type ImageBatch } from './augment.js';
import type { Dataset } from './dataset.js';

export interface Batch {
  /** float32 N×C×H×W, transformed (scaled to [0, 1], then resized/augmented/normalised). */
  x: Tensor;
  /** int64 N class indices. */
  y: Tensor;
  /** The dataset indices of the samples, in batch order. */
  indices: Int32Array;
}

export interface LoaderOptions {
  batchSize: number;
  /** The dataset samples to draw from (e.g. one side of splitIndices); all by default. */
  indices?: ArrayLike<number>;
  /** Use at most this many of them: a seeded random subset, fixed for the loader's life. */
  limit?: number;
  /** Reshuffle every epoch (default true); false keeps index order, for evaluation. */
  shuffle?: boolean;
  /** Skip the last batch of an epoch when it is short (default false). */
  dropLast?: boolean;
  /** Seeds the subset, the shuffles and the augmentation (default 0). */
  seed?: number;
  /** Preprocessing and augmentation; see buildTransform. */
  augment?: AugmentOptions;
  /** Whether augment's random steps run (default true; false gives the evaluation pipeline). */
  train?: boolean;
  /** A custom transform instead of augment. */
  transform?: BatchTransform;
  /** Device for the batch tensors (default CPU). */
  device?: string;
}

/** Everything needed to resume a loader exactly where it was. */
export interface LoaderState {
  epoch: number;
  /** Batches already produced in the current epoch. */
  position: number;
  /** The shuffle generator before it drew the current epoch's order. */
  shuffleRng: RngState;
  augmentRng: RngState;
}

/** Fisher-Yates on an Int32Array, drawing like Rng.shuffle. */
function shuffleInPlace(a: Int32Array, rng: Rng): Int32Array {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

/** A seeded random subset of `limit` of the indices (all of them, in order, when limit is absent or not smaller). */
export function limitIndices(indices: ArrayLike<number>, limit: number | undefined, seed: number): Int32Array {
  const all = Int32Array.from(indices);
  if (limit === undefined || limit >= all.length) return all;
  if (!(Number.isInteger(limit) && limit >= 1)) throw configError(`expected a positive integer, found ${limit}`, 'limit');
  return shuffleInPlace(all, new Rng(seed)).slice(0, limit).sort();
}

/**
 * A seeded split of samples 0..n-1 into disjoint train and valid index sets
 * (sorted), e.g. the 50/50 split of differentiable search. limit first
 * restricts the pool to that many random samples.
 */
export function splitIndices(
  n: number,
  options: { validFraction?: number; seed?: number; limit?: number } = {},
): { train: Int32Array; valid: Int32Array } {
  const fraction = options.validFraction ?? 0.5;
  if (!(fraction >= 0 && fraction <= 1)) throw configError(`expected a fraction in [0, 1], found ${fraction}`, 'validFraction');
  const pool = shuffleInPlace(Int32Array.from({ length: n }, (_, i) => i), new Rng(options.seed ?? 0));
  const size = options.limit !== undefined ? Math.min(options.limit, n) : n;
  const numValid = Math.round(size * fraction);
  return {
    train: pool.slice(0, size - numValid).sort(),
    valid: pool.slice(size - numValid, size).sort(),
  };
}

/**
 * Makes one batch of the given dataset samples: gathers and scales the
 * pixels, applies the transform, and builds x (float32) and y (int64).
 * The caller owns the returned tensors. Pass the rng a random transform
 * should draw from; without one each call uses a fresh Rng(0).
 */
export function makeBatch(
  dataset: Dataset,
  indices: Int32Array,
  options: { transform?: BatchTransform; rng?: Rng; device?: string } = {},
): Batch {
  let images: ImageBatch = gatherImages(dataset.images, indices, dataset);
  if (options.transform) images = options.transform(images, options.rng ?? new Rng(0));
  const labels = new BigInt64Array(indices.length);
  for (let k = 0; k < indices.length; k++) labels[k] = BigInt(dataset.labels[indices[k]!]!);
  const device = options.device ? { device: options.device } : {};
  const x = tensor(images.data, [images.n, images.channels, images.height, images.width], { dtype: 'float32', ...device });
  let y: Tensor;
  try {
    y = tensor(labels, [indices.length], { dtype: 'int64', ...device });
  } catch (e) {
    x.dispose();
    throw e;
  }
  return { x, y, indices };
}

export class DataLoader {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly dropLast: boolean;
  readonly shuffle: boolean;
  /** The samples this loader draws from (after limit). */
  readonly indices: Int32Array;
  private readonly transform: BatchTransform | undefined;
  private readonly device: string | undefined;
  private readonly shuffleRng: Rng;
  private readonly augmentRng: Rng;
  private epochStartRng: RngState;
  private order: Int32Array;
  private epochIndex = 0;
  private position = 0;

  constructor(dataset: Dataset, options: LoaderOptions) {
    if (!(Number.isInteger(options.batchSize) && options.batchSize >= 1)) {
      throw configError(`expected a positive integer, found ${options.batchSize}`, 'batchSize');
    }
    this.dataset = dataset;
    this.batchSize = options.batchSize;
    this.dropLast = options.dropLast ?? false;
    this.shuffle = options.shuffle ?? true;
    const seed = options.seed ?? 0;
    const master = new Rng(seed);
    const limitSeed = master.nextUint32();
    const base = options.indices ?? Int32Array.from({ length: dataset.n }, (_, i) => i);
    for (let k = 0; k < base.length; k++) {
      const i = base[k]!;
      if (!(Number.isInteger(i) && i >= 0 && i < dataset.n)) {
        throw configError(`index ${i} at position ${k} is outside the dataset's 0..${dataset.n - 1}`, 'indices');
      }
    }
    if (dataset.n === 0) throw dataError(`the dataset ${dataset.name} has no images`, dataset.files[0] ?? dataset.name);
    this.indices = limitIndices(base, options.limit, limitSeed);
    if (this.indices.length === 0) throw configError('expected at least one sample, found none', 'indices');
    if (this.dropLast && this.indices.length < this.batchSize) {
      throw configError(
        `batch size ${this.batchSize} exceeds the ${this.indices.length} samples, so drop_last would leave no batches`,
        'batchSize',
      );
    }
    this.shuffleRng = master.fork();
    this.augmentRng = master.fork();
    this.transform = options.transform ?? (options.augment ? buildTransform(options.augment, options.train ?? true) : undefined);
    this.device = options.device;
    this.epochStartRng = this.shuffleRng.getState();
    this.order = this.drawOrder();
  }

  /** Samples per epoch. */
  get size(): number {
    return this.indices.length;
  }

  /** Batches per epoch. */
  get batchesPerEpoch(): number {
    return this.dropLast ? Math.floor(this.size / this.batchSize) : Math.ceil(this.size / this.batchSize);
  }

  /** The current epoch, counted from 0. */
  get epoch(): number {
    return this.epochIndex;
  }

  private drawOrder(): Int32Array {
    this.epochStartRng = this.shuffleRng.getState();
    const order = Int32Array.from(this.indices);
    return this.shuffle ? shuffleInPlace(order, this.shuffleRng) : order;
  }

  /** The next batch, moving on to a fresh (reshuffled) epoch when one is used up. Endless. */
  next(): Batch {
    if (this.position >= this.batchesPerEpoch) {
      this.epochIndex++;
      this.position = 0;
      this.order = this.drawOrder();
    }
    const start = this.position * this.batchSize;
    const picked = this.order.slice(start, Math.min(start + this.batchSize, this.size));
    this.position++;
    return makeBatch(this.dataset, picked, { transform: this.transform, rng: this.augmentRng, device: this.device });
  }

  /**
   * batchSize samples drawn uniformly with replacement by `rng`, which also
   * drives their augmentation; the loader's position and generators are
   * untouched (for a caller that reseeds `rng` itself, e.g. per epoch).
   */
  randomBatch(rng: Rng): Batch {
    const picked = Int32Array.from({ length: this.batchSize }, () => this.indices[rng.int(this.indices.length)]!);
    return makeBatch(this.dataset, picked, { transform: this.transform, rng, device: this.device });
  }

  /**
   * The rest of the current epoch (all of the next one when the current is
   * used up). Leaving the loop early keeps the position, so the next call
   * continues the same epoch.
   */
  *epochBatches(): Generator<Batch, void, undefined> {
    if (this.position >= this.batchesPerEpoch) {
      this.epochIndex++;
      this.position = 0;
      this.order = this.drawOrder();
    }
    while (this.position < this.batchesPerEpoch) yield this.next();
  }

  getState(): LoaderState {
    return {
      epoch: this.epochIndex,
      position: this.position,
      shuffleRng: [...this.epochStartRng] as RngState,
      augmentRng: this.augmentRng.getState(),
    };
  }

  setState(state: LoaderState): void {
    this.shuffleRng.setState(state.shuffleRng);
    this.order = this.drawOrder();
    this.epochIndex = state.epoch;
    this.position = state.position;
    this.augmentRng.setState(state.augmentRng);
  }
}
