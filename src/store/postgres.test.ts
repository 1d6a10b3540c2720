// Runs the store suite against a real PostgreSQL: a throwaway server started
// here (see pg-test-server.ts), or the one at TSNAS_PG_URL. Each test gets a
// fresh schema, selected through the URL's search_path option.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { TsnasError } from '../errors.js';
import { openStore } from './index.js';
import { startTestPostgres, type TestPostgres } from './pg-test-server.js';
import { runStoreSuite } from './suite.js';

let server: TestPostgres;
let admin: pg.Client;
before(async () => {
  server = await startTestPostgres();
  admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
});
after(async () => {
  await admin?.end();
  await server?.stop();
});

function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

let counter = 0;
const runId = `${process.pid}_${Date.now().toString(36)}`;
async function freshSchema(): Promise<{ url: string; dispose: () => Promise<void> }> {
  const schema = `tsnas_test_${runId}_${counter++}`;
  await admin.query(`CREATE SCHEMA ${schema}`);
  return { url: withSearchPath(server.url, schema), dispose: async () => void (await admin.query(`DROP SCHEMA ${schema} CASCADE`)) };
}

runStoreSuite('postgres', freshSchema);

describe('PostgreSQL store specifics', () => {
  it('migrates once even when many connections open an empty schema at once', async () => {
    const { url, dispose } = await freshSchema();
    const stores = await Promise.all(Array.from({ length: 4 }, () => openStore(url)));
    try {
      assert.ok(stores.every((s) => s.kind === 'postgres'));
      await stores[0]!.createExperiment('e', {});
      assert.equal((await stores[3]!.listExperiments()).length, 1);
    } finally {
      for (const s of stores) await s.close();
      await dispose();
    }
  });

  it('refuses a database written by a newer schema version', async () => {
    const { url, dispose } = await freshSchema();
    const schema = new URL(url).searchParams.get('options')!.split('=')[1]!;
    try {
      await (await openStore(url)).close();
      await admin.query(`UPDATE ${schema}.tsnas_meta SET value = '999' WHERE key = 'schema_version'`);
      await assert.rejects(
        openStore(url),
        (e: unknown) => e instanceof TsnasError && e.code === 'state' && /schema version 999, newer than this tsnas supports/.test(e.message),
      );
    } finally {
      await dispose();
    }
  });

  it('enforces immutability of finished trials in the database itself', async () => {
    const { url, dispose } = await freshSchema();
    const schema = new URL(url).searchParams.get('options')!.split('=')[1]!;
    const store = await openStore(url);
    try {
      const e = await store.createExperiment('e', {});
      const { trial } = await store.createTrial(e.id, {}, 'h');
      await store.finishTrial(trial.id, { state: 'pruned' });
      await assert.rejects(admin.query(`UPDATE ${schema}.tsnas_trials SET state = 'pending' WHERE id = $1`, [trial.id]), /finished trials never change/);
      await assert.rejects(admin.query(`INSERT INTO ${schema}.tsnas_trial_artifacts VALUES ($1, 'a', 'b')`, [trial.id]), /finished trials never change/);
    } finally {
      await store.close();
      await dispose();
    }
  });

  it('reports an unreachable server as a state error without the password', async () => {
    await assert.rejects(
      openStore('postgresql://someone:secret@/nowhere?host=/nonexistent-socket-dir&port=1'),
      (e: unknown) => e instanceof TsnasError && e.code === 'state' && /cannot open PostgreSQL store/.test(e.message) && !e.message.includes('secret'),
    );
  });
});
