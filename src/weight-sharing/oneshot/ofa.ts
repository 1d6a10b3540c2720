// Once-for-All (Cai et al., 2020) progressive shrinking on the mobilenet
// space's elastic supernet, then SPOS's evolutionary search over its
// sub-networks with inherited weights (optionally under FLOPs / params limits).
//
// Phases, in order (each a share of the epochs, phaseSchedule):
//   full:   the largest network (largest kernel, depth and expand ratio)
//           alone, cross-entropy only. It becomes the frozen teacher.
//   kernel: kernel sizes elastic (the centre crops through the learned
//           transform matrices); depth and expand ratio at their largest.
//   depth:  kernel and depth elastic; expand ratio at its largest.
//   expand: kernel, depth and expand ratio elastic.
// The input resolution is elastic in every phase: each batch is resized to
// one resolution drawn from the space, shared by the batch's sub-networks
// and the teacher. Shrinking phases add knowledge distillation from the
// teacher (the full phase's largest network, frozen, in eval mode):
// loss = CE(student, y) + kdWeight · KD(student, teacher), KD being the
// cross-entropy to the teacher's softened outputs (distillationLoss).
// Each phase restarts a cosine learning-rate schedule; shrinking phases
// start at lr · shrinkLrScale, since they fine-tune trained weights (OFA uses
// far smaller rates there; the milder default suits short runs).
import { TsnasError, usageError } from '../../errors.js';
import type { Dataset } from '../../data/dataset.js';
import type { Batch } from '../../data/loader.js';
import type { LrSchedule } from '../../nn/schedule.js';
import { clipGradNorm } from '../../nn/schedule.js';
import type { MobilenetNetwork } from '../../networks/mobilenet.js';
import type { MobilenetArch, MobilenetSpace } from '../../spaces/mobilenet.js';
import type { MobilenetSupernet } from '../../supernets/index.js';
import type { Sample } from '../../spaces/types.js';
import type { Json } from '../../util/json.js';
import { crossEntropy, noGrad, resizeBilinear, tidy, type Tensor } from '../../tensor/index.js';
import type { Rng } from '../../util/random.js';
import { loadModuleTensors, moduleTensors, reseed } from '../checkpoint.js';
import type { WeightSharingEpoch, WeightSharingResult } from '../run.js';
import { largestSubnet, smallestSubnet } from '../../spaces/mobilenet.js';
import type { EvolutionOptions } from './evolution.js';
import { OneShotRun, runToEnd, type MethodCheckpoint, type OneShotOptions, type OneShotResult, type OneShotSupernet, type StepResult } from './training.js';

export { largestSubnet, smallestSubnet };

export const OFA_PHASES = ['full', 'kernel', 'depth', 'expand'] as const;
export type OfaPhase = (typeof OFA_PHASES)[number];

/** Which dimensions a phase samples; the others stay at their largest value. */
export interface ElasticDimensions {
  kernel: boolean;
  depth: boolean;
  expand: boolean;
  resolution: boolean;
}

export function elasticDimensions(phase: OfaPhase): ElasticDimensions {
  const at = OFA_PHASES.indexOf(phase);
  if (at < 0) throw new TsnasError('internal', `unknown OFA phase '${String(phase)}'`);
  return { kernel: at >= 1, depth: at >= 2, expand: at >= 3, resolution: true };
}

/** The default share of the epochs of each phase (full, kernel, depth, expand). */
export const DEFAULT_PHASE_SPLIT = [1, 1, 1, 1] as const;

/** Parses --phase-split: four non-negative shares "full,kernel,depth,expand", e.g. "2,1,1,1". */
export function parsePhaseSplit(text: string, where = '--phase-split'): number[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length !== OFA_PHASES.length) {
    throw usageError(`expected ${OFA_PHASES.length} comma-separated shares (${OFA_PHASES.join(',')}), got ${parts.length} in '${text}'`, where);
  }
  return parts.map((p, i) => {
    const v = Number(p);
    if (p === '' || !Number.isFinite(v) || v < 0) throw usageError(`expected a non-negative number for the ${OFA_PHASES[i]} phase, got '${p}'`, where);
    return v;
  });
}

/**
 * The phase of each epoch: the epochs are split in proportion to the shares
 * (largest remainders; ties go to the earlier phase), phases in OFA's
 * order. The full phase needs a share (it trains the teacher); a phase with a
 * share must get at least one epoch; a share of 0 skips a phase (the next one
 * still adds its dimensions to the earlier ones').
 */
