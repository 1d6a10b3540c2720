// Bayesian optimisation with a neural predictor, in the style of BANANAS
// (White et al., 2021): a predictor (src/predictors; by default an ensemble
// of MLPs on the space's path encoding), refit on every batch, gives a mean
// and an uncertainty; candidates are mutations of the best trials plus
// uniform samples; an acquisition function (independent Thompson sampling or
// expected improvement) picks the next batch.
import { TsnasError } from '../errors.js';
import type { EncodingKind, Sample, SearchSpace } from '../spaces/types.js';
import { BaseStrategy, integerAtLeast, optionsSchema, numberAbove, numberAtLeast, type BaseOptions } from './base.js';
import { z } from 'zod';
import { defineStrategy } from './types.js';
import type { Predictor } from '../predictors/types.js';
import { SparseMlpEnsemble, type MlpOptions } from '../predictors/sparse-mlp.js';

export type Acquisition = 'its' | 'ei';

export interface BananasOptions extends BaseOptions {
  /** Uniform samples before the predictor is used (default 10). */
  initial?: number;
  /** Samples chosen per predictor fit (default 5). */
  batch?: number;
  /** Networks in the ensemble (default 5). */
  ensemble?: number;
  /** Candidates made by mutating the best trials (default 100). */
  mutationCandidates?: number;
  /** How many of the best trials are mutated (default 10). */
  parents?: number;
  /** Uniform candidates (default 20). */
  randomCandidates?: number;
  acquisition?: Acquisition;
  encoding?: EncodingKind;
  mlp?: MlpOptions;
  /**
   * The predictor refit on every batch, built fresh from a seed drawn from
   * the strategy's RNG (default: the ensemble of `ensemble` MLPs with the
   * `mlp` settings on the `encoding`). Its std is the acquisition's uncertainty.
   * Code only (new Bananas): configs and createStrategy take JSON options.
   */
  predictor?: (seed: number) => Predictor;
}

export class Bananas extends BaseStrategy {
  readonly name = 'bo';
  private readonly initial: number;
  private readonly batch: number;
  private readonly ensembleSize: number;
  private readonly mutationCandidates: number;
  private readonly parents: number;
  private readonly randomCandidates: number;
  private readonly acquisition: Acquisition;
  private readonly makePredictor: (seed: number) => Predictor;
  /** Chosen by the last acquisition and not yet asked. */
  private queue: Sample[] = [];

  constructor(space: SearchSpace, options: BananasOptions = {}) {
    super(space, options);
    this.initial = options.initial ?? 10;
    this.batch = options.batch ?? 5;
    this.ensembleSize = options.ensemble ?? 5;
    this.mutationCandidates = options.mutationCandidates ?? 100;
    this.parents = options.parents ?? 10;
    this.randomCandidates = options.randomCandidates ?? 20;
    this.acquisition = options.acquisition ?? 'its';
    const ensemble = { size: this.ensembleSize, encoding: options.encoding ?? 'path', mlp: options.mlp ?? {} };
    this.makePredictor = options.predictor ?? ((seed) => new SparseMlpEnsemble(space, { ...ensemble, seed }));
    if (!(this.initial >= 2)) throw new TsnasError('config', `bo initial must be >= 2, got ${this.initial}`);
    if (!(this.batch >= 1)) throw new TsnasError('config', `bo batch must be >= 1, got ${this.batch}`);
    if (!(this.ensembleSize >= 2)) throw new TsnasError('config', `bo ensemble must be >= 2 (it gives the uncertainty), got ${this.ensembleSize}`);
  }

  protected propose(): Sample {
    if (this.trials.length < this.initial) return this.freshRandom();
    while (this.queue.length > 0) {
      const s = this.queue.shift()!;
      if (!this.isSeen(s)) return s;
    }
    this.queue = this.acquire();
    const s = this.queue.shift();
    return s ?? this.freshRandom();
  }

  /** Fits the predictor on everything told and returns the next batch, best first. */
  private acquire(): Sample[] {
    const finite = this.trials.map((_, i) => i).filter((i) => Number.isFinite(this.fitnesses[i]!));
    if (finite.length < 2) return [];
    const y = targets(finite.map((i) => this.fitnesses[i]!));
    const predictor = this.makePredictor(this.rng.nextUint32());
    let prediction: { mean: number[]; std: number[] };
    let candidates: Sample[];
    try {
      predictor.fit(finite.map((i) => this.trials[i]!.sample), y.values);
      candidates = this.candidates();
      if (candidates.length === 0) return [];
      prediction = predictor.query(candidates);
    } finally {
      predictor.dispose();
    }
    const { mean, std } = prediction;
    const incumbent = Math.max(...y.values);
    const score = candidates.map((_, i) =>
      this.acquisition === 'its' ? mean[i]! + std[i]! * this.rng.normal() : expectedImprovement(mean[i]!, std[i]!, incumbent),
    );
    return candidates
      .map((s, i) => ({ s, score: score[i]!, i }))
      .sort((a, b) => b.score - a.score || a.i - b.i)
      .slice(0, this.batch)
      .map((c) => c.s);
  }

