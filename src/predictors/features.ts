// What predictors read of a sample: encodings, token sequences, graphs.
import type { DefinedSpace } from '../spaces/space.js';
import type { EncodingKind, Sample, SearchSpace } from '../spaces/types.js';
import { TsnasError } from '../errors.js';

/** Rows of space.encode(s, kind), flattened row-major into one Float32Array. */
export function encodingMatrix(space: DefinedSpace, samples: readonly Sample[], kind: EncodingKind): { data: Float32Array; dim: number } {
  const dim = space.encodingLength(kind);
  const data = new Float32Array(samples.length * dim);
  samples.forEach((s, i) => data.set(space.encode(s, kind), i * dim));
  return { data, dim };
}

/**
 * Each dimension's chosen value as a token: token = 1 + (offset of the
 * dimension) + (index of the value); 0 marks an inactive dimension. So two
 * dimensions never share a token, and the sequence length is fixed.
 */
export function tokenizer(space: Pick<SearchSpace, 'dimensions'>): { vocabulary: number; length: number; offsets: readonly number[]; tokens(s: Sample): number[] } {
  const dims = space.dimensions();
  const offsets: number[] = [];
  let next = 1;
  for (const d of dims) {
    offsets.push(next);
    next += d.values.length;
  }
  return {
    vocabulary: next,
    length: dims.length,
    offsets,
    tokens: (s) => dims.map((d, k) => {
      if (!(d.label in s)) return 0;
      const i = d.values.indexOf(s[d.label]!);
      if (i < 0) throw new TsnasError('data', `value ${String(s[d.label])} of '${d.label}' is not one of its choices`);
      return offsets[k]! + i;
    }),
  };
}

/**
 * The cell graphs of a sample as one graph with operations on nodes: every
 * original node, plus one node per operation edge (from → op → to). Node
 * features: the role (input, intermediate, output, operation) and a one-hot
 * of the operation. Cells of several graphs are joined as disjoint parts.
 */
export interface NodeGraph {
  /** Node count. */
  nodes: number;
  /** nodes × features, row-major. */
  features: Float32Array;
  /** Directed edges [from, to]. */
  edges: [number, number][];
}

export function graphFeaturizer(space: DefinedSpace, example: Sample): { featureSize: number; graph(s: Sample): NodeGraph } {
  const vocabulary = [...new Set(space.graphs(example).flatMap((g) => g.ops))];
  if (vocabulary.length === 0) throw new TsnasError('usage', `space ${space.name} has no cell graphs for a graph predictor (use an encoding predictor)`);
  const roles = ['input', 'intermediate', 'output', 'operation'] as const;
  const featureSize = roles.length + vocabulary.length;
  return {
    featureSize,
    graph(s: Sample): NodeGraph {
      const rows: number[][] = [];
      const edges: [number, number][] = [];
      for (const g of space.graphs(s)) {
        const base = rows.length;
        for (const n of g.nodes) {
          const row = new Array<number>(featureSize).fill(0);
          row[roles.indexOf(n.role)] = 1;
          rows.push(row);
        }
        for (const e of g.edges) {
          if (e.op === undefined) {
            edges.push([base + e.from, base + e.to]);
            continue;
          }
          const row = new Array<number>(featureSize).fill(0);
          row[roles.indexOf('operation')] = 1;
          const k = vocabulary.indexOf(e.op);
          if (k < 0) throw new TsnasError('data', `operation '${e.op}' is not in the graph vocabulary ${vocabulary.join(', ')}`);
          row[roles.length + k] = 1;
          const id = rows.length;
          rows.push(row);
          edges.push([base + e.from, id], [id, base + e.to]);
        }
      }
      return { nodes: rows.length, features: Float32Array.from(rows.flat()), edges };
    },
  };
}
