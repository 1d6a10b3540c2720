// The experiment loop: strategy × estimator × store.
//
// The strategy is asked for `batch` samples at a time; each becomes a trial
// in the store (its number is its place in asking order). Trials run on the
// evaluator (k at once with parallel: k), and results are told back to the
// strategy strictly in asking order, so the outcome never depends on which
// trial finished first, nor on k.
//
// Resume after a kill at any moment: running trials go back to pending; the
// saved strategy state (saved in the same transaction as the finished trial
// whose telling produced it) is restored; the samples it had asked but not
// been told are looked up in the store (finished ones are told, the rest
// run); a batch asked but not yet saved is asked again, and, the strategy
// being seeded, it asks the same samples, which the store maps to the
// trials already created. No finished trial is lost or run again.
//
// Interruption (RunOptions.signal, Ctrl-C in the CLI): no new trial starts,
// trials in flight stop and go back to pending, the experiment is marked
// 'stopped', and the same command resumes it as after a kill.
//
// Compositions (estimator kinds composed and predictor) wrap the strategy in
// a ScreenedStrategy (screen.ts): trials are only the candidates it chose.
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { configError, TsnasError } from '../errors.js';
import type { DefinedSpace } from '../spaces/index.js';
import type { Sample } from '../spaces/types.js';
import { findStrategy, strategyNames } from '../strategies/index.js';
import type { Objectives, ProxyScoreSource, Strategy, StrategyState as StrategyJson, TrialMetadata } from '../strategies/types.js';
import type { Experiment, Json, Store, Trial, TrialOutcome } from '../store/types.js';
import { canonicalJson } from '../spaces/space.js';
import { isProxyName, PROXY_NAMES, type ProxyName } from '../estimators/zero-cost/proxies.js';
import { PROXY_DEFAULTS, type ExperimentConfig } from './config.js';
import { brokenConstraint, cheapMetricsFunction, configSpace, keptWeightsDir, proxyScorer, type Metrics, type ProxyScorer, type TrialEstimator } from './estimators.js';
import type { EvalOutcome, Evaluator, QueueEvaluatorFactory } from './evaluator.js';
import { createEvaluator, inlineEvaluator } from './pool.js';
import { findWeightSharingMethod } from '../weight-sharing/methods.js';
import type { WeightSharingEpoch } from '../weight-sharing/run.js';
import { runWeightSharingExperiment, type WeightSharingHooks } from './weight-sharing.js';
import { takeExperimentLease, type ExperimentLease } from './lease.js';
import { predictorCandidateRanker, proxyCandidateRanker, ScreenedStrategy, type CandidateRanker } from './screen.js';

/** The strategy a config names, with the config's seed, objectives and fitness (its options were checked by checkConfig). */
export function buildStrategy(config: ExperimentConfig, space: DefinedSpace): Strategy {
  const kind = findStrategy(config.strategy.name);
  if (!kind) throw configError(`expected one of ${strategyNames.join(', ')}, found ${JSON.stringify(config.strategy.name)}`, 'strategy.name');
  const options: Record<string, unknown> = { ...config.strategy.options, seed: config.seed };
  const [primary, ...rest] = config.objectives;
  if (kind.multiObjective) {
    options['objectives'] = config.objectives.map((o) => ({ name: o.name, maximize: o.direction === 'max' }));
  } else {
    const penalties = Object.fromEntries(rest.filter((o) => (o.weight ?? 0) > 0).map((o) => [o.name, o.direction === 'min' ? o.weight! : -o.weight!]));
    options['fitness'] = { objective: primary!.name, maximize: primary!.direction === 'max', penalties };
  }
  options['proxyScores'] = lazyProxyScores(config);
  try {
    return kind.create(space, options);
  } catch (e) {
    if (e instanceof TsnasError) throw configError(e.message, 'strategy.options');
    throw e;
  }
}

