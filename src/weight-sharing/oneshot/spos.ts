// Single-path one-shot search (SPOS, Guo et al. 2020; FairNAS, Chu et al.
// 2021): train a supernet one sampled path per step — uniformly, or with
// strict fairness (each candidate of every edge once per group of steps,
// gradients accumulated over the group) — then search its sub-networks with
// an evolutionary algorithm, each evaluated with the inherited weights after
// batch-norm recalibration. Few-shot NAS (Zhao et al. 2021) splits the
// supernet after some epochs on one edge's operation: one copy per
// candidate (weights and optimizer state), each trained on with that edge
// fixed, so fewer architectures share each weight; a cell inherits the
// weights of the copy matching its operation on the edge.
import { TsnasError, configError, dataError } from '../../errors.js';
import type { Dataset } from '../../data/dataset.js';
import type { Batch } from '../../data/loader.js';
import type { Sample, Value } from '../../spaces/types.js';
import type { Tensor } from '../../tensor/index.js';
import type { Json } from '../../util/json.js';
import type { Rng } from '../../util/random.js';
import { loadModuleTensors, loadOptimizerCheckpoint, moduleTensors, optimizerCheckpoint, reseed } from '../checkpoint.js';
import type { WeightSharingEpoch, WeightSharingResult } from '../run.js';
import type { EvolutionOptions } from './evolution.js';
import { currentPath, sandwichPaths, strictFairPaths } from './paths.js';
import { OneShotRun, OneShotSupernet, runToEnd, type MethodCheckpoint, type OneShotOptions, type OneShotResult, type StepResult } from './training.js';

export type PathSampling = 'uniform' | 'strict-fair';

/** Few-shot splitting: where and when the supernet becomes one sub-supernet per candidate of an edge. */
export interface FewShotOptions {
  /** The edge (a label of the supernet, e.g. nb201's edge_3_0) whose candidates split it. */
  edge: string;
  /** Epochs the whole supernet trains before the split (0: split from the start); every later epoch trains each sub-supernet on every batch. */
  epochs: number;
}

export interface SposOptions extends OneShotOptions {
  sampling?: PathSampling;
  /** Uniform sampling: train per step the largest path, the smallest and this many random ones (the sandwich rule; 0, the default: one random path). */
  sandwich?: number;
  fewShot?: FewShotOptions;
  evolution?: EvolutionOptions;
}

/** A SPOS or FairNAS run (few-shot split when asked). */
export class SposRun extends OneShotRun {
  readonly #labels: ReadonlyMap<string, readonly Value[]>;
  /** Few-shot: one sub-supernet per candidate of the split edge, in the edge's order, once split (empty before). */
  #subSupernets: OneShotSupernet[] = [];

