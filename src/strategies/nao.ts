// Neural Architecture Optimization (Luo et al., 2018): an LSTM encoder maps
// a sample's tokens (one per dimension of the space, in the space's order) to
// a continuous embedding, a small network predicts the fitness from the
// embedding, and an LSTM decoder maps the embedding back to a sample. The
// three are trained jointly on the told trials (prediction + reconstruction
// loss); new candidates are the best trials' embeddings moved by gradient
// ascent on the predicted fitness, decoded, and kept when unseen.
//
// The decoder walks the space's dimensions in order and skips those whose
// condition the decoded prefix leaves false, so every decoded sample is valid
// by construction. The model is rebuilt from a seed drawn from the strategy's
// RNG on every fit (like bo's predictor), so the state is the RNG, the history
// and the queue: a resumed run asks exactly what the uninterrupted run asks.
import { TsnasError } from '../errors.js';
import { Module } from '../nn/module.js';
import { Embedding, LSTMCell, Linear } from '../nn/layers.js';
import { Adam } from '../nn/optim.js';
import { tokenizer } from '../predictors/features.js';
import { Standardizer } from '../predictors/types.js';
import type { Sample, SearchSpace, Value } from '../spaces/types.js';
import {
  cat, crossEntropy, grad, manualSeed, mseLoss, noGrad, stack, tensor, tidy, zeros, type Tensor,
} from '../tensor/index.js';
import { BaseStrategy, integerAtLeast, optionsSchema, probability, numberAbove, type BaseOptions } from './base.js';
import { defineStrategy } from './types.js';

export interface NaoModelOptions {
  /** Token embedding size (default 16). */
  embedding?: number;
  /** LSTM hidden size, which is also the size of the architecture embedding (default 32). */
  hidden?: number;
}

export interface NaoFitOptions {
  /** Full-batch Adam steps (default 100). */
  epochs?: number;
  learningRate?: number;
  /** Weight of the prediction loss; the reconstruction loss gets 1 − tradeOff (default 0.8, as in NAO). */
  tradeOff?: number;
}

/** Encoder, predictor and decoder over a space's dimension tokens. */
export class NaoModel extends Module<[Tensor], Tensor> {
  private readonly tokens: ReturnType<typeof tokenizer>;
  private readonly offsets: readonly number[];
  readonly hidden: number;
  private readonly embed: Embedding;
  private readonly encoder: LSTMCell;
  private readonly decoder: LSTMCell;
  private readonly out: Linear;
  private readonly predictor1: Linear;
  private readonly predictor2: Linear;

  constructor(private readonly space: SearchSpace, o: NaoModelOptions = {}) {
    super();
    this.tokens = tokenizer(space);
    this.offsets = this.tokens.offsets;
    const e = o.embedding ?? 16;
    const h = (this.hidden = o.hidden ?? 32);
    // One more token than the tokenizer's: the decoder's start token.
    this.embed = this.registerModule('embed', new Embedding(this.tokens.vocabulary + 1, e));
    this.encoder = this.registerModule('encoder', new LSTMCell(e, h));
    // The decoder reads the embedding at every step besides the previous token (no attention).
    this.decoder = this.registerModule('decoder', new LSTMCell(e + h, h));
    this.out = this.registerModule('out', new Linear(h, this.tokens.vocabulary));
    this.predictor1 = this.registerModule('predictor1', new Linear(h, h));
    this.predictor2 = this.registerModule('predictor2', new Linear(h, 1));
  }

  /** The samples' token matrix [b, dimensions] (0 for inactive dimensions). */
  tokenTensor(samples: readonly Sample[]): Tensor {
    return tensor(samples.flatMap((s) => this.tokens.tokens(s)), [samples.length, this.tokens.length], { dtype: 'int64' });
  }

  /** Architecture embeddings [b, hidden]: the mean of the encoder's outputs, as in NAO. */
  forward(tokens: Tensor): Tensor {
    const x = this.embed.call(tokens);
    let state: [Tensor, Tensor] | undefined;
    const outputs: Tensor[] = [];
    for (let t = 0; t < tokens.size(1); t++) {
      state = this.encoder.call(x.select(1, t), state);
      outputs.push(state[0]);
    }
    return stack(outputs, 1).mean(1);
  }

  encode(samples: readonly Sample[]): Tensor {
    return this.call(this.tokenTensor(samples));
  }

  /** Predicted (standardised) fitness [b, 1] of embeddings. */
  predict(z: Tensor): Tensor {
    return this.predictor2.call(this.predictor1.call(z).relu());
  }