/**
 * Zero-cost proxy scores for strategies that use them (proxy-bo), by the
 * screening's machinery, on the networks the estimator builds (the screen's
 * for a composed estimator). Built on the first call: other strategies never
 * load the batch.
 */
function lazyProxyScores(config: ExperimentConfig): ProxyScoreSource {
  let scorer: ProxyScorer | undefined;
  return {
    score(samples, names) {
      for (const n of names) if (!isProxyName(n)) throw configError(`unknown proxy '${n}'; expected one of ${PROXY_NAMES.join(', ')}`, 'strategy.options.proxies');
      const e = config.estimator.kind === 'composed' ? config.estimator.screen! : config.estimator;
      scorer ??= proxyScorer(config, { channels: e.channels, cells: e.cells, resolution: e.resolution, proxyBatch: e.proxyBatch ?? PROXY_DEFAULTS.proxyBatch });
      return samples.map((s) => scorer!.score(s, names as ProxyName[]));
    },
    dispose() {
      scorer?.dispose();
      scorer = undefined;
    },
  };
}

/**
 * The strategy the loop asks: the config's strategy, wrapped in a
 * ScreenedStrategy for the composed and predictor estimators (whose ranker
 * runs in this thread: proxies load the dataset here).
 */
export function buildSearchStrategy(config: ExperimentConfig, space: DefinedSpace, cheapMetrics?: (s: Sample) => Metrics, given?: Strategy): Strategy {
  const inner = given ?? buildStrategy(config, space);
  const e = config.estimator;
  if (e.kind !== 'composed' && e.kind !== 'predictor') return inner;
  let ranker: CandidateRanker;
  try {
    ranker = e.kind === 'composed'
      ? proxyCandidateRanker(proxyScorer(config, e.screen!), e.screen!.proxies as ProxyName[], e.screen!.ensemble as ProxyName[] | undefined)
      : predictorCandidateRanker({ model: e.model!, space, warmup: e.warmup!, kappa: e.kappa ?? 0, primary: config.objectives[0]!, seed: config.seed });
  } catch (err) {
    inner.dispose();
    throw err;
  }
  return new ScreenedStrategy(inner, {
    ranker,
    candidates: e.kind === 'composed' ? e.screen!.candidates : e.candidates!,
    topK: e.topK!,
    objectives: config.objectives,
    constraints: config.constraints,
    cheapMetrics: cheapMetrics ?? cheapMetricsFunction(config),
    space,
  });
}

/** What the store keeps as the strategy state: the strategy's own JSON plus the run's clock. */
interface SavedState {
  strategy: StrategyJson;
  /** Wall-clock time spent on this experiment over all runs, for budget.minutes. */
  elapsedMs: number;
}

export interface RunProgress {
  told: number;
  budget: number;
  trial: Trial;
  /** Best value of the first objective so far. */
  best: number | undefined;
}

