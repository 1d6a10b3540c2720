// A weight-sharing search (DARTS family, SPOS, FairNAS, ENAS, OFA) as a
// stored experiment: the supernet trains epoch by epoch; after each epoch
// its record and a checkpoint (supernet, α, optimizers, loaders: see
// src/weight-sharing/run.ts) replace the previous ones in one store
// transaction. The found architecture then becomes the experiment's trial,
// evaluated by the config's estimator (its table accuracy, or trained from
// scratch), with the supernet's own numbers among its metrics.
//
// Resume after kill -9 at any moment: the run is rebuilt from the config,
// restored from the last checkpoint, and trains the remaining epochs; every
// generator is reseeded per epoch, so at a fixed seed and 1 thread the
// resumed run ends with the same history and architecture as an
// uninterrupted one. A kill during the final step repeats it from the
// checkpoint (same architecture, same trial); a finished trial is kept.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { configError, TsnasError } from '../errors.js';
import { Nb201Table, parseNb201BenchmarkName, type Nb201Dataset } from '../benchmarks/nb201.js';
import type { Sample } from '../spaces/types.js';
import { Rng } from '../util/random.js';
import { rankingQuality } from '../weight-sharing/oneshot/ranking.js';
import { datasetSource, standardAugment } from '../data/spec.js';
import { saveSafetensors, safetensorsToTensors, tensorsToSafetensors } from '../export/safetensors.js';
import { exportWeightsToOnnx } from '../kits/onnx.js';
import type { Experiment, Json, Store, Trial } from '../store/types.js';
import { isFinished } from '../store/types.js';
import type { CostLimits } from '../weight-sharing/oneshot/constraints.js';
import type { RunContext, WeightSharingMethod } from '../weight-sharing/methods.js';
import type { WeightSharingEpoch, WeightSharingResult } from '../weight-sharing/run.js';
import type { ExperimentConfig } from './config.js';
import { SUPERNET_ESTIMATOR_KIND, spaceOptionsOf } from './config.js';
import { configSpace, type Metrics } from './estimators.js';
import { createEvaluator } from './pool.js';
import { finalTrainingInWorker } from './final.js';
import { checkSpaceInput, getKit } from '../kits/index.js';
import { getNumThreads } from '../tensor/index.js';

/** The stage name of supernet-training epochs in the store. */
export const SUPERNET_STAGE = 'supernet';

/** Where a weight-sharing experiment stands, saved as its strategy state (what `show` and the dashboard read). */
export interface WeightSharingState {
  method: string;
  /** supernet: training; search: the final step (derivation or evolutionary search); evaluation: the found architecture's trial; done. */
  phase: 'supernet' | 'search' | 'evaluation' | 'done';
  epochsDone: number;
  epochs: number;
}

export interface WeightSharingHooks {
  /** Called once the run knows where it stands. */
  onStart?: (info: { resumed: boolean; epochsDone: number; epochs: number; method: string }) => void;
  /** Called after each stored epoch. */
  onEpoch?: (record: WeightSharingEpoch, epochs: number) => void;
  /** Called when the final step starts, when the found architecture is known, and when its final training starts. */
  onPhase?: (phase: WeightSharingState['phase'] | 'final', detail?: string) => void;
  /** config.final: after each epoch of the found architecture's training from scratch. */
  onFinalEpoch?: (epoch: number, epochs: number, testAccuracy: number) => void;
  signal?: AbortSignal;
  /** Called before each epoch's write and before a stop's: throws when this process may no longer write (its lease was taken over). */
  beforeWrite?: () => void;
  /** Directory for the found network's files (default runs/<name>). */
  artifactsDir?: string;
}

export interface WeightSharingOutcome {
  interrupted: boolean;
  /** The found architecture's trial (finished), when the run got that far. */
  trial: Trial | null;
}

/** The context a method's run gets from the config. */
export function runContext(config: ExperimentConfig): Omit<RunContext, 'augment'> {
  const limits: CostLimits = {};
  for (const c of config.constraints) {
    if (c.metric === 'flops') limits.maxFlops = Math.min(limits.maxFlops ?? Infinity, c.value);
    if (c.metric === 'params') limits.maxParams = Math.min(limits.maxParams ?? Infinity, c.value);
  }
  return {
    space: config.space.name,
    spaceOptions: spaceOptionsOf(config.space.name, config.space.options),
    seed: config.seed,
    validFraction: config.dataset.validFraction,
    ...(config.dataset.limitTrain !== undefined ? { limitTrain: config.dataset.limitTrain } : {}),
    limits,
  };
}

const isAbort = (signal: AbortSignal | undefined, e: unknown) => signal?.aborted === true && (e === signal.reason || (e instanceof Error && e.name === 'AbortError'));

