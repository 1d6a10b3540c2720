// Argument checks and row-to-object helpers shared by both backends, so that
// they reject the same inputs with the same messages.
import { TsnasError } from '../errors.js';
import {
  EXPERIMENT_STATUSES,
  METRIC_NAME_PATTERN,
  TRIAL_STATES,
  isFinished,
  type AcquireLeaseOptions,
  type CheckpointInput,
  type ExperimentStatus,
  type IntermediateValue,
  type Json,
  type LeaseHolder,
  type ListEpochsOptions,
  type Metrics,
  type Trial,
  type TrialOutcome,
  type TrialState,
} from './types.js';

/**
 * The oldest schema version that commands that only read accept as it is:
 * version 3 added only the lease table, which they do not use, and a store
 * on a read-only disk can never be upgraded.
 */
export const OLDEST_READABLE_SCHEMA_VERSION = 2;

export function stateError(message: string, where?: string): TsnasError {
  return new TsnasError('state', message, { where });
}

export function checkExperimentName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
    throw new TsnasError('usage', `experiment name must be a non-empty string of at most 200 characters, got ${JSON.stringify(name)}`);
  }
}

export function checkExperimentStatus(status: ExperimentStatus): void {
  if (!EXPERIMENT_STATUSES.includes(status)) {
    throw new TsnasError('usage', `experiment status must be one of ${EXPERIMENT_STATUSES.join(', ')}, got ${JSON.stringify(status)}`);
  }
}

export function checkStates(states: readonly TrialState[] | undefined): void {
  for (const s of states ?? []) {
    if (!TRIAL_STATES.includes(s)) {
      throw new TsnasError('usage', `trial state must be one of ${TRIAL_STATES.join(', ')}, got ${JSON.stringify(s)}`);
    }
  }
}

export function checkMetricName(name: string, what = 'metric name'): void {
  if (typeof name !== 'string' || !METRIC_NAME_PATTERN.test(name)) {
    throw new TsnasError('usage', `${what} must match ${METRIC_NAME_PATTERN}, got ${JSON.stringify(name)}`);
  }
}

export function checkMetrics(metrics: Metrics, trialId: number): void {
  if (metrics === null || typeof metrics !== 'object' || Array.isArray(metrics)) {
    throw new TsnasError('usage', `metrics of trial ${trialId} must be an object of numbers, got ${JSON.stringify(metrics)}`);
  }
  for (const [name, value] of Object.entries(metrics)) {
    checkMetricName(name, `metric name in trial ${trialId}`);
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new TsnasError('usage', `metric "${name}" of trial ${trialId} must be a finite number, got ${String(value)}`);
    }
  }
}

export function checkOutcome(outcome: TrialOutcome, trialId: number): void {
  switch (outcome?.state) {
    case 'complete':
      checkMetrics(outcome.metrics, trialId);
      return;
    case 'failed':
      if (typeof outcome.error !== 'string') {
        throw new TsnasError('usage', `failed outcome of trial ${trialId} needs an error string, got ${JSON.stringify(outcome.error)}`);
      }
      return;
    case 'pruned':
      if (outcome.metrics !== undefined) checkMetrics(outcome.metrics, trialId);
      return;
    default:
      throw new TsnasError('usage', `outcome state of trial ${trialId} must be complete, failed or pruned, got ${JSON.stringify((outcome as { state?: unknown })?.state)}`);
  }
}

export function checkIntermediate(trialId: number, metric: string, step: number, value: number): void {
  checkMetricName(metric, `intermediate metric name of trial ${trialId}`);
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new TsnasError('usage', `step of "${metric}" in trial ${trialId} must be an integer >= 0, got ${step}`);
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TsnasError('usage', `value of "${metric}" at step ${step} in trial ${trialId} must be a finite number, got ${value}`);
  }
}

export function checkArtifact(trialId: number, name: string, path: string): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new TsnasError('usage', `artifact name of trial ${trialId} must be a non-empty string, got ${JSON.stringify(name)}`);
  }
  if (typeof path !== 'string' || path.length === 0) {
    throw new TsnasError('usage', `artifact "${name}" of trial ${trialId} must have a non-empty path, got ${JSON.stringify(path)}`);
  }
}

export function checkSampleHash(hash: string): void {
  if (typeof hash !== 'string' || hash.length === 0) {
    throw new TsnasError('usage', `sample hash must be a non-empty string, got ${JSON.stringify(hash)}`);
  }
}

export function checkNonNegativeInteger(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TsnasError('usage', `${what} must be an integer >= 0, got ${value}`);
  }
}

/** JSON text of a value, refusing what JSON cannot carry (undefined, functions, NaN become null silently otherwise). */
export function toJsonText(value: Json, what: string): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TsnasError('usage', `${what} must be JSON, got ${typeof value}`);
  return text;
}

export function notFound(kind: 'trial' | 'experiment', id: number): TsnasError {
  return stateError(`${kind} ${id} does not exist in this store`);
}

export function finishedError(trialId: number, state: TrialState, action: string): TsnasError {
  return stateError(`cannot ${action} trial ${trialId}: it is ${state}, and finished trials never change`);
}

export function checkMutable(trialId: number, state: TrialState | undefined, action: string): void {
  if (state === undefined) throw notFound('trial', trialId);
  if (isFinished(state)) throw finishedError(trialId, state, action);
}

