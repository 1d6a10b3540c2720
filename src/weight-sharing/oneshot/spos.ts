// Single-path one-shot search (SPOS, Guo et al. 2020; FairNAS, Chu et al.
// 2021): train a supernet one sampled path per step — uniformly, or with
// strict fairness (each candidate of every edge once per group of steps,
// gradients accumulated over the group) — then search its sub-networks with
// an evolutionary algorithm, each evaluated with the inherited weights after
// batch-norm recalibration.
import { TsnasError, configError } from '../../errors.js';
import type { Dataset } from '../../data/dataset.js';
import type { Batch } from '../../data/loader.js';
import type { Sample, Value } from '../../spaces/types.js';
import type { Rng } from '../../util/random.js';
import { reseed } from '../checkpoint.js';
import type { WeightSharingEpoch, WeightSharingResult } from '../run.js';
import type { EvolutionOptions } from './evolution.js';
import { currentPath, sandwichPaths, strictFairPaths } from './paths.js';
import { OneShotRun, runToEnd, type OneShotOptions, type OneShotResult, type StepResult } from './training.js';

export type PathSampling = 'uniform' | 'strict-fair';

export interface SposOptions extends OneShotOptions {
  sampling?: PathSampling;
  /** Uniform sampling: train per step the largest path, the smallest and this many random ones (the sandwich rule; 0, the default: one random path). */
  sandwich?: number;
  evolution?: EvolutionOptions;
}

class SposRun extends OneShotRun {
  readonly #labels: ReadonlyMap<string, readonly Value[]>;

  constructor(method: string, data: Dataset, readonly o: SposOptions & { sampling: PathSampling }) {
    super(method, data, o, o.epochs);
    this.#labels = this.supernet.net.labels();
    if (o.sandwich) {
      try {
        sandwichPaths(this.#labels, [currentPath(this.supernet.net)]);
      } catch (e) {
        this.dispose();
        throw e;
      }
    }
  }

  protected step(batch: Batch, _epoch: number, rng: Rng): StepResult {
    const { shot } = this;
    // Strict fairness trains all n paths of a group on each batch (FairNAS accumulates their gradients).
    if (this.o.sampling !== 'uniform') return this.supernet.trainStep(batch, strictFairPaths(this.#labels, rng));
    const random = Array.from({ length: Math.max(1, this.o.sandwich ?? 0) }, () => shot.pathOf(shot.space.sample(rng)));
    const paths = this.o.sandwich ? sandwichPaths(this.#labels, random) : random;
    return this.supernet.trainStep(batch, paths);
  }

  finish(signal?: AbortSignal): Promise<WeightSharingResult> {
    return this.searchEvolutionary(this.o.evolution, reseed(this.seed, 'final'), signal);
  }
}

/** SPOS as a checkpointable run: supernet training (uniform or strict-fair paths), then evolutionary search with inherited weights. */
export function createSposRun(data: Dataset, o: SposOptions): OneShotRun {
  const sampling = o.sampling ?? 'uniform';
  if (sampling !== 'uniform' && sampling !== 'strict-fair') throw new TsnasError('usage', `sampling must be uniform or strict-fair, got '${String(sampling)}'`, { where: 'sampling' });
  if (o.sandwich && sampling !== 'uniform') throw configError('the sandwich rule adds the largest and smallest paths to random ones; strict-fair sampling has its own groups of paths', 'strategy.options.sandwich');
  return new SposRun(sampling === 'uniform' ? 'spos' : 'fairnas', data, { ...o, sampling });
}

/** FairNAS: SPOS with strict-fair path sampling. */
export function createFairnasRun(data: Dataset, o: Omit<SposOptions, 'sampling'>): OneShotRun {
  return createSposRun(data, { ...o, sampling: 'strict-fair' });
}

/** SPOS / FairNAS in one go: supernet training, then evolutionary search with inherited weights. */
export async function runSpos(data: Dataset, o: SposOptions & { onEpoch?: (record: WeightSharingEpoch) => void }): Promise<OneShotResult> {
  return runToEnd('spos', createSposRun(data, o), o.onEpoch);
}
