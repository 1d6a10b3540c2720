// tsnas fit: from a dataset and a time limit to a model, like AutoGluon's
// fit(folder, time_limit). It checks the data (folders: bad images, one
// class, gray and colour mixed, mixed sizes), measures how fast this machine
// scores and trains the search and final networks, plans the main job's
// phases (main-job.ts: cells screened by zero-cost proxies, successive
// halving rungs, the final training's epochs and resolution) so that the
// whole run ends near the limit, and runs them as a stored experiment.
// The final training holds out a validation split; the test split, where
// there is one, is evaluated once at the end. The plan is kept in
// OUT/plan.json: a rerun (after Ctrl-C or kill -9) resumes with it.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configError, dataError, usageError } from '../errors.js';
import type { AugmentOptions } from '../data/augment.js';
import { subsetDataset, type Dataset } from '../data/dataset.js';
import { folderSplitDirs, scanImageFolder, type FolderScan } from '../data/folder.js';
import { limitIndices } from '../data/loader.js';
import { datasetSource, formatDatasetSpec, parseDatasetSpec, standardAugment } from '../data/spec.js';
import { computeProxies } from '../estimators/zero-cost/proxies.js';
import { proxyBatch } from '../estimators/zero-cost/score.js';
import { measureNetworkLatency } from '../hardware/latency.js';
import { buildNetwork, costOf, costOptionsFor, latencyModel } from '../kits/index.js';
import { nb201Space } from '../spaces/nb201.js';
import { canonicalJson } from '../spaces/space.js';
import type { Sample } from '../spaces/types.js';
import type { Store } from '../store/types.js';
import { getNumThreads, manualSeed, setNumThreads } from '../tensor/index.js';
import { evaluate, trainModel } from '../train/trainer.js';
import { median } from '../util/stats.js';
import { runMainJob, type MainJobResult } from './main-job.js';

/** What the user asked for; a resumed run must ask the same. */
export interface FitRequest {
  dataset: string;
  timeLimitSeconds: number;
  maxParams?: number;
  targetLatencyMs?: number;
  skipBadImages: boolean;
  seed: number;
}

/** Measured while planning, in seconds. */
export interface FitTiming {
  /** Loading the training split once. */
  load: number;
  /** One cell's proxies on one libtorch thread. */
  proxyCell: number;
  /** Training and evaluating one image with the search network. */
  searchTrainImage: number;
  searchEvalImage: number;
  /** Checking the data, loading it and measuring: spent before the first phase. */
  planning: number;
}

export interface FitPlan {
  request: FitRequest;
  /** The dataset spec the phases read (folders: with their size and skip-bad options). */
  dataset: string;
  /** What was decided about the data, for the log and the report. */
  notes: string[];
  classes: string[];
  trainImages: number;
  hasTest: boolean;
  candidates: number;
  proxyBatch: number;
  screenParallel: number;
  search: { channels: number; cells: number; resolution: number };
  halving: { candidates: number; eta: number; epochs: number; train: number; valid: number };
  final: { channels: number; cells: number; resolution: number; validFraction: number };
  batch: number;
  lr: number;
  timing: FitTiming;
  /** Seconds of the limit spent by earlier runs that were stopped (Ctrl-C); kill -9 leaves the last value. */
  spentSeconds: number;
}

export interface FitOptions {
  request: FitRequest;
  name: string;
  store: Store;
  outDir: string;
  threads: number;
  progress: boolean;
  log: (line: string) => void;
  signal?: AbortSignal;
  /** When the limit's clock started, in performance.now() time (default: now; the CLI gives 0, its process's start). */
  startedAt?: number;
  /** Spelling of the flags in messages (the CLI's). */
  flags?: { timeLimit?: string; maxParams?: string; targetLatency?: string; skipBad?: string };
}

export interface FitResult extends MainJobResult {
  plan: FitPlan;
  /** Seconds from startedAt to the end, in this run. */
  wallSeconds: number;
}

