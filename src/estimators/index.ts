// Performance estimation: the trial-estimator contract and the metrics'
// directions, zero-cost proxies, learning-curve extrapolation and rank
// quality. The estimators experiments run (benchmark, training, proxies, and
// the screened compositions) are built from a config in src/experiment.
export * from './types.js';
export * from './metrics.js';
export * from './rank.js';
export * from './curves.js';
export * from './zero-cost/proxies.js';
export * from './zero-cost/score.js';
export * from './morphism.js';
