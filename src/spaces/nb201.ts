// NAS-Bench-201: one cell of 4 nodes, an op on each of the 6 edges j<-i.
// Its text form is the benchmark's own string, e.g.
// |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|
// The options `nodes` and `ops` size the cell (n nodes after the input give
// n(n+1)/2 edges) and choose its ops; the text form grows with the nodes.
import { TsnasError } from '../errors.js';
import type { CellGraph } from './graph.js';
import { defineSpace, type DefinedSpace } from './space.js';
import { tokenError } from './text.js';
import type { Sample } from './types.js';

export const NB201_OPS = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'] as const;
export type Nb201Op = (typeof NB201_OPS)[number];

/** The ops a cell's `ops` option may list: NAS-Bench-201's five and max pooling. */
export const NB201_CELL_OP_CATALOGUE = [...NB201_OPS, 'max_pool_3x3'] as const;

/** Edges as [to, from] of a cell with `nodes` nodes after the input, in NAS-Bench-201's order (by target, then source). */
export function cellEdges(nodes: number): [number, number][] {
  const edges: [number, number][] = [];
  for (let to = 1; to <= nodes; to++) for (let from = 0; from < to; from++) edges.push([to, from]);
  return edges;
}

/** The nodes after the input of a cell with this many edges (n(n+1)/2), or undefined when no cell has that many. */
export function cellNodesOfEdgeCount(edges: number): number | undefined {
  const n = Math.round((Math.sqrt(8 * edges + 1) - 1) / 2);
  return n >= 1 && (n * (n + 1)) / 2 === edges ? n : undefined;
}

/** Edges as [to, from] in NAS-Bench-201 order: 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2. */
export const NB201_EDGES: readonly (readonly [number, number])[] = cellEdges(3);

/** The op order NASLib/naszilla use for the path encoding (alphabetical). */
export const NB201_PATH_VOCABULARY = ['avg_pool_3x3', 'nor_conv_1x1', 'nor_conv_3x3', 'none', 'skip_connect'] as const;

export const nb201EdgeLabel = (to: number, from: number, prefix = '') => `${prefix}edge_${to}_${from}`;

/** The nb201 space's options: the cell's size and its op list (configs' space.options). */
export interface Nb201Config {
  /** Nodes after the input, each fed by every earlier node; the last is the cell's output (NAS-Bench-201: 3). */
  readonly nodes?: number;
  /** The ops an edge chooses from, in one-hot order (NAS-Bench-201: its five), from NB201_CELL_OP_CATALOGUE. */
  readonly ops?: readonly string[];
}

export const NB201_DEFAULT_CONFIG: Required<Nb201Config> = { nodes: 3, ops: NB201_OPS };

/** A cell's shape: its nodes after the input and the ops its edges choose from. */
type CellShape = Required<Nb201Config>;

/** The ops of a cell in edge order, given the labels' prefix (hierarchical reuses the cell). */
export function cellOps(s: Sample, prefix = '', nodes = 3): string[] {
  return cellEdges(nodes).map(([to, from]) => String(s[nb201EdgeLabel(to, from, prefix)]));
}

/** Formats a cell's ops (edge order; their count gives the nodes) as a NAS-Bench-201 string. */
export function formatNb201Ops(ops: readonly string[]): string {
  const nodes: string[] = [];
  let k = 0;
  for (let to = 1; k < ops.length; to++) {
    const parts: string[] = [];
    for (let from = 0; from < to; from++) parts.push(`${ops[k++]}~${from}`);
    nodes.push(`|${parts.join('|')}|`);
  }
  return nodes.join('+');
}

