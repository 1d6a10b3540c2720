import { test } from 'node:test';
import jpeg from 'jpeg-js';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TsnasError } from '../errors.js';
import { Rng } from '../util/random.js';
import { datasetSource, decodeImage, decodePng, decodePnm, encodePng, encodePnm, loadImageFolder } from './index.js';

const fixtures = fileURLToPath(new URL('../../test/fixtures/data/png/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'tsnas-img-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

function assertDataError(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TsnasError, `expected a TsnasError, got ${String(e)}`);
    assert.equal(e.code, 'data');
    for (const f of fragments) assert.ok(e.message.includes(f), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(f)}`);
    return true;
  });
}

function randomImage(width: number, height: number, channels: number, seed: number) {
  const rng = new Rng(seed);
  const data = new Uint8Array(width * height * channels);
  // Half smooth, half noise, so every filter meets both kinds of rows.
  for (let i = 0; i < data.length; i++) data[i] = i % 2 ? rng.int(256) : (i * 3) & 0xff;
  return { width, height, channels, data };
}

test('PNGs written by Pillow decode to the pixels it was given', () => {
  const expected = JSON.parse(readFileSync(join(fixtures, 'expected.json'), 'utf8')) as Record<
    string,
    { width: number; height: number; channels: number; data: number[] }
  >;
  assert.ok(Object.keys(expected).length >= 9);
  for (const [name, e] of Object.entries(expected)) {
    const img = decodePng(readFileSync(join(fixtures, name)), name);
    assert.equal(img.width, e.width, name);
    assert.equal(img.height, e.height, name);
    assert.equal(img.channels, e.channels, name);
    assert.deepEqual(Array.from(img.data), e.data, name);
  }
});

test('every PNG row filter (None, Sub, Up, Average, Paeth) decodes for every 8-bit colour type', () => {
  for (const channels of [1, 2, 3, 4]) {
    const img = randomImage(6, 10, channels, channels);
    const bytes = encodePng(img, { filters: [0, 1, 2, 3, 4] });
    const back = decodePng(bytes, 'synthetic.png');
    assert.equal(back.channels, channels);
    assert.deepEqual(Array.from(back.data), Array.from(img.data));
  }
});

test('unsupported and broken PNGs give clear errors', () => {
  const img = randomImage(4, 3, 1, 9);
  assertDataError(() => decodePng(encodePng(img, { interlace: 1 }), 'i.png'), 'i.png', 'expected a non-interlaced PNG, found Adam7 interlacing');
  const gray16 = readFileSync(join(fixtures, 'gray16.png'));
  assertDataError(() => decodePng(gray16, 'g16.png'), 'g16.png', 'expected bit depth 8, found 16 (gray)');
  assertDataError(() => decodePng(encodePng(img, { colorType: 5 }), 'c.png'), 'unknown PNG colour type 5');
  const good = encodePng(img);
  assertDataError(() => decodePng(good.subarray(0, 40), 't.png'), 't.png', 'truncated PNG');
  assertDataError(() => decodePng(Buffer.from('GIF89a....'), 'x.gif'), 'expected the PNG signature');
  assertDataError(() => decodeImage(Buffer.from('GIF89a....'), 'x.gif'), 'x.gif', 'expected a PNG, JPEG or binary PGM/PPM image');
});

test('JPEGs decode to RGB close to what was encoded; a corrupt or oversized one is a data error naming the file', () => {
  // A smooth image survives JPEG at quality 100 within a few levels.
  const width = 24;
  const height = 16;
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) rgba.set([10 * x, 15 * y, 128, 255], 4 * (y * width + x));
  }
  const bytes = jpeg.encode({ width, height, data: rgba }, 100).data;
  const back = decodeImage(bytes, 'smooth.jpg');
  assert.deepEqual([back.width, back.height, back.channels], [width, height, 3]);
  let worst = 0;
  for (let i = 0; i < width * height; i++) for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(back.data[3 * i + c]! - rgba[4 * i + c]!));
  assert.ok(worst <= 6, `largest difference ${worst}`);
  assertDataError(() => decodeImage(bytes.subarray(0, 60), 'cut.jpg'), 'cut.jpg', 'corrupt or unsupported JPEG');
  assertDataError(() => decodeImage(Buffer.from([0xff, 0xd8, 0xff, 0xe0]), 'stub.jpg'), 'stub.jpg', 'corrupt or unsupported JPEG');
  // A header claiming 60000×60000 pixels is refused before any allocation.
  const huge = Buffer.from(bytes);
  const sof = huge.indexOf(Buffer.from([0xff, 0xc0]));
  huge.writeUInt16BE(60000, sof + 5);
  huge.writeUInt16BE(60000, sof + 7);
  assertDataError(() => decodeImage(huge, 'huge.jpg'), 'huge.jpg', 'corrupt or unsupported JPEG');
});

test('binary PGM and PPM decode, with comments and maxval scaling', () => {
  const gray = randomImage(5, 3, 1, 1);
  const back = decodePnm(encodePnm(gray), 'a.pgm');
  assert.deepEqual([back.width, back.height, back.channels], [5, 3, 1]);
  assert.deepEqual(Array.from(back.data), Array.from(gray.data));
  const rgb = randomImage(2, 4, 3, 2);
  assert.deepEqual(Array.from(decodeImage(encodePnm(rgb), 'b.ppm').data), Array.from(rgb.data));
  // maxval 15: 15 -> 255, 5 -> 85.
  const small = { width: 2, height: 1, channels: 1, data: Uint8Array.from([15, 5]) };
  assert.deepEqual(Array.from(decodePnm(encodePnm(small, 15), 'c.pgm').data), [255, 85]);
  assertDataError(() => decodePnm(encodePnm(gray).subarray(0, encodePnm(gray).length - 5), 'd.pgm'), 'd.pgm', 'truncated P5 file: expected 15 pixel bytes (5×3×1), found 10');
  assertDataError(() => decodePnm(encodePnm(gray).subarray(0, 6), 'h.pgm'), 'h.pgm', 'truncated or malformed P5 header');
  assertDataError(() => decodePnm(encodePnm(small, 65535), 'e.pgm'), 'expected maxval 1..255 (8-bit), found 65535');
  assertDataError(() => decodeImage(Buffer.from('P3\n1 1\n255\n0 0 0\n'), 'f.ppm'), 'expected a binary PGM/PPM header (P5 or P6), found "P3"');
});

function writeImage(path: string, img: { width: number; height: number; channels: number; data: Uint8Array }, format: 'png' | 'pnm') {
  writeFileSync(path, format === 'png' ? encodePng(img, { filters: [4, 1] }) : encodePnm(img));
}

test('an image folder: classes by sorted folder name, PNG and PPM mixed, gray promoted to RGB', () => {
  const root = join(tmp, 'flat');
  const cat = randomImage(3, 2, 3, 1);
  const dogGray = randomImage(3, 2, 1, 2);
  const dogRgba = randomImage(3, 2, 4, 3);
  const ant = randomImage(3, 2, 3, 4);
  mkdirSync(join(root, 'dog'), { recursive: true });
  mkdirSync(join(root, 'cat'));
  mkdirSync(join(root, 'ant'));
  writeImage(join(root, 'dog', 'b.png'), dogRgba, 'png');
  writeImage(join(root, 'dog', 'a.pgm'), dogGray, 'pnm');
  writeImage(join(root, 'cat', 'x.ppm'), cat, 'pnm');
  writeImage(join(root, 'ant', 'z.PNG'), ant, 'png');
  writeFileSync(join(root, 'dog', 'notes.txt'), 'ignored');

  const d = loadImageFolder({ dir: root });
  assert.deepEqual(d.classNames, ['ant', 'cat', 'dog']);
  assert.deepEqual(Array.from(d.labels), [0, 1, 2, 2]);
  assert.deepEqual(d.files, [join(root, 'ant', 'z.PNG'), join(root, 'cat', 'x.ppm'), join(root, 'dog', 'a.pgm'), join(root, 'dog', 'b.png')]);
  assert.deepEqual([d.n, d.channels, d.height, d.width], [4, 3, 2, 3]);
  const planes = (img: { data: Uint8Array; channels: number }, c: number) =>
    Array.from({ length: 6 }, (_, p) => img.data[p * img.channels + (img.channels >= 3 ? c : 0)]!);
  const imageAt = (i: number, c: number) => Array.from(d.images.subarray(i * 18 + c * 6, i * 18 + c * 6 + 6));
  for (let c = 0; c < 3; c++) {
    assert.deepEqual(imageAt(0, c), planes(ant, c));
    assert.deepEqual(imageAt(1, c), planes(cat, c));
    assert.deepEqual(imageAt(2, c), planes(dogGray, 0)); // gray repeated on R, G and B
    assert.deepEqual(imageAt(3, c), planes(dogRgba, c)); // alpha dropped
  }
  assertDataError(() => loadImageFolder({ dir: root, split: 'test' }), 'has no test split', join(root, 'train'));
});

test('an image folder with train/ and test/ splits, resizing and size errors', () => {
  const root = join(tmp, 'split');
  for (const [split, cls, seed] of [['train', 'b', 1], ['train', 'a', 2], ['test', 'b', 3]] as const) {
    mkdirSync(join(root, split, cls), { recursive: true });
    writeImage(join(root, split, cls, 'i.png'), randomImage(4, 4, 1, seed), 'png');
  }
  const train = loadImageFolder({ dir: root, split: 'train' });
  const testSet = loadImageFolder({ dir: root, split: 'test' });
  assert.deepEqual(train.classNames, ['a', 'b']);
  assert.deepEqual(Array.from(testSet.labels), [1]); // 'b' keeps its train index
  assert.equal(testSet.channels, 1);

  const small = loadImageFolder({ dir: root, split: 'test', size: 2 });
  const src = randomImage(4, 4, 1, 3).data;
  const box = (y: number, x: number) => Math.round((src[y * 8 + x * 2]! + src[y * 8 + x * 2 + 1]! + src[y * 8 + x * 2 + 4]! + src[y * 8 + x * 2 + 5]!) / 4);
  assert.deepEqual(Array.from(small.images), [box(0, 0), box(0, 1), box(1, 0), box(1, 1)]);

  writeImage(join(root, 'train', 'a', 'j.png'), randomImage(5, 4, 1, 4), 'png');
  assertDataError(() => loadImageFolder({ dir: root }), join(root, 'train', 'a', 'j.png'), 'expected 4×4 pixels', 'found 5×4');
  mkdirSync(join(root, 'test', 'zebra'));
  assertDataError(() => loadImageFolder({ dir: root, split: 'test', size: 4 }), 'class folders zebra are not in the train split (a, b)');

  const empty = join(tmp, 'empty');
  mkdirSync(join(empty, 'cls'), { recursive: true });
  assertDataError(() => loadImageFolder({ dir: empty }), 'expected image files (.png, .jpg, .jpeg, .pgm, .ppm, .pnm) in the class folders, found none');
  assertDataError(() => loadImageFolder({ dir: join(tmp, 'absent') }), 'image folder directory not found');

  const source = datasetSource(`folder:${join(tmp, 'flat')}`);
  const d = source.load('train');
  const norm = source.normalization(d);
  assert.equal(norm.mean.length, 3);
  let sum = 0;
  for (let i = 0; i < d.n; i++) for (let p = 0; p < 6; p++) sum += d.images[i * 18 + p]!;
  assert.ok(Math.abs(norm.mean[0]! - sum / (d.n * 6) / 255) < 1e-9);
});
