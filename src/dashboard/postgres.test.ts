// The dashboard over PostgreSQL: JSON endpoints and one live event, through
// a throwaway server (usePostgresForTests).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openStore } from '../store/index.js';
import { findPostgresBinDir, usePostgresForTests } from '../testing/postgres.js';
import { startDashboard } from './server.js';

const available = process.env.TSNAS_PG_URL !== undefined || findPostgresBinDir() !== null;

describe('dashboard on PostgreSQL', { skip: available ? false : 'no PostgreSQL binaries (install Debian package postgresql) and no TSNAS_PG_URL' }, () => {
  const pgTest = usePostgresForTests('tsnas_dash');

  test('lists the experiment, serves its snapshot, and streams a finished trial', async () => {
    const schema = await pgTest.freshSchema();
    const store = await openStore(schema.url);
    const dashboard = await startDashboard({ store, port: 0, pollMs: 100, log: () => {} });
    const abort = new AbortController();
    try {
      assert.equal(store.kind, 'postgres');
      const e = await store.createExperiment('pg-run', { objectives: ['accuracy'] });
      const first = await store.createTrial(e.id, { a: 1 }, 'a1');
      await store.finishTrial(first.trial.id, { state: 'complete', metrics: { accuracy: 0.6 } });

      const list = await (await fetch(new URL('api/experiments', dashboard.url))).json();
      assert.deepEqual(list.experiments.map((x: { name: string; total: number; best: number }) => [x.name, x.total, x.best]), [['pg-run', 1, 0.6]]);
      const snapshot = await (await fetch(new URL('api/experiments/pg-run', dashboard.url))).json();
      assert.equal(snapshot.trials[snapshot.best].metrics.accuracy, 0.6);
      assert.equal(snapshot.counts.complete, 1);

      // The event stream: the current snapshot at once, then updates with what changed after the store changes.
      const response = await fetch(new URL('api/experiments/pg-run/events', dashboard.url), { signal: abort.signal });
      assert.match(response.headers.get('content-type')!, /text\/event-stream/);
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      const nextEvent = async (event: string) => {
        for (;;) {
          const end = buffer.indexOf('\n\n');
          if (end >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block.split('\n').find((l) => l.startsWith('data: '));
            if (block.includes(`event: ${event}`) && data) return JSON.parse(data.slice(6));
            continue;
          }
          const { value, done } = await reader.read();
          if (done) throw new Error('stream ended');
          buffer += decoder.decode(value, { stream: true });
        }
      };
      assert.equal((await nextEvent('snapshot')).total, 1);
      const second = await store.createTrial(e.id, { a: 2 }, 'a2');
      await store.finishTrial(second.trial.id, { state: 'complete', metrics: { accuracy: 0.8 } });
      let latest = await nextEvent('update');
      // Creation and finishing may land in two polls.
      if (latest.counts?.complete !== 2) latest = await nextEvent('update');
      assert.equal(latest.counts.complete, 2);
      assert.equal(latest.best, 1);
      assert.deepEqual(latest.trials.map((t: { number: number }) => t.number), [1], 'only the new trial');
    } finally {
      abort.abort();
      await dashboard.close();
      await store.close();
      await schema.dispose();
    }
  });
});
