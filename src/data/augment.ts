// Per-batch preprocessing and augmentation on plain Float32Arrays, before
// the batch becomes a tensor: cheap loops over a 64×3×32×32 batch beat a
// dozen native calls, and all randomness comes from a seeded Rng.
import type { Rng } from '../util/random.js';

/** n images, N×C×H×W row-major. */
export interface ImageBatch {
  data: Float32Array;
  n: number;
  channels: number;
  height: number;
  width: number;
}

export interface Normalization {
  mean: number[];
  std: number[];
}

/** Published per-channel statistics of the training sets, on pixels scaled to [0, 1]. */
export const NORMALIZATION = {
  cifar10: { mean: [0.49139968, 0.48215827, 0.44653124], std: [0.24703233, 0.24348505, 0.26158768] },
  cifar100: { mean: [0.50707516, 0.48654887, 0.44091784], std: [0.26733429, 0.25643846, 0.27615047] },
  fashionMnist: { mean: [0.2860406], std: [0.3530242] },
} as const satisfies Record<string, Normalization>;

/** Gathers the given images of an N×C×H×W array into a float batch scaled to [0, 1]. */
export function gatherImages(
  images: Uint8Array | Float32Array,
  indices: ArrayLike<number>,
  shape: { channels: number; height: number; width: number },
): ImageBatch {
  const size = shape.channels * shape.height * shape.width;
  const data = new Float32Array(indices.length * size);
  const scale = images instanceof Uint8Array ? 1 / 255 : 1;
  for (let k = 0; k < indices.length; k++) {
    const src = indices[k]! * size;
    const dst = k * size;
    for (let p = 0; p < size; p++) data[dst + p] = images[src + p]! * scale;
  }
  return { data, n: indices.length, channels: shape.channels, height: shape.height, width: shape.width };
}

/**
 * torchvision-style RandomCrop with zero padding: pads each image by
 * `padding` on every side and takes a size×size window at a uniformly random
 * offset (two rng draws per image: top, then left).
 */
export function randomCrop(b: ImageBatch, rng: Rng, options: { padding: number; size?: number }): ImageBatch {
  const pad = options.padding;
  const outH = options.size ?? b.height;
  const outW = options.size ?? b.width;
  const maxTop = b.height + 2 * pad - outH;
  const maxLeft = b.width + 2 * pad - outW;
  if (maxTop < 0 || maxLeft < 0) {
    throw new RangeError(`randomCrop: crop ${outH}×${outW} is larger than the padded ${b.height + 2 * pad}×${b.width + 2 * pad} image`);
  }
  const out = new Float32Array(b.n * b.channels * outH * outW);
  const inPlane = b.height * b.width;
  const outPlane = outH * outW;
  for (let i = 0; i < b.n; i++) {
    // Offsets of the window's corner in unpadded coordinates.
    const top = rng.int(maxTop + 1) - pad;
    const left = rng.int(maxLeft + 1) - pad;
    const xStart = Math.max(0, -left);
    const xEnd = Math.min(outW, b.width - left);
    for (let c = 0; c < b.channels; c++) {
      const src = (i * b.channels + c) * inPlane;
      const dst = (i * b.channels + c) * outPlane;
      for (let y = 0; y < outH; y++) {
        const sy = y + top;
        if (sy < 0 || sy >= b.height || xStart >= xEnd) continue;
        const rowSrc = src + sy * b.width + left;
        const rowDst = dst + y * outW;
        for (let x = xStart; x < xEnd; x++) out[rowDst + x] = b.data[rowSrc + x]!;
      }
    }
  }
  return { ...b, data: out, height: outH, width: outW };
}

/** Mirrors each image left-right with probability p (one rng draw per image). In place. */
export function horizontalFlip(b: ImageBatch, rng: Rng, p = 0.5): ImageBatch {
  const plane = b.height * b.width;
  for (let i = 0; i < b.n; i++) {
    if (!(rng.next() < p)) continue;
    for (let c = 0; c < b.channels; c++) {
      const base = (i * b.channels + c) * plane;
      for (let y = 0; y < b.height; y++) {
        const row = base + y * b.width;
        for (let l = 0, r = b.width - 1; l < r; l++, r--) {
          const t = b.data[row + l]!;
          b.data[row + l] = b.data[row + r]!;
          b.data[row + r] = t;
        }
      }
    }
  }
  return b;
}

/**
 * Cutout (DeVries & Taylor, as in DARTS): zeroes a length×length square,
 * clipped at the borders, centred on a uniformly random pixel (two rng
 * draws per image: centre row, then column), in every channel. In place.
 */
