// Hill climbing with network morphisms (NASH: Elsken et al., "Simple and
// efficient architecture search for convolutional neural networks"): each
// child of the current parent applies a short random sequence of the
// space's function-preserving morphisms; once a step's children are told,
// the best one becomes the next parent, even when it is no better than its
// parent (the children are the parent trained further). Every ask carries a
// WeightInheritance (src/networks/morphism.ts) as its trial metadata: keep
// this network's weights, and, for a child, the lineage to continue from the
// parent's. The training estimator uses it; others ignore it (the climb then
// evaluates each child on its own).
import { TsnasError } from '../errors.js';
import { morphismPath } from '../kits/index.js';
import type { MorphismLineage, WeightInheritance } from '../networks/morphism.js';
import type { DefinedSpace } from '../spaces/space.js';
import type { Sample, SearchSpace } from '../spaces/types.js';
import { Rng } from '../util/random.js';
import { BaseStrategy, integerAtLeast, optionsSchema, type BaseOptions } from './base.js';
import { z } from 'zod';
import { defineStrategy, type TrialMetadata } from './types.js';

export interface MorphismSearchOptions extends BaseOptions {
  /** Children asked per step (default 8, as NASH). */
  children?: number;
  /** Morphisms applied to make one child (default 5, as NASH). */
  morphismsPerChild?: number;
  /** The first parent, in the space's text form (default: a uniform sample; NASH starts small). */
  start?: string;
}

/** Seeds tried for a child not asked before, before a uniform sample (trained from scratch) takes its place. */
const CHILD_TRIES = 20;

export class MorphismSearch extends BaseStrategy {
  readonly name = 'morphism';
  private readonly defined: DefinedSpace;
  private readonly children: number;
  private readonly steps: number;
  private readonly start: Sample;
  /** History index of the current parent; -1 until the first step (the start) is told. */
  private parent = -1;
  /** Hashes asked in the current step. */
  private stepHashes: string[] = [];
  /** Lineage of each asked child not yet told, by hash. */
  private lineages = new Map<string, MorphismLineage>();

  constructor(space: SearchSpace, options: MorphismSearchOptions = {}) {
    super(space, options);
    if (!('definition' in space)) throw new TsnasError('usage', `morphism search needs a registered space (its kit's morphisms), got '${space.name}'`, { where: 'space' });
    this.defined = space as DefinedSpace;
    this.children = options.children ?? 8;
    this.steps = options.morphismsPerChild ?? 5;
    this.start = options.start !== undefined ? space.parse(options.start) : space.sample(new Rng(options.seed ?? 0));
    // A space without morphisms is refused now, not at the first child.
    morphismPath(this.defined, this.start, 1, new Rng(0));
  }

  protected propose(): Sample {
    const s = this.parent < 0 ? this.first() : this.child(this.trials[this.parent]!.sample);
    this.stepHashes.push(this.space.hash(s));
    return s;
  }

  /** Before the first parent is told: the start, then (extra asks of a batch) uniform samples; the best becomes the first parent. */
  private first(): Sample {
    return this.stepHashes.length === 0 && !this.isSeen(this.start) ? this.start : this.freshRandom();
  }

  private child(parent: Sample): Sample {
    for (let i = 0; i < CHILD_TRIES; i++) {
      const lineage: MorphismLineage = { parent, seed: this.rng.int(2 ** 31), steps: this.steps };
      const path = morphismPath(this.defined, parent, this.steps, new Rng(lineage.seed));
      const s = path.at(-1)?.child;
      if (s && (!this.isSeen(s) || this.exhausted())) {
        this.lineages.set(this.space.hash(s), lineage);
        return s;
      }
    }
    // The parent's morphisms lead only to networks already asked: a new one from scratch.
    return this.freshRandom();
  }

  trialMetadata(sample: Sample): TrialMetadata | undefined {
    const h = this.space.hash(sample);
    if (!this.pending.has(h)) return undefined;
    const lineage = this.lineages.get(h);
    const metadata: WeightInheritance = { keepWeights: true, ...(lineage ? { inherit: lineage } : {}) };
    return metadata as TrialMetadata;
  }

  protected override onTell(_index: number, hash: string): void {
    this.lineages.delete(hash);
    const told = this.stepHashes.map((h) => this.indexOfHash.get(h));
    const enough = this.parent < 0 ? told.length > 0 : told.length >= this.children;
    if (!enough || told.some((i) => i === undefined)) return;
    this.parent = this.bestOf(told as number[]);
    this.stepHashes = [];
  }

  protected override saveExtra(): unknown {
    return { parent: this.parent, stepHashes: [...this.stepHashes], lineages: [...this.lineages] };
  }

  protected override loadExtra(extra: unknown): void {
    const e = extra as { parent: number; stepHashes: string[]; lineages: [string, MorphismLineage][] };
    this.parent = e.parent;
    this.stepHashes = [...e.stepHashes];
    this.lineages = new Map(e.lineages);
  }
}

export const morphismKind = defineStrategy({
  name: 'morphism',
  multiObjective: false,
  options: optionsSchema({
    children: integerAtLeast(1, 'children asked per hill-climbing step (default 8)'),
    morphismsPerChild: integerAtLeast(1, 'random function-preserving morphisms applied to make one child (default 5)'),
    start: z.string().describe("the first parent in the space's text form (default: a uniform sample)").optional(),
  }),
  create: (space, options) => new MorphismSearch(space, options),
});
