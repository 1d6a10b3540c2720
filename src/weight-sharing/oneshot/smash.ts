// SMASH (Brock et al. 2018) as a checkpointable weight-sharing run on the
// NAS-Bench-201 cell space: each step samples a cell uniformly, the
// hypernetwork generates its convolution kernels, and one SGD step on a
// training batch updates the hypernetwork (and the ordinary layers) through
// them. The final step is the paper's: score random distinct cells by their
// validation accuracy with generated weights (batch norm re-estimated per
// cell) and keep the best.
import { configError } from '../../errors.js';
import type { Dataset } from '../../data/dataset.js';
import type { Batch } from '../../data/loader.js';
import { getKit, getSpace } from '../../kits/index.js';
import { SGD } from '../../nn/optim.js';
import { LrScheduler, clipGradNorm, cosineAnnealing } from '../../nn/schedule.js';
import { nb201Space } from '../../spaces/nb201.js';
import type { Sample } from '../../spaces/types.js';
import { crossEntropy, manualSeed, noGrad, tidy, type Tensor } from '../../tensor/index.js';
import type { Rng } from '../../util/random.js';
import { betweenSteps, reseed } from '../checkpoint.js';
import type { WeightSharingResult } from '../run.js';
import { oneShotCostModel, type CostLimits, type SampleCost } from './constraints.js';
import { HyperNetwork } from './hypernet.js';
import { pathAccuracy, recalibrateBatchNorm } from './paths.js';
import { EpochRun, type EpochRunOptions, type StepResult, type SupernetTrainingOptions, type TrainedModule } from './training.js';

export interface SmashOptions extends SupernetTrainingOptions, EpochRunOptions {
  /** The space searched: nb201, the only one whose cells the hypernetwork generates (default nb201). */
  space?: string;
  /** Refused when set: the final step scores random cells and takes no resource limit. */
  limits?: CostLimits;
  /** Channels of the first stage (default: the nb201 kit's). */
  C?: number;
  /** Cells per stage (default: the nb201 kit's). */
  cells?: number;
  /** Hidden width of the hypernetwork (default 64). */
  hidden?: number;
  /** Distinct random cells scored in the final step (default 100). */
  budget?: number;
  /** Called at the end of finish() with the scoring of any cell (e.g. to measure ranking quality). */
  afterSearch?: (ctx: { evaluate: (s: Sample) => number }) => void;
}

export class SmashRun extends EpochRun {
  readonly net: HyperNetwork;
  readonly optimizer: SGD;
  readonly scheduler: LrScheduler;
  readonly space = nb201Space();
  readonly costModel: (s: Sample) => SampleCost;

  constructor(data: Dataset, readonly options: SmashOptions) {
    const o = options;
    if ((o.space ?? 'nb201') !== 'nb201') throw configError(`smash generates the weights of nb201 cells; space '${o.space}' is not supported`, 'space.name');
    if (o.limits?.maxFlops !== undefined || o.limits?.maxParams !== undefined) throw configError('smash scores random cells and takes no resource limit; use spos, fairnas or ofa', 'constraints');
    if (o.budget !== undefined && !(Number.isInteger(o.budget) && o.budget >= 1)) throw configError(`expected at least 1 cell to score, got ${o.budget}`, 'budget');
    super('smash', data, o, o.epochs);
    const sized = getKit('nb201').sized!;
    const C = o.C ?? sized.channels;
    const cells = o.cells ?? sized.cells;
    const side = o.augment?.resize ?? data.height;
    this.costModel = oneShotCostModel(getSpace('nb201'), { numClasses: data.numClasses, input: [data.channels, side, side], C, cells });
    try {
      // The initial weights follow the seed alone, whatever libtorch's generator was.
      manualSeed(this.seed);
      this.net = new HyperNetwork({ C, N: cells, numClasses: data.numClasses, inChannels: data.channels, ...(o.hidden !== undefined ? { hidden: o.hidden } : {}) });
    } catch (e) {
      this.releaseData();
      throw e;
    }
    this.optimizer = new SGD(this.net.parameters(), { lr: o.lr ?? 0.025, momentum: o.momentum ?? 0.9, weightDecay: o.weightDecay ?? 3e-4 });
    this.scheduler = new LrScheduler(this.optimizer, o.schedule ?? cosineAnnealing(o.epochs, o.lrMin ?? 0.001));
  }

  protected get trained(): TrainedModule {
    return this;
  }

  protected override phaseOf(): string {
    return 'hypernetwork';
  }

  protected step(batch: Batch, _epoch: number, rng: Rng): StepResult {
    return this.trainStep(batch, this.space.sample(rng));
  }

  /** One SGD step of the hypernetwork on a batch through the weights it generates for `sample`. */
  trainStep(batch: { x: Tensor; y: Tensor }, sample: Sample): StepResult {
    const { net, optimizer } = this;
    net.setOps(this.space.opsOf(sample));
    net.train();
    optimizer.zeroGrad();
    const r = tidy(() => {
      const logits = net.call(batch.x);
      const loss = crossEntropy(logits, batch.y);
      loss.backward();
      return { loss: loss.item(), correct: noGrad(() => logits.argmax(1).eq(batch.y).sum().item()) };
    });
    if ((this.options.gradClip ?? 5) > 0) clipGradNorm(net.parameters(), this.options.gradClip ?? 5);
    optimizer.step();
    optimizer.zeroGrad();
    return r;
  }

  /** Validation accuracy of a cell with generated weights, after re-estimating its batch norms on the calibration batches. */
  evaluate(s: Sample): number {
    this.net.setOps(this.space.opsOf(s));
    recalibrateBatchNorm(this.net, this.calibration.map((b) => b.x));
    return pathAccuracy(this.net, this.validBatches);
  }

  async finish(signal?: AbortSignal): Promise<WeightSharingResult> {
    const rng = reseed(this.seed, 'final');
    const budget = this.options.budget ?? 100;
    const seen = new Set<string>();
    let best: { sample: Sample; arch: string; accuracy: number } | undefined;
    for (let tries = 0; seen.size < budget && tries < 100 * budget; tries++) {
      const sample = this.space.sample(rng);
      const arch = this.space.format(sample);
      if (seen.has(arch)) continue;
      seen.add(arch);
      await betweenSteps(signal);
      const accuracy = this.evaluate(sample);
      if (!best || accuracy > best.accuracy) best = { sample, arch, accuracy };
    }
    this.options.afterSearch?.({ evaluate: (s) => this.evaluate(s) });
    const cost = this.costModel(best!.sample);
    return {
      arch: best!.arch,
      sample: best!.sample,
      metrics: { supernet_accuracy: best!.accuracy, flops: cost.flops, params: cost.params, evaluations: seen.size },
    };
  }
}

export function createSmashRun(data: Dataset, o: SmashOptions): SmashRun {
  return new SmashRun(data, o);
}
