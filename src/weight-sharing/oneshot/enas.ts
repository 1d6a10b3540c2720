// ENAS (Pham et al., 2018): an LSTM controller (strategies/controller.ts)
// samples cells; the shared supernet weights are trained on its samples
// (one sampled path per step); then the controller is trained with
// REINFORCE on the validation accuracy of its samples (EMA baseline,
// entropy bonus). The result is the best of several controller samples,
// scored with the inherited weights after batch-norm recalibration.
import { configError, dataError } from '../../errors.js';
import type { Dataset } from '../../data/dataset.js';
import { DataLoader, type Batch, type LoaderState } from '../../data/loader.js';
import type { Sample } from '../../spaces/types.js';
import type { Json } from '../../util/json.js';
import { noGrad, tensor, tidy, type Tensor } from '../../tensor/index.js';
import { Controller, type ControllerState } from '../../strategies/controller.js';
import { Rng } from '../../util/random.js';
import { betweenSteps, reseed } from '../checkpoint.js';
import type { WeightSharingEpoch, WeightSharingResult } from '../run.js';
import type { Evaluated } from './evolution.js';
import { OneShotRun, runToEnd, type MethodCheckpoint, type OneShotOptions, type OneShotResult, type StepResult } from './training.js';

/** The controller is an LSTM over the space's dimensions, so ENAS runs on every space's supernet; it has no resource limits. */
export interface EnasOptions extends Omit<OneShotOptions, 'limits'> {
  /** Controller updates after each epoch of shared-weight training (default 20). */
  controllerSteps?: number;
  controllerLr?: number;
  controllerHidden?: number;
  /** ENAS's tanh constant on the controller's logits (default 1.5). */
  tanhConstant?: number;
  entropyWeight?: number;
  baselineDecay?: number;
  /** Controller samples scored at the end; the best is the result (default 20). */
  deriveSamples?: number;
}

/** The controller's arrays as checkpoint tensors, in this order per parameter. */
const CONTROLLER_ARRAYS = ['params', 'adamM', 'adamV'] as const;

interface EnasState {
  controllerStep: number;
  controllerParams: number;
  baseline: number | null;
  validLoader: LoaderState;
}

class EnasRun extends OneShotRun {
  readonly controller: Controller;
  /** Draws the validation batches the controller's rewards are measured on. */
  readonly #validLoader: DataLoader;
  /** The EMA of the rewards, REINFORCE's baseline. */
  #baseline: number | null = null;

  constructor(data: Dataset, readonly o: EnasOptions) {
    super('enas', data, o, o.epochs);
    // The base class has built a loader of the same samples already, so this one cannot fail.
    this.#validLoader = new DataLoader(data, { batchSize: this.batchSize, indices: this.split.valid, augment: o.augment, train: false, seed: this.seed + 1 });
    this.controller = new Controller(this.shot.space, new Rng(this.seed).fork(), { learningRate: o.controllerLr ?? 0.005, hidden: o.controllerHidden ?? 32, tanhConstant: o.tanhConstant ?? 1.5 });
  }

  protected step(batch: Batch, _epoch: number, rng: Rng): StepResult {
    return this.supernet.trainStep(batch, [this.shot.pathOf(this.controller.sample(rng).sample)]);
  }