/**
 * Runs (or resumes) the experiment. `openExperiment` gets or creates it in
 * the store; it is called only once the method's run has been built from
 * the config, so that a config the method refuses writes nothing.
 */
export async function runWeightSharingExperiment(store: Store, openExperiment: () => Promise<Experiment>, config: ExperimentConfig, method: WeightSharingMethod, hooks: WeightSharingHooks = {}): Promise<WeightSharingOutcome & { experiment: Experiment }> {
  const { signal } = hooks;
  const options = config.strategy.options as Record<string, any>;
  const source = datasetSource(config.dataset.name);
  const train = source.load('train');
  const augment = standardAugment(source, train, options['resolution']);
  // Small images lose too much to 4-pixel padding crops.
  if (augment.crop && options['resolution'] !== undefined && options['resolution'] <= 16) augment.crop = { padding: 2 };
  // The ranking diagnostic: inherited-weight accuracy against the table, measured in the final step.
  let rankingMetrics: Metrics = {};
  const afterSearch = options['ranking'] !== undefined
    ? (evaluate: (s: Sample) => number) => {
      rankingMetrics = tableRanking(config, evaluate, options['ranking']);
    }
    : undefined;
  if (afterSearch) tableOf(config);
  // Image sizes the space's networks cannot take fail here, not inside the supernet's training or after the whole search.
  const sized = getKit(config.space.name).sized;
  const checkSize = (o: { channels?: number; cells?: number; resolution?: number }, where: string) => checkSpaceInput(configSpace(config), {
    numClasses: train.numClasses, inChannels: train.channels, inputSize: o.resolution ?? train.height,
    ...(sized ? { channels: o.channels ?? sized.channels, cells: o.cells ?? sized.cells } : {}),
  }, where, config.seed);
  checkSize(options, 'strategy.options.resolution');
  if (config.final) checkSize(config.final, 'final.resolution');
  let run;
  try {
    run = method.create(train, { ...runContext(config), augment, ...(afterSearch ? { afterSearch } : {}) }, options);
  } catch (e) {
    throw asConfigError(e);
  }
  let experiment: Experiment;
  try {
    experiment = await openExperiment();
  } catch (e) {
    run.dispose();
    throw e;
  }
  const id = experiment.id;
  if (experiment.status === 'finished') {
    // Nothing left to do: the found architecture's trial is final.
    run.dispose();
    const [trial] = await store.listTrials(id, { limit: 1 });
    return { experiment, interrupted: false, trial: trial ?? null };
  }
  const saveState = (phase: WeightSharingState['phase']) => {
    const state: WeightSharingState = { method: method.name, phase, epochsDone: run.epochsDone, epochs: run.epochs };
    return store.saveStrategyState(id, state as unknown as Json, 0);
  };
  try {
    const checkpoint = await store.loadCheckpoint(id);
    if (checkpoint) {
      const { tensors } = safetensorsToTensors(checkpoint.data, `checkpoint of experiment '${experiment.name}'`);
      try {
        run.restore(checkpoint.state, tensors);
      } finally {
        for (const t of Object.values(tensors)) t.dispose();
      }
    }
    hooks.onStart?.({ resumed: checkpoint !== null, epochsDone: run.epochsDone, epochs: run.epochs, method: method.name });
    await store.setExperimentStatus(id, 'running');
    // A kill while the found architecture was being evaluated left its trial running: it runs again.
    await store.requeueRunning(id);
    await saveState('supernet');
    while (run.epochsDone < run.epochs) {
      await nextTurn();
      if (signal?.aborted) return { experiment, ...(await stopped(store, id, hooks)) };
      let record: WeightSharingEpoch;
      try {
        record = await run.trainEpoch(signal);
      } catch (e) {
        if (isAbort(signal, e)) return { experiment, ...(await stopped(store, id, hooks)) };
        throw e;
      }
      const c = run.checkpoint();
      hooks.beforeWrite?.();
      await store.recordEpoch(id, SUPERNET_STAGE, record.epoch, record as unknown as Json, {
        stage: SUPERNET_STAGE, epoch: record.epoch, state: c.state, data: tensorsToSafetensors(c.tensors),
      });
      hooks.onEpoch?.(record, run.epochs);
    }
    await saveState('search');
    hooks.onPhase?.('search');
    let result: WeightSharingResult;
    try {
      result = await run.finish(signal);
    } catch (e) {
      if (isAbort(signal, e)) return { experiment, ...(await stopped(store, id, hooks)) };
      throw e;
    }
    try {
      hooks.onPhase?.('evaluation', result.arch);
      await saveState('evaluation');
      const trial = await evaluateFound(store, experiment, config, { ...result, metrics: { ...result.metrics, ...rankingMetrics } }, run.epochs, { inputSize: options['resolution'] ?? train.height, inChannels: train.channels, numClasses: train.numClasses }, hooks);
      if (!trial) return { experiment, ...(await stopped(store, id, hooks)) };
      await saveState('done');
      await store.setExperimentStatus(id, 'finished');
      return { experiment, interrupted: false, trial };
    } finally {
      for (const t of Object.values(result.inherited ?? {})) t.dispose();
    }
  } catch (e) {
    if (!(e instanceof TsnasError && e.code === 'state')) await store.setExperimentStatus(id, 'failed').catch(() => {});
    throw e;
  } finally {
    run.dispose();
  }
}