export interface RunOptions {
  store: Store;
  config: ExperimentConfig;
  /** Experiment name (default config.name). */
  name?: string;
  /** Called after each trial is told. */
  onTrial?: (p: RunProgress) => void;
  /** Called once the run knows where it stands (resumed trials already counted). */
  onStart?: (info: { resumed: boolean; told: number; budget: number; requeued: number }) => void;
  /** Stop after this many trials were told in this call (tests: simulated interruptions). */
  stopAfter?: number;
  workerId?: string;
  /** An evaluator to use instead of the config's (tests). */
  evaluator?: Evaluator;
  /** Aborting stops the run cleanly: trials in flight go back to pending, the experiment is 'stopped'. */
  signal?: AbortSignal;
  /** The store's URL, for evaluators that connect to it themselves (execution.queue pgboss); default config.storage. */
  storageUrl?: string;
  /** The evaluator of execution.queue pgboss (src/distributed's queueEvaluator: the CLI passes it); needed with that queue only. */
  queueEvaluator?: QueueEvaluatorFactory;
  /**
   * A strategy object (the ask/tell contract of src/strategies/types.ts) to
   * ask instead of config.strategy; the caller owns it (it is not disposed
   * here). Resuming needs its getState/setState to round-trip: the state
   * lists the samples asked and not yet told (pending), and restoring it
   * into a strategy built the same way continues where the saved one was.
   */
  strategy?: Strategy;
  /**
   * An estimator object to evaluate trials instead of config.estimator's
   * kind; the caller owns it. It runs in this thread, one trial at a time
   * (parallel 1, no queue): worker threads and `tsnas worker` processes
   * build their estimators from the config and cannot share a live object.
   * Every objective must be one of the metrics it declares.
   */
  estimator?: TrialEstimator;
  /** Weight-sharing strategies: called after each stored supernet epoch, and when the run's phase changes. */
  onEpoch?: (record: WeightSharingEpoch, epochs: number) => void;
  onPhase?: WeightSharingHooks['onPhase'];
  onFinalEpoch?: WeightSharingHooks['onFinalEpoch'];
  onWeightSharingStart?: WeightSharingHooks['onStart'];
  /**
   * Where the experiment's files go (default runs/<name>): a weight-sharing
   * strategy's found network, the weights trials keep for weight inheritance (weights/).
   */
  artifactsDir?: string;
  /** The experiment's lease expires this long after its last renewal (default DEFAULT_LEASE_MS; see lease.ts). */
  leaseMs?: number;
}

export interface RunResult {
  experimentId: number;
  name: string;
  /** Trials told over the whole experiment. */
  told: number;
  /** Whether the budget (trials or minutes) is used up, or the space has no candidate left. */
  finished: boolean;
  /** Whether the signal stopped it. */
  interrupted: boolean;
  counts: Record<string, number>;
}

/** Config fields a resumed run may change without changing its results. */
const RESUMABLE_CHANGES = new Set(['parallel', 'threads', 'storage', 'budget', 'execution']);

/** Samples asked at once: `batch`, else as many as run at once (`parallel`, or `execution.inFlight` with a queue). */
export function batchOf(config: ExperimentConfig): number {
  return config.batch ?? (config.execution?.queue === 'pgboss' ? config.execution.inFlight : config.parallel);
}

/** The config as stored: batch fixed (it shapes the results), run-only fields dropped. */
export function storedConfig(config: ExperimentConfig): ExperimentConfig {
  const { storage: _storage, ...rest } = config;
  return { ...rest, batch: batchOf(config) };
}

function checkSameExperiment(stored: Json, given: ExperimentConfig, name: string): void {
  const a = stored as Record<string, unknown>;
  const b = storedConfig(given) as unknown as Record<string, unknown>;
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (RESUMABLE_CHANGES.has(key)) continue;
    if (canonicalJson(a[key]) !== canonicalJson(b[key])) {
      throw configError(
        `experiment '${name}' exists with ${key} = ${canonicalJson(a[key])}, but this config has ${canonicalJson(b[key])}; ` +
          'resume it with the same config, or pick another --name',
        key,
      );
    }
  }
}

/** Whether an experiment has no trial, no epoch and no saved state: redefining it loses nothing. */
async function neverRan(store: Store, experimentId: number): Promise<boolean> {
  const counts = await store.countTrials(experimentId);
  if (Object.values(counts).some((n) => n > 0)) return false;
  if ((await store.listEpochs(experimentId)).length > 0) return false;
  return (await store.loadStrategyState(experimentId)) === null;
}

/** A queue entry: one asked sample and its trial. */
interface Asked {
  sample: Sample;
  /** What the strategy attached to it, for the estimator. */
  metadata: TrialMetadata | undefined;
  trial: Trial;
  outcome?: TrialOutcome;
}

/**
 * Runs (or resumes) the experiment, holding its lease (lease.ts) from the
 * moment it is opened to the end: another process running it is refused.
 */
export async function runExperiment(o: RunOptions): Promise<RunResult> {
  const held: { lease?: ExperimentLease } = {};
  try {
    return await runLeased(o, held);
  } finally {
    await held.lease?.release();
  }
}

