// Performance estimators: training-based, zero-cost proxies, learned
// predictors, and their compositions; createEstimator builds one from a
// short spec string (for CLI flags and experiment configs).
import type { Benchmark } from '../benchmarks/types.js';
import type { Nb201Space } from '../spaces/nb201.js';
import { usageError } from '../errors.js';
import {
  BenchmarkEstimator, ProxyEstimator, TopKEstimator, predictorRanker, proxyRanker,
} from './composed.js';
import { createPredictor, type PredictorConfig } from './predictors/index.js';
import { TrainingEstimator, type TrainingSetup } from './training.js';
import { parseProxyList, type ProxyBatch, type ProxyName } from './zero-cost/proxies.js';
import type { Estimator } from './types.js';

export * from './types.js';
export * from './rank.js';
export * from './curves.js';
export * from './training.js';
export * from './hyperband.js';
export * from './composed.js';
export * from './zero-cost/proxies.js';
export * from './zero-cost/score.js';

/** What specs may draw on; each kind of spec needs its part. */
export interface EstimatorContext {
  space: Nb201Space;
  /** For 'benchmark'. */
  benchmark?: Benchmark;
  /** For 'proxy:' and 'screen:': the scoring batch and the network's classes. */
  proxyBatch?: ProxyBatch;
  numClasses?: number;
  /** Size of the network the proxies score (default C=16, N=5). */
  proxyNetwork?: { C?: number; N?: number };
  /** For 'train...': how to build and train a network, and the full schedule's epochs. */
  training?: TrainingSetup & { epochs: number };
  predictors?: PredictorConfig;
  seed?: number;
}

export const ESTIMATOR_SPEC_FORMS = [
  'benchmark',
  'train', 'train:<epochs>', 'train:curve',
  'proxy:<proxy>[,<proxy>...]',
  'screen:<proxy>[+<proxy>...]:<k>:<inner spec>',
  'predictor:<mlp|lstm|gcn|ensemble|gp>:<k>:<inner spec>',
];

/**
 * Builds an estimator from a spec, e.g. 'benchmark', 'train:12',
 * 'proxy:synflow', 'screen:synflow+jacob_cov:10:train', 'predictor:lstm:5:benchmark'.
 */
export function createEstimator(spec: string, ctx: EstimatorContext, where = '--estimator'): Estimator {
  const bad = (why: string) => usageError(`${why} in '${spec}'; expected one of ${ESTIMATOR_SPEC_FORMS.join(' | ')}`, where);
  const [kind, ...rest] = spec.split(':');
  switch (kind) {
    case 'benchmark':
      if (!ctx.benchmark) throw bad('no benchmark is configured (give --benchmark)');
      return new BenchmarkEstimator(ctx.benchmark);
    case 'train': {
      if (!ctx.training) throw bad('no training set-up (dataset, epochs) is configured');
      const arg = rest.join(':');
      if (arg === '') return new TrainingEstimator(ctx.training);
      if (arg === 'curve') return new TrainingEstimator({ ...ctx.training, mode: { kind: 'curve' } });
      if (/^\d+$/.test(arg)) return new TrainingEstimator({ ...ctx.training, mode: { kind: 'early-stop', epochs: Number(arg) } });
      throw bad(`'train:${arg}' is neither a number of epochs nor 'curve'`);
    }
    case 'proxy':
      return proxyEstimator(ctx, parseProxyList(rest.join(':'), where), bad);
    case 'screen':
    case 'predictor': {
      const [what, kText, ...innerParts] = rest;
      const k = Number(kText);
      if (!what || !(Number.isInteger(k) && k >= 1) || innerParts.length === 0) throw bad(`${kind} needs <what>:<k>:<inner spec>`);
      const inner = createEstimator(innerParts.join(':'), ctx, where);
      if (kind === 'screen') {
        const use = parseProxyList(what.split('+').join(','), where);
        return new TopKEstimator({ ranker: proxyRanker(proxyEstimator(ctx, use, bad), use), inner, k });
      }
      const predictor = createPredictor(what, ctx.space, { seed: ctx.seed, ...ctx.predictors });
      return new TopKEstimator({ ranker: predictorRanker(predictor), inner, k });
    }
    default:
      throw bad(`unknown estimator '${kind}'`);
  }
}

function proxyEstimator(ctx: EstimatorContext, proxies: ProxyName[], bad: (why: string) => Error): ProxyEstimator {
  if (!ctx.proxyBatch || ctx.numClasses === undefined) throw bad('zero-cost proxies need a scoring batch (a dataset)');
  return new ProxyEstimator({
    space: ctx.space, proxies, batch: ctx.proxyBatch, numClasses: ctx.numClasses, seed: ctx.seed, ...ctx.proxyNetwork,
  });
}