/** Columns a backend reads for one trial, already converted to JS types. */
export interface TrialRow {
  id: number;
  experimentId: number;
  number: number;
  state: TrialState;
  sample: Json;
  sampleHash: string;
  metrics: Metrics | null;
  workerId: string | null;
  heartbeatAt: number | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  error: string | null;
}

export interface IntermediateRow {
  trialId: number;
  metric: string;
  step: number;
  value: number;
}

export interface ArtifactRow {
  trialId: number;
  name: string;
  path: string;
}

/** Joins trial rows with their curves and artifacts (rows of any order). */
export function assembleTrials(rows: TrialRow[], values: IntermediateRow[], artifacts: ArtifactRow[]): Trial[] {
  const curvesById = new Map<number, Record<string, IntermediateValue[]>>();
  for (const v of values) {
    let curves = curvesById.get(v.trialId);
    if (!curves) curvesById.set(v.trialId, (curves = {}));
    (curves[v.metric] ??= []).push({ step: v.step, value: v.value });
  }
  for (const curves of curvesById.values()) {
    for (const points of Object.values(curves)) points.sort((a, b) => a.step - b.step);
  }
  const artifactsById = new Map<number, Record<string, string>>();
  for (const a of artifacts) {
    let named = artifactsById.get(a.trialId);
    if (!named) artifactsById.set(a.trialId, (named = {}));
    named[a.name] = a.path;
  }
  return rows.map((r) => ({
    ...r,
    intermediate: curvesById.get(r.id) ?? {},
    artifacts: artifactsById.get(r.id) ?? {},
  }));
}

export function emptyCounts(): Record<TrialState, number> {
  return { pending: 0, running: 0, complete: 0, failed: 0, pruned: 0 };
}

/** Metrics, error text and finish time stored for an outcome. */
export function outcomeColumns(outcome: TrialOutcome): { metrics: Metrics | null; error: string | null } {
  if (outcome.state === 'complete') return { metrics: outcome.metrics, error: null };
  if (outcome.state === 'failed') return { metrics: null, error: outcome.error };
  return { metrics: outcome.metrics ?? null, error: outcome.reason ?? null };
}

// ---- weight-sharing runs: epochs and checkpoints ----

function checkStage(stage: string, what: string): void {
  if (typeof stage !== 'string' || stage.length === 0 || stage.length > 200) {
    throw new TsnasError('usage', `${what} must be a non-empty string of at most 200 characters, got ${JSON.stringify(stage)}`);
  }
}

/** What a backend writes for recordEpoch, checked: the record's JSON text and the checkpoint's, with its bytes as a Buffer. */
export interface EpochWrite {
  readonly recordText: string;
  readonly checkpoint: { readonly stage: string; readonly epoch: number; readonly stateText: string; readonly data: Buffer } | null;
}

export function checkEpochWrite(
  experimentId: number,
  stage: string,
  epoch: number,
  record: Json,
  checkpoint: CheckpointInput | undefined,
): EpochWrite {
  const where = `epoch ${epoch} of experiment ${experimentId}`;
  checkStage(stage, `stage of ${where}`);
  checkNonNegativeInteger(epoch, `epoch of stage "${stage}" in experiment ${experimentId}`);
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    throw new TsnasError('usage', `record of ${where} must be a JSON object, got ${Array.isArray(record) ? 'an array' : JSON.stringify(record)}`);
  }
  const recordText = toJsonText(record, `record of ${where}`);
  if (checkpoint === undefined) return { recordText, checkpoint: null };
  if (checkpoint === null || typeof checkpoint !== 'object') {
    throw new TsnasError('usage', `checkpoint of ${where} must be an object with stage, epoch, state and data, got ${JSON.stringify(checkpoint)}`);
  }
  checkStage(checkpoint.stage, `checkpoint stage of ${where}`);
  checkNonNegativeInteger(checkpoint.epoch, `checkpoint epoch of ${where}`);
  const stateText = toJsonText(checkpoint.state, `checkpoint state of ${where}`);
  const { data } = checkpoint;
  if (!(data instanceof Uint8Array)) {
    throw new TsnasError('usage', `checkpoint data of ${where} must be a Uint8Array (safetensors bytes), got ${data === null ? 'null' : typeof data}`);
  }
  // A view, not a copy: checkpoints may be tens of MB.
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return { recordText, checkpoint: { stage: checkpoint.stage, epoch: checkpoint.epoch, stateText, data: bytes } };
}

export function checkListEpochsOptions(options: ListEpochsOptions): void {
  if (options.stage !== undefined) checkStage(options.stage, 'stage filter of listEpochs');
  if (options.afterEpoch !== undefined) checkNonNegativeInteger(options.afterEpoch, 'afterEpoch of listEpochs');
}

// ---- leases ----

export function checkLeaseRequest(holder: LeaseHolder, options: AcquireLeaseOptions): void {
  if (typeof holder?.owner !== 'string' || holder.owner.length === 0 || typeof holder.host !== 'string' || !Number.isSafeInteger(holder.pid)) {
    throw new TsnasError('usage', `lease holder must have a non-empty owner, a host and an integer pid, got ${JSON.stringify(holder)}`);
  }
  if (typeof options?.expireMs !== 'number' || !(options.expireMs > 0) || !Number.isFinite(options.expireMs)) {
    throw new TsnasError('usage', `lease expireMs must be a number > 0, got ${options?.expireMs}`);
  }
}
