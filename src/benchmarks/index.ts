// Tabular benchmarks as search estimators, the multi-seed harness and regret plots.
export * from './types.js';
export * from './nb201.js';
export * from './hw-nas-bench.js';
export * from './harness.js';
export * from './proxy-scores.js';
export * from './plot.js';