/** The NAS-Bench-201 table and dataset of the config's benchmark estimator; the ranking option needs them. */
function tableOf(config: ExperimentConfig): { table: Nb201Table; dataset: Nb201Dataset } {
  if (config.space.name !== 'nb201' || config.estimator.kind !== 'benchmark') {
    throw configError(`ranks the supernet against the NAS-Bench-201 table: needs space nb201 and estimator kind benchmark, found space ${config.space.name} and estimator kind ${config.estimator.kind}`, 'strategy.options.ranking');
  }
  return { table: Nb201Table.load(), dataset: parseNb201BenchmarkName(config.estimator.benchmark!) };
}

/** Kendall τ, Spearman ρ and precision at the top 5% of inherited-weight accuracy against the table over n random cells (seeded). */
function tableRanking(config: ExperimentConfig, evaluate: (s: Sample) => number, n: number): Metrics {
  const { table, dataset } = tableOf(config);
  const q = rankingQuality(evaluate, (arch) => table.accuracy(arch, dataset), new Rng(config.seed + 1000), n);
  return { ranking_kendall_tau: q.kendallTau, ranking_spearman: q.spearman, ranking_precision_top5: q.precisionAtTop5, ranking_cells: q.cells.length };
}

/**
 * The methods name their options as the flags of the former one-off command
 * (--space, --phase-split, ...); a config names them by field path.
 */
const FIELD_OF: Record<string, string> = {
  '--space': 'space.name',
  '--space-options': 'space.options',
  '--phase-split': 'strategy.options.phaseSplit',
  '--epochs': 'strategy.options.epochs',
  '--max-flops': 'constraints',
  '--max-params': 'constraints',
  constraint: 'constraints',
  sampling: 'strategy.options.sampling',
  budget: 'strategy.options.budget',
};

/** A method's refusal of its options as a config error naming the field (other errors as they are). */
function asConfigError(e: unknown): unknown {
  if (!(e instanceof TsnasError) || e.code === 'state' || e.code === 'internal') return e;
  const where = e.where ?? '';
  const message = where && e.message.startsWith(`${where}: `) ? e.message.slice(where.length + 2) : e.message;
  // A file (a latency table) stays named as it is.
  if (where && !where.startsWith('--') && !(where in FIELD_OF) && /[/\\.]/.test(where)) return e;
  return new TsnasError(e.code === 'data' ? 'data' : 'config', message, { where: FIELD_OF[where] ?? (/^(strategy|space|constraints|dataset|estimator)\b/.test(where) ? where : 'strategy.options'), cause: e });
}

async function stopped(store: Store, id: number, hooks: WeightSharingHooks): Promise<WeightSharingOutcome> {
  hooks.beforeWrite?.();
  await store.requeueRunning(id);
  await store.setExperimentStatus(id, 'stopped');
  return { interrupted: true, trial: null };
}

/**
 * The found architecture as the experiment's trial: its inherited weights
 * written (safetensors and ONNX) when the method gives them, then evaluated
 * by the config's estimator. Null when interrupted (the trial runs again on
 * resume).
 */
async function evaluateFound(store: Store, experiment: Experiment, config: ExperimentConfig, result: WeightSharingResult, epochs: number, network: FoundNetwork, hooks: WeightSharingHooks): Promise<Trial | null> {
  const space = configSpace(config);
  const created = await store.createTrial(experiment.id, result.sample as unknown as Json, space.hash(result.sample));
  if (isFinished(created.trial.state)) return created.trial;
  const workerId = `pid${process.pid}`;
  const trial = await store.claimTrial(experiment.id, workerId);
  if (!trial || trial.id !== created.trial.id) throw new TsnasError('state', `experiment '${experiment.name}': expected to claim the found architecture's trial ${created.trial.id}`);
  await writeInherited(store, trial, experiment, config, result, network, hooks);
  let metrics: Metrics = { ...result.metrics, supernet_epochs: epochs };
  if (config.estimator.kind === SUPERNET_ESTIMATOR_KIND) {
    const accuracy = result.metrics['supernet_accuracy'] ?? (await lastValidAccuracy(store, experiment.id));
    if (accuracy !== undefined) metrics = { ...metrics, accuracy };
  } else {
    const outcome = await runEstimator(store, config, trial, result, hooks.signal);
    if (!outcome.ok) {
      if (outcome.interrupted) return null;
      return store.finishTrial(trial.id, { state: 'failed', error: outcome.error }, { workerId });
    }
    metrics = { ...metrics, ...outcome.metrics };
  }
  if (config.final) {
    const final = await trainFinal(store, experiment, config, trial, result, hooks);
    if (!final) return null;
    metrics = { ...metrics, ...final };
  }
  return store.finishTrial(trial.id, { state: 'complete', metrics }, { workerId });
}

