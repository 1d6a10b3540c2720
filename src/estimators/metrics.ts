// The metrics the built-in estimators produce, each with its direction,
// declared once here: estimators name the groups they produce, and an
// objective without a direction takes it from this table.
import { HW_NAS_BENCH_METRICS } from '../benchmarks/hw-nas-bench.js';
import type { Direction, MetricDirections } from '../strategies/types.js';
import { NETWORK_PROXIES } from './zero-cost/proxies.js';

/** The cost model's counts (also zero-cost "proxies" params and flops). */
export const COST_METRICS: MetricDirections = { params: 'min', flops: 'min' };

/** Zero-cost proxies: larger scores predict better networks. */
export const PROXY_METRICS: MetricDirections = Object.fromEntries(NETWORK_PROXIES.map((p) => [p, 'max' as const]));

/** Training: validation accuracy (the final metric and its curve), train accuracy and loss, seconds spent. */
export const TRAINING_METRICS: MetricDirections = {
  accuracy: 'max',
  valid_accuracy: 'max',
  train_accuracy: 'max',
  train_loss: 'min',
  train_seconds: 'min',
};

/** Hardware: latency predicted from a measured table. */
export const HARDWARE_METRICS: MetricDirections = { latency_ms: 'min' };

/** Device costs of the NAS-Bench-201 benchmark (HW-NAS-Bench): latency_<device>_ms, energy_<device>_mj, ... */
export { HW_NAS_BENCH_METRICS };

/**
 * Every metric name with a known direction: the built-in estimators' and the
 * conventional names a user's estimator may produce (loss, energy, memory...).
 */
export const METRIC_DIRECTIONS: MetricDirections = {
  ...COST_METRICS,
  ...PROXY_METRICS,
  ...TRAINING_METRICS,
  ...HARDWARE_METRICS,
  ...HW_NAS_BENCH_METRICS,
  test_accuracy: 'max',
  supernet_accuracy: 'max',
  loss: 'min',
  latency: 'min',
  energy: 'min',
  energy_mj: 'min',
  memory: 'min',
};

/** The direction of a metric: declared (by the given estimator's metrics, else the table), else 'max'. */
export function metricDirection(name: string, declared: MetricDirections = METRIC_DIRECTIONS): Direction {
  return declared[name] ?? METRIC_DIRECTIONS[name] ?? 'max';
}
