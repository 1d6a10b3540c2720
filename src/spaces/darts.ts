// The DARTS cell space: a normal and a reduction cell, each with 4
// intermediate nodes; node j (numbered 2..5, after the inputs 0 and 1) takes
// two distinct predecessors, each through a non-'none' op. The pair is
// unordered, so a node has C(j,2)·7² choices and a cell 1·3·6·10·7^8.
//
// Labels: `${cell}_node${j}_inputs` = "a,b" with a<b, `${cell}_node${j}_op0`
// = the op on the edge from a, `${cell}_node${j}_op1` = the op from b.
import { TsnasError } from '../errors.js';
import type { CellGraph } from './graph.js';
import { defineSpace, type DefinedSpace } from './space.js';
import { tokenError } from './text.js';
import type { Sample } from './types.js';

export const DARTS_OPS = [
  'none',
  'max_pool_3x3',
  'avg_pool_3x3',
  'skip_connect',
  'sep_conv_3x3',
  'sep_conv_5x5',
  'dil_conv_3x3',
  'dil_conv_5x5',
] as const;
/** The ops a derived genotype can hold ('none' is never chosen). */
export const DARTS_EDGE_OPS = DARTS_OPS.filter((op) => op !== 'none');
export const DARTS_CELLS = ['normal', 'reduce'] as const;
export type DartsCellName = (typeof DARTS_CELLS)[number];
export const DARTS_NODES = 4;

export type GenotypeEdge = [op: string, from: number];
export interface Genotype {
  normal: GenotypeEdge[];
  normal_concat: number[];
  reduce: GenotypeEdge[];
  reduce_concat: number[];
  /** How the text showed the concatenations (parseGenotype sets it so formatting reproduces the text). */
  concatStyle?: 'range' | 'list';
}

/** DARTS V2 (second order) from the DARTS paper's genotypes.py. */
export const DARTS_V2_TEXT =
  "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])";

const label = (cell: string, node: number, part: 'inputs' | 'op0' | 'op1') => `${cell}_node${node}_${part}`;
const pairs = (k: number) => {
  const out: string[] = [];
  for (let a = 0; a < k; a++) for (let b = a + 1; b < k; b++) out.push(`${a},${b}`);
  return out;
};

function dartsDimensions() {
  return DARTS_CELLS.flatMap((cell) =>
    Array.from({ length: DARTS_NODES }, (_, i) => {
      const node = i + 2;
      return [
        { label: label(cell, node, 'inputs'), kind: 'input' as const, values: pairs(node), group: cell },
        { label: label(cell, node, 'op0'), values: DARTS_EDGE_OPS, group: cell },
        { label: label(cell, node, 'op1'), values: DARTS_EDGE_OPS, group: cell },
      ];
    }).flat(),
  );
}

/** The canonical genotype of a sample: per node, the lower input first; concat 2..5. */
export function sampleToGenotype(s: Sample): Genotype {
  const cellEdges = (cell: string): GenotypeEdge[] =>
    Array.from({ length: DARTS_NODES }, (_, i) => {
      const node = i + 2;
      const [a, b] = String(s[label(cell, node, 'inputs')]).split(',').map(Number) as [number, number];
      return [
        [String(s[label(cell, node, 'op0')]), a],
        [String(s[label(cell, node, 'op1')]), b],
      ] as GenotypeEdge[];
    }).flat();
  const concat = Array.from({ length: DARTS_NODES }, (_, i) => i + 2);
  return { normal: cellEdges('normal'), normal_concat: concat, reduce: cellEdges('reduce'), reduce_concat: [...concat] };
}

/** The sample of a genotype (edge order within a node does not matter); errors name the cell, node and edge. */
export function genotypeToSample(g: Genotype, what = 'genotype'): Sample {
  const s: Record<string, string> = {};
  for (const cell of DARTS_CELLS) {
    const edges = g[cell];
    if (!Array.isArray(edges) || edges.length !== 2 * DARTS_NODES) {
      throw new TsnasError('usage', `${cell} must list ${2 * DARTS_NODES} (op, input) edges, 2 per node, found ${Array.isArray(edges) ? edges.length : typeof edges}`, { where: what });
    }
    const concat = g[`${cell}_concat`];
    const expected = [2, 3, 4, 5];
    if (!Array.isArray(concat) || concat.length !== expected.length || concat.some((c, i) => c !== expected[i])) {
      throw new TsnasError('usage', `${cell}_concat must be range(2, 6) = [2, 3, 4, 5] (all intermediate nodes), found ${JSON.stringify(concat)}`, { where: what });
    }
    for (let i = 0; i < DARTS_NODES; i++) {
      const node = i + 2;
      const pair = [edges[2 * i]!, edges[2 * i + 1]!];
      for (const [k, e] of pair.entries()) {
        const at = `${cell} edge ${2 * i + k} (node ${node})`;
        if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || !Number.isInteger(e[1])) {
          throw new TsnasError('usage', `${at} must be (op, input), found ${JSON.stringify(e)}`, { where: what });
        }
        if (!(DARTS_EDGE_OPS as readonly string[]).includes(e[0])) {
          throw new TsnasError('usage', `${at} has op '${e[0]}', expected one of ${DARTS_EDGE_OPS.join(', ')}`, { where: what });
        }
        if (e[1] < 0 || e[1] >= node) throw new TsnasError('usage', `${at} has input ${e[1]}, expected 0..${node - 1}`, { where: what });
      }
      pair.sort((x, y) => x[1] - y[1]);
      if (pair[0]![1] === pair[1]![1]) {
        throw new TsnasError('usage', `${cell} node ${node} takes input ${pair[0]![1]} twice; its two inputs must be distinct`, { where: what });
      }
      s[label(cell, node, 'inputs')] = `${pair[0]![1]},${pair[1]![1]}`;
      s[label(cell, node, 'op0')] = pair[0]![0];
      s[label(cell, node, 'op1')] = pair[1]![0];
    }
  }
  return s;
}

