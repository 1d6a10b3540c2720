// The PostgreSQL backend: the same contract as SQLite for searches whose
// workers run on several machines. Claims use FOR UPDATE SKIP LOCKED, so
// concurrent workers each take a different pending trial without waiting.
// Times come from the server's clock so that all workers agree on them.
//
// The tables go in the connection's current schema; to keep several stores
// in one database, give each its own schema with the URL parameter
// `options=-c search_path=NAME` (the schema must exist).
import pg from 'pg';
import { TsnasError } from '../errors.js';
import {
  assembleTrials,
  checkArtifact,
  checkEpochWrite,
  checkExperimentName,
  checkExperimentStatus,
  checkIntermediate,
  checkLeaseRequest,
  checkListEpochsOptions,
  checkMetricName,
  checkMutable,
  checkNonNegativeInteger,
  checkOutcome,
  checkSampleHash,
  checkStates,
  emptyCounts,
  notFound,
  OLDEST_READABLE_SCHEMA_VERSION,
  outcomeColumns,
  stateError,
  toJsonText,
  type ArtifactRow,
  type IntermediateRow,
  type TrialRow,
} from './common.js';
import type {
  AcquireLeaseOptions,
  Checkpoint,
  CheckpointInput,
  ClaimOptions,
  CreateTrialResult,
  Direction,
  EpochRecord,
  Experiment,
  ExperimentStatus,
  FinishOptions,
  Json,
  Lease,
  LeaseHolder,
  LeaseResult,
  ListEpochsOptions,
  ListTrialsOptions,
  StrategyState,
  Store,
  Trial,
  TrialOutcome,
  TrialState,
} from './types.js';

const NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';
const FINISHED_SQL = "('complete', 'failed', 'pruned')";
/** Serializes migrations of concurrent openers (any fixed number works). */
const MIGRATION_LOCK_KEY = 7_352_001;

/** Schema versions in order; tsnas_meta.schema_version counts how many were applied. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE tsnas_experiments (
    id SERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    config JSON NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- Taking the next number locks this row, which serializes trial creation per experiment.
    next_trial_number INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE tsnas_trials (
    id SERIAL PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES tsnas_experiments(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'complete', 'failed', 'pruned')),
    sample JSON NOT NULL,
    sample_hash TEXT NOT NULL,
    metrics JSON,
    worker_id TEXT,
    heartbeat_at BIGINT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    error TEXT,
    UNIQUE (experiment_id, number),
    UNIQUE (experiment_id, sample_hash)
  );
  CREATE INDEX tsnas_trials_by_state ON tsnas_trials (experiment_id, state, number);
  CREATE TABLE tsnas_trial_values (
    trial_id INTEGER NOT NULL REFERENCES tsnas_trials(id) ON DELETE CASCADE,
    metric TEXT NOT NULL,
    step BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (trial_id, metric, step)
  );
  CREATE TABLE tsnas_trial_artifacts (
    trial_id INTEGER NOT NULL REFERENCES tsnas_trials(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    PRIMARY KEY (trial_id, name)
  );
  CREATE TABLE tsnas_strategy_states (
    experiment_id INTEGER PRIMARY KEY REFERENCES tsnas_experiments(id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    told_count INTEGER NOT NULL,
    saved_at BIGINT NOT NULL
  );
  -- Finished trials never change, whoever writes to the database.
  CREATE FUNCTION tsnas_refuse_finished_trial_update() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF OLD.state IN ${FINISHED_SQL} THEN
      RAISE EXCEPTION 'trial % is %, and finished trials never change', OLD.id, OLD.state;
    END IF;
    RETURN NEW;
  END $$;
  CREATE TRIGGER tsnas_finished_trial_update BEFORE UPDATE ON tsnas_trials
    FOR EACH ROW EXECUTE FUNCTION tsnas_refuse_finished_trial_update();
  -- Bound to this schema's search path, so writers with another one still find tsnas_trials.
  CREATE FUNCTION tsnas_refuse_finished_trial_detail() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
  BEGIN
    IF (SELECT state FROM tsnas_trials WHERE id = NEW.trial_id) IN ${FINISHED_SQL} THEN
      RAISE EXCEPTION 'trial % is finished, and finished trials never change', NEW.trial_id;
    END IF;
    RETURN NEW;
  END $$;
  CREATE TRIGGER tsnas_finished_trial_value BEFORE INSERT OR UPDATE ON tsnas_trial_values
    FOR EACH ROW EXECUTE FUNCTION tsnas_refuse_finished_trial_detail();
  CREATE TRIGGER tsnas_finished_trial_artifact BEFORE INSERT OR UPDATE ON tsnas_trial_artifacts
    FOR EACH ROW EXECUTE FUNCTION tsnas_refuse_finished_trial_detail();
  `,
  `
  -- id orders the records: an upsert keeps it, so a replaced record keeps its place.
  CREATE TABLE tsnas_epochs (
    id BIGSERIAL PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES tsnas_experiments(id) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    record JSON NOT NULL,
    recorded_at BIGINT NOT NULL,
    UNIQUE (experiment_id, stage, epoch)
  );
  CREATE TABLE tsnas_checkpoints (
    experiment_id INTEGER PRIMARY KEY REFERENCES tsnas_experiments(id) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    state JSON NOT NULL,
    data BYTEA NOT NULL,
    saved_at BIGINT NOT NULL
  );
  `,
  `
  CREATE TABLE tsnas_leases (
    experiment_id INTEGER PRIMARY KEY REFERENCES tsnas_experiments(id) ON DELETE CASCADE,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    acquired_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
  );
  `,
];

/** The schema version this code writes; a database with a newer one is refused. */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

