// `tsnas worker`: takes trial jobs from the pg-boss queues of the store's
// database and runs them, on any machine that reaches the database.
//
// For each job: the experiment's config comes from the store; the job's
// trial is claimed with the store's claimTrial (atomic, so one trial never
// runs on two workers at once); it runs with the job's trial metadata (as
// a local run passes it) on an evaluator built by the same code as a
// local run (pool.ts createEvaluator: training in a worker thread, so this
// thread keeps heartbeating); learning curves go to the store as they come;
// the outcome (constraints applied as run.ts does) is written with
// finishTrial under this worker's id, which the store refuses if the trial
// was meanwhile requeued (this worker was presumed dead) — a trial is
// never finished twice. Then the job is completed.
//
// Ctrl-C (signal): no new job is taken, running trials are stopped and put
// back to pending at once with a new job each (they run again elsewhere),
// their jobs are failed, and runWorker returns interrupted.
// SIGKILL: the trial keeps its stale heartbeat until the coordinator
// requeues it (execution.staleSeconds) and sends a new job.
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type PgBoss from 'pg-boss';
import { TsnasError } from '../errors.js';
import type { ExperimentConfig } from '../experiment/config.js';
import type { EstimatorFiles } from '../experiment/estimators.js';
import { trialEstimatorConfig } from '../experiment/config.js';
import type { Evaluator } from '../experiment/evaluator.js';
import { inlineEvaluator, workerEvaluator } from '../experiment/pool.js';
import { trialOutcomeOf } from '../experiment/run.js';
import { openStore } from '../store/index.js';
import { defaultThreads } from '../tensor/index.js';
import type { Experiment, Trial, TrialOutcome } from '../store/types.js';
import { openBoss, postgresUrl, trialQueueName, type TrialJobData, type TrialJobResult } from './queue.js';

export interface WorkerOptions {
  /** postgres:// URL of the experiment store (the queue lives in the same database). */
  storageUrl: string;
  /** Trials run at once (default 1). */
  concurrency?: number;
  /** libtorch threads in all, split between the concurrent trials (default: all cores). */
  threads?: number;
  /** Serve only this experiment (default: every running experiment with execution.queue pgboss). */
  experiment?: string;
  /** Exit once no experiment it serves is running, after having seen one running (instead of waiting for new ones). */
  once?: boolean;
  /** Prefix of the worker ids written to trials (default HOST:PID); slot i is PREFIX/i. */
  workerId?: string;
  signal?: AbortSignal;
  /** Idle wait between polls of the queues (default 500 ms, the shortest pg-boss allows its own pollers). */
  pollMs?: number;
  log?: (line: string) => void;
}

export interface WorkerResult {
  /** Trials this worker finished. */
  finished: number;
  /** Trials it put back to pending on interruption. */
  released: number[];
  interrupted: boolean;
}

interface Served {
  experiment: Experiment;
  queue: string;
}

