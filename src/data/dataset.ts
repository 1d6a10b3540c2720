// The in-memory dataset every reader produces. Images stay as uint8 (one
// byte a pixel: Fashion-MNIST train is 47 MB) and become float tensors one
// batch at a time in the loader.
import { dataError } from '../errors.js';

export type Split = 'train' | 'test';

export interface Dataset {
  /** Short name for logs, e.g. "fashion-mnist/train" or "cifar10/test". */
  name: string;
  /**
   * N×C×H×W pixels, row-major. Uint8Array holds 0..255; a Float32Array is
   * taken as already scaled to [0, 1].
   */
  images: Uint8Array | Float32Array;
  /** N class indices in 0..numClasses-1. */
  labels: Uint8Array | Int32Array;
  n: number;
  channels: number;
  height: number;
  width: number;
  numClasses: number;
  /** Class names by index, where the source has them. */
  classNames?: string[];
  /** The files the data was read from, in reading order. */
  files: string[];
}

/** Pixels in one image (C·H·W). */
export function imageSize(d: Pick<Dataset, 'channels' | 'height' | 'width'>): number {
  return d.channels * d.height * d.width;
}

/** A label array wide enough for numClasses. */
export function labelArray(n: number, numClasses: number): Uint8Array | Int32Array {
  return numClasses <= 256 ? new Uint8Array(n) : new Int32Array(n);
}

/**
 * Checks the fields agree with each other (array lengths, label range), so a
 * bad reader or hand-built dataset fails here rather than deep in training.
 */
export function validateDataset(d: Dataset): Dataset {
  const where = d.files[0] ?? d.name;
  for (const field of ['n', 'channels', 'height', 'width', 'numClasses'] as const) {
    const v = d[field];
    if (!Number.isInteger(v) || v < (field === 'n' ? 0 : 1)) {
      throw dataError(`dataset ${d.name}: ${field} must be a positive integer, found ${v}`, where);
    }
  }
  if (d.images.length !== d.n * imageSize(d)) {
    throw dataError(
      `dataset ${d.name}: expected ${d.n}×${d.channels}×${d.height}×${d.width} = ${d.n * imageSize(d)} pixel values, found ${d.images.length}`,
      where,
    );
  }
  if (d.labels.length !== d.n) {
    throw dataError(`dataset ${d.name}: expected ${d.n} labels, found ${d.labels.length}`, where);
  }
  for (let i = 0; i < d.n; i++) {
    const y = d.labels[i]!;
    if (y < 0 || y >= d.numClasses) {
      throw dataError(`dataset ${d.name}: label ${i} is ${y}, expected 0..${d.numClasses - 1}`, where);
    }
  }
  if (d.classNames && d.classNames.length !== d.numClasses) {
    throw dataError(`dataset ${d.name}: expected ${d.numClasses} class names, found ${d.classNames.length}`, where);
  }
  return d;
}

/** A new dataset holding copies of the given samples, in that order. */
export function subsetDataset(d: Dataset, indices: ArrayLike<number>, name = `${d.name}[subset]`): Dataset {
  const size = imageSize(d);
  const images = d.images instanceof Uint8Array ? new Uint8Array(indices.length * size) : new Float32Array(indices.length * size);
  const labels = labelArray(indices.length, d.numClasses);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    if (!(i >= 0 && i < d.n)) throw new RangeError(`subsetDataset: index ${i} outside 0..${d.n - 1}`);
    images.set(d.images.subarray(i * size, (i + 1) * size), k * size);
    labels[k] = d.labels[i]!;
  }
  return { ...d, name, images, labels, n: indices.length };
}

/** How many samples each class has (length numClasses). */
export function classCounts(d: Dataset): number[] {
  const counts = new Array<number>(d.numClasses).fill(0);
  for (let i = 0; i < d.n; i++) counts[d.labels[i]!]!++;
  return counts;
}

/**
 * Per-channel mean and standard deviation of the pixels scaled to [0, 1],
 * for datasets without published constants (image folders).
 */
export function channelStats(d: Dataset): { mean: number[]; std: number[] } {
  const hw = d.height * d.width;
  const scale = d.images instanceof Uint8Array ? 1 / 255 : 1;
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < d.channels; c++) {
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < d.n; i++) {
      const base = (i * d.channels + c) * hw;
      for (let p = 0; p < hw; p++) {
        const v = d.images[base + p]! * scale;
        sum += v;
        sumSq += v * v;
      }
    }
    const count = d.n * hw;
    const m = count > 0 ? sum / count : 0;
    mean.push(m);
    std.push(count > 0 ? Math.sqrt(Math.max(0, sumSq / count - m * m)) : 0);
  }
  return { mean, std };
}