export function phaseSchedule(epochs: number, shares: readonly number[], where = '--phase-split'): OfaPhase[] {
  if (shares.length !== OFA_PHASES.length) throw usageError(`expected ${OFA_PHASES.length} shares (${OFA_PHASES.join(',')}), got ${shares.length}`, where);
  if (shares.some((v) => !Number.isFinite(v) || v < 0)) throw usageError(`expected non-negative shares, got ${shares.join(',')}`, where);
  if (!(shares[0]! > 0)) throw usageError(`the full phase needs a positive share (it trains the largest network, the teacher of the others), got ${shares.join(',')}`, where);
  if (!(Number.isInteger(epochs) && epochs >= 1)) throw usageError(`expected at least 1 epoch, got ${epochs}`, '--epochs');
  const total = shares.reduce((a, b) => a + b, 0);
  const exact = shares.map((v) => (epochs * v) / total);
  const counts = exact.map(Math.floor);
  const order = exact.map((v, i) => ({ i, rest: v - Math.floor(v) })).sort((a, b) => b.rest - a.rest || a.i - b.i);
  for (let k = 0, left = epochs - counts.reduce((a, b) => a + b, 0); k < left; k++) counts[order[k]!.i]!++;
  const starved = OFA_PHASES.filter((_, i) => shares[i]! > 0 && counts[i] === 0);
  if (starved.length > 0) {
    const needed = shares.filter((v) => v > 0).length;
    throw usageError(`${epochs} epochs split ${shares.join(',')} leave the ${starved.join(', ')} phase${starved.length > 1 ? 's' : ''} without an epoch (give --epochs at least ${needed} and shares that reach one epoch each, or a 0 share to skip a phase)`, where);
  }
  return OFA_PHASES.flatMap((p, i) => Array.from({ length: counts[i]! }, () => p));
}

/** Per-phase cosine restarts: phase p's epochs anneal from its start rate (lr, or lr·shrinkLrScale after the full phase) to lrMin. */
export function ofaLrSchedule(phases: readonly OfaPhase[], shrinkLrScale: number, lrMin: number): LrSchedule {
  return (epoch, baseLr) => {
    const e = Math.min(Math.max(0, epoch), phases.length - 1);
    const phase = phases[e]!;
    const start = phases.indexOf(phase);
    const length = phases.lastIndexOf(phase) - start + 1;
    const top = phase === 'full' ? baseLr : baseLr * shrinkLrScale;
    const floor = Math.min(lrMin, top);
    return floor + ((top - floor) * (1 + Math.cos((Math.PI * (e - start)) / length))) / 2;
  };
}

/** A sub-network with the elastic dimensions drawn uniformly and the others at their largest (resolution: the given one when set). */
export function sampleSubnet(space: MobilenetSpace, elastic: ElasticDimensions, rng: Rng, resolution?: number): Sample {
  const { depths, kernels, expandRatios, widths, resolutions } = space.config;
  const pick = (on: boolean, values: readonly number[]) => (on ? rng.choice(values) : Math.max(...values));
  const arch: MobilenetArch = {
    resolution: resolution ?? pick(elastic.resolution, resolutions),
    stages: widths.map(() => {
      const depth = pick(elastic.depth, depths);
      return Array.from({ length: depth }, () => ({ kernel: pick(elastic.kernel, kernels), expand: pick(elastic.expand, expandRatios) }));
    }),
  };
  return space.fromArch(arch);
}

/**
 * Knowledge-distillation loss: the cross-entropy of the student's
 * distribution to the teacher's, both softened by the temperature T, times
 * T² (so its gradients keep their scale), averaged over the batch:
 * mean_i Σ_c −softmax(t_i/T)_c · log softmax(s_i/T)_c · T².
 * OFA uses T = 1. The teacher's logits carry no gradient.
 */
export function distillationLoss(student: Tensor, teacher: Tensor, temperature = 1): Tensor {
  if (!(temperature > 0)) throw new TsnasError('config', `distillation temperature must be positive, got ${temperature}`, { where: 'kdTemperature' });
  return tidy(() => {
    const target = teacher.detach().div(temperature).softmax(1);
    return target.mul(student.div(temperature).logSoftmax(1)).sum(1).mean().neg().mul(temperature * temperature);
  });
}