/** One concurrent trial's state: its evaluators (one per experiment) and what it runs now. */
interface Slot {
  id: string;
  evaluators: Map<number, Evaluator>;
  current?: { trial: Trial; evaluator: Evaluator; lost: boolean };
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export async function runWorker(o: WorkerOptions): Promise<WorkerResult> {
  const url = postgresUrl(o.storageUrl);
  const concurrency = o.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new TsnasError('usage', `expected an integer >= 1, got ${concurrency}`, { where: '--concurrency' });
  const threadsEach = Math.max(1, Math.floor((o.threads ?? defaultThreads()) / concurrency));
  const prefix = o.workerId ?? `${hostname()}:${process.pid}`;
  const pollMs = o.pollMs ?? 500;
  const log = o.log ?? (() => {});
  const signal = o.signal;
  const stopping = () => signal?.aborted === true;

  const store = await openStore(url);
  if (o.experiment !== undefined && (await store.getExperiment(o.experiment)) === null) {
    // A typo would otherwise wait for ever; the coordinator creates the experiment, so start it first.
    const names = (await store.listExperiments()).map((e) => e.name);
    await store.close();
    throw new TsnasError('usage', `no experiment named '${o.experiment}' in this store (it has ${names.length ? names.join(', ') : 'none'}); start its coordinator (tsnas search ... --execution.queue pgboss) first`, { where: '--experiment' });
  }
  let boss: PgBoss;
  try {
    boss = await openBoss(url, { supervise: false });
  } catch (e) {
    await store.close();
    throw e;
  }
  const slots: Slot[] = Array.from({ length: concurrency }, (_, i) => ({ id: `${prefix}/${i}`, evaluators: new Map() }));
  const result: WorkerResult = { finished: 0, released: [], interrupted: false };
  const onAbort = () => {
    for (const slot of slots) slot.current?.evaluator.interrupt();
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  // The experiments served, refreshed at most every pollMs (shared by the slots).
  let servedCache: { at: number; list: Served[] } | undefined;
  // --once waits for a first running experiment, so that workers may start before their coordinator.
  let sawWork = false;
  async function served(): Promise<Served[]> {
    if (servedCache && Date.now() - servedCache.at < pollMs) return servedCache.list;
    const candidates = o.experiment !== undefined ? [await store.getExperiment(o.experiment)].filter((e): e is Experiment => e !== null) : await store.listExperiments();
    // An experiment has a queue once a coordinator ran it with execution.queue pgboss.
    const queues = new Set((await boss.getQueues()).map((q) => q.name));
    const list = candidates
      .filter((e) => e.status === 'running' && queues.has(trialQueueName(e.id)))
      .map((experiment) => ({ experiment, queue: trialQueueName(experiment.id) }));
    servedCache = { at: Date.now(), list };
    if (list.length > 0) sawWork = true;
    return list;
  }

  /** The next job of any served queue (round robin), or null. */
  let turn = 0;
  async function nextJob(): Promise<{ job: PgBoss.Job<TrialJobData>; queue: string } | 'none' | 'idle'> {
    const list = await served();
    if (list.length === 0) return 'none';
    for (let i = 0; i < list.length; i++) {
      const { queue } = list[(turn + i) % list.length]!;
      const [job] = await boss.fetch<TrialJobData>(queue, { batchSize: 1 });
      if (job) {
        turn = (turn + i + 1) % list.length;
        return { job, queue };
      }
    }
    return 'idle';
  }

  async function evaluatorFor(slot: Slot, experiment: Experiment, files: EstimatorFiles): Promise<Evaluator> {
    let evaluator = slot.evaluators.get(experiment.id);
    if (!evaluator) {
      const config: ExperimentConfig = { ...(experiment.config as unknown as ExperimentConfig), parallel: 1, threads: threadsEach };
      // Table lookups inline; anything longer (training, proxies) in a worker
      // thread, so that this thread keeps heartbeating and sees Ctrl-C.
      evaluator = trialEstimatorConfig(config.estimator).kind === 'benchmark' ? inlineEvaluator(config, undefined, files) : await workerEvaluator(config, 1, files);
      slot.evaluators.set(experiment.id, evaluator);
    }
    return evaluator;
  }

  async function dropEvaluator(slot: Slot, experimentId: number): Promise<void> {
    const evaluator = slot.evaluators.get(experimentId);
    slot.evaluators.delete(experimentId);
    await evaluator?.close();
  }

  async function runJob(slot: Slot, job: PgBoss.Job<TrialJobData>, queue: string): Promise<void> {
    const data = job.data;
    const complete = (r: TrialJobResult) => boss.complete(queue, job.id, r as unknown as object);
    const experiment = await store.getExperimentById(data.experimentId);
    if (!experiment || experiment.name !== data.experiment) {
      log(`${slot.id}: job for experiment '${data.experiment}' (id ${data.experimentId}), which this store does not have; skipped`);
      await complete({ workerId: slot.id, trialId: null });
      return;
    }
    const config = experiment.config as unknown as ExperimentConfig;
    const trial = await store.claimTrial(experiment.id, slot.id, { trialId: data.trialId });
    if (!trial) {
      // A spare job (its trial is running on another job's worker, or finished).
      await complete({ workerId: slot.id, trialId: null });
      return;
    }
    const started = Date.now();
    const current: NonNullable<Slot['current']> = { trial, evaluator: undefined as unknown as Evaluator, lost: false };
    const heartbeat = setInterval(() => {
      store.heartbeat(trial.id, slot.id).then(
        (alive) => {
          if (!alive && !current.lost) {
            // Requeued (we were presumed dead) or the coordinator stopped: stop it, its result would be refused.
            current.lost = true;
            log(`${slot.id}: trial ${trial.id} was taken back (requeued); stopping it`);
            current.evaluator?.interrupt();
          }
        },
        () => {},
      );
    }, data.heartbeatMs);
    let writes: Promise<unknown> = Promise.resolve();
    /** Finishes the trial under this worker's id; the store refuses when it was taken back meanwhile. */
    const finish = async (outcome: TrialOutcome): Promise<void> => {
      try {
        await store.finishTrial(trial.id, outcome, { workerId: slot.id });
      } catch (e) {
        if (!(e instanceof TsnasError && e.code === 'state')) throw e;
        log(`${slot.id}: result of trial ${trial.id} dropped: ${e.message}`);
        await complete({ workerId: slot.id, trialId: trial.id, state: 'dropped' });
        return;
      }
      result.finished++;
      log(`${slot.id}: trial ${trial.id} (#${trial.number} of ${experiment.name}) ${outcome.state} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      await complete({ workerId: slot.id, trialId: trial.id, state: outcome.state });
    };
    try {
      let evaluator: Evaluator;
      try {
        // The files are the experiment's, the same in each of its jobs.
        evaluator = await evaluatorFor(slot, experiment, data.weightsDir === undefined ? {} : { weightsDir: data.weightsDir });
      } catch (e) {
        await finish({ state: 'failed', error: `worker ${slot.id} could not build the estimator: ${errorText(e)}` });
        return;
      }
      current.evaluator = evaluator;
      slot.current = current;
      if (stopping()) evaluator.interrupt();
      const evaluated = await evaluator.run({ trialId: trial.id, sample: trial.sample as never, metadata: data.metadata }, (metric, step, value) => {
        if (!Number.isFinite(value)) return;
        writes = writes.then(() => store.reportIntermediate(trial.id, metric, step, value)).catch(() => {});
      });
      await writes;
      slot.current = undefined;
      const outcome = trialOutcomeOf(config, evaluated);
      if (!outcome) {
        // Stopped: its worker thread is gone, build a fresh evaluator next time.
        await dropEvaluator(slot, experiment.id);
        if (current.lost) {
          await complete({ workerId: slot.id, trialId: trial.id, state: 'taken back' });
          return;
        }
        if (await store.releaseTrial(trial.id, slot.id)) {
          result.released.push(trial.id);
          await boss.send(queue, data satisfies TrialJobData, { retryLimit: 0 });
          log(`${slot.id}: trial ${trial.id} put back to pending (runs again elsewhere)`);
        }
        await boss.fail(queue, job.id, { workerId: slot.id, trialId: trial.id, state: 'released' });
        return;
      }
      await finish(outcome);
    } finally {
      clearInterval(heartbeat);
      slot.current = undefined;
    }
  }

  const pause = () => sleep(pollMs, undefined, signal ? { signal } : {}).catch(() => {});

  async function slotLoop(slot: Slot): Promise<void> {
    while (!stopping()) {
      try {
        const next = await nextJob();
        if (next === 'none' && o.once && sawWork) return;
        if (typeof next === 'string') {
          await pause();
          continue;
        }
        if (stopping()) {
          // Fetched as Ctrl-C came: give the job back for another worker.
          await boss.fail(next.queue, next.job.id, { workerId: slot.id, trialId: null, state: 'released' });
          await boss.send(next.queue, next.job.data as object, { retryLimit: 0 });
          return;
        }
        await runJob(slot, next.job, next.queue);
      } catch (e) {
        // E.g. the database went away: keep serving once it is back; a trial
        // left running here is requeued when its heartbeat goes stale.
        log(`${slot.id}: ${errorText(e)}; retrying`);
        await pause();
      }
    }
  }

  try {
    await Promise.all(slots.map(slotLoop));
    result.interrupted = stopping();
    return result;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    for (const slot of slots) for (const e of slot.evaluators.values()) await e.close();
    await boss.stop({ graceful: false, wait: true });
    await store.close();
  }
}