  /** Reward: accuracy of the sampled path on one validation batch, with batch statistics (no recalibration per sample). */
  #reward(s: Sample): number {
    const { supernet } = this;
    supernet.mixing.setPath(this.shot.pathOf(s));
    const b = this.#validLoader.next();
    try {
      supernet.net.train();
      return tidy(() => noGrad(() => supernet.net.call(b.x).argmax(1).eq(b.y).sum().item())) / b.y.size(0);
    } finally {
      b.x.dispose();
      b.y.dispose();
    }
  }

  /** REINFORCE on the controller after the epoch's shared-weight steps. */
  protected override async afterEpoch(_epoch: number, rng: Rng, _last: boolean, signal?: AbortSignal): Promise<Record<string, Json>> {
    const entropyWeight = this.o.entropyWeight ?? 1e-4;
    const decay = this.o.baselineDecay ?? 0.95;
    const rewards: number[] = [];
    for (let k = 0; k < (this.o.controllerSteps ?? 20); k++) {
      await betweenSteps(signal);
      const { sample } = this.controller.sample(rng);
      const r = this.#reward(sample);
      rewards.push(r);
      this.#baseline = this.#baseline === null ? r : decay * this.#baseline + (1 - decay) * r;
      const advantage = r - this.#baseline;
      this.controller.update(() => {
        const { logProb, entropy } = this.controller.evaluate([sample]);
        return logProb.mul(tensor([advantage])).neg().sub(entropy.mul(entropyWeight)).sum();
      });
    }
    return {
      controllerRewards: rewards,
      controllerMeanReward: rewards.length > 0 ? rewards.reduce((a, b) => a + b, 0) / rewards.length : null,
      controllerBaseline: this.#baseline,
    };
  }

  protected override methodCheckpoint(): MethodCheckpoint {
    const saved = this.controller.getState();
    const tensors: Record<string, Tensor> = {};
    for (const name of CONTROLLER_ARRAYS) {
      saved[name].forEach((values, i) => (tensors[`controller.${name}.${i}`] = this.snapshot(tensor(values, [values.length], { dtype: 'float32' }))));
    }
    const state: EnasState = { controllerStep: saved.step, controllerParams: saved.params.length, baseline: this.#baseline, validLoader: this.#validLoader.getState() };
    return { state: state as unknown as Json, tensors };
  }

  protected override restoreMethod(state: Json, tensors: Record<string, Tensor>): void {
    const s = state as unknown as EnasState;
    const arrays = (name: (typeof CONTROLLER_ARRAYS)[number]) => Array.from({ length: s.controllerParams }, (_, i) => {
      const t = tensors[`controller.${name}.${i}`];
      if (!t) throw dataError(`checkpoint has no tensor controller.${name}.${i}`, 'checkpoint');
      return Array.from(t.data() as Float32Array);
    });
    const saved: ControllerState = { params: arrays('params'), adamM: arrays('adamM'), adamV: arrays('adamV'), step: s.controllerStep };
    this.controller.setState(saved);
    this.#baseline = s.baseline;
    this.#validLoader.setState(s.validLoader);
  }

  /** The best of deriveSamples controller samples, by inherited-weight accuracy. */
  async finish(signal?: AbortSignal): Promise<WeightSharingResult> {
    const rng = reseed(this.seed, 'final');
    const seen = new Map<string, Evaluated>();
    for (let k = 0; k < (this.o.deriveSamples ?? 20); k++) {
      await betweenSteps(signal);
      const { sample } = this.controller.sample(rng);
      const h = this.shot.space.hash(sample);
      if (!seen.has(h)) seen.set(h, { sample, fitness: this.evaluate(sample) });
    }
    const best = [...seen.values()].reduce((a, b) => (b.fitness > a.fitness ? b : a));
    return this.conclude(best, seen.size);
  }

  override dispose(): void {
    this.controller.dispose();
    super.dispose();
  }
}

/** ENAS as a checkpointable run: the controller's weights, Adam moments, baseline and reward loader are part of its state. */
export function createEnasRun(data: Dataset, o: EnasOptions): OneShotRun {
  for (const [field, min] of [['controllerSteps', 0], ['deriveSamples', 1]] as const) {
    const v = o[field];
    if (v !== undefined && !(Number.isInteger(v) && v >= min)) throw configError(`expected an integer of at least ${min}, got ${v}`, field);
  }
  return new EnasRun(data, o);
}

/** ENAS in one go; controllerRewards: every controller step's reward, in order. */
export async function runEnas(data: Dataset, o: EnasOptions & { onEpoch?: (record: WeightSharingEpoch) => void }): Promise<OneShotResult & { controllerRewards: number[] }> {
  const r = await runToEnd('enas', createEnasRun(data, o), o.onEpoch);
  return { ...r, controllerRewards: r.history.flatMap((h) => (h.extra?.controllerRewards ?? []) as number[]) };
}