async function runLeased(o: RunOptions, held: { lease?: ExperimentLease }): Promise<RunResult> {
  const { store, config } = o;
  const name = o.name ?? config.name;
  if (!name) throw configError('expected an experiment name (config name: or --name)', 'name');
  const workerId = o.workerId ?? `pid${process.pid}`;
  const queued = config.execution?.queue === 'pgboss';
  if (queued && store.kind !== 'postgres') {
    throw configError(`queue pgboss hands trials to workers through PostgreSQL, but the storage is ${store.kind}; use --storage postgres://... or execution.queue local`, 'execution.queue');
  }
  const leased = async (experiment: Experiment): Promise<Experiment> => {
    await held.lease?.release();
    held.lease = await takeExperimentLease(store, experiment, o.leaseMs);
    return experiment;
  };
  const create = async (): Promise<Experiment | null> => {
    try {
      return await leased(await store.createExperiment(name, storedConfig(config) as unknown as Json));
    } catch (e) {
      // Another process created it a moment ago: it is then opened as an existing one.
      if (e instanceof TsnasError && e.code === 'state' && (await store.getExperiment(name)) !== null) return null;
      throw e;
    }
  };
  // The lease is taken before anything is compared or written, so that another process's run is never changed.
  const openExperiment = async (): Promise<Experiment> => {
    const existing = await store.getExperiment(name);
    if (!existing) return (await create()) ?? openExperiment();
    await leased(existing);
    try {
      checkSameExperiment(existing.config, config, name);
    } catch (e) {
      // An experiment that never ran anything may be redefined: nothing of it would be lost.
      if (!(await neverRan(store, existing.id))) throw e;
      await store.deleteExperiment(name);
      return (await create()) ?? openExperiment();
    }
    return existing;
  };
  const checkLease = () => held.lease?.check();
  // A strategy object replaces the config's strategy, weight-sharing methods included.
  const weightSharing = o.strategy ? undefined : findWeightSharingMethod(config.strategy.name);
  if (weightSharing) {
    const outcome = await runWeightSharingExperiment(store, openExperiment, config, weightSharing, {
      signal: o.signal, beforeWrite: checkLease, onEpoch: o.onEpoch, onPhase: o.onPhase, onFinalEpoch: o.onFinalEpoch, onStart: o.onWeightSharingStart, artifactsDir: o.artifactsDir,
    });
    const counts = await store.countTrials(outcome.experiment.id);
    return { experimentId: outcome.experiment.id, name, told: counts.complete + counts.failed + counts.pruned, finished: !outcome.interrupted, interrupted: outcome.interrupted, counts };
  }
  const resumed = (await store.getExperiment(name)) !== null;
  const space = configSpace(config);
  if (o.estimator) checkGivenEstimator(config, o.estimator);
  if (queued && !o.evaluator && !o.estimator && !o.queueEvaluator) throw new TsnasError('internal', 'execution.queue pgboss: runExperiment needs RunOptions.queueEvaluator');
  // The evaluator and the strategy are built (data read, options checked) before the experiment
  // is written, so that a config they refuse leaves nothing in the store; the queue evaluator
  // needs the stored experiment and comes after it.
  const files = { weightsDir: keptWeightsDir(o.artifactsDir ?? join('runs', name)) };
  let builtEvaluator: Evaluator | undefined = o.evaluator ?? (o.estimator ? inlineEvaluator(config, o.estimator) : queued ? undefined : await createEvaluator(config, files));
  let builtStrategy: Strategy | undefined;
  let experiment: Experiment;
  try {
    const cheap = (s: Sample) => builtEvaluator!.cheapMetrics(s);
    if (builtEvaluator) builtStrategy = buildSearchStrategy(config, space, cheap, o.strategy && borrowed(o.strategy));
    experiment = await openExperiment();
    if (!builtEvaluator) {
      builtEvaluator = await o.queueEvaluator!({ config, store, experiment, storageUrl: o.storageUrl ?? config.storage, files });
      builtStrategy = buildSearchStrategy(config, space, cheap, o.strategy && borrowed(o.strategy));
    }
  } catch (e) {
    builtStrategy?.dispose();
    if (builtEvaluator && !o.evaluator) await builtEvaluator.close();
    throw e;
  }
  const evaluator: Evaluator = builtEvaluator;
  const strategy: Strategy = builtStrategy!;
  const experimentId = experiment.id;
  const batchSize = batchOf(config);
  const signal = o.signal;
  const aborted = () => signal?.aborted === true;
  const onAbort = () => evaluator.interrupt();
  signal?.addEventListener('abort', onAbort, { once: true });
  const startedAt = Date.now();
  let elapsedBefore = 0;
  // Serialises every store write of this loop, so states are saved in telling order.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(() => {
      checkLease();
      return fn();
    });
    chain = next.catch(() => {});
    return next;
  };

  try {
    await store.setExperimentStatus(experimentId, 'running');
    // Trials handed over stay with their workers (stale ones are requeued by the evaluator).
    const requeued = evaluator.handOver ? [] : await store.requeueRunning(experimentId);
    const saved = await store.loadStrategyState(experimentId);
    if (saved) {
      const s = saved.state as unknown as SavedState;
      strategy.setState(s.strategy);
      elapsedBefore = s.elapsedMs;
      if (strategy.history().length !== saved.toldCount) {
        throw new TsnasError('state', `experiment '${name}': the saved strategy state has ${strategy.history().length} told trials but was saved with toldCount ${saved.toldCount}`);
      }
    }
    let told = strategy.history().length;
    const worst = worstValues(config, strategy.history().map((t) => t.objectives));
    o.onStart?.({ resumed, told, budget: config.budget.trials, requeued: requeued.length });

    const queue: Asked[] = [];
    // Asked before the kill and not yet told: their trials exist (created before any state was saved).
    const enqueue = async (sample: Sample) => queue.push({ sample, metadata: strategy.trialMetadata?.(sample), trial: await trialFor(store, experimentId, space, sample) });
    for (const sample of strategy.getState().pending) await enqueue(sample);

    let toldThisCall = 0;
    const timeUp = () => config.budget.minutes !== undefined && elapsedBefore + (Date.now() - startedAt) >= config.budget.minutes * 60_000;
    const stopRequested = () => o.stopAfter !== undefined && toldThisCall >= o.stopAfter;
    const bestOf = () => bestValue(config, strategy);

    /** Tells the known prefix of the queue; returns the state to save with the trial that completed it. */
    const tellReady = (): { state: Json; toldCount: number } | undefined => {
      let any = false;
      while (queue.length > 0 && queue[0]!.outcome) {
        const head = queue.shift()!;
        const objectives = objectivesToTell(config, head.outcome!, worst);
        strategy.tell(head.sample, objectives);
        noteWorst(config, worst, objectives);
        told++;
        toldThisCall++;
        any = true;
        o.onTrial?.({ told, budget: config.budget.trials, trial: head.trial, best: bestOf() });
      }
      if (!any) return undefined;
      const state: SavedState = { strategy: strategy.getState(), elapsedMs: elapsedBefore + (Date.now() - startedAt) };
      return { state: state as unknown as Json, toldCount: told };
    };

    /** Records an outcome: the trial finishes in the store, with the strategy state when it lets the queue head be told. */
    const finish = (item: Asked, outcome: TrialOutcome, claimed: boolean) =>
      serial(async () => {
        item.outcome = outcome;
        const isHead = queue[0] === item;
        const strategyState = isHead ? tellReady() : undefined;
        item.trial = await store.finishTrial(item.trial.id, outcome, { ...(claimed ? { workerId } : {}), ...(strategyState ? { strategyState } : {}) });
      });

    /** Records a trial another process finished: the state is saved on its own (a resume tells the trial from the store either way). */
    const finishedElsewhere = (item: Asked, trial: Trial) =>
      serial(async () => {
        item.trial = trial;
        item.outcome = outcomeOf(trial);
        const strategyState = queue[0] === item ? tellReady() : undefined;
        if (strategyState) await store.saveStrategyState(experimentId, strategyState.state, strategyState.toldCount);
      });

    // Outcomes already in the store (finished before the kill, not yet told).
    for (const item of queue) if (isDone(item.trial)) item.outcome = outcomeOf(item.trial);
    const firstState = tellReady();
    if (firstState) await store.saveStrategyState(experimentId, firstState.state, firstState.toldCount);

    let exhausted = false;
    while (told < config.budget.trials && !stopRequested() && !aborted()) {
      // A synchronous store resolves every await at once: yield so that signals (Ctrl-C) are seen.
      await nextTurn();
      if (aborted()) break;
      if (queue.length === 0) {
        if (timeUp()) break;
        const n = Math.min(batchSize, config.budget.trials - told);
        if (strategy instanceof ScreenedStrategy && !(await strategy.prepare(n, signal))) break;
        if (aborted()) break;
        const asked = strategy.ask(n);
        if (asked.length === 0) {
          exhausted = true;
          break;
        }
        for (const sample of asked) await enqueue(sample);
        for (const item of queue) if (isDone(item.trial)) item.outcome = outcomeOf(item.trial);
      }
      if (evaluator.handOver) await handOverQueue(queue.slice(), evaluator, config, finish, finishedElsewhere, aborted);
      else await runQueue(queue.slice(), evaluator, store, experimentId, workerId, config, finish, serial, aborted);
      await chain;
      if (aborted()) break;
      if (queue.length > 0 && queue.every((q) => q.outcome)) {
        const state = tellReady();
        if (state) await store.saveStrategyState(experimentId, state.state, state.toldCount);
      }
    }
    checkLease();
    if (aborted()) {
      // Trials in flight were stopped: they run again on resume.
      await chain.catch(() => {});
      await store.requeueRunning(experimentId);
      await store.setExperimentStatus(experimentId, 'stopped');
      return { experimentId, name, told, finished: false, interrupted: true, counts: await store.countTrials(experimentId) };
    }
    const finished = told >= config.budget.trials || exhausted || (queue.length === 0 && timeUp());
    await store.setExperimentStatus(experimentId, finished ? 'finished' : 'stopped');
    return { experimentId, name, told, finished, interrupted: false, counts: await store.countTrials(experimentId) };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await chain.catch(() => {});
    if (!o.evaluator) await evaluator.close();
    strategy.dispose();
  }
}

