// The main job (`npm start`, `tsnas main`): a search on Fashion-MNIST in
// four resumable phases, each an experiment in the store:
//   NAME.screen  zero-cost proxies (synflow, nwot) of `candidates` random
//                NAS-Bench-201 cells of a small network at reduced resolution;
//   NAME.rungR   successive halving of the best by summed proxy rank: every
//                survivor trained from scratch for eta^R epochs on a training
//                subset and scored on held-out images, the best 1/eta go on;
//   NAME.final   the winner trained on the full training set, then evaluated
//                on the test set (per-epoch test accuracy is recorded as its
//                learning curve, never used for any choice);
// then runs/NAME/report.html, the winner's weights (safetensors) and cell.
// Stopping at any moment and running the same command again continues:
// finished trials are kept, a trial that was running starts over. With
// `signal` (Ctrl-C in the CLI) it stops cleanly: training runs in worker
// threads, so an abort stops it at once; the phase's running trial goes back
// to pending, its experiment is marked 'stopped', and runMainJob throws
// MainJobInterrupted.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { TsnasError, configError } from '../errors.js';
import { nb201Space } from '../spaces/nb201.js';
import type { Sample } from '../spaces/types.js';
import type { Experiment, Json, Store, Trial } from '../store/types.js';
import { canonicalJson } from '../spaces/space.js';
import { getNumThreads } from '../tensor/index.js';
import { ProgressBar } from '../util/progress.js';
import { checkConfig, type ExperimentConfig } from './config.js';
import { finalTrainingInWorker } from './final.js';
import { checkSpaceInput, exportWeightsToOnnx } from '../kits/index.js';
import { datasetSource } from '../data/spec.js';
import { workerEvaluator } from './pool.js';
import { runExperiment } from './run.js';
import { renderReport, table, writeHtml, learningCurves, type Section } from '../report/html.js';
import { experimentSections } from './report.js';
import { lineChart, scatterChart } from '../report/charts.js';
import { paretoIndices } from './summary.js';
import { sampleToSvg } from '../viz/index.js';
import { isPopulationProxy, perNetworkProxies, type ProxyName } from '../estimators/zero-cost/proxies.js';
import { withPopulationScores } from '../estimators/zero-cost/population.js';
import { writeFileAtomic } from '../util/files.js';
import { takeExperimentLease, type ExperimentLease } from './lease.js';

export interface MainJobOptions {
  name: string;
  store: Store;
  /** Where report.html, the weights and the cell go (default runs/NAME). */
  outDir: string;
  seed: number;
  dataset: string;
  /** Phase 1: random cells scored by zero-cost proxies. */
  candidates: number;
  proxyBatch: number;
  /** The proxies whose summed ranks order the screened cells (default synflow, nwot). */
  proxies?: readonly ProxyName[];
  /** Screening trials at once (worker threads, one libtorch thread each). */
  screenParallel: number;
  /** Network of the search phases: C, N and input resolution. */
  searchChannels: number;
  searchCells: number;
  resolution: number;
  /** Phase 2: cells entering successive halving, eta, epochs of the first rung, training images and held-out images. */
  halvingCandidates: number;
  eta: number;
  halvingEpochs: number;
  halvingTrain: number;
  halvingValid: number;
  /** Phase 3: the final network and its training. */
  finalChannels: number;
  finalCells: number;
  finalResolution: number;
  finalEpochs: number;
  /**
   * Decides the final training's epochs and training images when its phase
   * starts (tsnas fit: from the time left); a resumed final phase keeps what
   * it started with.
   */
  planFinal?: (winner: Sample) => { epochs: number; limitTrain?: number };
  /**
   * When (Date.now() milliseconds) the final training and its evaluations
   * must be done, asked when it starts (a resumed one too): it stops on the
   * clock, its cosine schedule annealing over the time it has (tsnas fit,
   * whose machine may be slower or faster than planned).
   */
  finalDeadline?: () => number;
  /** Hold out this share of the training set in the final training (evaluated each epoch); the test set, if any, is then used once at the end. */
  finalValidFraction?: number;
  /** A constraint on the final network (tsnas fit's --max-params, --target-latency-ms): cells breaking it never enter successive halving. */
  constraint?: { accepts(s: Sample): boolean; text: string; where: string };
  /** The report's title and its first lines (default: the main job's). */
  title?: string;
  intro?: string[];
  /** Use at most this many training images in the final training, and test images in the evaluation (shortened runs). */
  finalLimitTrain?: number;
  limitTest?: number;
  batch: number;
  lr: number;
  threads?: number;
  progress: boolean;
  log: (line: string) => void;
  /** Aborting stops the job cleanly (see above). */
  signal?: AbortSignal;
}

