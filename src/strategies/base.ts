// What every strategy shares: the seeded RNG, the history of told trials,
// the pending asks, deduplication and the save/restore plumbing. A strategy
// subclass adds its own proposal logic and its own piece of state.
import { TsnasError } from '../errors.js';
import type { Sample, SearchSpace } from '../spaces/types.js';
import { Rng } from '../util/random.js';
import { z } from 'zod';
import type { FitnessSpec, Objectives, Strategy, StrategyState, Trial } from './types.js';

/** Schema pieces the strategies' option schemas share; every option is optional (the strategy's constructor has its default). */
export const integerAtLeast = (min: number, help: string) => z.number().int().min(min).describe(help).optional();
export const numberAbove = (min: number, help: string) => z.number().gt(min).describe(help).optional();
export const numberAtLeast = (min: number, help: string) => z.number().min(min).describe(help).optional();
export const probability = (help: string) => z.number().min(0).max(1).describe(help).optional();
export const crossoverKindSchema = z.enum(['uniform', 'single-point', 'cell']).describe("the space's crossover (default uniform)").optional();
/** A strategy's options: unknown keys are errors (seed, fitness and objectives come from the caller's setup, not here). */
export const optionsSchema = <Shape extends z.ZodRawShape>(shape: Shape) => z.strictObject(shape);

export interface BaseOptions {
  /** Seed of the strategy's own RNG (default 0). */
  seed?: number;
  /** What single-objective strategies maximise (default: maximise 'accuracy'). */
  fitness?: FitnessSpec;
}

export const defaultFitness: FitnessSpec = { objective: 'accuracy', maximize: true };

/** The number a single-objective strategy maximises; -Infinity for failed (NaN) results. */
export function fitnessOf(objectives: Objectives, spec: FitnessSpec = defaultFitness): number {
  const primary = objective(objectives, spec.objective);
  let score = spec.maximize === false ? -primary : primary;
  for (const [name, lambda] of Object.entries(spec.penalties ?? {})) {
    if (lambda === 0) continue;
    const v = objective(objectives, name);
    if (!(v > 0)) throw new TsnasError('data', `objective '${name}' must be > 0 to be penalised by its log, got ${v}`);
    score -= lambda * Math.log(v);
  }
  return Number.isNaN(score) ? -Infinity : score;
}

function objective(objectives: Objectives, name: string): number {
  const v = objectives[name];
  if (v === undefined) {
    throw new TsnasError('data', `objective '${name}' is missing from the told result; it has ${Object.keys(objectives).join(', ') || 'nothing'}`);
  }
  return v;
}

/** The scalarised multi-objective fitness: primary − Σ λ_k·ln(objective_k). */
export function scalarised(primary: string, penalties: Record<string, number>): FitnessSpec {
  return { objective: primary, maximize: true, penalties };
}

/** How many proposals a strategy tries before falling back to uniform samples. */
const PROPOSAL_TRIES = 50;
const RANDOM_TRIES = 10_000;

export abstract class BaseStrategy implements Strategy {
  abstract readonly name: string;
  protected readonly rng: Rng;
  protected readonly fitnessSpec: FitnessSpec;
  protected trials: Trial[] = [];
  /** Fitness of trials[i], cached. */
  protected fitnesses: number[] = [];
  /** hash -> index into trials, for everything told. */
  protected indexOfHash = new Map<string, number>();
  /** Hashes of everything asked or told. */
  protected seen = new Set<string>();
  /** hash -> sample, asked and not yet told, in asking order. */
  protected pending = new Map<string, Sample>();
  private bestIndex = -1;
  protected readonly spaceSize: bigint;

  constructor(protected readonly space: SearchSpace, options: BaseOptions = {}) {
    this.rng = new Rng(options.seed ?? 0);
    this.fitnessSpec = options.fitness ?? defaultFitness;
    this.spaceSize = space.size();
  }

  /** One new sample (subclasses decide how); called n times by ask(n). */
  protected abstract propose(): Sample;

  ask(n = 1): Sample[] {
    if (!Number.isInteger(n) || n < 1) throw new TsnasError('usage', `ask needs a positive integer count, got ${n}`);
    const out: Sample[] = [];
    for (let i = 0; i < n; i++) {
      const s = this.propose();
      this.markAsked(s);
      out.push(s);
    }
    return out;
  }