/** A caller's estimator runs in this thread, and must produce every objective. */
function checkGivenEstimator(config: ExperimentConfig, estimator: TrialEstimator): void {
  if (config.parallel > 1) throw configError(`expected 1 with an estimator object, found ${config.parallel}: it evaluates in this thread, one trial at a time`, 'parallel');
  if (config.execution?.queue === 'pgboss') throw configError('expected local with an estimator object: queue workers build their estimator from the config', 'execution.queue');
  config.objectives.forEach((objective, i) => {
    if (!(objective.name in estimator.metrics)) {
      throw configError(`the given estimator does not produce ${JSON.stringify(objective.name)}; it declares ${Object.keys(estimator.metrics).join(', ') || 'no metric'}`, `objectives[${i}]`);
    }
  });
}

/** A caller's strategy, used but never disposed by the loop (its owner does that). */
function borrowed(strategy: Strategy): Strategy {
  return {
    get name() {
      return strategy.name;
    },
    ask: (n) => strategy.ask(n),
    trialMetadata: (sample) => strategy.trialMetadata?.(sample),
    tell: (sample, objectives) => strategy.tell(sample, objectives),
    history: () => strategy.history(),
    best: () => strategy.best(),
    getState: () => strategy.getState(),
    setState: (state) => strategy.setState(state),
    dispose: () => {},
  };
}