const formatConcat = (c: readonly number[]) => {
  const contiguous = c.length > 0 && c.every((v, i) => v === c[0]! + i);
  return contiguous ? `range(${c[0]}, ${c[0]! + c.length})` : `[${c.join(', ')}]`;
};
const formatEdges = (edges: readonly GenotypeEdge[]) => `[${edges.map(([op, from]) => `('${op}', ${from})`).join(', ')}]`;

/** The DARTS text; concatenations that are a contiguous run print as range(a, b), as Python shows them. */
export function formatGenotype(g: Genotype, concatStyle: 'range' | 'list' = g.concatStyle ?? 'range'): string {
  const concat = (c: readonly number[]) => (concatStyle === 'list' ? `[${c.join(', ')}]` : formatConcat(c));
  return `Genotype(normal=${formatEdges(g.normal)}, normal_concat=${concat(g.normal_concat)}, reduce=${formatEdges(g.reduce)}, reduce_concat=${concat(g.reduce_concat)})`;
}

type Token = { kind: 'name' | 'string' | 'number' | 'punct' | 'end'; text: string; pos: number };

function tokenize(text: string, what: string): Token[] {
  const out: Token[] = [];
  let pos = 0;
  while (pos < text.length) {
    const ch = text[pos]!;
    if (/\s/.test(ch)) {
      pos++;
    } else if (/[A-Za-z_]/.test(ch)) {
      const start = pos;
      while (pos < text.length && /[A-Za-z0-9_.]/.test(text[pos]!)) pos++;
      out.push({ kind: 'name', text: text.slice(start, pos), pos: start });
    } else if (/[0-9-]/.test(ch)) {
      const start = pos;
      pos++;
      while (pos < text.length && /[0-9]/.test(text[pos]!)) pos++;
      out.push({ kind: 'number', text: text.slice(start, pos), pos: start });
    } else if (ch === "'" || ch === '"') {
      const start = pos;
      const close = text.indexOf(ch, pos + 1);
      if (close < 0) throw tokenError(text, start, text.slice(start, start + 16), `a closing ${ch}`, what);
      out.push({ kind: 'string', text: text.slice(pos + 1, close), pos: start });
      pos = close + 1;
    } else if ('()[],='.includes(ch)) {
      out.push({ kind: 'punct', text: ch, pos });
      pos++;
    } else {
      throw tokenError(text, pos, ch, "a name, number, quoted string or one of ( ) [ ] , =", what);
    }
  }
  out.push({ kind: 'end', text: '', pos: text.length });
  return out;
}