export interface OfaOptions extends Omit<OneShotOptions, 'space' | 'C' | 'cells' | 'schedule'> {
  space?: 'mobilenet';
  evolution?: EvolutionOptions;
  /** Shares of the epochs for the phases full, kernel, depth, expand (default 1,1,1,1). */
  phaseSplit?: readonly number[];
  /** Weight of the distillation loss in the shrinking phases (default 1, as OFA; 0: no teacher). */
  kdWeight?: number;
  /** Softening temperature of the distillation (default 1). */
  kdTemperature?: number;
  /** Sub-networks sampled per batch in the shrinking phases, gradients accumulated (default 1; OFA uses 2 for depth and expand). */
  subnetsPerStep?: number;
  /** Shrinking phases start their cosine schedule at lr · this (default 0.3). */
  shrinkLrScale?: number;
}

/** What the record of a phase's last epoch carries in `extra`, and runOfa reports per phase. */
export interface OfaPhaseRecord {
  phase: OfaPhase;
  /** 1-based epochs of the phase, first and last. */
  epochs: [number, number];
  /** Inherited-weight accuracies after the phase (batch norm recalibrated). */
  largestAccuracy: number;
  smallestAccuracy: number;
}

export interface OfaResult extends OneShotResult {
  method: 'ofa';
  phases: OfaPhaseRecord[];
  /** The largest network's inherited-weight accuracy before any training. */
  initialLargestAccuracy: number;
}

class OfaRun extends OneShotRun {
  readonly phases: OfaPhase[];
  readonly net: MobilenetSupernet;
  readonly space: MobilenetSpace;
  readonly #step: { kdWeight: number; kdTemperature: number; subnetsPerStep: number; gradClip: number };
  /** The largest network as the full phase left it, frozen: the distillation teacher of the shrinking phases. */
  #teacher: MobilenetNetwork | null = null;

  constructor(data: Dataset, readonly o: OfaOptions, phases: OfaPhase[], kdWeight: number, subnetsPerStep: number) {
    // C and cells size only nb201/darts supernets.
    super('ofa', data, { ...o, space: 'mobilenet', C: 1, cells: 1, schedule: ofaLrSchedule(phases, o.shrinkLrScale ?? 0.3, o.lrMin ?? 0.001) }, phases.length);
    this.phases = phases;
    this.net = this.supernet.net as MobilenetSupernet;
    this.space = this.net.space;
    this.#step = { kdWeight, kdTemperature: o.kdTemperature ?? 1, subnetsPerStep, gradClip: o.gradClip ?? 5 };
  }

  protected override phaseOf(epoch: number): string {
    return this.phases[epoch]!;
  }

  protected override beforeEpoch(epoch: number): Record<string, Json> {
    const extra: Record<string, Json> = {};
    if (epoch === 0) extra.initialLargestAccuracy = this.evaluate(largestSubnet(this.space));
    if (this.phases[epoch] !== 'full' && this.#step.kdWeight > 0 && this.#teacher === null) this.#teacher = this.#extractTeacher();
    return extra;
  }

  /** A fixed copy of the largest network's weights, in eval mode. */
  #extractTeacher(): MobilenetNetwork {
    const teacher = this.net.extract(largestSubnet(this.space));
    teacher.eval();
    return teacher;
  }