/** Thrown by runMainJob when its signal stopped it; the same call resumes. */
export class MainJobInterrupted extends Error {
  constructor(readonly phase: string) {
    super(`main job interrupted in phase ${phase}`);
    this.name = 'MainJobInterrupted';
  }
}

/** Marks a phase stopped with its running trial back to pending, and throws. */
async function stopPhase(store: Store, experiment: Experiment): Promise<never> {
  await store.requeueRunning(experiment.id);
  await store.setExperimentStatus(experiment.id, 'stopped');
  throw new MainJobInterrupted(experiment.name);
}

export interface MainJobResult {
  arch: string;
  /** Absent where the dataset has no test split (a folder without one, with finalValidFraction). */
  testAccuracy?: number;
  validAccuracy?: number;
  params: number;
  seconds: number;
  report: string;
  weights: string;
  screened: number;
}

const space = nb201Space();

/** A phase's experiment: created, or resumed when its stored config is the same (else a config error: results would mix). */
async function openPhase(store: Store, name: string, config: Json, held: ExperimentLease[]): Promise<Experiment> {
  const existing = await store.getExperiment(name);
  if (existing && canonicalJson(existing.config) !== canonicalJson(config)) {
    throw configError(`phase '${name}' exists with other settings (stored ${canonicalJson(existing.config).slice(0, 300)}); rerun with the same flags to resume, or pick another --name`, '--name');
  }
  const experiment = existing ?? await store.createExperiment(name, config);
  // Held until the job ends: a second process running the same job is refused instead of taking back this one's running trials.
  held.push(await takeExperimentLease(store, experiment));
  return experiment;
}

/**
 * The combined proxy rank: the sum over proxies of each cell's rank (0 =
 * best), ties broken by trial number. Cells lacking a finite per-network
 * proxy are left out; population proxies are aggregated over the cells kept.
 */
export function rankByProxies(trials: readonly Trial[], proxies: readonly ProxyName[]): Trial[] {
  const usable = trials.filter((t) => t.state === 'complete' && proxies.every((p) => isPopulationProxy(p) || Number.isFinite(t.metrics?.[p])));
  const scores = withPopulationScores(usable.map((t) => t.metrics ?? {}), proxies);
  const index = new Map(usable.map((t, i) => [t.id, i]));
  const total = new Map<number, number>();
  for (const p of proxies) {
    const value = (t: Trial) => scores[index.get(t.id)!]![p] ?? -Infinity;
    const order = [...usable].sort((a, b) => value(b) - value(a) || a.number - b.number);
    order.forEach((t, rank) => total.set(t.id, (total.get(t.id) ?? 0) + rank));
  }
  return [...usable].sort((a, b) => total.get(a.id)! - total.get(b.id)! || a.number - b.number);
}

/**
 * Evaluates a fixed list of samples as the trials of one experiment
 * (created once, in list order); finished ones are kept on a rerun.
 */
