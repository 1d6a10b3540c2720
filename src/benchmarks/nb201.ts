// NAS-Bench-201 as a queryable tabular benchmark: the vendored table of
// 200-epoch test accuracies (data/nb201, with provenance) for CIFAR-10,
// CIFAR-100 and ImageNet16-120, params and FLOPs from the cost model, and
// HW-NAS-Bench's device latencies and energies (hw-nas-bench.ts).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TsnasError, configError, dataError } from '../errors.js';
import { costOf } from '../kits/index.js';
import { nb201Space, type Nb201Space } from '../spaces/nb201.js';
import type { Sample } from '../spaces/types.js';
import type { Objectives } from '../strategies/types.js';
import { HW_NAS_BENCH_METRICS, HwNasBenchTable, isHwNasBenchMetric } from './hw-nas-bench.js';
import type { Benchmark } from './types.js';

export const NB201_DATASETS = ['cifar10', 'cifar100', 'imagenet16_120'] as const;
export type Nb201Dataset = (typeof NB201_DATASETS)[number];

export const NB201_TABLE_PATH = fileURLToPath(new URL('../../data/nb201/nb201_test_acc_200ep.csv', import.meta.url));

/** HW-NAS-Bench's device costs of each dataset's networks (data/hw-nas-bench, with provenance). */
export function hwNasBenchTable(dataset: Nb201Dataset): HwNasBenchTable {
  return HwNasBenchTable.load(fileURLToPath(new URL(`../../data/hw-nas-bench/nb201_${dataset}.csv.gz`, import.meta.url)));
}

/** The network each dataset's accuracies were measured on: input size (channels, height, width) and classes. */
export interface Nb201DatasetShape {
  input: readonly [number, number, number];
  classes: number;
}

const datasetShapes: Record<Nb201Dataset, Nb201DatasetShape> = {
  cifar10: { input: [3, 32, 32], classes: 10 },
  cifar100: { input: [3, 32, 32], classes: 100 },
  imagenet16_120: { input: [3, 16, 16], classes: 120 },
};

export function nb201DatasetShape(dataset: Nb201Dataset): Nb201DatasetShape {
  return datasetShapes[dataset];
}

export function isNb201Dataset(name: string): name is Nb201Dataset {
  return (NB201_DATASETS as readonly string[]).includes(name);
}

/** The table: one row per cell, accuracies in percent. */
export class Nb201Table {
  readonly archs: readonly string[];
  private readonly rowOf = new Map<string, number>();
  private readonly accuracies: Record<Nb201Dataset, Float64Array>;

  private constructor(archs: string[], accuracies: Record<Nb201Dataset, Float64Array>) {
    this.archs = archs;
    this.accuracies = accuracies;
    archs.forEach((a, i) => this.rowOf.set(a, i));
  }

  private static cache = new Map<string, Nb201Table>();

  /** Loads (once per path) and checks the CSV: header arch,cifar10,cifar100,imagenet16_120. */
  static load(path = NB201_TABLE_PATH): Nb201Table {
    const cached = Nb201Table.cache.get(path);
    if (cached) return cached;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new TsnasError('data', `cannot read the NAS-Bench-201 table: ${(e as Error).message}`, { where: path, cause: e });
    }
    const table = Nb201Table.parse(text, path);
    Nb201Table.cache.set(path, table);
    return table;
  }

  static parse(text: string, where = 'nb201 table'): Nb201Table {
    const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
    const header = lines[0]?.split(',');
    const expected = ['arch', ...NB201_DATASETS];
    if (!header || header.join(',') !== expected.join(',')) {
      throw dataError(`expected the header '${expected.join(',')}', found '${lines[0] ?? ''}'`, where);
    }
    const n = lines.length - 1;
    const archs: string[] = [];
    const acc = Object.fromEntries(NB201_DATASETS.map((d) => [d, new Float64Array(n)])) as Record<Nb201Dataset, Float64Array>;
    for (let r = 0; r < n; r++) {
      const cells = lines[r + 1]!.split(',');
      if (cells.length !== 4) throw dataError(`line ${r + 2}: expected 4 fields, found ${cells.length}`, where);
      archs.push(cells[0]!);
      NB201_DATASETS.forEach((d, k) => {
        const v = Number(cells[k + 1]);
        if (!Number.isFinite(v)) throw dataError(`line ${r + 2}: ${d} is not a number: '${cells[k + 1]}'`, where);
        acc[d][r] = v;
      });
    }
    const table = new Nb201Table(archs, acc);
    if (table.rowOf.size !== n) throw dataError(`${n - table.rowOf.size} duplicate arch strings`, where);
    return table;
  }

  get size(): number {
    return this.archs.length;
  }

  has(arch: string): boolean {
    return this.rowOf.has(arch);
  }

  /** Test accuracy (%) of a NAS-Bench-201 string; a data error names unknown strings. */
  accuracy(arch: string, dataset: Nb201Dataset): number {
    const row = this.rowOf.get(arch);
    if (row === undefined) throw dataError(`'${arch}' is not in the NAS-Bench-201 table (${this.size} cells)`, 'arch');
    return this.accuracies[dataset][row]!;
  }

  /** Every accuracy of a dataset, in table order (aligned with archs). */
  values(dataset: Nb201Dataset): Float64Array {
    return this.accuracies[dataset];
  }

  /** The best cell of a dataset (the first in table order on ties). */
  best(dataset: Nb201Dataset): { arch: string; accuracy: number } {
    const v = this.accuracies[dataset];
    let best = 0;
    for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
    return { arch: this.archs[best]!, accuracy: v[best]! };
  }
}