  protected step(batch: Batch, epoch: number, rng: Rng): StepResult {
    return ofaStep(this.supernet, batch, this.phases[epoch]!, this.#teacher, rng, this.#step);
  }

  /** At a phase's end (or training's): the smallest and largest sub-networks' accuracies. */
  protected override async afterEpoch(epoch: number, _rng: Rng, last: boolean): Promise<Record<string, Json>> {
    const phase = this.phases[epoch]!;
    if (!last && this.phases[epoch + 1] === phase) return {};
    // Smallest first: the largest's recalibrated statistics stay in the supernet for the teacher.
    const smallestAccuracy = this.evaluate(smallestSubnet(this.space));
    const largestAccuracy = this.evaluate(largestSubnet(this.space));
    return { phaseEpochs: [this.phases.indexOf(phase) + 1, epoch + 1], largestAccuracy, smallestAccuracy };
  }

  protected override methodCheckpoint(): MethodCheckpoint {
    return { state: { teacher: this.#teacher !== null }, tensors: this.#teacher ? moduleTensors('teacher', this.#teacher) : {} };
  }

  protected override restoreMethod(state: Json, tensors: Record<string, Tensor>): void {
    const { teacher } = state as { teacher: boolean };
    if (!teacher) {
      this.#teacher?.dispose();
      this.#teacher = null;
      return;
    }
    this.#teacher ??= this.#extractTeacher();
    loadModuleTensors('teacher', this.#teacher, tensors);
  }

  finish(signal?: AbortSignal): Promise<WeightSharingResult> {
    return this.searchEvolutionary(this.o.evolution, reseed(this.seed, 'final'), signal);
  }

  override dispose(): void {
    this.#teacher?.dispose();
    this.#teacher = null;
    super.dispose();
  }
}

/** OFA progressive shrinking on the mobilenet supernet as a checkpointable run, then evolutionary search of its sub-networks. */
export function createOfaRun(data: Dataset, o: OfaOptions): OneShotRun {
  if (o.space !== undefined && o.space !== 'mobilenet') {
    throw usageError(`Once-for-All progressive shrinking needs the elastic mobilenet supernet (--space mobilenet), got '${String(o.space)}'`, '--space');
  }
  const kdWeight = o.kdWeight ?? 1;
  if (!(kdWeight >= 0)) throw usageError(`expected a non-negative weight, got ${kdWeight}`, '--kd-weight');
  const subnetsPerStep = o.subnetsPerStep ?? 1;
  if (!(Number.isInteger(subnetsPerStep) && subnetsPerStep >= 1)) throw usageError(`expected a positive integer, got ${subnetsPerStep}`, '--subnets-per-step');
  return new OfaRun(data, o, phaseSchedule(o.epochs, o.phaseSplit ?? DEFAULT_PHASE_SPLIT), kdWeight, subnetsPerStep);
}

/** The phase records of an OFA run's epoch records (those that end a phase). */
export function ofaPhaseRecords(history: readonly WeightSharingEpoch[]): OfaPhaseRecord[] {
  return history.filter((h) => h.extra?.largestAccuracy !== undefined).map((h) => ({
    phase: h.phase as OfaPhase,
    epochs: h.extra!.phaseEpochs as [number, number],
    largestAccuracy: h.extra!.largestAccuracy as number,
    smallestAccuracy: h.extra!.smallestAccuracy as number,
  }));
}

export interface RunOfaOptions extends OfaOptions {
  onEpoch?: (record: WeightSharingEpoch) => void;
  /** Sees each phase's record at its end. */
  onPhase?: (record: OfaPhaseRecord) => void;
}

/** OFA in one go. */
export async function runOfa(data: Dataset, o: RunOfaOptions): Promise<OfaResult> {
  const r = await runToEnd('ofa', createOfaRun(data, o), (record) => {
    o.onEpoch?.(record);
    for (const p of ofaPhaseRecords([record])) o.onPhase?.(p);
  });
  return { ...r, method: 'ofa', phases: ofaPhaseRecords(r.history), initialLargestAccuracy: r.history[0]!.extra!.initialLargestAccuracy as number };
}

/** One progressive-shrinking step: one resolution for the batch, the phase's sub-networks, CE plus distillation. */
function ofaStep(
  supernet: OneShotSupernet,
  batch: Batch,
  phase: OfaPhase,
  teacher: MobilenetNetwork | null,
  rng: Rng,
  o: { kdWeight: number; kdTemperature: number; subnetsPerStep: number; gradClip: number },
): StepResult {
  const net = supernet.net as MobilenetSupernet;
  const space = net.space;
  const elastic = elasticDimensions(phase);
  const resolution = elastic.resolution ? rng.choice(space.config.resolutions) : Math.max(...space.config.resolutions);
  const subnets = phase === 'full' ? 1 : o.subnetsPerStep;
  net.train();
  supernet.optimizer.zeroGrad();
  let loss = 0;
  let correct = 0;
  tidy(() => {
    // The batch at the drawn resolution (the supernet skips its own resize then); the teacher sees the same images.
    const x = batch.x.size(2) === resolution && batch.x.size(3) === resolution ? batch.x : resizeBilinear(batch.x, [resolution, resolution]);
    const soft = teacher && o.kdWeight > 0 ? noGrad(() => teacher.call(x)) : null;
    for (let k = 0; k < subnets; k++) {
      const s = phase === 'full' ? largestSubnet(space, resolution) : sampleSubnet(space, elastic, rng, resolution);
      net.setActive(s);
      tidy(() => {
        const logits = net.call(x);
        let l = crossEntropy(logits, batch.y);
        if (soft) l = l.add(distillationLoss(logits, soft, o.kdTemperature).mul(o.kdWeight));
        l.div(subnets).backward();
        loss += l.item() / subnets;
        correct += noGrad(() => logits.argmax(1).eq(batch.y).sum().item()) / subnets;
      });
    }
  });
  if (o.gradClip > 0) clipGradNorm(supernet.weights, o.gradClip);
  supernet.optimizer.step();
  supernet.optimizer.zeroGrad();
  return { loss, correct };
}
