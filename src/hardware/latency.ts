// Latency lookup tables measured on this runtime (libtorch through the
// addon, at the current thread count): the forward (and optionally
// forward + backward) time of every candidate operation of a space's edges
// at each (channels, resolution, stride) the network uses, plus a measured
// fixed part (stem, reductions, cell preprocessing, classifier). A sample's
// predicted latency is the fixed part plus the entries of its operations;
// hardware-aware DARTS reads per-edge cost tables from the same file.
import { readFileSync, writeFileSync } from 'node:fs';
import { TsnasError } from '../errors.js';
import type { Module } from '../nn/module.js';
import { DARTS_OPS, DARTS_PRIMITIVES, nb201Op } from '../nn/ops.js';
import { buildNetwork } from '../networks/index.js';
import { DARTS_NODES, dartsSpace, genotypeToSample, sampleToGenotype, type Genotype, type GenotypeEdge } from '../spaces/darts.js';
import { NB201_EDGES, NB201_OPS, cellOps, nb201EdgeLabel, nb201Space } from '../spaces/nb201.js';
import type { Sample } from '../spaces/types.js';
import { getNumThreads, grad, noGrad, randn, tidy, type Tensor } from '../tensor/index.js';
import type { Rng } from '../util/random.js';
import { kendallTau, spearman } from '../util/stats.js';

export type LatencySpace = 'nb201' | 'darts';

/** The network a table describes: its ops' positions and its fixed part depend on all of these. */
export interface LatencyNetworkConfig {
  space: LatencySpace;
  /** Initial channels C. */
  channels: number;
  /** nb201: cells per stage N; darts: number of cells. */
  cells: number;
  /** Input height = width. */
  resolution: number;
  batch: number;
  inChannels: number;
  numClasses: number;
}

/** Where an edge operation runs: its input width and side, and its stride. */
export interface LatencyPosition {
  channels: number;
  resolution: number;
  stride: number;
}

export interface LatencyEntry extends LatencyPosition {
  op: string;
  forward_ms: number;
  forward_backward_ms?: number;
}

export interface LatencyTable {
  format: 'tsnas-latency-table';
  version: 1;
  runtime: { engine: 'libtorch'; threads: number };
  network: LatencyNetworkConfig;
  measurement: { warmup: number; repeats: number; backward: boolean; statistic: 'median' };
  /** Everything outside the edge operations: end-to-end time of a reference network minus its operations' entries. */
  fixed: { forward_ms: number; forward_backward_ms?: number; reference: string };
  entries: LatencyEntry[];
}

export interface MeasureLatencyOptions {
  space: LatencySpace;
  /** Default: nb201 16, darts 16. */
  channels?: number;
  /** Default: nb201 5, darts 8. */
  cells?: number;
  /** Default 32. */
  resolution?: number;
  /** Default 1 (the latency of one image). */
  batch?: number;
  inChannels?: number;
  numClasses?: number;
  /** Untimed calls first (default 5). */
  warmup?: number;
  /** Timed repeats; the median is kept (default 15). */
  repeats?: number;
  /** Also time forward + backward (default false). */
  backward?: boolean;
  /** Called after each measured entry (progress). */
  onEntry?: (entry: LatencyEntry, done: number, total: number) => void;
}

export interface EdgeOccurrence {
  /** The supernet's α label of this edge (nb201: edge_j_i; darts: normal|reduce_edge_j_i). */
  label: string;
  position: LatencyPosition;
}

const positionKey = (op: string, p: LatencyPosition) => `${op}@${p.channels}x${p.resolution}/${p.stride}`;

/** The candidate operations of a space's edges, in the supernet's order. */
export function latencyOps(space: LatencySpace): readonly string[] {
  return space === 'nb201' ? NB201_OPS : DARTS_PRIMITIVES;
}

/** Side of a map after a stride-2 reduction (3×3 ops, padding 1). */
const halved = (size: number) => Math.floor((size - 1) / 2) + 1;

