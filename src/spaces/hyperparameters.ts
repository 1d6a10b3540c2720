// Training hyperparameters as dimensions of a space: any architecture space
// plus dimensions such as lr (on a log grid), weightDecay, batch, epochs and
// augment, searched together by every strategy. The combined space is an
// ordinary defined space (the architecture's dimensions, then the
// hyperparameters'); what builds or costs a network reads the architecture
// part (`split`), and the training estimator reads the hyperparameters.
import { TsnasError } from '../errors.js';
import { defineSpace, type DefinedSpace, type DimensionSpec } from './space.js';
import type { EncodingKind, Sample, Value } from './types.js';

/** The hyperparameters the training estimator knows, and the kind of value each takes. */
export const HYPERPARAMETERS = {
  lr: 'positive number (the initial learning rate)',
  weightDecay: 'number >= 0',
  batch: 'positive integer (the batch size)',
  epochs: 'positive integer',
  augment: "'standard' (the dataset's usual augmentation) or 'none'",
} as const;
export type HyperparameterName = keyof typeof HYPERPARAMETERS;

/** The values of one hyperparameter: a list, or `count` values evenly spaced on a log scale from lo to hi. */
export type HyperparameterSpec = readonly Value[] | { readonly log: readonly [number, number]; readonly count: number };

export interface TrainingHyperparameters {
  lr?: number;
  weightDecay?: number;
  batch?: number;
  epochs?: number;
  augment?: 'standard' | 'none';
}

export interface HyperparameterSpace extends DefinedSpace {
  /** The space without the hyperparameter dimensions. */
  readonly architecture: DefinedSpace;
  readonly hyperparameterLabels: readonly HyperparameterName[];
  /** The sample's architecture part and its hyperparameters. */
  split(s: Sample): { architecture: Sample; hyperparameters: TrainingHyperparameters };
}

export function isHyperparameterSpace(space: object): space is HyperparameterSpace {
  return 'architecture' in space && 'split' in space;
}

/** count values from lo to hi, evenly spaced in log, at 4 significant digits. */
export function logGrid(lo: number, hi: number, count: number): number[] {
  if (count === 1) return [lo];
  return Array.from({ length: count }, (_, i) => Number((lo * (hi / lo) ** (i / (count - 1))).toPrecision(4)));
}

/** Checks a raw `hyperparameters` object (config errors name `where`.NAME) and returns each one's values. */
export function hyperparameterValues(raw: unknown, where = 'space.options.hyperparameters'): Record<HyperparameterName, Value[]> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new TsnasError('config', `expected an object of name -> values, e.g. {lr: {log: [0.01, 0.3], count: 4}, epochs: [1, 3, 9]}`, { where });
  }
  const out: Partial<Record<HyperparameterName, Value[]>> = {};
  for (const [name, spec] of Object.entries(raw as Record<string, unknown>)) {
    const at = `${where}.${name}`;
    if (!(name in HYPERPARAMETERS)) throw new TsnasError('config', `unknown hyperparameter; expected one of ${Object.keys(HYPERPARAMETERS).join(', ')}`, { where: at });
    const key = name as HyperparameterName;
    let values: Value[];
    if (Array.isArray(spec)) {
      values = spec as Value[];
    } else if (spec !== null && typeof spec === 'object' && 'log' in spec) {
      const { log, count } = spec as { log: unknown; count: unknown };
      if (!Array.isArray(log) || log.length !== 2 || !log.every((v) => typeof v === 'number' && v > 0) || !(log[0] < log[1])) {
        throw new TsnasError('config', `log must be [lo, hi] with 0 < lo < hi, got ${JSON.stringify(log)}`, { where: `${at}.log` });
      }
      if (!(Number.isInteger(count) && (count as number) >= 1 && (count as number) <= 100)) {
        throw new TsnasError('config', `count must be an integer from 1 to 100, got ${JSON.stringify(count)}`, { where: `${at}.count` });
      }
      values = logGrid(log[0], log[1], count as number);
    } else {
      throw new TsnasError('config', `expected a list of values or {log: [lo, hi], count}, got ${JSON.stringify(spec)}`, { where: at });
    }
    if (values.length === 0) throw new TsnasError('config', 'needs at least one value', { where: at });
    for (const v of values) {
      const ok = key === 'augment' ? v === 'standard' || v === 'none'
        : typeof v === 'number' && Number.isFinite(v) && (key === 'weightDecay' ? v >= 0 : v > 0) && (key === 'batch' || key === 'epochs' ? Number.isInteger(v) : true);
      if (!ok) throw new TsnasError('config', `value ${JSON.stringify(v)} is not a ${HYPERPARAMETERS[key]}`, { where: at });
    }
    out[key] = values;
  }
  return out as Record<HyperparameterName, Value[]>;
}

