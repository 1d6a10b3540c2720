// What predictors read of a sample: encodings, token sequences, graphs.
import type { DefinedSpace } from '../spaces/space.js';
import type { EncodingKind, Sample, SearchSpace } from '../spaces/types.js';
import { TsnasError } from '../errors.js';
import { cellPaths, type CellGraph } from '../spaces/graph.js';

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

/**
 * Named, fixed-length summaries of a sample's cell graphs, from the space
 * contract alone (CellGraph), so any space with graphs gets them. Per graph
 * (names prefixed with the graph's name), over the ops of the graph:
 *   count.OP: edges carrying OP;
 *   maxOnPath.OP: the most OP edges on one input-to-output path (e.g. the
 *     convolutions on the longest path);
 *   paths, longestPath, shortestPath: input-to-output paths and their op
 *     counts (0 when the output is cut off);
 *   depth.NODE: the longest op path from an input to each non-input node.
 * An op named 'none' is no edge (as in the adjacency encoding): it breaks
 * paths and is only counted.
 */
export function graphFeatureNames(space: Pick<DefinedSpace, 'graphs'>, example: Sample): string[] {
  return space.graphs(example).flatMap((g) => cellGraphFeatures(g).map(([name]) => `${g.name}.${name}`));
}

export function graphFeatures(space: Pick<DefinedSpace, 'graphs'>, s: Sample): number[] {
  return space.graphs(s).flatMap((g) => cellGraphFeatures(g).map(([, v]) => v));
}

function cellGraphFeatures(g: CellGraph): [string, number][] {
  const out: [string, number][] = [];
  for (const op of g.ops) out.push([`count.${op}`, g.edges.filter((e) => e.op === op).length]);
  const paths = cellPaths(g, ['none']);
  for (const op of g.ops) {
    if (op === 'none') continue;
    out.push([`maxOnPath.${op}`, Math.max(0, ...paths.map((p) => p.ops.filter((o) => o === op).length))]);
  }
  const lengths = paths.map((p) => p.ops.length);
  out.push(['paths', paths.length], ['longestPath', Math.max(0, ...lengths)], ['shortestPath', lengths.length > 0 ? Math.min(...lengths) : 0]);
  // Node ids are in topological order, so one forward pass gives each node's longest op path from an input (-1: unreachable).
  const depth = g.nodes.map((n): number => (n.role === 'input' ? 0 : -1));
  const edges = [...g.edges].filter((e) => e.op !== 'none').sort((a, b) => a.from - b.from);
  for (const e of edges) {
    if (depth[e.from]! < 0) continue;
    depth[e.to] = Math.max(depth[e.to]!, depth[e.from]! + (e.op === undefined ? 0 : 1));
  }
  for (const n of g.nodes) if (n.role !== 'input') out.push([`depth.${n.label}`, depth[n.id]!]);
  return out;
}

/**
 * Proxy scores as features: any proxy names (zero-cost scores, params,
 * flops...), read through a callback so that predictors stay below the
 * estimators that compute them. Scores span many orders of magnitude
 * (synflow ~1e20), so each becomes sign·log(1+|x|); missing or non-finite
 * scores become a value below every finite one.
 */
export interface ProxyFeatureSource {
  readonly names: readonly string[];
  scores(samples: readonly Sample[]): readonly Readonly<Record<string, number | undefined>>[];
}

export const MISSING_PROXY_FEATURE = -1e3;

export function proxyFeatureRows(source: ProxyFeatureSource, samples: readonly Sample[]): number[][] {
  const rows = source.scores(samples);
  if (rows.length !== samples.length) throw new TsnasError('data', `proxy scores: got ${rows.length} rows for ${samples.length} samples`);
  return rows.map((r) => source.names.map((name) => {
    const v = r[name];
    return v !== undefined && Number.isFinite(v) ? Math.sign(v) * Math.log1p(Math.abs(v)) : MISSING_PROXY_FEATURE;
  }));
}