function checkConfig(c: LatencyNetworkConfig): void {
  if (c.space !== 'nb201' && c.space !== 'darts') throw new TsnasError('usage', `expected nb201 or darts, got '${String(c.space)}'`, { where: '--space' });
  for (const [name, v] of [['channels', c.channels], ['cells', c.cells], ['resolution', c.resolution], ['batch', c.batch]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new TsnasError('usage', `expected a positive integer, got ${v}`, { where: `--${name}` });
  }
  if (c.space === 'darts' && c.channels % 2 !== 0) throw new TsnasError('usage', `the darts network halves C in its reductions: expected an even C, got ${c.channels}`, { where: '--channels' });
}

/**
 * Every edge of every cell of the network, with the α label it shares and
 * where it runs. nb201: three stages at C, 2C, 4C and R, R/2, R/4, stride 1.
 * darts: reductions at cells/3 and 2·cells/3 double the width; their edges
 * from the two cell inputs have stride 2 and the others run at half the side.
 */
export function edgeOccurrences(c: Pick<LatencyNetworkConfig, 'space' | 'channels' | 'cells' | 'resolution'>): EdgeOccurrence[] {
  const out: EdgeOccurrence[] = [];
  if (c.space === 'nb201') {
    let side = c.resolution;
    for (const width of [c.channels, 2 * c.channels, 4 * c.channels]) {
      for (let i = 0; i < c.cells; i++) {
        for (const [to, from] of NB201_EDGES) out.push({ label: nb201EdgeLabel(to, from), position: { channels: width, resolution: side, stride: 1 } });
      }
      side = halved(side);
    }
    return out;
  }
  const reductions = new Set([Math.floor(c.cells / 3), Math.floor((2 * c.cells) / 3)]);
  let width = c.channels;
  let side = c.resolution;
  for (let i = 0; i < c.cells; i++) {
    const reduction = reductions.has(i);
    if (reduction) width *= 2;
    const cell = reduction ? 'reduce' : 'normal';
    const inner = reduction ? halved(side) : side;
    for (let node = 2; node < 2 + DARTS_NODES; node++) {
      for (let from = 0; from < node; from++) {
        const position = reduction && from < 2 ? { channels: width, resolution: side, stride: 2 } : { channels: width, resolution: inner, stride: 1 };
        out.push({ label: `${cell}_edge_${node}_${from}`, position });
      }
    }
    side = inner;
  }
  return out;
}

/** An edge operation as the fixed network builds it (affine BN, running statistics). */
function buildOp(space: LatencySpace, op: string, p: LatencyPosition): Module {
  if (space === 'nb201') return nb201Op(op, p.channels, p.channels, p.stride, true, true);
  const factory = Object.hasOwn(DARTS_OPS, op) ? DARTS_OPS[op] : undefined;
  if (!factory) throw new TsnasError('usage', `unknown DARTS operation '${op}'`, { where: 'op' });
  return factory(p.channels, p.stride, true);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * Median milliseconds of one call of fn, after `warmup` untimed calls. Each
 * timed repeat runs fn enough times to last about a millisecond, so the
 * timer's resolution does not dominate microsecond-scale operations.
 */
export function timeCall(fn: () => void, warmup: number, repeats: number): number {
  for (let i = 0; i < warmup; i++) fn();
  const t0 = performance.now();
  fn();
  const once = performance.now() - t0;
  const inner = Math.max(1, Math.min(200, Math.ceil(1 / Math.max(once, 1e-3))));
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    for (let i = 0; i < inner; i++) fn();
    times.push((performance.now() - start) / inner);
  }
  return median(times);
}

/** Forward (no autograd, eval mode) and optionally forward + backward (train mode, gradients of the input and weights) of a module. */
export function timeModule(module: Module, inputShape: number[], o: { warmup: number; repeats: number; backward: boolean }): { forward: number; forwardBackward?: number } {
  const x = randn(inputShape);
  try {
    module.eval();
    const forward = timeCall(() => tidy(() => noGrad(() => void module.call(x))), o.warmup, o.repeats);
    if (!o.backward) return { forward };
    module.train();
    x.requiresGrad = true;
    const inputs = [x, ...module.parameters()];
    const forwardBackward = timeCall(() => tidy(() => {
      const y = module.call(x) as Tensor;
      // A zero op's output may not depend on anything: nothing to differentiate.
      if (y.requiresGrad) grad(y.sum(), inputs, { allowUnused: true });
    }), o.warmup, o.repeats);
    return { forward, forwardBackward };
  } finally {
    x.dispose();
  }
}

/** The all-skip reference network of a space: its fixed part is its time minus its skip entries. */
function referenceSample(space: LatencySpace): { sample: Sample; text: string } {
  if (space === 'nb201') {
    const nb = nb201Space();
    const text = `|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|`;
    return { sample: nb.parse(text), text };
  }
  // Every node takes the two cell inputs through skip connections (factorized reductions in reduction cells).
  const edges = (): GenotypeEdge[] => Array.from({ length: DARTS_NODES }, (): GenotypeEdge[] => [['skip_connect', 0], ['skip_connect', 1]]).flat();
  const concat = Array.from({ length: DARTS_NODES }, (_, i) => i + 2);
  const g: Genotype = { normal: edges(), normal_concat: concat, reduce: edges(), reduce_concat: [...concat] };
  const sample = genotypeToSample(g);
  return { sample, text: dartsSpace().format(sample) };
}

/** Builds the fixed network of a sample with the table's configuration. */
export function buildLatencyNetwork(c: LatencyNetworkConfig, sample: Sample): Module {
  return buildNetwork(c.space, sample, { numClasses: c.numClasses, inChannels: c.inChannels, channels: c.channels, cells: c.cells, inputSize: c.resolution });
}

/** Median end-to-end time of a sample's fixed network with the table's configuration. */
export function measureNetworkLatency(c: LatencyNetworkConfig, sample: Sample, o: { warmup?: number; repeats?: number; backward?: boolean } = {}): { forward: number; forwardBackward?: number } {
  const net = buildLatencyNetwork(c, sample);
  try {
    return timeModule(net, [c.batch, c.inChannels, c.resolution, c.resolution], { warmup: o.warmup ?? 5, repeats: o.repeats ?? 15, backward: o.backward ?? false });
  } finally {
    net.dispose();
  }
}

/** Measures a latency table on this runtime at the current thread count. */
export function measureLatencyTable(o: MeasureLatencyOptions): LatencyTable {
  const network: LatencyNetworkConfig = {
    space: o.space,
    channels: o.channels ?? 16,
    cells: o.cells ?? (o.space === 'nb201' ? 5 : 8),
    resolution: o.resolution ?? 32,
    batch: o.batch ?? 1,
    inChannels: o.inChannels ?? 3,
    numClasses: o.numClasses ?? 10,
  };
  checkConfig(network);
  const measurement = { warmup: o.warmup ?? 5, repeats: o.repeats ?? 15, backward: o.backward ?? false, statistic: 'median' as const };
  const positions = new Map<string, LatencyPosition>();
  for (const { position } of edgeOccurrences(network)) positions.set(positionKey('', position), position);
  const ops = latencyOps(o.space);
  const total = positions.size * ops.length;
  const entries: LatencyEntry[] = [];
  for (const p of positions.values()) {
    for (const op of ops) {
      const module = buildOp(o.space, op, p);
      try {
        const t = timeModule(module, [network.batch, p.channels, p.resolution, p.resolution], measurement);
        const entry: LatencyEntry = { op, ...p, forward_ms: t.forward, ...(t.forwardBackward !== undefined ? { forward_backward_ms: t.forwardBackward } : {}) };
        entries.push(entry);
        o.onEntry?.(entry, entries.length, total);
      } finally {
        module.dispose();
      }
    }
  }
  const partial: LatencyTable = {
    format: 'tsnas-latency-table',
    version: 1,
    runtime: { engine: 'libtorch', threads: getNumThreads() },
    network,
    measurement,
    fixed: { forward_ms: 0, reference: '' },
    entries,
  };
  const { sample, text } = referenceSample(o.space);
  const whole = measureNetworkLatency(network, sample, measurement);
  const ref = predictLatencyParts(partial, sample);
  partial.fixed = {
    forward_ms: Math.max(0, whole.forward - ref.forward),
    ...(whole.forwardBackward !== undefined ? { forward_backward_ms: Math.max(0, whole.forwardBackward - (ref.forwardBackward ?? 0)) } : {}),
    reference: text,
  };
  return partial;
}

/** Indexes a table's entries by op and position. */
class EntryIndex {
  readonly #map = new Map<string, LatencyEntry>();
  constructor(readonly table: LatencyTable) {
    for (const e of table.entries) this.#map.set(positionKey(e.op, e), e);
  }
  get(op: string, p: LatencyPosition): LatencyEntry {
    const e = this.#map.get(positionKey(op, p));
    if (!e) {
      throw new TsnasError('data', `the latency table has no entry for ${op} at ${p.channels} channels, ${p.resolution}x${p.resolution}, stride ${p.stride} ` +
        `(it was measured for ${this.table.network.space}, C=${this.table.network.channels}, cells=${this.table.network.cells}, resolution ${this.table.network.resolution})`, { where: 'latency table' });
    }
    return e;
  }
}

const indexCache = new WeakMap<LatencyTable, EntryIndex>();
function indexOf(t: LatencyTable): EntryIndex {
  let i = indexCache.get(t);
  if (!i) indexCache.set(t, (i = new EntryIndex(t)));
  return i;
}

/**
 * The edges a fixed NAS-Bench-201 cell computes (networks/nb201.ts): those
 * into nodes the output depends on, without `none` edges, except one zero
 * edge into a node whose inputs are all `none` (it gives the zeros' shape).
 */
function computedNb201Edges(ops: readonly string[]): Set<number> {
  const live = [false, false, false, true];
  const computed = new Set<number>();
  for (let j = 3; j >= 1; j--) {
    if (!live[j]) continue;
    const inputs = NB201_EDGES.map(([to, from], e) => ({ to, from, e })).filter((x) => x.to === j);
    const real = inputs.filter((x) => ops[x.e] !== 'none');
    for (const x of real.length > 0 ? real : inputs.slice(0, 1)) {
      live[x.from] = true;
      computed.add(x.e);
    }
  }
  return computed;
}

/** The edge operations a sample's fixed network computes, each with where it runs. */
export function sampleEdgeOps(c: Pick<LatencyNetworkConfig, 'space' | 'channels' | 'cells' | 'resolution'>, sample: Sample): { op: string; position: LatencyPosition }[] {
  const occurrences = edgeOccurrences(c);
  if (c.space === 'nb201') {
    const ops = cellOps(sample);
    const computed = computedNb201Edges(ops);
    return occurrences.flatMap((occ, k) => {
      const e = k % NB201_EDGES.length;
      return computed.has(e) ? [{ op: ops[e]!, position: occ.position }] : [];
    });
  }
  const g = sampleToGenotype(sample);
  const byLabel = new Map<string, string[]>();
  for (const cell of ['normal', 'reduce'] as const) {
    g[cell].forEach(([op, from], k) => {
      const label = `${cell}_edge_${2 + (k >> 1)}_${from}`;
      byLabel.set(label, [...(byLabel.get(label) ?? []), op]);
    });
  }
  return occurrences.flatMap((occ) => (byLabel.get(occ.label) ?? []).map((op) => ({ op, position: occ.position })));
}

function predictLatencyParts(t: LatencyTable, sample: Sample): { forward: number; forwardBackward?: number } {
  const index = indexOf(t);
  let forward = 0;
  let forwardBackward = 0;
  const backward = t.measurement.backward;
  for (const { op, position } of sampleEdgeOps(t.network, sample)) {
    const e = index.get(op, position);
    forward += e.forward_ms;
    if (backward) forwardBackward += e.forward_backward_ms ?? 0;
  }
  return backward ? { forward, forwardBackward } : { forward };
}

/**
 * A sample's predicted latency in ms: the table's fixed part plus the
 * entries of the operations its network computes (forward, or forward +
 * backward when the table has it and `backward` is set).
 */
export function predictLatency(t: LatencyTable, sample: Sample, o: { backward?: boolean } = {}): number {
  const parts = predictLatencyParts(t, sample);
  if (o.backward) {
    if (parts.forwardBackward === undefined || t.fixed.forward_backward_ms === undefined) {
      throw new TsnasError('usage', 'the latency table has no forward+backward times: measure it with --backward', { where: 'latency table' });
    }
    return t.fixed.forward_backward_ms + parts.forwardBackward;
  }
  return t.fixed.forward_ms + parts.forward;
}

/**
 * Per-edge-label cost tables for hardware-aware DARTS: for each α label, the
 * sum over every cell that shares it of each candidate's entry there, so
 * Σ_label Σ_o p_o·T_label(o) is the expected latency of the edge operations.
 */
export function latencyCostTables(t: LatencyTable, o: { backward?: boolean } = {}): Record<string, Record<string, number>> {
  const index = indexOf(t);
  const out: Record<string, Record<string, number>> = {};
  for (const { label, position } of edgeOccurrences(t.network)) {
    const table = (out[label] ??= Object.fromEntries(latencyOps(t.network.space).map((op) => [op, 0])));
    for (const op of latencyOps(t.network.space)) {
      const e = index.get(op, position);
      const ms = o.backward ? e.forward_backward_ms : e.forward_ms;
      if (ms === undefined) throw new TsnasError('usage', 'the latency table has no forward+backward times: measure it with --backward', { where: 'latency table' });
      table[op]! += ms;
    }
  }
  return out;
}

/** An objective or constraint metric for multi-trial search: a sample's predicted latency (ms) from a table. */
export function latencyMetric(t: LatencyTable, o: { backward?: boolean } = {}): (sample: Sample) => number {
  return (sample) => predictLatency(t, sample, o);
}

export function saveLatencyTable(path: string, t: LatencyTable): void {
  try {
    writeFileSync(path, `${JSON.stringify(t, null, 1)}\n`);
  } catch (e) {
    throw new TsnasError('usage', `cannot write the latency table to ${path}: ${(e as Error).message}`, { where: '--out' });
  }
}

/** Reads and checks a latency table; errors name the file and the field. */
export function loadLatencyTable(path: string): LatencyTable {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new TsnasError('data', `cannot read the latency table ${path}: ${(e as Error).message}`, { where: path });
  }
  return checkLatencyTable(raw, path);
}