const SEPARATOR = ' @ ';

/**
 * The architecture space with hyperparameter dimensions after its own. Text
 * form: the architecture's, then ` @ lr=0.01 epochs=3`.
 */
export function withHyperparameters(architecture: DefinedSpace, raw: unknown): HyperparameterSpace {
  const values = hyperparameterValues(raw);
  const labels = Object.keys(values) as HyperparameterName[];
  for (const label of labels) {
    if (architecture.dimensions().some((d) => d.label === label)) {
      throw new TsnasError('config', `space ${architecture.name} already has a dimension '${label}'`, { where: `space.options.hyperparameters.${label}` });
    }
  }
  const isHyper = new Set<string>(labels);
  const split = (s: Sample) => {
    const arch: Record<string, Value> = {};
    const hyper: Record<string, Value> = {};
    for (const [k, v] of Object.entries(s)) (isHyper.has(k) ? hyper : arch)[k] = v;
    return { architecture: arch as Sample, hyperparameters: hyper as TrainingHyperparameters };
  };
  const hyperSpecs: DimensionSpec[] = labels.map((label) => ({
    label,
    kind: label === 'augment' ? 'categorical' : 'integer',
    values: values[label],
    group: 'hyperparameters',
  }));
  const hyperOneHot = (s: Sample) => hyperSpecs.flatMap((d) => d.values.map((v) => (s[d.label] === v ? 1 : 0)));
  // Graph encodings are the architecture's, followed by a one-hot of the hyperparameters.
  const graphEncoder = (kind: EncodingKind) => (s: Sample) => [...architecture.encode(split(s).architecture, kind), ...hyperOneHot(s)];
  const hasGraphs = architecture.definition.graphs !== undefined || architecture.definition.encoders !== undefined;
  const space = defineSpace({
    name: architecture.name,
    dimensions: [...architecture.definition.dimensions, ...hyperSpecs],
    format: (s) => `${architecture.format(split(s).architecture)}${SEPARATOR}${labels.map((l) => `${l}=${s[l]}`).join(' ')}`,
    parse: (text) => {
      const at = text.lastIndexOf(SEPARATOR);
      if (at < 0) throw new TsnasError('usage', `expected the architecture, then '${SEPARATOR.trim()}' and the hyperparameters (${labels.map((l) => `${l}=…`).join(' ')}), got '${text}'`);
      const out: Record<string, Value> = { ...architecture.parse(text.slice(0, at)) };
      for (const part of text.slice(at + SEPARATOR.length).trim().split(/\s+/)) {
        const [k, v] = part.split('=');
        if (!k || v === undefined || !isHyper.has(k)) throw new TsnasError('usage', `expected NAME=VALUE with NAME one of ${labels.join(', ')}, got '${part}'`);
        out[k] = k === 'augment' ? v : Number(v);
      }
      return space.fromJSON(out);
    },
    graphs: (s) => architecture.graphs(split(s).architecture),
    drawing: (s) => architecture.drawingGraphs(split(s).architecture),
    ...(hasGraphs ? { encoders: { adjacency: graphEncoder('adjacency'), path: graphEncoder('path') } } : {}),
  });
  return {
    ...space,
    architecture,
    hyperparameterLabels: labels,
    split: (s) => {
      space.validate(s);
      return split(s);
    },
  };
}
