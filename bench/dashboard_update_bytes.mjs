// Bytes the dashboard's event stream sends for one experiment of 5,000
// trials: the first event (on connect) and each event after a store change
// (a new complete trial; a running trial's learning-curve point).
// Usage: node bench/dashboard_update_bytes.mjs [DIST]   (DIST: a compiled
// tree, default ./dist; pass an older build's dist to compare versions).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = pathToFileURL(resolve(process.argv[2] ?? 'dist') + '/').href;
const { SqliteStore } = await import(new URL('store/sqlite.js', dist));
const { getSpace } = await import(new URL('kits/index.js', dist));
const { Rng } = await import(new URL('util/random.js', dist));
const { startDashboard } = await import(new URL('dashboard/server.js', dist));

const TRIALS = 5000;
const nb201 = getSpace('nb201', {});
const rng = new Rng(5);
const dir = mkdtempSync(join(tmpdir(), 'tsnas-dashboard-bytes-'));
const store = new SqliteStore(join(dir, 'store.db'));

async function createRandom(experimentId) {
  for (;;) {
    const sample = nb201.sample(rng);
    const { trial, created } = await store.createTrial(experimentId, sample, nb201.hash(sample));
    if (created) return trial;
  }
}
const metrics = () => ({ accuracy: 0.5 + 0.4 * rng.next(), params: 1e5 * (1 + 10 * rng.next()) });

try {
  const e = await store.createExperiment('big', { space: { name: 'nb201' }, objectives: ['accuracy', 'params'] });
  for (let i = 0; i < TRIALS; i++) await store.finishTrial((await createRandom(e.id)).id, { state: 'complete', metrics: metrics() });
  const dashboard = await startDashboard({ store, port: 0, pollMs: 100, log: () => {} });
  const abort = new AbortController();
  const response = await fetch(new URL('api/experiments/big/events', dashboard.url), { signal: abort.signal });
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const events = [];
  (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end + 2);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          if (event) events.push({ event, bytes: Buffer.byteLength(block) });
        }
      }
    } catch {}
  })();
  const settle = async () => {
    let count = -1;
    while (count !== events.length) {
      count = events.length;
      await new Promise((r) => setTimeout(r, 2000));
    }
  };
  await settle();
  const first = events.length;
  for (let i = 0; i < 5; i++) {
    const trial = await createRandom(e.id);
    await store.finishTrial(trial.id, { state: 'complete', metrics: metrics() });
    await settle();
  }
  const afterTrials = events.length;
  const running = await createRandom(e.id);
  await store.claimTrial(e.id, 'w');
  await settle();
  const afterClaim = events.length;
  for (let step = 0; step < 3; step++) {
    await store.reportIntermediate(running.id, 'val_accuracy', step, 0.5 + step / 10);
    await settle();
  }
  const describe = (list) => list.map((x) => `${x.event} ${x.bytes}`).join(', ');
  console.log(`first event(s): ${describe(events.slice(0, first))}`);
  console.log(`5 new complete trials: ${describe(events.slice(first, afterTrials))}`);
  console.log(`a trial claimed: ${describe(events.slice(afterTrials, afterClaim))}`);
  console.log(`3 learning-curve points: ${describe(events.slice(afterClaim))}`);
  abort.abort();
  await dashboard.close();
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
