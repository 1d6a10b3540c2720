// Single-path one-shot search (SPOS, Guo et al. 2020; FairNAS, Chu et al.
// 2021): train a supernet one sampled path per step — uniformly, or with
// strict fairness (each candidate of every edge once per group of steps,
// gradients accumulated over the group) — then search its sub-networks with
// an evolutionary algorithm, each evaluated with the inherited weights after
// batch-norm recalibration.
import { TsnasError, configError } from '../../errors.js';
import type { AugmentOptions } from '../../data/augment.js';
import type { Dataset } from '../../data/dataset.js';
import { DataLoader, splitIndices, type Batch } from '../../data/loader.js';
import { SGD } from '../../nn/optim.js';
import { LrScheduler, clipGradNorm, cosineAnnealing, type LrSchedule } from '../../nn/schedule.js';
import { SinglePathMixing } from '../../spaces/supernet.js';
import type { SpaceSupernet } from '../../supernets/index.js';
import { getSpace } from '../../kits/index.js';
import type { Sample, SearchSpace } from '../../spaces/types.js';
import { crossEntropy, noGrad, tidy, type Tensor } from '../../tensor/index.js';
import { Rng } from '../../util/random.js';
import { buildOneShotSupernet, type OneShotSupernetConfig } from '../differentiable/network.js';
import { costLimitsText, exportSubnetwork, oneShotCostModel, requireExportable, requireFeasible, withinLimits, type CostLimits, type SampleCost } from './constraints.js';
import { evaluateWithInheritedWeights, strictFairPaths, supernetSpace, type OneShotSpace } from './paths.js';

export type PathSampling = 'uniform' | 'strict-fair';

export interface SupernetTrainingOptions {
  epochs: number;
  lr?: number;
  lrMin?: number;
  momentum?: number;
  weightDecay?: number;
  gradClip?: number;
  /** Learning rate per epoch (default: cosine annealing from lr to lrMin over the epochs). */
  schedule?: LrSchedule;
}

/** A single-path supernet of any space with its SGD optimizer (cosine schedule over the epochs). */
export class OneShotSupernet {
  readonly mixing = new SinglePathMixing();
  /** The supernet (it owns the mixing). */
  readonly net: SpaceSupernet;
  readonly optimizer: SGD;
  readonly scheduler: LrScheduler;
  readonly weights: Tensor[];
  /** The space's samples as paths of this supernet. */
  readonly shot: OneShotSpace;

  constructor(readonly config: OneShotSupernetConfig, readonly o: SupernetTrainingOptions) {
    this.net = buildOneShotSupernet(config, this.mixing);
    this.weights = this.net.weightParameters();
    this.optimizer = new SGD(this.weights, { lr: o.lr ?? 0.025, momentum: o.momentum ?? 0.9, weightDecay: o.weightDecay ?? 3e-4 });
    this.scheduler = new LrScheduler(this.optimizer, o.schedule ?? cosineAnnealing(Math.max(1, o.epochs), o.lrMin ?? 0.001));
    this.shot = supernetSpace(this.net);
  }

  /** One update: the loss of each path on the batch is back-propagated (accumulated), then one step. */
  trainStep(batch: { x: Tensor; y: Tensor }, paths: readonly Sample[]): { loss: number; correct: number } {
    this.net.train();
    this.optimizer.zeroGrad();
    let loss = 0;
    let correct = 0;
    for (const path of paths) {
      this.mixing.setPath(path);
      tidy(() => {
        const logits = this.net.call(batch.x);
        const l = crossEntropy(logits, batch.y);
        l.backward();
        loss += l.item() / paths.length;
        correct += noGrad(() => logits.argmax(1).eq(batch.y).sum().item()) / paths.length;
      });
    }
    if ((this.o.gradClip ?? 5) > 0) clipGradNorm(this.weights, this.o.gradClip ?? 5);
    this.optimizer.step();
    this.optimizer.zeroGrad();
    return { loss, correct };
  }

  dispose(): void {
    this.optimizer.dispose();
    this.net.dispose();
  }
}

