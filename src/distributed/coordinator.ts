// The coordinator's side of execution.queue pgboss: an Evaluator whose
// trials run on `tsnas worker` processes (any machine reaching the
// database). The experiment loop (run.ts) stays as it is: it hands a trial
// over (handOver) and gets it back finished.
//
// How results come back: from the store. A worker finishes the trial there
// itself (finishTrial with its worker id), so a result is safe the moment
// it exists, whatever happens to the coordinator; the coordinator polls the
// trials it handed over. pg-boss job completion is only bookkeeping.
//
// Keeping the work alive, every `pollMs`:
//   - requeueStale: running trials whose worker stopped heartbeating (killed,
//     machine lost) go back to pending; their late result, if any, is refused
//     by the store (finishTrial checks the worker id), so a trial is never
//     finished twice;
//   - tokens: every handed-over trial that is pending needs a queued job. When
//     pending trials outnumber queued jobs (a job was lost with its worker,
//     or the trial was requeued), new jobs are sent, but only for trials
//     pending longer than a grace period (a fetched job claims within
//     milliseconds). Counting queued jobs, not sent ones, is what makes a
//     restarted coordinator reuse the jobs its predecessor left queued
//     instead of sending duplicates.
// A spare job is harmless: its trial is no longer pending, so the worker
// completes it without running anything (while it waits in the queue it may
// hide a trial whose job was lost, until a worker takes it: moments later).
import { resolve as resolvePath } from 'node:path';
import type PgBoss from 'pg-boss';
import { TsnasError } from '../errors.js';
import { cheapMetricsFunction, type EstimatorFiles } from '../experiment/estimators.js';
import type { ExperimentConfig } from '../experiment/config.js';
import type { EvalJob, Evaluator } from '../experiment/evaluator.js';
import type { Experiment, Store, Trial } from '../store/types.js';
import type { TrialMetadata } from '../strategies/types.js';
import { isFinished } from '../store/types.js';
import { ensureTrialQueue, JOB_EXPIRE_SECONDS, openBoss, postgresUrl, type TrialJobData } from './queue.js';

export interface QueueEvaluatorOptions {
  config: ExperimentConfig;
  store: Store;
  experiment: Experiment;
  storageUrl: string | undefined;
  /** The experiment's files, sent to the workers with each job. */
  files?: EstimatorFiles;
  /** How often handed-over trials are checked (default 500 ms). */
  pollMs?: number;
  /** Called with a line on each recovery (requeued or re-sent trials). */
  log?: (line: string) => void;
}

interface Waiter {
  trialId: number;
  metadata: TrialMetadata | undefined;
  resolve: (trial: Trial | null) => void;
  /** When a job was last sent for it (0: never). */
  sentAt: number;
}

