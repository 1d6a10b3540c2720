// Latency lookup tables measured on this runtime (libtorch through the
// addon, at the current thread count): the forward (and optionally
// forward + backward) time of every candidate operation of a space's edges
// at each (channels, resolution, stride) the network uses, plus a measured
// fixed part (stem, reductions, cell preprocessing, classifier). A sample's
// predicted latency is the fixed part plus the entries of its operations;
// hardware-aware DARTS reads per-edge cost tables from the same file.
//
// What is particular to a space (its edges, their candidate operations and
// where they run) is its LatencyEdges, which its kit (src/kits) carries; the
// functions here take a LatencyModel, those edges with the space and its
// fixed networks (latencyModel(name) in src/kits).
import { readFileSync } from 'node:fs';
import { TsnasError } from '../errors.js';
import { checkNetworkInput, type Module } from '../nn/module.js';
import { DARTS_OPS, DARTS_PRIMITIVES, nb201Op } from '../nn/ops.js';
import { DARTS_NODES, genotypeToSample, sampleToGenotype, type Genotype, type GenotypeEdge } from '../spaces/darts.js';
import { NB201_EDGES, NB201_OPS, cellOps, computedCellEdges, nb201EdgeLabel, nb201Space } from '../spaces/nb201.js';
import type { DefinedSpace } from '../spaces/space.js';
import type { Sample } from '../spaces/types.js';
import { getNumThreads, grad, noGrad, randn, tidy, type Tensor } from '../tensor/index.js';
import { writeFileAtomic } from '../util/files.js';
import { Rng } from '../util/random.js';
import { kendallTau, spearman } from '../util/stats.js';

/**
 * wall: elapsed time. cpu: this process's CPU time (user + system), which
 * leaves out the time other processes hold the cores: on a shared machine
 * with one libtorch thread it is the latency an idle machine would show.
 * With several threads CPU time adds theirs up, so use wall there.
 */
export type LatencyClock = 'wall' | 'cpu';

const clocks: Record<LatencyClock, () => number> = {
  wall: () => performance.now(),
  cpu: () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  },
};

/** The network a table describes: its ops' positions and its fixed part depend on all of these. */
export interface LatencyNetworkConfig {
  /** The space's name (its kit measured the table). */
  space: string;
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
  /** Where it was measured: libtorch in this process, or another runtime (e.g. onnxruntime-web in chromium). */
  runtime: { engine: string; threads: number };
  network: LatencyNetworkConfig;
  measurement: { warmup: number; repeats: number; backward: boolean; statistic: 'median'; clock: LatencyClock };
  /**
   * Everything outside the edge operations: the median over a few reference
   * networks (uniform cells) of their end-to-end time minus their operations' entries.
   */
  fixed: { forward_ms: number; forward_backward_ms?: number; references: string[] };
  entries: LatencyEntry[];
}

export interface MeasureLatencyOptions {
  /** Default 16. */
  channels?: number;
  /** Default: the space's (nb201 5, darts 8). */
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
  /** Default wall. */
  clock?: LatencyClock;
  /** Called with each entry once all are measured (they are timed interleaved). */
  onEntry?: (entry: LatencyEntry, done: number, total: number) => void;
}

export interface EdgeOccurrence {
  /** The supernet's α label of this edge (nb201: edge_j_i; darts: normal|reduce_edge_j_i). */
  label: string;
  position: LatencyPosition;
}

/** The shape of the network a table describes: where its edges run. */
export type LatencyShape = Pick<LatencyNetworkConfig, 'channels' | 'cells' | 'resolution'>;

/**
 * What a latency table measures of a space: the candidate operations of its
 * cell edges and where each edge runs. A space's kit (src/kits) gives it;
 * spaces without cell edges have none.
 */
export interface LatencyEdges {
  /** The candidate operations of every edge, in the supernet's order. */
  readonly ops: readonly string[];
  /** Cells of the measured network when none are asked for. */
  readonly defaultCells: number;
  /** Throws a usage error naming the flag when the network cannot be built (beyond positive integers). */
  check?(c: LatencyShape): void;
  /** Every edge of every cell of the network, with the α label it shares and where it runs. */
  occurrences(c: LatencyShape): EdgeOccurrence[];
  /** An edge operation as the fixed network builds it (affine BN, running statistics). */
  buildOp(op: string, p: LatencyPosition): Module;
  /** Reference networks for the fixed part: uniform cells of a free, a cheap and a costly operation, so one disturbed measurement does not set it. */
  referenceSamples(): Sample[];
  /** The edge operations a sample's fixed network computes, each with where it runs. */
  sampleEdgeOps(c: LatencyShape, s: Sample): { op: string; position: LatencyPosition }[];
}

