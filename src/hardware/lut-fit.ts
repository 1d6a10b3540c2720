// A per-operation latency lookup table fitted to the end-to-end latency of a
// few measured networks, for devices whose single operations cannot be
// timed here (a phone, HW-NAS-Bench's tables). The model is the additive one
// `tsnas bench latency` measures on this runtime (latency.ts): a fixed part
// plus one entry per (operation, position) the network computes.
//
// Entries are fitted by ridge least squares. Where positions always occur
// together (NAS-Bench-201 repeats one cell in all three stages) their
// entries cannot be told apart; the small ridge splits their sum evenly
// instead of leaving the system singular.
import { TsnasError } from '../errors.js';
import type { Sample } from '../spaces/types.js';
import { solveSpd } from '../util/linalg.js';
import type { LatencyEdges, LatencyPosition, LatencyShape } from './latency.js';

export interface FittedLatencyEntry extends LatencyPosition {
  op: string;
  ms: number;
}

export interface FittedLatencyLut {
  /** The network the measurements were of (where each edge runs). */
  shape: LatencyShape;
  /** Everything outside the edge operations (the intercept). */
  fixed_ms: number;
  entries: FittedLatencyEntry[];
  /** Measured networks it was fitted on. */
  samples: number;
}

export interface FitLatencyLutOptions {
  /** Ridge penalty relative to the mean diagonal of XᵀX (default 1e-6: next to none, enough to split tied entries). */
  ridge?: number;
}

const key = (op: string, p: LatencyPosition) => `${op}@${p.channels}x${p.resolution}/${p.stride}`;

/** The (op, position) columns of a space's network, in a fixed order. */
function columnsOf(edges: LatencyEdges, shape: LatencyShape): { op: string; position: LatencyPosition }[] {
  const seen = new Map<string, { op: string; position: LatencyPosition }>();
  for (const { position } of edges.occurrences(shape)) {
    for (const op of edges.ops) if (!seen.has(key(op, position))) seen.set(key(op, position), { op, position });
  }
  return [...seen.values()];
}

/** How often the sample's network computes each column. */
function counts(edges: LatencyEdges, shape: LatencyShape, index: Map<string, number>, sample: Sample): Float64Array {
  const x = new Float64Array(index.size);
  for (const { op, position } of edges.sampleEdgeOps(shape, sample)) x[index.get(key(op, position))!]! += 1;
  return x;
}

/** Fits the table to measured end-to-end latencies (ms) of samples' networks of the given shape. */
export function fitLatencyLut(edges: LatencyEdges, shape: LatencyShape, samples: readonly Sample[], measuredMs: readonly number[], o: FitLatencyLutOptions = {}): FittedLatencyLut {
  if (samples.length !== measuredMs.length) throw new TsnasError('usage', `${samples.length} samples but ${measuredMs.length} latencies`, { where: 'measured' });
  if (samples.length < 2) throw new TsnasError('usage', `expected at least 2 measured networks, got ${samples.length}`, { where: 'samples' });
  measuredMs.forEach((v, i) => {
    if (!(Number.isFinite(v) && v >= 0)) throw new TsnasError('data', `latency ${i} is not a number >= 0: ${v}`, { where: 'measured' });
  });
  const columns = columnsOf(edges, shape);
  const index = new Map(columns.map((c, k) => [key(c.op, c.position), k]));
  const p = columns.length;
  const rows = samples.map((s) => counts(edges, shape, index, s));
  // Centred, so the intercept (fixed part) is not penalised.
  const n = rows.length;
  const meanX = new Float64Array(p);
  for (const r of rows) for (let j = 0; j < p; j++) meanX[j]! += r[j]! / n;
  const meanY = measuredMs.reduce((a, b) => a + b, 0) / n;
  const xtx = new Float64Array(p * p);
  const xty = new Array<number>(p).fill(0);
  rows.forEach((r, i) => {
    for (let a = 0; a < p; a++) {
      const da = r[a]! - meanX[a]!;
      if (da === 0) continue;
      xty[a]! += da * (measuredMs[i]! - meanY);
      for (let b = 0; b < p; b++) xtx[a * p + b]! += da * (r[b]! - meanX[b]!);
    }
  });
  let trace = 0;
  for (let a = 0; a < p; a++) trace += xtx[a * p + a]!;
  // A column no sample varies (an op never chosen) would make the system singular: a floor on the penalty.
  const lambda = Math.max((o.ridge ?? 1e-6) * (trace / p), 1e-12);
  for (let a = 0; a < p; a++) xtx[a * p + a]! += lambda;
  const w = solveSpd(xtx, p, xty);
  if (!w) throw new TsnasError('data', 'the latency fit is singular (are the measurements finite?)', { where: 'measured' });
  let fixed = meanY;
  for (let j = 0; j < p; j++) fixed -= w[j]! * meanX[j]!;
  return {
    shape: { channels: shape.channels, cells: shape.cells, resolution: shape.resolution },
    fixed_ms: fixed,
    entries: columns.map((c, k) => ({ op: c.op, ...c.position, ms: w[k]! })),
    samples: n,
  };
}

const entryMaps = new WeakMap<FittedLatencyLut, Map<string, number>>();

/** A sample's latency from a fitted table: the fixed part plus the entries of the operations its network computes. */
export function predictLutLatency(edges: LatencyEdges, lut: FittedLatencyLut, sample: Sample): number {
  let entries = entryMaps.get(lut);
  if (!entries) entryMaps.set(lut, (entries = new Map(lut.entries.map((e) => [key(e.op, e), e.ms]))));
  let ms = lut.fixed_ms;
  for (const { op, position } of edges.sampleEdgeOps(lut.shape, sample)) {
    const e = entries.get(key(op, position));
    if (e === undefined) throw new TsnasError('data', `the fitted latency table has no entry for ${key(op, position)}`, { where: 'latency table' });
    ms += e;
  }
  return ms;
}
