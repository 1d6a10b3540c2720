// Differentiable architecture search: DARTS (first and second order),
// GDAS (hard or soft), PC-DARTS and the collapse-resistant variants β-DARTS,
// DrNAS, DARTS− and SDARTS, with FairNAS-style and hardware-cost
// regularisers and collapse diagnostics, on the cell search network of nb201
// or darts, or on any space's supernet that mixes densely (a
// SupernetBuilder; generic.ts).
//
// Bilevel optimisation on a train/validation split: each step updates the
// architecture parameters on a validation batch (Adam, betas (0.5, 0.999),
// lr 3e-4, wd 1e-3) and the weights on a training batch (SGD, momentum 0.9,
// wd 3e-4, cosine 0.025 -> 0.001, gradient clip 5); α first as DARTS's
// code, weights first as GDAS's (referenceDefaults).
import { TsnasError, configError } from '../../errors.js';
import type { HookRemover } from '../../nn/module.js';
import { Adam, SGD } from '../../nn/optim.js';
import { LrScheduler, clipGradNorm, cosineAnnealing } from '../../nn/schedule.js';
import { DARTS_PRIMITIVES } from '../../nn/ops.js';
import { NB201_OPS } from '../../spaces/nb201.js';
import { GdasMixing, type DartsMixing } from '../../spaces/supernet.js';
import type { SpaceSupernet } from '../../supernets/common.js';
import { crossEntropy, grad, noGrad, rand, stack, tensor, tidy, zerosLike, type Tensor } from '../../tensor/index.js';
import { deriveArchitecture, type ArchWeights, type DerivedArchitecture, type EdgeWeights } from '../../supernets/genotype.js';
import { autogradOracle, dominantHessianEigenvalue, firstOrderArchGradient, unrolledArchGradient, type GradientOracle } from './hypergradient.js';
import { SegmentedTape } from './segmented.js';
import { DartsSupernet } from '../../supernets/darts.js';
import { EdgeNormalization, ProxylessMixing, RandomSmoothing, auxiliarySkip, dropSkipConnections, mixedOps } from './mixing.js';
import { architectureWeights, buildCellSupernet, DIFFERENTIABLE_SPACES, type Supernet, type SupernetConfig } from './network.js';
import { DIFFERENTIABLE_METHODS, methodMixing, methodTraits, referenceDefaults, type DifferentiableMethod, type MethodTraits, type ReferenceDefaults } from './traits.js';

/** Cost of each operation, e.g. latency in ms or FLOPs, for hardware-aware search. */
export type OpCostTable = Record<string, number>;

/**
 * Multiply-adds per output element of each candidate at C channels: a
 * FLOPs lookup table for hardware-aware search when no measured latency
 * table is given. Pooling counts its window; skip and none cost nothing.
 */
export function flopsCostTable(space: 'nb201' | 'darts', C: number): OpCostTable {
  if (space === 'nb201') return { none: 0, skip_connect: 0, nor_conv_1x1: C, nor_conv_3x3: 9 * C, avg_pool_3x3: 9 };
  return {
    none: 0, skip_connect: 0, max_pool_3x3: 9, avg_pool_3x3: 9,
    sep_conv_3x3: 2 * (9 + C), sep_conv_5x5: 2 * (25 + C), dil_conv_3x3: 9 + C, dil_conv_5x5: 25 + C,
  };
}

/** A space's supernet built around the search's mixing (the kit's, e.g. buildSupernet with that mixing). */
export type SupernetBuilder = (mixing: DartsMixing) => SpaceSupernet;

/** Options of the cell search networks alone (their mixed ops, edges and cost tables): a space supernet's search refuses them. */
const CELL_SEARCH_OPTIONS = ['pcK', 'edgeNormalization', 'skipDropout', 'cost', 'segmentedBackward', 'earlyStop'] as const;

/** Throws a config error naming `prefix + field` for the first cell-only option set (not off) in `o`; `supernet` says which one refuses it. */
export function refuseCellOptions(o: Record<string, unknown>, supernet: string, prefix = ''): void {
  const field = CELL_SEARCH_OPTIONS.find((f) => o[f] !== undefined && o[f] !== 0 && o[f] !== false);
  if (field) throw configError(`${field} is for the cell search networks of ${DIFFERENTIABLE_SPACES.join(' and ')}, not ${supernet}`, `${prefix}${field}`);
}

