// The generic space builder. A space is declared once as labelled
// dimensions (with optional conditions and cell groups); everything a
// strategy needs — size, validation, sampling, mutation, crossover,
// neighbourhoods, hashing, encodings — is derived here, never per space.
import { createHash } from 'node:crypto';
import { TsnasError } from '../errors.js';
import type { Rng } from '../util/random.js';
import { adjacencyEncoding, pathEncoding, type CellGraph, type PathEncodingOptions } from './graph.js';
import type { CrossoverKind, Dimension, EncodingKind, Sample, SearchSpace, Value } from './types.js';

/** When a dimension exists: a test over earlier dimensions, naming the labels it reads. */
export interface Condition {
  readonly dependsOn: readonly string[];
  readonly test: (sample: Sample) => boolean;
  /** For people, e.g. "depth > 3". */
  readonly describe: string;
}

/** A condition reading one earlier label. */
export function when(label: string, test: (value: Value) => boolean, describe = `${label} holds`): Condition {
  return {
    dependsOn: [label],
    test: (s) => s[label] !== undefined && test(s[label]!),
    describe,
  };
}

/** "label > n": the usual form for "layer i exists only when depth > i". */
export function whenGreater(label: string, n: number): Condition {
  return when(label, (v) => Number(v) > n, `${label} > ${n}`);
}

export interface DimensionSpec {
  readonly label: string;
  /** Defaults to 'categorical'. */
  readonly kind?: Dimension['kind'];
  readonly values: readonly Value[];
  readonly when?: Condition;
  readonly group?: string;
}

/** Integers lo..hi (inclusive) as a value list. */
export function range(lo: number, hi: number, step = 1): number[] {
  const out: number[] = [];
  for (let v = lo; v <= hi; v += step) out.push(v);
  return out;
}

export interface SpaceDefinition {
  readonly name: string;
  readonly dimensions: readonly DimensionSpec[];
  /** The space's own text form; defaults to canonical JSON. */
  readonly format?: (s: Sample) => string;
  /** Parses the text form; must throw TsnasError('usage') naming the bad token. Defaults to JSON. */
  readonly parse?: (text: string) => Sample;
  /** Cell graphs of a sample (ops on edges): used for adjacency/path encodings and drawing. */
  readonly graphs?: (s: Sample) => CellGraph[];
  /** Graphs for pictures only, when they differ from `graphs` (e.g. a chain of layers); defaults to `graphs`. */
  readonly drawing?: (s: Sample) => CellGraph[];
  /** Options for the graph-derived path encoding (vocabulary order, maximum length...). */
  readonly pathEncoding?: PathEncodingOptions;
  /** Space-specific encoders override the graph-derived ones. */
  readonly encoders?: Partial<Record<EncodingKind, (s: Sample) => number[]>>;
  /** Reads a space-specific JSON form (e.g. a DARTS genotype object); undefined means "not that form". */
  readonly fromObject?: (value: unknown) => Sample | undefined;
  /** A nicer formula than the generated one (must describe the same number; " = size" is appended if absent). */
  readonly sizeFormula?: string;
}

/** What every defined space offers beyond the SearchSpace contract. */
export interface DefinedSpace extends SearchSpace {
  readonly definition: SpaceDefinition;
  /** The dimension with this label (throws a usage error naming it if unknown). */
  dimension(label: string): Dimension;
  /** Dimensions active in s, in order. */
  activeDimensions(s: Sample): Dimension[];
  /** Labels that some condition reads (depth and the like). */
  readonly structuralLabels: readonly string[];
  /** A sample drawn uniformly from the set of all samples (sample() draws each dimension uniformly instead). */
  sampleUniform(rng: Rng): Sample;
  /** Neighbours; dimensions that become active take their first value, or a random one when rng is given. */
  neighbours(s: Sample, rng?: Rng): Sample[];
  /** Checks an unknown value (e.g. parsed JSON) and returns it as a sample with keys in dimension order. */
  fromJSON(value: unknown, where?: string): Sample;
  /** Accepts either the space's text form or a JSON object. */
  parseArch(text: string): Sample;
  /** Cell graphs for drawing and encodings ([] when the space has no graph view). */
  graphs(s: Sample): CellGraph[];
  /** Graphs to draw: the drawing view if the space has one, else its cell graphs. */
  drawingGraphs(s: Sample): CellGraph[];
  /** Lengths of encode(s, kind) for every sample. */
  encodingLength(kind: EncodingKind): number;
}

