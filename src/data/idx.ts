// IDX files (the MNIST family): a big-endian header, magic 0x000008DD where
// 08 means unsigned bytes and DD is the number of dimensions, then one
// 32-bit size per dimension, then the bytes.
import { join } from 'node:path';
import { dataError } from '../errors.js';
import { labelArray, validateDataset, type Dataset, type Split } from './dataset.js';
import { firstExisting, readDataFile, requireDirectory } from './files.js';

export const IDX_IMAGES_MAGIC = 0x00000803;
export const IDX_LABELS_MAGIC = 0x00000801;

export interface IdxArray {
  dims: number[];
  /** The values, a view into the (decompressed) file. */
  data: Uint8Array;
}

const hex = (v: number) => '0x' + (v >>> 0).toString(16).padStart(8, '0');
const magicName = (m: number) =>
  m === IDX_IMAGES_MAGIC ? 'IDX images' : m === IDX_LABELS_MAGIC ? 'IDX labels' : `IDX with ${m & 0xff} dimensions`;

/** Parses IDX bytes; expectedMagic pins the element type and rank. */
export function parseIdx(bytes: Uint8Array, expectedMagic: number, file: string): IdxArray {
  if (bytes.length < 4) {
    throw dataError(`expected a 4-byte IDX magic number, found a ${bytes.length}-byte file`, file);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== expectedMagic) {
    throw dataError(`expected magic ${hex(expectedMagic)} (${magicName(expectedMagic)}), found ${hex(magic)}`, file);
  }
  const rank = magic & 0xff;
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw dataError(`truncated header: expected ${headerBytes} bytes for ${rank} dimensions, found ${bytes.length}`, file);
  }
  const dims: number[] = [];
  for (let d = 0; d < rank; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const found = bytes.length - headerBytes;
  if (found !== count) {
    throw dataError(
      `${found < count ? 'truncated file' : 'trailing data'}: expected ${count} data bytes (${dims.join('×')}) after the ${headerBytes}-byte header, found ${found}`,
      file,
    );
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

/** Reads an IDX file, raw or gzipped. */
export function readIdx(path: string, expectedMagic: number): IdxArray {
  return parseIdx(readDataFile(path), expectedMagic, path);
}

export interface IdxPairOptions {
  imagesPath: string;
  labelsPath: string;
  name: string;
  numClasses: number;
  classNames?: string[];
}

/** An image IDX file (N×H×W) and its label IDX file (N) as one dataset. */
export function loadIdxPair(o: IdxPairOptions): Dataset {
  const images = readIdx(o.imagesPath, IDX_IMAGES_MAGIC);
  const labels = readIdx(o.labelsPath, IDX_LABELS_MAGIC);
  const [n, height, width] = images.dims as [number, number, number];
  if (labels.dims[0] !== n) {
    throw dataError(`expected ${n} labels to match ${o.imagesPath}, found ${labels.dims[0]}`, o.labelsPath);
  }
  const labelValues = labelArray(n, o.numClasses);
  labelValues.set(labels.data);
  for (let i = 0; i < n; i++) {
    if (labelValues[i]! >= o.numClasses) {
      throw dataError(`label ${i} is ${labelValues[i]}, expected 0..${o.numClasses - 1}`, o.labelsPath);
    }
  }
  return validateDataset({
    name: o.name,
    // A copy, so the dataset does not pin the whole decompressed buffer.
    images: new Uint8Array(images.data),
    labels: labelValues,
    n,
    channels: 1,
    height,
    width,
    numClasses: o.numClasses,
    ...(o.classNames ? { classNames: o.classNames } : {}),
    files: [o.imagesPath, o.labelsPath],
  });
}

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];

/** The IDX file pair for a split, preferring .gz and falling back to raw files. */
export function fashionMnistFiles(split: Split, dir = FASHION_MNIST_DIR): { imagesPath: string; labelsPath: string } {
  const prefix = split === 'train' ? 'train' : 't10k';
  const find = (base: string) => {
    const candidates = [join(dir, `${base}.gz`), join(dir, base)];
    const found = firstExisting(candidates);
    if (!found) throw dataError(`expected ${base}.gz or ${base} (Debian package dataset-fashion-mnist), found neither`, dir);
    return found;
  };
  return { imagesPath: find(`${prefix}-images-idx3-ubyte`), labelsPath: find(`${prefix}-labels-idx1-ubyte`) };
}

/** Fashion-MNIST (60000 train / 10000 test, 1×28×28, 10 classes). */
export function loadFashionMnist(options: { split?: Split; dir?: string } = {}): Dataset {
  const split = options.split ?? 'train';
  const dir = options.dir ?? FASHION_MNIST_DIR;
  requireDirectory(dir, 'Fashion-MNIST');
  return loadIdxPair({
    ...fashionMnistFiles(split, dir),
    name: `fashion-mnist/${split}`,
    numClasses: 10,
    classNames: FASHION_MNIST_CLASSES,
  });
}