export interface BilevelOptions {
  method: DifferentiableMethod;
  /** Epochs of the whole search (for the cosine schedule and τ annealing). */
  epochs: number;
  weightLr?: number;
  weightLrMin?: number;
  momentum?: number;
  weightDecay?: number;
  gradClip?: number;
  archLr?: number;
  archBetas?: [number, number];
  /** Architecture weight decay (Adam's L2 term). */
  archWeightDecay?: number;
  /** ξ of the unrolled step (default: the weights' current learning rate, as DARTS). */
  xi?: number;
  /** GDAS: τ from tauMax down to tauMin over the epochs (tauSchedule). */
  tauMax?: number;
  tauMin?: number;
  /** GDAS: τ linear per epoch (the reference code's; default) or geometric. */
  tauSchedule?: 'linear' | 'geometric';
  /** GDAS: 'hard' (one Gumbel-sampled candidate per edge; default) or 'soft' (the Gumbel-softmax weights mix every candidate). */
  gdasMode?: 'hard' | 'soft';
  /** GDAS hard mode: the straight-through gradient reaches every candidate's logit (the reference code's; default) or the sampled one's only. */
  gdasGradient?: 'all' | 'sampled';
  /** Default: referenceDefaults(method) (traits.ts). */
  stepOrder?: ReferenceDefaults['stepOrder'];
  /** Nesterov momentum for the weights (default: referenceDefaults(method); no effect at momentum 0). */
  nesterov?: boolean;
  /** Default: referenceDefaults(method). */
  decayIdle?: boolean;
  /** β-DARTS: λ of the β-continuity regulariser, linear from betaLambdaMin at the first epoch towards betaLambdaMax (λ(e) = min + (max − min)·e/epochs; default 0 to 50, the NB201 script's). */
  betaLambdaMin?: number;
  betaLambdaMax?: number;
  /** SDARTS: the perturbation bound ε, linear from 0.03 at the first epoch towards epsilonMax (default 0.3, the reference's). */
  epsilonMax?: number;
  /** SDARTS: 'random' (RS: uniform noise; default) or 'adversarial' (ADV: an L∞ PGD attack on the weights of each step's batch). */
  perturbation?: 'random' | 'adversarial';
  /** SDARTS-ADV: PGD steps (default 7, the reference's), each of size 2ε/steps. */
  attackSteps?: number;
  /** DARTS−: the auxiliary skip's weight at the first epoch, decayed linearly to 0 at the last (default 1). */
  auxSkip?: number;
  /** PC-DARTS: 1/k of the channels are mixed (default 4). */
  pcK?: number;
  /** PC-DARTS edge normalisation β (default on for pcdarts, off otherwise). */
  edgeNormalization?: boolean;
  /** Epochs during which α (and β) stay frozen (default: pcdarts min(15, epochs/2), else 0). */
  archWarmupEpochs?: number;
  /** λ of the FairNAS-style penalty Σ_edges var(softmax α_e) (default 0). */
  fairLambda?: number;
  /** Dropout on skip connections (default 0). */
  skipDropout?: number;
  /**
   * Hardware-aware: λ·Σ_edges Σ_o p_o·T(o) added to the architecture loss.
   * `perLabel` gives an edge label its own T (e.g. measured latencies summed
   * over the cells that share the label, hardware/latency.ts); other labels use `table`.
   */
  cost?: { table: OpCostTable; lambda: number; perLabel?: Record<string, OpCostTable> };
  /**
   * DARTS space: segmented backward with depthwise-conv gradients computed
   * as forward convolutions (segmented.ts). Same results (tested); measured
   * no faster than plain autograd on this machine, so off by default.
   */
  segmentedBackward?: boolean;
}

interface LabeledBatch {
  x: Tensor;
  y: Tensor;
}

export interface StepStats {
  loss: number;
  correct: number;
  n: number;
}

/** One differentiable search: its supernet, both optimizers and the step logic. */
export class BilevelSearch {
  readonly net: Supernet | SpaceSupernet;
  readonly mixing: DartsMixing;
  readonly edgeNorm: EdgeNormalization | null;
  readonly weights: Tensor[];
  readonly alphas: Tensor[];
  readonly weightOptimizer: SGD;
  readonly archOptimizer: Adam;
  readonly scheduler: LrScheduler;
  readonly warmupEpochs: number;
  /** The cell space; null on a space supernet. */
  readonly space: SupernetConfig['space'] | null;
  #epoch = 0;
  #removeSkipDropout: HookRemover | null = null;
  #costs: Map<string, Tensor> | null = null;
  readonly tape: SegmentedTape | null = null;
  readonly gradient: GradientOracle;
  readonly reference: ReferenceDefaults;
  /** What sets the method apart (traits.ts). */
  readonly traits: MethodTraits;
  /** SDARTS's smoothing (active during weight steps); null for other methods. */
  readonly smoothing: RandomSmoothing | null = null;
  #removeAuxSkip: HookRemover | null = null;
  #auxSkipWeight = 0;
  #betaLambda = 0;

