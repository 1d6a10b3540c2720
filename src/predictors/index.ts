// Learned predictors by name, and the deep ensemble that gives any of them an uncertainty.
import type { DefinedSpace } from '../spaces/space.js';
import type { Sample } from '../spaces/types.js';
import { usageError } from '../errors.js';
import { GaussianProcessPredictor, type GpOptions } from './gp.js';
import {
  GcnPredictor, LstmPredictor, MlpPredictor, type GcnPredictorOptions, type LstmPredictorOptions, type MlpPredictorOptions,
} from './neural.js';
import { BoostedTreesPredictor, type BoostedTreesOptions } from './trees.js';
import type { ProxyFeatureSource } from './features.js';
import type { Prediction, Predictor, PredictorNeeds } from './types.js';

export * from './types.js';
export * from './features.js';
export { MlpPredictor, LstmPredictor, GcnPredictor } from './neural.js';
export type { MlpPredictorOptions, LstmPredictorOptions, GcnPredictorOptions, RegressionOptions } from './neural.js';
export { GaussianProcessPredictor, type GpOptions } from './gp.js';
export { BoostedTrees, BoostedTreesPredictor, tabularFeatures, type BoostedTreesOptions, type TreeOptions, type TabularFeatureOptions, type TabularFeatures } from './trees.js';
export { SparseMlpEnsemble, type SparseMlpEnsembleOptions, type MlpOptions } from './sparse-mlp.js';

/**
 * A deep ensemble: `size` members from make(seed) trained on the same data
 * from different initialisations and mini-batch orders; the mean and the
 * spread of their predictions.
 */
export class EnsemblePredictor implements Predictor {
  readonly name: string;
  readonly needs: PredictorNeeds;
  private readonly members: Predictor[];
  constructor(make: (seed: number) => Predictor, readonly size = 5, seed = 0) {
    if (!(Number.isInteger(size) && size >= 2)) throw usageError(`an ensemble needs at least 2 members, got ${size}`, 'size');
    this.members = Array.from({ length: size }, (_, k) => make(seed * 1000 + k));
    this.name = `ensemble(${this.members[0]!.name}×${size})`;
    this.needs = { ...this.members[0]!.needs, uncertainty: true };
  }
  fit(samples: readonly Sample[], values: readonly number[]): void {
    for (const m of this.members) m.fit(samples, values);
  }
  query(samples: readonly Sample[]): Prediction {
    const all = this.members.map((m) => m.query(samples).mean);
    const mean: number[] = [];
    const std: number[] = [];
    for (let i = 0; i < samples.length; i++) {
      const v = all.map((p) => p[i]!);
      const mu = v.reduce((a, b) => a + b, 0) / v.length;
      mean.push(mu);
      std.push(Math.sqrt(v.reduce((a, b) => a + (b - mu) ** 2, 0) / v.length));
    }
    return { mean, std };
  }
  dispose(): void {
    for (const m of this.members) m.dispose();
  }
}

export const PREDICTOR_NAMES = ['mlp', 'lstm', 'gcn', 'ensemble', 'gp', 'gbt'] as const;
export type PredictorName = (typeof PREDICTOR_NAMES)[number];

export interface PredictorConfig {
  mlp?: MlpPredictorOptions;
  lstm?: LstmPredictorOptions;
  gcn?: GcnPredictorOptions;
  gp?: GpOptions;
  gbt?: BoostedTreesOptions;
  /** Proxy scores as extra features of 'gbt' (any proxy names). */
  proxies?: ProxyFeatureSource;
  /** Members of 'ensemble' (MLPs with the mlp options; default 5). */
  ensembleSize?: number;
  seed?: number;
}

/** A predictor by name; 'ensemble' is a deep ensemble of MLPs; 'gbt' gradient-boosted trees on encoding, graph and proxy features. */
export function createPredictor(name: string, space: DefinedSpace, config: PredictorConfig = {}): Predictor {
  const seed = config.seed ?? 0;
  switch (name) {
    case 'mlp':
      return new MlpPredictor(space, { seed, ...config.mlp });
    case 'lstm':
      return new LstmPredictor(space, { seed, ...config.lstm });
    case 'gcn':
      return new GcnPredictor(space, { seed, ...config.gcn });
    case 'ensemble':
      return new EnsemblePredictor((s) => new MlpPredictor(space, { ...config.mlp, seed: s }), config.ensembleSize ?? 5, seed);
    case 'gp':
      return new GaussianProcessPredictor(space, config.gp);
    case 'gbt':
      return new BoostedTreesPredictor(space, { seed, proxies: config.proxies, ...config.gbt });
    default:
      throw usageError(`unknown predictor '${name}'; expected one of ${PREDICTOR_NAMES.join(', ')}`, '--predictor');
  }
}
