// The pg-boss queue between a coordinator (`tsnas search` with
// execution.queue pgboss) and its workers (`tsnas worker`), in the store's
// own PostgreSQL database.
//
// One queue per experiment (`tsnas-trials-<experiment id>`), so a worker
// given --experiment polls only that one. A job is a *token*: "run one
// pending trial of this experiment" (its data names the experiment and the
// trial it was sent for, with what the strategy attached to that trial).
// The worker takes that trial with claimTrial, the store's atomic claim, so
// a trial runs on one worker at a time whatever the queue does; a job whose
// trial is no longer pending does nothing. The store stays the single truth
// about trials, and the queue only carries the work to the machines.
import pg from 'pg';
import PgBoss from 'pg-boss';
import { TsnasError, usageError } from '../errors.js';
import { parseStorageUrl } from '../store/index.js';
import type { TrialMetadata } from '../strategies/types.js';

/** What a trial job carries. */
export interface TrialJobData {
  experiment: string;
  experimentId: number;
  /** The trial the coordinator sent the job for; the worker runs it if it is still pending. */
  trialId: number;
  /** What the strategy attached to the trial (Strategy.trialMetadata), for its TrialContext. */
  metadata?: TrialMetadata;
  /** Where the coordinator's experiment keeps trained weights (EstimatorFiles.weightsDir, absolute); workers need it at the same path. */
  weightsDir?: string;
  /** How often the worker proves it is alive (the coordinator requeues trials silent for 4 times this). */
  heartbeatMs: number;
}

/** What a worker completes a job with. */
export interface TrialJobResult {
  workerId: string;
  /** The trial it ran, null when none was pending. */
  trialId: number | null;
  state?: string;
}

export const QUEUE_PREFIX = 'tsnas-trials-';

export function trialQueueName(experimentId: number): string {
  return `${QUEUE_PREFIX}${experimentId}`;
}

/** The experiment id of a trial queue's name, undefined for other queues. */
export function experimentIdOfQueue(name: string): number | undefined {
  if (!name.startsWith(QUEUE_PREFIX)) return undefined;
  const id = Number(name.slice(QUEUE_PREFIX.length));
  return Number.isInteger(id) && id > 0 ? id : undefined;
}

/**
 * Jobs expire (pg-boss marks them failed) after this long; they are never
 * retried by pg-boss. A lost trial comes back through the store instead
 * (stale heartbeat → requeueStale → a new token), which also covers a
 * worker killed in the middle of a trial far shorter than any expiry.
 */
export const JOB_EXPIRE_SECONDS = 6 * 3600;

/** The postgres URL of --storage; a usage error for anything else. */
export function postgresUrl(storage: string | undefined, flag = '--storage'): string {
  if (storage === undefined) throw usageError('expected the postgres:// URL of the experiment store', flag);
  const location = parseStorageUrl(storage);
  if (location.kind !== 'postgres') {
    throw usageError(`workers and the pgboss queue need a PostgreSQL store (postgres://...), got ${JSON.stringify(storage)}`, flag);
  }
  return location.url;
}

/**
 * pg-boss's schema for a store: `pgboss` for a store in `public`, else
 * `<store schema>_pgboss`, so that stores in separate schemas of one
 * database (e.g. tests) have separate queues.
 */
export async function bossSchemaFor(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const row = (await client.query<{ schema: string | null }>('SELECT current_schema() AS schema')).rows[0];
    const schema = row?.schema ?? 'public';
    if (schema === 'public') return 'pgboss';
    const name = `${schema.replace(/\W/g, '_')}_pgboss`;
    if (name.length > 50 || /^\d/.test(name)) {
      throw new TsnasError('config', `store schema ${JSON.stringify(schema)} is too long for a pg-boss schema name (at most 43 characters)`, { where: 'storage' });
    }
    return name;
  } finally {
    await client.end();
  }
}

/** A started pg-boss on the store's database; stop() when done. */
export async function openBoss(url: string, options: { supervise: boolean }): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString: url,
    schema: await bossSchemaFor(url),
    max: 4,
    // Cron schedules are not used; the coordinator (supervise) expires and archives jobs.
    schedule: false,
    supervise: options.supervise,
  });
  // A broken connection must not crash the process; the next call reports it.
  boss.on('error', () => {});
  await boss.start();
  return boss;
}

/** Creates the experiment's queue if it does not exist (idempotent). */
export async function ensureTrialQueue(boss: PgBoss, experimentId: number): Promise<string> {
  const name = trialQueueName(experimentId);
  await boss.createQueue(name, { name, policy: 'standard', retryLimit: 0, expireInSeconds: JOB_EXPIRE_SECONDS });
  return name;
}
