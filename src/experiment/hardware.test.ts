// Hardware metrics in experiments: a measured latency table gives every
// trial latency_ms, usable as an objective and in constraints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Nb201Benchmark } from '../benchmarks/nb201.js';
import { measureLatencyTable, predictLatency, saveLatencyTable } from '../hardware/latency.js';
import { latencyModel } from '../kits/index.js';
import { nb201Space } from '../spaces/nb201.js';
import type { Sample } from '../spaces/types.js';
import { openStore } from '../store/index.js';
import { Rng } from '../util/random.js';
import { checkConfig } from './config.js';
import { runExperiment } from './run.js';

test('hardware.latencyTable: latency_ms on every trial, as an objective and a constraint; a table of another space is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-latency-'));
  const store = await openStore('sqlite::memory:');
  try {
    const table = measureLatencyTable(latencyModel('nb201'), { channels: 4, cells: 1, resolution: 8, repeats: 3, warmup: 1 });
    const file = join(dir, 'nb201.json');
    saveLatencyTable(file, table);
    const rng = new Rng(0);
    const latencies = Array.from({ length: 200 }, () => predictLatency(latencyModel('nb201'), table, nb201Space().sample(rng)));
    // A bound that some cells meet and others break.
    const sorted = [...latencies].sort((a, b) => a - b);
    const bound = sorted[Math.floor(sorted.length / 2)]!;
    const config = checkConfig({
      name: 'latency', seed: 3, space: { name: 'nb201' }, strategy: { name: 'nsga2', options: { population: 8 } },
      estimator: { type: 'benchmark' }, objectives: ['accuracy', 'latency_ms:min'], constraints: [`latency_ms <= ${bound}`],
      hardware: { latencyTable: file }, budget: { trials: 24 },
    });
    const r = await runExperiment({ store, config });
    const trials = await store.listTrials(r.experimentId);
    assert.equal(trials.length, 24);
    const space = nb201Space();
    for (const t of trials) {
      const expected = predictLatency(latencyModel('nb201'), table, t.sample as Sample);
      assert.equal(t.metrics!['latency_ms'], expected, space.format(t.sample as Sample));
      assert.equal(t.state === 'pruned', expected > bound, `${space.format(t.sample as Sample)}: ${t.state} at ${expected} ms (bound ${bound})`);
    }
    assert.ok(trials.some((t) => t.state === 'complete') && trials.some((t) => t.state === 'pruned'));

    const darts = measureLatencyTable(latencyModel('darts'), { channels: 4, cells: 3, resolution: 8, repeats: 2, warmup: 1 });
    const dartsFile = join(dir, 'darts.json');
    saveLatencyTable(dartsFile, darts);
    const wrong = checkConfig({ ...config, name: 'wrong', hardware: { latencyTable: dartsFile }, constraints: [] });
    await assert.rejects(runExperiment({ store, config: wrong }), /hardware\.latencyTable.*measured for space darts/);
    const missing = checkConfig({ ...config, name: 'missing', hardware: { latencyTable: join(dir, 'nope.json') }, constraints: [] });
    await assert.rejects(runExperiment({ store, config: missing }), /hardware\.latencyTable.*nope\.json/);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('HW-NAS-Bench device costs in a config: NSGA-II on accuracy and Pixel 3 latency, a Raspberry Pi 4 constraint, Edge TPU gaps fail their trial', async () => {
  const store = await openStore('sqlite::memory:');
  try {
    const bench = new Nb201Benchmark('cifar10');
    const bound = 20;
    const config = checkConfig({
      name: 'pixel3', seed: 1, space: { name: 'nb201' }, strategy: { name: 'nsga2', options: { population: 8 } },
      estimator: { type: 'benchmark', benchmark: 'nb201:cifar10' }, objectives: ['accuracy', 'latency_pixel3_ms'], constraints: [`latency_raspi4_ms <= ${bound}`],
      budget: { trials: 24 },
    });
    assert.equal(config.objectives[1]!.direction, 'min');
    const r = await runExperiment({ store, config });
    const trials = await store.listTrials(r.experimentId);
    assert.equal(trials.length, 24);
    for (const t of trials) {
      const arch = nb201Space().format(t.sample as Sample);
      assert.equal(t.metrics!['latency_pixel3_ms'], bench.metric(arch, 'latency_pixel3_ms'), arch);
      assert.equal(t.state === 'pruned', bench.metric(arch, 'latency_raspi4_ms') > bound, arch);
    }
    assert.ok(trials.some((t) => t.state === 'complete') && trials.some((t) => t.state === 'pruned'));

    const edgeTpu = checkConfig({ ...config, name: 'edgetpu', objectives: ['accuracy', 'latency_edgetpu_ms'], constraints: [], budget: { trials: 30 } });
    const e = await runExperiment({ store, config: edgeTpu });
    const failed = (await store.listTrials(e.experimentId)).filter((t) => t.state === 'failed');
    // About 30% of the cells have no Edge TPU latency: some of 30 random-looking trials hit one.
    assert.ok(failed.length > 0);
    for (const t of failed) assert.match(t.error ?? '', /did not measure latency_edgetpu_ms for '\|/);
  } finally {
    await store.close();
  }
});
