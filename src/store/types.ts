// The experiment store's contract. Every backend (SQLite, PostgreSQL)
// implements `Store` exactly as documented here, and one shared test suite
// (suite.ts) checks each of them against this text.
//
// Model
// -----
// An *experiment* is a named search run (the name is unique in a store) with
// its config (any JSON), creation time and status. It owns *trials* and one
// saved *strategy state*.
//
// A *trial* is one evaluated (or to-be-evaluated) architecture:
//
//     createTrial ──> pending ──claimTrial──> running ──finishTrial──> complete | failed | pruned
//                        ^                       │
//                        └─── requeueStale / ────┘
//                             requeueRunning /
//                             releaseTrial
//
//   - `number` counts 0, 1, 2, ... per experiment in creation order, with no gaps.
//   - `sample` is the architecture (JSON) and `sampleHash` its hash, given by
//     the caller (a space's `hash()`); a hash is unique within an experiment,
//     so the same architecture is never evaluated twice (see createTrial).
//   - `metrics` are the final numbers (accuracy, params, flops, latency...),
//     `intermediate` the learning curves, `artifacts` named file paths.
//   - A running trial belongs to `workerId`, which proves it is alive by
//     `heartbeat()`; a crashed worker's trials go back to pending by
//     `requeueStale()` (or all running ones by `requeueRunning()` when one
//     process resumes a killed run).
//   - Finished trials (complete, failed, pruned) never change: every method
//     that would modify one throws a TsnasError with code 'state'. A resumed
//     run can therefore trust them as they are.
//
// An experiment is run by one process at a time: the one holding its
// *lease* (acquireLease), which proves it is alive by renewLease. Another
// process may take the lease only once it expired (no renewal for
// expireMs) or by naming the holder it replaces (one it knows is dead).
//
// Times are milliseconds since the Unix epoch. SQLite uses this machine's
// clock; PostgreSQL uses the server's clock, so workers on several machines
// agree on heartbeat ages.
//
// All methods are async so that network backends fit. Methods that look up
// one row return null when it does not exist; methods that change a trial or
// experiment that does not exist throw a TsnasError('state') naming its id.

import type { Json } from '../util/json.js';

export type { Json };

export type ExperimentStatus = 'created' | 'running' | 'stopped' | 'finished' | 'failed';
export const EXPERIMENT_STATUSES: readonly ExperimentStatus[] = ['created', 'running', 'stopped', 'finished', 'failed'];

export type TrialState = 'pending' | 'running' | 'complete' | 'failed' | 'pruned';
export const TRIAL_STATES: readonly TrialState[] = ['pending', 'running', 'complete', 'failed', 'pruned'];
/** The states a trial never leaves. */
export const FINISHED_STATES: readonly TrialState[] = ['complete', 'failed', 'pruned'];

export function isFinished(state: TrialState): boolean {
  return state === 'complete' || state === 'failed' || state === 'pruned';
}

/**
 * Final numbers of a trial, e.g. { accuracy: 0.91, params: 1.2e6 }. Values
 * must be finite: a diverged run is a failed or pruned trial, not a NaN.
 * Names may use letters, digits and `_ - . / :` (so that backends can query
 * them; see METRIC_NAME_PATTERN).
 */
export type Metrics = Readonly<Record<string, number>>;
export const METRIC_NAME_PATTERN = /^[A-Za-z0-9_.\/:-]{1,128}$/;

/** One point of a learning curve. */
export interface IntermediateValue {
  readonly step: number;
  readonly value: number;
}

export interface Experiment {
  readonly id: number;
  readonly name: string;
  readonly config: Json;
  readonly status: ExperimentStatus;
  readonly createdAt: number;
}

export interface ClaimOptions {
  /** Claim this trial only (see Store.claimTrial). */
  trialId?: number;
}

