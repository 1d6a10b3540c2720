import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../util/random.js';
import {
  buildTransform,
  cutout,
  gatherImages,
  horizontalFlip,
  normalize,
  NORMALIZATION,
  randomCrop,
  resizeArea,
  syntheticDataset,
  type ImageBatch,
} from './index.js';

/** n copies of one image given as planes. */
function batchOf(planes: number[][], height: number, width: number, n = 1): ImageBatch {
  const one = planes.flat();
  const data = new Float32Array(n * one.length);
  for (let i = 0; i < n; i++) data.set(one, i * one.length);
  return { data, n, channels: planes.length, height, width };
}

const image = (b: ImageBatch, i: number) => {
  const size = b.channels * b.height * b.width;
  return Array.from(b.data.subarray(i * size, (i + 1) * size));
};

const close = (a: number[], b: number[], tol = 1e-6) => {
  assert.equal(a.length, b.length);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) <= tol, `element ${i}: ${v} vs ${b[i]}`));
};

test('random crop with padding 1 of a 3×3 image gives the nine hand-computed shifts, as the rng draws them', () => {
  const src = [1, 2, 3, 4, 5, 6, 7, 8, 9];
  // Indexed by top*3 + left: the window's corner in the zero-padded 5×5 image.
  const shifts = [
    [0, 0, 0, 0, 1, 2, 0, 4, 5], [0, 0, 0, 1, 2, 3, 4, 5, 6], [0, 0, 0, 2, 3, 0, 5, 6, 0],
    [0, 1, 2, 0, 4, 5, 0, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8, 9], [2, 3, 0, 5, 6, 0, 8, 9, 0],
    [0, 4, 5, 0, 7, 8, 0, 0, 0], [4, 5, 6, 7, 8, 9, 0, 0, 0], [5, 6, 0, 8, 9, 0, 0, 0, 0],
  ];
  const n = 200;
  const out = randomCrop(batchOf([src], 3, 3, n), new Rng(11), { padding: 1 });
  assert.deepEqual([out.n, out.channels, out.height, out.width], [n, 1, 3, 3]);
  const twin = new Rng(11);
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) {
    const which = twin.int(3) * 3 + twin.int(3);
    seen.add(which);
    assert.deepEqual(image(out, i), shifts[which]);
  }
  assert.equal(seen.size, 9);
  // Cropping smaller than the image: size 2, no padding, stays inside it.
  const inner = randomCrop(batchOf([src], 3, 3, 50), new Rng(2), { padding: 0, size: 2 });
  const allowed = [[1, 2, 4, 5], [2, 3, 5, 6], [4, 5, 7, 8], [5, 6, 8, 9]].map((a) => a.join());
  for (let i = 0; i < 50; i++) assert.ok(allowed.includes(image(inner, i).join()));
  assert.throws(() => randomCrop(batchOf([src], 3, 3), new Rng(0), { padding: 0, size: 4 }), /larger than the padded/);
});

test('horizontal flip mirrors every channel, with probability p', () => {
  const planes = [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]];
  const flipped = horizontalFlip(batchOf(planes, 2, 3), new Rng(0), 1);
  assert.deepEqual(image(flipped, 0), [3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10]);
  assert.deepEqual(image(horizontalFlip(batchOf(planes, 2, 3), new Rng(0), 0), 0), planes.flat());
  const n = 400;
  const half = horizontalFlip(batchOf(planes, 2, 3, n), new Rng(5));
  const twin = new Rng(5);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const f = twin.next() < 0.5;
    if (f) count++;
    assert.deepEqual(image(half, i), f ? [3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10] : planes.flat());
  }
  assert.ok(count > 150 && count < 250, `flipped ${count} of ${n}`);
});

test('cutout zeroes a clipped length×length square around a random centre, in every channel', () => {
  const ones = [new Array(16).fill(1), new Array(16).fill(2)];
  const n = 100;
  const out = cutout(batchOf(ones, 4, 4, n), new Rng(9), 2);
  const twin = new Rng(9);
  for (let i = 0; i < n; i++) {
    const cy = twin.int(4);
    const cx = twin.int(4);
    const img = image(out, i);
    for (let c = 0; c < 2; c++) {
      for (let y = 0; y < 4; y++) {
        for (let x = 0; x < 4; x++) {
          const inside = y >= cy - 1 && y < cy + 1 && x >= cx - 1 && x < cx + 1;
          assert.equal(img[c * 16 + y * 4 + x], inside ? 0 : c + 1, `image ${i} centre ${cy},${cx} pixel ${y},${x}`);
        }
      }
    }
  }
  // Centre (0, 0) with length 2 leaves just the top-left pixel zeroed: find such a draw.
  let seed = 0;
  for (;; seed++) {
    const r = new Rng(seed);
    if (r.int(3) === 0 && r.int(3) === 0) break;
  }
  assert.deepEqual(image(cutout(batchOf([[1, 2, 3, 4, 5, 6, 7, 8, 9]], 3, 3), new Rng(seed), 2), 0), [0, 2, 3, 4, 5, 6, 7, 8, 9]);
  // A square larger than twice the image blanks it wherever it lands.
  assert.deepEqual(image(cutout(batchOf([[1, 2, 3, 4]], 2, 2), new Rng(3), 8), 0), [0, 0, 0, 0]);
});