/** A trial with its curves and artifacts as JSON, read in one statement (one snapshot). */
const TRIAL_COLUMNS = `t.*,
  (SELECT json_agg(json_build_array(v.metric, v.step, v.value)) FROM tsnas_trial_values v WHERE v.trial_id = t.id) AS curve_points,
  (SELECT json_agg(json_build_array(a.name, a.path)) FROM tsnas_trial_artifacts a WHERE a.trial_id = t.id) AS artifact_pairs`;

const LEASE_COLUMNS = 'owner, host, pid, acquired_at AS "acquiredAt", heartbeat_at AS "heartbeatAt"';

interface RawTrialRow {
  id: number;
  experiment_id: number;
  number: number;
  state: TrialState;
  sample: Json;
  sample_hash: string;
  metrics: Record<string, number> | null;
  worker_id: string | null;
  heartbeat_at: number | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  error: string | null;
  curve_points: [string, number, number][] | null;
  artifact_pairs: [string, string][] | null;
}

interface RawExperimentRow {
  id: number;
  name: string;
  config: Json;
  status: ExperimentStatus;
  created_at: number;
}

function toExperiment(r: RawExperimentRow): Experiment {
  return { id: r.id, name: r.name, config: r.config, status: r.status, createdAt: r.created_at };
}

function toTrials(rows: RawTrialRow[]): Trial[] {
  const trialRows: TrialRow[] = [];
  const values: IntermediateRow[] = [];
  const artifacts: ArtifactRow[] = [];
  for (const r of rows) {
    trialRows.push({
      id: r.id,
      experimentId: r.experiment_id,
      number: r.number,
      state: r.state,
      sample: r.sample,
      sampleHash: r.sample_hash,
      metrics: r.metrics,
      workerId: r.worker_id,
      heartbeatAt: r.heartbeat_at,
      createdAt: r.created_at,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      error: r.error,
    });
    for (const [metric, step, value] of r.curve_points ?? []) values.push({ trialId: r.id, metric, step, value });
    for (const [name, path] of r.artifact_pairs ?? []) artifacts.push({ trialId: r.id, name, path });
  }
  return assembleTrials(trialRows, values, artifacts);
}