export async function queueEvaluator(o: QueueEvaluatorOptions): Promise<Evaluator> {
  const { config, store, experiment } = o;
  const execution = config.execution;
  if (!execution || execution.queue !== 'pgboss') throw new TsnasError('internal', 'queueEvaluator needs execution.queue pgboss');
  const url = postgresUrl(o.storageUrl, 'storage');
  const staleMs = execution.staleSeconds * 1000;
  const heartbeatMs = Math.max(250, Math.floor(staleMs / 4));
  const graceMs = Math.min(staleMs, 10_000);
  const pollMs = o.pollMs ?? 500;
  const log = o.log ?? (() => {});
  const boss: PgBoss = await openBoss(url, { supervise: true });
  let queue: string;
  try {
    queue = await ensureTrialQueue(boss, experiment.id);
  } catch (e) {
    await boss.stop({ graceful: false });
    throw e;
  }
  const cheap = cheapMetricsFunction(config);
  const waiters = new Map<number, Waiter>();
  let interrupted = false;
  let closed = false;
  let failure: unknown;

  const weightsDir = o.files?.weightsDir === undefined ? undefined : resolvePath(o.files.weightsDir);
  const send = ({ trialId, metadata }: Waiter) => {
    const data: TrialJobData = { experiment: experiment.name, experimentId: experiment.id, trialId, heartbeatMs };
    if (metadata !== undefined) data.metadata = metadata;
    if (weightsDir !== undefined) data.weightsDir = weightsDir;
    return boss.send(queue, data, { retryLimit: 0, expireInSeconds: JOB_EXPIRE_SECONDS });
  };

  async function tick(): Promise<void> {
    const requeued = await store.requeueStale(experiment.id, staleMs);
    if (requeued.length > 0) log(`requeued trial(s) ${requeued.join(', ')}: no heartbeat for ${execution!.staleSeconds} s`);
    const pending: Waiter[] = [];
    for (const waiter of [...waiters.values()]) {
      const trial = await store.getTrial(waiter.trialId);
      if (!trial) throw new TsnasError('state', `trial ${waiter.trialId} of experiment '${experiment.name}' disappeared from the store`);
      if (isFinished(trial.state)) {
        waiters.delete(waiter.trialId);
        waiter.resolve(trial);
      } else if (trial.state === 'pending') pending.push(waiter);
    }
    if (pending.length === 0 || interrupted) return;
    const queued = await boss.getQueueSize(queue);
    let missing = pending.length - queued;
    const now = Date.now();
    // Never-sent first, then the longest waiting.
    for (const waiter of pending.sort((a, b) => a.sentAt - b.sentAt)) {
      if (missing <= 0) break;
      if (waiter.sentAt !== 0 && now - waiter.sentAt < graceMs) continue;
      if (waiter.sentAt !== 0) log(`trial ${waiter.trialId} is pending with no job queued for it: sending another`);
      await send(waiter);
      waiter.sentAt = now;
      missing--;
    }
  }

  // One tick at a time; handOver asks for one soon, the timer for one every pollMs.
  let ticking: Promise<void> | undefined;
  let again = false;
  let failedTicks = 0;
  const runTick = (): Promise<void> => {
    if (ticking) {
      again = true;
      return ticking;
    }
    ticking = (async () => {
      do {
        again = false;
        try {
          await tick();
          failedTicks = 0;
        } catch (e) {
          // A short database outage is ridden out; a long one fails the run (the same command resumes it).
          if (++failedTicks * pollMs < Math.max(staleMs, 10_000)) {
            log(`checking handed-over trials failed (${e instanceof Error ? e.message : String(e)}); retrying`);
            continue;
          }
          failure = e;
          for (const w of waiters.values()) w.resolve(null);
          waiters.clear();
        }
      } while (again && !closed);
    })().finally(() => {
      ticking = undefined;
    });
    return ticking;
  };
  const timer = setInterval(() => void runTick(), pollMs);

  return {
    slots: execution.inFlight,
    threadsPerTrial: config.threads ?? 1,
    cheapMetrics: cheap,
    async run() {
      throw new TsnasError('internal', 'the pgboss evaluator runs no trial itself; the loop hands trials over');
    },
    async handOver(job: EvalJob): Promise<Trial | null> {
      if (failure) throw failure;
      if (interrupted) return null;
      const result = new Promise<Trial | null>((resolve) => waiters.set(job.trialId, { trialId: job.trialId, metadata: job.metadata, resolve, sentAt: 0 }));
      void runTick();
      const trial = await result;
      if (failure) throw failure;
      return trial;
    },
    interrupt() {
      if (interrupted) return;
      interrupted = true;
      for (const w of waiters.values()) w.resolve(null);
      waiters.clear();
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await ticking;
      for (const w of waiters.values()) w.resolve(null);
      waiters.clear();
      try {
        // Jobs nobody fetched yet: a resumed run sends what it needs again
        // (and reuses what is left when the database is gone now: a spare
        // job is harmless), so a failure here must not hide the run's error.
        await boss.purgeQueue(queue).catch(() => {});
      } finally {
        await boss.stop({ graceful: false, wait: true }).catch(() => {});
      }
    },
  };
}