const isDone = (t: Trial) => t.state === 'complete' || t.state === 'failed' || t.state === 'pruned';

function outcomeOf(t: Trial): TrialOutcome {
  if (t.state === 'complete') return { state: 'complete', metrics: t.metrics ?? {} };
  if (t.state === 'failed') return { state: 'failed', error: t.error ?? 'failed' };
  return { state: 'pruned', ...(t.metrics ? { metrics: t.metrics } : {}), ...(t.error ? { reason: t.error } : {}) };
}

/**
 * The outcome of an evaluation as the store keeps it: failed, pruned when
 * its metrics break a constraint, else complete; undefined when it was
 * interrupted (the trial runs again).
 */
export function trialOutcomeOf(config: ExperimentConfig, outcome: EvalOutcome): TrialOutcome | undefined {
  if (!outcome.ok) return outcome.interrupted ? undefined : { state: 'failed', error: outcome.error };
  const broken = brokenConstraint(config.constraints, outcome.metrics);
  return broken
    ? { state: 'pruned', metrics: outcome.metrics, reason: `breaks ${broken.text} (${broken.metric} = ${outcome.metrics[broken.metric]})` }
    : { state: 'complete', metrics: outcome.metrics };
}

/** The cheap-metric constraint a sample breaks, as a pruned outcome (undefined when none). */
function prunedBeforeRunning(config: ExperimentConfig, evaluator: Evaluator, sample: Sample): TrialOutcome | undefined {
  const cheap = evaluator.cheapMetrics(sample);
  const broken = brokenConstraint(config.constraints, cheap);
  return broken ? { state: 'pruned', metrics: cheap, reason: `breaks ${broken.text} (${broken.metric} = ${cheap[broken.metric]})` } : undefined;
}

