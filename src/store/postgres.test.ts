// Runs the store suite against a real PostgreSQL: a throwaway server started
// here (see src/testing/postgres.ts), or the one at TSNAS_PG_URL. Each test gets a
// fresh schema, selected through the URL's search_path option.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import pg from 'pg';
import { TsnasError } from '../errors.js';
import { openStore } from './index.js';
import { startTestPostgres, usePostgresForTests } from '../testing/postgres.js';
import { POSTGRES_SCHEMA_VERSION } from './postgres.js';
import { runStoreSuite } from './suite.js';

const pgTest = usePostgresForTests('tsnas_test');
const freshSchema = () => pgTest.freshSchema();
const admin = () => pgTest.admin();

runStoreSuite('postgres', async () => {
  const fresh = await freshSchema();
  return {
    ...fresh,
    refuseWrites: async (table) => {
      const name = `tsnas_test_refuse_${table}`;
      await admin().query(`
        CREATE FUNCTION ${fresh.schema}.${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by test'; END $$;
        CREATE TRIGGER ${name} BEFORE INSERT OR UPDATE ON ${fresh.schema}.${table} FOR EACH ROW EXECUTE FUNCTION ${fresh.schema}.${name}();`);
      return async () => void (await admin().query(`DROP FUNCTION ${fresh.schema}.${name}() CASCADE`));
    },
  };
});

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
    const { url, schema, dispose } = await freshSchema();
    try {
      await (await openStore(url)).close();
      await admin().query(`UPDATE ${schema}.tsnas_meta SET value = '999' WHERE key = 'schema_version'`);
      await assert.rejects(
        openStore(url),
        (e: unknown) => e instanceof TsnasError && e.code === 'state' && /schema version 999, newer than this tsnas supports/.test(e.message),
      );
    } finally {
      await dispose();
    }
  });

  it('adds the epoch, checkpoint and lease tables to a store of schema version 1, in its own schema, when it opens', async () => {
    const { url, schema, dispose } = await freshSchema();
    try {
      const old = await openStore(url);
      const e = await old.createExperiment('e', {});
      await old.close();
      // What a store written before the epoch tables existed looks like.
      await admin().query(`DROP TABLE ${schema}.tsnas_epochs, ${schema}.tsnas_checkpoints, ${schema}.tsnas_leases; UPDATE ${schema}.tsnas_meta SET value = '1' WHERE key = 'schema_version'`);
      const store = await openStore(url);
      try {
        await store.recordEpoch(e.id, 'supernet', 1, { epoch: 1 }, { stage: 'supernet', epoch: 1, state: {}, data: new Uint8Array([7]) });
        assert.deepEqual((await store.listEpochs(e.id)).map((r) => r.record), [{ epoch: 1 }]);
        assert.deepEqual([...(await store.loadCheckpoint(e.id))!.data], [7]);
        assert.equal((await store.acquireLease(e.id, { owner: 'o', host: 'h', pid: 1 }, { expireMs: 1000 })).acquired, true);
      } finally {
        await store.close();
      }
      const tables = await admin().query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name IN ('tsnas_epochs', 'tsnas_checkpoints', 'tsnas_leases') ORDER BY 1`,
        [schema],
      );
      assert.deepEqual(tables.rows.map((r) => r.table_name), ['tsnas_checkpoints', 'tsnas_epochs', 'tsnas_leases'], 'created in the store\'s schema');
      const version = await admin().query<{ value: string }>(`SELECT value FROM ${schema}.tsnas_meta WHERE key = 'schema_version'`);
      assert.equal(version.rows[0]!.value, String(POSTGRES_SCHEMA_VERSION));
    } finally {
      await dispose();
    }
  });

  it('enforces immutability of finished trials in the database itself', async () => {
    const { url, schema, dispose } = await freshSchema();
    const store = await openStore(url);
    try {
      const e = await store.createExperiment('e', {});
      const { trial } = await store.createTrial(e.id, {}, 'h');
      await store.finishTrial(trial.id, { state: 'pruned' });
      await assert.rejects(admin().query(`UPDATE ${schema}.tsnas_trials SET state = 'pending' WHERE id = $1`, [trial.id]), /finished trials never change/);
      await assert.rejects(admin().query(`INSERT INTO ${schema}.tsnas_trial_artifacts VALUES ($1, 'a', 'b')`, [trial.id]), /finished trials never change/);
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

/** True while pid is a live process (a zombie, dead but not yet reaped, counts as gone). */
function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (condition()) return true;
  return condition();
}

describe('throwaway test server', { skip: process.env.TSNAS_PG_URL ? 'TSNAS_PG_URL is set' : false }, () => {
  it('leaves no process or directory behind after stop()', async () => {
    const own = await startTestPostgres();
    assert.ok(own.owned && own.dir && own.pid);
    assert.ok(isRunning(own.pid));
    const client = new pg.Client({ connectionString: own.url });
    await client.connect();
    assert.equal((await client.query('SELECT 1 + 1 AS two')).rows[0].two, 2);
    await client.end();
    await own.stop();
    assert.equal(isRunning(own.pid), false);
    assert.equal(existsSync(own.dir), false);
  });

  it('is shut down and removed when its process is killed with SIGKILL', async () => {
    const moduleUrl = new URL('../testing/postgres.js', import.meta.url).href;
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', `const { startTestPostgres } = await import(${JSON.stringify(moduleUrl)}); const s = await startTestPostgres(); console.log(JSON.stringify({ dir: s.dir, pid: s.pid })); setInterval(() => {}, 1000);`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const started = await new Promise<{ dir: string; pid: number }>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!));
      });
      child.once('exit', (code) => reject(new Error(`server process exited early with ${code}`)));
    });
    assert.ok(isRunning(started.pid));
    child.kill('SIGKILL');
    await exited;
    assert.ok(await waitUntil(() => !isRunning(started.pid), 5000), `postmaster ${started.pid} still runs`);
    assert.ok(await waitUntil(() => !existsSync(started.dir), 5000), `${started.dir} still exists`);
  });
});
