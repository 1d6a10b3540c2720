// Runs a strategy against a benchmark for many seeds and summarises the
// runs: the mean best-so-far curve, the final best, how often the optimum
// was found and, for multi-objective runs, the hypervolume ratio of the
// found accuracy/params front to the exact one.
import { TsnasError } from '../errors.js';
import { createStrategy, findStrategy, type StrategyName, type StrategyOptionsByName } from '../strategies/index.js';
import { hypervolume2d } from '../strategies/pareto.js';
import type { FitnessSpec, ObjectiveSpec, Strategy } from '../strategies/types.js';
import { mean, std } from '../util/stats.js';
import type { Benchmark } from './types.js';

export interface BenchmarkSearchOptions {
  benchmark: Benchmark;
  strategy: StrategyName;
  /** The strategy's own options; seed is set per run. */
  strategyOptions?: StrategyOptionsByName[StrategyName];
  /** Queries per run. */
  budget: number;
  seeds: readonly number[];
  /**
   * Objectives: ['accuracy'] (default) for single-objective search;
   * ['accuracy', 'params'] etc. makes nsga2 multi-objective, and the other
   * strategies maximise the scalarised accuracy − Σ λ_k·ln(objective_k).
   */
  objectives?: readonly string[];
  /** λ of each objective after the first, for scalarised search (default 1 each). */
  lambdas?: readonly number[];
  /** Samples asked at once (parallel workers); default 1. */
  batch?: number;
  /** Called after each seed, e.g. for a progress bar. */
  onRun?: (run: SeedRun) => void;
}

export interface SeedRun {
  seed: number;
  /** Best accuracy found after each query (length = budget). */
  curve: number[];
  final: number;
  foundOptimum: boolean;
  /** For runs with accuracy and params objectives. */
  hypervolumeRatio?: number;
}

export interface SearchSummary {
  strategy: string;
  dataset: string;
  budget: number;
  seeds: number;
  final_mean: number;
  /** Sample standard deviation over seeds. */
  final_std: number;
  optimum_rate: number;
  curve_mean: number[];
  hypervolume_ratio?: number;
  hypervolume_ratio_std?: number;
}

/** The named objectives with the directions the benchmark declares for them. */
export function objectiveSpecs(names: readonly string[], benchmark: Benchmark): ObjectiveSpec[] {
  return names.map((name) => {
    const direction = benchmark.metrics[name];
    if (!direction) throw new TsnasError('usage', `benchmark ${benchmark.name} gives ${Object.keys(benchmark.metrics).join(', ')}, not '${name}'`, { where: '--objectives' });
    return { name, maximize: direction === 'max' };
  });
}

/** Parses '0-99', '7' or '1,2,5' into a list of seeds. */
/** At most this many seeds in one comparison (a range of a billion would exhaust memory before any output). */
export const MAX_SEEDS = 100_000;

export function parseSeeds(text: string, where = '--seeds'): number[] {
  const bad = () => new TsnasError('usage', `expected A-B, N or a comma list of non-negative integers below 2^32, got '${text}'`, { where });
  const tooMany = (n: number) => new TsnasError('usage', `${n} seeds, at most ${MAX_SEEDS} in one run`, { where });
  const range = /^(\d+)-(\d+)$/.exec(text.trim());
  if (range) {
    const a = Number(range[1]);
    const b = Number(range[2]);
    if (b < a || b > 2 ** 32 - 1) throw bad();
    if (b - a + 1 > MAX_SEEDS) throw tooMany(b - a + 1);
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  }
  const parts = text.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^\d+$/.test(p) || Number(p) > 2 ** 32 - 1)) throw bad();
  if (parts.length > MAX_SEEDS) throw tooMany(parts.length);
  return parts.map(Number);
}

function strategyFor(o: BenchmarkSearchOptions, seed: number): Strategy {
  const objectives = o.objectives ?? ['accuracy'];
  const base = { ...(o.strategyOptions ?? {}), seed } as Record<string, unknown>;
  if (findStrategy(o.strategy)?.multiObjective) {
    base['objectives'] = objectiveSpecs(objectives.length >= 2 ? objectives : ['accuracy', 'params'], o.benchmark);
  } else if (objectives.length > 1) {
    const lambdas = o.lambdas ?? objectives.slice(1).map(() => 1);
    if (lambdas.length !== objectives.length - 1) {
      throw new TsnasError('usage', `expected ${objectives.length - 1} lambda(s) for ${objectives.slice(1).join(', ')}, got ${lambdas.length}`, { where: '--lambda' });
    }
    const fitness: FitnessSpec = {
      objective: objectives[0]!,
      maximize: true,
      penalties: Object.fromEntries(objectives.slice(1).map((k, i) => [k, lambdas[i]!])),
    };
    base['fitness'] = fitness;
  }
  return createStrategy(o.strategy, o.benchmark.space, base as never);
}

