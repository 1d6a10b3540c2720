// The SQLite backend (the default): one file, WAL mode so that readers (a
// report, `tsnas show`) never block the search, and immediate transactions
// so that several processes can claim trials from one file safely.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
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

const FINISHED_SQL = "('complete', 'failed', 'pruned')";

/** Schema versions in order; PRAGMA user_version counts how many were applied. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE tsnas_experiments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    config TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE tsnas_trials (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    experiment_id INTEGER NOT NULL REFERENCES tsnas_experiments(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'complete', 'failed', 'pruned')),
    sample TEXT NOT NULL,
    sample_hash TEXT NOT NULL,
    metrics TEXT,
    worker_id TEXT,
    heartbeat_at INTEGER,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    error TEXT,
    UNIQUE (experiment_id, number),
    UNIQUE (experiment_id, sample_hash)
  );
  CREATE INDEX tsnas_trials_by_state ON tsnas_trials (experiment_id, state, number);
  CREATE TABLE tsnas_trial_values (
    trial_id INTEGER NOT NULL REFERENCES tsnas_trials(id) ON DELETE CASCADE,
    metric TEXT NOT NULL,
    step INTEGER NOT NULL,
    value REAL NOT NULL,
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
    saved_at INTEGER NOT NULL
  );
  -- Finished trials never change, whoever writes to the file.
  CREATE TRIGGER tsnas_finished_trial_update BEFORE UPDATE ON tsnas_trials
    WHEN OLD.state IN ${FINISHED_SQL}
    BEGIN SELECT RAISE(ABORT, 'finished trials never change'); END;
  CREATE TRIGGER tsnas_finished_trial_value BEFORE INSERT ON tsnas_trial_values
    WHEN (SELECT state FROM tsnas_trials WHERE id = NEW.trial_id) IN ${FINISHED_SQL}
    BEGIN SELECT RAISE(ABORT, 'finished trials never change'); END;
  CREATE TRIGGER tsnas_finished_trial_artifact BEFORE INSERT ON tsnas_trial_artifacts
    WHEN (SELECT state FROM tsnas_trials WHERE id = NEW.trial_id) IN ${FINISHED_SQL}
    BEGIN SELECT RAISE(ABORT, 'finished trials never change'); END;
  `,
  `
  -- id orders the records: an upsert keeps it, so a replaced record keeps its place.
  CREATE TABLE tsnas_epochs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    experiment_id INTEGER NOT NULL REFERENCES tsnas_experiments(id) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    record TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    UNIQUE (experiment_id, stage, epoch)
  );
  CREATE TABLE tsnas_checkpoints (
    experiment_id INTEGER PRIMARY KEY REFERENCES tsnas_experiments(id) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    state TEXT NOT NULL,
    data BLOB NOT NULL,
    saved_at INTEGER NOT NULL
  );
  `,
  `
  CREATE TABLE tsnas_leases (
    experiment_id INTEGER PRIMARY KEY REFERENCES tsnas_experiments(id) ON DELETE CASCADE,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    acquired_at INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
  );
  `,
];

/** The schema version this code writes; a file with a newer one is refused. */
export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

interface RawTrialRow {
  id: number;
  experiment_id: number;
  number: number;
  state: TrialState;
  sample: string;
  sample_hash: string;
  metrics: string | null;
  worker_id: string | null;
  heartbeat_at: number | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  error: string | null;
}

interface RawExperimentRow {
  id: number;
  name: string;
  config: string;
  status: ExperimentStatus;
  created_at: number;
}

function toTrialRow(r: RawTrialRow): TrialRow {
  return {
    id: r.id,
    experimentId: r.experiment_id,
    number: r.number,
    state: r.state,
    sample: JSON.parse(r.sample) as Json,
    sampleHash: r.sample_hash,
    metrics: r.metrics === null ? null : (JSON.parse(r.metrics) as Record<string, number>),
    workerId: r.worker_id,
    heartbeatAt: r.heartbeat_at,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    error: r.error,
  };
}

function toExperiment(r: RawExperimentRow): Experiment {
  return { id: r.id, name: r.name, config: JSON.parse(r.config) as Json, status: r.status, createdAt: r.created_at };
}

