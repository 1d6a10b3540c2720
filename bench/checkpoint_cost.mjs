// What a weight-sharing experiment's per-epoch checkpoint costs: its size,
// and the time to take it, encode it and store it (SQLite, one transaction
// with the epoch's record), for the NAS-Bench-201 supernet at the published
// size (C = 16, N = 5) and a DARTS supernet (C = 16, 8 cells), after one
// training step (so both optimizers have state).
//   node bench/checkpoint_cost.mjs [--repeats 5]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { data, setNumThreads, store } from '../dist/index.js';
import { createDifferentiableRun } from '../dist/weight-sharing/differentiable/run.js';
import { tensorsToSafetensors } from '../dist/export/safetensors.js';

const repeats = Number(process.argv[process.argv.indexOf('--repeats') + 1] ?? 5) || 5;
setNumThreads(1);
const dir = mkdtempSync(join(tmpdir(), 'tsnas-ckpt-'));
const s = await store.openStore(`sqlite:${join(dir, 'c.db')}`);
const train = data.syntheticDataset({ n: 64, height: 32, width: 32, numClasses: 10, seed: 1 });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = [];
for (const [space, C, cells] of [['nb201', 16, 5], ['darts', 16, 8]]) {
  const run = createDifferentiableRun(train, { method: 'darts', space, C, cells, epochs: 2, batchSize: 16, stepsPerEpoch: 1, seed: 0 });
  await run.trainEpoch();
  const e = await s.createExperiment(`${space}`, {});
  const take = [], encode = [], write = [];
  let bytes = 0;
  for (let i = 0; i < repeats; i++) {
    let t = performance.now();
    const c = run.checkpoint();
    take.push(performance.now() - t);
    t = performance.now();
    const b = tensorsToSafetensors(c.tensors);
    encode.push(performance.now() - t);
    bytes = b.byteLength;
    t = performance.now();
    await s.recordEpoch(e.id, 'supernet', 1, { epoch: 1 }, { stage: 'supernet', epoch: 1, state: c.state, data: b });
    write.push(performance.now() - t);
  }
  run.dispose();
  results.push({ space, C, cells, checkpoint_mb: +(bytes / 2 ** 20).toFixed(2), take_ms: +median(take).toFixed(1), encode_ms: +median(encode).toFixed(1), store_ms: +median(write).toFixed(1) });
}
await s.close();
rmSync(dir, { recursive: true, force: true });
for (const r of results) console.log(JSON.stringify(r));
