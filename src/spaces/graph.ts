// A cell as a small DAG with operations on edges: the view that predictors
// (adjacency and path encodings) and pictures use. Node ids are 0..n-1 in
// topological order.
import { TsnasError } from '../errors.js';

export interface CellNode {
  readonly id: number;
  /** Shown in pictures, e.g. "c_{k-1}" or "1". */
  readonly label: string;
  readonly role: 'input' | 'intermediate' | 'output';
}

export interface CellEdge {
  readonly from: number;
  readonly to: number;
  /** The operation on the edge; undefined for structural edges (e.g. concatenation into the output). */
  readonly op?: string;
}

export interface CellGraph {
  /** e.g. "cell", "normal", "reduce". */
  readonly name: string;
  readonly nodes: readonly CellNode[];
  readonly edges: readonly CellEdge[];
  /** Every op an edge of this space can carry, in encoding order. */
  readonly ops: readonly string[];
}

/**
 * Adjacency plus operation matrices, flattened: first the n×n adjacency
 * (1 where an edge with an op other than 'none', or a structural edge,
 * joins i to j), then for every slot i<j a one-hot over `ops` of the op on
 * that edge (all zero when there is no edge).
 */
export function adjacencyEncoding(g: CellGraph): number[] {
  const n = g.nodes.length;
  const adjacency = new Array<number>(n * n).fill(0);
  const slots = (n * (n - 1)) / 2;
  const opsPart = new Array<number>(slots * g.ops.length).fill(0);
  const slotIndex = (i: number, j: number) => i * n - (i * (i + 1)) / 2 + (j - i - 1);
  for (const e of g.edges) {
    if (!(e.from < e.to && e.to < n)) throw new TsnasError('internal', `edge ${e.from}->${e.to} is not forward in cell ${g.name}`);
    if (e.op !== 'none') adjacency[e.from * n + e.to] = 1;
    if (e.op !== undefined) {
      const k = g.ops.indexOf(e.op);
      if (k < 0) throw new TsnasError('internal', `op '${e.op}' is not in the vocabulary of cell ${g.name}`);
      opsPart[slotIndex(e.from, e.to) * g.ops.length + k] = 1;
    }
  }
  return [...adjacency, ...opsPart];
}

export interface PathEncodingOptions {
  /** Op order for path indices; defaults to the cell's ops. */
  readonly vocabulary?: readonly string[];
  /** Longest op sequence; defaults to the number of intermediate nodes + 1. */
  readonly maxLength?: number;
  /** One block of features per input node (DARTS cells have two inputs). */
  readonly perInput?: boolean;
  /** Edges carrying these ops are removed before paths are traced. */
  readonly breakingOps?: readonly string[];
}

/** Every input-to-output path of a cell as its sequence of ops (structural edges add no op). */
export function cellPaths(g: CellGraph, breakingOps: readonly string[] = []): { input: number; ops: string[] }[] {
  const out: { input: number; ops: string[] }[] = [];
  const outgoing = new Map<number, CellEdge[]>();
  for (const e of g.edges) {
    if (e.op !== undefined && breakingOps.includes(e.op)) continue;
    outgoing.set(e.from, [...(outgoing.get(e.from) ?? []), e]);
  }
  const walk = (input: number, node: number, ops: string[]) => {
    if (g.nodes[node]!.role === 'output') {
      out.push({ input, ops });
      return;
    }
    for (const e of outgoing.get(node) ?? []) walk(input, e.to, e.op === undefined ? ops : [...ops, e.op]);
  };
  for (const n of g.nodes) if (n.role === 'input') walk(n.id, n.id, []);
  return out;
}

/**
 * BANANAS path encoding: one feature per possible op sequence of length
 * 1..L, set when some input-to-output path carries that sequence. The index
 * of a sequence (o_0..o_{l-1}) of length l is sum_{1<=m<l} V^m + sum_j idx(o_j)·V^j,
 * the layout NASLib/naszilla use for NAS-Bench-201 (where 'none' is an
 * ordinary op and does not break paths).
 */
export function pathEncoding(g: CellGraph, options: PathEncodingOptions = {}): number[] {
  const vocab = options.vocabulary ?? g.ops;
  const v = vocab.length;
  const maxLength = options.maxLength ?? g.nodes.filter((n) => n.role === 'intermediate').length + 1;
  let block = 0;
  for (let l = 1; l <= maxLength; l++) block += v ** l;
  const inputs = g.nodes.filter((n) => n.role === 'input').map((n) => n.id);
  const blocks = options.perInput ? inputs.length : 1;
  const out = new Array<number>(block * blocks).fill(0);
  for (const path of cellPaths(g, options.breakingOps)) {
    const l = path.ops.length;
    if (l === 0) continue;
    if (l > maxLength) throw new TsnasError('internal', `path of length ${l} exceeds the path encoding's maximum ${maxLength} in cell ${g.name}`);
    let index = 0;
    for (let m = 1; m < l; m++) index += v ** m;
    path.ops.forEach((op, j) => {
      const k = vocab.indexOf(op);
      if (k < 0) throw new TsnasError('internal', `op '${op}' is not in the path vocabulary of cell ${g.name}`);
      index += k * v ** j;
    });
    const b = options.perInput ? inputs.indexOf(path.input) : 0;
    out[b * block + index] = 1;
  }
  return out;
}

/** A sequence input -> step 1 -> ... -> output, one labelled edge per step (macro spaces' pictures). */
export function chainGraph(name: string, steps: readonly string[], nodeLabels?: readonly string[]): CellGraph {
  const n = steps.length;
  return {
    name,
    nodes: Array.from({ length: n + 1 }, (_, id) => ({
      id,
      label: nodeLabels?.[id] ?? (id === 0 ? 'input' : id === n ? 'output' : String(id)),
      role: id === 0 ? ('input' as const) : id === n ? ('output' as const) : ('intermediate' as const),
    })),
    edges: steps.map((op, k) => ({ from: k, to: k + 1, op })),
    ops: [...new Set(steps)],
  };
}