  constructor(method: string, data: Dataset, readonly o: SposOptions & { sampling: PathSampling }) {
    super(method, data, o, o.epochs);
    this.#labels = this.supernet.net.labels();
    try {
      if (o.sandwich) sandwichPaths(this.#labels, [currentPath(this.supernet.net)]);
      if (o.fewShot) {
        this.#checkFewShot(o.fewShot);
        if (o.fewShot.epochs === 0) this.#split();
      }
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  #checkFewShot({ edge, epochs }: FewShotOptions): void {
    if (!this.#labels.has(edge)) {
      throw configError(`few-shot splitting needs an edge of the ${this.shot.name} supernet, got '${String(edge)}'; expected one of ${[...this.#labels.keys()].join(', ')}`, 'strategy.options.fewShot.edge');
    }
    if (!(Number.isInteger(epochs) && epochs >= 0 && epochs < this.o.epochs)) {
      throw configError(`the split must leave epochs to train the sub-supernets: expected 0 to ${this.o.epochs - 1} epochs before it, got ${epochs}`, 'strategy.options.fewShot.epochs');
    }
  }

  /** The sub-supernets of few-shot splitting (empty before the split), in the order of the edge's candidates. */
  get subSupernets(): readonly OneShotSupernet[] {
    return this.#subSupernets;
  }

  /** Copies the supernet, weights and optimizer state, once per candidate of the split edge. */
  #split(): void {
    const parent = this.supernet;
    const weights = moduleTensors('supernet', parent.net);
    const optimizer = optimizerCheckpoint('optimizer', parent.optimizer);
    for (const _ of this.#labels.get(this.o.fewShot!.edge)!) {
      const sub = new OneShotSupernet(parent.config, this.o);
      this.#subSupernets.push(sub);
      loadModuleTensors('supernet', sub.net, weights);
      loadOptimizerCheckpoint('optimizer', sub.optimizer, optimizer.state, optimizer.tensors);
    }
  }

  protected override phaseOf(epoch: number): string {
    return this.o.fewShot && epoch >= this.o.fewShot.epochs ? 'few-shot' : 'supernet';
  }

  protected override beforeEpoch(epoch: number): Record<string, Json> {
    for (const sub of this.#subSupernets) sub.scheduler.loadStateDict({ epoch });
    return {};
  }

  protected override async afterEpoch(epoch: number, _rng: Rng, last: boolean): Promise<Record<string, Json>> {
    if (!last && this.o.fewShot && epoch + 1 === this.o.fewShot.epochs) this.#split();
    return {};
  }

  /** The paths one step of one supernet trains. */
  #paths(rng: Rng): Sample[] {
    const { shot } = this;
    // Strict fairness trains all n paths of a group on each batch (FairNAS accumulates their gradients).
    if (this.o.sampling !== 'uniform') return strictFairPaths(this.#labels, rng);
    const random = Array.from({ length: Math.max(1, this.o.sandwich ?? 0) }, () => shot.pathOf(shot.space.sample(rng)));
    return this.o.sandwich ? sandwichPaths(this.#labels, random) : random;
  }

  protected step(batch: Batch, _epoch: number, rng: Rng): StepResult {
    const subs = this.#subSupernets;
    if (subs.length === 0) return this.supernet.trainStep(batch, this.#paths(rng));
    // After the split every sub-supernet trains on the batch, its own candidate fixed on the edge.
    const { edge } = this.o.fewShot!;
    const values = this.#labels.get(edge)!;
    const result: StepResult = { loss: 0, correct: 0 };
    subs.forEach((sub, k) => {
      const r = sub.trainStep(batch, this.#paths(rng).map((p) => ({ ...p, [edge]: values[k]! })));
      result.loss += r.loss / subs.length;
      result.correct += r.correct / subs.length;
    });
    return result;
  }

  override supernetFor(s: Sample): OneShotSupernet {
    if (this.#subSupernets.length === 0) return this.supernet;
    const { edge } = this.o.fewShot!;
    return this.#subSupernets[this.#labels.get(edge)!.indexOf(this.shot.pathOf(s)[edge]!)]!;
  }

  protected override methodCheckpoint(): MethodCheckpoint {
    if (this.#subSupernets.length === 0) return { state: null, tensors: {} };
    const tensors: Record<string, Tensor> = {};
    const optimizers = this.#subSupernets.map((sub, k) => {
      const optimizer = optimizerCheckpoint(`fewshot.${k}.optimizer`, sub.optimizer);
      Object.assign(tensors, moduleTensors(`fewshot.${k}.supernet`, sub.net), optimizer.tensors);
      return optimizer.state;
    });
    return { state: { optimizers }, tensors };
  }

  protected override restoreMethod(state: Json, tensors: Record<string, Tensor>): void {
    this.#disposeSubSupernets();
    if (state === null) return;
    const { optimizers } = state as { optimizers: Json[] };
    const candidates = this.o.fewShot ? this.#labels.get(this.o.fewShot.edge)!.length : 0;
    if (!Array.isArray(optimizers) || optimizers.length !== candidates) {
      throw dataError(`expected ${candidates} few-shot sub-supernets (the run's fewShot option), got ${Array.isArray(optimizers) ? optimizers.length : 'none'}`, 'checkpoint');
    }
    optimizers.forEach((optimizer, k) => {
      const sub = new OneShotSupernet(this.supernet.config, this.o);
      this.#subSupernets.push(sub);
      loadModuleTensors(`fewshot.${k}.supernet`, sub.net, tensors);
      loadOptimizerCheckpoint(`fewshot.${k}.optimizer`, sub.optimizer, optimizer, tensors);
    });
  }

  override restore(state: Json, tensors: Record<string, Tensor>): void {
    super.restore(state, tensors);
    const split = this.o.fewShot?.epochs;
    // A run split at 0 has its sub-supernets from the start; a later split has them once its epoch is trained.
    if (split !== undefined && this.#subSupernets.length === 0 && (split === 0 || this.epochsDone > split)) {
      throw dataError(`expected the few-shot sub-supernets of a run split after ${split} epochs, found none (a checkpoint of a run without fewShot?)`, 'checkpoint');
    }
  }

  #disposeSubSupernets(): void {
    for (const sub of this.#subSupernets) sub.dispose();
    this.#subSupernets = [];
  }

  override dispose(): void {
    this.#disposeSubSupernets();
    super.dispose();
  }

  finish(signal?: AbortSignal): Promise<WeightSharingResult> {
    return this.searchEvolutionary(this.o.evolution, reseed(this.seed, 'final'), signal);
  }
}

/** SPOS as a checkpointable run: supernet training (uniform or strict-fair paths), then evolutionary search with inherited weights. */
export function createSposRun(data: Dataset, o: SposOptions): SposRun {
  const sampling = o.sampling ?? 'uniform';
  if (sampling !== 'uniform' && sampling !== 'strict-fair') throw new TsnasError('usage', `sampling must be uniform or strict-fair, got '${String(sampling)}'`, { where: 'sampling' });
  if (o.sandwich && sampling !== 'uniform') throw configError('the sandwich rule adds the largest and smallest paths to random ones; strict-fair sampling has its own groups of paths', 'strategy.options.sandwich');
  return new SposRun(sampling === 'uniform' ? 'spos' : 'fairnas', data, { ...o, sampling });
}

/** FairNAS: SPOS with strict-fair path sampling. */
export function createFairnasRun(data: Dataset, o: Omit<SposOptions, 'sampling'>): SposRun {
  return createSposRun(data, { ...o, sampling: 'strict-fair' });
}

/** SPOS / FairNAS in one go: supernet training, then evolutionary search with inherited weights. */
export async function runSpos(data: Dataset, o: SposOptions & { onEpoch?: (record: WeightSharingEpoch) => void }): Promise<OneShotResult> {
  return runToEnd('spos', createSposRun(data, o), o.onEpoch);
}