/** A defined space with its configuration and a structured view of its samples (stages, layers...). */
export interface ArchSpace<Config, Arch> extends DefinedSpace {
  readonly config: Config;
  /** The sample's structure (the sample is validated first). */
  archOf(s: Sample): Arch;
  /** The sample of a structure, checked as any JSON sample. */
  fromArch(a: Arch): Sample;
}

/** space with archOf / fromArch from the unchecked conversions to and from its raw JSON form. */
export function withArchView<Config, Arch>(space: DefinedSpace, config: Config, archOf: (s: Sample) => Arch, rawFromArch: (a: Arch) => unknown): ArchSpace<Config, Arch> {
  return {
    ...space,
    config,
    archOf: (s) => {
      space.validate(s);
      return archOf(s);
    },
    fromArch: (a) => space.fromJSON(rawFromArch(a)),
  };
}

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TsnasError('internal', `cannot hash non-finite number ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** How two samples differ: values changed among shared labels, labels only in b, labels only in a. */
export function diffSamples(a: Sample, b: Sample): { changed: string[]; added: string[]; removed: string[] } {
  const changed: string[] = [];
  const added: string[] = [];
  const removed: string[] = [];
  for (const k of Object.keys(a)) {
    if (!(k in b)) removed.push(k);
    else if (a[k] !== b[k]) changed.push(k);
  }
  for (const k of Object.keys(b)) if (!(k in a)) added.push(k);
  return { changed, added, removed };
}

const showValue = (v: unknown) => (typeof v === 'string' ? `'${v}'` : String(v));
const showValues = (vs: readonly Value[]) =>
  vs.length <= 12 ? vs.map(showValue).join(', ') : `${vs.slice(0, 10).map(showValue).join(', ')}, … (${vs.length} values)`;

/** A uniformly random BigInt in [0, n). */
function randomBigBelow(rng: Rng, n: bigint): bigint {
  if (n <= 0n) throw new RangeError('randomBigBelow needs n > 0');
  const bits = n.toString(2).length;
  const words = Math.ceil(bits / 32);
  const mask = (1n << BigInt(bits)) - 1n;
  for (;;) {
    let r = 0n;
    for (let i = 0; i < words; i++) r = (r << 32n) | BigInt(rng.nextUint32());
    r &= mask;
    if (r < n) return r;
  }
}

/** Groups equal factors: [5,5,5,2] -> "5^3 · 2". */
function productFormula(sizes: number[]): string {
  if (sizes.length === 0) return '1';
  const parts: string[] = [];
  let i = 0;
  while (i < sizes.length) {
    let j = i;
    while (j < sizes.length && sizes[j] === sizes[i]) j++;
    parts.push(j - i > 1 ? `${sizes[i]}^${j - i}` : `${sizes[i]}`);
    i = j;
  }
  return parts.join(' · ');
}

interface StructuralAssignment {
  readonly values: Record<string, Value>;
  /** Number of samples with exactly these structural values. */
  readonly count: bigint;
}

const MAX_STRUCTURAL_ASSIGNMENTS = 200_000;

export function defineSpace(def: SpaceDefinition): DefinedSpace {
  if (def.format && !def.parse) {
    throw new TsnasError('config', 'a space with its own format needs its own parse too (parse(format(s)) must give s back)', { where: `space ${def.name}` });
  }
  const dims: Dimension[] = [];
  const byLabel = new Map<string, Dimension>();
  const index = new Map<string, number>();
  const groupOf = new Map<string, string>();
  for (const [i, spec] of def.dimensions.entries()) {
    const where = `space ${def.name}, dimension ${spec.label}`;
    if (!spec.label) throw new TsnasError('config', 'every dimension needs a non-empty label', { where: `space ${def.name}` });
    if (byLabel.has(spec.label)) throw new TsnasError('config', `label '${spec.label}' is declared twice`, { where });
    if (spec.values.length === 0) throw new TsnasError('config', 'a dimension needs at least one value', { where });
    if (new Set(spec.values).size !== spec.values.length) throw new TsnasError('config', 'values must be distinct', { where });
    for (const v of spec.values) {
      if (typeof v === 'number' && !Number.isFinite(v)) throw new TsnasError('config', `value ${v} is not finite`, { where });
      if (typeof v !== 'number' && typeof v !== 'string') throw new TsnasError('config', `value ${String(v)} is not a string or number`, { where });
    }
    if (spec.when) {
      for (const dep of spec.when.dependsOn) {
        if (!byLabel.has(dep)) {
          throw new TsnasError('config', `condition reads '${dep}', which must be a dimension declared earlier`, { where });
        }
      }
    }
    const dim: Dimension = {
      label: spec.label,
      kind: spec.kind ?? 'categorical',
      values: Object.freeze([...spec.values]),
      ...(spec.when ? { condition: spec.when.test, dependsOn: Object.freeze([...spec.when.dependsOn]) } : {}),
      ...(spec.group !== undefined ? { group: spec.group } : {}),
    };
    dims.push(Object.freeze(dim));
    byLabel.set(spec.label, dim);
    index.set(spec.label, i);
    groupOf.set(spec.label, spec.group ?? '');
  }
  const conditionText = new Map(def.dimensions.filter((d) => d.when).map((d) => [d.label, d.when!.describe]));
  const structural = new Set(dims.flatMap((d) => d.dependsOn ?? []));
  const structuralDims = dims.filter((d) => structural.has(d.label));
  const leafDims = dims.filter((d) => !structural.has(d.label));

  const isActive = (d: Dimension, partial: Sample) => !d.condition || d.condition(partial);

  // Every assignment of the structural dimensions (depths and the like), with
  // how many samples share it: the exact size is their sum, and drawing an
  // assignment by its count gives uniform sampling over the whole space.
  let assignments: StructuralAssignment[] | undefined;
  const structuralAssignments = (): StructuralAssignment[] => {
    if (assignments) return assignments;
    const out: StructuralAssignment[] = [];
    const current: Record<string, Value> = {};
    const visit = (k: number) => {
      if (k === structuralDims.length) {
        let count = 1n;
        for (const d of leafDims) if (isActive(d, current)) count *= BigInt(d.values.length);
        out.push({ values: { ...current }, count });
        if (out.length > MAX_STRUCTURAL_ASSIGNMENTS) {
          throw new TsnasError('config', `more than ${MAX_STRUCTURAL_ASSIGNMENTS} combinations of structural dimensions; cannot count the size`, {
            where: `space ${def.name}`,
          });
        }
        return;
      }
      const d = structuralDims[k]!;
      if (!isActive(d, current)) {
        visit(k + 1);
        return;
      }
      for (const v of d.values) {
        current[d.label] = v;
        visit(k + 1);
      }
      delete current[d.label];
    };
    visit(0);
    assignments = out;
    return out;
  };

  let sizeCache: bigint | undefined;
  const size = (): bigint => {
    if (sizeCache === undefined) sizeCache = structuralAssignments().reduce((acc, a) => acc + a.count, 0n);
    return sizeCache;
  };

  const generatedFormula = (): string => {
    if (structuralDims.length === 0) return `${productFormula(dims.map((d) => d.values.length))} = ${size()}`;
    const terms = structuralAssignments().map((a) => {
      const sizes = leafDims.filter((d) => isActive(d, a.values)).map((d) => d.values.length);
      return productFormula(sizes);
    });
    const over = structuralDims.map((d) => d.label).join(', ');
    const shown = terms.length <= 8 ? terms.join(' + ') : `${terms.slice(0, 4).join(' + ')} + … (${terms.length} terms)`;
    return `sum over ${over} of the product of the active choices: ${shown} = ${size()}`;
  };

  /** Rebuilds a sample in dimension order: keeps values from `pick`, fills newly active dims with `fill`. */
  const assemble = (pick: (d: Dimension, partial: Sample) => Value | undefined, fill: (d: Dimension) => Value): Sample => {
    const out: Record<string, Value> = {};
    for (const d of dims) {
      if (!isActive(d, out)) continue;
      const v = pick(d, out);
      out[d.label] = v !== undefined ? v : fill(d);
    }
    return out;
  };

  const dimension = (label: string): Dimension => {
    const d = byLabel.get(label);
    if (!d) throw new TsnasError('usage', `space ${def.name} has no dimension '${label}' (it has ${dims.length}: ${dims.slice(0, 8).map((x) => x.label).join(', ')}${dims.length > 8 ? ', …' : ''})`);
    return d;
  };

  const validate = (s: Sample): void => {
    const where = `space ${def.name}`;
    if (s === null || typeof s !== 'object' || Array.isArray(s)) {
      throw new TsnasError('usage', `a sample must be an object of label -> value, found ${Array.isArray(s) ? 'an array' : typeof s}`, { where });
    }
    for (const k of Object.keys(s)) {
      if (!byLabel.has(k)) throw new TsnasError('usage', `unknown label '${k}'`, { where });
    }
    for (const d of dims) {
      const active = isActive(d, s);
      const v = s[d.label];
      if (!active) {
        if (v !== undefined) {
          throw new TsnasError('usage', `label '${d.label}' is present but inactive (it exists only when ${conditionText.get(d.label) ?? 'its condition holds'})`, { where });
        }
        continue;
      }
      if (v === undefined) throw new TsnasError('usage', `label '${d.label}' is missing (expected one of ${showValues(d.values)})`, { where });
      if (!d.values.includes(v)) {
        throw new TsnasError('usage', `label '${d.label}' has value ${showValue(v)}, expected one of ${showValues(d.values)}`, { where });
      }
    }
  };

  const fromJSON = (value: unknown, where = 'arch'): Sample => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new TsnasError('usage', `expected a JSON object of label -> value for space ${def.name}`, { where });
    }
    const raw = value as Record<string, unknown>;
    for (const [k, v] of Object.entries(raw)) {
      if (typeof v !== 'string' && typeof v !== 'number') {
        throw new TsnasError('usage', `label '${k}' must be a string or number, found ${v === null ? 'null' : typeof v}`, { where });
      }
    }
    validate(raw as Sample);
    return assemble((d) => raw[d.label] as Value, () => {
      throw new TsnasError('internal', 'validated sample lacks an active label');
    });
  };

  const sample = (rng: Rng): Sample => assemble(() => undefined, (d) => rng.choice(d.values));

  const sampleUniform = (rng: Rng): Sample => {
    const list = structuralAssignments();
    let r = randomBigBelow(rng, size());
    let chosen = list[list.length - 1]!;
    for (const a of list) {
      if (r < a.count) {
        chosen = a;
        break;
      }
      r -= a.count;
    }
    return assemble((d) => chosen.values[d.label], (d) => rng.choice(d.values));
  };

  const mutable = (s: Sample) => dims.filter((d) => d.values.length > 1 && s[d.label] !== undefined);

  const withChange = (s: Sample, label: string, value: Value, fill: (d: Dimension) => Value): Sample =>
    assemble((d) => (d.label === label ? value : s[d.label]), fill);

  const mutate = (s: Sample, rng: Rng): Sample => {
    validate(s);
    const candidates = mutable(s);
    if (candidates.length === 0) throw new TsnasError('usage', `space ${def.name} has a single sample; nothing to mutate`);
    const d = rng.choice(candidates);
    const others = d.values.filter((v) => v !== s[d.label]);
    return withChange(s, d.label, rng.choice(others), (nd) => rng.choice(nd.values));
  };

  const neighbours = (s: Sample, rng?: Rng): Sample[] => {
    validate(s);
    const out: Sample[] = [];
    for (const d of mutable(s)) {
      for (const v of d.values) {
        if (v === s[d.label]) continue;
        out.push(withChange(s, d.label, v, (nd) => (rng ? rng.choice(nd.values) : nd.values[0]!)));
      }
    }
    return out;
  };

  const crossover = (a: Sample, b: Sample, rng: Rng, kind: CrossoverKind = 'uniform'): Sample => {
    validate(a);
    validate(b);
    // Take each value from the chosen parent, else from the other; a label
    // active in neither parent (possible with mixed structure) is drawn fresh.
    const from = (d: Dimension, first: Sample, second: Sample) => first[d.label] ?? second[d.label];
    const fill = (d: Dimension) => rng.choice(d.values);
    if (kind === 'uniform') {
      return assemble((d) => (rng.next() < 0.5 ? from(d, a, b) : from(d, b, a)), fill);
    }
    if (kind === 'single-point') {
      const cut = dims.length > 1 ? 1 + rng.int(dims.length - 1) : 0;
      return assemble((d) => (index.get(d.label)! < cut ? from(d, a, b) : from(d, b, a)), fill);
    }
    if (kind === 'cell') {
      const groups = [...new Set(dims.map((d) => groupOf.get(d.label)!))];
      const takeA = new Map(groups.map((g) => [g, rng.next() < 0.5]));
      return assemble((d) => (takeA.get(groupOf.get(d.label)!) ? from(d, a, b) : from(d, b, a)), fill);
    }
    throw new TsnasError('usage', `unknown crossover '${String(kind)}', expected uniform, single-point or cell`);
  };

  const hash = (s: Sample): string => {
    validate(s);
    return createHash('sha1').update(`${def.name}\n${canonicalJson(s)}`).digest('hex');
  };

  const format = (s: Sample): string => {
    validate(s);
    return def.format ? def.format(s) : canonicalJson(s);
  };

  const parse = (text: string): Sample => {
    if (def.parse) {
      const s = def.parse(text);
      return fromJSON(s);
    }
    return parseJsonSample(text);
  };

  const parseJsonSample = (text: string): Sample => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new TsnasError('usage', `not valid JSON for space ${def.name}: ${(e as Error).message}`, { where: 'arch' });
    }
    const special = def.fromObject?.(value);
    return special !== undefined ? fromJSON(special) : fromJSON(value);
  };

  const parseArch = (text: string): Sample => {
    const trimmed = text.trim();
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) return parseJsonSample(trimmed);
    return parse(trimmed);
  };

  const graphs = (s: Sample): CellGraph[] => (def.graphs ? def.graphs(s) : []);

  const oneHot = (s: Sample): number[] => {
    const out: number[] = [];
    for (const d of dims) {
      const v = s[d.label];
      for (const x of d.values) out.push(v === x ? 1 : 0);
    }
    return out;
  };

  const encode = (s: Sample, kind: EncodingKind): number[] => {
    validate(s);
    const custom = def.encoders?.[kind];
    if (custom) return custom(s);
    if (kind === 'onehot') return oneHot(s);
    if (!def.graphs) throw new TsnasError('usage', `space ${def.name} has no graph view, so no '${kind}' encoding (use 'onehot')`);
    const cells = def.graphs(s);
    if (kind === 'adjacency') return cells.flatMap((g) => adjacencyEncoding(g));
    if (kind === 'path') return cells.flatMap((g) => pathEncoding(g, def.pathEncoding));
    throw new TsnasError('usage', `unknown encoding '${String(kind)}', expected onehot, adjacency or path`);
  };

  const lengths = new Map<EncodingKind, number>();
  const encodingLength = (kind: EncodingKind): number => {
    let n = lengths.get(kind);
    if (n === undefined) {
      // Every encoding here has a fixed length; any sample tells it.
      n = encode(assemble(() => undefined, (d) => d.values[0]!), kind).length;
      lengths.set(kind, n);
    }
    return n;
  };

  const frozenDims = Object.freeze([...dims]);
  return {
    name: def.name,
    definition: def,
    dimensions: () => frozenDims,
    dimension,
    activeDimensions: (s) => dims.filter((d) => s[d.label] !== undefined && isActive(d, s)),
    structuralLabels: Object.freeze(structuralDims.map((d) => d.label)),
    size,
    sizeFormula: () => {
      if (def.sizeFormula === undefined) return generatedFormula();
      const total = String(size());
      return def.sizeFormula.includes(total) ? def.sizeFormula : `${def.sizeFormula} = ${total}`;
    },
    validate,
    sample,
    sampleUniform,
    mutate,
    crossover,
    neighbours,
    hash,
    format,
    parse,
    parseArch,
    fromJSON,
    encode,
    encodingLength,
    graphs,
    drawingGraphs: (s) => {
      validate(s);
      return def.drawing ? def.drawing(s) : graphs(s);
    },
  };
}