/** A space's latency edges with the space and its fixed networks: what the functions below measure and predict with. */
export interface LatencyModel extends LatencyEdges {
  readonly space: DefinedSpace;
  /** The sample's fixed network with the table's configuration. */
  network(c: LatencyNetworkConfig, s: Sample): Module;
}

const positionKey = (op: string, p: LatencyPosition) => `${op}@${p.channels}x${p.resolution}/${p.stride}`;

/** Side of a map after a stride-2 reduction (3×3 ops, padding 1). */
const halved = (size: number) => Math.floor((size - 1) / 2) + 1;

function checkConfig(m: LatencyModel, c: LatencyNetworkConfig): void {
  for (const [name, v] of [['channels', c.channels], ['cells', c.cells], ['resolution', c.resolution], ['batch', c.batch]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new TsnasError('usage', `expected a positive integer, got ${v}`, { where: `--${name}` });
  }
  m.check?.(c);
  // A resolution the space's networks cannot take (odd sides where they halve) fails here, not in the middle of the timings.
  const net = m.network(c, m.space.sample(new Rng(0)));
  try {
    checkNetworkInput(net, [c.inChannels, c.resolution, c.resolution], '--resolution');
  } finally {
    net.dispose();
  }
}

/** A table belongs to one space: using it with another space's model is a data error. */
function requireSpace(m: LatencyModel, t: LatencyTable): void {
  if (t.network.space !== m.space.name) {
    throw new TsnasError('data', `the latency table was measured for space ${t.network.space}, not ${m.space.name}`, { where: 'latency table' });
  }
}

/** NAS-Bench-201: three stages at C, 2C, 4C and R, R/2, R/4, stride 1; the ops of networks/nb201.ts. */
export const NB201_LATENCY: LatencyEdges = {
  ops: NB201_OPS,
  defaultCells: 5,
  occurrences: nb201Occurrences,
  buildOp: (op, p) => nb201Op(op, p.channels, p.channels, p.stride, true, true),
  referenceSamples() {
    const nb = nb201Space();
    return ['skip_connect', 'avg_pool_3x3', 'nor_conv_1x1'].map((op) => nb.parse(`|${op}~0|+|${op}~0|${op}~1|+|${op}~0|${op}~1|${op}~2|`));
  },
  sampleEdgeOps(c, sample) {
    const ops = cellOps(sample);
    // The table times the benchmark cell's edges and ops; a cell the space's options reshape is not covered.
    if (Object.hasOwn(sample, nb201EdgeLabel(4, 0)) || ops.some((op) => !(NB201_OPS as readonly string[]).includes(op))) {
      throw new TsnasError('config', `latency tables cover NAS-Bench-201's own cell (3 nodes, ops ${NB201_OPS.join(', ')}), not this cell's edges (${JSON.stringify(sample)})`, { where: 'space.options' });
    }
    const computed = computedCellEdges(ops);
    return nb201Occurrences(c).flatMap((occ, k) => {
      const e = k % NB201_EDGES.length;
      return computed.has(e) ? [{ op: ops[e]!, position: occ.position }] : [];
    });
  },
};

/**
 * DARTS: reductions at cells/3 and 2·cells/3 double the width; their edges
 * from the two cell inputs have stride 2 and the others run at half the side.
 */
export const DARTS_LATENCY: LatencyEdges = {
  ops: DARTS_PRIMITIVES,
  defaultCells: 8,
  check(c) {
    if (c.channels % 2 !== 0) throw new TsnasError('usage', `the darts network halves C in its reductions: expected an even C, got ${c.channels}`, { where: '--channels' });
  },
  occurrences: dartsOccurrences,
  buildOp(op, p) {
    const factory = Object.hasOwn(DARTS_OPS, op) ? DARTS_OPS[op] : undefined;
    if (!factory) throw new TsnasError('usage', `unknown DARTS operation '${op}'`, { where: 'op' });
    return factory(p.channels, p.stride, true);
  },
  referenceSamples() {
    // Every node takes the two cell inputs through the same op.
    const concat = Array.from({ length: DARTS_NODES }, (_, i) => i + 2);
    return ['skip_connect', 'max_pool_3x3', 'sep_conv_3x3'].map((op) => {
      const edges = (): GenotypeEdge[] => Array.from({ length: DARTS_NODES }, (): GenotypeEdge[] => [[op, 0], [op, 1]]).flat();
      const g: Genotype = { normal: edges(), normal_concat: concat, reduce: edges(), reduce_concat: [...concat] };
      return genotypeToSample(g);
    });
  },
  sampleEdgeOps(c, sample) {
    const g = sampleToGenotype(sample);
    const byLabel = new Map<string, string[]>();
    for (const cell of ['normal', 'reduce'] as const) {
      g[cell].forEach(([op, from], k) => {
        const label = `${cell}_edge_${2 + (k >> 1)}_${from}`;
        byLabel.set(label, [...(byLabel.get(label) ?? []), op]);
      });
    }
    return dartsOccurrences(c).flatMap((occ) => (byLabel.get(occ.label) ?? []).map((op) => ({ op, position: occ.position })));
  },
};

function nb201Occurrences(c: LatencyShape): EdgeOccurrence[] {
  const out: EdgeOccurrence[] = [];
  let side = c.resolution;
  for (const width of [c.channels, 2 * c.channels, 4 * c.channels]) {
    for (let i = 0; i < c.cells; i++) {
      for (const [to, from] of NB201_EDGES) out.push({ label: nb201EdgeLabel(to, from), position: { channels: width, resolution: side, stride: 1 } });
    }
    side = halved(side);
  }
  return out;
}

function dartsOccurrences(c: LatencyShape): EdgeOccurrence[] {
  const out: EdgeOccurrence[] = [];
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

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * Median milliseconds of one call of each fn, after `warmup` untimed calls.
 * Each timed repeat runs a fn enough times to last about a millisecond, so
 * the timer's resolution does not dominate microsecond-scale operations.
 * The repeats of all fns are interleaved, round by round, so a burst of
 * load from other processes spreads over all of them instead of inflating one.
 */
export function timeCalls(fns: readonly (() => void)[], warmup: number, repeats: number, clock: LatencyClock = 'wall'): number[] {
  const now = clocks[clock];
  const inner = fns.map((fn) => {
    for (let i = 0; i < warmup; i++) fn();
    const t0 = now();
    fn();
    const once = now() - t0;
    return Math.max(1, Math.min(200, Math.ceil(1 / Math.max(once, 1e-3))));
  });
  const times = fns.map((): number[] => []);
  for (let r = 0; r < repeats; r++) {
    fns.forEach((fn, k) => {
      const start = now();
      for (let i = 0; i < inner[k]!; i++) fn();
      times[k]!.push((now() - start) / inner[k]!);
    });
  }
  return times.map(median);
}

/** Median milliseconds of one call of fn (see timeCalls). */
export function timeCall(fn: () => void, warmup: number, repeats: number, clock: LatencyClock = 'wall'): number {
  return timeCalls([fn], warmup, repeats, clock)[0]!;
}

export interface ModuleTiming {
  forward: number;
  forwardBackward?: number;
}

/**
 * Forward (no autograd, eval mode) and optionally forward + backward (train
 * mode, gradients of the input and weights) of modules on random inputs of
 * the given shapes, interleaved (timeCalls).
 */
export function timeModules(items: readonly { module: Module; inputShape: number[] }[], o: { warmup: number; repeats: number; backward: boolean; clock?: LatencyClock }): ModuleTiming[] {
  const xs = items.map((it) => randn(it.inputShape));
  try {
    for (const it of items) it.module.eval();
    const forward = timeCalls(items.map((it, k) => () => tidy(() => noGrad(() => void it.module.call(xs[k]!)))), o.warmup, o.repeats, o.clock);
    if (!o.backward) return forward.map((f) => ({ forward: f }));
    for (const it of items) it.module.train();
    const fns = items.map((it, k) => {
      const x = xs[k]!;
      x.requiresGrad = true;
      const inputs = [x, ...it.module.parameters()];
      return () => tidy(() => {
        const y = it.module.call(x) as Tensor;
        // A zero op's output may not depend on anything: nothing to differentiate.
        if (y.requiresGrad) grad(y.sum(), inputs, { allowUnused: true });
      });
    });
    const forwardBackward = timeCalls(fns, o.warmup, o.repeats, o.clock);
    return forward.map((f, k) => ({ forward: f, forwardBackward: forwardBackward[k]! }));
  } finally {
    for (const x of xs) x.dispose();
  }
}

/** timeModules for one module. */
export function timeModule(module: Module, inputShape: number[], o: { warmup: number; repeats: number; backward: boolean; clock?: LatencyClock }): ModuleTiming {
  return timeModules([{ module, inputShape }], o)[0]!;
}

/** Median end-to-end times of samples' fixed networks with the table's configuration, measured interleaved (timeModules). */
export function measureNetworksLatency(m: LatencyModel, c: LatencyNetworkConfig, samples: readonly Sample[], o: { warmup?: number; repeats?: number; backward?: boolean; clock?: LatencyClock } = {}): ModuleTiming[] {
  const nets: Module[] = [];
  try {
    for (const s of samples) nets.push(m.network(c, s));
    const shape = [c.batch, c.inChannels, c.resolution, c.resolution];
    return timeModules(nets.map((module) => ({ module, inputShape: shape })), { warmup: o.warmup ?? 5, repeats: o.repeats ?? 15, backward: o.backward ?? false, clock: o.clock ?? 'wall' });
  } finally {
    for (const n of nets) n.dispose();
  }
}

/** Median end-to-end time of a sample's fixed network with the table's configuration. */
export function measureNetworkLatency(m: LatencyModel, c: LatencyNetworkConfig, sample: Sample, o: { warmup?: number; repeats?: number; backward?: boolean; clock?: LatencyClock } = {}): ModuleTiming {
  return measureNetworksLatency(m, c, [sample], o)[0]!;
}

/** What a table measures: the network, how, the edge operations at their positions, and the reference networks. */
interface LatencyPlan {
  network: LatencyNetworkConfig;
  measurement: LatencyTable['measurement'];
  items: { op: string; position: LatencyPosition }[];
  references: Sample[];
}

function planLatencyTable(m: LatencyModel, o: MeasureLatencyOptions): LatencyPlan {
  const network: LatencyNetworkConfig = {
    space: m.space.name,
    channels: o.channels ?? 16,
    cells: o.cells ?? m.defaultCells,
    resolution: o.resolution ?? 32,
    batch: o.batch ?? 1,
    inChannels: o.inChannels ?? 3,
    numClasses: o.numClasses ?? 10,
  };
  checkConfig(m, network);
  const measurement = { warmup: o.warmup ?? 5, repeats: o.repeats ?? 15, backward: o.backward ?? false, statistic: 'median' as const, clock: o.clock ?? 'wall' };
  if (measurement.clock !== 'wall' && measurement.clock !== 'cpu') throw new TsnasError('usage', `expected wall or cpu, got '${String(measurement.clock)}'`, { where: '--clock' });
  const positions = new Map<string, LatencyPosition>();
  for (const { position } of m.occurrences(network)) positions.set(positionKey('', position), position);
  const items = [...positions.values()].flatMap((p) => m.ops.map((op) => ({ op, position: p })));
  return { network, measurement, items, references: m.referenceSamples() };
}

/** The plan's edge operations as modules with their input shapes; the caller disposes them. */
function planModules(m: LatencyModel, plan: LatencyPlan): { module: Module; inputShape: number[] }[] {
  return plan.items.map(({ op, position }) => ({ module: m.buildOp(op, position), inputShape: [plan.network.batch, position.channels, position.resolution, position.resolution] }));
}

/** The table from the operations' and the reference networks' timings: the fixed part is what the references take beyond their operations. */
function assembleLatencyTable(m: LatencyModel, plan: LatencyPlan, timings: readonly ModuleTiming[], wholes: readonly ModuleTiming[], runtime: LatencyTable['runtime'], o: MeasureLatencyOptions): LatencyTable {
  const entries: LatencyEntry[] = plan.items.map(({ op, position }, k) => {
    const t = timings[k]!;
    return { op, ...position, forward_ms: t.forward, ...(t.forwardBackward !== undefined ? { forward_backward_ms: t.forwardBackward } : {}) };
  });
  entries.forEach((e, k) => o.onEntry?.(e, k + 1, entries.length));
  const table: LatencyTable = {
    format: 'tsnas-latency-table',
    version: 1,
    runtime,
    network: plan.network,
    measurement: plan.measurement,
    fixed: { forward_ms: 0, references: [] },
    entries,
  };
  const residuals = plan.references.map((sample, k) => {
    const ops = predictLatencyParts(m, table, sample);
    const whole = wholes[k]!;
    return { forward: whole.forward - ops.forward, forwardBackward: whole.forwardBackward === undefined ? undefined : whole.forwardBackward - ops.forwardBackward! };
  });
  table.fixed = {
    forward_ms: Math.max(0, median(residuals.map((r) => r.forward))),
    ...(plan.measurement.backward ? { forward_backward_ms: Math.max(0, median(residuals.map((r) => r.forwardBackward!))) } : {}),
    references: plan.references.map((s) => m.space.format(s)),
  };
  return table;
}

/** Measures a latency table of the model's space on this runtime at the current thread count. */
export function measureLatencyTable(m: LatencyModel, o: MeasureLatencyOptions = {}): LatencyTable {
  const plan = planLatencyTable(m, o);
  const modules = planModules(m, plan);
  let timings: ModuleTiming[];
  try {
    timings = timeModules(modules, plan.measurement);
  } finally {
    for (const it of modules) it.module.dispose();
  }
  const wholes = measureNetworksLatency(m, plan.network, plan.references, plan.measurement);
  return assembleLatencyTable(m, plan, timings, wholes, { engine: 'libtorch', threads: getNumThreads() }, o);
}

/**
 * Another runtime than this process's libtorch that runs tsnas modules
 * (exported, for example, to ONNX in a browser) and times their forward pass.
 */
export interface LatencyRuntime {
  readonly engine: string;
  readonly threads: number;
  /** Median milliseconds of one forward call of each module (eval mode) on inputs of the given shapes, interleaved. */
  timeForward(items: readonly { module: Module; inputShape: number[] }[], o: { warmup: number; repeats: number }): Promise<number[]>;
}

async function timeNetworksOn(runtime: LatencyRuntime, m: LatencyModel, c: LatencyNetworkConfig, samples: readonly Sample[], o: { warmup: number; repeats: number }): Promise<number[]> {
  const nets: Module[] = [];
  try {
    for (const s of samples) nets.push(m.network(c, s));
    return await runtime.timeForward(nets.map((module) => ({ module, inputShape: [c.batch, c.inChannels, c.resolution, c.resolution] })), o);
  } finally {
    for (const n of nets) n.dispose();
  }
}

/** measureLatencyTable on another runtime (forward times only, wall clock). */
export async function measureLatencyTableOn(runtime: LatencyRuntime, m: LatencyModel, o: MeasureLatencyOptions = {}): Promise<LatencyTable> {
  if (o.backward) throw new TsnasError('usage', `${runtime.engine} times forward passes only`, { where: '--backward' });
  if (o.clock === 'cpu') throw new TsnasError('usage', `${runtime.engine} is timed by the wall clock`, { where: '--clock' });
  const plan = planLatencyTable(m, o);
  const modules = planModules(m, plan);
  let timings: number[];
  try {
    timings = await runtime.timeForward(modules, plan.measurement);
  } finally {
    for (const it of modules) it.module.dispose();
  }
  const wholes = await timeNetworksOn(runtime, m, plan.network, plan.references, plan.measurement);
  return assembleLatencyTable(m, plan, timings.map((forward) => ({ forward })), wholes.map((forward) => ({ forward })),
    { engine: runtime.engine, threads: runtime.threads }, o);
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

function predictLatencyParts(m: LatencyModel, t: LatencyTable, sample: Sample): { forward: number; forwardBackward?: number } {
  requireSpace(m, t);
  const index = indexOf(t);
  let forward = 0;
  let forwardBackward = 0;
  const backward = t.measurement.backward;
  for (const { op, position } of m.sampleEdgeOps(t.network, sample)) {
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
export function predictLatency(m: LatencyModel, t: LatencyTable, sample: Sample, o: { backward?: boolean } = {}): number {
  const parts = predictLatencyParts(m, t, sample);
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
export function latencyCostTables(m: LatencyModel, t: LatencyTable, o: { backward?: boolean } = {}): Record<string, Record<string, number>> {
  requireSpace(m, t);
  const index = indexOf(t);
  const out: Record<string, Record<string, number>> = {};
  for (const { label, position } of m.occurrences(t.network)) {
    const table = (out[label] ??= Object.fromEntries(m.ops.map((op) => [op, 0])));
    for (const op of m.ops) {
      const e = index.get(op, position);
      const ms = o.backward ? e.forward_backward_ms : e.forward_ms;
      if (ms === undefined) throw new TsnasError('usage', 'the latency table has no forward+backward times: measure it with --backward', { where: 'latency table' });
      table[op]! += ms;
    }
  }
  return out;
}

/** An objective or constraint metric for multi-trial search: a sample's predicted latency (ms) from a table. */
export function latencyMetric(m: LatencyModel, t: LatencyTable, o: { backward?: boolean } = {}): (sample: Sample) => number {
  requireSpace(m, t);
  return (sample) => predictLatency(m, t, sample, o);
}

/** Writes the table as JSON, atomically; errors name `where` (default: the path). */
export function saveLatencyTable(path: string, t: LatencyTable, where = path): void {
  writeFileAtomic(path, `${JSON.stringify(t, null, 1)}\n`, where);
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
  if (typeof n.space !== 'string' || n.space === '') fail('network.space', 'a space name', n.space);
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
  const clock = t.measurement?.clock;
  if (clock !== 'wall' && clock !== 'cpu') fail('measurement.clock', 'wall or cpu', clock);
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

/** n distinct uniformly sampled architectures (fewer if the space has fewer). */
function validationSamples(model: LatencyModel, n: number, rng: Rng): Sample[] {
  if (!Number.isInteger(n) || n < 3) throw new TsnasError('usage', `expected at least 3 samples, got ${n}`, { where: '--validate' });
  const samples: Sample[] = [];
  const seen = new Set<string>();
  for (let tries = 0; samples.length < n && tries < 100 * n; tries++) {
    const s = model.space.sample(rng);
    const arch = model.space.format(s);
    if (seen.has(arch)) continue;
    seen.add(arch);
    samples.push(s);
  }
  return samples;
}

function compareLatency(model: LatencyModel, t: LatencyTable, samples: readonly Sample[], measuredMs: readonly number[]): LatencyValidation {
  const cells = samples.map((s, k) => ({ arch: model.space.format(s), predicted_ms: predictLatency(model, t, s), measured_ms: measuredMs[k]! }));
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

/**
 * Checks a table against the end-to-end latency of `n` uniformly sampled
 * fixed networks of its space, measured the same way (forward, median, the table's clock).
 */
export function validateLatencyTable(model: LatencyModel, t: LatencyTable, n: number, rng: Rng, o: { warmup?: number; repeats?: number } = {}): LatencyValidation {
  requireSpace(model, t);
  const samples = validationSamples(model, n, rng);
  const measured = measureNetworksLatency(model, t.network, samples, { warmup: o.warmup ?? t.measurement.warmup, repeats: o.repeats ?? t.measurement.repeats, clock: t.measurement.clock });
  return compareLatency(model, t, samples, measured.map((x) => x.forward));
}

/** validateLatencyTable with the networks timed on another runtime (the one the table was measured on). */
export async function validateLatencyTableOn(runtime: LatencyRuntime, model: LatencyModel, t: LatencyTable, n: number, rng: Rng, o: { warmup?: number; repeats?: number } = {}): Promise<LatencyValidation> {
  requireSpace(model, t);
  const samples = validationSamples(model, n, rng);
  const measured = await timeNetworksOn(runtime, model, t.network, samples, { warmup: o.warmup ?? t.measurement.warmup, repeats: o.repeats ?? t.measurement.repeats });
  return compareLatency(model, t, samples, measured);
}
