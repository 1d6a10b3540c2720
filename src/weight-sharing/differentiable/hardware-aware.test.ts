// Hardware-aware DARTS with a latency table measured on this runtime: a
// large λ moves the derived cell to cheaper operations than λ = 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syntheticDataset } from '../../data/synthetic.js';
import { latencyCostTables, measureLatencyTable, predictLatency } from '../../hardware/latency.js';
import { latencyModel } from '../../kits/index.js';
import { nb201Space } from '../../spaces/nb201.js';
import { getNumThreads, memory, setNumThreads } from '../../tensor/index.js';
import { runDifferentiableSearch, type SearchResult } from './run.js';

test('latency-aware DARTS: with a large λ the derived cell is cheaper than with λ = 0 (nb201, tiny synthetic run)', async () => {
  const threads = getNumThreads();
  setNumThreads(1);
  try {
    const start = memory().numTensors;
    const table = measureLatencyTable(latencyModel('nb201'), { channels: 4, cells: 1, resolution: 8, batch: 8, repeats: 7, clock: 'cpu' });
    const perLabel = latencyCostTables(latencyModel('nb201'), table);
    assert.deepEqual(Object.keys(perLabel).sort(), ['edge_1_0', 'edge_2_0', 'edge_2_1', 'edge_3_0', 'edge_3_1', 'edge_3_2']);
    const data = syntheticDataset({ n: 64, height: 8, width: 8, numClasses: 3, seed: 4 });
    const search = (lambda: number): Promise<SearchResult> => {
      return runDifferentiableSearch(data, {
        method: 'darts', space: 'nb201', C: 4, cells: 1, epochs: 3, batchSize: 8, stepsPerEpoch: 4, archLr: 0.05, seed: 3,
        cost: { table: {}, perLabel, lambda },
      });
    };
    const free = await search(0);
    const aware = await search(1000);
    // The expected latency falls over the epochs, and ends below the run without the cost term.
    const cost = (r: SearchResult) => r.history.map((h) => h.expectedCost!);
    assert.ok(cost(aware).at(-1)! < cost(aware)[0]!, `expected latency per epoch ${cost(aware)}`);
    assert.ok(cost(aware).at(-1)! < cost(free).at(-1)!, `λ=1000 ${cost(aware)} vs λ=0 ${cost(free)}`);
    const nb = nb201Space();
    const latency = (r: SearchResult) => predictLatency(latencyModel('nb201'), table, nb.parse(r.arch));
    assert.ok(latency(aware) < latency(free), `λ=1000: ${r(aware)}; λ=0: ${r(free)}`);
    // Every edge of the λ=1000 cell holds an op cheaper than that edge's mean candidate (the cost gradient pushes those up).
    const ops = nb.parse(aware.arch);
    for (const [label, costs] of Object.entries(perLabel)) {
      const mean = Object.values(costs).reduce((a, b) => a + b, 0) / Object.keys(costs).length;
      const op = String(ops[label]);
      assert.ok(costs[op]! < mean, `${label}: ${op} costs ${costs[op]} ms, mean ${mean} ms`);
    }
    assert.equal(memory().numTensors, start);
    function r(x: SearchResult) {
      return `${x.arch} (${latency(x).toFixed(3)} ms)`;
    }
  } finally {
    setNumThreads(threads);
  }
});