const space = nb201Space();
/** Every edge a 3×3 convolution: the costliest cell, so that the planned search phases do not overrun. */
const HEAVY_CELL = space.parse('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|');
const PROXIES = ['synflow', 'nwot'] as const;
/** Below this nothing useful can run (a worker's start and a data load). */
export const MIN_TIME_LIMIT_SECONDS = 10;
/** Images are stored at most this large: the networks read at most 32×32. */
const MAX_STORED_SIDE = 64;
/** Seconds to start a phase's worker thread (beside loading the data), and to export and report at the end. */
const WORKER_START_SECONDS = 1.5;
const FINISH_SECONDS = 3;
/** The final network is timed on batches this small: at 32x32 a batch of 128 can take seconds on a busy machine, and the timing is spent from the limit. */
const FINAL_TIMING_BATCH = 32;
/** The final training gets the largest resolution that leaves it this many epochs (else the search's resolution). */
const MIN_FINAL_EPOCHS = 3;

const roundTo4 = (v: number) => Math.max(8, 4 * Math.round(v / 4));

/** Written whole or not at all: a kill -9 mid-write leaves the previous file. */
function writeJson(path: string, value: unknown): void {
  writeFileSync(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

/**
 * Checks an image folder for fit: every image decodes (or the bad ones are
 * skipped with --skip-bad-images), at least two classes each with images;
 * gray images in a colour set are repeated over R, G, B (the loader's rule);
 * mixed or large sizes are resized to one side. Returns the spec the
 * phases read and notes of what was decided.
 */
export function checkFitFolder(dir: string, skipBad: boolean, flag = '--skip-bad-images'): { dataset: string; notes: string[] } {
  const dirs = folderSplitDirs(dir);
  const scans: FolderScan[] = [scanImageFolder({ dir, split: 'train' })];
  if (dirs.test) scans.push(scanImageFolder({ dir, split: 'test' }));
  const train = scans[0]!;
  const bad = scans.flatMap((s) => s.bad);
  const notes: string[] = [];
  if (bad.length > 0) {
    const listed = bad.slice(0, 10).map((b) => `  ${b.file}: ${b.reason}`).join('\n');
    const more = bad.length > 10 ? `\n  ... and ${bad.length - 10} more` : '';
    if (!skipBad) throw dataError(`${bad.length} image file(s) cannot be decoded; give ${flag} to skip them:\n${listed}${more}`, bad[0]!.file);
    notes.push(`skipped ${bad.length} image file(s) that cannot be decoded:\n${listed}${more}`);
  }
  if (train.classes.length < 2) {
    throw dataError(`expected at least two class folders to tell apart, found one (${train.classes[0]})`, dirs.train);
  }
  const empty = train.classes.filter((_, i) => train.counts[i] === 0);
  if (empty.length > 0) throw dataError(`class folder(s) ${empty.join(', ')} hold no readable image`, join(dirs.train, empty[0]!));
  const images = scans.flatMap((s) => s.images);
  const gray = images.filter((i) => i.channels < 3).length;
  if (gray > 0 && gray < images.length) {
    notes.push(`${gray} gray image(s) among ${images.length - gray} colour ones: gray images are repeated over R, G and B (the model reads colour; so does predict)`);
  }
  const sides = new Set(images.map((i) => `${i.width}x${i.height}`));
  const first = images[0]!;
  let size: number | undefined;
  if (sides.size > 1 || first.width !== first.height || first.width > MAX_STORED_SIDE) {
    const shorter = images.map((i) => Math.min(i.width, i.height)).sort((a, b) => a - b);
    size = Math.max(8, Math.min(MAX_STORED_SIDE, shorter[shorter.length >> 1]!));
    notes.push(`${sides.size} image size(s) (${[...sides].slice(0, 4).join(', ')}${sides.size > 4 ? ', ...' : ''}): every image is resized to ${size}x${size}`);
  }
  return { dataset: formatDatasetSpec({ kind: 'folder', dir, ...(size !== undefined ? { size } : {}), ...(bad.length > 0 ? { skipBad: true } : {}) }), notes };
}

/** Batches timed one by one (after a warm-up one): their median, not their sum, so that a moment of load on a busy machine does not decide the plan. */
const TIMED_BATCHES = 6;

/** Seconds per image to train and to evaluate a sample's network: the median of single batches after a warm-up batch. */
function secondsPerImage(train: Dataset, augment: AugmentOptions, sample: Sample, net: { channels: number; cells: number; resolution: number }, o: { batch: number; seed: number }): { train: number; eval: number } {
  const images = Math.min(train.n, o.batch);
  const subset = subsetDataset(train, limitIndices(Array.from({ length: train.n }, (_, i) => i), images, o.seed));
  const aug = { ...augment, resize: net.resolution === train.height ? undefined : net.resolution };
  manualSeed(o.seed);
  const model = buildNetwork(space, sample, { numClasses: train.numClasses, inChannels: train.channels, inputSize: net.resolution, channels: net.channels, cells: net.cells });
  try {
    // One batch an epoch; the first pays one-time costs (allocations, kernel selection) that later ones do not.
    const trained = trainModel(model, subset, { epochs: 1 + TIMED_BATCHES, batchSize: o.batch, lr: 0.01, augment: aug, seed: o.seed });
    evaluate(model, subset, { augment: aug });
    const evals = Array.from({ length: TIMED_BATCHES }, () => {
      const t0 = performance.now();
      evaluate(model, subset, { augment: aug });
      return (performance.now() - t0) / 1000;
    });
    return { train: median(trained.history.slice(1).map((h) => h.seconds)) / images, eval: median(evals) / images };
  } finally {
    model.dispose();
  }
}

/** Seconds to score one cell's proxies on one libtorch thread (what each screening worker has). */
function secondsPerProxyCell(train: Dataset, augment: AugmentOptions, net: { channels: number; cells: number; resolution: number }, batchSize: number, seed: number): number {
  const threads = getNumThreads();
  setNumThreads(1);
  const batch = proxyBatch(train, { size: batchSize, seed, normalize: augment.normalize, resize: net.resolution === train.height ? undefined : net.resolution });
  try {
    const t0 = performance.now();
    const cells = [HEAVY_CELL, space.parse('|nor_conv_1x1~0|+|skip_connect~0|avg_pool_3x3~1|+|nor_conv_3x3~0|none~1|nor_conv_1x1~2|')];
    for (const s of cells) {
      manualSeed(seed);
      const model = buildNetwork(space, s, { numClasses: train.numClasses, inChannels: train.channels, inputSize: net.resolution, channels: net.channels, cells: net.cells });
      try {
        computeProxies(model, batch, [...PROXIES]);
      } finally {
        model.dispose();
      }
    }
    return (performance.now() - t0) / 1000 / cells.length;
  } finally {
    batch.x.dispose();
    batch.y.dispose();
    setNumThreads(threads);
  }
}

/** Checks the data, measures this machine and plans the phases to fit the limit (a usage error naming the flag when it is too short). */
export function planFit(request: FitRequest, o: Pick<FitOptions, 'threads' | 'log' | 'flags'>, started = performance.now()): { plan: FitPlan; train: Dataset } {
  const limitFlag = o.flags?.timeLimit ?? '--time-limit';
  const spec = parseDatasetSpec(request.dataset, 'dataset');
  const checked = spec.kind === 'folder' ? checkFitFolder(spec.dir, request.skipBadImages, o.flags?.skipBad) : { dataset: request.dataset, notes: [] };
  for (const n of checked.notes) o.log(`fit: ${n}`);
  if (request.timeLimitSeconds < MIN_TIME_LIMIT_SECONDS) {
    throw usageError(`a time limit of ${request.timeLimitSeconds} s is too short to do anything; give at least ${MIN_TIME_LIMIT_SECONDS} s`, limitFlag);
  }
  const source = datasetSource(checked.dataset);
  const t0 = performance.now();
  const train = source.load('train');
  const load = (performance.now() - t0) / 1000;
  if (train.numClasses < 2) throw dataError(`expected at least two classes, found ${train.numClasses}`, request.dataset);

  const n = train.n;
  const finalRes = Math.min(32, roundTo4(train.height));
  const searchRes = Math.min(finalRes, roundTo4(finalRes / 2));
  const search = { channels: 8, cells: 1, resolution: searchRes };
  // The final training's held-out split is evaluated every epoch: at most 2,000 images.
  const final = { channels: 16, cells: 1, resolution: finalRes, validFraction: n >= 1000 ? Math.min(0.1, Math.round(2e5 / n) / 100) : 0.2 };
  const batch = Math.min(128, Math.max(8, 2 ** Math.floor(Math.log2(Math.max(8, n / 8)))));
  const proxyBatchSize = Math.max(2, Math.min(16, Math.floor(0.9 * n) - 1));
  const augment = standardAugment(source, train, searchRes);
  const searchImage = secondsPerImage(train, augment, HEAVY_CELL, search, { batch, seed: request.seed });
  const largestImage = secondsPerImage(train, standardAugment(source, train, finalRes), HEAVY_CELL, final, { batch: Math.min(batch, FINAL_TIMING_BATCH), seed: request.seed });
  const proxyCell = secondsPerProxyCell(train, augment, search, proxyBatchSize, request.seed);
  const screenParallel = Math.max(1, Math.min(o.threads, 8));

  // Time for the phases: the limit less what planning took, each phase's start (a worker and a data load) and the end.
  const planning = (performance.now() - started) / 1000;
  const phaseStart = WORKER_START_SECONDS + load;
  const valid = Math.max(2, Math.min(1000, Math.round(0.2 * n)));
  const trainPool = Math.max(1, n - valid);
  const cellEpoch = (images: number) => images * searchImage.train + valid * searchImage.eval;
  // A guard against limits that cannot work, not a promise: a final epoch of 100 images at the search's resolution.
  const minimum = planning + 3 * phaseStart + FINISH_SECONDS + (8 * proxyCell) / screenParallel + 3 * cellEpoch(Math.min(trainPool, 100)) + Math.min(n, 100) * largestImage.train * (searchRes / finalRes) ** 2;
  if (minimum > request.timeLimitSeconds) {
    throw usageError(`a time limit of ${request.timeLimitSeconds} s is too short for ${request.dataset} on this machine: the smallest search (8 cells screened, 3 trained for an epoch, a final epoch on 100 images) needs about ${Math.ceil(minimum)} s`, limitFlag);
  }
  // Aim a little under the limit: the final training absorbs what is left when it starts.
  const available = 0.95 * request.timeLimitSeconds - planning - FINISH_SECONDS;

  const candidates = Math.max(8, Math.min(5000, Math.floor((0.15 * available - phaseStart) * screenParallel / proxyCell)));
  // Successive halving with eta 3: as many cells as keep each at >= 1000 training images (or all there are).
  const budget = 0.35 * available;
  let halving = { candidates: 3, eta: 3, epochs: 1, train: Math.min(trainPool, 100), valid };
  for (const cells of [27, 9, 3]) {
    const rungs = Math.round(Math.log(cells) / Math.log(3));
    const perCellEpoch = (budget - rungs * phaseStart) / (rungs * cells);
    const images = Math.min(trainPool, Math.floor((perCellEpoch - valid * searchImage.eval) / searchImage.train));
    if (images >= Math.min(trainPool, 1000) || cells === 3) {
      const train = Math.max(Math.min(trainPool, 50), images);
      // No more held-out images than training ones (a rung holds out at most half of what it reads).
      halving = { candidates: Math.min(cells, candidates), eta: 3, epochs: 1, train, valid: Math.min(valid, train) };
      break;
    }
  }
  // The rest of the limit is the final training's: its resolution is the largest that leaves it a few epochs, costs scaled from the largest by the pixels.
  const finalValid = Math.round(n * final.validFraction);
  const testImages = source.hasTest() ? n / 5 : 0;
  const scaled = (r: number) => ({ train: largestImage.train * (r / finalRes) ** 2, eval: largestImage.eval * (r / finalRes) ** 2 });
  final.resolution = finalResolution(finalRes, searchRes, 0.5 * available, (r) => ({
    epoch: (n - finalValid) * scaled(r).train + finalValid * scaled(r).eval,
    overhead: phaseStart + FINISH_SECONDS + (testImages + finalValid) * scaled(r).eval,
  }));
  const plan: FitPlan = {
    request, dataset: checked.dataset, notes: checked.notes,
    classes: train.classNames ?? Array.from({ length: train.numClasses }, (_, i) => String(i)),
    trainImages: n, hasTest: source.hasTest(),
    candidates, proxyBatch: proxyBatchSize, screenParallel, search, halving, final, batch, lr: 0.1,
    timing: { load, proxyCell, searchTrainImage: searchImage.train, searchEvalImage: searchImage.eval, planning: (performance.now() - started) / 1000 },
    spentSeconds: 0,
  };
  return { plan, train };
}

/** The largest resolution (a multiple of 4 from largest down to smallest) whose final training gets MIN_FINAL_EPOCHS in budget seconds; else smallest. */
export function finalResolution(largest: number, smallest: number, budget: number, cost: (resolution: number) => FinalCosts): number {
  for (let r = largest; r > smallest; r -= 4) {
    const c = cost(r);
    if (budget - c.overhead >= MIN_FINAL_EPOCHS * c.epoch) return r;
  }
  return smallest;
}

/** What a final training costs, as planned. */
interface FinalCosts {
  /** Seconds per epoch, the held-out split's evaluation included. */
  epoch: number;
  /** Seconds besides the training: the worker's start and data load before it, the evaluations, the export and report after it. */
  overhead: number;
}

/**
 * The final training's epochs: only a bound. The training ends on the clock
 * (finalDeadline), so a machine that turns faster or slower than planning
 * measured moves where it stops, not whether the run ends in time; a bound
 * from planning's speed would end it early once the machine got less busy.
 */
const FINAL_EPOCHS_BOUND = 100;

function describePlan(p: FitPlan): string {
  return [
    `${p.candidates} cells screened by ${PROXIES.join(' + ')} (C=${p.search.channels} N=${p.search.cells} at ${p.search.resolution}x${p.search.resolution}, ${p.screenParallel} at once)`,
    `successive halving of ${p.halving.candidates} (eta ${p.halving.eta}, ${Math.round(Math.log(p.halving.candidates) / Math.log(p.halving.eta))} rung(s), ${p.halving.train} training and ${p.halving.valid} held-out images)`,
    `a final training of C=${p.final.channels} N=${p.final.cells} at ${p.final.resolution}x${p.final.resolution} on ${1 - p.final.validFraction} of ${p.trainImages} images (the rest held out${p.hasTest ? ', the test split used once at the end' : '; no test split'}), until the time is up (the learning rate annealed over the time left)`,
  ].join('; ');
}

/** Runs (or resumes) a fit; a stop by the signal throws MainJobInterrupted after noting the time spent. */
export async function runFit(o: FitOptions): Promise<FitResult> {
  const started = o.startedAt ?? performance.now();
  mkdirSync(o.outDir, { recursive: true });
  const planPath = join(o.outDir, 'plan.json');
  let plan: FitPlan;
  let train: Dataset | undefined;
  if (existsSync(planPath)) {
    plan = JSON.parse(readFileSync(planPath, 'utf8')) as FitPlan;
    if (canonicalJson(plan.request) !== canonicalJson(o.request)) {
      throw configError(`${o.outDir} holds a fit of ${canonicalJson(plan.request)}; rerun with the same dataset and flags to resume, or give another --out`, '--out');
    }
    o.log(`fit: resuming the plan in ${planPath} (${Math.round(plan.spentSeconds)} s of the limit spent before)`);
  } else {
    ({ plan, train } = planFit(o.request, o, started));
    writeJson(planPath, plan);
  }
  o.log(`fit: ${plan.classes.length} classes, ${plan.trainImages} training images; plan for ${o.request.timeLimitSeconds} s: ${describePlan(plan)}`);
  const deadline = started + (o.request.timeLimitSeconds - plan.spentSeconds) * 1000;
  const finalShape = { numClasses: plan.classes.length, inChannels: 0, inputSize: plan.final.resolution, channels: plan.final.channels, cells: plan.final.cells };
  // A resumed run loads the training split only if a constraint or the final planning needs it.
  const trainSet = () => (train ??= datasetSource(plan.dataset).load('train'));
  const shape = () => ({ ...finalShape, inChannels: trainSet().channels });
  // Measured latencies are kept, so that a resumed run picks the same cells for successive halving.
  const latencyPath = join(o.outDir, 'latency.json');
  const latencies: Record<string, number> = existsSync(latencyPath) ? JSON.parse(readFileSync(latencyPath, 'utf8')) as Record<string, number> : {};
  const latencyMs = (s: Sample): number => {
    const arch = space.format(s);
    if (latencies[arch] === undefined) {
      const sh = shape();
      latencies[arch] = measureNetworkLatency(latencyModel('nb201'), { space: 'nb201', channels: sh.channels, cells: sh.cells, resolution: sh.inputSize, batch: 1, inChannels: sh.inChannels, numClasses: sh.numClasses }, s).forward;
      writeJson(latencyPath, latencies);
    }
    return latencies[arch]!;
  };
  const constraint = o.request.maxParams !== undefined
    ? { accepts: (s: Sample) => costOf(space, s, costOptionsFor(shape())).params <= o.request.maxParams!, text: `params <= ${o.request.maxParams} (the final network's)`, where: o.flags?.maxParams ?? '--max-params' }
    : o.request.targetLatencyMs !== undefined
      ? {
        accepts: (s: Sample) => latencyMs(s) <= o.request.targetLatencyMs!,
        text: `a latency <= ${o.request.targetLatencyMs} ms (the final network at batch 1, measured here)`,
        where: o.flags?.targetLatency ?? '--target-latency-ms',
      }
      : undefined;
  try {
    const result = await runMainJob({
      name: o.name, store: o.store, outDir: o.outDir, seed: o.request.seed, dataset: plan.dataset,
      candidates: plan.candidates, proxyBatch: plan.proxyBatch, screenParallel: plan.screenParallel,
      searchChannels: plan.search.channels, searchCells: plan.search.cells, resolution: plan.search.resolution,
      halvingCandidates: plan.halving.candidates, eta: plan.halving.eta, halvingEpochs: plan.halving.epochs, halvingTrain: plan.halving.train, halvingValid: plan.halving.valid,
      finalChannels: plan.final.channels, finalCells: plan.final.cells, finalResolution: plan.final.resolution, finalEpochs: 1,
      planFinal: () => {
        o.log(`fit: ${Math.max(0, (deadline - performance.now()) / 1000).toFixed(0)} s left: the final training runs until its evaluations, the export and the report just fit`);
        return { epochs: FINAL_EPOCHS_BOUND };
      },
      // The worker times its evaluations itself; what comes after them is the export and the report.
      finalDeadline: () => Date.now() + (deadline - performance.now()) - FINISH_SECONDS * 1000,
      finalValidFraction: plan.final.validFraction,
      constraint,
      batch: plan.batch, lr: plan.lr, threads: o.threads, progress: o.progress, log: o.log, signal: o.signal,
      title: `tsnas fit: ${o.name}`,
      intro: [
        `tsnas fit ${o.request.dataset} with a time limit of ${o.request.timeLimitSeconds} s${constraint ? ` and ${constraint.text}` : ''}. Plan: ${describePlan(plan)}.`,
        ...plan.notes,
      ],
    });
    return { ...result, plan, wallSeconds: (performance.now() - started) / 1000 };
  } catch (e) {
    if (o.signal?.aborted) writeJson(planPath, { ...plan, spentSeconds: plan.spentSeconds + (performance.now() - started) / 1000 });
    throw e;
  }
}
