import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { TsnasError } from '../errors.js';
import { memory, tidy } from '../tensor/index.js';
import {
  DataLoader,
  FASHION_MNIST_DIR,
  limitIndices,
  loadFashionMnist,
  makeBatch,
  NORMALIZATION,
  splitIndices,
  syntheticDataset,
  type Batch,
} from './index.js';

const data = syntheticDataset({ n: 50, channels: 3, height: 4, width: 4, numClasses: 5, seed: 7 });

function take(loader: DataLoader, count: number): { indices: number[][]; x: number[][] } {
  const indices: number[][] = [];
  const x: number[][] = [];
  for (let i = 0; i < count; i++) {
    const b = loader.next();
    indices.push(Array.from(b.indices));
    x.push(Array.from(b.x.data() as Float32Array));
    b.x.dispose();
    b.y.dispose();
  }
  return { indices, x };
}

test('batches hold the scaled pixels (float32 N×C×H×W) and labels (int64) of their samples', () => {
  const start = memory().numTensors;
  const loader = new DataLoader(data, { batchSize: 8, shuffle: false });
  const b = loader.next();
  assert.deepEqual(b.x.shape, [8, 3, 4, 4]);
  assert.equal(b.x.dtype, 'float32');
  assert.deepEqual(b.y.shape, [8]);
  assert.equal(b.y.dtype, 'int64');
  assert.deepEqual(Array.from(b.indices), [0, 1, 2, 3, 4, 5, 6, 7]);
  const x = b.x.data() as Float32Array;
  for (let i = 0; i < 8 * 48; i++) assert.ok(Math.abs(x[i]! - data.images[i]! / 255) < 1e-7);
  assert.deepEqual(b.y.toArray(), Array.from(data.labels.subarray(0, 8)));
  b.x.dispose();
  b.y.dispose();

  const normalized = new DataLoader(data, { batchSize: 4, shuffle: false, augment: { normalize: NORMALIZATION.cifar10 } });
  tidy(() => {
    const nb = normalized.next();
    const v = nb.x.data() as Float32Array;
    // Image 0, green channel, pixel 0.
    const expected = (data.images[16]! / 255 - NORMALIZATION.cifar10.mean[1]) / NORMALIZATION.cifar10.std[1];
    assert.ok(Math.abs(v[16]! - expected) < 1e-5);
  });
  assert.equal(memory().numTensors, start);
});

test('an epoch visits every sample once; shuffles are seeded and differ between epochs', () => {
  const start = memory().numTensors;
  const loader = new DataLoader(data, { batchSize: 8, seed: 3 });
  assert.equal(loader.batchesPerEpoch, 7);
  const epoch0: number[] = [];
  let sizes: number[] = [];
  for (const b of loader.epochBatches()) {
    epoch0.push(...b.indices);
    sizes.push(b.indices.length);
    b.x.dispose();
    b.y.dispose();
  }
  assert.deepEqual(sizes, [8, 8, 8, 8, 8, 8, 2]);
  assert.deepEqual([...epoch0].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(epoch0, [...epoch0].sort((a, b) => a - b));
  assert.equal(loader.epoch, 0);
  const epoch1: number[] = [];
  sizes = [];
  for (const b of loader.epochBatches()) {
    epoch1.push(...b.indices);
    b.x.dispose();
    b.y.dispose();
  }
  assert.equal(loader.epoch, 1);
  assert.notDeepEqual(epoch1, epoch0);
  assert.deepEqual([...epoch1].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));

  const again = new DataLoader(data, { batchSize: 8, seed: 3 });
  assert.deepEqual(take(again, 7).indices.flat(), epoch0);
  const other = new DataLoader(data, { batchSize: 8, seed: 4 });
  assert.notDeepEqual(take(other, 7).indices.flat(), epoch0);
  assert.equal(memory().numTensors, start);
});

test('drop_last drops the short batch; leaving an epoch loop early resumes it', () => {
  const start = memory().numTensors;
  const loader = new DataLoader(data, { batchSize: 8, dropLast: true, seed: 1 });
  assert.equal(loader.batchesPerEpoch, 6);
  const seen: number[] = [];
  let count = 0;
  for (const b of loader.epochBatches()) {
    assert.equal(b.indices.length, 8);
    seen.push(...b.indices);
    b.x.dispose();
    b.y.dispose();
    if (++count === 2) break;
  }
  for (const b of loader.epochBatches()) {
    assert.equal(b.indices.length, 8);
    seen.push(...b.indices);
    b.x.dispose();
    b.y.dispose();
  }
  assert.equal(seen.length, 48);
  assert.equal(new Set(seen).size, 48);
  assert.equal(loader.epoch, 0);
  // next() runs on into the following epochs without end.
  take(loader, 12); // epochs 1 and 2, six batches each
  assert.equal(loader.epoch, 2);
  take(loader, 1);
  assert.equal(loader.epoch, 3);
  assert.equal(memory().numTensors, start);
});

test('train/valid split is seeded, disjoint and covering; limit restricts the pool', () => {
  const { train, valid } = splitIndices(1001, { seed: 5 });
  assert.equal(train.length + valid.length, 1001);
  assert.equal(valid.length, 501);
  const all = new Set([...train, ...valid]);
  assert.equal(all.size, 1001);
  assert.deepEqual(splitIndices(1001, { seed: 5 }).valid, valid);
  assert.notDeepEqual(splitIndices(1001, { seed: 6 }).valid, valid);
  const limited = splitIndices(1001, { seed: 5, limit: 100, validFraction: 0.2 });
  assert.equal(limited.train.length, 80);
  assert.equal(limited.valid.length, 20);
  assert.equal(new Set([...limited.train, ...limited.valid]).size, 100);
  assert.throws(() => splitIndices(10, { validFraction: 1.5 }), TsnasError);

  const sub = limitIndices(train, 30, 2);
  assert.equal(sub.length, 30);
  const trainSet = new Set(train);
  for (const i of sub) assert.ok(trainSet.has(i));
  assert.deepEqual(limitIndices(train, 30, 2), sub);
  assert.deepEqual(limitIndices([4, 2, 9], undefined, 0), Int32Array.from([4, 2, 9]));
});

