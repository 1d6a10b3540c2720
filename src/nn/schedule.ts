// Learning-rate schedules (as closed-form functions of the epoch or step
// count, so that resuming only needs the count) and gradient-norm clipping.
import { Tensor, foreach, noGrad, stack, tidy } from '../tensor/index.js';
import { TsnasError } from '../errors.js';
import type { Optimizer } from './optim.js';

/** The learning rate at a given epoch (or step), from the group's base rate. */
export type LrSchedule = (epoch: number, baseLr: number) => number;

function checkCount(value: number, what: string, allowZero = false): void {
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new TsnasError('config', `${what} must be ${allowZero ? 'a non-negative' : 'a positive'} integer, got ${value}`);
  }
}

/** A constant rate. */
export function constantLr(): LrSchedule {
  return (_epoch, baseLr) => baseLr;
}

/** The cosine rate at a share `progress` (0 to 1, clamped) of the way from baseLr to etaMin. */
export function cosineAt(progress: number, baseLr: number, etaMin = 0): number {
  return etaMin + ((baseLr - etaMin) * (1 + Math.cos(Math.PI * Math.min(1, Math.max(0, progress))))) / 2;
}

/** torch's CosineAnnealingLR closed form: etaMin + (base - etaMin)(1 + cos(pi t / tMax)) / 2. */
export function cosineAnnealing(tMax: number, etaMin = 0): LrSchedule {
  checkCount(tMax, 'cosine schedule T_max');
  return (epoch, baseLr) => etaMin + ((baseLr - etaMin) * (1 + Math.cos((Math.PI * epoch) / tMax))) / 2;
}

/** torch's StepLR: base * gamma^floor(epoch / stepSize). */
export function stepDecay(stepSize: number, gamma = 0.1): LrSchedule {
  checkCount(stepSize, 'step decay step size');
  return (epoch, baseLr) => baseLr * gamma ** Math.floor(epoch / stepSize);
}

/** torch's MultiStepLR: base * gamma^(number of milestones <= epoch). */
export function multiStepDecay(milestones: number[], gamma = 0.1): LrSchedule {
  const sorted = [...milestones].sort((a, b) => a - b);
  return (epoch, baseLr) => baseLr * gamma ** sorted.filter((m) => m <= epoch).length;
}

/**
 * Linear warm-up for warmupSteps, from startFactor * base up to base (torch's
 * LinearLR), then `then` restarted at 0 (as torch's SequentialLR).
 */
export function linearWarmup(warmupSteps: number, then: LrSchedule = constantLr(), startFactor = 1 / 3): LrSchedule {
  checkCount(warmupSteps, 'warm-up steps', true);
  if (!(startFactor >= 0 && startFactor <= 1)) {
    throw new TsnasError('config', `warm-up start factor must be in [0, 1], got ${startFactor}`);
  }
  return (epoch, baseLr) =>
    epoch < warmupSteps
      ? baseLr * (startFactor + ((1 - startFactor) * epoch) / warmupSteps)
      : then(epoch - warmupSteps, baseLr);
}

/**
 * Applies a schedule to an optimizer: the rate of each group is
 * schedule(epoch, the group's initial rate). step() advances one epoch.
 */
export class LrScheduler {
  readonly baseLrs: number[];
  #epoch = 0;
  constructor(readonly optimizer: Optimizer, readonly schedule: LrSchedule) {
    this.baseLrs = optimizer.lrs;
    this.#apply();
  }
  get epoch(): number {
    return this.#epoch;
  }
  /** The rates now set on the optimizer's groups. */
  get lastLr(): number[] {
    return this.optimizer.lrs;
  }
  step(): void {
    this.#epoch++;
    this.#apply();
  }
  stateDict(): { epoch: number; baseLrs: number[] } {
    return { epoch: this.#epoch, baseLrs: [...this.baseLrs] };
  }
  loadStateDict(s: { epoch: number; baseLrs?: number[] }): void {
    checkCount(s.epoch, 'scheduler epoch', true);
    if (s.baseLrs) {
      if (s.baseLrs.length !== this.baseLrs.length) {
        throw new TsnasError('data', `scheduler state has ${s.baseLrs.length} base rates, expected ${this.baseLrs.length}`);
      }
      this.baseLrs.splice(0, this.baseLrs.length, ...s.baseLrs);
    }
    this.#epoch = s.epoch;
    this.#apply();
  }
  #apply(): void {
    this.optimizer.setLr(this.baseLrs.map((base) => this.schedule(this.#epoch, base)));
  }
}

/**
 * Scales gradients in place so that their total normType-norm is at most
 * maxNorm (torch.nn.utils.clip_grad_norm_); returns the norm before clipping.
 * Parameters without a gradient are ignored.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number, normType = 2): number {
  return tidy(() =>
    noGrad(() => {
      const grads: Tensor[] = [];
      for (const p of params) {
        const g = p.grad;
        if (g) grads.push(g);
      }
      if (grads.length === 0) return 0;
      let total: number;
      if (normType === Infinity) {
        total = stack(grads.map((g) => g.abs().max())).max().item();
      } else {
        const norms = normType === 2 ? foreach.norm(grads) : grads.map((g) => g.norm(normType));
        total = stack(norms).norm(normType).item();
      }
      // The coefficient in float32, as torch computes it from a float32 norm.
      const coef = Math.fround(Math.fround(maxNorm) / Math.fround(Math.fround(total) + Math.fround(1e-6)));
      if (coef < 1) foreach.mul_(grads, coef);
      return total;
    }),
  );
}