  /**
   * Teacher-forced cross-entropy of decoding `samples` from z, averaged over
   * active decisions. All steps share one output layer and one loss call: at
   * step k, tokens outside dimension k's range are masked out of the softmax.
   */
  reconstructionLoss(z: Tensor, samples: readonly Sample[]): Tensor {
    const b = samples.length;
    const dims = this.space.dimensions();
    const L = dims.length;
    const rows = samples.map((s) => this.tokens.tokens(s));
    const previous = rows.flatMap((r) => [this.tokens.vocabulary, ...r.slice(0, L - 1)]);
    const inputs = cat([this.embed.call(tensor(previous, [b, L], { dtype: 'int64' })), z.unsqueeze(1).expand(b, L, this.hidden)], 2);
    let state: [Tensor, Tensor] = [z, zeros([b, this.hidden])];
    const hs: Tensor[] = [];
    for (let k = 0; k < L; k++) {
      state = this.decoder.call(inputs.select(1, k), state);
      hs.push(state[0]);
    }
    const logits = this.out.call(stack(hs, 1)).add(this.outsideMask()).reshape(b * L, this.tokens.vocabulary);
    // Inactive decisions get weight 0 and any in-range target.
    const targets = rows.flatMap((r) => r.map((t, k) => (t > 0 ? t : this.offsets[k]!)));
    const weights = rows.flatMap((r) => r.map((t): number => (t > 0 ? 1 : 0)));
    const decisions = weights.reduce((a, w) => a + w, 0);
    const ce = crossEntropy(logits, tensor(targets, [b * L], { dtype: 'int64' }), { reduction: 'none' });
    return ce.mul(tensor(weights, [b * L])).sum().div(Math.max(decisions, 1));
  }

  /** [dimensions, vocabulary]: 0 on each dimension's own tokens, a large negative number elsewhere. */
  private outsideMask(): Tensor {
    const dims = this.space.dimensions();
    const V = this.tokens.vocabulary;
    const mask = new Float32Array(dims.length * V).fill(-1e9);
    dims.forEach((d, k) => mask.fill(0, k * V + this.offsets[k]!, k * V + this.offsets[k]! + d.values.length));
    return tensor(mask, [dims.length, V]);
  }

  /** Greedy decoding: the most likely value of each active dimension, in the space's order. */
  decode(z: Tensor): Sample[] {
    return tidy(() =>
      noGrad(() => {
        const b = z.size(0);
        const out: Record<string, Value>[] = Array.from({ length: b }, () => ({}));
        let state: [Tensor, Tensor] = [z, zeros([b, this.hidden])];
        let previous = new Array<number>(b).fill(this.tokens.vocabulary);
        this.space.dimensions().forEach((d, k) => {
          state = this.decoder.call(cat([this.embed.call(tensor(previous, [b], { dtype: 'int64' })), z], 1), state);
          const choice = this.out.call(state[0]).narrow(1, this.offsets[k]!, d.values.length).argmax(1).toArray() as number[];
          previous = out.map((o, r) => {
            if (d.condition && !d.condition(o)) return 0;
            o[d.label] = d.values[choice[r]!]!;
            return this.offsets[k]! + choice[r]!;
          });
        });
        return out as Sample[];
      }),
    );
  }

  /** Trains from the current weights on (samples, standardised targets), full batch. */
  fit(samples: readonly Sample[], targets: readonly number[], o: NaoFitOptions = {}): void {
    const tradeOff = o.tradeOff ?? 0.8;
    const optimizer = new Adam(this.parameters(), { lr: o.learningRate ?? 0.005 });
    const tokens = this.tokenTensor(samples).keep();
    const y = tensor(targets, [targets.length, 1]).keep();
    try {
      this.train();
      for (let epoch = 0; epoch < (o.epochs ?? 100); epoch++) {
        tidy(() => {
          const z = this.call(tokens);
          const loss = mseLoss(this.predict(z), y).mul(tradeOff).add(this.reconstructionLoss(z, samples).mul(1 - tradeOff));
          optimizer.zeroGrad();
          loss.backward();
          optimizer.step();
        });
      }
      this.eval();
    } finally {
      optimizer.dispose();
      tokens.dispose();
      y.dispose();
      this.zeroGrad();
    }
  }

  /** z + stepSize · ∇z predict(z), one step for every row (a new tensor; z is untouched). */
  ascend(z: Tensor, stepSize: number): Tensor {
    return tidy(() => {
      const leaf = z.detach().requiresGrad_(true);
      const [g] = grad(this.predict(leaf).sum(), [leaf]);
      return z.detach().add(g!.mul(stepSize));
    });
  }
}

export interface NaoOptions extends BaseOptions, NaoModelOptions, NaoFitOptions {
  /** Uniform samples before the model is used (default 10). */
  initial?: number;
  /** New samples per model fit (default 10). */
  batch?: number;
  /** How many of the best trials are moved in the embedding space (default 10). */
  parents?: number;
  /** Gradient ascent step size η (default 1). */
  stepSize?: number;
  /** Ascent steps per parent before it is given up (default 20). */
  maxSteps?: number;
}

export class Nao extends BaseStrategy {
  readonly name = 'nao';
  private readonly initial: number;
  private readonly batch: number;
  private readonly parents: number;
  private readonly stepSize: number;
  private readonly maxSteps: number;
  private readonly model: NaoModelOptions;
  private readonly training: NaoFitOptions;
  /** Chosen by the last fit and not yet asked. */
  private queue: Sample[] = [];

