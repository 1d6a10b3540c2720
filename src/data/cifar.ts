// CIFAR-10 and CIFAR-100 in their "binary version" formats: fixed-size
// records of label byte(s) followed by 3072 pixels as R, G, B planes of 32×32.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { dataError } from '../errors.js';
import { validateDataset, type Dataset, type Split } from './dataset.js';
import { firstExisting, readDataFile, requireDirectory } from './files.js';

export const CIFAR_PIXELS = 3 * 32 * 32;

export const CIFAR10_CLASSES = [
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
];

export type CifarVariant = 'cifar10' | 'cifar100';

export interface CifarOptions {
  dir: string;
  split?: Split;
  /** CIFAR-100 only: the 100 fine labels (default) or the 20 coarse ones. */
  labels?: 'fine' | 'coarse';
}

interface Layout {
  /** Label bytes before the pixels of each record. */
  labelBytes: number;
  /** Which of those bytes is the label we keep. */
  labelOffset: number;
  numClasses: number;
  /** The sub-directory the official archive unpacks to. */
  archiveDir: string;
  files: Record<Split, string[]>;
}

function layout(variant: CifarVariant, labels: 'fine' | 'coarse'): Layout {
  if (variant === 'cifar10') {
    return {
      labelBytes: 1,
      labelOffset: 0,
      numClasses: 10,
      archiveDir: 'cifar-10-batches-bin',
      files: { train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`), test: ['test_batch.bin'] },
    };
  }
  return {
    labelBytes: 2,
    labelOffset: labels === 'coarse' ? 0 : 1,
    numClasses: labels === 'coarse' ? 20 : 100,
    archiveDir: 'cifar-100-binary',
    files: { train: ['train.bin'], test: ['test.bin'] },
  };
}

/** Record size in bytes: label byte(s) plus 3072 pixels. */
export function cifarRecordSize(variant: CifarVariant): number {
  return layout(variant, 'fine').labelBytes + CIFAR_PIXELS;
}

/** The files of a split that exist in dir (each as .bin or .bin.gz), in batch order. */
export function cifarFiles(variant: CifarVariant, dir: string, split: Split): string[] {
  const l = layout(variant, 'fine');
  // Accept both the directory holding the files and the one the archive unpacked into.
  const nested = join(dir, l.archiveDir);
  const base = existsSync(nested) && statSync(nested).isDirectory() ? nested : dir;
  const found: string[] = [];
  for (const name of l.files[split]) {
    const path = firstExisting([join(base, name), join(base, `${name}.gz`)]);
    if (path) found.push(path);
  }
  return found;
}

/** Parses the records of one file into images and labels at the given record offset. */
function parseRecords(
  bytes: Uint8Array,
  file: string,
  l: Layout,
  images: Uint8Array,
  labels: Uint8Array,
  firstRecord: number,
): void {
  const recordSize = l.labelBytes + CIFAR_PIXELS;
  const n = bytes.length / recordSize;
  for (let r = 0; r < n; r++) {
    const at = r * recordSize;
    const label = bytes[at + l.labelOffset]!;
    if (label >= l.numClasses) {
      throw dataError(`record ${r} has label ${label}, expected 0..${l.numClasses - 1}`, file);
    }
    labels[firstRecord + r] = label;
    images.set(bytes.subarray(at + l.labelBytes, at + recordSize), (firstRecord + r) * CIFAR_PIXELS);
  }
}

function classNames(variant: CifarVariant, dir: string, labels: 'fine' | 'coarse', numClasses: number): string[] | undefined {
  if (variant === 'cifar10') return CIFAR10_CLASSES;
  const l = layout(variant, labels);
  for (const base of [join(dir, l.archiveDir), dir]) {
    const path = join(base, `${labels}_label_names.txt`);
    if (existsSync(path)) {
      const names = readFileSync(path, 'utf8').split('\n').map((s) => s.trim()).filter((s) => s.length > 0);
      if (names.length === numClasses) return names;
    }
  }
  return undefined;
}

/**
 * Reads the files of a split that are present in dir (any subset of
 * data_batch_1..5 for CIFAR-10 train). The returned dataset's files lists
 * exactly the files used, so callers can log them.
 */
export function loadCifar(variant: CifarVariant, options: CifarOptions): Dataset {
  const split = options.split ?? 'train';
  const labelKind = options.labels ?? 'fine';
  const l = layout(variant, labelKind);
  requireDirectory(options.dir, variant === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100');
  const files = cifarFiles(variant, options.dir, split);
  if (files.length === 0) {
    const expected = l.files[split].map((f) => `${f}[.gz]`).join(', ');
    throw dataError(`expected ${split} files of ${variant} (${expected}), found none`, options.dir);
  }
  const recordSize = l.labelBytes + CIFAR_PIXELS;
  const contents = files.map((file) => {
    const bytes = readDataFile(file);
    if (bytes.length === 0 || bytes.length % recordSize !== 0) {
      throw dataError(`expected a multiple of ${recordSize} bytes (${variant} records), found ${bytes.length}`, file);
    }
    return bytes;
  });
  const n = contents.reduce((sum, b) => sum + b.length / recordSize, 0);
  const images = new Uint8Array(n * CIFAR_PIXELS);
  const labels = new Uint8Array(n);
  let at = 0;
  contents.forEach((bytes, i) => {
    parseRecords(bytes, files[i]!, l, images, labels, at);
    at += bytes.length / recordSize;
  });
  const names = classNames(variant, options.dir, labelKind, l.numClasses);
  return validateDataset({
    name: `${variant}/${split}`,
    images,
    labels,
    n,
    channels: 3,
    height: 32,
    width: 32,
    numClasses: l.numClasses,
    ...(names ? { classNames: names } : {}),
    files,
  });
}

export const loadCifar10 = (options: Omit<CifarOptions, 'labels'>) => loadCifar('cifar10', options);
export const loadCifar100 = (options: CifarOptions) => loadCifar('cifar100', options);