  /** Unseen, distinct mutations of the best trials, then unseen uniform samples. */
  private candidates(): Sample[] {
    const byFitness = this.trials.map((_, i) => i).sort((a, b) => this.fitnesses[b]! - this.fitnesses[a]! || a - b);
    const parents = byFitness.slice(0, this.parents).map((i) => this.trials[i]!.sample);
    const out: Sample[] = [];
    const taken = new Set<string>();
    const add = (s: Sample) => {
      const h = this.space.hash(s);
      if (this.seen.has(h) || taken.has(h)) return false;
      taken.add(h);
      out.push(s);
      return true;
    };
    // Parents take turns; each candidate is one or two mutations away, as in BANANAS' edit-distance candidates.
    for (let tries = 0; out.length < this.mutationCandidates && tries < this.mutationCandidates * 5; tries++) {
      let s = this.space.mutate(parents[tries % parents.length]!, this.rng);
      if (this.rng.next() < 0.3) s = this.space.mutate(s, this.rng);
      add(s);
    }
    for (let tries = 0, added = 0; added < this.randomCandidates && tries < this.randomCandidates * 5; tries++) {
      if (add(this.space.sample(this.rng))) added++;
    }
    return out;
  }

  protected override saveExtra(): unknown {
    return { queue: this.queue.map((s) => ({ ...s })) };
  }

  protected override loadExtra(extra: unknown): void {
    this.queue = [...(extra as { queue: Sample[] }).queue];
  }
}

/**
 * Standardised regression targets. Values below the lower quartile are
 * raised to it first: the predictor only needs to rank the good region, and
 * a few failed networks (e.g. 10% accuracy) would otherwise dominate the fit.
 */
export function targets(fitness: number[]): { values: number[] } {
  const sorted = [...fitness].sort((a, b) => a - b);
  const floor = sorted[Math.floor((sorted.length - 1) * 0.25)]!;
  const clipped = fitness.map((f) => Math.max(f, floor));
  const mu = clipped.reduce((a, b) => a + b, 0) / clipped.length;
  const sd = Math.sqrt(clipped.reduce((a, b) => a + (b - mu) * (b - mu), 0) / clipped.length) || 1;
  return { values: clipped.map((f) => (f - mu) / sd) };
}

function expectedImprovement(mean: number, std: number, incumbent: number): number {
  if (std <= 0) return Math.max(0, mean - incumbent);
  const z = (mean - incumbent) / std;
  return (mean - incumbent) * normalCdf(z) + std * Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

/** Standard normal CDF via the complementary error function (Abramowitz–Stegun 7.1.26). */
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x * x);
  return z >= 0 ? 1 - erfc / 2 : erfc / 2;
}

export const bananasKind = defineStrategy({
  name: 'bo',
  multiObjective: false,
  options: optionsSchema({
    initial: integerAtLeast(2, 'uniform samples before the predictor is used (default 10)'),
    batch: integerAtLeast(1, 'samples chosen per predictor fit (default 5)'),
    ensemble: integerAtLeast(2, 'networks in the ensemble, whose spread is the uncertainty (default 5)'),
    mutationCandidates: integerAtLeast(0, 'candidates made by mutating the best trials (default 100)'),
    parents: integerAtLeast(1, 'how many of the best trials are mutated (default 10)'),
    randomCandidates: integerAtLeast(0, 'uniform candidates (default 20)'),
    acquisition: z.enum(['its', 'ei']).describe('independent Thompson sampling or expected improvement (default its)').optional(),
    encoding: z.enum(['onehot', 'adjacency', 'path']).describe("the space's encoding the predictor reads (default path)").optional(),
    mlp: optionsSchema({
      hidden: integerAtLeast(1, 'units of each of the two hidden layers (default 32)'),
      epochs: integerAtLeast(1, 'full-batch Adam steps (default 100)'),
      learningRate: numberAbove(0, 'Adam learning rate (default 0.01)'),
      weightDecay: numberAtLeast(0, 'L2 penalty on weights (default 0)'),
    })
      .describe("each ensemble member's settings")
      .optional(),
  }),
  create: (space, options) => new Bananas(space, options),
});