/** Parses a NAS-Bench-201 string into its ops (edge order); errors point at the bad token. `cell` gives the nodes and ops (default NAS-Bench-201's). */
export function parseNb201Ops(text: string, what = 'arch', cell: CellShape = NB201_DEFAULT_CONFIG): string[] {
  let pos = 0;
  const expect = (ch: string, expected: string) => {
    if (text[pos] !== ch) throw tokenError(text, pos, text[pos] ?? '', expected, what);
    pos++;
  };
  const readUntil = (stops: string) => {
    const start = pos;
    while (pos < text.length && !stops.includes(text[pos]!)) pos++;
    return { token: text.slice(start, pos), start };
  };
  const ops: string[] = [];
  for (let to = 1; to <= cell.nodes; to++) {
    if (to > 1) expect('+', `'+' before node ${to}`);
    expect('|', `'|' opening node ${to}`);
    for (let from = 0; from < to; from++) {
      const op = readUntil('~|+');
      if (!cell.ops.includes(op.token)) {
        throw tokenError(text, op.start, op.token, `an op for edge ${to}<-${from} (one of ${cell.ops.join(', ')})`, what);
      }
      expect('~', `'~' after op '${op.token}'`);
      const input = readUntil('|+~');
      if (input.token !== String(from)) {
        throw tokenError(text, input.start, input.token, `input ${from} (node ${to}'s inputs are listed as ~0..~${to - 1} in order)`, what);
      }
      expect('|', `'|' after '${op.token}~${from}'`);
      ops.push(op.token);
    }
  }
  if (pos !== text.length) throw tokenError(text, pos, text.slice(pos, pos + 12), `the end of the string after node ${cell.nodes}`, what);
  return ops;
}

/**
 * The edges a fixed cell computes: those into nodes the output depends on,
 * without `none` edges, except one zero edge into a node whose inputs are
 * all `none` (it gives the zeros' shape).
 */
export function computedCellEdges(ops: readonly string[]): Set<number> {
  const nodes = cellNodesOfEdgeCount(ops.length) ?? 0;
  const edges = cellEdges(nodes);
  const live = Array.from({ length: nodes + 1 }, (_, j) => j === nodes);
  const computed = new Set<number>();
  for (let j = nodes; j >= 1; j--) {
    if (!live[j]) continue;
    const inputs = edges.map(([to, from], e) => ({ to, from, e })).filter((x) => x.to === j);
    const real = inputs.filter((x) => ops[x.e] !== 'none');
    for (const x of real.length > 0 ? real : inputs.slice(0, 1)) {
      live[x.from] = true;
      computed.add(x.e);
    }
  }
  return computed;
}

/** The cell as a graph with every edge, 'none' included; `vocabulary` is every op an edge can carry. */
export function nb201CellGraph(ops: readonly string[], name = 'cell', vocabulary: readonly string[] = NB201_OPS): CellGraph {
  const nodes = cellNodesOfEdgeCount(ops.length) ?? 0;
  return {
    name,
    nodes: Array.from({ length: nodes + 1 }, (_, id) => ({ id, label: String(id), role: id === 0 ? 'input' : id === nodes ? 'output' : 'intermediate' })),
    edges: cellEdges(nodes).map(([to, from], k) => ({ from, to, op: ops[k]! })),
    ops: vocabulary,
  };
}

/** The cell's edge dimensions, grouped by target node (node-level crossover). */
export function nb201CellDimensions(prefix = '', group?: string, cell: CellShape = NB201_DEFAULT_CONFIG) {
  return cellEdges(cell.nodes).map(([to, from]) => ({
    label: nb201EdgeLabel(to, from, prefix),
    values: cell.ops,
    group: group ?? `node${to}`,
  }));
}

export interface Nb201Space extends DefinedSpace {
  /** The options it was built with, defaults filled in. */
  readonly config: Required<Nb201Config>;
  /** Edges as [to, from] in edge order. */
  readonly edges: readonly (readonly [number, number])[];
  /** Whether this is NAS-Bench-201's own cell (3 nodes, its 5 ops in its order): what its table covers. */
  readonly isBenchmarkCell: boolean;
  /** The ops in edge order (what the NB201 network takes). */
  opsOf(s: Sample): string[];
  /** The sample whose edges carry these ops (edge order). */
  fromOps(ops: readonly string[]): Sample;
}