/** 'nb201:cifar10' -> the dataset; anything else is a usage error naming what is accepted. */
export function parseNb201BenchmarkName(spec: string, where = '--benchmark'): Nb201Dataset {
  const [name, dataset] = spec.split(':');
  if (name !== 'nb201' || dataset === undefined || !isNb201Dataset(dataset)) {
    throw new TsnasError('usage', `expected nb201:<dataset> with dataset one of ${NB201_DATASETS.join(', ')}, got '${spec}'`, { where });
  }
  return dataset;
}

/**
 * The tables as the estimator of a search: accuracy of the dataset, params
 * and FLOPs of the dataset's network, and its HW-NAS-Bench device costs.
 */
export class Nb201Benchmark implements Benchmark {
  readonly name: string;
  readonly space: Nb201Space;
  readonly metrics = { accuracy: 'max', params: 'min', flops: 'min', ...HW_NAS_BENCH_METRICS } as const;
  private readonly costCache = new Map<string, { params: number; flops: number }>();
  private readonly pointsCache = new Map<string, number[][]>();

  constructor(
    readonly dataset: Nb201Dataset,
    readonly table: Nb201Table = Nb201Table.load(),
    space: Nb201Space = nb201Space(),
    readonly hardware: HwNasBenchTable = hwNasBenchTable(dataset),
  ) {
    if (space.name !== 'nb201') throw new TsnasError('usage', `the nb201 benchmark needs the nb201 space, got '${space.name}'`, { where: '--space' });
    if (!space.isBenchmarkCell) {
      throw configError(`the NAS-Bench-201 table covers only its own cell (3 nodes, its 5 ops), not ${space.config.nodes} nodes with ops ${space.config.ops.join(', ')}`, 'space.options');
    }
    if (hardware.size !== table.size) throw dataError(`the HW-NAS-Bench table has ${hardware.size} cells, the accuracy table ${table.size}`, hardware.where);
    this.name = `nb201:${dataset}`;
    this.space = space;
  }

  /** A sample or a NAS-Bench-201 string -> the string. */
  arch(query: Sample | string): string {
    return typeof query === 'string' ? this.space.format(this.space.parse(query)) : this.space.format(query);
  }

  /** Params and FLOPs of the dataset's network (cached per arch). */
  cost(query: Sample | string): { params: number; flops: number } {
    const arch = this.arch(query);
    let c = this.costCache.get(arch);
    if (!c) {
      const { input, classes } = datasetShapes[this.dataset];
      c = costOf(this.space, this.space.parse(arch), { input, classes });
      this.costCache.set(arch, c);
    }
    return c;
  }

  /** The device costs HW-NAS-Bench has for the cell (a metric it did not measure is absent). */
  deviceCosts(query: Sample | string): Record<string, number> {
    return this.hardware.metrics(this.arch(query));
  }

  /** One metric of a cell; an unmeasured device cost is a data error naming the cell and the metric. */
  metric(query: Sample | string, name: string): number {
    const arch = this.arch(query);
    if (name === 'accuracy') return this.table.accuracy(arch, this.dataset);
    if (name === 'params' || name === 'flops') return this.cost(arch)[name];
    return this.hardware.metric(arch, name);
  }

  /**
   * Every metric of a cell. Those in `required` must be there: a device
   * cost HW-NAS-Bench did not measure for this cell is then an error, not a
   * record without it.
   */
  evaluate(query: Sample | string, required: readonly string[] = []): Objectives {
    const arch = this.arch(query);
    const out: Record<string, number> = { accuracy: this.table.accuracy(arch, this.dataset), ...this.cost(arch), ...this.hardware.metrics(arch) };
    for (const name of required) if (!(name in out)) out[name] = this.metric(arch, name);
    return out;
  }

  optimum(): number {
    return this.table.best(this.dataset).accuracy;
  }

  /**
   * The named metrics of every cell, in table order, leaving out cells that
   * lack a device cost (for exact Pareto fronts).
   */
  points(names: readonly string[]): number[][] {
    const key = names.join(',');
    let points = this.pointsCache.get(key);
    if (!points) {
      for (const name of names) if (!(name in this.metrics)) throw new TsnasError('usage', `benchmark ${this.name} gives ${Object.keys(this.metrics).join(', ')}, not '${name}'`, { where: '--objectives' });
      points = [];
      for (const arch of this.table.archs) {
        const device = this.hardware.metrics(arch);
        if (names.some((n) => isHwNasBenchMetric(n) && !(n in device))) continue;
        points.push(names.map((n) => this.metric(arch, n)));
      }
      this.pointsCache.set(key, points);
    }
    return points;
  }
}

/**
 * Exact expectation of the best of q distinct uniform draws from `values`
 * (random search without repeats): the k-th smallest of N is the maximum
 * with probability C(k-1, q-1) / C(N, q).
 */
export function expectedBestOfRandom(values: ArrayLike<number>, q: number): number {
  return expectedBestCurve(values, q)[q - 1]!;
}

/** expectedBestOfRandom for q = 1..budget, sorting once. */
export function expectedBestCurve(values: ArrayLike<number>, budget: number): number[] {
  const v = Array.from(values).sort((a, b) => a - b);
  const n = v.length;
  if (!(budget >= 1 && budget <= n)) throw new RangeError(`expectedBestOfRandom: q must be in 1..${n}, got ${budget}`);
  const out: number[] = [];
  for (let q = 1; q <= budget; q++) {
    // p_k = C(k-1, q-1)/C(n, q), built from the top: p_n = q/n, p_{k-1} = p_k · (k-q)/(k-1).
    let p = q / n;
    let e = 0;
    for (let k = n; k >= q && p > 0; k--) {
      e += p * v[k - 1]!;
      p *= (k - q) / (k - 1);
    }
    out.push(e);
  }
  return out;
}