  /** `network`: a cell space's search network, or a builder of a space supernet (no PC-DARTS, no cell-only options). */
  constructor(network: SupernetConfig | SupernetBuilder, readonly o: BilevelOptions) {
    if (!DIFFERENTIABLE_METHODS.includes(o.method)) {
      throw new TsnasError('usage', `method must be one of ${DIFFERENTIABLE_METHODS.join(', ')}, got '${o.method}'`, { where: '--method' });
    }
    if (!(Number.isInteger(o.epochs) && o.epochs >= 1)) throw configError(`expected an integer >= 1, got ${o.epochs}`, 'epochs');
    const config = typeof network === 'function' ? null : network;
    this.traits = methodTraits(o.method);
    if (!config) {
      if (this.traits.cellOnly) throw configError(`${this.traits.cellOnly} of the cell search networks of ${DIFFERENTIABLE_SPACES.join(' and ')} only`, 'method');
      refuseCellOptions(o as unknown as Record<string, unknown>, 'a space supernet');
    }
    this.space = config?.space ?? null;
    this.mixing = methodMixing(o.method, o, config !== null);
    const weighting = this.traits.weighting?.();
    if (weighting) {
      this.mixing.weighting = weighting;
      if (weighting instanceof RandomSmoothing) this.smoothing = weighting;
    }
    this.net = config ? buildCellSupernet(config, this.mixing) : (network as SupernetBuilder)(this.mixing);
    if (this.traits.auxiliarySkip) {
      try {
        this.#removeAuxSkip = auxiliarySkip(this.net, () => this.#auxSkipWeight);
      } catch (e) {
        this.net.dispose();
        throw e;
      }
    }
    const useEdgeNorm = o.edgeNormalization ?? this.traits.edgeNormalization ?? false;
    this.edgeNorm = useEdgeNorm ? new EdgeNormalization(this.net as Supernet) : null;
    this.weights = this.net.weightParameters();
    this.alphas = [...this.mixing.architectureParameters(), ...(this.edgeNorm?.parameters() ?? [])];
    this.reference = referenceDefaults(o.method);
    const momentum = o.momentum ?? 0.9;
    this.weightOptimizer = new SGD(this.weights, {
      // Nesterov needs momentum: without it the step is plain SGD either way.
      lr: o.weightLr ?? 0.025, momentum, weightDecay: this.weightDecay, nesterov: (o.nesterov ?? this.reference.nesterov) && momentum > 0,
    });
    this.scheduler = new LrScheduler(this.weightOptimizer, cosineAnnealing(o.epochs, o.weightLrMin ?? 0.001));
    const [beta1, beta2] = o.archBetas ?? [0.5, 0.999];
    this.archOptimizer = new Adam(this.alphas, { lr: o.archLr ?? 3e-4, beta1, beta2, weightDecay: o.archWeightDecay ?? 1e-3 });
    this.warmupEpochs = o.archWarmupEpochs ?? this.traits.archWarmupEpochs?.(o.epochs) ?? 0;
    if (o.skipDropout) this.#removeSkipDropout = dropSkipConnections(this.net, o.skipDropout);
    if (o.cost && config) {
      const ops = (config.space === 'nb201' ? NB201_OPS : DARTS_PRIMITIVES) as readonly string[];
      const labels = this.mixing.namedArchitectureParameters().map(([label]) => label);
      const tableOf = (label: string) => o.cost!.perLabel?.[label] ?? o.cost!.table;
      for (const label of labels) {
        const missing = ops.filter((op) => typeof tableOf(label)[op] !== 'number');
        if (missing.length) throw configError(`the cost table${o.cost.perLabel?.[label] ? ` of ${label}` : ''} has no entry for ${missing.join(', ')}`, 'cost.table');
      }
      this.#costs = new Map(labels.map((label) => [label, tensor(ops.map((op) => tableOf(label)[op]!)).keep()]));
    }
    if (o.segmentedBackward) {
      if (!(this.net instanceof DartsSupernet)) throw configError('the segmented backward is for the darts space', 'segmentedBackward');
      const tape = new SegmentedTape(this.net);
      for (const cell of this.net.cells) cell.tape = tape;
      this.tape = tape;
    }
    this.gradient = this.tape ? this.#segmentedGradient.bind(this) : autogradOracle;
    this.setEpoch(0);
  }