/** The largest cell the option takes: 8 nodes make 36 edges, and their path encoding (paths of up to 8 ops) some 2 million features. */
const MAX_NODES = 8;

/** Checks the options, naming the bad field (space.options.nodes, space.options.ops). */
function cellConfig(options: Nb201Config = {}): Required<Nb201Config> {
  const where = (field: string) => ({ where: `space.options.${field}` });
  const nodes = options.nodes ?? NB201_DEFAULT_CONFIG.nodes;
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > MAX_NODES) {
    throw new TsnasError('config', `the cell's intermediate nodes must be an integer from 1 to ${MAX_NODES}, got ${JSON.stringify(nodes)}`, where('nodes'));
  }
  const ops = options.ops ?? NB201_DEFAULT_CONFIG.ops;
  if (!Array.isArray(ops) || ops.length === 0) {
    throw new TsnasError('config', `expected a non-empty list of ops from ${NB201_CELL_OP_CATALOGUE.join(', ')}, got ${JSON.stringify(ops)}`, where('ops'));
  }
  ops.forEach((op, i) => {
    if (!(NB201_CELL_OP_CATALOGUE as readonly unknown[]).includes(op)) {
      throw new TsnasError('config', `unknown op ${JSON.stringify(op)}, expected one of ${NB201_CELL_OP_CATALOGUE.join(', ')}`, where(`ops[${i}]`));
    }
    if (ops.indexOf(op) !== i) throw new TsnasError('config', `op '${op}' is listed twice (first at ops[${ops.indexOf(op)}])`, where(`ops[${i}]`));
  });
  // A cell whose every edge is zero has nothing to train (and a supernet edge of only zeros has no output).
  if (ops.every((op) => op === 'none')) throw new TsnasError('config', `needs an op other than 'none', got [${ops.join(', ')}]`, where('ops'));
  return { nodes, ops: [...ops] };
}

export function nb201Space(options?: Nb201Config): Nb201Space {
  const config = cellConfig(options);
  const { nodes, ops: vocabulary } = config;
  const edges = cellEdges(nodes);
  const isBenchmarkCell = nodes === NB201_DEFAULT_CONFIG.nodes && vocabulary.join() === NB201_OPS.join();
  const space = defineSpace({
    name: 'nb201',
    dimensions: nb201CellDimensions('', undefined, config),
    format: (s) => formatNb201Ops(cellOps(s, '', nodes)),
    parse: (text) => fromOps(parseNb201Ops(text.trim(), 'arch', config)),
    fromObject: (v) => (Array.isArray(v) ? fromOps(v.map(String)) : undefined),
    graphs: (s) => [nb201CellGraph(cellOps(s, '', nodes), 'cell', vocabulary)],
    // NASLib's op order for the benchmark's ops, then the others; the longest path goes through every node.
    pathEncoding: {
      vocabulary: [...NB201_PATH_VOCABULARY.filter((op) => vocabulary.includes(op)), ...vocabulary.filter((op) => !(NB201_PATH_VOCABULARY as readonly string[]).includes(op))],
      maxLength: nodes,
    },
    sizeFormula: `${vocabulary.length}^${edges.length} = ${BigInt(vocabulary.length) ** BigInt(edges.length)} (${vocabulary.length} ops on each of ${edges.length} edges)`,
  });
  function fromOps(ops: readonly string[]): Sample {
    const s: Record<string, string> = {};
    edges.forEach(([to, from], k) => (s[nb201EdgeLabel(to, from)] = ops[k]!));
    return s;
  }
  return {
    ...space,
    config,
    edges,
    isBenchmarkCell,
    opsOf: (s) => {
      space.validate(s);
      return cellOps(s, '', nodes);
    },
    fromOps: (ops) => space.fromJSON(fromOps(ops)),
  };
}