/** The config's estimator on the found architecture (in a worker thread for training: Ctrl-C stops it). */
async function runEstimator(store: Store, config: ExperimentConfig, trial: Trial, result: WeightSharingResult, signal: AbortSignal | undefined) {
  const evaluator = await createEvaluator(config);
  const onAbort = () => evaluator.interrupt();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await evaluator.run({ trialId: trial.id, sample: result.sample }, (metric, step, value) => {
      if (Number.isFinite(value)) void store.reportIntermediate(trial.id, metric, step, value).catch(() => {});
    });
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await evaluator.close();
  }
}

/**
 * config.final: the found architecture trained from scratch on the whole
 * training set and tested (final.ts), its weights written as
 * final.safetensors and final.onnx. Undefined when interrupted.
 */
async function trainFinal(store: Store, experiment: Experiment, config: ExperimentConfig, trial: Trial, result: WeightSharingResult, hooks: WeightSharingHooks): Promise<Metrics | undefined> {
  const f = config.final!;
  const dir = hooks.artifactsDir ?? join('runs', experiment.name);
  mkdirSync(dir, { recursive: true });
  const weightsPath = join(dir, 'final.safetensors');
  const source = datasetSource(config.dataset.name);
  const resolution = f.resolution ?? source.load('test').height;
  const sized = getKit(config.space.name).sized;
  const size = sized ? { channels: f.channels ?? sized.channels, cells: f.cells ?? sized.cells } : {};
  hooks.onPhase?.('final', `${result.arch}, ${f.epochs} epoch(s)`);
  const metrics = await finalTrainingInWorker({
    space: config.space, arch: result.arch, seed: config.seed, dataset: config.dataset.name, ...size, resolution,
    epochs: f.epochs, batch: f.batch, lr: f.lr, ...(f.limitTrain !== undefined ? { limitTrain: f.limitTrain } : {}), ...(f.limitTest !== undefined ? { limitTest: f.limitTest } : {}),
    weightsPath, threads: config.threads ?? getNumThreads(), progress: false,
  }, (e) => {
    // Without a validation fraction every epoch is tested.
    void store.reportIntermediate(trial.id, 'final_test_accuracy', e.epoch, e.testAccuracy!).catch(() => {});
    hooks.onFinalEpoch?.(e.epoch, f.epochs, e.testAccuracy!);
  }, hooks.signal);
  if (!metrics) return undefined;
  await store.setArtifact(trial.id, 'final_weights', weightsPath);
  const onnxPath = join(dir, 'final.onnx');
  exportWeightsToOnnx({ space: configSpace(config), sample: result.sample, weightsPath, onnxPath, network: { ...size, inputSize: resolution } }).net.dispose();
  await store.setArtifact(trial.id, 'final_onnx', onnxPath);
  return { test_accuracy: metrics.test_accuracy!, test_loss: metrics.test_loss!, final_params: metrics.params, final_train_seconds: metrics.train_seconds };
}

/** The data's shape, for rebuilding the found network from its inherited weights. */
interface FoundNetwork {
  inputSize: number;
  inChannels: number;
  numClasses: number;
}

async function lastValidAccuracy(store: Store, id: number): Promise<number | undefined> {
  const last = (await store.listEpochs(id, { stage: SUPERNET_STAGE })).at(-1)?.record as { validAccuracy?: number | null } | undefined;
  return last?.validAccuracy ?? undefined;
}

/** The inherited weights of the found fixed network as found.safetensors and found.onnx, recorded as the trial's artifacts. */
async function writeInherited(store: Store, trial: Trial, experiment: Experiment, config: ExperimentConfig, result: WeightSharingResult, network: FoundNetwork, hooks: WeightSharingHooks): Promise<void> {
  if (!result.inherited) return;
  const dir = hooks.artifactsDir ?? join('runs', experiment.name);
  mkdirSync(dir, { recursive: true });
  const weightsPath = join(dir, 'found.safetensors');
  saveSafetensors(weightsPath, result.inherited, { space: config.space.name, arch: result.arch });
  await store.setArtifact(trial.id, 'weights', weightsPath);
  const onnxPath = join(dir, 'found.onnx');
  const { net } = exportWeightsToOnnx({ space: configSpace(config), sample: result.sample, weightsPath, onnxPath, network });
  net.dispose();
  await store.setArtifact(trial.id, 'onnx', onnxPath);
}