  /** Gradients through the tape: only the asked inputs require grad meanwhile, so nothing else is computed. */
  #segmentedGradient(loss: () => Tensor, inputs: Tensor[]): (Tensor | null)[] {
    const all = [...this.weights, ...this.alphas];
    const wanted = new Set(inputs);
    const flags = all.map((p) => p.requiresGrad);
    for (const p of all) {
      p.grad = null;
      if (!wanted.has(p)) p.requiresGrad = false;
    }
    try {
      tidy(() => void this.tape!.run(() => ({ loss: loss() })));
      return inputs.map((p) => p.grad);
    } finally {
      all.forEach((p, i) => {
        p.grad = null;
        p.requiresGrad = flags[i]!;
      });
    }
  }

  get epoch(): number {
    return this.#epoch;
  }

  get weightDecay(): number {
    return this.o.weightDecay ?? this.reference.weightDecay;
  }

  /** Whether a forward pass draws its architecture (GDAS, DrNAS, ProxylessNAS): a Hessian w.r.t. α would be of a different network each call. */
  get sampled(): boolean {
    return this.traits.sampled ?? false;
  }

  /** The weights' learning rate now. */
  get lr(): number {
    return this.weightOptimizer.lrs[0]!;
  }

  /** GDAS's τ now (null for other methods). */
  get tau(): number | null {
    return this.mixing instanceof GdasMixing ? this.mixing.tau : null;
  }

  /** The method's scheduled coefficients now (β-DARTS λ, SDARTS ε, DARTS− skip weight), for the epoch's record; null for methods without. */
  get coefficients(): Record<string, number> | null {
    const out: Record<string, number> = {};
    if (this.traits.betaContinuity) out['betaLambda'] = this.#betaLambda;
    if (this.smoothing) out['epsilon'] = this.smoothing.epsilon;
    if (this.traits.auxiliarySkip) out['auxSkip'] = this.#auxSkipWeight;
    return Object.keys(out).length > 0 ? out : null;
  }

  /**
   * Moves to an epoch: the cosine learning rate, GDAS's τ (linear:
   * τmax − (τmax − τmin)·progress; geometric: τmax·(τmin/τmax)^progress,
   * progress = epoch/(epochs − 1)) and the schedules of β-DARTS, SDARTS and
   * DARTS− (see BilevelOptions).
   */
  setEpoch(epoch: number): void {
    const o = this.o;
    this.#epoch = epoch;
    this.scheduler.loadStateDict({ epoch });
    const progress = o.epochs > 1 ? Math.min(1, epoch / (o.epochs - 1)) : 0;
    if (this.mixing instanceof GdasMixing) {
      const tauMax = o.tauMax ?? 10;
      const tauMin = o.tauMin ?? 0.1;
      this.mixing.tau = (o.tauSchedule ?? 'linear') === 'linear' ? tauMax - (tauMax - tauMin) * progress : tauMax * (tauMin / tauMax) ** progress;
    }
    const min = o.betaLambdaMin ?? 0;
    this.#betaLambda = min + ((o.betaLambdaMax ?? 50) - min) * (epoch / o.epochs);
    if (this.smoothing) {
      const max = o.epsilonMax ?? 0.3;
      this.smoothing.epsilon = Math.min(0.03, max) + (max - Math.min(0.03, max)) * (epoch / o.epochs);
    }
    this.#auxSkipWeight = (o.auxSkip ?? 1) * (1 - progress);
  }

  /** Whether α is trained at the current epoch (PC-DARTS freezes it at first). */
  get archActive(): boolean {
    return this.#epoch >= this.warmupEpochs;
  }

  /** The α-only terms of the architecture loss: FairNAS variance penalty, β-DARTS's β-continuity term and expected cost. */
  regularizer(): Tensor | null {
    const terms: Tensor[] = [];
    const named = this.mixing.namedArchitectureParameters();
    const fair = this.o.fairLambda ?? 0;
    if (fair > 0) terms.push(stack(named.map(([, a]) => this.mixing.weighting.mean(a).var(null, false))).sum().mul(fair));
    if (this.traits.betaContinuity && this.#betaLambda > 0) terms.push(betaRegularizer(named.map(([, a]) => a)).mul(this.#betaLambda));
    if (this.#costs && this.o.cost!.lambda !== 0) terms.push(this.expectedCost().mul(this.o.cost!.lambda));
    if (terms.length === 0) return null;
    return terms.length === 1 ? terms[0]! : stack(terms).sum();
  }

  /** Σ_edges Σ_o softmax(α_e)_o·T(o), differentiable. */
  expectedCost(): Tensor {
    if (!this.#costs) throw new TsnasError('usage', 'no cost table was given', { where: 'cost' });
    return stack(this.mixing.namedArchitectureParameters().map(([label, a]) => this.mixing.weighting.mean(a).mul(this.#costs!.get(label)!).sum())).sum();
  }

  private validObjective(batch: LabeledBatch, stats: StepStats): () => Tensor {
    return () => {
      const logits = this.net.call(batch.x);
      const ce = crossEntropy(logits, batch.y);
      stats.loss = ce.item();
      stats.correct = noGrad(() => logits.argmax(1).eq(batch.y).sum().item());
      stats.n = batch.y.size(0);
      const reg = this.regularizer();
      return reg ? ce.add(reg) : ce;
    };
  }

  /** One architecture update on a validation batch (second order also uses the training batch). */
  archStep(train: LabeledBatch, valid: LabeledBatch): StepStats {
    const stats: StepStats = { loss: NaN, correct: 0, n: 0 };
    const validLoss = this.validObjective(valid, stats);
    const result = this.#inProxylessPhase('arch', () => (this.traits.secondOrder
      ? unrolledArchGradient({
        weights: this.weights,
        alphas: this.alphas,
        trainLoss: () => crossEntropy(this.net.call(train.x), train.y),
        validLoss,
        xi: this.o.xi ?? this.lr,
        weightDecay: this.weightDecay,
        momentum: this.o.momentum ?? 0.9,
        momentumBuffers: this.momentumBuffers(),
        gradient: this.gradient,
      })
      : firstOrderArchGradient(this.alphas, validLoss, this.gradient)));
    this.archOptimizer.zeroGrad();
    this.alphas.forEach((a, i) => (a.grad = result.grads[i]!));
    for (const g of result.grads) g.dispose();
    this.archOptimizer.step();
    this.archOptimizer.zeroGrad();
    if (this.mixing instanceof ProxylessMixing) this.mixing.rescale();
    return stats;
  }

  /** Runs f with ProxylessNAS's mixing in a step's phase (other mixings: just f); evaluation forwards take the argmax path. */
  #inProxylessPhase<T>(phase: ProxylessMixing['phase'], f: () => T): T {
    if (!(this.mixing instanceof ProxylessMixing)) return f();
    this.mixing.phase = phase;
    try {
      return f();
    } finally {
      this.mixing.phase = 'argmax';
    }
  }

  private momentumBuffers(): (Tensor | null)[] {
    const state = this.weightOptimizer.stateDict().state;
    return this.weights.map((_, i) => (state[String(i)]?.['momentumBuffer'] as Tensor | undefined) ?? null);
  }

  /** One weight update on a training batch (gradients of the weights only; SDARTS smooths α meanwhile). */
  weightStep(train: LabeledBatch): StepStats {
    return tidy(() => {
      const stats: StepStats = { loss: NaN, correct: 0, n: train.y.size(0) };
      if (this.smoothing) {
        if (this.o.perturbation === 'adversarial') this.smoothing.deltas = this.adversarialPerturbation(train);
        this.smoothing.active = true;
      }
      let grads: (Tensor | null)[];
      try {
        grads = this.#inProxylessPhase('weights', () => this.gradient(() => {
          const logits = this.net.call(train.x);
          const loss = crossEntropy(logits, train.y);
          stats.loss = loss.item();
          stats.correct = noGrad(() => logits.argmax(1).eq(train.y).sum().item());
          return loss;
        }, this.weights));
      } finally {
        if (this.smoothing) {
          this.smoothing.active = false;
          this.smoothing.deltas = null;
        }
      }
      // A weight with a momentum buffer has had a gradient before: under decayIdle it gets a zero one, as torch's zero_grad leaves it.
      const idle = (this.o.decayIdle ?? this.reference.decayIdle) ? this.momentumBuffers() : null;
      this.weightOptimizer.zeroGrad();
      this.weights.forEach((w, i) => {
        if (grads[i]) w.grad = grads[i]!;
        else if (idle?.[i]) w.grad = zerosLike(w);
      });
      if ((this.o.gradClip ?? 5) > 0) clipGradNorm(this.weights, this.o.gradClip ?? 5);
      this.weightOptimizer.step();
      this.weightOptimizer.zeroGrad();
      return stats;
    });
  }

  /**
   * SDARTS-ADV: the perturbation of softmax(α) within [−ε, ε] that raises
   * the batch's loss, by PGD from a uniform start (sign steps of 2ε/steps,
   * the network in eval mode, as the reference); kept only if it raises the
   * loss above the unperturbed one, else zero. Tensors in the caller's scope.
   */
  adversarialPerturbation(batch: LabeledBatch): Map<Tensor, Tensor> {
    const smoothing = this.smoothing!;
    const eps = smoothing.epsilon;
    const steps = this.o.attackSteps ?? 7;
    const alphas = this.mixing.architectureParameters();
    const training = this.net.training;
    const lossWith = (deltas: Tensor[] | null) => {
      smoothing.deltas = deltas && new Map(alphas.map((a, i) => [a, deltas[i]!]));
      smoothing.active = deltas !== null;
      try {
        return crossEntropy(this.net.call(batch.x), batch.y);
      } finally {
        smoothing.active = false;
        smoothing.deltas = null;
      }
    };
    this.net.eval();
    try {
      const before = tidy(() => noGrad(() => lossWith(null).item()));
      let deltas = noGrad(() => alphas.map((a) => rand(a.shape).mul(2 * eps).sub(eps).toArray()));
      for (let k = 0; k < steps; k++) {
        deltas = tidy(() => {
          const ds = deltas.map((d) => tensor(d).requiresGrad_(true));
          const grads = grad(lossWith(ds), ds, { allowUnused: true });
          return deltas.map((d, i) => {
            const g = grads[i]?.toArray();
            return d.map((v, j) => Math.min(eps, Math.max(-eps, v + ((2 * eps) / steps) * Math.sign(g?.[j] ?? 0))));
          });
        });
      }
      const after = tidy(() => noGrad(() => lossWith(deltas.map((d) => tensor(d))).item()));
      const kept = before > after ? deltas.map((d) => d.map(() => 0)) : deltas;
      return new Map(alphas.map((a, i) => [a, tensor(kept[i]!)]));
    } finally {
      this.net.train(training);
    }
  }

  /** One search step: architecture (when active) and weights, in the step order. */
  step(train: LabeledBatch, valid: LabeledBatch): { train: StepStats; valid: StepStats | null } {
    if ((this.o.stepOrder ?? this.reference.stepOrder) === 'weights-first') {
      const trainStats = this.weightStep(train);
      return { train: trainStats, valid: this.archActive ? this.archStep(train, valid) : null };
    }
    const validStats = this.archActive ? this.archStep(train, valid) : null;
    return { train: this.weightStep(train), valid: validStats };
  }

  archWeights(): ArchWeights {
    return architectureWeights(this.mixing);
  }

  edgeWeights(): EdgeWeights | undefined {
    return this.edgeNorm?.snapshot();
  }

  /** The candidate operations of each edge label, in α's order. */
  operations(): Record<string, string[]> {
    if (!this.space) return Object.fromEntries([...(this.net as SpaceSupernet).labels()].map(([label, values]) => [label, values.map(String)]));
    const out: Record<string, string[]> = {};
    for (const op of mixedOps(this.net)) out[op.label] ??= [...op.values].map(String);
    return out;
  }

  derive(): DerivedArchitecture {
    if (!this.space) throw new TsnasError('usage', 'derive: genotypes are of the cell spaces; a space supernet exports its sample (exportSample)');
    return deriveArchitecture(this.space, this.archWeights(), this.edgeWeights());
  }

  /** Dominant eigenvalue of the Hessian of the validation loss w.r.t. α (cross entropy only). */
  hessianEigenvalue(valid: LabeledBatch, iterations = 20): number {
    return dominantHessianEigenvalue(this.mixing.architectureParameters(), () => crossEntropy(this.net.call(valid.x), valid.y), { iterations });
  }

  dispose(): void {
    this.tape?.dispose();
    this.#removeSkipDropout?.();
    this.#removeAuxSkip?.();
    this.edgeNorm?.dispose();
    for (const c of this.#costs?.values() ?? []) c.dispose();
    this.weightOptimizer.dispose();
    this.archOptimizer.dispose();
    this.net.dispose();
  }
}

/** β-DARTS's β-continuity regulariser: the mean over edges of logsumexp(α_e). */
export function betaRegularizer(alphas: Tensor[]): Tensor {
  return stack(alphas.map((a) => a.logsumexp(0))).mean();
}
