// Dataset specs as given on the command line: fashion-mnist[:<dir>],
// cifar10:<dir>, cifar100:<dir>, folder:<dir>[?size=N&skip-bad] (the
// options resize every image to N×N, for folders of mixed sizes, and skip
// the images that cannot be decoded).
import { usageError } from '../errors.js';
import { NORMALIZATION, type AugmentOptions, type Normalization } from './augment.js';
import { loadCifar } from './cifar.js';
import { channelStats, type Dataset, type Split } from './dataset.js';
import { folderSplitDirs, loadImageFolder } from './folder.js';
import { FASHION_MNIST_DIR, loadFashionMnist } from './idx.js';

export type DatasetSpec =
  | { kind: 'fashion-mnist'; dir: string }
  | { kind: 'cifar10'; dir: string }
  | { kind: 'cifar100'; dir: string }
  | { kind: 'folder'; dir: string; size?: number; skipBad?: boolean };

export const DATASET_SPEC_FORMS = ['fashion-mnist', 'fashion-mnist:<dir>', 'cifar10:<dir>', 'cifar100:<dir>', 'folder:<dir>[?size=N&skip-bad]'];

/** The spec string of a parsed spec (parseDatasetSpec reads it back). */
export function formatDatasetSpec(s: DatasetSpec): string {
  if (s.kind !== 'folder') return `${s.kind}:${s.dir}`;
  const options = [...(s.size !== undefined ? [`size=${s.size}`] : []), ...(s.skipBad ? ['skip-bad'] : [])];
  return `folder:${s.dir}${options.length > 0 ? `?${options.join('&')}` : ''}`;
}

function parseFolderSpec(value: string, rest: string, where: string): DatasetSpec {
  const q = rest.lastIndexOf('?');
  if (q < 0) return { kind: 'folder', dir: rest };
  const spec: DatasetSpec = { kind: 'folder', dir: rest.slice(0, q) };
  for (const option of rest.slice(q + 1).split('&')) {
    const size = /^size=(\d+)$/.exec(option);
    if (size && Number(size[1]) >= 1 && Number(size[1]) <= 4096) spec.size = Number(size[1]);
    else if (option === 'skip-bad') spec.skipBad = true;
    else throw usageError(`"${value}": unknown folder option "${option}", expected size=N (1..4096) or skip-bad`, where);
  }
  return spec;
}

/** Parses a spec; anything else is a usage error naming the value and the accepted forms. */
export function parseDatasetSpec(value: string, where = 'dataset'): DatasetSpec {
  const colon = value.indexOf(':');
  const kind = colon < 0 ? value : value.slice(0, colon);
  const dir = colon < 0 ? '' : value.slice(colon + 1);
  const accepted = `expected one of ${DATASET_SPEC_FORMS.join(', ')}`;
  switch (kind) {
    case 'fashion-mnist':
      return { kind, dir: dir || FASHION_MNIST_DIR };
    case 'cifar10':
    case 'cifar100':
    case 'folder':
      if (!dir) throw usageError(`"${value}" needs a directory: ${kind}:<dir>`, where);
      return kind === 'folder' ? parseFolderSpec(value, dir, where) : { kind, dir };
    default:
      throw usageError(`unknown dataset "${value}": ${accepted}`, where);
  }
}

export interface DatasetSource {
  spec: DatasetSpec;
  /** Short name, e.g. "cifar10". */
  name: string;
  /** Reads a split (each call reads the files again; keep the result). */
  load(split: Split): Dataset;
  /** Whether load('test') finds a test split (a folder may have none). */
  hasTest(): boolean;
  /**
   * The per-channel normalisation to use: the published constants, or for
   * image folders the statistics of the given (training) dataset.
   */
  normalization(train: Dataset): Normalization;
}

/** A loader for a spec string (or a parsed spec). */
export function datasetSource(spec: string | DatasetSpec): DatasetSource {
  const s = typeof spec === 'string' ? parseDatasetSpec(spec) : spec;
  const constant = (n: Normalization) => () => ({ mean: [...n.mean], std: [...n.std] });
  switch (s.kind) {
    case 'fashion-mnist':
      return {
        spec: s,
        name: 'fashion-mnist',
        load: (split) => loadFashionMnist({ split, dir: s.dir }),
        hasTest: () => true,
        normalization: constant(NORMALIZATION.fashionMnist),
      };
    case 'cifar10':
    case 'cifar100':
      return {
        spec: s,
        name: s.kind,
        load: (split) => loadCifar(s.kind, { dir: s.dir, split }),
        hasTest: () => true,
        normalization: constant(s.kind === 'cifar10' ? NORMALIZATION.cifar10 : NORMALIZATION.cifar100),
      };
    case 'folder':
      return {
        spec: s,
        name: `folder:${s.dir}`,
        load: (split) => loadImageFolder({ dir: s.dir, split, size: s.size, skipBad: s.skipBad }),
        hasTest: () => folderSplitDirs(s.dir).test !== undefined,
        normalization: (train) => {
          const stats = channelStats(train);
          // A constant channel would divide by zero.
          return { mean: stats.mean, std: stats.std.map((v) => (v > 1e-6 ? v : 1)) };
        },
      };
  }
}

/**
 * The standard training pipeline for a dataset: optional resize, random crop
 * (padding 4) and flip for colour images, and the source's normalisation.
 */
export function standardAugment(source: DatasetSource, train: Dataset, resolution?: number): AugmentOptions & { normalize: Normalization } {
  const color = train.channels === 3;
  return {
    resize: resolution,
    crop: color ? { padding: 4 } : undefined,
    flip: color,
    normalize: source.normalization(train),
  };
}
