// The contract every search space offers to every strategy. A space is a
// flat set of labelled dimensions (NNI-style); a sample maps each active
// label to its chosen value, so it is plain JSON.
import type { Rng } from '../util/random.js';

export type Value = string | number;

/** label -> chosen value. Dimensions whose condition is false are absent. */
export type Sample = Readonly<Record<string, Value>>;

export interface Dimension {
  readonly label: string;
  /** categorical: operations and other named choices; integer: depth, width, kernel; input: which earlier node feeds an edge. */
  readonly kind: 'categorical' | 'integer' | 'input';
  readonly values: readonly Value[];
  /** The dimension exists only when this holds for the rest of the sample (e.g. depth > i). */
  readonly condition?: (sample: Sample) => boolean;
  /** The labels `condition` reads (all earlier in the order); lets the size be counted exactly. */
  readonly dependsOn?: readonly string[];
  /** Dimensions with the same group belong to one cell (used by cell-level crossover). */
  readonly group?: string;
}

export type CrossoverKind = 'uniform' | 'single-point' | 'cell';
export type EncodingKind = 'onehot' | 'adjacency' | 'path';

export interface SearchSpace {
  readonly name: string;
  /** The flat description: every dimension, in a fixed order. */
  dimensions(): readonly Dimension[];
  /** Exact number of distinct samples. */
  size(): bigint;
  /** The formula that gives size(), for people. */
  sizeFormula(): string;
  /** Throws a TsnasError naming the bad label/value when s is not in the space. */
  validate(s: Sample): void;
  sample(rng: Rng): Sample;
  /** Exactly one active dimension changes; the result stays in the space. */
  mutate(s: Sample, rng: Rng): Sample;
  crossover(a: Sample, b: Sample, rng: Rng, kind?: CrossoverKind): Sample;
  /** Every sample at distance one (one dimension changed). */
  neighbours(s: Sample): Sample[];
  /** Stable across runs and machines; equal samples hash equal. */
  hash(s: Sample): string;
  /** The space's own text form (e.g. a NAS-Bench-201 string) and back. */
  format(s: Sample): string;
  parse(text: string): Sample;
  /** Fixed-length numeric encodings for predictors. */
  encode(s: Sample, kind: EncodingKind): number[];
}