async function runFixedTrials(store: Store, config: ExperimentConfig, samples: readonly Sample[], label: string, o: MainJobOptions, held: ExperimentLease[]): Promise<Trial[]> {
  const experiment = await openPhase(store, config.name!, config as unknown as Json, held);
  await store.requeueRunning(experiment.id);
  await store.setExperimentStatus(experiment.id, 'running');
  const trials: Trial[] = [];
  for (const s of samples) trials.push((await store.createTrial(experiment.id, s as unknown as Json, space.hash(s))).trial);
  const todo = trials.filter((t) => t.state === 'pending');
  const bar = new ProgressBar(label, trials.length, o.progress);
  bar.update(trials.length - todo.length);
  if (todo.length > 0 && !o.signal?.aborted) {
    // One worker thread with all the libtorch threads: this thread stays free to see Ctrl-C.
    const evaluator = await workerEvaluator({ ...config, threads: o.threads ?? getNumThreads() }, 1);
    const onAbort = () => evaluator.interrupt();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      while (!o.signal?.aborted) {
        const trial = await store.claimTrial(experiment.id, `pid${process.pid}`);
        if (!trial) break;
        const writes: Promise<void>[] = [];
        const outcome = await evaluator.run({ trialId: trial.id, sample: trial.sample as unknown as Sample }, (m, step, v) => {
          if (Number.isFinite(v)) writes.push(store.reportIntermediate(trial.id, m, step, v));
        });
        await Promise.all(writes);
        if (!outcome.ok && outcome.interrupted) break;
        await store.finishTrial(trial.id, outcome.ok ? { state: 'complete', metrics: outcome.metrics } : { state: 'failed', error: outcome.error });
        bar.tick(1, space.format(trial.sample as unknown as Sample).slice(0, 60));
      }
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
      await evaluator.close();
    }
  }
  if (o.signal?.aborted) await stopPhase(store, experiment);
  await store.setExperimentStatus(experiment.id, 'finished');
  return store.listTrials(experiment.id);
}

export async function runMainJob(o: MainJobOptions): Promise<MainJobResult> {
  const held: ExperimentLease[] = [];
  try {
    return await runMainJobLeased(o, held);
  } finally {
    for (const lease of held) await lease.release();
  }
}

