// ENAS (Pham et al., 2018): an LSTM controller (strategies/controller.ts)
// samples cells; the shared supernet weights are trained on its samples
// (one sampled path per step); then the controller is trained with
// REINFORCE on the validation accuracy of its samples (EMA baseline,
// entropy bonus). The result is the best of several controller samples,
// scored with the inherited weights after batch-norm recalibration.
import type { Dataset } from '../../data/dataset.js';
import { DataLoader } from '../../data/loader.js';
import type { Sample } from '../../spaces/types.js';
import { noGrad, tensor, tidy } from '../../tensor/index.js';
import { Controller } from '../../strategies/controller.js';
import { exportSubnetwork } from './constraints.js';
import { disposeOneShotRun, inheritedAccuracy, setupOneShotRun, trainOneShot, type OneShotResult, type SposOptions } from './spos.js';

/** The controller is an LSTM over the space's dimensions, so ENAS runs on every space's supernet; it has no resource limits. */
export interface EnasOptions extends Omit<SposOptions, 'sampling' | 'evolution' | 'limits'> {
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

export function runEnas(data: Dataset, o: EnasOptions): OneShotResult & { controllerRewards: number[] } {
  const start = performance.now();
  const run = setupOneShotRun(data, o);
  const { seed, rng, split, batchSize, shot, supernet, loader } = run;
  const controller = new Controller(shot.space, rng.fork(), { learningRate: o.controllerLr ?? 0.005, hidden: o.controllerHidden ?? 32, tanhConstant: o.tanhConstant ?? 1.5 });
  const validLoader = new DataLoader(data, { batchSize, indices: split.valid, augment: o.augment, train: false, seed: seed + 1 });
  const entropyWeight = o.entropyWeight ?? 1e-4;
  const decay = o.baselineDecay ?? 0.95;
  let baseline: number | null = null;
  const rewards: number[] = [];
  // Reward: accuracy of the sampled path on one validation batch, with batch statistics (no recalibration per sample).
  const reward = (s: Sample): number => {
    supernet.mixing.setPath(shot.pathOf(s));
    const b = validLoader.next();
    try {
      supernet.net.train();
      return tidy(() => noGrad(() => supernet.net.call(b.x).argmax(1).eq(b.y).sum().item())) / b.y.size(0);
    } finally {
      b.x.dispose();
      b.y.dispose();
    }
  };
  const trainController = () => {
    for (let k = 0; k < (o.controllerSteps ?? 20); k++) {
      const { sample } = controller.sample(rng);
      const r = reward(sample);
      rewards.push(r);
      baseline = baseline === null ? r : decay * baseline + (1 - decay) * r;
      const advantage = r - baseline;
      controller.update(() => {
        const { logProb, entropy } = controller.evaluate([sample]);
        return logProb.mul(tensor([advantage])).neg().sub(entropy.mul(entropyWeight)).sum();
      });
    }
  };
  try {
    const history = trainOneShot(
      supernet,
      loader,
      { ...o, onEpoch: (rec) => { trainController(); o.onEpoch?.(rec); } },
      () => [shot.pathOf(controller.sample(rng).sample)],
    );
    const evaluate = (s: Sample) => inheritedAccuracy(run, s);
    const seen = new Map<string, { sample: Sample; fitness: number }>();
    for (let k = 0; k < (o.deriveSamples ?? 20); k++) {
      const { sample } = controller.sample(rng);
      const h = shot.space.hash(sample);
      if (!seen.has(h)) seen.set(h, { sample, fitness: evaluate(sample) });
    }
    const best = [...seen.values()].reduce((a, b) => (b.fitness > a.fitness ? b : a));
    if (o.exportPath !== undefined) {
      exportSubnetwork(supernet.net, best.sample, run.calibration.map((b) => b.x), o.exportPath, {
        space: shot.space.name, arch: shot.space.format(best.sample), supernet_accuracy: String(best.fitness),
      });
    }
    o.afterSearch?.({ supernet, space: shot, evaluate });
    return {
      method: 'enas',
      arch: shot.space.format(best.sample),
      sample: best.sample,
      supernetAccuracy: best.fitness,
      cost: run.costModel(best.sample),
      ...(o.exportPath !== undefined ? { exported: o.exportPath } : {}),
      history,
      evaluations: seen.size,
      seconds: (performance.now() - start) / 1000,
      controllerRewards: rewards,
    };
  } finally {
    controller.dispose();
    disposeOneShotRun(run);
  }
}