/**
 * runQueue for an evaluator whose trials other processes claim and finish
 * (evaluator.handOver): up to evaluator.slots trials are handed over at
 * once, in queue order; each is recorded once the store has it finished.
 */
async function handOverQueue(
  items: Asked[],
  evaluator: Evaluator,
  config: ExperimentConfig,
  finish: (item: Asked, outcome: TrialOutcome, claimed: boolean) => Promise<void>,
  finishedElsewhere: (item: Asked, trial: Trial) => Promise<void>,
  aborted: () => boolean,
): Promise<void> {
  const running = new Set<Promise<void>>();
  for (const item of items.filter((i) => !i.outcome)) {
    const pruned = prunedBeforeRunning(config, evaluator, item.sample);
    if (pruned) {
      await finish(item, pruned, false);
      continue;
    }
    while (running.size >= evaluator.slots) await Promise.race(running);
    if (aborted()) break;
    const job = (async () => {
      const trial = await evaluator.handOver!({ trialId: item.trial.id, sample: item.sample, metadata: item.metadata });
      // Null: interrupted; the trial stays where it is and the stopped run requeues it.
      if (trial) await finishedElsewhere(item, trial);
    })();
    const tracked = job.finally(() => running.delete(tracked));
    running.add(tracked);
  }
  await Promise.all(running);
}

async function trialFor(store: Store, experimentId: number, space: DefinedSpace, sample: Sample): Promise<Trial> {
  return (await store.createTrial(experimentId, sample as unknown as Json, space.hash(sample))).trial;
}

/**
 * Runs every queued trial that has no outcome yet, up to evaluator.slots at
 * once, each claimed from the store (pending trials of this experiment are
 * exactly the queued ones, lowest number first).
 */
