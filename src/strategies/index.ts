// The multi-trial strategies behind one ask/tell interface, and a registry
// by name of the built-in ones with the facts each declares (options schema,
// multi-objective or not).
import { TsnasError } from '../errors.js';
import type { SearchSpace } from '../spaces/types.js';
import { checkWith } from '../util/zod-check.js';
import { bananasKind, type BananasOptions } from './bananas.js';
import type { BaseOptions } from './base.js';
import { evolutionKind, type EvolutionOptions } from './evolution.js';
import { geneticKind, type GeneticOptions } from './genetic.js';
import { localKind, type LocalSearchOptions } from './local.js';
import { morphismKind, type MorphismSearchOptions } from './morphism.js';
import { naoKind, type NaoOptions } from './nao.js';
import { bohbKind, type BohbOptions } from './bohb.js';
import { nsga2Kind, type Nsga2Options } from './nsga2.js';
import { ppoKind, reinforceKind, type PolicyGradientOptions, type PpoOptions } from './policy-gradient.js';
import { randomKind } from './random.js';
import { proxyBoKind, type ProxyBoOptions } from './proxy-bo.js';
import type { Strategy, StrategyKind, StrategySetup } from './types.js';

export * from './types.js';
export { BaseStrategy, fitnessOf, scalarised, defaultFitness, type BaseOptions } from './base.js';
export { RandomSearch } from './random.js';
export { RegularizedEvolution, type EvolutionOptions } from './evolution.js';
export { GeneticAlgorithm, type GeneticOptions } from './genetic.js';
export { LocalSearch, type LocalSearchOptions } from './local.js';
export { MorphismSearch, type MorphismSearchOptions } from './morphism.js';
export { Bananas, type BananasOptions, type Acquisition } from './bananas.js';
export { Controller, type ControllerOptions, type ControllerState } from './controller.js';
export { Reinforce, Ppo, type PolicyGradientOptions, type PpoOptions } from './policy-gradient.js';
export { Nsga2, type Nsga2Options } from './nsga2.js';
export { Bohb, DensityModel, hyperbandBudgets, hyperbandBracket, type BohbOptions, type Rung } from './bohb.js';
export { Nao, NaoModel, type NaoOptions, type NaoModelOptions, type NaoFitOptions } from './nao.js';
export { ProxyBo, type ProxyBoOptions } from './proxy-bo.js';
export { dominates, nonDominatedSort, crowdingDistance, hypervolume2d } from './pareto.js';

/** The built-in multi-trial strategies, each with its options schema and whether it is multi-objective. */
export const strategyKinds: readonly StrategyKind[] = [randomKind, evolutionKind, geneticKind, localKind, reinforceKind, ppoKind, bananasKind, nsga2Kind, naoKind, bohbKind, proxyBoKind, morphismKind];

export const strategyNames = ['random', 'evolution', 'ga', 'local', 'reinforce', 'ppo', 'bo', 'nsga2', 'nao', 'bohb', 'proxy-bo', 'morphism'] as const;
export type StrategyName = (typeof strategyNames)[number];

export interface StrategyOptionsByName {
  random: BaseOptions;
  evolution: EvolutionOptions;
  ga: GeneticOptions;
  local: LocalSearchOptions;
  reinforce: PolicyGradientOptions;
  ppo: PpoOptions;
  bo: BananasOptions;
  nsga2: Nsga2Options;
  nao: NaoOptions;
  bohb: BohbOptions;
  'proxy-bo': ProxyBoOptions;
  morphism: MorphismSearchOptions;
}

export function isStrategyName(name: string): name is StrategyName {
  return (strategyNames as readonly string[]).includes(name);
}

/** The built-in strategy of that name, or undefined (callers may know other names, e.g. weight-sharing methods). */
export function findStrategy(name: string): StrategyKind | undefined {
  return strategyKinds.find((k) => k.name === name);
}

const SETUP_KEYS = new Set(['seed', 'fitness', 'objectives', 'proxyScores']);

/**
 * A strategy's own options checked against its schema (errors name
 * `where`.KEY); seed, fitness, objectives and proxyScores pass through unchecked.
 */
export function checkStrategyOptions(kind: StrategyKind, options: Readonly<Record<string, unknown>>, where = 'options'): Record<string, unknown> {
  const own = Object.fromEntries(Object.entries(options).filter(([k]) => !SETUP_KEYS.has(k)));
  const setup = Object.fromEntries(Object.entries(options).filter(([k]) => SETUP_KEYS.has(k)));
  return { ...(checkWith(kind.options, own, where) as Record<string, unknown>), ...setup };
}

/** Builds a strategy by name; options are the strategy's own (checked by its schema) plus seed, fitness, objectives or proxyScores. */
export function createStrategy<N extends StrategyName>(name: N, space: SearchSpace, options: StrategyOptionsByName[N] & StrategySetup = {}): Strategy {
  const kind = findStrategy(name);
  if (!kind) throw new TsnasError('usage', `unknown strategy '${String(name)}'; expected one of ${strategyNames.join(', ')}`);
  return kind.create(space, checkStrategyOptions(kind, options as Record<string, unknown>));
}