test('loaders over split indices only draw from their side; limit caps the samples', () => {
  const start = memory().numTensors;
  const { train, valid } = splitIndices(data.n, { seed: 1 });
  const trainLoader = new DataLoader(data, { batchSize: 5, indices: train, seed: 1 });
  const validLoader = new DataLoader(data, { batchSize: 5, indices: valid, seed: 2 });
  const trainSeen = new Set(take(trainLoader, trainLoader.batchesPerEpoch).indices.flat());
  const validSeen = new Set(take(validLoader, validLoader.batchesPerEpoch).indices.flat());
  assert.deepEqual([...trainSeen].sort((a, b) => a - b), Array.from(train));
  assert.deepEqual([...validSeen].sort((a, b) => a - b), Array.from(valid));
  for (const i of trainSeen) assert.ok(!validSeen.has(i));

  const limited = new DataLoader(data, { batchSize: 4, indices: train, limit: 10, seed: 9 });
  assert.equal(limited.size, 10);
  assert.equal(limited.batchesPerEpoch, 3);
  const epochs = take(limited, 9).indices;
  const fixed = new Set(limited.indices);
  assert.equal(fixed.size, 10);
  for (const batch of epochs) for (const i of batch) assert.ok(fixed.has(i) && train.includes(i));
  assert.equal(memory().numTensors, start);
});

test('getState/setState resume the order and the augmentation bit for bit', () => {
  const start = memory().numTensors;
  const options = { batchSize: 8, seed: 12, augment: { crop: { padding: 1 }, flip: true, cutout: 2 } };
  const a = new DataLoader(data, options);
  take(a, 9); // into the second epoch
  const state = a.getState();
  assert.equal(state.epoch, 1);
  assert.equal(state.position, 2);
  const rest = take(a, 10);
  const b = new DataLoader(data, options);
  b.setState(JSON.parse(JSON.stringify(state)));
  assert.deepEqual(take(b, 10), rest);
  // The augmentation really is random: the same image differs across epochs.
  const plain = new DataLoader(data, { ...options, shuffle: false });
  const first = take(plain, 7).x[0]!;
  const second = take(plain, 7).x[0]!;
  assert.notDeepEqual(first, second);
  assert.equal(memory().numTensors, start);
});

test('batches made inside tidy are freed with the scope', () => {
  const start = memory().numTensors;
  const loader = new DataLoader(data, { batchSize: 16 });
  for (let step = 0; step < 5; step++) {
    tidy(() => {
      const { x, y } = loader.next();
      return x.mean().add(y.float().mean()).item();
    });
  }
  const kept: Batch = makeBatch(data, Int32Array.from([3, 1]));
  assert.equal(memory().numTensors, start + 2);
  assert.deepEqual(kept.y.toArray(), [data.labels[3], data.labels[1]]);
  kept.x.dispose();
  kept.y.dispose();
  assert.equal(memory().numTensors, start);
});

test('loader option errors', () => {
  const config = (fn: () => unknown, ...fragments: string[]) =>
    assert.throws(fn, (e: unknown) => {
      assert.ok(e instanceof TsnasError);
      assert.equal(e.code, 'config');
      for (const f of fragments) assert.ok(e.message.includes(f), e.message);
      return true;
    });
  config(() => new DataLoader(data, { batchSize: 0 }), 'batchSize', 'expected a positive integer, found 0');
  config(() => new DataLoader(data, { batchSize: 64, dropLast: true }), 'batch size 64 exceeds the 50 samples');
  config(() => new DataLoader(data, { batchSize: 4, indices: [1, 50] }), 'index 50 at position 1', '0..49');
  config(() => new DataLoader(data, { batchSize: 4, indices: [] }), 'expected at least one sample');
  config(() => new DataLoader(data, { batchSize: 4, limit: 0 }), 'limit', 'found 0');
});

test('Fashion-MNIST loader at 16×16 resolution', (t) => {
  if (!existsSync(FASHION_MNIST_DIR)) {
    t.skip(`${FASHION_MNIST_DIR} is absent (install the Debian package dataset-fashion-mnist)`);
    return;
  }
  const start = memory().numTensors;
  const testSet = loadFashionMnist({ split: 'test' });
  const loader = new DataLoader(testSet, {
    batchSize: 100,
    shuffle: false,
    augment: { resize: 16, normalize: NORMALIZATION.fashionMnist },
  });
  let sum = 0;
  let sumSq = 0;
  let count = 0;
  let batches = 0;
  for (const b of loader.epochBatches()) {
    assert.deepEqual(b.x.shape.slice(1), [1, 16, 16]);
    const v = b.x.data() as Float32Array;
    for (const e of v) {
      sum += e;
      sumSq += e * e;
    }
    count += v.length;
    batches++;
    b.x.dispose();
    b.y.dispose();
  }
  assert.equal(batches, 100);
  // Area averaging keeps the mean; normalised with the train statistics, the test set sits near 0.
  const mean = sum / count;
  assert.ok(Math.abs(mean) < 0.02, `mean ${mean}`);
  assert.ok(sumSq / count > 0.5, `second moment ${sumSq / count}`);
  assert.equal(memory().numTensors, start);
});