/** Parses the DARTS text `Genotype(normal=[('op', i), ...], normal_concat=range(2, 6), ...)` (or lists for the concats). */
export function parseGenotype(text: string, what = 'genotype'): Genotype {
  const tokens = tokenize(text, what);
  let i = 0;
  const peek = () => tokens[i]!;
  const fail = (expected: string): never => {
    const t = peek();
    const shown = t.kind === 'string' ? text.slice(t.pos, t.pos + t.text.length + 2) : t.text;
    throw tokenError(text, t.pos, shown, expected, what);
  };
  const punct = (p: string) => {
    if (peek().kind === 'punct' && peek().text === p) {
      i++;
      return true;
    }
    return false;
  };
  const need = (p: string, expected = `'${p}'`) => {
    if (!punct(p)) fail(expected);
  };
  const integer = (): number => {
    const t = peek();
    if (t.kind !== 'number') fail('an integer');
    i++;
    return Number(t.text);
  };
  const edgeList = (): GenotypeEdge[] => {
    need('[', "'[' opening the list of (op, input) edges");
    const edges: GenotypeEdge[] = [];
    while (!punct(']')) {
      if (edges.length > 0) need(',', "',' or ']'");
      if (punct(']')) break;
      need('(', "'(' opening an (op, input) edge");
      const op = peek();
      if (op.kind !== 'string') fail('a quoted op name');
      if (!(DARTS_OPS as readonly string[]).includes(op.text)) fail(`an op (one of ${DARTS_OPS.join(', ')})`);
      i++;
      need(',', "',' between op and input");
      const from = integer();
      punct(',');
      need(')', "')' closing the edge");
      edges.push([op.text, from]);
    }
    return edges;
  };
  const styles = new Set<'range' | 'list'>();
  const concat = (): number[] => {
    const t = peek();
    if (t.kind === 'name' && t.text === 'range') {
      styles.add('range');
      i++;
      need('(', "'(' after range");
      const a = integer();
      need(',', "',' in range(a, b)");
      const b = integer();
      need(')', "')' closing range(a, b)");
      if (b <= a) {
        i -= 2;
        fail(`an end above ${a}`);
      }
      return Array.from({ length: b - a }, (_, k) => a + k);
    }
    if (punct('[')) {
      styles.add('list');
      const out: number[] = [];
      while (!punct(']')) {
        if (out.length > 0) need(',', "',' or ']'");
        if (punct(']')) break;
        out.push(integer());
      }
      return out;
    }
    return fail('range(a, b) or a list of node numbers');
  };
  const head = peek();
  if (head.kind === 'name' && (head.text === 'Genotype' || head.text.endsWith('.Genotype'))) i++;
  else fail("'Genotype('");
  need('(', "'(' after Genotype");
  const fields: Partial<Genotype> = {};
  const names = ['normal', 'normal_concat', 'reduce', 'reduce_concat'] as const;
  while (!punct(')')) {
    if (Object.keys(fields).length > 0) need(',', "',' or ')'");
    if (punct(')')) break;
    const name = peek();
    if (name.kind !== 'name' || !(names as readonly string[]).includes(name.text)) fail(`a field name (${names.join(', ')})`);
    if (name.text in fields) fail(`a field not given before ('${name.text}' is repeated)`);
    i++;
    need('=', `'=' after ${name.text}`);
    if (name.text === 'normal' || name.text === 'reduce') fields[name.text] = edgeList();
    else fields[name.text as 'normal_concat' | 'reduce_concat'] = concat();
  }
  if (peek().kind !== 'end') fail('the end of the text after the closing )');
  for (const n of names) {
    if (fields[n] === undefined) throw tokenError(text, text.length, '', `the field ${n}`, what);
  }
  const genotype = fields as Genotype;
  if (styles.size === 1) genotype.concatStyle = [...styles][0]!;
  return genotype;
}

/** Reads a genotype object (JSON form); undefined if the value is not shaped like one. */
function genotypeFromObject(v: unknown): Genotype | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || !('normal' in v)) return undefined;
  const o = v as Record<string, unknown>;
  const concat = (c: unknown) => (c === undefined ? [2, 3, 4, 5] : (c as number[]));
  return {
    normal: o.normal as GenotypeEdge[],
    normal_concat: concat(o.normal_concat),
    reduce: o.reduce as GenotypeEdge[],
    reduce_concat: concat(o.reduce_concat),
  };
}

/** A DARTS cell as a graph: inputs c_{k-2}, c_{k-1}, nodes 0..3, output c_{k} concatenating them. */
export function dartsCellGraph(edges: readonly GenotypeEdge[], concat: readonly number[], name: string): CellGraph {
  const nodes = [
    { id: 0, label: 'c_{k-2}', role: 'input' as const },
    { id: 1, label: 'c_{k-1}', role: 'input' as const },
    ...Array.from({ length: DARTS_NODES }, (_, i) => ({ id: i + 2, label: String(i), role: 'intermediate' as const })),
    { id: DARTS_NODES + 2, label: 'c_{k}', role: 'output' as const },
  ];
  return {
    name,
    nodes,
    edges: [
      ...edges.map(([op, from], k) => ({ from, to: 2 + Math.floor(k / 2), op })),
      ...concat.map((c) => ({ from: c, to: DARTS_NODES + 2 })),
    ],
    ops: DARTS_EDGE_OPS,
  };
}

export interface DartsSpace extends DefinedSpace {
  genotypeOf(s: Sample): Genotype;
  fromGenotype(g: Genotype): Sample;
}

export function dartsSpace(): DartsSpace {
  const space = defineSpace({
    name: 'darts',
    dimensions: dartsDimensions(),
    format: (s) => formatGenotype(sampleToGenotype(s)),
    parse: (text) => genotypeToSample(parseGenotype(text, 'arch'), 'arch'),
    fromObject: (v) => {
      const g = genotypeFromObject(v);
      return g ? genotypeToSample(g, 'arch') : undefined;
    },
    graphs: (s) => {
      const g = sampleToGenotype(s);
      return [dartsCellGraph(g.normal, g.normal_concat, 'normal'), dartsCellGraph(g.reduce, g.reduce_concat, 'reduce')];
    },
    pathEncoding: { maxLength: DARTS_NODES, perInput: true },
    sizeFormula: `per cell: C(2,2)·C(3,2)·C(4,2)·C(5,2)·7^8 = 1·3·6·10·7^8 = 1037664180 (unordered pairs of distinct inputs, 7 non-none ops per edge); normal and reduction: (1·3·6·10·7^8)^2 = 1076746950455072400`,
  });
  return {
    ...space,
    genotypeOf: (s) => {
      space.validate(s);
      return sampleToGenotype(s);
    },
    fromGenotype: (g) => space.fromJSON(genotypeToSample(g)),
  };
}