export interface EvolutionOptions {
  /** Evaluations in all (default 100). */
  budget?: number;
  population?: number;
  /** Parents are drawn from the best topK (default 10). */
  topK?: number;
  /** Share of children made by mutation; the rest by crossover (default 0.5). */
  mutationShare?: number;
  /** Only samples it accepts are evaluated (a resource constraint); the others are drawn again. */
  accept?: (s: Sample) => boolean;
  /** Names the constraint in the error when no drawn sample meets it. */
  constraintText?: string;
}

export interface Evaluated {
  sample: Sample;
  fitness: number;
}

/** SPOS's evolutionary search: a random population, then generations of mutants and crossovers of the best. */
export function evolutionarySearch(space: SearchSpace, evaluate: (s: Sample) => number, rng: Rng, o: EvolutionOptions = {}): { best: Evaluated; evaluated: Evaluated[] } {
  const budget = o.budget ?? 100;
  const population = Math.min(o.population ?? 20, budget);
  const topK = o.topK ?? 10;
  if (!(budget >= 1)) throw configError(`expected at least 1 evaluation, got ${budget}`, 'budget');
  const evaluated: Evaluated[] = [];
  const seen = new Set<string>();
  const tryAdd = (s: Sample): boolean => {
    const h = space.hash(s);
    if (seen.has(h)) return false;
    seen.add(h);
    if (o.accept && !o.accept(s)) return false;
    evaluated.push({ sample: s, fitness: evaluate(s) });
    return true;
  };
  for (let tries = 0; evaluated.length < population && tries < 100 * population; tries++) tryAdd(space.sample(rng));
  if (evaluated.length === 0) {
    throw new TsnasError('usage', `no architecture of the ${space.name} space drawn in ${100 * population} tries meets ${o.constraintText ?? 'the constraint'}`, { where: 'constraint' });
  }
  while (evaluated.length < budget) {
    const parents = [...evaluated].sort((a, b) => b.fitness - a.fitness).slice(0, topK);
    const generation = Math.min(population, budget - evaluated.length);
    let added = 0;
    for (let tries = 0; added < generation && tries < 100 * generation; tries++) {
      const child = rng.next() < (o.mutationShare ?? 0.5) || parents.length < 2
        ? space.mutate(rng.choice(parents).sample, rng)
        : space.crossover(rng.choice(parents).sample, rng.choice(parents).sample, rng);
      if (tryAdd(child)) added++;
    }
    if (added === 0) break; // the neighbourhood of the parents is exhausted
  }
  const best = evaluated.reduce((a, b) => (b.fitness > a.fitness ? b : a));
  return { best, evaluated };
}

export interface SposOptions extends SupernetTrainingOptions, Omit<OneShotSupernetConfig, 'numClasses' | 'inChannels'> {
  sampling?: PathSampling;
  batchSize?: number;
  validFraction?: number;
  limitTrain?: number;
  augment?: AugmentOptions;
  seed?: number;
  stepsPerEpoch?: number;
  /** Batches of training images used to recalibrate batch norm per candidate (default 4). */
  calibrationBatches?: number;
  /** Validation batches each candidate is scored on (default 4). */
  evalBatches?: number;
  evolution?: EvolutionOptions;
  /** Search only architectures within these FLOPs / params (the space's cost model, costOf). */
  limits?: CostLimits;
  /** Write the found architecture's fixed network (weights sliced from the supernet, batch norm recalibrated) to this .safetensors file. */
  exportPath?: string;
  timeBudgetSeconds?: number;
  onEpoch?: (record: { epoch: number; seconds: number; lr: number; trainLoss: number; trainAccuracy: number }) => void;
  /** Called with the trained supernet before it is freed (e.g. to measure ranking quality). */
  afterSearch?: (ctx: OneShotContext) => void;
}

/** What a finished one-shot training hands to evaluation: the supernet and fixed data. */
export interface OneShotContext {
  supernet: OneShotSupernet;
  space: OneShotSpace;
  /** Accuracy of a space sample with inherited weights after recalibration. */
  evaluate(s: Sample): number;
}

export interface OneShotResult {
  method: 'spos' | 'enas' | 'ofa';
  arch: string;
  sample: Sample;
  /** Supernet (inherited-weight) accuracy of the found architecture. */
  supernetAccuracy: number;
  /** FLOPs and params of the found architecture (the space's cost model). */
  cost: SampleCost;
  /** The .safetensors file the fixed network was written to (exportPath). */
  exported?: string;
  history: { epoch: number; seconds: number; lr: number; trainLoss: number; trainAccuracy: number }[];
  evaluations: number;
  seconds: number;
}

