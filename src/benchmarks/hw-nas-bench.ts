// HW-NAS-Bench (Li et al., ICLR 2021) for NAS-Bench-201: the measured or
// simulated latency and energy of every cell's network on six devices, one
// vendored table per dataset (data/hw-nas-bench, with provenance). Its
// columns become metrics named <quantity>_<device>_<unit>, with their
// directions declared once here.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { TsnasError, dataError } from '../errors.js';
import type { MetricDirections } from '../strategies/types.js';

/**
 * The table's columns, in file order, the metric each becomes and its
 * direction: latency and energy are costs; arithmetic intensity (operations
 * per memory access on the Eyeriss accelerator) is a utilisation, higher is better.
 */
export const HW_NAS_BENCH_COLUMNS = [
  { column: 'edgegpu_latency', metric: 'latency_edgegpu_ms', direction: 'min' },
  { column: 'edgegpu_energy', metric: 'energy_edgegpu_mj', direction: 'min' },
  { column: 'raspi4_latency', metric: 'latency_raspi4_ms', direction: 'min' },
  { column: 'edgetpu_latency', metric: 'latency_edgetpu_ms', direction: 'min' },
  { column: 'pixel3_latency', metric: 'latency_pixel3_ms', direction: 'min' },
  { column: 'eyeriss_latency', metric: 'latency_eyeriss_ms', direction: 'min' },
  { column: 'eyeriss_energy', metric: 'energy_eyeriss_mj', direction: 'min' },
  { column: 'eyeriss_arithmetic_intensity', metric: 'arithmetic_intensity_eyeriss', direction: 'max' },
  { column: 'fpga_latency', metric: 'latency_fpga_ms', direction: 'min' },
  { column: 'fpga_energy', metric: 'energy_fpga_mj', direction: 'min' },
] as const;

export type HwNasBenchMetric = (typeof HW_NAS_BENCH_COLUMNS)[number]['metric'];

/** The device metrics with their directions. */
export const HW_NAS_BENCH_METRICS: MetricDirections = Object.fromEntries(HW_NAS_BENCH_COLUMNS.map((c) => [c.metric, c.direction]));

/** The file marks a value that was not measured with -1. */
const NOT_MEASURED = -1;

export function isHwNasBenchMetric(name: string): name is HwNasBenchMetric {
  return Object.hasOwn(HW_NAS_BENCH_METRICS, name);
}

/** One dataset's table: a row per cell, a column per metric; NaN where not measured. */
export class HwNasBenchTable {
  readonly archs: readonly string[];
  private readonly rowOf = new Map<string, number>();
  private readonly columns: Record<HwNasBenchMetric, Float64Array>;

  private constructor(archs: string[], columns: Record<HwNasBenchMetric, Float64Array>, readonly where: string) {
    this.archs = archs;
    this.columns = columns;
    archs.forEach((a, i) => this.rowOf.set(a, i));
  }

  private static cache = new Map<string, HwNasBenchTable>();

  /** Loads (once per path) and checks a table, gzipped or not (nb201.ts knows each dataset's file). */
  static load(path: string): HwNasBenchTable {
    const cached = HwNasBenchTable.cache.get(path);
    if (cached) return cached;
    let text: string;
    try {
      const bytes = readFileSync(path);
      text = (path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
    } catch (e) {
      throw new TsnasError('data', `cannot read the HW-NAS-Bench table: ${(e as Error).message}`, { where: path, cause: e });
    }
    const table = HwNasBenchTable.parse(text, path);
    HwNasBenchTable.cache.set(path, table);
    return table;
  }

  static parse(text: string, where = 'hw-nas-bench table'): HwNasBenchTable {
    const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
    const expected = ['arch', ...HW_NAS_BENCH_COLUMNS.map((c) => c.column)].join(',');
    if (lines[0] !== expected) throw dataError(`expected the header '${expected}', found '${lines[0] ?? ''}'`, where);
    const n = lines.length - 1;
    const archs: string[] = [];
    const columns = Object.fromEntries(HW_NAS_BENCH_COLUMNS.map((c) => [c.metric, new Float64Array(n)])) as Record<HwNasBenchMetric, Float64Array>;
    for (let r = 0; r < n; r++) {
      const cells = lines[r + 1]!.split(',');
      if (cells.length !== HW_NAS_BENCH_COLUMNS.length + 1) throw dataError(`line ${r + 2}: expected ${HW_NAS_BENCH_COLUMNS.length + 1} fields, found ${cells.length}`, where);
      archs.push(cells[0]!);
      HW_NAS_BENCH_COLUMNS.forEach(({ column, metric }, k) => {
        const v = Number(cells[k + 1]);
        if (!Number.isFinite(v) || (v < 0 && v !== NOT_MEASURED)) throw dataError(`line ${r + 2}: ${column} is not a non-negative number or -1: '${cells[k + 1]}'`, where);
        columns[metric][r] = v === NOT_MEASURED ? NaN : v;
      });
    }
    const table = new HwNasBenchTable(archs, columns, where);
    if (table.rowOf.size !== n) throw dataError(`${n - table.rowOf.size} duplicate arch strings`, where);
    return table;
  }

  get size(): number {
    return this.archs.length;
  }

  private row(arch: string): number {
    const row = this.rowOf.get(arch);
    if (row === undefined) throw dataError(`'${arch}' is not in the HW-NAS-Bench table (${this.size} cells)`, 'arch');
    return row;
  }

  /** One metric of a cell; a value the benchmark did not measure is a data error naming both. */
  metric(arch: string, metric: string): number {
    if (!isHwNasBenchMetric(metric)) throw dataError(`HW-NAS-Bench has no metric '${metric}'; it has ${Object.keys(HW_NAS_BENCH_METRICS).join(', ')}`, 'metric');
    const v = this.columns[metric][this.row(arch)]!;
    if (Number.isNaN(v)) throw dataError(`HW-NAS-Bench did not measure ${metric} for '${arch}' (the table has -1 there)`, this.where);
    return v;
  }

  /** Every metric the table has for a cell; unmeasured ones are absent. */
  metrics(arch: string): Record<string, number> {
    const row = this.row(arch);
    const out: Record<string, number> = {};
    for (const { metric } of HW_NAS_BENCH_COLUMNS) {
      const v = this.columns[metric][row]!;
      if (!Number.isNaN(v)) out[metric] = v;
    }
    return out;
  }

  /** A metric of every cell in table order (aligned with archs); NaN where not measured. */
  values(metric: HwNasBenchMetric): Float64Array {
    return this.columns[metric];
  }
}