/**
 * mkdir -p, one level at a time: Node's recursive mkdirSync spins for ever
 * on file systems that answer ENOENT to mkdir (/proc); here any failure is
 * a usage error naming the directory.
 */
function makeDirectories(dir: string): void {
  const missing: string[] = [];
  let at = dir;
  while (!existsSync(at)) {
    missing.push(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (error) {
      throw new TsnasError('usage', `cannot create the store's directory ${d}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { where: '--storage', cause: error });
    }
  }
}

/**
 * A read-only connection to a store file. A file in WAL mode (as writers
 * leave it) cannot be opened in place when its directory is not writable
 * (a read-only mount, another user's directory): SQLite must create its
 * shared-memory file beside it. Such a store is read from a copy in memory
 * instead, with the header's WAL mark cleared (a writer that closed cleanly
 * left nothing in a WAL file; nobody can be writing to that directory).
 */
function openForReading(path: string): Database.Database {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    db.pragma('user_version', { simple: true }); // the first read is what opens the file
    return db;
  } catch (error) {
    // Anything else (not a database at all...) is for checkReadable to name.
    if ((error as { code?: unknown }).code !== 'SQLITE_CANTOPEN') return db;
    db.close();
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new TsnasError('usage', `cannot read the store ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { where: '--storage', cause: error });
  }
  // Bytes 18 and 19: the file format's write and read versions, 2 for WAL, 1 for a rollback journal.
  if (bytes.length >= 100 && bytes[18] === 2 && bytes[19] === 2) bytes[18] = bytes[19] = 1;
  return new Database(bytes, { readonly: true });
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  /** The database file (':memory:' for an in-memory store). */
  readonly path: string;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  /**
   * Opens (creating if needed, with its directory) and migrates the file at
   * path. With readOnly, the file must be an existing tsnas store of this
   * version, and nothing is written to it (nor to its directory).
   */
  constructor(path: string, options: { readOnly?: boolean } = {}) {
    this.path = path === ':memory:' ? path : resolve(path);
    const readOnly = options.readOnly === true && this.path !== ':memory:';
    if (readOnly && !existsSync(this.path)) throw new TsnasError('usage', `no tsnas store at ${this.path}`, { where: '--storage' });
    if (readOnly && statSync(this.path).isDirectory()) throw new TsnasError('usage', `${this.path} is a directory, not a store file`, { where: '--storage' });
    if (!readOnly && this.path !== ':memory:') makeDirectories(dirname(this.path));
    try {
      this.db = readOnly ? openForReading(this.path) : new Database(this.path);
    } catch (error) {
      const failure = this.failure(error);
      throw failure instanceof TsnasError ? failure : new TsnasError('state', `cannot open SQLite store ${this.path}: ${(error as Error).message}`, { cause: error });
    }
    try {
      // Other processes (parallel workers, `tsnas show`) may hold the write
      // lock briefly; wait for it instead of failing.
      this.db.pragma('busy_timeout = 30000');
      if (readOnly) {
        this.checkReadable();
        return;
      }
      if (this.path !== ':memory:') this.db.pragma('journal_mode = WAL');
      // NORMAL is safe against process kills in WAL mode (only a power loss
      // can lose the last transactions), and much faster than FULL.
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
      this.migrate();
    } catch (error) {
      this.db.close();
      throw this.failure(error);
    }
  }

  /**
   * What the file system refused, as an error naming the store file: a full
   * disk, a read-only file or directory, an I/O error. SQLite rolls the
   * transaction back in each case, so the store stays as it was before it.
   */
  private failure(error: unknown): unknown {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code !== 'string') return error;
    const why = `${code}: ${(error as Error).message}`;
    const options = { where: '--storage', cause: error };
    if (code === 'SQLITE_FULL') {
      return new TsnasError('data', `the disk holding the store ${this.path} is full (${why}); the store keeps what was written before, so free space and run the same command to resume`, options);
    }
    if (code.startsWith('SQLITE_READONLY') || code === 'SQLITE_PERM' || code.startsWith('SQLITE_CANTOPEN')) {
      return new TsnasError('usage', `cannot write to the store ${this.path} (${why}): the file or its directory is read-only for this user; commands that only read (ls, show, report) still work`, options);
    }
    if (code.startsWith('SQLITE_BUSY')) {
      return new TsnasError('state', `the store ${this.path} stayed locked by another process for the whole busy timeout (${why}); try again once it is done`, options);
    }
    if (code.startsWith('SQLITE_IOERR')) {
      return new TsnasError('data', `the file system refused a write to the store ${this.path} (${why}); the store keeps what was written before it`, options);
    }
    return error;
  }

  /** Runs fn in an immediate (write-locked) transaction, turning file system refusals into errors naming the file. */
  private write<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (error) {
      throw this.failure(error);
    }
  }

  /** A store opened read-only must be a tsnas store of exactly this schema version (reading cannot migrate it). */
  private checkReadable(): void {
    let version: number;
    let tables: number;
    try {
      version = this.db.pragma('user_version', { simple: true }) as number;
      tables = (this.db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'tsnas_experiments'`).get() as { n: number }).n;
    } catch (error) {
      throw new TsnasError('data', `${this.path} is not an SQLite database (${(error as Error).message})`, { where: '--storage', cause: error });
    }
    if (version === 0 || tables === 0) throw new TsnasError('data', `${this.path} is an SQLite database but not a tsnas store (no tsnas tables)`, { where: '--storage' });
    if (version < OLDEST_READABLE_SCHEMA_VERSION || version > MIGRATIONS.length) {
      throw new TsnasError('data', `${this.path} has store schema version ${version}, this tsnas reads versions ${OLDEST_READABLE_SCHEMA_VERSION} to ${MIGRATIONS.length}; ${version < MIGRATIONS.length ? 'a command that writes (tsnas search) upgrades it' : 'upgrade tsnas'}`, { where: '--storage' });
    }
  }

  private migrate(): void {
    const apply = this.db.transaction(() => {
      const version = this.db.pragma('user_version', { simple: true }) as number;
      if (version > MIGRATIONS.length) {
        throw new TsnasError(
          'state',
          `SQLite store ${this.path} has schema version ${version}, newer than this tsnas supports (${MIGRATIONS.length}); upgrade tsnas`,
        );
      }
      for (let v = version; v < MIGRATIONS.length; v++) {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      }
    });
    apply.immediate();
  }

  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  // ---- experiments ----

  async createExperiment(name: string, config: Json): Promise<Experiment> {
    checkExperimentName(name);
    const configText = toJsonText(config, `config of experiment "${name}"`);
    try {
      const row = this.write(() => this.sql(
        `INSERT INTO tsnas_experiments (name, config, status, created_at) VALUES (?, ?, 'created', ?) RETURNING *`,
      ).get(name, configText, Date.now()) as RawExperimentRow);
      return toExperiment(row);
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw stateError(`experiment "${name}" already exists in ${this.path}`);
      }
      throw error;
    }
  }

  async getExperiment(name: string): Promise<Experiment | null> {
    const row = this.sql('SELECT * FROM tsnas_experiments WHERE name = ?').get(name) as RawExperimentRow | undefined;
    return row ? toExperiment(row) : null;
  }

  async getExperimentById(id: number): Promise<Experiment | null> {
    const row = this.sql('SELECT * FROM tsnas_experiments WHERE id = ?').get(id) as RawExperimentRow | undefined;
    return row ? toExperiment(row) : null;
  }

  async listExperiments(): Promise<Experiment[]> {
    const rows = this.sql('SELECT * FROM tsnas_experiments ORDER BY created_at, id').all() as RawExperimentRow[];
    return rows.map(toExperiment);
  }

  async setExperimentStatus(experimentId: number, status: ExperimentStatus): Promise<void> {
    checkExperimentStatus(status);
    const result = this.write(() => this.sql('UPDATE tsnas_experiments SET status = ? WHERE id = ?').run(status, experimentId));
    if (result.changes === 0) throw notFound('experiment', experimentId);
  }

  async deleteExperiment(name: string): Promise<boolean> {
    return this.write(() => this.sql('DELETE FROM tsnas_experiments WHERE name = ?').run(name).changes > 0);
  }

  // ---- trials: creation and claiming ----

  async createTrial(experimentId: number, sample: Json, sampleHash: string): Promise<CreateTrialResult> {
    checkSampleHash(sampleHash);
    const sampleText = toJsonText(sample, `sample with hash ${sampleHash}`);
    const { id, created } = this.write((): { id: number; created: boolean } => {
      const existing = this.sql('SELECT id FROM tsnas_trials WHERE experiment_id = ? AND sample_hash = ?').get(experimentId, sampleHash) as
        | { id: number }
        | undefined;
      if (existing) return { id: existing.id, created: false };
      if (!this.sql('SELECT 1 FROM tsnas_experiments WHERE id = ?').get(experimentId)) throw notFound('experiment', experimentId);
      const { next } = this.sql('SELECT COALESCE(MAX(number) + 1, 0) AS next FROM tsnas_trials WHERE experiment_id = ?').get(experimentId) as {
        next: number;
      };
      const inserted = this.sql(
        `INSERT INTO tsnas_trials (experiment_id, number, state, sample, sample_hash, created_at)
         VALUES (?, ?, 'pending', ?, ?, ?) RETURNING id`,
      ).get(experimentId, next, sampleText, sampleHash, Date.now()) as { id: number };
      return { id: inserted.id, created: true };
    });
    return { trial: this.loadTrial(id)!, created };
  }

  async claimTrial(experimentId: number, workerId: string, options: ClaimOptions = {}): Promise<Trial | null> {
    const now = Date.now();
    const only = options.trialId ?? null;
    // One statement is one atomic write in SQLite: no other connection can
    // claim between the SELECT and the UPDATE.
    const row = this.write(() => this.sql(
      `UPDATE tsnas_trials SET state = 'running', worker_id = ?, heartbeat_at = ?, started_at = ?
       WHERE id = (SELECT id FROM tsnas_trials WHERE experiment_id = ? AND state = 'pending' AND (? IS NULL OR id = ?) ORDER BY number LIMIT 1)
       RETURNING id`,
    ).get(workerId, now, now, experimentId, only, only) as { id: number } | undefined);
    return row ? this.loadTrial(row.id) : null;
  }

  async heartbeat(trialId: number, workerId: string): Promise<boolean> {
    const result = this.write(() => this.sql(
      `UPDATE tsnas_trials SET heartbeat_at = ? WHERE id = ? AND state = 'running' AND worker_id = ?`,
    ).run(Date.now(), trialId, workerId));
    return result.changes > 0;
  }

  async finishTrial(trialId: number, outcome: TrialOutcome, options: FinishOptions = {}): Promise<Trial> {
    checkOutcome(outcome, trialId);
    const { metrics, error } = outcomeColumns(outcome);
    const metricsText = metrics === null ? null : JSON.stringify(metrics);
    const strategy = options.strategyState;
    if (strategy) checkNonNegativeInteger(strategy.toldCount, 'toldCount');
    const strategyText = strategy ? toJsonText(strategy.state, `strategy state saved with trial ${trialId}`) : null;
    this.write(() => {
      const row = this.sql('SELECT state, worker_id, experiment_id FROM tsnas_trials WHERE id = ?').get(trialId) as
        | { state: TrialState; worker_id: string | null; experiment_id: number }
        | undefined;
      checkMutable(trialId, row?.state, `finish (${outcome.state})`);
      if (options.workerId !== undefined && (row!.state !== 'running' || row!.worker_id !== options.workerId)) {
        throw stateError(
          `cannot finish trial ${trialId} as worker "${options.workerId}": it is ${row!.state}${row!.worker_id ? ` held by "${row!.worker_id}"` : ''}`,
        );
      }
      const now = Date.now();
      this.sql('UPDATE tsnas_trials SET state = ?, metrics = ?, error = ?, finished_at = ? WHERE id = ?').run(
        outcome.state,
        metricsText,
        error,
        now,
        trialId,
      );
      if (strategy) this.upsertStrategyState(row!.experiment_id, strategyText!, strategy.toldCount, now);
    });
    return this.loadTrial(trialId)!;
  }

  // ---- trials: progress ----

  async reportIntermediate(trialId: number, metric: string, step: number, value: number): Promise<void> {
    checkIntermediate(trialId, metric, step, value);
    this.write(() => {
      checkMutable(trialId, this.trialState(trialId), `report "${metric}" for`);
      this.sql(
        `INSERT INTO tsnas_trial_values (trial_id, metric, step, value) VALUES (?, ?, ?, ?)
         ON CONFLICT (trial_id, metric, step) DO UPDATE SET value = excluded.value`,
      ).run(trialId, metric, step, value);
    });
  }

  async setArtifact(trialId: number, name: string, path: string): Promise<void> {
    checkArtifact(trialId, name, path);
    this.write(() => {
      checkMutable(trialId, this.trialState(trialId), `set artifact "${name}" of`);
      this.sql(
        `INSERT INTO tsnas_trial_artifacts (trial_id, name, path) VALUES (?, ?, ?)
         ON CONFLICT (trial_id, name) DO UPDATE SET path = excluded.path`,
      ).run(trialId, name, path);
    });
  }

  private trialState(trialId: number): TrialState | undefined {
    const row = this.sql('SELECT state FROM tsnas_trials WHERE id = ?').get(trialId) as { state: TrialState } | undefined;
    return row?.state;
  }

  // ---- trials: reading ----

  /** Trial rows with their curves and artifacts, read in one snapshot. */
  private assemble(rows: RawTrialRow[]): Trial[] {
    if (rows.length === 0) return [];
    const ids = JSON.stringify(rows.map((r) => r.id));
    const values = this.sql(
      `SELECT trial_id AS trialId, metric, step, value FROM tsnas_trial_values WHERE trial_id IN (SELECT value FROM json_each(?))`,
    ).all(ids) as IntermediateRow[];
    const artifacts = this.sql(
      `SELECT trial_id AS trialId, name, path FROM tsnas_trial_artifacts WHERE trial_id IN (SELECT value FROM json_each(?))`,
    ).all(ids) as ArtifactRow[];
    return assembleTrials(rows.map(toTrialRow), values, artifacts);
  }

  private readTrials(query: string, ...params: unknown[]): Trial[] {
    return this.db.transaction(() => this.assemble(this.sql(query).all(...params) as RawTrialRow[]))();
  }

  private loadTrial(trialId: number): Trial | null {
    return this.readTrials('SELECT * FROM tsnas_trials WHERE id = ?', trialId)[0] ?? null;
  }

  async getTrial(trialId: number): Promise<Trial | null> {
    return this.loadTrial(trialId);
  }

  async getTrialByHash(experimentId: number, sampleHash: string): Promise<Trial | null> {
    return this.readTrials('SELECT * FROM tsnas_trials WHERE experiment_id = ? AND sample_hash = ?', experimentId, sampleHash)[0] ?? null;
  }

  async listTrials(experimentId: number, options: ListTrialsOptions = {}): Promise<Trial[]> {
    checkStates(options.states);
    const limit = options.limit ?? -1;
    const offset = options.offset ?? 0;
    if (options.limit !== undefined) checkNonNegativeInteger(options.limit, 'limit');
    checkNonNegativeInteger(offset, 'offset');
    if (options.states && options.states.length > 0) {
      return this.readTrials(
        `SELECT * FROM tsnas_trials WHERE experiment_id = ? AND state IN (SELECT value FROM json_each(?))
         ORDER BY number LIMIT ? OFFSET ?`,
        experimentId,
        JSON.stringify(options.states),
        limit,
        offset,
      );
    }
    return this.readTrials('SELECT * FROM tsnas_trials WHERE experiment_id = ? ORDER BY number LIMIT ? OFFSET ?', experimentId, limit, offset);
  }

  async bestTrials(experimentId: number, metric: string, direction: Direction, limit = 1): Promise<Trial[]> {
    checkMetricName(metric);
    checkNonNegativeInteger(limit, 'limit');
    if (direction !== 'max' && direction !== 'min') {
      throw new TsnasError('usage', `direction must be "max" or "min", got ${JSON.stringify(direction)}`);
    }
    // The metric name pattern excludes quotes, so the quoted JSON path is safe.
    const path = `$."${metric}"`;
    return this.readTrials(
      `SELECT * FROM tsnas_trials
       WHERE experiment_id = ? AND state = 'complete' AND json_extract(metrics, ?) IS NOT NULL
       ORDER BY json_extract(metrics, ?) ${direction === 'max' ? 'DESC' : 'ASC'}, number
       LIMIT ?`,
      experimentId,
      path,
      path,
      limit,
    );
  }

  async countTrials(experimentId: number): Promise<Record<TrialState, number>> {
    const counts = emptyCounts();
    const rows = this.sql('SELECT state, COUNT(*) AS n FROM tsnas_trials WHERE experiment_id = ? GROUP BY state').all(experimentId) as {
      state: TrialState;
      n: number;
    }[];
    for (const r of rows) counts[r.state] = r.n;
    return counts;
  }

  // ---- recovery ----

  async requeueStale(experimentId: number, olderThanMs: number): Promise<number[]> {
    if (typeof olderThanMs !== 'number' || !(olderThanMs >= 0)) {
      throw new TsnasError('usage', `olderThanMs must be a number >= 0, got ${olderThanMs}`);
    }
    const rows = this.write(() => this.sql(
      `UPDATE tsnas_trials SET state = 'pending', worker_id = NULL, heartbeat_at = NULL, started_at = NULL
       WHERE experiment_id = ? AND state = 'running' AND heartbeat_at < ? RETURNING id`,
    ).all(experimentId, Date.now() - olderThanMs) as { id: number }[]);
    return rows.map((r) => r.id).sort((a, b) => a - b);
  }

  async requeueRunning(experimentId: number): Promise<number[]> {
    const rows = this.write(() => this.sql(
      `UPDATE tsnas_trials SET state = 'pending', worker_id = NULL, heartbeat_at = NULL, started_at = NULL
       WHERE experiment_id = ? AND state = 'running' RETURNING id`,
    ).all(experimentId) as { id: number }[]);
    return rows.map((r) => r.id).sort((a, b) => a - b);
  }

  async releaseTrial(trialId: number, workerId: string): Promise<boolean> {
    const result = this.write(() => this.sql(
      `UPDATE tsnas_trials SET state = 'pending', worker_id = NULL, heartbeat_at = NULL, started_at = NULL
       WHERE id = ? AND state = 'running' AND worker_id = ?`,
    ).run(trialId, workerId));
    return result.changes > 0;
  }

  // ---- leases ----

  async acquireLease(experimentId: number, holder: LeaseHolder, options: AcquireLeaseOptions): Promise<LeaseResult> {
    checkLeaseRequest(holder, options);
    return this.write((): LeaseResult => {
      if (!this.sql('SELECT 1 FROM tsnas_experiments WHERE id = ?').get(experimentId)) throw notFound('experiment', experimentId);
      const now = Date.now();
      const current = this.readLease(experimentId);
      const own = current?.owner === holder.owner;
      if (current && !own && current.owner !== options.replacing && now - current.heartbeatAt < options.expireMs) {
        return { acquired: false, lease: current, expiresInMs: current.heartbeatAt + options.expireMs - now };
      }
      this.sql(
        `INSERT INTO tsnas_leases (experiment_id, owner, host, pid, acquired_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (experiment_id) DO UPDATE SET owner = excluded.owner, host = excluded.host, pid = excluded.pid,
           acquired_at = CASE WHEN tsnas_leases.owner = excluded.owner THEN tsnas_leases.acquired_at ELSE excluded.acquired_at END,
           heartbeat_at = excluded.heartbeat_at`,
      ).run(experimentId, holder.owner, holder.host, holder.pid, now, now);
      return { acquired: true, lease: this.readLease(experimentId)!, previous: own ? null : current };
    });
  }

  async renewLease(experimentId: number, owner: string): Promise<boolean> {
    return this.write(() => this.sql('UPDATE tsnas_leases SET heartbeat_at = ? WHERE experiment_id = ? AND owner = ?').run(Date.now(), experimentId, owner).changes > 0);
  }

  async releaseLease(experimentId: number, owner: string): Promise<boolean> {
    return this.write(() => this.sql('DELETE FROM tsnas_leases WHERE experiment_id = ? AND owner = ?').run(experimentId, owner).changes > 0);
  }

  async getLease(experimentId: number): Promise<Lease | null> {
    return this.readLease(experimentId);
  }

  private readLease(experimentId: number): Lease | null {
    const row = this.sql(
      'SELECT owner, host, pid, acquired_at AS acquiredAt, heartbeat_at AS heartbeatAt FROM tsnas_leases WHERE experiment_id = ?',
    ).get(experimentId) as Lease | undefined;
    return row ?? null;
  }

  // ---- strategy state ----

  private upsertStrategyState(experimentId: number, stateText: string, toldCount: number, now: number): void {
    this.sql(
      `INSERT INTO tsnas_strategy_states (experiment_id, state, told_count, saved_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (experiment_id) DO UPDATE SET state = excluded.state, told_count = excluded.told_count, saved_at = excluded.saved_at`,
    ).run(experimentId, stateText, toldCount, now);
  }

  async saveStrategyState(experimentId: number, state: Json, toldCount: number): Promise<void> {
    checkNonNegativeInteger(toldCount, 'toldCount');
    const text = toJsonText(state, `strategy state of experiment ${experimentId}`);
    this.write(() => {
      if (!this.sql('SELECT 1 FROM tsnas_experiments WHERE id = ?').get(experimentId)) throw notFound('experiment', experimentId);
      this.upsertStrategyState(experimentId, text, toldCount, Date.now());
    });
  }

  async loadStrategyState(experimentId: number): Promise<StrategyState | null> {
    const row = this.sql('SELECT state, told_count, saved_at FROM tsnas_strategy_states WHERE experiment_id = ?').get(experimentId) as
      | { state: string; told_count: number; saved_at: number }
      | undefined;
    return row ? { state: JSON.parse(row.state) as Json, toldCount: row.told_count, savedAt: row.saved_at } : null;
  }

  // ---- weight-sharing runs: epochs and checkpoints ----

  async recordEpoch(experimentId: number, stage: string, epoch: number, record: Json, checkpoint?: CheckpointInput): Promise<void> {
    const write = checkEpochWrite(experimentId, stage, epoch, record, checkpoint);
    this.write(() => {
      if (!this.sql('SELECT 1 FROM tsnas_experiments WHERE id = ?').get(experimentId)) throw notFound('experiment', experimentId);
      const now = Date.now();
      this.sql(
        `INSERT INTO tsnas_epochs (experiment_id, stage, epoch, record, recorded_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (experiment_id, stage, epoch) DO UPDATE SET record = excluded.record, recorded_at = excluded.recorded_at`,
      ).run(experimentId, stage, epoch, write.recordText, now);
      const c = write.checkpoint;
      if (c) {
        this.sql(
          `INSERT INTO tsnas_checkpoints (experiment_id, stage, epoch, state, data, saved_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (experiment_id) DO UPDATE SET
             stage = excluded.stage, epoch = excluded.epoch, state = excluded.state, data = excluded.data, saved_at = excluded.saved_at`,
        ).run(experimentId, c.stage, c.epoch, c.stateText, c.data, now);
      }
    });
  }

  async listEpochs(experimentId: number, options: ListEpochsOptions = {}): Promise<EpochRecord[]> {
    checkListEpochsOptions(options);
    const rows = this.sql(
      `SELECT stage, epoch, record, recorded_at FROM tsnas_epochs
       WHERE experiment_id = @experimentId AND (@stage IS NULL OR stage = @stage) AND (@afterEpoch IS NULL OR epoch > @afterEpoch)
       ORDER BY id`,
    ).all({ experimentId, stage: options.stage ?? null, afterEpoch: options.afterEpoch ?? null }) as {
      stage: string;
      epoch: number;
      record: string;
      recorded_at: number;
    }[];
    return rows.map((r) => ({ stage: r.stage, epoch: r.epoch, record: JSON.parse(r.record) as Json, recordedAt: r.recorded_at }));
  }

  async loadCheckpoint(experimentId: number): Promise<Checkpoint | null> {
    const row = this.sql('SELECT stage, epoch, state, data, saved_at FROM tsnas_checkpoints WHERE experiment_id = ?').get(experimentId) as
      | { stage: string; epoch: number; state: string; data: Buffer; saved_at: number }
      | undefined;
    return row ? { stage: row.stage, epoch: row.epoch, state: JSON.parse(row.state) as Json, data: row.data, savedAt: row.saved_at } : null;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