const exactHypervolumes = new WeakMap<readonly (readonly number[])[], { reference: number[]; volume: number }>();

/**
 * Hypervolume of the found accuracy/params points over that of every point
 * of the benchmark (the exact front: dominated points add no volume), both
 * from the reference point (worst accuracy, largest params).
 */
export function hypervolumeRatio(found: readonly (readonly number[])[], all: readonly (readonly number[])[]): number {
  const maximize = [true, false];
  let exact = exactHypervolumes.get(all);
  if (!exact) {
    let worstAccuracy = Infinity;
    let largestParams = -Infinity;
    for (const [a, p] of all) {
      if (a! < worstAccuracy) worstAccuracy = a!;
      if (p! > largestParams) largestParams = p!;
    }
    const reference = [worstAccuracy, largestParams];
    exact = { reference, volume: hypervolume2d(all, reference, maximize) };
    exactHypervolumes.set(all, exact);
  }
  return hypervolume2d(found, exact.reference, maximize) / exact.volume;
}

/** One seed of a strategy on a benchmark. */
export function runSeed(o: BenchmarkSearchOptions, seed: number, allPoints?: number[][]): SeedRun {
  if (!(Number.isInteger(o.budget) && o.budget >= 1)) throw new TsnasError('usage', `budget must be a positive integer, got ${o.budget}`, { where: '--budget' });
  const strategy = strategyFor(o, seed);
  const optimum = o.benchmark.optimum();
  const curve: number[] = [];
  const points: number[][] = [];
  let best = -Infinity;
  try {
    while (curve.length < o.budget) {
      const samples = strategy.ask(Math.min(o.batch ?? 1, o.budget - curve.length));
      for (const s of samples) {
        const objectives = o.benchmark.evaluate(s);
        strategy.tell(s, objectives);
        const accuracy = objectives['accuracy']!;
        if (accuracy > best) best = accuracy;
        curve.push(best);
        if (allPoints) points.push([accuracy, objectives['params']!]);
      }
    }
  } finally {
    strategy.dispose();
  }
  const run: SeedRun = { seed, curve, final: best, foundOptimum: best >= optimum };
  if (allPoints) run.hypervolumeRatio = hypervolumeRatio(points, allPoints);
  return run;
}

/** Every seed, then the summary (the CLI prints it as the last JSON line). */
export function runBenchmarkSearch(o: BenchmarkSearchOptions): { summary: SearchSummary; runs: SeedRun[] } {
  if (o.seeds.length === 0) throw new TsnasError('usage', 'no seeds to run', { where: '--seeds' });
  const objectives = o.objectives ?? ['accuracy'];
  const multiObjective = o.strategy === 'nsga2' || objectives.length > 1;
  const allPoints = multiObjective ? accuracyParamsOf(o.benchmark) : undefined;
  const runs: SeedRun[] = [];
  for (const seed of o.seeds) {
    const run = runSeed(o, seed, allPoints);
    runs.push(run);
    o.onRun?.(run);
  }
  return { summary: summarise(o.strategy, o.benchmark.dataset, o.budget, runs), runs };
}

function accuracyParamsOf(b: Benchmark): number[][] {
  const withTable = b as Benchmark & { accuracyParams?: () => number[][] };
  if (!withTable.accuracyParams) throw new TsnasError('usage', `benchmark ${b.name} cannot enumerate its cells, so it has no exact Pareto front`, { where: '--benchmark' });
  return withTable.accuracyParams();
}

export function summarise(strategy: string, dataset: string, budget: number, runs: readonly SeedRun[]): SearchSummary {
  const finals = runs.map((r) => r.final);
  const summary: SearchSummary = {
    strategy,
    dataset,
    budget,
    seeds: runs.length,
    final_mean: round6(mean(finals)),
    final_std: round6(std(finals, 1)),
    optimum_rate: runs.filter((r) => r.foundOptimum).length / runs.length,
    curve_mean: Array.from({ length: budget }, (_, q) => round6(mean(runs.map((r) => r.curve[q]!)))),
  };
  const ratios = runs.map((r) => r.hypervolumeRatio).filter((x): x is number => x !== undefined);
  if (ratios.length > 0) {
    summary.hypervolume_ratio = round6(mean(ratios));
    summary.hypervolume_ratio_std = round6(std(ratios, 1));
  }
  return summary;
}

/** Six decimals: enough for accuracies in percent, without float noise in the JSON. */
function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
