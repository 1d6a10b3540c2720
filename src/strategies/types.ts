// The ask/tell contract every multi-trial strategy offers. A strategy only
// proposes samples and learns from the objectives it is told; it never
// evaluates anything itself, so the same code drives a tabular benchmark and
// real training with parallel workers.
import type { Sample, SearchSpace } from '../spaces/types.js';
import type { z } from 'zod';
import type { RngState } from '../util/random.js';

/** What one evaluation measured, e.g. { accuracy: 94.1, params: 1.2e6 }. */
export type Objectives = Readonly<Record<string, number>>;

/** Whether larger ('max') or smaller ('min') values of a metric are better. */
export type Direction = 'max' | 'min';

/** The metrics something produces and their directions, e.g. { accuracy: 'max', params: 'min' }. */
export type MetricDirections = Readonly<Record<string, Direction>>;

export interface Trial {
  readonly sample: Sample;
  readonly objectives: Objectives;
}

/** One objective of a multi-objective search, with its direction. */
export interface ObjectiveSpec {
  readonly name: string;
  readonly maximize: boolean;
}

/**
 * How single-objective strategies turn objectives into one number to
 * maximise: `objective` (negated when minimising), minus penalties[k]·ln(objectives[k])
 * for every penalised objective k (the scalarised multi-objective form,
 * e.g. accuracy − λ1·log FLOPs − λ2·log latency).
 */
export interface FitnessSpec {
  readonly objective: string;
  readonly maximize?: boolean;
  readonly penalties?: Readonly<Record<string, number>>;
}

/** The JSON form of a strategy's state: enough to resume bit for bit. */
export interface StrategyState {
  readonly strategy: string;
  readonly version: number;
  readonly rng: RngState;
  readonly history: Trial[];
  /** Asked but not yet told, in the order they were asked. */
  readonly pending: Sample[];
  /** Strategy-specific state (populations, controller weights...). */
  readonly extra: unknown;
}

/**
 * What a strategy attaches to a sample it asked, for the estimator (JSON
 * values; e.g. src/networks/morphism.ts WeightInheritance: the parent whose
 * weights a child continues from). An estimator uses the keys it knows and
 * ignores the rest.
 */
export type TrialMetadata = Readonly<Record<string, unknown>>;

export interface Strategy {
  readonly name: string;
  /**
   * n new samples for parallel workers. Never one already asked, unless
   * the space has no unasked sample left.
   */
  ask(n?: number): Sample[];
  /**
   * What goes with an asked sample not yet told (undefined: nothing);
   * restored with the state, so a resumed run hands its pending samples the
   * same metadata.
   */
  trialMetadata?(sample: Sample): TrialMetadata | undefined;
  /** The result of evaluating a sample (normally one that was asked). */
  tell(sample: Sample, objectives: Objectives): void;
  /** Every told trial, in telling order. */
  history(): readonly Trial[];
  /** The told trial with the highest fitness (single-objective strategies). */
  best(): Trial | undefined;
  getState(): StrategyState;
  /** Restores a state from getState() (of a strategy built with the same options). */
  setState(state: StrategyState): void;
  /** Frees native resources (controller weights); the strategy is unusable afterwards. */
  dispose(): void;
}

/** Multi-objective strategies also return the non-dominated trials found. */
export interface MultiObjectiveStrategy extends Strategy {
  readonly objectives: readonly ObjectiveSpec[];
  paretoFront(): Trial[];
}

/**
 * Training-free scores of samples by name (zero-cost proxies, params...),
 * computed by the caller (a strategy never evaluates anything): the
 * experiment's zero-cost machinery, or a precomputed score file. A missing
 * or non-finite score counts as the worst.
 */
export interface ProxyScoreSource {
  score(samples: readonly Sample[], names: readonly string[]): readonly Readonly<Record<string, number | undefined>>[];
  /** Frees what scoring holds (networks, batches); called by the strategy's dispose. */
  dispose?(): void;
}

/** What every strategy is built with besides its own options; a caller sets them from its objectives. */
export interface StrategySetup {
  seed?: number;
  /** Single-objective strategies: what they maximise. */
  fitness?: FitnessSpec;
  /** Multi-objective strategies: the objectives and their directions. */
  objectives?: readonly ObjectiveSpec[];
  /** Proxy scores for strategies that use them (proxy-bo); the others ignore it. */
  proxyScores?: ProxyScoreSource;
}

/**
 * A multi-trial strategy as a registry knows it: its name, its own options
 * (an object schema: checked before it is built, errors name the option)
 * and whether it optimises several objectives (then it is built with
 * `objectives` and needs at least two) or one scalar fitness.
 */
export interface StrategyKind<Options extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly multiObjective: boolean;
  readonly options: Options;
  /** Options are checked against `options` already (its output type). */
  create(space: SearchSpace, options: z.output<Options> & StrategySetup): Strategy;
}

/** Declares a strategy kind, typing create()'s options from its schema. */
export const defineStrategy = <Options extends z.ZodType>(kind: StrategyKind<Options>): StrategyKind<Options> => kind;
