// NAS-Bench-201: one cell of 4 nodes, an op on each of the 6 edges j<-i.
// Its text form is the benchmark's own string, e.g.
// |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|
import type { CellGraph } from './graph.js';
import { defineSpace, type DefinedSpace } from './space.js';
import { tokenError } from './text.js';
import type { Sample } from './types.js';

export const NB201_OPS = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'] as const;
export type Nb201Op = (typeof NB201_OPS)[number];

/** Edges as [to, from] in NAS-Bench-201 order: 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2. */
export const NB201_EDGES: readonly (readonly [number, number])[] = [
  [1, 0],
  [2, 0],
  [2, 1],
  [3, 0],
  [3, 1],
  [3, 2],
];

/** The op order NASLib/naszilla use for the path encoding (alphabetical). */
export const NB201_PATH_VOCABULARY = ['avg_pool_3x3', 'nor_conv_1x1', 'nor_conv_3x3', 'none', 'skip_connect'] as const;

export const nb201EdgeLabel = (to: number, from: number, prefix = '') => `${prefix}edge_${to}_${from}`;

/** The 6 ops of a cell in edge order, given the labels' prefix (hierarchical reuses the cell). */
export function cellOps(s: Sample, prefix = ''): string[] {
  return NB201_EDGES.map(([to, from]) => String(s[nb201EdgeLabel(to, from, prefix)]));
}

/** Formats 6 ops (edge order) as a NAS-Bench-201 string. */
export function formatNb201Ops(ops: readonly string[]): string {
  const nodes: string[] = [];
  let k = 0;
  for (let to = 1; to <= 3; to++) {
    const parts: string[] = [];
    for (let from = 0; from < to; from++) parts.push(`${ops[k++]}~${from}`);
    nodes.push(`|${parts.join('|')}|`);
  }
  return nodes.join('+');
}

/** Parses a NAS-Bench-201 string into its 6 ops (edge order); errors point at the bad token. */
export function parseNb201Ops(text: string, what = 'arch'): string[] {
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
  for (let to = 1; to <= 3; to++) {
    if (to > 1) expect('+', `'+' before node ${to}`);
    expect('|', `'|' opening node ${to}`);
    for (let from = 0; from < to; from++) {
      const op = readUntil('~|+');
      if (!(NB201_OPS as readonly string[]).includes(op.token)) {
        throw tokenError(text, op.start, op.token, `an op for edge ${to}<-${from} (one of ${NB201_OPS.join(', ')})`, what);
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
  if (pos !== text.length) throw tokenError(text, pos, text.slice(pos, pos + 12), 'the end of the string after node 3', what);
  return ops;
}

/** The cell as a graph with every edge, 'none' included. */
export function nb201CellGraph(ops: readonly string[], name = 'cell'): CellGraph {
  return {
    name,
    nodes: [0, 1, 2, 3].map((id) => ({ id, label: String(id), role: id === 0 ? 'input' : id === 3 ? 'output' : 'intermediate' })),
    edges: NB201_EDGES.map(([to, from], k) => ({ from, to, op: ops[k]! })),
    ops: NB201_OPS,
  };
}

/** The cell's six edge dimensions, grouped by target node (node-level crossover). */
export function nb201CellDimensions(prefix = '', group?: string) {
  return NB201_EDGES.map(([to, from]) => ({
    label: nb201EdgeLabel(to, from, prefix),
    values: NB201_OPS,
    group: group ?? `node${to}`,
  }));
}

export interface Nb201Space extends DefinedSpace {
  /** The 6 ops in NAS-Bench-201 edge order (what the NB201 network takes). */
  opsOf(s: Sample): string[];
  /** The sample whose edges carry these 6 ops (edge order). */
  fromOps(ops: readonly string[]): Sample;
}

export function nb201Space(): Nb201Space {
  const space = defineSpace({
    name: 'nb201',
    dimensions: nb201CellDimensions(),
    format: (s) => formatNb201Ops(cellOps(s)),
    parse: (text) => fromOps(parseNb201Ops(text.trim())),
    fromObject: (v) => (Array.isArray(v) ? fromOps(v.map(String)) : undefined),
    graphs: (s) => [nb201CellGraph(cellOps(s))],
    pathEncoding: { vocabulary: NB201_PATH_VOCABULARY, maxLength: 3 },
    sizeFormula: '5^6 = 15625 (5 ops on each of 6 edges)',
  });
  function fromOps(ops: readonly string[]): Sample {
    const s: Record<string, string> = {};
    NB201_EDGES.forEach(([to, from], k) => (s[nb201EdgeLabel(to, from)] = ops[k]!));
    return s;
  }
  return {
    ...space,
    opsOf: (s) => {
      space.validate(s);
      return cellOps(s);
    },
    fromOps: (ops) => space.fromJSON(fromOps(ops)),
  };
}
