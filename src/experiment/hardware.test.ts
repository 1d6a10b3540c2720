// Hardware metrics in experiments: a measured latency table gives every
// trial latency_ms, usable as an objective and in constraints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
