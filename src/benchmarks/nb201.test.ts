import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TsnasError } from '../errors.js';
import { nb201Space } from '../spaces/nb201.js';
import { Nb201Benchmark, Nb201Table, expectedBestCurve, expectedBestOfRandom, parseNb201BenchmarkName } from './nb201.js';

const table = Nb201Table.load();
const best10 = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|';
const allConv3 = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|';

test('the vendored table has every cell once and the published optima', () => {
  assert.equal(table.size, 15625);
  assert.equal(table.best('cifar10').accuracy.toFixed(2), '94.37');
  assert.equal(table.best('cifar100').accuracy.toFixed(2), '73.51');
  assert.equal(table.best('imagenet16_120').accuracy.toFixed(2), '47.31');
  assert.equal(table.accuracy(best10, 'cifar10'), 94.3733);
});

test('query by sample and by string agree, with params and FLOPs of the dataset network', () => {
  const space = nb201Space();
  const b = new Nb201Benchmark('cifar10');
  const bySample = b.evaluate(space.parse(best10));
  assert.deepEqual(b.evaluate(best10), bySample);
  assert.equal(bySample['accuracy'], 94.3733);
  // The benchmark's largest CIFAR-10 model (all nor_conv_3x3) has 1,531,546 parameters.
  assert.equal(b.evaluate(allConv3)['params'], 1531546);
  assert.ok(bySample['flops']! > 0 && bySample['params']! < 1531546);
  // More classes make a bigger classifier.
  assert.ok(new Nb201Benchmark('cifar100').evaluate(allConv3)['params']! > 1531546);
  assert.equal(new Nb201Benchmark('imagenet16_120').optimum(), table.best('imagenet16_120').accuracy);
});

test('bad queries and names are errors that say what was expected', () => {
  const b = new Nb201Benchmark('cifar10');
  assert.throws(() => b.evaluate('|conv~0|+|x~0|y~1|+|a~0|b~1|c~2|'), TsnasError);
  assert.throws(() => table.accuracy('nope', 'cifar10'), /not in the NAS-Bench-201 table/);
  assert.equal(parseNb201BenchmarkName('nb201:cifar100'), 'cifar100');
  assert.throws(() => parseNb201BenchmarkName('nb201:mnist'), /cifar10, cifar100, imagenet16_120/);
  assert.throws(() => Nb201Table.parse('arch,cifar10\nx,1\n'), /expected the header/);
});

test('exact expectation of random search', () => {
  // Pairs of {1,2,3,4}: maxima 2,3,4,3,4,4 -> 20/6.
  assert.ok(Math.abs(expectedBestOfRandom([4, 1, 3, 2], 2) - 20 / 6) < 1e-12);
  assert.ok(Math.abs(expectedBestOfRandom([4, 1, 3, 2], 1) - 2.5) < 1e-12);
  assert.equal(expectedBestOfRandom([4, 1, 3, 2], 4), 4);
  const curve = expectedBestCurve(table.values('cifar10'), 100);
  for (let q = 1; q < curve.length; q++) assert.ok(curve[q]! >= curve[q - 1]!);
  // About 93.85 at 100 queries, as the NAS-Bench-201 literature reports.
  assert.ok(Math.abs(curve[99]! - 93.85) < 0.01, String(curve[99]));
});
