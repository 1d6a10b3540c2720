import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TsnasError } from '../errors.js';
import { METRIC_DIRECTIONS, metricDirection } from '../estimators/metrics.js';
import { nb201Space } from '../spaces/nb201.js';
import { HW_NAS_BENCH_COLUMNS, HW_NAS_BENCH_METRICS, HwNasBenchTable } from './hw-nas-bench.js';
import { exactFront, hypervolumeRatio, runBenchmarkSearch } from './harness.js';
import { Nb201Benchmark, hwNasBenchTable } from './nb201.js';

const best10 = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|';
/** A cell HW-NAS-Bench has no Edge TPU latency for (-1 in the CSV). */
const noEdgeTpu = '|nor_conv_3x3~0|+|none~0|none~1|+|avg_pool_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|';

test('the vendored tables load: every cell once, in the accuracy table\'s order, 4,699 Edge TPU gaps each', () => {
  const cifar10 = new Nb201Benchmark('cifar10');
  for (const dataset of ['cifar10', 'cifar100', 'imagenet16_120'] as const) {
    const t = hwNasBenchTable(dataset);
    assert.equal(t.size, 15625);
    assert.deepEqual(t.archs, cifar10.table.archs);
    assert.equal(Array.from(t.values('latency_edgetpu_ms')).filter(Number.isNaN).length, 4699);
    assert.equal(Array.from(t.values('latency_pixel3_ms')).filter(Number.isNaN).length, 0);
  }
  // HW-NAS-Bench's README: cell 0 has a Jetson TX2 latency of 5.807 ms on CIFAR-10.
  assert.equal(hwNasBenchTable('cifar10').values('latency_edgegpu_ms')[0]!.toFixed(3), '5.807');
});

test('a query returns the CSV\'s numbers under the documented metric names', () => {
  // The rows of best10 in the three CSVs.
  const expected = {
    cifar10: [6.810173988342285, 32.25298400878906, 68.40410818003875, 1.379029220999655, 23.584799999999998, 7.823540000000004, 1.6310611964999997, 26.169658809034683, 6.67856, 46.74992],
    cifar100: [7.063484191894531, 36.43168559074402, 61.57383840007242, 1.5004144649938098, 35.197, 7.826560000000004, 1.6311990539999996, 26.12783167328504, 6.67856, 46.74992],
    imagenet16_120: [6.91439151763916, 30.819171591997147, 13.874589600018226, 1.0420020040037343, 10.1441, 1.9590400000000008, 0.4176701279999999, 8.13975635449232, 2.48, 17.36],
  };
  for (const [dataset, row] of Object.entries(expected)) {
    const b = new Nb201Benchmark(dataset as keyof typeof expected);
    const got = b.evaluate(nb201Space().parse(best10));
    HW_NAS_BENCH_COLUMNS.forEach(({ metric }, k) => assert.equal(got[metric], row[k], `${dataset} ${metric}`));
    assert.equal(got['latency_pixel3_ms'], b.metric(best10, 'latency_pixel3_ms'));
    assert.equal(got['accuracy'], b.table.accuracy(best10, b.dataset));
  }
  assert.equal(new Nb201Benchmark('cifar10').metric(noEdgeTpu, 'energy_edgegpu_mj'), 23.988605960210165);
});

test('an Edge TPU latency HW-NAS-Bench did not measure is an error naming the cell and the metric', () => {
  const b = new Nb201Benchmark('cifar10');
  const named = (e: unknown) => e instanceof TsnasError && e.code === 'data' && e.message.includes('latency_edgetpu_ms') && e.message.includes(noEdgeTpu);
  assert.throws(() => b.metric(noEdgeTpu, 'latency_edgetpu_ms'), named);
  assert.throws(() => b.evaluate(noEdgeTpu, ['accuracy', 'latency_edgetpu_ms']), named);
  assert.throws(() => b.hardware.metric(noEdgeTpu, 'latency_edgetpu_ms'), /did not measure/);
  // Without asking for it, the record simply lacks it (no -1, no NaN).
  const record = b.evaluate(noEdgeTpu);
  assert.ok(!('latency_edgetpu_ms' in record));
  assert.ok(Object.values(record).every((v) => Number.isFinite(v) && v >= 0));
  assert.equal(b.evaluate(best10, ['latency_edgetpu_ms'])['latency_edgetpu_ms'], 1.379029220999655);
  // The exact front of Edge TPU latency is over the measured cells only.
  assert.equal(b.points(['accuracy', 'latency_edgetpu_ms']).length, 15625 - 4699);
  assert.throws(() => b.metric(best10, 'latency_tpu'), /no metric 'latency_tpu'/);
  assert.throws(() => HwNasBenchTable.parse('arch,edgegpu_latency\nx,1\n'), /expected the header/);
});

