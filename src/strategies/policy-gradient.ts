// Controller-based search: an LSTM policy (controller.ts) trained from the
// told rewards, either with REINFORCE (Williams, 1992; Zoph & Le, 2017) or
// with PPO's clipped surrogate (Schulman et al., 2017). Both use an
// exponential-moving-average reward baseline, an entropy bonus and global
// gradient-norm clipping. Repeats of asked samples are redrawn, so the
// policy's mode is explored around rather than re-asked.
import { TsnasError } from '../errors.js';
import type { Sample, SearchSpace } from '../spaces/types.js';
import { tensor, type Tensor } from '../tensor/index.js';
import { BaseStrategy, integerAtLeast, optionsSchema, probability, numberAbove, numberAtLeast, type BaseOptions } from './base.js';
import { defineStrategy } from './types.js';
import { Controller, type ControllerOptions, type ControllerState } from './controller.js';

export interface PolicyGradientOptions extends BaseOptions {
  controller?: ControllerOptions;
  /** Told trials per policy update (default 1 for REINFORCE, 10 for PPO). */
  batch?: number;
  /** Weight of the mean per-decision entropy in the loss (default 0.001). */
  entropyWeight?: number;
  /** Decay of the EMA reward baseline (default 0.9). */
  baselineDecay?: number;
}

export interface PpoOptions extends PolicyGradientOptions {
  /** Passes over each batch (default 4). */
  epochs?: number;
  /** Clip range ε of the probability ratio (default 0.2). */
  clip?: number;
}

interface PolicyExtra {
  controller: ControllerState;
  baseline: number | null;
  /** EMA of squared advantages, to scale advantages to unit size. */
  advantageScale: number | null;
  buffer: number[];
  oldLogProbs: Record<string, number>;
}

/** Policy draws per ask before falling back to a uniform sample: 6 batched passes of 8. */
const SAMPLE_ROUNDS = 6;
const SAMPLES_PER_ROUND = 8;

abstract class PolicyGradientStrategy extends BaseStrategy {
  protected readonly controller: Controller;
  protected readonly batch: number;
  protected readonly entropyWeight: number;
  protected readonly baselineDecay: number;
  private baseline: number | null = null;
  private advantageScale: number | null = null;
  /** History indices told since the last update. */
  private buffer: number[] = [];
  /** hash -> log-probability under the policy when it was asked (PPO's old policy). */
  protected oldLogProbs = new Map<string, number>();

  constructor(space: SearchSpace, options: PolicyGradientOptions, defaultBatch: number) {
    super(space, options);
    // The controller's initial weights come from a fork, so they depend on the seed only.
    this.controller = new Controller(space, this.rng.fork(), options.controller);
    this.batch = options.batch ?? defaultBatch;
    this.entropyWeight = options.entropyWeight ?? 0.001;
    this.baselineDecay = options.baselineDecay ?? 0.9;
    if (!(this.batch >= 1)) throw new TsnasError('config', `${this.constructor.name} batch must be >= 1, got ${this.batch}`);
  }

  protected propose(): Sample {
    let chosen: { sample: Sample; logProb: number } | undefined;
    for (let round = 0; round < SAMPLE_ROUNDS && !chosen; round++) {
      const drawn = this.controller.sampleBatch(this.rng, SAMPLES_PER_ROUND);
      chosen = this.exhausted() ? drawn[0] : drawn.find((c) => !this.isSeen(c.sample));
    }
    if (chosen) {
      this.recordAsked(chosen.sample, chosen.logProb);
      return chosen.sample;
    }
    // The policy keeps proposing asked samples: explore uniformly instead.
    const s = this.freshRandom();
    this.recordAsked(s, undefined);
    return s;
  }

  /** Hook for PPO to remember the asking policy's log-probability (undefined: not drawn from the policy). */
  protected recordAsked(_s: Sample, _logProb: number | undefined): void {}

  protected override onTell(index: number): void {
    this.buffer.push(index);
    if (this.buffer.length < this.batch) return;
    const indices = this.buffer;
    this.buffer = [];
    const samples: Sample[] = [];
    const advantages: number[] = [];
    for (const i of indices) {
      const reward = this.fitnesses[i]!;
      if (!Number.isFinite(reward)) continue; // failed trials teach nothing about relative quality
      if (this.baseline === null) this.baseline = reward;
      const advantage = reward - this.baseline;
      this.advantageScale = this.advantageScale === null ? advantage * advantage : this.baselineDecay * this.advantageScale + (1 - this.baselineDecay) * advantage * advantage;
      this.baseline = this.baselineDecay * this.baseline + (1 - this.baselineDecay) * reward;
      samples.push(this.trials[i]!.sample);
      advantages.push(advantage / Math.sqrt(this.advantageScale + 1e-8));
    }
    if (samples.length > 0) this.learn(samples, advantages);
    for (const i of indices) this.oldLogProbs.delete(this.space.hash(this.trials[i]!.sample));
  }