/** Fixed evaluation data for a trained supernet: calibration inputs and labelled validation batches. */
export function holdOutBatches(data: Dataset, indices: Int32Array, count: number, batchSize: number, augment: AugmentOptions | undefined, seed: number): Batch[] {
  const loader = new DataLoader(data, { batchSize, indices, augment, train: false, shuffle: true, seed });
  return Array.from({ length: Math.min(count, loader.batchesPerEpoch) }, () => loader.next());
}

export function disposeBatches(batches: Batch[]): void {
  for (const b of batches) {
    b.x.dispose();
    b.y.dispose();
  }
}

/** What one training step reports: the mean loss and the number of correct predictions (averaged over the step's paths). */
export interface StepResult {
  loss: number;
  correct: number;
}

/** One epoch's record. */
export type EpochRecord = OneShotResult['history'][number];

/**
 * Trains epoch by epoch with a step function (it gets each batch and the
 * 0-based epoch; the batch is freed after it); the scheduler is set to each
 * epoch first. Returns the per-epoch history.
 */
export function trainEpochs(
  supernet: OneShotSupernet,
  loader: DataLoader,
  o: { epochs: number; stepsPerEpoch?: number; timeBudgetSeconds?: number; onEpoch?: SposOptions['onEpoch'] },
  step: (batch: Batch, epoch: number) => StepResult,
  afterStep?: () => void,
): EpochRecord[] {
  const start = performance.now();
  const history: EpochRecord[] = [];
  const steps = Math.min(loader.batchesPerEpoch, o.stepsPerEpoch ?? Infinity);
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const epochStart = performance.now();
    supernet.scheduler.loadStateDict({ epoch });
    let loss = 0;
    let correct = 0;
    let n = 0;
    for (let s = 0; s < steps; s++) {
      const batch = loader.next();
      try {
        const r = step(batch, epoch);
        if (!Number.isFinite(r.loss)) throw configError(`supernet training diverged: loss ${r.loss} at epoch ${epoch + 1}`, 'lr');
        loss += r.loss * batch.y.size(0);
        correct += r.correct;
        n += batch.y.size(0);
      } finally {
        batch.x.dispose();
        batch.y.dispose();
      }
      afterStep?.();
    }
    const record = { epoch: epoch + 1, seconds: (performance.now() - epochStart) / 1000, lr: supernet.optimizer.lrs[0]!, trainLoss: loss / n, trainAccuracy: correct / n };
    history.push(record);
    o.onEpoch?.(record);
    if (o.timeBudgetSeconds !== undefined && (performance.now() - start) / 1000 >= o.timeBudgetSeconds) break;
  }
  return history;
}

/** Trains the supernet epoch by epoch with the given path sampler; returns the per-epoch history. */
export function trainOneShot(
  supernet: OneShotSupernet,
  loader: DataLoader,
  o: { epochs: number; stepsPerEpoch?: number; timeBudgetSeconds?: number; onEpoch?: SposOptions['onEpoch'] },
  nextPaths: () => Sample[],
  afterStep?: () => void,
): EpochRecord[] {
  return trainEpochs(supernet, loader, o, (batch) => supernet.trainStep(batch, nextPaths()), afterStep);
}

/**
 * What SPOS, ENAS and OFA set up alike: the seeded train/valid split, the
 * supernet, the training loader, and the held-out batches for batch-norm
 * recalibration and evaluation. The caller disposes it with disposeOneShotRun.
 */