async function runQueue(
  items: Asked[],
  evaluator: Evaluator,
  store: Store,
  experimentId: number,
  workerId: string,
  config: ExperimentConfig,
  finish: (item: Asked, outcome: TrialOutcome, claimed: boolean) => Promise<void>,
  serial: <T>(fn: () => Promise<T>) => Promise<T>,
  aborted: () => boolean,
): Promise<void> {
  const todo = items.filter((i) => !i.outcome);
  // Constraints on cheap metrics (params, flops) prune before anything runs.
  const runnable: Asked[] = [];
  for (const item of todo) {
    const pruned = prunedBeforeRunning(config, evaluator, item.sample);
    if (pruned) await finish(item, pruned, false);
    else runnable.push(item);
  }
  const byId = new Map(runnable.map((i) => [i.trial.id, i]));
  const running = new Set<Promise<void>>();
  const heartbeat = setInterval(() => {
    for (const item of byId.values()) if (item.trial.state === 'running') void serial(() => store.heartbeat(item.trial.id, workerId)).catch(() => {});
  }, 10_000);
  try {
    for (let left = runnable.length; left > 0; left--) {
      while (running.size >= evaluator.slots) await Promise.race(running);
      if (aborted()) break;
      const claimed = await serial(() => store.claimTrial(experimentId, workerId));
      if (!claimed) throw new TsnasError('state', `experiment ${experimentId}: expected a pending trial to claim, found none`);
      const item = byId.get(claimed.id);
      if (!item) {
        // Only a strategy that does not replay its asks could leave such a trial; it never runs.
        await serial(() => store.finishTrial(claimed.id, { state: 'pruned', reason: 'not asked by the resumed strategy' }, { workerId }));
        left++;
        continue;
      }
      item.trial = claimed;
      const writes: Promise<void>[] = [];
      const job = (async () => {
        const outcome = await evaluator.run({ trialId: claimed.id, sample: item.sample, metadata: item.metadata }, (metric, step, value) => {
          if (Number.isFinite(value)) writes.push(serial(() => store.reportIntermediate(claimed.id, metric, step, value)));
        });
        await Promise.all(writes);
        const result = trialOutcomeOf(config, outcome);
        // Stopped mid-run: left running here, requeued by the interrupted run.
        if (!result) return;
        await finish(item, result, true);
      })();
      const tracked = job.finally(() => running.delete(tracked));
      running.add(tracked);
    }
    await Promise.all(running);
  } finally {
    clearInterval(heartbeat);
  }
}

/** Worst value seen of each objective (for telling failed and pruned trials). */
function worstValues(config: ExperimentConfig, told: readonly Objectives[]): Map<string, number> {
  const worst = new Map<string, number>();
  for (const objectives of told) noteWorst(config, worst, objectives);
  return worst;
}

function noteWorst(config: ExperimentConfig, worst: Map<string, number>, objectives: Objectives): void {
  for (const o of config.objectives) {
    const v = objectives[o.name];
    if (v === undefined || !Number.isFinite(v)) continue;
    const w = worst.get(o.name);
    if (w === undefined || (o.direction === 'max' ? v < w : v > w)) worst.set(o.name, v);
  }
}

/**
 * What the strategy hears about a trial: its metrics when complete; for a
 * failed or pruned trial, the worst value seen so far of each objective it
 * is judged on (its own cost numbers are kept), so strategies steer away
 * from it without a made-up scale.
 */
export function objectivesToTell(config: ExperimentConfig, outcome: TrialOutcome, worst: Map<string, number>): Objectives {
  const metrics: Metrics = { ...((outcome.state !== 'failed' && outcome.metrics) || {}) };
  if (outcome.state === 'complete') return metrics;
  const [primary] = config.objectives;
  for (const o of config.objectives) {
    const own = metrics[o.name];
    if (o !== primary && own !== undefined) continue;
    const w = worst.get(o.name);
    metrics[o.name] = w ?? (o.direction === 'max' ? 0 : 1);
  }
  return metrics;
}

function bestValue(config: ExperimentConfig, strategy: Strategy): number | undefined {
  const primary = config.objectives[0]!;
  let best: number | undefined;
  for (const t of strategy.history()) {
    const v = t.objectives[primary.name];
    if (v === undefined) continue;
    if (best === undefined || (primary.direction === 'max' ? v > best : v < best)) best = v;
  }
  return best;
}
