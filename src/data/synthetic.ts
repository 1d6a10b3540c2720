// Writers for the formats the readers take, and small random datasets: for
// tests and examples that need data files without downloading any.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, deflateSync } from 'node:zlib';
import { Rng } from '../util/random.js';
import { labelArray, type Dataset } from './dataset.js';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC } from './idx.js';

/** IDX bytes: the big-endian magic and sizes, then the values. */
export function encodeIdx(magic: number, dims: number[], data: Uint8Array): Uint8Array {
  const header = new DataView(new ArrayBuffer(4 + 4 * dims.length));
  header.setUint32(0, magic, false);
  dims.forEach((d, i) => header.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(header.byteLength + data.length);
  out.set(new Uint8Array(header.buffer), 0);
  out.set(data, header.byteLength);
  return out;
}

/** CIFAR binary records: the label bytes of each sample, then its 3072 pixels. */
export function encodeCifarRecords(labels: number[][], images: Uint8Array): Uint8Array {
  const labelBytes = labels[0]?.length ?? 1;
  const recordSize = labelBytes + 3072;
  const out = new Uint8Array(labels.length * recordSize);
  labels.forEach((ls, i) => {
    out.set(ls, i * recordSize);
    out.set(images.subarray(i * 3072, (i + 1) * 3072), i * recordSize + labelBytes);
  });
  return out;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length, false);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)), false);
  return out;
}

export interface PngEncodeOptions {
  /** Filter type per row (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth), cycled; default all 0. */
  filters?: number[];
  /** Header overrides, to produce variants the decoder must refuse. */
  bitDepth?: number;
  interlace?: number;
  colorType?: number;
}

/**
 * An 8-bit PNG of interleaved H×W×C bytes (C = 1, 2, 3 or 4), each row
 * filtered with the given filter types.
 */
export function encodePng(img: { width: number; height: number; channels: number; data: Uint8Array }, o: PngEncodeOptions = {}): Uint8Array {
  const colorType = o.colorType ?? ({ 1: 0, 2: 4, 3: 2, 4: 6 } as Record<number, number>)[img.channels]!;
  const bpp = img.channels;
  const stride = img.width * bpp;
  const filters = o.filters ?? [0];
  const raw = new Uint8Array(img.height * (stride + 1));
  for (let y = 0; y < img.height; y++) {
    const f = filters[y % filters.length]!;
    raw[y * (stride + 1)] = f;
    for (let x = 0; x < stride; x++) {
      const cur = img.data[y * stride + x]!;
      const a = x >= bpp ? img.data[y * stride + x - bpp]! : 0;
      const b = y > 0 ? img.data[(y - 1) * stride + x]! : 0;
      const c = x >= bpp && y > 0 ? img.data[(y - 1) * stride + x - bpp]! : 0;
      let pred = 0;
      if (f === 1) pred = a;
      else if (f === 2) pred = b;
      else if (f === 3) pred = (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      raw[y * (stride + 1) + 1 + x] = (cur - pred) & 0xff;
    }
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, img.width, false);
  v.setUint32(4, img.height, false);
  ihdr[8] = o.bitDepth ?? 8;
  ihdr[9] = colorType;
  ihdr[12] = o.interlace ?? 0;
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', new Uint8Array(0)),
  ];
  return Buffer.concat(parts);
}

/** Binary PGM (1 channel) or PPM (3 channels) of interleaved bytes. */
export function encodePnm(img: { width: number; height: number; channels: number; data: Uint8Array }, maxval = 255): Uint8Array {
  const header = `${img.channels === 1 ? 'P5' : 'P6'}\n# tsnas synthetic\n${img.width} ${img.height}\n${maxval}\n`;
  return Buffer.concat([Buffer.from(header, 'latin1'), img.data]);
}

/** A random uint8 dataset whose pixels carry a faint class signal (channel means shift with the label). */
export function syntheticDataset(o: {
  n: number;
  channels?: number;
  height?: number;
  width?: number;
  numClasses?: number;
  seed?: number;
  name?: string;
}): Dataset {
  const channels = o.channels ?? 3;
  const height = o.height ?? 8;
  const width = o.width ?? 8;
  const numClasses = o.numClasses ?? 10;
  const rng = new Rng(o.seed ?? 0);
  const size = channels * height * width;
  const images = new Uint8Array(o.n * size);
  const labels = labelArray(o.n, numClasses);
  for (let i = 0; i < o.n; i++) {
    const y = rng.int(numClasses);
    labels[i] = y;
    const shift = Math.round((200 * y) / Math.max(1, numClasses - 1));
    for (let p = 0; p < size; p++) images[i * size + p] = Math.min(255, (rng.int(56) + shift) & 0xff);
  }
  return { name: o.name ?? 'synthetic', images, labels, n: o.n, channels, height, width, numClasses, files: [] };
}

/** Writes a dataset as a CIFAR-10 directory (3×32×32 only), split into batch files of `perFile` records. */
export function writeCifar10Dir(dir: string, train: Dataset, test: Dataset, o: { perFile?: number; gzip?: boolean } = {}): string[] {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const write = (name: string, d: Dataset, from: number, to: number) => {
    const labels = Array.from(d.labels.subarray(from, to), (l) => [l]);
    const bytes = encodeCifarRecords(labels, d.images.subarray(from * 3072, to * 3072) as Uint8Array);
    const path = join(dir, o.gzip ? `${name}.gz` : name);
    writeFileSync(path, o.gzip ? gzipSync(bytes) : bytes);
    written.push(path);
  };
  const perFile = o.perFile ?? Math.ceil(train.n / 5);
  for (let b = 0; b * perFile < train.n && b < 5; b++) write(`data_batch_${b + 1}.bin`, train, b * perFile, Math.min(train.n, (b + 1) * perFile));
  write('test_batch.bin', test, 0, test.n);
  return written;
}

/** Writes an IDX image/label pair (1-channel datasets), returning their paths. */
export function writeIdxPair(dir: string, prefix: string, d: Dataset, o: { gzip?: boolean } = {}): { imagesPath: string; labelsPath: string } {
  mkdirSync(dir, { recursive: true });
  const ext = o.gzip ? '.gz' : '';
  const imagesPath = join(dir, `${prefix}-images-idx3-ubyte${ext}`);
  const labelsPath = join(dir, `${prefix}-labels-idx1-ubyte${ext}`);
  const images = encodeIdx(IDX_IMAGES_MAGIC, [d.n, d.height, d.width], d.images as Uint8Array);
  const labels = encodeIdx(IDX_LABELS_MAGIC, [d.n], Uint8Array.from(d.labels));
  writeFileSync(imagesPath, o.gzip ? gzipSync(images) : images);
  writeFileSync(labelsPath, o.gzip ? gzipSync(labels) : labels);
  return { imagesPath, labelsPath };
}