test('device metrics have declared directions: latency and energy minimised, arithmetic intensity maximised', () => {
  const declared: Readonly<Record<string, string>> = new Nb201Benchmark('cifar10').metrics;
  for (const [name, direction] of Object.entries(HW_NAS_BENCH_METRICS)) {
    assert.match(name, /^(latency|energy|arithmetic_intensity)_[a-z0-9]+(_ms|_mj)?$/);
    assert.equal(direction, name.startsWith('arithmetic_intensity') ? 'max' : 'min');
    assert.equal(METRIC_DIRECTIONS[name], direction);
    assert.equal(metricDirection(name), direction);
    assert.equal(declared[name], direction);
  }
});

test('hypervolume ratio on a hand-checked example, from the table\'s worst values', () => {
  // Maximise a, minimise b. Table: (1,4) (3,3) (2,2) (0,5); worst a = 0, worst b = 5.
  const all = [[1, 4], [3, 3], [2, 2], [0, 5]];
  const exact = exactFront(all, [true, false]);
  assert.deepEqual(exact.reference, [0, 5]);
  assert.deepEqual(exact.front, [[3, 3], [2, 2]]);
  // Union of [0,3]x[3,5] (area 6) and [0,2]x[2,5] (area 6), overlap [0,2]x[3,5] (area 4): 8.
  assert.equal(exact.volume, 8);
  // (2,2) alone: 2 x 3 = 6.
  assert.equal(hypervolumeRatio([[2, 2]], all), 6 / 8);
  assert.equal(hypervolumeRatio([[1, 4], [0, 5]], all), 1 / 8);
  assert.equal(hypervolumeRatio(all, all), 1);
  // A given reference (1, 4): [1,3]x[3,4] (2) and [1,2]x[2,4] (2) overlap in [1,2]x[3,4] (1): 3; (1,4) itself adds nothing.
  assert.equal(exactFront(all, [true, false], [1, 4]).volume, 3);
  assert.equal(hypervolumeRatio([[2, 2], [1, 4]], all, [true, false], [1, 4]), 2 / 3);
  assert.throws(() => exactFront(all, [true, false], [5, 0]), /not beaten by any point/);
  // Both minimised: reference (3, 5), front (1,4) (2,2) (0,5); (0,5) lies on the reference's b and adds nothing.
  // [1,3]x[4,5] (2) and [2,3]x[2,5] (3) overlap in [2,3]x[4,5] (1): 4.
  const min = exactFront(all, [false, false]);
  assert.deepEqual(min.reference, [3, 5]);
  assert.deepEqual(min.front, [[1, 4], [2, 2], [0, 5]]);
  assert.equal(min.volume, 4);
});

test('NSGA-II on accuracy and Pixel 3 latency: found fronts are within the exact one (a few seeds)', () => {
  const b = new Nb201Benchmark('cifar10');
  const { summary, runs } = runBenchmarkSearch({ benchmark: b, strategy: 'nsga2', budget: 100, seeds: [0, 1, 2], objectives: ['accuracy', 'latency_pixel3_ms'] });
  assert.deepEqual(summary.hypervolume_objectives, ['accuracy', 'latency_pixel3_ms']);
  for (const r of runs) assert.ok(r.hypervolumeRatio! > 0.5 && r.hypervolumeRatio! <= 1, String(r.hypervolumeRatio));
  // Searching the Edge TPU latency soon queries a cell without one: the error says which.
  assert.throws(() => runBenchmarkSearch({ benchmark: b, strategy: 'nsga2', budget: 300, seeds: [0], objectives: ['accuracy', 'latency_edgetpu_ms'] }), /did not measure latency_edgetpu_ms/);
});