export function setupOneShotRun(data: Dataset, o: SposOptions) {
  const seed = o.seed ?? 0;
  const split = splitIndices(data.n, { validFraction: o.validFraction ?? 0.5, seed, limit: o.limitTrain });
  const batchSize = o.batchSize ?? 64;
  if (o.exportPath !== undefined) requireExportable(o.space);
  const side = o.augment?.resize;
  const space = getSpace(o.space, o.spaceOptions);
  const costModel = oneShotCostModel(space, { numClasses: data.numClasses, input: [data.channels, side ?? data.height, side ?? data.width], C: o.C, cells: o.cells });
  requireFeasible(space, costModel, o.limits ?? {});
  const supernet = new OneShotSupernet({ space: o.space, C: o.C, cells: o.cells, numClasses: data.numClasses, inChannels: data.channels, spaceOptions: o.spaceOptions, inputSize: side ?? data.height }, o);
  return {
    seed,
    rng: new Rng(seed),
    split,
    batchSize,
    shot: supernet.shot,
    supernet,
    costModel,
    loader: new DataLoader(data, { batchSize, indices: split.train, augment: o.augment, seed, dropLast: split.train.length >= batchSize }),
    calibration: holdOutBatches(data, split.train, o.calibrationBatches ?? 4, batchSize, o.augment, seed + 2),
    validBatches: holdOutBatches(data, split.valid, o.evalBatches ?? 4, batchSize, o.augment, seed + 3),
  };
}

export type OneShotRun = ReturnType<typeof setupOneShotRun>;

export function disposeOneShotRun(run: OneShotRun): void {
  disposeBatches(run.calibration);
  disposeBatches(run.validBatches);
  run.supernet.dispose();
}

/** Accuracy of a sample with the run's inherited weights, after batch-norm recalibration on its calibration batches. */
export function inheritedAccuracy(run: OneShotRun, s: Sample): number {
  const { supernet, shot, calibration, validBatches } = run;
  return evaluateWithInheritedWeights(supernet.net, supernet.mixing, shot.pathOf(s), calibration.map((b) => b.x), validBatches);
}

/**
 * The evolutionary search every one-shot method ends with: inherited-weight
 * accuracy as the fitness, only architectures within the limits; then the
 * optional export of the winner. Returns the result's shared fields.
 */
export function searchTrainedSupernet(run: OneShotRun, o: SposOptions, rng: Rng): Pick<OneShotResult, 'arch' | 'sample' | 'supernetAccuracy' | 'cost' | 'evaluations' | 'exported'> & { evaluate: (s: Sample) => number } {
  const { shot, costModel } = run;
  const evaluate = (s: Sample) => inheritedAccuracy(run, s);
  const limits = o.limits ?? {};
  const constrained = limits.maxFlops !== undefined || limits.maxParams !== undefined;
  const evolution: EvolutionOptions = constrained
    ? { ...o.evolution, accept: (s) => withinLimits(costModel(s), limits), constraintText: costLimitsText(limits) }
    : { ...o.evolution };
  const { best, evaluated } = evolutionarySearch(shot.space, evaluate, rng, evolution);
  if (o.exportPath !== undefined) {
    exportSubnetwork(run.supernet.net, best.sample, run.calibration.map((b) => b.x), o.exportPath, {
      space: shot.space.name, arch: shot.space.format(best.sample), supernet_accuracy: String(best.fitness),
    });
  }
  return {
    arch: shot.space.format(best.sample),
    sample: best.sample,
    supernetAccuracy: best.fitness,
    cost: costModel(best.sample),
    evaluations: evaluated.length,
    ...(o.exportPath !== undefined ? { exported: o.exportPath } : {}),
    evaluate,
  };
}

/** SPOS / FairNAS: supernet training, then evolutionary search with inherited weights. */
export function runSpos(data: Dataset, o: SposOptions): OneShotResult {
  const start = performance.now();
  const sampling = o.sampling ?? 'uniform';
  if (sampling !== 'uniform' && sampling !== 'strict-fair') throw new TsnasError('usage', `sampling must be uniform or strict-fair, got '${String(sampling)}'`, { where: 'sampling' });
  const run = setupOneShotRun(data, o);
  const { rng, shot, supernet, loader } = run;
  const labels = supernet.net.labels();
  // Strict fairness trains all n paths of a group on each batch (FairNAS accumulates their gradients).
  const nextPaths = () => sampling === 'uniform' ? [shot.pathOf(shot.space.sample(rng))] : strictFairPaths(labels, rng);
  try {
    const history = trainOneShot(supernet, loader, o, nextPaths);
    const found = searchTrainedSupernet(run, o, rng.fork());
    o.afterSearch?.({ supernet, space: shot, evaluate: found.evaluate });
    const { evaluate: _evaluate, ...result } = found;
    return { method: 'spos', ...result, history, seconds: (performance.now() - start) / 1000 };
  } finally {
    disposeOneShotRun(run);
  }
}
