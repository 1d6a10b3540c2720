// NSGA-II (Deb et al., 2002) over any objectives: binary tournaments on
// (front rank, crowding distance), the space's crossover and mutation, and
// elitist survival of the best N of parents plus offspring.
import { TsnasError } from '../errors.js';
import type { CrossoverKind, Sample, SearchSpace } from '../spaces/types.js';
import { BaseStrategy, crossoverKindSchema, integerAtLeast, optionsSchema, probability, type BaseOptions } from './base.js';
import { crowdingDistance, nonDominatedSort } from './pareto.js';
import { defineStrategy, type MultiObjectiveStrategy, type ObjectiveSpec, type Trial } from './types.js';

export interface Nsga2Options extends BaseOptions {
  /** Objectives and directions (default: maximise accuracy, minimise params). */
  objectives?: readonly ObjectiveSpec[];
  /** Population size N (default 20). */
  population?: number;
  /** Probability that a child is a crossover of two parents (default 0.5); children are always mutated. */
  crossoverRate?: number;
  crossoverKind?: CrossoverKind;
}

const defaultObjectives: readonly ObjectiveSpec[] = [
  { name: 'accuracy', maximize: true },
  { name: 'params', maximize: false },
];

export class Nsga2 extends BaseStrategy implements MultiObjectiveStrategy {
  readonly name = 'nsga2';
  readonly objectives: readonly ObjectiveSpec[];
  private readonly size: number;
  private readonly crossoverRate: number;
  private readonly crossoverKind: CrossoverKind;
  private population: number[] = [];
  private offspring: number[] = [];
  /** Front rank and crowding distance of each population member (aligned with population). */
  private rank: number[] = [];
  private crowding: number[] = [];

  constructor(space: SearchSpace, options: Nsga2Options = {}) {
    const objectives = options.objectives ?? defaultObjectives;
    // best() reports the best trial on the first objective.
    super(space, { ...options, fitness: options.fitness ?? { objective: objectives[0]!.name, maximize: objectives[0]!.maximize } });
    this.objectives = objectives;
    if (this.objectives.length < 2) throw new TsnasError('config', `nsga2 needs at least 2 objectives, got ${this.objectives.length}`);
    this.size = options.population ?? 20;
    if (!(this.size >= 2)) throw new TsnasError('config', `nsga2 population must be >= 2, got ${this.size}`);
    this.crossoverRate = options.crossoverRate ?? 0.5;
    this.crossoverKind = options.crossoverKind ?? 'uniform';
  }

  private get maximize(): boolean[] {
    return this.objectives.map((o) => o.maximize);
  }

  /** Objective vector of a trial; a missing or NaN value counts as the worst possible. */
  private vector(index: number): number[] {
    const t = this.trials[index]!;
    return this.objectives.map((o) => {
      const v = t.objectives[o.name];
      if (v === undefined) throw new TsnasError('data', `objective '${o.name}' is missing from the told result; it has ${Object.keys(t.objectives).join(', ')}`);
      return Number.isNaN(v) ? (o.maximize ? -Infinity : Infinity) : v;
    });
  }

  protected propose(): Sample {
    if (this.population.length === 0) return this.freshRandom();
    const a = this.tournament();
    return this.fresh(() => {
      let child = a;
      if (this.rng.next() < this.crossoverRate) child = this.space.crossover(a, this.tournament(), this.rng, this.crossoverKind);
      return this.space.mutate(child, this.rng);
    });
  }

  /** Binary tournament: lower front rank wins, then larger crowding distance. */
  private tournament(): Sample {
    const i = this.rng.int(this.population.length);
    const j = this.rng.int(this.population.length);
    const better = this.rank[i]! < this.rank[j]! || (this.rank[i] === this.rank[j] && this.crowding[i]! > this.crowding[j]!) ? i : j;
    return this.trials[this.population[better]!]!.sample;
  }

  protected override onTell(index: number): void {
    this.offspring.push(index);
    if (this.offspring.length >= this.size) {
      this.survive([...this.population, ...this.offspring]);
      this.offspring = [];
    }
  }

  /** Keeps the best N of the candidates by front, then by crowding distance. */
  private survive(candidates: number[]): void {
    const points = candidates.map((i) => this.vector(i));
    const fronts = nonDominatedSort(points, this.maximize);
    const population: number[] = [];
    const rank: number[] = [];
    const crowding: number[] = [];
    fronts.forEach((front, r) => {
      if (population.length >= this.size) return;
      const distance = crowdingDistance(points, front);
      let members = front.map((m, k) => ({ m, d: distance[k]! }));
      if (population.length + members.length > this.size) {
        members = members.sort((a, b) => b.d - a.d || a.m - b.m).slice(0, this.size - population.length);
      }
      for (const { m, d } of members) {
        population.push(candidates[m]!);
        rank.push(r);
        crowding.push(d);
      }
    });
    this.population = population;
    this.rank = rank;
    this.crowding = crowding;
  }

  /** The non-dominated trials among everything told. */
  paretoFront(): Trial[] {
    if (this.trials.length === 0) return [];
    const points = this.trials.map((_, i) => this.vector(i));
    return nonDominatedSort(points, this.maximize)[0]!.map((i) => this.trials[i]!);
  }

  protected override saveExtra(): unknown {
    return { population: [...this.population], offspring: [...this.offspring], rank: [...this.rank], crowding: this.crowding.map((d) => (Number.isFinite(d) ? d : null)) };
  }

  protected override loadExtra(extra: unknown): void {
    const e = extra as { population: number[]; offspring: number[]; rank: number[]; crowding: (number | null)[] };
    this.population = [...e.population];
    this.offspring = [...e.offspring];
    this.rank = [...e.rank];
    this.crowding = e.crowding.map((d) => d ?? Infinity);
  }
}

export const nsga2Kind = defineStrategy({
  name: 'nsga2',
  multiObjective: true,
  options: optionsSchema({
    population: integerAtLeast(2, 'population size N (default 20)'),
    crossoverRate: probability('probability that a child is a crossover of two parents (default 0.5)'),
    crossoverKind: crossoverKindSchema,
  }),
  create: (space, options) => new Nsga2(space, options),
});