  constructor(space: SearchSpace, options: NaoOptions = {}) {
    super(space, options);
    this.initial = options.initial ?? 10;
    this.batch = options.batch ?? 10;
    this.parents = options.parents ?? 10;
    this.stepSize = options.stepSize ?? 1;
    this.maxSteps = options.maxSteps ?? 20;
    this.model = { embedding: options.embedding ?? 16, hidden: options.hidden ?? 32 };
    this.training = { epochs: options.epochs ?? 100, learningRate: options.learningRate ?? 0.005, tradeOff: options.tradeOff ?? 0.8 };
    if (!(this.initial >= 2)) throw new TsnasError('config', `nao initial must be >= 2, got ${this.initial}`);
    if (!(this.stepSize > 0)) throw new TsnasError('config', `nao stepSize must be > 0, got ${this.stepSize}`);
  }

  protected propose(): Sample {
    if (this.trials.length < this.initial) return this.freshRandom();
    while (this.queue.length > 0) {
      const s = this.queue.shift()!;
      if (!this.isSeen(s)) return s;
    }
    this.queue = this.generate();
    return this.queue.shift() ?? this.freshRandom();
  }

  /** Fits a fresh model on everything told and returns up to `batch` unseen decoded samples, best predicted first. */
  private generate(): Sample[] {
    const finite = this.trials.map((_, i) => i).filter((i) => Number.isFinite(this.fitnesses[i]!));
    if (finite.length < 2) return [];
    const seed = this.rng.nextUint32();
    manualSeed(seed);
    const model = new NaoModel(this.space, this.model);
    try {
      const samples = finite.map((i) => this.trials[i]!.sample);
      const scaler = new Standardizer(finite.map((i) => this.fitnesses[i]!));
      model.fit(samples, scaler.forward(finite.map((i) => this.fitnesses[i]!)), this.training);
      const parents = [...finite].sort((a, b) => this.fitnesses[b]! - this.fitnesses[a]! || a - b).slice(0, this.parents);
      const found = this.ascendAll(model, parents.map((i) => this.trials[i]!.sample));
      if (found.length === 0) return [];
      const predicted = tidy(() => noGrad(() => model.predict(model.encode(found)).reshape(-1).toArray() as number[]));
      return found
        .map((s, i) => ({ s, p: predicted[i]!, i }))
        .sort((a, b) => b.p - a.p || a.i - b.i)
        .slice(0, this.batch)
        .map((c) => c.s);
    } finally {
      model.dispose();
    }
  }

  /**
   * Moves every parent's embedding up the predictor's gradient, one step at
   * a time, until it decodes to a sample not seen before (NAO raises the step
   * instead; repeated small steps find the nearest new sample the same way).
   */
  private ascendAll(model: NaoModel, parents: Sample[]): Sample[] {
    const found = new Map<string, Sample>();
    let z = tidy(() => noGrad(() => model.encode(parents))).keep();
    let open = parents.map((_, i) => i);
    try {
      for (let step = 0; step < this.maxSteps && open.length > 0; step++) {
        const next = model.ascend(z, this.stepSize).keep();
        z.dispose();
        z = next;
        const decoded = model.decode(z);
        open = open.filter((row) => {
          const s = decoded[row]!;
          const h = this.space.hash(s);
          if (this.seen.has(h)) return true;
          if (!found.has(h)) found.set(h, s);
          return false;
        });
      }
    } finally {
      z.dispose();
    }
    return [...found.values()];
  }

  protected override saveExtra(): unknown {
    return { queue: this.queue.map((s) => ({ ...s })) };
  }

  protected override loadExtra(extra: unknown): void {
    this.queue = [...(extra as { queue: Sample[] }).queue];
  }
}

export const naoKind = defineStrategy({
  name: 'nao',
  multiObjective: false,
  options: optionsSchema({
    initial: integerAtLeast(2, 'uniform samples before the model is used (default 10)'),
    batch: integerAtLeast(1, 'new samples per model fit (default 10)'),
    parents: integerAtLeast(1, 'how many of the best trials are moved in the embedding space (default 10)'),
    embedding: integerAtLeast(1, 'token embedding size (default 16)'),
    hidden: integerAtLeast(1, 'LSTM hidden size = architecture embedding size (default 32)'),
    epochs: integerAtLeast(1, 'full-batch Adam steps per fit (default 100)'),
    learningRate: numberAbove(0, 'Adam learning rate (default 0.005)'),
    tradeOff: probability('weight of the prediction loss against the reconstruction loss (default 0.8)'),
    stepSize: numberAbove(0, 'gradient ascent step size in the embedding space (default 1)'),
    maxSteps: integerAtLeast(1, 'ascent steps per parent before it is given up (default 20)'),
  }),
  create: (space, options) => new Nao(space, options),
});
