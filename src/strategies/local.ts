// Local search (hill climbing with restarts): evaluate the whole
// neighbourhood of the current point (the space's distance-one samples),
// move to the best neighbour if it improves, and restart from a uniform
// sample at a local optimum. Values of neighbours evaluated earlier are
// reused, never re-asked.
import type { Sample, SearchSpace } from '../spaces/types.js';
import { z } from 'zod';
import { BaseStrategy, optionsSchema, type BaseOptions } from './base.js';
import { defineStrategy } from './types.js';

export interface LocalSearchOptions extends BaseOptions {
  /** Move as soon as one neighbour beats the centre, instead of after the whole neighbourhood (default false). */
  firstImprovement?: boolean;
}

export class LocalSearch extends BaseStrategy {
  readonly name = 'local';
  private readonly firstImprovement: boolean;
  /** History index of the current centre, -1 while (re)starting. */
  private center = -1;
  /** Hash of the asked restart point whose result decides the next centre. */
  private startHash: string | null = null;
  /** Hashes of the centre's neighbours. */
  private neighbourHashes: string[] = [];
  /** Neighbours still to ask, in random order. */
  private queue: Sample[] = [];

  constructor(space: SearchSpace, options: LocalSearchOptions = {}) {
    super(space, options);
    this.firstImprovement = options.firstImprovement ?? false;
  }

  protected propose(): Sample {
    for (;;) {
      if (this.center < 0) {
        if (this.startHash !== null) return this.fallback();
        const s = this.freshRandom();
        this.startHash = this.space.hash(s);
        return s;
      }
      while (this.queue.length > 0) {
        const s = this.queue.shift()!;
        if (!this.isSeen(s)) return s;
      }
      if (this.neighbourHashes.some((h) => this.pending.has(h))) return this.fallback();
      const best = this.bestNeighbour();
      if (best >= 0 && this.fitnesses[best]! > this.fitnesses[this.center]!) this.moveTo(best);
      else this.restart();
    }
  }

  /** With a batch outstanding, extra asks mutate the best trial so far. */
  private fallback(): Sample {
    const best = this.best();
    return best ? this.fresh(() => this.space.mutate(best.sample, this.rng)) : this.freshRandom();
  }

  private bestNeighbour(): number {
    let best = -1;
    for (const h of this.neighbourHashes) {
      const i = this.indexOfHash.get(h);
      if (i !== undefined && (best < 0 || this.fitnesses[i]! > this.fitnesses[best]!)) best = i;
    }
    return best;
  }

  private moveTo(index: number): void {
    this.center = index;
    const neighbours = this.space.neighbours(this.trials[index]!.sample);
    this.neighbourHashes = neighbours.map((s) => this.space.hash(s));
    this.queue = this.rng.shuffle(neighbours.filter((s) => !this.isSeen(s)));
  }

  private restart(): void {
    this.center = -1;
    this.startHash = null;
    this.neighbourHashes = [];
    this.queue = [];
  }

  protected override onTell(index: number, hash: string): void {
    if (hash === this.startHash) {
      this.startHash = null;
      this.moveTo(index);
    } else if (
      this.firstImprovement && this.center >= 0 && this.fitnesses[index]! > this.fitnesses[this.center]! &&
      this.neighbourHashes.includes(hash)
    ) {
      this.moveTo(index);
    }
  }

  protected override saveExtra(): unknown {
    return { center: this.center, startHash: this.startHash, neighbourHashes: [...this.neighbourHashes], queue: this.queue.map((s) => ({ ...s })) };
  }

  protected override loadExtra(extra: unknown): void {
    const e = extra as { center: number; startHash: string | null; neighbourHashes: string[]; queue: Sample[] };
    this.center = e.center;
    this.startHash = e.startHash;
    this.neighbourHashes = [...e.neighbourHashes];
    this.queue = [...e.queue];
  }
}

export const localKind = defineStrategy({
  name: 'local',
  multiObjective: false,
  options: optionsSchema({
    firstImprovement: z.boolean().describe('move as soon as one neighbour beats the centre (default false)').optional(),
  }),
  create: (space, options) => new LocalSearch(space, options),
});