  protected abstract learn(samples: Sample[], advantages: number[]): void;

  protected override saveExtra(): unknown {
    const extra: PolicyExtra = {
      controller: this.controller.getState(),
      baseline: this.baseline,
      advantageScale: this.advantageScale,
      buffer: [...this.buffer],
      oldLogProbs: Object.fromEntries(this.oldLogProbs),
    };
    return extra;
  }

  protected override loadExtra(extra: unknown): void {
    const e = extra as PolicyExtra;
    this.controller.setState(e.controller);
    this.baseline = e.baseline;
    this.advantageScale = e.advantageScale;
    this.buffer = [...e.buffer];
    this.oldLogProbs = new Map(Object.entries(e.oldLogProbs));
  }

  override dispose(): void {
    this.controller.dispose();
  }
}

/** REINFORCE: loss = −mean(A · log π(sample)) − β · entropy. */
export class Reinforce extends PolicyGradientStrategy {
  readonly name = 'reinforce';

  constructor(space: SearchSpace, options: PolicyGradientOptions = {}) {
    super(space, options, 1);
  }

  protected learn(samples: Sample[], advantages: number[]): void {
    this.controller.update(() => {
      const { logProb, entropy } = this.controller.evaluate(samples);
      const a = tensor(advantages, [advantages.length], { dtype: 'float32' });
      return logProb.mul(a).mean().neg().sub(entropy.mean().mul(this.entropyWeight));
    });
  }
}

/** PPO: several passes of the clipped surrogate min(r·A, clip(r, 1−ε, 1+ε)·A) per batch. */
export class Ppo extends PolicyGradientStrategy {
  readonly name = 'ppo';
  private readonly epochs: number;
  private readonly clip: number;

  constructor(space: SearchSpace, options: PpoOptions = {}) {
    super(space, options, 10);
    this.epochs = options.epochs ?? 4;
    this.clip = options.clip ?? 0.2;
  }

  protected override recordAsked(s: Sample, logProb: number | undefined): void {
    this.oldLogProbs.set(this.space.hash(s), logProb ?? this.controller.logProbs([s])[0]!);
  }

  protected learn(samples: Sample[], advantages: number[]): void {
    // Samples told without being asked (e.g. a warm start) use the current policy as the old one.
    const current = this.controller.logProbs(samples);
    const old = samples.map((s, i) => this.oldLogProbs.get(this.space.hash(s)) ?? current[i]!);
    for (let epoch = 0; epoch < this.epochs; epoch++) {
      this.controller.update(() => {
        const { logProb, entropy } = this.controller.evaluate(samples);
        const a = tensor(advantages, [advantages.length], { dtype: 'float32' });
        const ratio: Tensor = logProb.sub(tensor(old, [old.length], { dtype: 'float32' })).exp();
        const surrogate = ratio.mul(a).minimum(ratio.clamp(1 - this.clip, 1 + this.clip).mul(a));
        return surrogate.mean().neg().sub(entropy.mean().mul(this.entropyWeight));
      });
    }
  }
}

const controllerSchema = optionsSchema({
  hidden: integerAtLeast(1, 'LSTM hidden size, also the embedding size (default 32)'),
  learningRate: numberAbove(0, "the controller's Adam learning rate"),
  clipNorm: numberAbove(0, 'global gradient-norm clip (default 5)'),
  temperature: numberAbove(0, 'softmax temperature when sampling (default 1)'),
  tanhConstant: numberAtLeast(0, 'squash logits to c·tanh(logits/c) when > 0 (default 0, off)'),
})
  .describe("the LSTM controller's settings")
  .optional();

const policyGradientFields = {
  controller: controllerSchema,
  batch: integerAtLeast(1, 'told trials per policy update'),
  entropyWeight: numberAtLeast(0, 'weight of the entropy bonus (default 0.001)'),
  baselineDecay: probability('decay of the moving-average reward baseline (default 0.9)'),
};

export const reinforceKind = defineStrategy({
  name: 'reinforce',
  multiObjective: false,
  options: optionsSchema(policyGradientFields),
  create: (space, options) => new Reinforce(space, options),
});

export const ppoKind = defineStrategy({
  name: 'ppo',
  multiObjective: false,
  options: optionsSchema({
    ...policyGradientFields,
    epochs: integerAtLeast(1, 'passes over each batch (default 4)'),
    clip: numberAbove(0, 'clip range of the probability ratio (default 0.2)'),
  }),
  create: (space, options) => new Ppo(space, options),
});