export function checkLatencyTable(raw: unknown, where = 'latency table'): LatencyTable {
  const fail = (field: string, expected: string, found: unknown): never => {
    throw new TsnasError('data', `${where}: ${field}: expected ${expected}, found ${JSON.stringify(found)}`, { where });
  };
  if (typeof raw !== 'object' || raw === null) return fail('(top level)', 'an object', raw);
  const t = raw as Partial<LatencyTable>;
  if (t.format !== 'tsnas-latency-table') fail('format', "'tsnas-latency-table'", t.format);
  if (t.version !== 1) fail('version', '1', t.version);
  const n = t.network;
  if (typeof n !== 'object' || n === null) return fail('network', 'an object', n);
  if (n.space !== 'nb201' && n.space !== 'darts') fail('network.space', 'nb201 or darts', n.space);
  for (const k of ['channels', 'cells', 'resolution', 'batch', 'inChannels', 'numClasses'] as const) {
    if (!Number.isInteger(n[k]) || n[k] < 1) fail(`network.${k}`, 'a positive integer', n[k]);
  }
  if (typeof t.fixed?.forward_ms !== 'number') fail('fixed.forward_ms', 'a number', t.fixed?.forward_ms);
  if (!Array.isArray(t.entries)) return fail('entries', 'an array', t.entries);
  t.entries.forEach((e, i) => {
    if (typeof e?.op !== 'string') fail(`entries[${i}].op`, 'a string', e?.op);
    for (const k of ['channels', 'resolution', 'stride'] as const) if (!Number.isInteger(e[k])) fail(`entries[${i}].${k}`, 'an integer', e[k]);
    if (typeof e.forward_ms !== 'number' || !(e.forward_ms >= 0)) fail(`entries[${i}].forward_ms`, 'a number >= 0', e.forward_ms);
  });
  if (typeof t.measurement?.backward !== 'boolean') fail('measurement.backward', 'a boolean', t.measurement?.backward);
  return t as LatencyTable;
}

