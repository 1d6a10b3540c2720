// Timed training steps for `tsnas bench step`: each workload builds its
// model once and returns a function that runs one step; the harness times
// the median after warm-up. PyTorch baselines of the same steps are in bench/.
import { NB201Network } from '../networks/nb201.js';
import { parseNb201Ops } from '../spaces/nb201.js';
import { SGD } from '../nn/optim.js';
import { crossEntropy, randint, randn, startOpProfiler, stopOpProfiler, synchronize, tidy, type Tensor } from '../tensor/index.js';
import { usageError } from '../errors.js';
import { dartsStepWorkload } from '../weight-sharing/differentiable/bench-step.js';
import { proxiesStep } from '../estimators/zero-cost/score.js';

/** The NAS-Bench-201 cell every step workload uses. */
export const BENCH_ARCH = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';

export interface StepWorkload {
  /** Runs one step. */
  step(): void;
  /** Facts about the workload for the report (params, batch...). */
  info: Record<string, number | string>;
  dispose(): void;
}

export type WorkloadFactory = (o: { batch: number }) => StepWorkload;

/** One SGD step (Nesterov, momentum 0.9, wd 5e-4, lr 0.1) of the NB201 network, C=16, N=5, 10 classes. */
function nb201Step(o: { batch: number }): StepWorkload {
  const net = new NB201Network({ ops: parseNb201Ops(BENCH_ARCH), C: 16, N: 5, numClasses: 10, inChannels: 3 });
  const optimizer = new SGD(net.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
  const x = randn([o.batch, 3, 32, 32]).keep();
  const y = randint(0, 10, [o.batch]).keep();
  return {
    step: () =>
      tidy(() => {
        optimizer.zeroGrad();
        const loss = crossEntropy(net.call(x) as Tensor, y);
        loss.backward();
        optimizer.step();
      }),
    info: { params: net.numParameters(), batch: o.batch, arch: BENCH_ARCH },
    dispose: () => {
      optimizer.dispose();
      net.dispose();
      x.dispose();
      y.dispose();
    },
  };
}

export const WORKLOADS: Record<string, WorkloadFactory> = {
  nb201: nb201Step,
  // One DARTS search step (issue 7), first and second order.
  darts1: (o) => dartsStepWorkload(1, o),
  darts2: (o) => dartsStepWorkload(2, o),
  // synflow, snip, grad_norm and nwot of the NB201 network (issue 5).
  proxies: proxiesStep,
};

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * Median wall ms of `steps` steps after `warmup` untimed ones, and the median
 * CPU ms of the process (all its threads) per step: at one libtorch thread
 * that is the step's cost whatever else the machine runs. With `profile`,
 * libtorch's op profile of the timed steps is written there.
 */
export function timeSteps(
  w: StepWorkload, steps: number, warmup = 2, profile?: string,
): { median: number; times: number[]; cpuMedian: number } {
  const times: number[] = [];
  const cpu: number[] = [];
  try {
    for (let i = 0; i < steps + warmup; i++) {
      if (profile !== undefined && i === warmup) startOpProfiler(profile);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      w.step();
      synchronize();
      if (i >= warmup) {
        times.push(performance.now() - t0);
        const c = process.cpuUsage(c0);
        cpu.push((c.user + c.system) / 1000);
      }
    }
  } finally {
    if (profile !== undefined) stopOpProfiler();
  }
  return { median: median(times), times, cpuMedian: median(cpu) };
}

export function workload(name: string): WorkloadFactory {
  const f = WORKLOADS[name];
  if (!f) throw usageError(`unknown workload '${name}'; known: ${Object.keys(WORKLOADS).join(', ')}`, '--workload');
  return f;
}
