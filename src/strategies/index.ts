// The multi-trial strategies behind one ask/tell interface, and a factory by name.
import { TsnasError } from '../errors.js';
import type { SearchSpace } from '../spaces/types.js';
import { Bananas, type BananasOptions } from './bananas.js';
import type { BaseOptions } from './base.js';
import { RegularizedEvolution, type EvolutionOptions } from './evolution.js';
import { GeneticAlgorithm, type GeneticOptions } from './genetic.js';
import { LocalSearch, type LocalSearchOptions } from './local.js';
import { Nsga2, type Nsga2Options } from './nsga2.js';
import { Ppo, Reinforce, type PolicyGradientOptions, type PpoOptions } from './policy-gradient.js';
import { RandomSearch } from './random.js';
import type { Strategy } from './types.js';

export * from './types.js';
export { BaseStrategy, fitnessOf, scalarised, defaultFitness, type BaseOptions } from './base.js';
export { RandomSearch } from './random.js';
export { RegularizedEvolution, type EvolutionOptions } from './evolution.js';
export { GeneticAlgorithm, type GeneticOptions } from './genetic.js';
export { LocalSearch, type LocalSearchOptions } from './local.js';
export { Bananas, type BananasOptions, type Acquisition } from './bananas.js';
export { MlpEnsemble, type MlpOptions } from './mlp-ensemble.js';
export { Controller, type ControllerOptions, type ControllerState } from './controller.js';
export { Reinforce, Ppo, type PolicyGradientOptions, type PpoOptions } from './policy-gradient.js';
export { Nsga2, type Nsga2Options } from './nsga2.js';
export { dominates, nonDominatedSort, crowdingDistance, hypervolume2d } from './pareto.js';

export const strategyNames = ['random', 'evolution', 'ga', 'local', 'reinforce', 'ppo', 'bo', 'nsga2'] as const;
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
}

export function isStrategyName(name: string): name is StrategyName {
  return (strategyNames as readonly string[]).includes(name);
}

/** Builds a strategy by name; options are the strategy's own (seed, fitness, sizes...). */
export function createStrategy<N extends StrategyName>(name: N, space: SearchSpace, options: StrategyOptionsByName[N] = {}): Strategy {
  switch (name) {
    case 'random':
      return new RandomSearch(space, options);
    case 'evolution':
      return new RegularizedEvolution(space, options);
    case 'ga':
      return new GeneticAlgorithm(space, options);
    case 'local':
      return new LocalSearch(space, options);
    case 'reinforce':
      return new Reinforce(space, options);
    case 'ppo':
      return new Ppo(space, options);
    case 'bo':
      return new Bananas(space, options);
    case 'nsga2':
      return new Nsga2(space, options);
    default:
      throw new TsnasError('usage', `unknown strategy '${String(name)}'; expected one of ${strategyNames.join(', ')}`);
  }
}