export function cutout(b: ImageBatch, rng: Rng, length: number): ImageBatch {
  const plane = b.height * b.width;
  const half = Math.floor(length / 2);
  for (let i = 0; i < b.n; i++) {
    const cy = rng.int(b.height);
    const cx = rng.int(b.width);
    const y0 = Math.max(0, cy - half);
    const y1 = Math.min(b.height, cy + half);
    const x0 = Math.max(0, cx - half);
    const x1 = Math.min(b.width, cx + half);
    for (let c = 0; c < b.channels; c++) {
      const base = (i * b.channels + c) * plane;
      for (let y = y0; y < y1; y++) b.data.fill(0, base + y * b.width + x0, base + y * b.width + x1);
    }
  }
  return b;
}

/** (x - mean[c]) / std[c] per channel. In place. */
export function normalize(b: ImageBatch, norm: Normalization): ImageBatch {
  if (norm.mean.length !== b.channels || norm.std.length !== b.channels) {
    throw new RangeError(`normalize: expected ${b.channels} channel means and stds, found ${norm.mean.length} and ${norm.std.length}`);
  }
  const plane = b.height * b.width;
  for (let i = 0; i < b.n; i++) {
    for (let c = 0; c < b.channels; c++) {
      const m = norm.mean[c]!;
      const inv = 1 / norm.std[c]!;
      const base = (i * b.channels + c) * plane;
      for (let p = base; p < base + plane; p++) b.data[p] = (b.data[p]! - m) * inv;
    }
  }
  return b;
}

/** For each output cell, the input range [start, end) it averages: torch's adaptive/area rule. */
function areaRanges(inSize: number, outSize: number): { start: Int32Array; end: Int32Array } {
  const start = new Int32Array(outSize);
  const end = new Int32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    start[o] = Math.floor((o * inSize) / outSize);
    end[o] = Math.ceil(((o + 1) * inSize) / outSize);
  }
  return { start, end };
}

/**
 * Resizes every plane by area averaging (box averaging for integer factors,
 * e.g. 32→16; the same rule as torch's interpolate mode 'area' otherwise,
 * e.g. 28→16).
 */
export function resizeArea(b: ImageBatch, height: number, width = height): ImageBatch {
  if (height === b.height && width === b.width) return b;
  const out = new Float32Array(b.n * b.channels * height * width);
  resizePlanes(b.data, out, b.n * b.channels, b.height, b.width, height, width);
  return { ...b, data: out, height, width };
}

/** Area-resizes `planes` consecutive H×W planes of src into h×w planes of dst. */
export function resizePlanes(
  src: ArrayLike<number>,
  dst: { [i: number]: number },
  planes: number,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
): void {
  const rows = areaRanges(inH, outH);
  const cols = areaRanges(inW, outW);
  const inPlane = inH * inW;
  const outPlane = outH * outW;
  for (let p = 0; p < planes; p++) {
    const s = p * inPlane;
    const d = p * outPlane;
    for (let oy = 0; oy < outH; oy++) {
      const y0 = rows.start[oy]!;
      const y1 = rows.end[oy]!;
      for (let ox = 0; ox < outW; ox++) {
        const x0 = cols.start[ox]!;
        const x1 = cols.end[ox]!;
        let sum = 0;
        for (let y = y0; y < y1; y++) {
          const row = s + y * inW;
          for (let x = x0; x < x1; x++) sum += src[row + x]!;
        }
        dst[d + oy * outW + ox] = sum / ((y1 - y0) * (x1 - x0));
      }
    }
  }
}

/** A batch transform; random ones draw from rng. It may reuse or replace b.data. */
export type BatchTransform = (b: ImageBatch, rng: Rng) => ImageBatch;

export interface AugmentOptions {
  /** Area-resize to resize×resize first (e.g. 16 for 16×16 proxies, or 28→32). */
  resize?: number;
  /** Random crop with zero padding (training only); size defaults to the (resized) image size. */
  crop?: { padding: number; size?: number };
  /** Random horizontal flip with p = 0.5 (training only). */
  flip?: boolean;
  /** Cutout length (training only, after normalisation as in DARTS); 0 or absent for none. */
  cutout?: number;
  /** Per-channel normalisation; absent leaves pixels in [0, 1]. */
  normalize?: Normalization;
}

/**
 * The pipeline resize → crop → flip → normalise → cutout. With train false
 * only the deterministic steps (resize, normalise) run, for evaluation.
 */
export function buildTransform(o: AugmentOptions, train = true): BatchTransform {
  const steps: BatchTransform[] = [];
  if (o.resize) {
    const size = o.resize;
    steps.push((b) => resizeArea(b, size));
  }
  if (train && o.crop) {
    const crop = o.crop;
    steps.push((b, rng) => randomCrop(b, rng, crop));
  }
  if (train && o.flip) steps.push((b, rng) => horizontalFlip(b, rng));
  if (o.normalize) {
    const norm = o.normalize;
    steps.push((b) => normalize(b, norm));
  }
  if (train && o.cutout && o.cutout > 0) {
    const length = o.cutout;
    steps.push((b, rng) => cutout(b, rng, length));
  }
  return (b, rng) => steps.reduce((acc, step) => step(acc, rng), b);
}
