// Regularized (aging) evolution (Real et al., 2019): a population of the P
// most recent trials; each child mutates the best of S members drawn at
// random, and the oldest member dies whatever its fitness.
import { TsnasError } from '../errors.js';
import type { Sample, SearchSpace } from '../spaces/types.js';
import { BaseStrategy, integerAtLeast, optionsSchema, type BaseOptions } from './base.js';
import { defineStrategy } from './types.js';

export interface EvolutionOptions extends BaseOptions {
  /** Population size P (default 10). */
  population?: number;
  /** Tournament sample size S (default 3). */
  sampleSize?: number;
}

export class RegularizedEvolution extends BaseStrategy {
  readonly name = 'evolution';
  readonly populationSize: number;
  readonly sampleSize: number;
  /** History indices of the living population, oldest first. */
  private population: number[] = [];

  constructor(space: SearchSpace, options: EvolutionOptions = {}) {
    super(space, options);
    this.populationSize = options.population ?? 10;
    this.sampleSize = options.sampleSize ?? 3;
    if (!(this.populationSize >= 1)) throw new TsnasError('config', `evolution population must be >= 1, got ${this.populationSize}`);
    if (!(this.sampleSize >= 1 && this.sampleSize <= this.populationSize)) {
      throw new TsnasError('config', `evolution sample size must be in 1..${this.populationSize}, got ${this.sampleSize}`);
    }
  }

  protected propose(): Sample {
    // The first P asks seed the population with uniform samples.
    if (this.trials.length + this.pending.size < this.populationSize || this.population.length === 0) return this.freshRandom();
    const contestants = this.rng.sample(this.population, Math.min(this.sampleSize, this.population.length));
    const parent = this.trials[this.bestOf(contestants)]!.sample;
    return this.fresh(() => this.space.mutate(parent, this.rng));
  }

  protected override onTell(index: number): void {
    this.population.push(index);
    if (this.population.length > this.populationSize) this.population.shift();
  }

  protected override saveExtra(): unknown {
    return { population: [...this.population] };
  }

  protected override loadExtra(extra: unknown): void {
    this.population = [...(extra as { population: number[] }).population];
  }
}

export const evolutionKind = defineStrategy({
  name: 'evolution',
  multiObjective: false,
  options: optionsSchema({
    population: integerAtLeast(1, 'population size P, the most recent trials (default 10)'),
    sampleSize: integerAtLeast(1, 'tournament sample size S, at most P (default 3)'),
  }),
  create: (space, options) => new RegularizedEvolution(space, options),
});