export interface LatencyValidation {
  samples: number;
  spearman: number;
  kendallTau: number;
  /** Mean |predicted − measured| / measured. */
  meanRelativeError: number;
  cells: { arch: string; predicted_ms: number; measured_ms: number }[];
}

/**
 * Checks a table against the end-to-end latency of `n` uniformly sampled
 * fixed networks of its space, measured the same way (forward, median).
 */
export function validateLatencyTable(t: LatencyTable, n: number, rng: Rng, o: { warmup?: number; repeats?: number } = {}): LatencyValidation {
  if (!Number.isInteger(n) || n < 3) throw new TsnasError('usage', `expected at least 3 samples, got ${n}`, { where: '--validate' });
  const space = t.network.space === 'nb201' ? nb201Space() : dartsSpace();
  const cells: LatencyValidation['cells'] = [];
  const seen = new Set<string>();
  for (let tries = 0; cells.length < n && tries < 100 * n; tries++) {
    const s = space.sample(rng);
    const arch = space.format(s);
    if (seen.has(arch)) continue;
    seen.add(arch);
    const measured = measureNetworkLatency(t.network, s, { warmup: o.warmup ?? t.measurement.warmup, repeats: o.repeats ?? t.measurement.repeats }).forward;
    cells.push({ arch, predicted_ms: predictLatency(t, s), measured_ms: measured });
  }
  const p = cells.map((c) => c.predicted_ms);
  const m = cells.map((c) => c.measured_ms);
  return {
    samples: cells.length,
    spearman: spearman(p, m),
    kendallTau: kendallTau(p, m),
    meanRelativeError: cells.reduce((a, c) => a + Math.abs(c.predicted_ms - c.measured_ms) / c.measured_ms, 0) / cells.length,
    cells,
  };
}