/** Timestamps and counts are BIGINT; they fit a double, so read them as numbers. */
const typeParsers = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8 ? (text: string) => Number(text) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** createTrial's signal that the sample hash is taken (not an error for the caller). */
class ExistingTrial {
  constructor(readonly trialId: number) {}
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]*):[^@]*@/, '$1:***@');
}

/** Socket errors and SQLSTATEs that mean the server went away (restart, shutdown, network), not that a query was wrong. */
const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const isConnectionLoss = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (CONNECTION_ERRNOS.has(code) || code.startsWith('08') || code.startsWith('57P'))) return true;
  return error instanceof Error && /^Connection terminated|connection error and is not queryable|Connection ended/i.test(error.message);
};

/** A lost server or a full disk as an error naming the store and what to do; other errors as they are. */
function storeFailure(error: unknown, url: string): unknown {
  if (error instanceof TsnasError) return error;
  const why = error instanceof Error ? error.message || String((error as { code?: unknown }).code) : String(error);
  if (isConnectionLoss(error)) {
    return new TsnasError('state', `lost the connection to the PostgreSQL store ${redact(url)} (${why}); what was written before is kept: once the server is back, run the same command to resume`, { cause: error });
  }
  if ((error as { code?: unknown }).code === '53100') {
    return new TsnasError('data', `the disk of the PostgreSQL server holding ${redact(url)} is full (${why}); free space there and run the same command to resume`, { where: '--storage', cause: error });
  }
  return error;
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly url: string;

  private constructor(pool: pg.Pool, url: string) {
    this.pool = pool;
    this.url = url;
  }

  /** Connects to the database at url (postgres:// or postgresql://) and migrates it. */
  static async open(url: string, options: { maxConnections?: number; readOnly?: boolean } = {}): Promise<PostgresStore> {
    const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 10, types: typeParsers });
    // An idle connection that breaks (server restart) must not crash the
    // process; the next query reports the problem instead.
    pool.on('error', () => {});
    const store = new PostgresStore(pool, url);
    try {
      if (options.readOnly) await store.checkReadable(url);
      else await store.migrate();
    } catch (error) {
      await pool.end();
      if (error instanceof TsnasError && !isConnectionLoss(error.cause)) throw error;
      const cause = error instanceof TsnasError ? error.cause : error;
      const why = cause instanceof Error ? cause.message : String(cause);
      throw new TsnasError('state', `cannot open PostgreSQL store ${redact(url)}: ${why}${isConnectionLoss(cause) ? ' (is the server running, and is the URL right?)' : ''}`, { cause });
    }
    return store;
  }

  /** A store opened read-only must hold tsnas tables of exactly this schema version (reading cannot migrate it). */
  private async checkReadable(url: string): Promise<void> {
    const meta = await this.query<{ t: string | null }>(`SELECT to_regclass('tsnas_meta')::text AS t`);
    const version = meta[0]?.t ? Number((await this.query<{ value: string }>(`SELECT value FROM tsnas_meta WHERE key = 'schema_version'`))[0]?.value ?? 0) : 0;
    if (version === 0) throw new TsnasError('data', `${redact(url)} holds no tsnas store (no tsnas tables in its schema)`, { where: '--storage' });
    if (version < OLDEST_READABLE_SCHEMA_VERSION || version > MIGRATIONS.length) {
      throw new TsnasError('data', `${redact(url)} has store schema version ${version}, this tsnas reads versions ${OLDEST_READABLE_SCHEMA_VERSION} to ${MIGRATIONS.length}; ${version < MIGRATIONS.length ? 'a command that writes (tsnas search) upgrades it' : 'upgrade tsnas'}`, { where: '--storage' });
    }
  }

  private async migrate(): Promise<void> {
    await this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      await client.query('CREATE TABLE IF NOT EXISTS tsnas_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
      const found = await client.query<{ value: string }>(`SELECT value FROM tsnas_meta WHERE key = 'schema_version'`);
      const version = found.rows.length > 0 ? Number(found.rows[0]!.value) : 0;
      if (version > MIGRATIONS.length) {
        throw new TsnasError('state', `PostgreSQL store has schema version ${version}, newer than this tsnas supports (${MIGRATIONS.length}); upgrade tsnas`);
      }
      for (let v = version; v < MIGRATIONS.length; v++) await client.query(MIGRATIONS[v]!);
      await client.query(
        `INSERT INTO tsnas_meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        [String(MIGRATIONS.length)],
      );
    });
  }

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw storeFailure(error, this.url);
    }
    let broken = false;
    // A connection cut between two statements (server restart) must not crash the process: the next statement fails instead.
    const ignore = () => {};
    client.on('error', ignore);
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      broken = isConnectionLoss(error);
      if (!broken) await client.query('ROLLBACK').catch(() => {});
      throw storeFailure(error, this.url);
    } finally {
      client.off('error', ignore);
      // A broken connection is dropped from the pool rather than handed out again.
      client.release(broken);
    }
  }

  private async execute<R extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, params);
    } catch (error) {
      throw storeFailure(error, this.url);
    }
  }

  private async query<R extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<R[]> {
    return (await this.execute<R>(text, params)).rows;
  }

  // ---- experiments ----

  async createExperiment(name: string, config: Json): Promise<Experiment> {
    checkExperimentName(name);
    const configText = toJsonText(config, `config of experiment "${name}"`);
    try {
      const rows = await this.query<RawExperimentRow>(
        `INSERT INTO tsnas_experiments (name, config, status, created_at) VALUES ($1, $2, 'created', ${NOW_MS}) RETURNING *`,
        [name, configText],
      );
      return toExperiment(rows[0]!);
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw stateError(`experiment "${name}" already exists in this store`);
      throw error;
    }
  }

  async getExperiment(name: string): Promise<Experiment | null> {
    const rows = await this.query<RawExperimentRow>('SELECT * FROM tsnas_experiments WHERE name = $1', [name]);
    return rows[0] ? toExperiment(rows[0]) : null;
  }

  async getExperimentById(id: number): Promise<Experiment | null> {
    const rows = await this.query<RawExperimentRow>('SELECT * FROM tsnas_experiments WHERE id = $1', [id]);
    return rows[0] ? toExperiment(rows[0]) : null;
  }

  async listExperiments(): Promise<Experiment[]> {
    return (await this.query<RawExperimentRow>('SELECT * FROM tsnas_experiments ORDER BY created_at, id')).map(toExperiment);
  }

  async setExperimentStatus(experimentId: number, status: ExperimentStatus): Promise<void> {
    checkExperimentStatus(status);
    const result = await this.execute('UPDATE tsnas_experiments SET status = $1 WHERE id = $2', [status, experimentId]);
    if (result.rowCount === 0) throw notFound('experiment', experimentId);
  }

  async deleteExperiment(name: string): Promise<boolean> {
    const result = await this.execute('DELETE FROM tsnas_experiments WHERE name = $1', [name]);
    return (result.rowCount ?? 0) > 0;
  }

  // ---- trials: creation and claiming ----

  async createTrial(experimentId: number, sample: Json, sampleHash: string): Promise<CreateTrialResult> {
    checkSampleHash(sampleHash);
    const sampleText = toJsonText(sample, `sample with hash ${sampleHash}`);
    const { id, created } = await this.transaction(async (client): Promise<{ id: number; created: boolean }> => {
      // Taking the number locks the experiment row: creators of this
      // experiment queue here, so the hash check below sees every trial
      // committed before us, and a rollback gives the number back.
      const taken = await client.query<{ number: number }>(
        'UPDATE tsnas_experiments SET next_trial_number = next_trial_number + 1 WHERE id = $1 RETURNING next_trial_number - 1 AS number',
        [experimentId],
      );
      if (taken.rows.length === 0) throw notFound('experiment', experimentId);
      const existing = await client.query<{ id: number }>('SELECT id FROM tsnas_trials WHERE experiment_id = $1 AND sample_hash = $2', [
        experimentId,
        sampleHash,
      ]);
      // Thrown so that the transaction rolls back and gives the number back.
      if (existing.rows.length > 0) throw new ExistingTrial(existing.rows[0]!.id);
      const inserted = await client.query<{ id: number }>(
        `INSERT INTO tsnas_trials (experiment_id, number, state, sample, sample_hash, created_at)
         VALUES ($1, $2, 'pending', $3, $4, ${NOW_MS}) RETURNING id`,
        [experimentId, taken.rows[0]!.number, sampleText, sampleHash],
      );
      return { id: inserted.rows[0]!.id, created: true };
    }).catch((error: unknown) => {
      if (error instanceof ExistingTrial) return { id: error.trialId, created: false };
      throw error;
    });
    return { trial: (await this.getTrial(id))!, created };
  }

  async claimTrial(experimentId: number, workerId: string, options: ClaimOptions = {}): Promise<Trial | null> {
    const rows = await this.query<{ id: number }>(
      `UPDATE tsnas_trials SET state = 'running', worker_id = $2, heartbeat_at = ${NOW_MS}, started_at = ${NOW_MS}
       WHERE id = (
         SELECT id FROM tsnas_trials WHERE experiment_id = $1 AND state = 'pending' AND ($3::integer IS NULL OR id = $3)
         ORDER BY number LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING id`,
      [experimentId, workerId, options.trialId ?? null],
    );
    return rows[0] ? this.getTrial(rows[0].id) : null;
  }

  async heartbeat(trialId: number, workerId: string): Promise<boolean> {
    const result = await this.execute(
      `UPDATE tsnas_trials SET heartbeat_at = ${NOW_MS} WHERE id = $1 AND state = 'running' AND worker_id = $2`,
      [trialId, workerId],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async finishTrial(trialId: number, outcome: TrialOutcome, options: FinishOptions = {}): Promise<Trial> {
    checkOutcome(outcome, trialId);
    const { metrics, error } = outcomeColumns(outcome);
    const strategy = options.strategyState;
    if (strategy) checkNonNegativeInteger(strategy.toldCount, 'toldCount');
    const strategyText = strategy ? toJsonText(strategy.state, `strategy state saved with trial ${trialId}`) : null;
    await this.transaction(async (client) => {
      const found = await client.query<{ state: TrialState; worker_id: string | null; experiment_id: number }>(
        'SELECT state, worker_id, experiment_id FROM tsnas_trials WHERE id = $1 FOR UPDATE',
        [trialId],
      );
      const row = found.rows[0];
      checkMutable(trialId, row?.state, `finish (${outcome.state})`);
      if (options.workerId !== undefined && (row!.state !== 'running' || row!.worker_id !== options.workerId)) {
        throw stateError(
          `cannot finish trial ${trialId} as worker "${options.workerId}": it is ${row!.state}${row!.worker_id ? ` held by "${row!.worker_id}"` : ''}`,
        );
      }
      await client.query(`UPDATE tsnas_trials SET state = $1, metrics = $2, error = $3, finished_at = ${NOW_MS} WHERE id = $4`, [
        outcome.state,
        metrics === null ? null : JSON.stringify(metrics),
        error,
        trialId,
      ]);
      if (strategy) await this.upsertStrategyState(client, row!.experiment_id, strategyText!, strategy.toldCount);
    });
    return (await this.getTrial(trialId))!;
  }

  // ---- trials: progress ----

  /** Runs write under a shared lock on the trial after checking it is not finished (finishTrial waits for it). */
  private async changeUnfinished(trialId: number, action: string, write: (client: pg.PoolClient) => Promise<unknown>): Promise<void> {
    await this.transaction(async (client) => {
      const found = await client.query<{ state: TrialState }>('SELECT state FROM tsnas_trials WHERE id = $1 FOR SHARE', [trialId]);
      checkMutable(trialId, found.rows[0]?.state, action);
      await write(client);
    });
  }

  async reportIntermediate(trialId: number, metric: string, step: number, value: number): Promise<void> {
    checkIntermediate(trialId, metric, step, value);
    await this.changeUnfinished(trialId, `report "${metric}" for`, (client) =>
      client.query(
        `INSERT INTO tsnas_trial_values (trial_id, metric, step, value) VALUES ($1, $2, $3, $4)
         ON CONFLICT (trial_id, metric, step) DO UPDATE SET value = excluded.value`,
        [trialId, metric, step, value],
      ),
    );
  }

  async setArtifact(trialId: number, name: string, path: string): Promise<void> {
    checkArtifact(trialId, name, path);
    await this.changeUnfinished(trialId, `set artifact "${name}" of`, (client) =>
      client.query(
        `INSERT INTO tsnas_trial_artifacts (trial_id, name, path) VALUES ($1, $2, $3)
         ON CONFLICT (trial_id, name) DO UPDATE SET path = excluded.path`,
        [trialId, name, path],
      ),
    );
  }

  // ---- trials: reading ----

  private async readTrials(where: string, params: unknown[]): Promise<Trial[]> {
    return toTrials(await this.query<RawTrialRow>(`SELECT ${TRIAL_COLUMNS} FROM tsnas_trials t ${where}`, params));
  }

  async getTrial(trialId: number): Promise<Trial | null> {
    return (await this.readTrials('WHERE t.id = $1', [trialId]))[0] ?? null;
  }

  async getTrialByHash(experimentId: number, sampleHash: string): Promise<Trial | null> {
    return (await this.readTrials('WHERE t.experiment_id = $1 AND t.sample_hash = $2', [experimentId, sampleHash]))[0] ?? null;
  }

  async listTrials(experimentId: number, options: ListTrialsOptions = {}): Promise<Trial[]> {
    checkStates(options.states);
    if (options.limit !== undefined) checkNonNegativeInteger(options.limit, 'limit');
    const offset = options.offset ?? 0;
    checkNonNegativeInteger(offset, 'offset');
    const states = options.states && options.states.length > 0 ? [...options.states] : null;
    return this.readTrials(
      `WHERE t.experiment_id = $1 AND ($2::text[] IS NULL OR t.state = ANY($2::text[]))
       ORDER BY t.number LIMIT $3 OFFSET $4`,
      [experimentId, states, options.limit ?? null, offset],
    );
  }

  async bestTrials(experimentId: number, metric: string, direction: Direction, limit = 1): Promise<Trial[]> {
    checkMetricName(metric);
    checkNonNegativeInteger(limit, 'limit');
    if (direction !== 'max' && direction !== 'min') {
      throw new TsnasError('usage', `direction must be "max" or "min", got ${JSON.stringify(direction)}`);
    }
    return this.readTrials(
      `WHERE t.experiment_id = $1 AND t.state = 'complete' AND t.metrics->>$2 IS NOT NULL
       ORDER BY (t.metrics->>$2)::double precision ${direction === 'max' ? 'DESC' : 'ASC'}, t.number
       LIMIT $3`,
      [experimentId, metric, limit],
    );
  }

  async countTrials(experimentId: number): Promise<Record<TrialState, number>> {
    const counts = emptyCounts();
    const rows = await this.query<{ state: TrialState; n: number }>(
      'SELECT state, COUNT(*) AS n FROM tsnas_trials WHERE experiment_id = $1 GROUP BY state',
      [experimentId],
    );
    for (const r of rows) counts[r.state] = r.n;
    return counts;
  }

  // ---- recovery ----

  async requeueStale(experimentId: number, olderThanMs: number): Promise<number[]> {
    if (typeof olderThanMs !== 'number' || !(olderThanMs >= 0)) {
      throw new TsnasError('usage', `olderThanMs must be a number >= 0, got ${olderThanMs}`);
    }
    const rows = await this.query<{ id: number }>(
      `UPDATE tsnas_trials SET state = 'pending', worker_id = NULL, heartbeat_at = NULL, started_at = NULL
       WHERE experiment_id = $1 AND state = 'running' AND heartbeat_at < ${NOW_MS} - $2 RETURNING id`,
      [experimentId, Math.floor(olderThanMs)],
    );
    return rows.map((r) => r.id).sort((a, b) => a - b);
  }

  async requeueRunning(experimentId: number): Promise<number[]> {
    const rows = await this.query<{ id: number }>(
      `UPDATE tsnas_trials SET state = 'pending', worker_id = NULL, heartbeat_at = NULL, started_at = NULL
       WHERE experiment_id = $1 AND state = 'running' RETURNING id`,
      [experimentId],
    );
    return rows.map((r) => r.id).sort((a, b) => a - b);
  }

  async releaseTrial(trialId: number, workerId: string): Promise<boolean> {
    const result = await this.execute(
      `UPDATE tsnas_trials SET state = 'pending', worker_id = NULL, heartbeat_at = NULL, started_at = NULL
       WHERE id = $1 AND state = 'running' AND worker_id = $2`,
      [trialId, workerId],
    );
    return (result.rowCount ?? 0) > 0;
  }

  // ---- leases ----

  async acquireLease(experimentId: number, holder: LeaseHolder, options: AcquireLeaseOptions): Promise<LeaseResult> {
    checkLeaseRequest(holder, options);
    return this.transaction(async (client): Promise<LeaseResult> => {
      // Locking the experiment row serializes acquirers, also when there is no lease row yet to lock.
      const found = await client.query<{ now: number }>(`SELECT ${NOW_MS} AS now FROM tsnas_experiments WHERE id = $1 FOR UPDATE`, [experimentId]);
      if (found.rows.length === 0) throw notFound('experiment', experimentId);
      const now = found.rows[0]!.now;
      const current = (await client.query<Lease>(`SELECT ${LEASE_COLUMNS} FROM tsnas_leases WHERE experiment_id = $1`, [experimentId])).rows[0] ?? null;
      const own = current?.owner === holder.owner;
      if (current && !own && current.owner !== options.replacing && now - current.heartbeatAt < options.expireMs) {
        return { acquired: false, lease: current, expiresInMs: current.heartbeatAt + options.expireMs - now };
      }
      const lease = await client.query<Lease>(
        `INSERT INTO tsnas_leases (experiment_id, owner, host, pid, acquired_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5, $5)
         ON CONFLICT (experiment_id) DO UPDATE SET owner = excluded.owner, host = excluded.host, pid = excluded.pid,
           acquired_at = CASE WHEN tsnas_leases.owner = excluded.owner THEN tsnas_leases.acquired_at ELSE excluded.acquired_at END,
           heartbeat_at = excluded.heartbeat_at
         RETURNING ${LEASE_COLUMNS}`,
        [experimentId, holder.owner, holder.host, holder.pid, now],
      );
      return { acquired: true, lease: lease.rows[0]!, previous: own ? null : current };
    });
  }

  async renewLease(experimentId: number, owner: string): Promise<boolean> {
    const result = await this.execute(`UPDATE tsnas_leases SET heartbeat_at = ${NOW_MS} WHERE experiment_id = $1 AND owner = $2`, [experimentId, owner]);
    return (result.rowCount ?? 0) > 0;
  }

  async releaseLease(experimentId: number, owner: string): Promise<boolean> {
    const result = await this.execute('DELETE FROM tsnas_leases WHERE experiment_id = $1 AND owner = $2', [experimentId, owner]);
    return (result.rowCount ?? 0) > 0;
  }

  async getLease(experimentId: number): Promise<Lease | null> {
    return (await this.query<Lease>(`SELECT ${LEASE_COLUMNS} FROM tsnas_leases WHERE experiment_id = $1`, [experimentId]))[0] ?? null;
  }

  // ---- strategy state ----

  private async upsertStrategyState(client: pg.PoolClient, experimentId: number, stateText: string, toldCount: number): Promise<void> {
    await client.query(
      `INSERT INTO tsnas_strategy_states (experiment_id, state, told_count, saved_at) VALUES ($1, $2, $3, ${NOW_MS})
       ON CONFLICT (experiment_id) DO UPDATE SET state = excluded.state, told_count = excluded.told_count, saved_at = excluded.saved_at`,
      [experimentId, stateText, toldCount],
    );
  }

  async saveStrategyState(experimentId: number, state: Json, toldCount: number): Promise<void> {
    checkNonNegativeInteger(toldCount, 'toldCount');
    const text = toJsonText(state, `strategy state of experiment ${experimentId}`);
    await this.transaction(async (client) => {
      const found = await client.query('SELECT 1 FROM tsnas_experiments WHERE id = $1', [experimentId]);
      if (found.rows.length === 0) throw notFound('experiment', experimentId);
      await this.upsertStrategyState(client, experimentId, text, toldCount);
    });
  }

  async loadStrategyState(experimentId: number): Promise<StrategyState | null> {
    const rows = await this.query<{ state: string; told_count: number; saved_at: number }>(
      'SELECT state, told_count, saved_at FROM tsnas_strategy_states WHERE experiment_id = $1',
      [experimentId],
    );
    const row = rows[0];
    return row ? { state: JSON.parse(row.state) as Json, toldCount: row.told_count, savedAt: row.saved_at } : null;
  }

  // ---- weight-sharing runs: epochs and checkpoints ----

  async recordEpoch(experimentId: number, stage: string, epoch: number, record: Json, checkpoint?: CheckpointInput): Promise<void> {
    const write = checkEpochWrite(experimentId, stage, epoch, record, checkpoint);
    await this.transaction(async (client) => {
      // The key-share lock makes a concurrent deleteExperiment wait for this
      // transaction instead of breaking its inserts.
      const found = await client.query('SELECT 1 FROM tsnas_experiments WHERE id = $1 FOR KEY SHARE', [experimentId]);
      if (found.rows.length === 0) throw notFound('experiment', experimentId);
      await client.query(
        `INSERT INTO tsnas_epochs (experiment_id, stage, epoch, record, recorded_at) VALUES ($1, $2, $3, $4, ${NOW_MS})
         ON CONFLICT (experiment_id, stage, epoch) DO UPDATE SET record = excluded.record, recorded_at = excluded.recorded_at`,
        [experimentId, stage, epoch, write.recordText],
      );
      const c = write.checkpoint;
      if (c) {
        await client.query(
          `INSERT INTO tsnas_checkpoints (experiment_id, stage, epoch, state, data, saved_at) VALUES ($1, $2, $3, $4, $5, ${NOW_MS})
           ON CONFLICT (experiment_id) DO UPDATE SET
             stage = excluded.stage, epoch = excluded.epoch, state = excluded.state, data = excluded.data, saved_at = excluded.saved_at`,
          [experimentId, c.stage, c.epoch, c.stateText, c.data],
        );
      }
    });
  }

  async listEpochs(experimentId: number, options: ListEpochsOptions = {}): Promise<EpochRecord[]> {
    checkListEpochsOptions(options);
    const rows = await this.query<{ stage: string; epoch: number; record: Json; recorded_at: number }>(
      `SELECT stage, epoch, record, recorded_at FROM tsnas_epochs
       WHERE experiment_id = $1 AND ($2::text IS NULL OR stage = $2) AND ($3::bigint IS NULL OR epoch > $3)
       ORDER BY id`,
      [experimentId, options.stage ?? null, options.afterEpoch ?? null],
    );
    return rows.map((r) => ({ stage: r.stage, epoch: r.epoch, record: r.record, recordedAt: r.recorded_at }));
  }

  async loadCheckpoint(experimentId: number): Promise<Checkpoint | null> {
    const rows = await this.query<{ stage: string; epoch: number; state: Json; data: Buffer; saved_at: number }>(
      'SELECT stage, epoch, state, data, saved_at FROM tsnas_checkpoints WHERE experiment_id = $1',
      [experimentId],
    );
    const row = rows[0];
    return row ? { stage: row.stage, epoch: row.epoch, state: row.state, data: row.data, savedAt: row.saved_at } : null;
  }

  private closed = false;
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
