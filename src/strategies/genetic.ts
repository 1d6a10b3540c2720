// A generational genetic algorithm: tournament selection of two parents,
// the space's crossover, mutation, and elitism (the best E members survive
// into the next generation unevaluated).
import { TsnasError } from '../errors.js';
import type { CrossoverKind, Sample, SearchSpace } from '../spaces/types.js';
import { BaseStrategy, crossoverKindSchema, integerAtLeast, optionsSchema, probability, type BaseOptions } from './base.js';
import { defineStrategy } from './types.js';

export interface GeneticOptions extends BaseOptions {
  /** Population size N (default 20). */
  population?: number;
  /** Members kept unchanged from one generation to the next (default 2). */
  elites?: number;
  /** Tournament size for parent selection (default 3). */
  tournament?: number;
  /** Probability that a child is a crossover of two parents (default 0.5). */
  crossoverRate?: number;
  /** Probability of mutating a child (default 1 — mutation happens anyway when the child repeats a sample). */
  mutationRate?: number;
  crossoverKind?: CrossoverKind;
}

export class GeneticAlgorithm extends BaseStrategy {
  readonly name = 'ga';
  private readonly size: number;
  private readonly elites: number;
  private readonly tournament: number;
  private readonly crossoverRate: number;
  private readonly mutationRate: number;
  private readonly crossoverKind: CrossoverKind;
  /** History indices of the current generation (empty before generation 0 is complete). */
  private population: number[] = [];
  /** History indices told since the current generation was formed. */
  private offspring: number[] = [];

  constructor(space: SearchSpace, options: GeneticOptions = {}) {
    super(space, options);
    this.size = options.population ?? 20;
    this.elites = options.elites ?? 2;
    this.tournament = options.tournament ?? 3;
    this.crossoverRate = options.crossoverRate ?? 0.5;
    this.mutationRate = options.mutationRate ?? 1;
    this.crossoverKind = options.crossoverKind ?? 'uniform';
    if (!(this.size >= 2)) throw new TsnasError('config', `ga population must be >= 2, got ${this.size}`);
    if (!(this.elites >= 0 && this.elites < this.size)) throw new TsnasError('config', `ga elites must be in 0..${this.size - 1}, got ${this.elites}`);
    if (!(this.tournament >= 1)) throw new TsnasError('config', `ga tournament must be >= 1, got ${this.tournament}`);
  }

  protected propose(): Sample {
    if (this.population.length === 0) return this.freshRandom();
    const a = this.select();
    return this.fresh(() => {
      let child = a;
      if (this.rng.next() < this.crossoverRate) child = this.space.crossover(a, this.select(), this.rng, this.crossoverKind);
      if (this.rng.next() < this.mutationRate || this.isSeen(child)) child = this.space.mutate(child, this.rng);
      return child;
    });
  }

  private select(): Sample {
    const contestants = this.rng.sample(this.population, Math.min(this.tournament, this.population.length));
    return this.trials[this.bestOf(contestants)]!.sample;
  }

  protected override onTell(index: number): void {
    this.offspring.push(index);
    if (this.population.length === 0) {
      if (this.offspring.length >= this.size) this.nextGeneration([]);
    } else if (this.offspring.length >= this.size - this.elites) {
      this.nextGeneration(this.byFitness(this.population).slice(0, this.elites));
    }
  }

  private nextGeneration(elites: number[]): void {
    this.population = this.byFitness([...elites, ...this.offspring]).slice(0, this.size);
    this.offspring = [];
  }

  private byFitness(indices: number[]): number[] {
    return [...indices].sort((a, b) => this.fitnesses[b]! - this.fitnesses[a]! || a - b);
  }

  protected override saveExtra(): unknown {
    return { population: [...this.population], offspring: [...this.offspring] };
  }

  protected override loadExtra(extra: unknown): void {
    const e = extra as { population: number[]; offspring: number[] };
    this.population = [...e.population];
    this.offspring = [...e.offspring];
  }
}

export const geneticKind = defineStrategy({
  name: 'ga',
  multiObjective: false,
  options: optionsSchema({
    population: integerAtLeast(2, 'population size N (default 20)'),
    elites: integerAtLeast(0, 'members kept unchanged into the next generation, below N (default 2)'),
    tournament: integerAtLeast(1, 'tournament size of parent selection (default 3)'),
    crossoverRate: probability('probability that a child is a crossover of two parents (default 0.5)'),
    mutationRate: probability('probability of mutating a child (default 1)'),
    crossoverKind: crossoverKindSchema,
  }),
  create: (space, options) => new GeneticAlgorithm(space, options),
});