  tell(sample: Sample, objectives: Objectives): void {
    const h = this.space.hash(sample);
    this.pending.delete(h);
    this.seen.add(h);
    const trial: Trial = { sample, objectives: { ...objectives } };
    const index = this.trials.length;
    this.trials.push(trial);
    this.indexOfHash.set(h, index);
    const f = this.fitness(trial.objectives);
    this.fitnesses.push(f);
    if (this.bestIndex < 0 || f > this.fitnesses[this.bestIndex]!) this.bestIndex = index;
    this.onTell(index, h);
  }

  /** Hook: a trial was appended at history index `index`. */
  protected onTell(_index: number, _hash: string): void {}

  history(): readonly Trial[] {
    return this.trials;
  }

  best(): Trial | undefined {
    return this.bestIndex < 0 ? undefined : this.trials[this.bestIndex];
  }

  protected fitness(objectives: Objectives): number {
    return fitnessOf(objectives, this.fitnessSpec);
  }

  protected markAsked(s: Sample): void {
    const h = this.space.hash(s);
    this.seen.add(h);
    this.pending.set(h, s);
  }

  protected isSeen(s: Sample): boolean {
    return this.seen.has(this.space.hash(s));
  }

  /** True once every sample of the space has been asked (then duplicates are allowed). */
  protected exhausted(): boolean {
    return BigInt(this.seen.size) >= this.spaceSize;
  }

  /**
   * A sample not asked before: the first unseen result of `propose` within a
   * few tries, else a uniform sample, else (space exhausted) a repeat.
   */
  protected fresh(propose: () => Sample): Sample {
    if (this.exhausted()) return propose();
    for (let i = 0; i < PROPOSAL_TRIES; i++) {
      const s = propose();
      if (!this.isSeen(s)) return s;
    }
    return this.freshRandom();
  }

  protected freshRandom(): Sample {
    for (let i = 0; i < RANDOM_TRIES; i++) {
      const s = this.space.sample(this.rng);
      if (!this.isSeen(s) || this.exhausted()) return s;
    }
    throw new TsnasError('internal', `${this.name}: found no unasked sample in ${RANDOM_TRIES} uniform draws though ${this.seen.size} of ${this.spaceSize} were asked`);
  }

  /** Index (into trials) of the best of the given indices. */
  protected bestOf(indices: readonly number[]): number {
    let best = indices[0]!;
    for (const i of indices) if (this.fitnesses[i]! > this.fitnesses[best]!) best = i;
    return best;
  }

  /** Strategy-specific part of the state (JSON). */
  protected saveExtra(): unknown {
    return null;
  }

  /** Restores saveExtra()'s value; called after history and pending are restored. */
  protected loadExtra(_extra: unknown): void {}

  getState(): StrategyState {
    return {
      strategy: this.name,
      version: 1,
      rng: this.rng.getState(),
      history: this.trials.map((t) => ({ sample: { ...t.sample }, objectives: { ...t.objectives } })),
      pending: [...this.pending.values()].map((s) => ({ ...s })),
      extra: this.saveExtra(),
    };
  }

  setState(state: StrategyState): void {
    if (state.strategy !== this.name) {
      throw new TsnasError('state', `cannot restore a '${state.strategy}' state into a '${this.name}' strategy`);
    }
    if (state.version !== 1) throw new TsnasError('state', `unknown ${this.name} state version ${state.version}, expected 1`);
    this.rng.setState(state.rng);
    this.trials = [];
    this.fitnesses = [];
    this.seen = new Set();
    this.indexOfHash = new Map();
    this.pending = new Map();
    this.bestIndex = -1;
    // Replay tells without the subclass hook: subclasses restore their own structures in loadExtra.
    for (const t of state.history) {
      const h = this.space.hash(t.sample);
      this.seen.add(h);
      const index = this.trials.length;
      this.trials.push({ sample: t.sample, objectives: t.objectives });
      this.indexOfHash.set(h, index);
      const f = this.fitness(t.objectives);
      this.fitnesses.push(f);
      if (this.bestIndex < 0 || f > this.fitnesses[this.bestIndex]!) this.bestIndex = index;
    }
    for (const s of state.pending) this.markAsked(s);
    this.loadExtra(state.extra);
  }

  dispose(): void {}
}