test('normalisation per channel, and the published constants', () => {
  const b = normalize(batchOf([[0, 0.5, 1], [0.2, 0.4, 0.6]], 1, 3), { mean: [0.5, 0.4], std: [0.25, 0.1] });
  close(image(b, 0), [-2, 0, 2, -2, 0, 2]);
  assert.throws(() => normalize(batchOf([[0]], 1, 1), NORMALIZATION.cifar10), /expected 1 channel means and stds, found 3 and 3/);
  // Fashion-MNIST's constants are its training set's pixel mean and std (checked against the data in loader.test).
  assert.equal(NORMALIZATION.fashionMnist.mean.length, 1);
  assert.equal(NORMALIZATION.cifar10.mean.length, 3);
  assert.equal(NORMALIZATION.cifar100.std.length, 3);
});

test('area resize: box averages for 4→2, overlapping areas for 3→2, replication for 2→4', () => {
  const four = resizeArea(batchOf([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]], 4, 4), 2);
  assert.deepEqual([four.height, four.width], [2, 2]);
  close(image(four, 0), [3.5, 5.5, 11.5, 13.5]);
  // 3→2: output cell 0 covers inputs [0, 2), cell 1 covers [1, 3) (torch 'area').
  close(image(resizeArea(batchOf([[1, 2, 3, 4, 5, 6, 7, 8, 9]], 3, 3), 2), 0), [3, 4, 6, 7]);
  close(image(resizeArea(batchOf([[1, 2, 3, 4]], 2, 2), 4), 0), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  // Non-square output and several channels.
  const two = resizeArea(batchOf([[1, 2, 3, 4], [10, 20, 30, 40]], 2, 2), 1, 2);
  close(image(two, 0), [2, 3, 20, 30]);
  const same = batchOf([[1]], 1, 1);
  assert.equal(resizeArea(same, 1), same);
});

test('buildTransform: train runs resize → crop → flip → normalise → cutout; eval only resize and normalise', () => {
  const d = syntheticDataset({ n: 8, channels: 3, height: 8, width: 8, seed: 4 });
  const idx = Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
  const options = { resize: 4, crop: { padding: 1 }, flip: true, cutout: 2, normalize: NORMALIZATION.cifar10 };
  const evalOut = buildTransform(options, false)(gatherImages(d.images, idx, d), new Rng(1));
  const manual = normalize(resizeArea(gatherImages(d.images, idx, d), 4), NORMALIZATION.cifar10);
  assert.deepEqual(Array.from(evalOut.data), Array.from(manual.data));
  const rngA = new Rng(3);
  const trainOut = buildTransform(options)(gatherImages(d.images, idx, d), rngA);
  const rngB = new Rng(3);
  let expected = resizeArea(gatherImages(d.images, idx, d), 4);
  expected = randomCrop(expected, rngB, { padding: 1 });
  expected = horizontalFlip(expected, rngB);
  expected = cutout(normalize(expected, NORMALIZATION.cifar10), rngB, 2);
  assert.deepEqual(Array.from(trainOut.data), Array.from(expected.data));
  assert.deepEqual(rngA.getState(), rngB.getState());
});

test('each augmentation of a 64×3×32×32 batch takes about a millisecond or less', () => {
  const d = syntheticDataset({ n: 256, channels: 3, height: 32, width: 32, seed: 1 });
  const idx = Int32Array.from({ length: 64 }, (_, i) => i * 3);
  const rng = new Rng(0);
  const base = gatherImages(d.images, idx, d);
  const ops: Record<string, () => unknown> = {
    gather: () => gatherImages(d.images, idx, d),
    crop: () => randomCrop(base, rng, { padding: 4 }),
    flip: () => horizontalFlip(base, rng),
    cutout: () => cutout(base, rng, 16),
    normalize: () => normalize(base, NORMALIZATION.cifar10),
    downsample: () => resizeArea(base, 16),
  };
  for (const [name, op] of Object.entries(ops)) {
    for (let i = 0; i < 5; i++) op();
    const times: number[] = [];
    for (let i = 0; i < 21; i++) {
      const t0 = performance.now();
      op();
      times.push(performance.now() - t0);
    }
    const median = times.sort((a, b) => a - b)[10]!;
    // Typically 0.1-0.6 ms; the bound leaves room for a busy CI machine.
    assert.ok(median < 5, `${name}: median ${median.toFixed(3)} ms`);
  }
});