async function runMainJobLeased(given: MainJobOptions, held: ExperimentLease[]): Promise<MainJobResult> {
  const start = performance.now();
  // Read now: the screening's worker pool leaves this thread with one libtorch thread.
  const o = { ...given, threads: given.threads ?? getNumThreads() };
  const proxies = o.proxies ?? ['synflow', 'nwot'];
  // Sizes the networks cannot take fail now, named by their flags, not in a phase's workers.
  const source = datasetSource(o.dataset);
  const images = source.load(source.hasTest() ? 'test' : 'train');
  const shape = { numClasses: images.numClasses, inChannels: images.channels };
  checkSpaceInput(nb201Space(), { ...shape, channels: o.searchChannels, cells: o.searchCells, inputSize: o.resolution }, '--resolution');
  checkSpaceInput(nb201Space(), { ...shape, channels: o.finalChannels, cells: o.finalCells, inputSize: o.finalResolution }, '--final-resolution');
  mkdirSync(o.outDir, { recursive: true });

  // ---- phase 1: zero-cost screening ----
  const screenConfig = checkConfig({
    name: `${o.name}.screen`,
    seed: o.seed,
    strategy: { name: 'random' },
    estimator: { kind: 'proxies', proxies, proxyBatch: o.proxyBatch, channels: o.searchChannels, cells: o.searchCells, resolution: o.resolution },
    dataset: { name: o.dataset, validFraction: 0.1 },
    // The search objective does not matter to random search: any metric the proxies give.
    objectives: [perNetworkProxies(proxies)[0]!],
    budget: { trials: o.candidates },
    // Proxies of small networks are dominated by per-op overhead: one trial per core beats threads inside one.
    parallel: o.screenParallel,
    batch: 8,
    threads: o.screenParallel,
  });
  o.log(`main: phase 1/3, zero-cost screening of ${o.candidates} cells (${proxies.join(' + ')}, C=${o.searchChannels} N=${o.searchCells} at ${o.resolution}x${o.resolution})`);
  let bar: ProgressBar | undefined;
  const screening = await runExperiment({
    store: o.store,
    config: screenConfig,
    signal: o.signal,
    onStart: ({ told, budget }) => {
      bar = new ProgressBar('screen', budget, o.progress);
      bar.update(told);
    },
    onTrial: ({ told }) => bar?.update(told),
  });
  if (screening.interrupted) throw new MainJobInterrupted(screenConfig.name!);
  const screenExp = (await o.store.getExperiment(screenConfig.name!))!;
  const screened = await o.store.listTrials(screenExp.id);
  const ranked = rankByProxies(screened, proxies);
  if (ranked.length === 0) throw new TsnasError('state', `no screened cell has finite ${proxies.join(' and ')} scores`);

  // ---- phase 2: successive halving ----
  let survivors: Sample[] = [];
  for (const t of ranked) {
    if (survivors.length === o.halvingCandidates) break;
    const s = t.sample as unknown as Sample;
    if (!o.constraint || o.constraint.accepts(s)) survivors.push(s);
  }
  if (survivors.length === 0) throw configError(`none of the ${ranked.length} screened cells meets ${o.constraint!.text}`, o.constraint!.where);
  const rungs: { name: string; trials: Trial[] }[] = [];
  for (let rung = 0, epochs = o.halvingEpochs; survivors.length > 1; rung++, epochs *= o.eta) {
    const rungConfig = checkConfig({
      name: `${o.name}.rung${rung}`,
      seed: o.seed,
      strategy: { name: 'random' },
      estimator: { kind: 'training', epochs, batch: o.batch, lr: o.lr, channels: o.searchChannels, cells: o.searchCells, resolution: o.resolution },
      dataset: { name: o.dataset, limitTrain: o.halvingTrain + o.halvingValid, validFraction: o.halvingValid / (o.halvingTrain + o.halvingValid) },
      objectives: ['accuracy'],
      budget: { trials: survivors.length },
    });
    o.log(`main: phase 2/3, successive halving rung ${rung}: ${survivors.length} cell(s), ${epochs} epoch(s) on ${o.halvingTrain} images, scored on ${o.halvingValid} held-out`);
    const trials = await runFixedTrials(o.store, rungConfig, survivors, `rung ${rung}`, o, held);
    rungs.push({ name: rungConfig.name!, trials });
    const order = trials.filter((t) => t.state === 'complete').sort((a, b) => b.metrics!['accuracy']! - a.metrics!['accuracy']! || a.number - b.number);
    if (order.length === 0) throw new TsnasError('state', `every cell of rung ${rung} failed: ${trials.map((t) => t.error).join('; ')}`);
    survivors = order.slice(0, Math.max(1, Math.floor(order.length / o.eta))).map((t) => t.sample as unknown as Sample);
  }
  const winner = survivors[0]!;
  const arch = space.format(winner);

  // ---- phase 3: final training and test ----
  const finalName = `${o.name}.final`;
  const stored = (await o.store.getExperiment(finalName))?.config as { epochs: number; limitTrain: number | null } | undefined;
  const planned = stored ? { epochs: stored.epochs, limitTrain: stored.limitTrain ?? undefined } : o.planFinal?.(winner) ?? { epochs: o.finalEpochs, limitTrain: o.finalLimitTrain };
  const finalEpochs = planned.epochs;
  const finalLimitTrain = planned.limitTrain;
  const heldOut = o.finalValidFraction !== undefined ? ` (less ${o.finalValidFraction} held out)` : '';
  const deadline = o.finalDeadline?.();
  const length = deadline !== undefined ? `until ${new Date(deadline).toISOString().slice(11, 19)} UTC` : `${finalEpochs} epoch(s)`;
  o.log(`main: phase 3/3, final training of ${arch} (C=${o.finalChannels} N=${o.finalCells} at ${o.finalResolution}x${o.finalResolution}, ${length} on ${finalLimitTrain ?? 'all'} training images${heldOut})`);
  const finalConfig = {
    name: finalName, seed: o.seed, arch, dataset: o.dataset, channels: o.finalChannels, cells: o.finalCells, resolution: o.finalResolution, epochs: finalEpochs, batch: o.batch, lr: o.lr,
    limitTrain: finalLimitTrain ?? null, limitTest: o.limitTest ?? null, ...(o.finalValidFraction !== undefined ? { validFraction: o.finalValidFraction } : {}),
  };
  const objective = o.finalValidFraction !== undefined ? 'valid_accuracy' : 'test_accuracy';
  const finalExp = await openPhase(o.store, finalName, { ...finalConfig, objectives: [objective], space: { name: 'nb201' } } as unknown as Json, held);
  await o.store.requeueRunning(finalExp.id);
  let finalTrial = (await o.store.createTrial(finalExp.id, winner as unknown as Json, space.hash(winner))).trial;
  const weightsPath = join(o.outDir, 'best.safetensors');
  if (finalTrial.state !== 'complete') {
    if (finalTrial.state !== 'pending') throw new TsnasError('state', `final trial of ${finalName} is ${finalTrial.state}: ${finalTrial.error ?? ''}; delete the experiment to retry`);
    await o.store.setExperimentStatus(finalExp.id, 'running');
    finalTrial = (await o.store.claimTrial(finalExp.id, `pid${process.pid}`))!;
    const writes: Promise<void>[] = [];
    const metrics = await finalTrainingInWorker({
      space: { name: 'nb201', options: {} }, arch, seed: o.seed, dataset: o.dataset, channels: o.finalChannels, cells: o.finalCells, resolution: o.finalResolution,
      epochs: finalEpochs, batch: o.batch, lr: o.lr, limitTrain: finalLimitTrain, limitTest: o.limitTest, validFraction: o.finalValidFraction,
      ...(deadline !== undefined ? { deadline } : {}),
      weightsPath, threads: o.threads ?? getNumThreads(), progress: o.progress,
    }, (r) => {
      const [metric, accuracy] = r.validAccuracy !== undefined ? ['valid_accuracy', r.validAccuracy] as const : ['test_accuracy', r.testAccuracy!] as const;
      writes.push(o.store.reportIntermediate(finalTrial.id, metric, r.epoch, accuracy));
      writes.push(o.store.reportIntermediate(finalTrial.id, 'train_loss', r.epoch, r.trainLoss));
      o.log(`final: epoch ${r.epoch}${deadline === undefined ? `/${finalEpochs}` : ''} train loss ${r.trainLoss.toFixed(4)}, train accuracy ${r.trainAccuracy.toFixed(4)}, ${metric.replace('_', ' ')} ${accuracy.toFixed(4)}`);
    }, o.signal);
    await Promise.all(writes);
    if (!metrics) await stopPhase(o.store, finalExp);
    await o.store.setArtifact(finalTrial.id, 'weights', weightsPath);
    finalTrial = await o.store.finishTrial(finalTrial.id, { state: 'complete', metrics: metrics! });
    await o.store.setExperimentStatus(finalExp.id, 'finished');
  }
  // The winner as ONNX too (eval mode, dynamic batch), for onnxruntime users.
  const onnxPath = join(o.outDir, 'best.onnx');
  exportWeightsToOnnx({ space, sample: winner, weightsPath, onnxPath, network: { channels: o.finalChannels, cells: o.finalCells, inputSize: o.finalResolution } }).net.dispose();
  writeFileAtomic(join(o.outDir, 'best.json'), `${JSON.stringify({ ...finalConfig, sample: winner, metrics: finalTrial.metrics, weights: weightsPath, onnx: onnxPath }, null, 2)}\n`);
  writeFileAtomic(join(o.outDir, 'best-cell.svg'), sampleToSvg(space, winner, { title: arch }));

  // ---- report ----
  const seconds = (performance.now() - start) / 1000;
  const reportPath = join(o.outDir, 'report.html');
  const metrics = finalTrial.metrics!;
  const sections: Section[] = [];
  sections.push({
    title: 'Result',
    html: `<div class="cell">${sampleToSvg(space, winner, { title: 'winning cell' })}</div>` +
      table(['test accuracy', 'validation accuracy', 'params', 'architecture', 'weights', 'onnx'], [[metrics['test_accuracy'] ?? 'no test split', metrics['valid_accuracy'] ?? 'none held out', metrics['params'], arch, weightsPath, onnxPath]]) +
      (learningCurves([finalTrial], objective, `final training: ${objective.replace('_', ' ')} by epoch`) ?? ''),
  });
  // Search progress: the screening's proxies against params, with the Pareto front of (synflow max, params min).
  const scored = screened.filter((t) => t.state === 'complete' && t.metrics?.['synflow'] !== undefined && t.metrics['synflow'] > 0);
  const points = scored.map((t) => ({ x: t.metrics!['params']!, y: Math.log10(t.metrics!['synflow']!), label: `#${t.number} ${space.format(t.sample as unknown as Sample)}` }));
  const front = paretoIndices(points.map((p) => [p.y, p.x]), [true, false]).map((i) => points[i]!);
  const halvingPoints = rungs.flatMap((r) => r.trials.filter((t) => t.state === 'complete').map((t) => ({ x: t.metrics!['params']!, y: t.metrics!['accuracy']!, label: `${r.name} #${t.number} ${space.format(t.sample as unknown as Sample)}` })));
  const accFront = paretoIndices(halvingPoints.map((p) => [p.y, p.x]), [true, false]).map((i) => halvingPoints[i]!);
  const rungCurves = rungs.map((r, i) => ({ name: `rung ${i}`, points: r.trials.filter((t) => t.state === 'complete').map((t, k) => [k + 1, t.metrics!['accuracy']!] as [number, number]) }));
  sections.push({
    title: 'Search progress',
    html: `<div class="charts">${[
      scatterChart(halvingPoints, accFront, { title: 'held-out accuracy against params (successive halving)', xLabel: 'params', yLabel: 'accuracy', logX: true }),
      scatterChart(points, front, { title: `screening: log10 synflow against params (${scored.length} cells)`, xLabel: 'params', yLabel: 'log10 synflow', logX: true }),
      lineChart(rungCurves, { title: 'successive halving: accuracy of each rung\u2019s cells', xLabel: 'cell (proxy-rank order)', yLabel: 'held-out accuracy' }),
    ].join('\n')}</div>`,
  });
  for (const r of rungs) sections.push(...(await experimentSections(o.store, r.name, { label: r.name })));
  const scores = [
    ...(metrics['test_accuracy'] !== undefined ? [`test accuracy ${metrics['test_accuracy'].toFixed(4)} on ${metrics['test_images']} test images`] : []),
    ...(metrics['valid_accuracy'] !== undefined ? [`validation accuracy ${metrics['valid_accuracy'].toFixed(4)} on ${metrics['valid_images']} held-out images`] : []),
  ];
  writeHtml(reportPath, renderReport(o.title ?? `tsnas main job: ${o.name}`, [
    ...(o.intro ?? []),
    `${o.dataset} search: ${screened.length} cells screened by zero-cost proxies, successive halving over ${rungs.length} rung(s), final training of the winner and ${metrics['test_accuracy'] !== undefined ? 'a test-set evaluation' : 'an evaluation on the held-out images (the dataset has no test split)'}.`,
    `Winner ${arch}: ${scores.join(', ')}, ${metrics['params']} parameters; ${seconds.toFixed(0)} s in this run.`,
  ], sections));
  return { arch, testAccuracy: metrics['test_accuracy'], validAccuracy: metrics['valid_accuracy'], params: metrics['params']!, seconds, report: reportPath, weights: weightsPath, screened: screened.length };
}