export interface Trial {
  /** Unique in the store (across experiments). */
  readonly id: number;
  readonly experimentId: number;
  /** 0, 1, 2, ... per experiment, in creation order. */
  readonly number: number;
  readonly state: TrialState;
  readonly sample: Json;
  readonly sampleHash: string;
  /** Null until finished; a failed trial has none, a pruned one may. */
  readonly metrics: Metrics | null;
  /** metric name -> points sorted by step; {} when none were reported. */
  readonly intermediate: Readonly<Record<string, readonly IntermediateValue[]>>;
  /** artifact name -> path, e.g. { checkpoint: 'runs/x/trial-3.safetensors' }. */
  readonly artifacts: Readonly<Record<string, string>>;
  /** The worker that holds (running) or last finished the trial; null while pending. */
  readonly workerId: string | null;
  /** Last sign of life of its worker; null while pending. */
  readonly heartbeatAt: number | null;
  readonly createdAt: number;
  /** When it was last claimed; null while pending. */
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  /** Why a failed trial failed (or why a pruned one was pruned, if given). */
  readonly error: string | null;
}

/** The strategy's serialized state, saved after each tell. */
export interface StrategyState {
  readonly state: Json;
  /**
   * How many finished trials the strategy had been told when it saved this.
   * A resume compares it with the trials it replays to check that state and
   * trials agree (finishTrial can save both atomically, see FinishOptions).
   */
  readonly toldCount: number;
  readonly savedAt: number;
}

/** How a trial ends. */
export type TrialOutcome =
  | { readonly state: 'complete'; readonly metrics: Metrics }
  | { readonly state: 'failed'; readonly error: string }
  | { readonly state: 'pruned'; readonly metrics?: Metrics; readonly reason?: string };

export interface FinishOptions {
  /**
   * When given, the trial must be running and held by this worker, else
   * finishTrial throws (a worker whose trial was requeued and claimed by
   * another must not overwrite it).
   */
  readonly workerId?: string;
  /**
   * Saved in the same transaction as the outcome, so that a kill between
   * the two cannot leave a finished trial the saved strategy never heard of.
   */
  readonly strategyState?: { readonly state: Json; readonly toldCount: number };
}

export interface ListTrialsOptions {
  /** Only trials in these states (all states when absent or empty). */
  readonly states?: readonly TrialState[];
  /** At most this many, after skipping `offset` (ordered by number). */
  readonly limit?: number;
  readonly offset?: number;
}

export type Direction = 'max' | 'min';

export interface CreateTrialResult {
  readonly trial: Trial;
  /** False when a trial with the same sample hash already existed; `trial` is then that one, unchanged. */
  readonly created: boolean;
}

export interface EpochRecord {
  readonly stage: string;
  readonly epoch: number;
  readonly record: Json;
  readonly recordedAt: number;
}

export interface ListEpochsOptions {
  /** Only this stage's records. */
  readonly stage?: string;
  /** Only records with a larger epoch number (e.g. those after a checkpoint's epoch). */
  readonly afterEpoch?: number;
}

export interface CheckpointInput {
  /** Which epoch of which stage it was taken after. */
  readonly stage: string;
  readonly epoch: number;
  /** Small JSON state: scheduler position, loader and generator states, the method's counters. */
  readonly state: Json;
  /** The tensors, as safetensors bytes (may be tens of MB). */
  readonly data: Uint8Array;
}

export interface Checkpoint extends CheckpointInput {
  readonly savedAt: number;
}

/** Who runs an experiment (see acquireLease). */
export interface LeaseHolder {
  /** Unique per run of a process, e.g. HOST:PID:RANDOM. */
  readonly owner: string;
  /** Where it runs, for messages and to tell whether it is still alive. */
  readonly host: string;
  readonly pid: number;
}

export interface Lease extends LeaseHolder {
  readonly acquiredAt: number;
  /** Last renewal (or the acquisition). */
  readonly heartbeatAt: number;
}

