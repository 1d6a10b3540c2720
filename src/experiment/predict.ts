// tsnas predict: a trained model (the weights of a final training, whose
// metadata names the space, the architecture, the classes and the input's
// size and normalisation: final.ts) classifies image files with the same
// preprocessing as its evaluation (the folder loader's conversion to the
// model's channels and stored size, then the resize and normalisation).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildTransform, type AugmentOptions } from '../data/augment.js';
import { labelArray, validateDataset } from '../data/dataset.js';
import { toPlanes } from '../data/folder.js';
import { decodeImage } from '../data/image.js';
import { makeBatch } from '../data/loader.js';
import { dataError } from '../errors.js';
import { loadSafetensors } from '../export/safetensors.js';
import { buildNetwork, getSpace } from '../kits/index.js';
import type { Module } from '../nn/module.js';
import { noGrad, tidy, type Tensor } from '../tensor/index.js';
import type { FinalWeightsMetadata } from './final.js';

export interface TrainedModel {
  net: Module;
  arch: string;
  classes: string[];
  inChannels: number;
  imageSize: number;
  augment: AugmentOptions;
  dispose(): void;
}

const REQUIRED: (keyof FinalWeightsMetadata)[] = ['arch', 'space', 'resolution', 'classes', 'in_channels', 'image_size', 'mean', 'std'];

/** Loads a model directory (its best.safetensors) or a weights file; a data error names what is missing. */
export function loadTrainedModel(path: string): TrainedModel {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'best.safetensors') : path;
  if (!existsSync(file)) throw dataError('expected a model directory holding best.safetensors (written by tsnas fit) or a .safetensors file, found none', file);
  const { tensors, metadata } = loadSafetensors(file);
  try {
    const missing = REQUIRED.filter((k) => metadata[k] === undefined);
    if (missing.length > 0) throw dataError(`the weights lack the metadata ${missing.join(', ')} that predict needs (trained before tsnas fit wrote it?)`, file);
    const m = metadata as unknown as FinalWeightsMetadata;
    const space = getSpace(m.space);
    const classes = JSON.parse(m.classes) as string[];
    const net = buildNetwork(space, space.parse(m.arch), {
      numClasses: classes.length, inChannels: Number(m.in_channels), inputSize: Number(m.resolution),
      ...(m.C !== undefined ? { channels: Number(m.C) } : {}), ...(m.N !== undefined ? { cells: Number(m.N) } : {}),
    });
    net.loadStateDict(tensors);
    net.eval();
    const imageSize = Number(m.image_size);
    const resolution = Number(m.resolution);
    return {
      net, arch: m.arch, classes, inChannels: Number(m.in_channels), imageSize,
      augment: { resize: resolution === imageSize ? undefined : resolution, normalize: { mean: JSON.parse(m.mean) as number[], std: JSON.parse(m.std) as number[] } },
      dispose: () => net.dispose(),
    };
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}

export interface Prediction {
  file: string;
  /** Best first. */
  top: { label: string; probability: number }[];
}

/** The top classes of each image file (a data error names a file that cannot be decoded). */
export function predictImages(model: TrainedModel, files: readonly string[], top = 3): Prediction[] {
  const size = model.inChannels * model.imageSize * model.imageSize;
  const images = new Uint8Array(files.length * size);
  files.forEach((f, i) => {
    if (!existsSync(f)) throw dataError('image file not found', f);
    images.set(toPlanes(decodeImage(readFileSync(f), f), model.inChannels, model.imageSize, model.imageSize), i * size);
  });
  const data = validateDataset({
    name: 'predict', images, labels: labelArray(files.length, model.classes.length), n: files.length,
    channels: model.inChannels, height: model.imageSize, width: model.imageSize, numClasses: model.classes.length, files: [...files],
  });
  const batch = makeBatch(data, Int32Array.from(files, (_, i) => i), { transform: buildTransform(model.augment, false) });
  try {
    const probabilities = tidy(() => noGrad(() => (model.net.call(batch.x) as Tensor).softmax(1).toArray()));
    const k = Math.min(top, model.classes.length);
    return files.map((file, i) => {
      const row = probabilities.slice(i * model.classes.length, (i + 1) * model.classes.length);
      const order = row.map((p, c) => [p, c] as const).sort((a, b) => b[0] - a[0]).slice(0, k);
      return { file, top: order.map(([p, c]) => ({ label: model.classes[c]!, probability: p })) };
    });
  } finally {
    batch.x.dispose();
    batch.y.dispose();
  }
}
