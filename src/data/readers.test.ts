import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { TsnasError } from '../errors.js';
import {
  classCounts,
  cifarFiles,
  datasetSource,
  encodeCifarRecords,
  encodeIdx,
  FASHION_MNIST_DIR,
  IDX_IMAGES_MAGIC,
  IDX_LABELS_MAGIC,
  loadCifar,
  loadFashionMnist,
  loadIdxPair,
  parseDatasetSpec,
  readIdx,
  syntheticDataset,
  writeIdxPair,
} from './index.js';

const tmp = mkdtempSync(join(tmpdir(), 'tsnas-data-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
const freshDir = () => {
  const d = join(tmp, `d${counter++}`);
  mkdirSync(d, { recursive: true });
  return d;
};

/** Asserts fn throws a 'data' TsnasError (exit code 2) whose message contains every fragment. */
function assertDataError(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TsnasError, `expected a TsnasError, got ${String(e)}`);
    assert.equal(e.code, 'data');
    assert.equal(e.exitCode, 2);
    for (const f of fragments) assert.ok(e.message.includes(f), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(f)}`);
    return true;
  });
}

test('IDX image and label files read back exactly, raw and gzipped', () => {
  const d = syntheticDataset({ n: 7, channels: 1, height: 5, width: 3, numClasses: 10, seed: 3 });
  for (const gzip of [false, true]) {
    const dir = freshDir();
    const paths = writeIdxPair(dir, 'train', d, { gzip });
    const images = readIdx(paths.imagesPath, IDX_IMAGES_MAGIC);
    assert.deepEqual(images.dims, [7, 5, 3]);
    assert.deepEqual(Array.from(images.data), Array.from(d.images));
    const loaded = loadIdxPair({ ...paths, name: 'syn', numClasses: 10 });
    assert.equal(loaded.n, 7);
    assert.equal(loaded.channels, 1);
    assert.equal(loaded.height, 5);
    assert.equal(loaded.width, 3);
    assert.deepEqual(Array.from(loaded.images), Array.from(d.images));
    assert.deepEqual(Array.from(loaded.labels), Array.from(d.labels));
    assert.deepEqual(loaded.files, [paths.imagesPath, paths.labelsPath]);
  }
});

test('IDX errors: wrong magic, truncation, trailing bytes, label count and range', () => {
  const dir = freshDir();
  const labels = encodeIdx(IDX_LABELS_MAGIC, [4], Uint8Array.from([0, 1, 2, 3]));
  const labelsPath = join(dir, 'labels');
  writeFileSync(labelsPath, labels);
  assertDataError(() => readIdx(labelsPath, IDX_IMAGES_MAGIC), labelsPath, 'expected magic 0x00000803 (IDX images), found 0x00000801');

  const images = encodeIdx(IDX_IMAGES_MAGIC, [4, 2, 2], new Uint8Array(16));
  const truncated = join(dir, 'truncated.gz');
  writeFileSync(truncated, gzipSync(images.subarray(0, images.length - 3)));
  assertDataError(() => readIdx(truncated, IDX_IMAGES_MAGIC), truncated, 'truncated file: expected 16 data bytes (4×2×2) after the 16-byte header, found 13');

  const shortHeader = join(dir, 'short');
  writeFileSync(shortHeader, images.subarray(0, 10));
  assertDataError(() => readIdx(shortHeader, IDX_IMAGES_MAGIC), 'truncated header: expected 16 bytes for 3 dimensions, found 10');

  const tiny = join(dir, 'tiny');
  writeFileSync(tiny, Uint8Array.from([0, 0]));
  assertDataError(() => readIdx(tiny, IDX_IMAGES_MAGIC), 'expected a 4-byte IDX magic number, found a 2-byte file');

  const trailing = join(dir, 'trailing');
  writeFileSync(trailing, Buffer.concat([images, Buffer.from([1, 2])]));
  assertDataError(() => readIdx(trailing, IDX_IMAGES_MAGIC), 'trailing data: expected 16 data bytes', 'found 18');

  // A gzip stream cut short is reported as such, naming the file.
  const cutGzip = join(dir, 'cut.gz');
  const gz = gzipSync(images);
  writeFileSync(cutGzip, gz.subarray(0, gz.length - 6));
  assertDataError(() => readIdx(cutGzip, IDX_IMAGES_MAGIC), cutGzip, 'gzip data is corrupt or truncated');

  assertDataError(() => readIdx(join(dir, 'absent'), IDX_IMAGES_MAGIC), join(dir, 'absent'), 'file not found');

  const imagesPath = join(dir, 'images');
  writeFileSync(imagesPath, images);
  const threeLabels = join(dir, 'three');
  writeFileSync(threeLabels, encodeIdx(IDX_LABELS_MAGIC, [3], Uint8Array.from([0, 1, 2])));
  assertDataError(() => loadIdxPair({ imagesPath, labelsPath: threeLabels, name: 'x', numClasses: 10 }), 'expected 4 labels', 'found 3');
  const badLabel = join(dir, 'badlabel');
  writeFileSync(badLabel, encodeIdx(IDX_LABELS_MAGIC, [4], Uint8Array.from([0, 1, 12, 3])));
  assertDataError(() => loadIdxPair({ imagesPath, labelsPath: badLabel, name: 'x', numClasses: 10 }), 'label 2 is 12, expected 0..9');
});

test('loadFashionMnist reads a directory of raw IDX files too', () => {
  const dir = freshDir();
  const train = syntheticDataset({ n: 6, channels: 1, height: 28, width: 28, seed: 1 });
  const testSet = syntheticDataset({ n: 4, channels: 1, height: 28, width: 28, seed: 2 });
  writeIdxPair(dir, 'train', train);
  writeIdxPair(dir, 't10k', testSet, { gzip: true });
  const a = loadFashionMnist({ split: 'train', dir });
  const b = loadFashionMnist({ split: 'test', dir });
  assert.equal(a.n, 6);
  assert.equal(b.n, 4);
  assert.equal(a.name, 'fashion-mnist/train');
  assert.deepEqual(Array.from(b.labels), Array.from(testSet.labels));
  assert.equal(a.classNames?.[9], 'Ankle boot');
  assertDataError(() => loadFashionMnist({ dir: join(dir, 'nope') }), 'Fashion-MNIST directory not found');
  const empty = freshDir();
  assertDataError(() => loadFashionMnist({ dir: empty }), empty, 'expected train-images-idx3-ubyte.gz or train-images-idx3-ubyte');
});

test('Fashion-MNIST from the Debian package', (t) => {
  if (!existsSync(FASHION_MNIST_DIR)) {
    t.skip(`${FASHION_MNIST_DIR} is absent (install the Debian package dataset-fashion-mnist)`);
    return;
  }
  for (const [split, n] of [['train', 60000], ['test', 10000]] as const) {
    const d = loadFashionMnist({ split });
    assert.equal(d.n, n);
    assert.equal(d.channels, 1);
    assert.equal(d.height, 28);
    assert.equal(d.width, 28);
    assert.equal(d.numClasses, 10);
    assert.equal(d.images.length, n * 784);
    // Fashion-MNIST is exactly balanced: 6000 / 1000 per class, labels 0..9.
    assert.deepEqual(classCounts(d), new Array(10).fill(n / 10));
    assert.equal(d.files.length, 2);
    let max = 0;
    for (const v of d.images) if (v > max) max = v;
    assert.equal(max, 255);
  }
  // The test split's first labels, as published: ankle boot, pullover, trouser, trouser, shirt.
  assert.deepEqual(Array.from(loadFashionMnist({ split: 'test' }).labels.subarray(0, 5)), [9, 2, 1, 1, 6]);
});

function cifarImages(n: number, seed: number): Uint8Array {
  return syntheticDataset({ n, channels: 3, height: 32, width: 32, seed }).images as Uint8Array;
}

test('CIFAR-10 batches read back exactly, raw and gzipped, using only the files present', () => {
  const dir = freshDir();
  const img1 = cifarImages(3, 1);
  const img3 = cifarImages(2, 2);
  const imgT = cifarImages(4, 3);
  writeFileSync(join(dir, 'data_batch_1.bin'), encodeCifarRecords([[0], [9], [4]], img1));
  writeFileSync(join(dir, 'data_batch_3.bin.gz'), gzipSync(encodeCifarRecords([[7], [2]], img3)));
  writeFileSync(join(dir, 'test_batch.bin.gz'), gzipSync(encodeCifarRecords([[1], [1], [5], [8]], imgT)));
  writeFileSync(join(dir, 'readme.txt'), 'not a batch');

  const train = loadCifar('cifar10', { dir, split: 'train' });
  assert.deepEqual(train.files, [join(dir, 'data_batch_1.bin'), join(dir, 'data_batch_3.bin.gz')]);
  assert.equal(train.n, 5);
  assert.deepEqual([train.channels, train.height, train.width, train.numClasses], [3, 32, 32, 10]);
  assert.deepEqual(Array.from(train.labels), [0, 9, 4, 7, 2]);
  assert.deepEqual(Array.from(train.images.subarray(0, 3 * 3072)), Array.from(img1));
  assert.deepEqual(Array.from(train.images.subarray(3 * 3072)), Array.from(img3));
  assert.equal(train.classNames?.[1], 'automobile');

  const testSet = loadCifar('cifar10', { dir, split: 'test' });
  assert.deepEqual(testSet.files, [join(dir, 'test_batch.bin.gz')]);
  assert.deepEqual(Array.from(testSet.labels), [1, 1, 5, 8]);
  assert.deepEqual(Array.from(testSet.images), Array.from(imgT));
  // Pixel layout: the red plane of image 0 comes first, row-major.
  assert.equal(testSet.images[32 + 5], imgT[37]);
});

test('CIFAR-10 inside the unpacked archive folder is found from its parent', () => {
  const dir = freshDir();
  mkdirSync(join(dir, 'cifar-10-batches-bin'));
  writeFileSync(join(dir, 'cifar-10-batches-bin', 'test_batch.bin'), encodeCifarRecords([[3]], cifarImages(1, 4)));
  assert.deepEqual(cifarFiles('cifar10', dir, 'test'), [join(dir, 'cifar-10-batches-bin', 'test_batch.bin')]);
  assert.equal(loadCifar('cifar10', { dir, split: 'test' }).labels[0], 3);
});

test('CIFAR-100 records carry coarse then fine labels', () => {
  const dir = freshDir();
  const img = cifarImages(3, 5);
  writeFileSync(join(dir, 'train.bin.gz'), gzipSync(encodeCifarRecords([[19, 99], [0, 5], [7, 42]], img)));
  const fine = loadCifar('cifar100', { dir, split: 'train' });
  assert.deepEqual(Array.from(fine.labels), [99, 5, 42]);
  assert.equal(fine.numClasses, 100);
  assert.deepEqual(Array.from(fine.images), Array.from(img));
  const coarse = loadCifar('cifar100', { dir, split: 'train', labels: 'coarse' });
  assert.deepEqual(Array.from(coarse.labels), [19, 0, 7]);
  assert.equal(coarse.numClasses, 20);
  assertDataError(() => loadCifar('cifar100', { dir, split: 'test' }), 'expected test files of cifar100 (test.bin[.gz]), found none');
});

test('CIFAR errors: record size, label range, missing files', () => {
  const dir = freshDir();
  writeFileSync(join(dir, 'data_batch_1.bin'), new Uint8Array(3000));
  assertDataError(() => loadCifar('cifar10', { dir }), join(dir, 'data_batch_1.bin'), 'expected a multiple of 3073 bytes (cifar10 records), found 3000');
  // A CIFAR-10 record length is the wrong size for CIFAR-100.
  writeFileSync(join(dir, 'train.bin'), encodeCifarRecords([[1], [2]], cifarImages(2, 6)));
  assertDataError(() => loadCifar('cifar100', { dir }), 'expected a multiple of 3074 bytes', 'found 6146');
  const bad = freshDir();
  writeFileSync(join(bad, 'test_batch.bin'), encodeCifarRecords([[1], [10]], cifarImages(2, 7)));
  assertDataError(() => loadCifar('cifar10', { dir: bad, split: 'test' }), 'record 1 has label 10, expected 0..9');
  const empty = freshDir();
  assertDataError(
    () => loadCifar('cifar10', { dir: empty }),
    empty,
    'expected train files of cifar10 (data_batch_1.bin[.gz], data_batch_2.bin[.gz]',
    'found none',
  );
  assertDataError(() => loadCifar('cifar10', { dir: join(empty, 'missing') }), 'CIFAR-10 directory not found');
});

test('dataset specs', () => {
  assert.deepEqual(parseDatasetSpec('fashion-mnist'), { kind: 'fashion-mnist', dir: FASHION_MNIST_DIR });
  assert.deepEqual(parseDatasetSpec('fashion-mnist:/d'), { kind: 'fashion-mnist', dir: '/d' });
  assert.deepEqual(parseDatasetSpec('cifar10:/data/c10'), { kind: 'cifar10', dir: '/data/c10' });
  assert.deepEqual(parseDatasetSpec('cifar100:rel/dir'), { kind: 'cifar100', dir: 'rel/dir' });
  assert.deepEqual(parseDatasetSpec('folder:C:/imgs'), { kind: 'folder', dir: 'C:/imgs' });
  const usage = (value: string, ...fragments: string[]) =>
    assert.throws(() => parseDatasetSpec(value, '--dataset'), (e: unknown) => {
      assert.ok(e instanceof TsnasError);
      assert.equal(e.code, 'usage');
      assert.equal(e.exitCode, 2);
      for (const f of fragments) assert.ok(e.message.includes(f), e.message);
      return true;
    });
  usage('imagenet', '--dataset', 'unknown dataset "imagenet"', 'fashion-mnist, fashion-mnist:<dir>, cifar10:<dir>, cifar100:<dir>, folder:<dir>');
  usage('cifar10', '"cifar10" needs a directory: cifar10:<dir>');
  usage('folder:', 'folder:<dir>');

  const dir = freshDir();
  writeFileSync(join(dir, 'test_batch.bin'), encodeCifarRecords([[6]], cifarImages(1, 8)));
  const source = datasetSource(`cifar10:${dir}`);
  assert.equal(source.name, 'cifar10');
  const d = source.load('test');
  assert.equal(d.labels[0], 6);
  assert.deepEqual(source.normalization(d).mean, [0.49139968, 0.48215827, 0.44653124]);
});