export type LeaseResult =
  /** `previous` is the lease this one replaced (expired or named), null when there was none or it was the caller's own. */
  | { readonly acquired: true; readonly lease: Lease; readonly previous: Lease | null }
  /** Another holder's live lease; it expires in expiresInMs (by the store's clock) unless renewed. */
  | { readonly acquired: false; readonly lease: Lease; readonly expiresInMs: number };

export interface AcquireLeaseOptions {
  /** A lease not renewed for this long is free to take. */
  readonly expireMs: number;
  /** The owner of a lease the caller knows to be dead (e.g. its pid is gone on this host): taken even if not expired. */
  readonly replacing?: string;
}

export interface Store {
  /** Which backend this is. */
  readonly kind: 'sqlite' | 'postgres';

  // ---- experiments ----

  /** Creates an experiment with status 'created'. Throws TsnasError('state') if the name is taken. */
  createExperiment(name: string, config: Json): Promise<Experiment>;
  getExperiment(name: string): Promise<Experiment | null>;
  getExperimentById(id: number): Promise<Experiment | null>;
  /** All experiments, oldest first. */
  listExperiments(): Promise<Experiment[]>;
  setExperimentStatus(experimentId: number, status: ExperimentStatus): Promise<void>;
  /** Removes the experiment with all its trials and state. Returns false if there was none. */
  deleteExperiment(name: string): Promise<boolean>;

  // ---- trials: creation and claiming ----

  /**
   * Creates a pending trial with the next number, unless a trial with this
   * sampleHash exists in the experiment: then nothing changes and the
   * existing trial (in whatever state) is returned with created = false.
   * Safe under concurrency: two callers with the same hash get one trial.
   */
  createTrial(experimentId: number, sample: Json, sampleHash: string): Promise<CreateTrialResult>;
  /**
   * Atomically takes the pending trial with the lowest number: it becomes
   * running, held by workerId, with heartbeat and start time now. Two
   * concurrent callers (even in different processes) never get the same
   * trial. Null when no trial is pending. With options.trialId, only that
   * trial is taken, and only if it is a pending trial of the experiment
   * (null otherwise): a queue worker runs the trial its job carries the
   * metadata of.
   */
  claimTrial(experimentId: number, workerId: string, options?: ClaimOptions): Promise<Trial | null>;
  /**
   * Refreshes the heartbeat of a running trial held by workerId. Returns
   * false (and changes nothing) when the trial is no longer running under
   * that worker, e.g. it was requeued: the worker should then stop it.
   */
  heartbeat(trialId: number, workerId: string): Promise<boolean>;
  /**
   * Ends a pending or running trial. Finishing a pending trial directly is
   * for candidates that never run: rejected by a constraint (pruned), or
   * answered at once by a table lookup (complete). Throws
   * TsnasError('state') if the trial is already finished, or if
   * options.workerId is given and does not hold it.
   */
  finishTrial(trialId: number, outcome: TrialOutcome, options?: FinishOptions): Promise<Trial>;

  // ---- trials: progress while running ----

  /**
   * Records the value of a learning curve at a step; reporting the same
   * (metric, step) again replaces it (a requeued trial that restarts from a
   * checkpoint re-reports its steps). The value must be finite. Throws for
   * finished trials.
   */
  reportIntermediate(trialId: number, metric: string, step: number, value: number): Promise<void>;
  /** Sets (or replaces) a named artifact path. Throws for finished trials. */
  setArtifact(trialId: number, name: string, path: string): Promise<void>;

  // ---- trials: reading ----

  getTrial(trialId: number): Promise<Trial | null>;
  getTrialByHash(experimentId: number, sampleHash: string): Promise<Trial | null>;
  /** Trials ordered by number. */
  listTrials(experimentId: number, options?: ListTrialsOptions): Promise<Trial[]>;
  /**
   * Complete trials that have `metric`, best first (direction 'max': highest
   * first), ties broken by lower number. At most `limit` (default 1).
   */
  bestTrials(experimentId: number, metric: string, direction: Direction, limit?: number): Promise<Trial[]>;
  /** Number of trials in each state; every state is present (0 when none). */
  countTrials(experimentId: number): Promise<Record<TrialState, number>>;

