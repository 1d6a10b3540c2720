// Runs a strategy against a benchmark for many seeds and summarises the
// runs: the mean best-so-far curve, the final best, how often the optimum
// was found and, for multi-objective runs, the hypervolume ratio of the
// found front of the first two objectives (accuracy and params, a device's
// latency, ...) to the table's exact front.
import { TsnasError } from '../errors.js';
import { createStrategy, findStrategy, type StrategyName, type StrategyOptionsByName } from '../strategies/index.js';
import { hypervolume2d, paretoFront2d } from '../strategies/pareto.js';
import type { FitnessSpec, ObjectiveSpec, ProxyScoreSource, Strategy } from '../strategies/types.js';
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
  /**
   * Reference point of the hypervolume ratio, one value per objective of the
   * front (default: the table's worst value of each, see exactFront).
   */
  hypervolumeReference?: readonly number[];
  /** Samples asked at once (parallel workers); default 1. */
  batch?: number;
  /** Proxy scores for strategies that use them (proxy-bo), e.g. loadProxyScoreFile: free, not counted as queries. */
  proxyScores?: ProxyScoreSource;
  /** Called after each seed, e.g. for a progress bar. */
  onRun?: (run: SeedRun) => void;
}

export interface SeedRun {
  seed: number;
  /** Best accuracy found after each query (length = budget). */
  curve: number[];
  final: number;
  foundOptimum: boolean;
  /** For multi-objective runs: over the first two objectives. */
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
  /** The two objectives the hypervolume ratio is over. */
  hypervolume_objectives?: string[];
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

/**
 * The objectives a run searches on: the given ones; a multi-objective
 * strategy given fewer than two searches accuracy and params.
 */
function searchedObjectives(o: BenchmarkSearchOptions): readonly string[] {
  const objectives = o.objectives ?? ['accuracy'];
  return isMultiObjective(o) && objectives.length < 2 ? ['accuracy', 'params'] : objectives;
}

function isMultiObjective(o: BenchmarkSearchOptions): boolean {
  return findStrategy(o.strategy)?.multiObjective === true || (o.objectives ?? []).length > 1;
}

function strategyFor(o: BenchmarkSearchOptions, seed: number): Strategy {
  const objectives = searchedObjectives(o);
  const base = { ...(o.strategyOptions ?? {}), seed } as Record<string, unknown>;
  if (o.proxyScores) base['proxyScores'] = o.proxyScores;
  if (findStrategy(o.strategy)?.multiObjective) {
    base['objectives'] = objectiveSpecs(objectives, o.benchmark);
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

/** A two-objective table's exact front and its hypervolume from the reference point. */
export interface ExactFront {
  maximize: boolean[];
  /** By default the table's worst value of each objective (its nadir over every cell, not only the front's). */
  reference: number[];
  /** The non-dominated points. */
  front: number[][];
  volume: number;
}

const exactFronts = new WeakMap<readonly (readonly number[])[], Map<string, ExactFront>>();

/** The exact front of every point of a table (cached per table, directions and reference). */
export function exactFront(all: readonly (readonly number[])[], maximize: readonly boolean[], reference?: readonly number[]): ExactFront {
  const key = `${maximize.join(',')};${reference?.join(',') ?? 'worst'}`;
  let byDirections = exactFronts.get(all);
  if (!byDirections) exactFronts.set(all, (byDirections = new Map()));
  let exact = byDirections.get(key);
  if (!exact) {
    const ref = reference ? [...reference] : [0, 1].map((k) => all.reduce((worst, p) => (maximize[k] ? Math.min(worst, p[k]!) : Math.max(worst, p[k]!)), maximize[k] ? Infinity : -Infinity));
    const front = paretoFront2d(all, maximize).map((i) => [...all[i]!]);
    exact = { maximize: [...maximize], reference: ref, front, volume: hypervolume2d(front, ref, maximize) };
    if (!(exact.volume > 0)) throw new TsnasError('usage', `the reference point ${ref.join(',')} is not beaten by any point of the table`, { where: 'hypervolume reference' });
    byDirections.set(key, exact);
  }
  return exact;
}

/**
 * Hypervolume of the found points over that of the table's exact front,
 * both from the same reference point (default: the table's worst values,
 * see exactFront). Default directions: maximise the first objective,
 * minimise the second.
 */
export function hypervolumeRatio(found: readonly (readonly number[])[], all: readonly (readonly number[])[], maximize: readonly boolean[] = [true, false], reference?: readonly number[]): number {
  const exact = exactFront(all, maximize, reference);
  return hypervolume2d(found, exact.reference, exact.maximize) / exact.volume;
}

/** One seed of a strategy on a benchmark; `table` (the first two objectives of every cell) adds the hypervolume ratio. */
export function runSeed(o: BenchmarkSearchOptions, seed: number, table?: readonly (readonly number[])[]): SeedRun {
  if (!(Number.isInteger(o.budget) && o.budget >= 1)) throw new TsnasError('usage', `budget must be a positive integer, got ${o.budget}`, { where: '--budget' });
  const objectives = searchedObjectives(o);
  const strategy = strategyFor(o, seed);
  const optimum = o.benchmark.optimum();
  const curve: number[] = [];
  const points: number[][] = [];
  let best = -Infinity;
  try {
    while (curve.length < o.budget) {
      const samples = strategy.ask(Math.min(o.batch ?? 1, o.budget - curve.length));
      for (const s of samples) {
        const values = o.benchmark.evaluate(s, objectives);
        strategy.tell(s, values);
        const accuracy = values['accuracy']!;
        if (accuracy > best) best = accuracy;
        curve.push(best);
        if (table) points.push([values[objectives[0]!]!, values[objectives[1]!]!]);
      }
    }
  } finally {
    strategy.dispose();
  }
  const run: SeedRun = { seed, curve, final: best, foundOptimum: best >= optimum };
  if (table) run.hypervolumeRatio = hypervolumeRatio(points, table, directionsOf(objectives, o.benchmark), o.hypervolumeReference);
  return run;
}

/** Every seed, then the summary (the CLI prints it as the last JSON line). */
export function runBenchmarkSearch(o: BenchmarkSearchOptions): { summary: SearchSummary; runs: SeedRun[] } {
  if (o.seeds.length === 0) throw new TsnasError('usage', 'no seeds to run', { where: '--seeds' });
  const frontObjectives = isMultiObjective(o) ? searchedObjectives(o).slice(0, 2) : undefined;
  const table = frontObjectives ? tablePoints(o.benchmark, frontObjectives) : undefined;
  const runs: SeedRun[] = [];
  for (const seed of o.seeds) {
    const run = runSeed(o, seed, table);
    runs.push(run);
    o.onRun?.(run);
  }
  const summary = summarise(o.strategy, o.benchmark.dataset, o.budget, runs);
  if (frontObjectives) summary.hypervolume_objectives = [...frontObjectives];
  return { summary, runs };
}

function directionsOf(objectives: readonly string[], b: Benchmark): boolean[] {
  return objectiveSpecs(objectives.slice(0, 2), b).map((s) => s.maximize);
}

function tablePoints(b: Benchmark, objectives: readonly string[]): number[][] {
  if (!b.points) throw new TsnasError('usage', `benchmark ${b.name} cannot enumerate its cells, so it has no exact Pareto front`, { where: '--benchmark' });
  return b.points(objectives);
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