  // ---- recovery ----

  /**
   * Running trials whose heartbeat is older than olderThanMs go back to
   * pending (worker, heartbeat and start time cleared; intermediate values
   * and artifacts kept so a retry can resume from a checkpoint). Returns the
   * ids of the requeued trials, ascending.
   */
  requeueStale(experimentId: number, olderThanMs: number): Promise<number[]>;
  /** Every running trial goes back to pending, as in requeueStale; for resuming after a crash. */
  requeueRunning(experimentId: number): Promise<number[]>;
  /**
   * The worker gives its running trial back (it stops, e.g. on Ctrl-C): the
   * trial goes back to pending as in requeueStale, at once. Returns false,
   * changing nothing, when the trial is not running or another worker holds it.
   */
  releaseTrial(trialId: number, workerId: string): Promise<boolean>;

  // ---- leases: one process runs an experiment ----

  /**
   * Takes the experiment's lease for holder, atomically: when there is none,
   * when it is holder's own (then it is renewed), when it was not renewed for
   * options.expireMs, or when its owner is options.replacing. Otherwise
   * nothing changes and the live lease is returned. Throws
   * TsnasError('state') for an unknown experiment.
   */
  acquireLease(experimentId: number, holder: LeaseHolder, options: AcquireLeaseOptions): Promise<LeaseResult>;
  /** Refreshes owner's lease; false (changing nothing) when owner no longer holds it. */
  renewLease(experimentId: number, owner: string): Promise<boolean>;
  /** Gives owner's lease up; false when owner did not hold it. */
  releaseLease(experimentId: number, owner: string): Promise<boolean>;
  getLease(experimentId: number): Promise<Lease | null>;

  // ---- strategy state ----

  /** Replaces the experiment's saved strategy state. */
  saveStrategyState(experimentId: number, state: Json, toldCount: number): Promise<void>;
  loadStrategyState(experimentId: number): Promise<StrategyState | null>;

  // ---- weight-sharing runs: epochs and checkpoints ----
  //
  // A weight-sharing experiment (DARTS, GDAS, SPOS, ...) trains one supernet
  // epoch by epoch. Each finished epoch leaves one *epoch record* (JSON, see
  // src/weight-sharing/run.ts) and replaces the experiment's one
  // *checkpoint* (JSON state plus the safetensors bytes of the supernet,
  // α and optimizer buffers), both in one transaction: a kill at any moment
  // leaves the previous epoch's record and checkpoint, or the new ones, never
  // a mix.

  /**
   * Records epoch `epoch` (1-based by convention; any integer >= 0 is
   * accepted) of `stage` ('supernet', or a later stage of the run; a
   * non-empty string of at most 200 characters), replacing a record of the
   * same (stage, epoch), and when `checkpoint` is given replaces the
   * experiment's checkpoint, atomically. `record` is any JSON object; its
   * recordedAt is the time of the last write. The checkpoint's own stage and
   * epoch are stored as given. Throws TsnasError('state') for an unknown
   * experiment; deleteExperiment removes records and checkpoint.
   */
  recordEpoch(experimentId: number, stage: string, epoch: number, record: Json, checkpoint?: CheckpointInput): Promise<void>;
  /**
   * Epoch records in the order they were first recorded (a replaced record
   * keeps its place): [] when none. `stage` keeps one stage's records,
   * `afterEpoch` those with a larger epoch number.
   */
  listEpochs(experimentId: number, options?: ListEpochsOptions): Promise<EpochRecord[]>;
  /** The experiment's checkpoint, or null when none was saved. */
  loadCheckpoint(experimentId: number): Promise<Checkpoint | null>;

  /** Releases the connection(s). The store must not be used afterwards. */
  close(): Promise<void>;
}
