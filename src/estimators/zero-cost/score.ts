// Scoring NAS-Bench-201 cells with zero-cost proxies: one freshly initialised
// network per cell (seeded, so a cell's scores do not depend on what was
// scored before it), one fixed batch for all cells.
import type { Dataset } from '../../data/dataset.js';
import { makeBatch } from '../../data/loader.js';
import { buildTransform, type AugmentOptions, type Normalization } from '../../data/augment.js';
import { nb201Cost } from '../../hardware/cost.js';
import { NB201Network } from '../../networks/nb201.js';
import { parseNb201Ops, formatNb201Ops } from '../../spaces/nb201.js';
import { manualSeed, randint, randn, tidy, synchronize } from '../../tensor/index.js';
import { Rng } from '../../util/random.js';
import { configError } from '../../errors.js';
import {
  computeProxies, perNetworkProxies, type ProxyBatch, type ProxyName, type ProxyOptions, type ProxyScores,
} from './proxies.js';

export interface Nb201ProxyOptions extends ProxyOptions {
  proxies: readonly ProxyName[];
  batch: ProxyBatch;
  numClasses: number;
  /** Channels of the first stage (default 16). */
  C?: number;
  /** Cells per stage (default 5). */
  N?: number;
  /** Seeds the network's initial weights (default 0). */
  seed?: number;
  /** Which network scores the cell (default 'benchmark'); see PROXY_NETWORKS. */
  network?: ProxyNetwork;
}

/**
 * 'benchmark': NAS-Bench-201's own network (XAutoDL: cells with bias-free
 * convs and affine batch norm). 'zero-cost-nas': the network of Abdelfattah
 * et al.'s reference code, whose cells have biased convs and batch norm
 * without affine parameters or running statistics. The two compute the same
 * function at initialisation, but fisher (conv outputs, biases included) and
 * synflow (batch norm removed, |bias| kept) differ.
 */
export const PROXY_NETWORKS = ['benchmark', 'zero-cost-nas'] as const;
export type ProxyNetwork = (typeof PROXY_NETWORKS)[number];

export interface ProxyResult {
  arch: string;
  scores: ProxyScores;
  seconds: number;
}

/**
 * The per-network proxies of one cell (a NAS-Bench-201 string or its six
 * ops): those asked for and the components of the population proxies asked
 * for (population.ts combines them over cells); params and flops from the cost model.
 */
export function scoreNb201(arch: string | readonly string[], o: Nb201ProxyOptions): ProxyResult {
  const ops = typeof arch === 'string' ? parseNb201Ops(arch) : [...arch];
  const C = o.C ?? 16;
  const N = o.N ?? 5;
  const [, channels, height, width] = o.batch.x.shape as [number, number, number, number];
  const start = performance.now();
  const scores: ProxyScores = {};
  const needed = perNetworkProxies(o.proxies, o.ensemble);
  if (needed.some((p) => p !== 'params' && p !== 'flops')) {
    manualSeed(o.seed ?? 0);
    const cellAffine = (o.network ?? 'benchmark') === 'benchmark';
    const net = new NB201Network({
      ops, C, N, numClasses: o.numClasses, inChannels: channels, affine: cellAffine, trackRunningStats: cellAffine,
    });
    try {
      Object.assign(scores, computeProxies(net, o.batch, needed, o));
    } finally {
      net.dispose();
    }
  }
  if (needed.includes('params') || needed.includes('flops')) {
    const cost = nb201Cost(ops, { input: [channels, height, width], classes: o.numClasses, channels: C, cells: N });
    if (needed.includes('params')) scores.params = cost.params;
    if (needed.includes('flops')) scores.flops = cost.flops;
  }
  synchronize();
  // Report in the order asked for.
  const ordered: ProxyScores = {};
  for (const p of needed) ordered[p] = scores[p];
  return { arch: formatNb201Ops(ops), scores: ordered, seconds: (performance.now() - start) / 1000 };
}

/**
 * One batch of `size` images drawn (seeded) from a dataset, scaled to [0, 1]
 * and normalised, as the proxies' input. With `augment` the images go through
 * those training augmentations (seeded), as a batch from the reference's
 * training loader does. The caller owns x and y.
 */
export function proxyBatch(dataset: Dataset, o: {
  size: number; seed?: number; normalize?: Normalization; resize?: number; augment?: Pick<AugmentOptions, 'crop' | 'flip'>;
}): ProxyBatch {
  if (!(Number.isInteger(o.size) && o.size >= 2)) throw configError(`expected an integer >= 2, got ${o.size}`, 'batch');
  if (o.size > dataset.n) throw configError(`asked for ${o.size} images but ${dataset.name} has ${dataset.n}`, 'batch');
  const rng = new Rng(o.seed ?? 0);
  const indices = Int32Array.from(rng.sample(Array.from({ length: dataset.n }, (_, i) => i), o.size));
  // Only crop and flip of `augment`: a whole AugmentOptions (resize: undefined included) must not undo `resize`.
  const transform = buildTransform(
    { normalize: o.normalize, resize: o.resize, crop: o.augment?.crop, flip: o.augment?.flip }, o.augment !== undefined,
  );
  const { x, y } = makeBatch(dataset, indices, { transform, rng });
  return { x, y };
}

/** The cell of `tsnas bench step --workload proxies`. */
export const PROXIES_BENCH_ARCH = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
/** The proxies that workload computes. */
export const PROXIES_BENCH_SET: readonly ProxyName[] = ['synflow', 'snip', 'grad_norm', 'nwot'];

/**
 * The workload of `tsnas bench step --workload proxies`: synflow, snip,
 * grad_norm and nwot (from shared passes) of the NAS-Bench-201 network
 * C=16, N=5, 10 classes of PROXIES_BENCH_ARCH, on `batch` random 3×32×32
 * inputs. Shaped like src/workloads/step.ts's StepWorkload. The PyTorch baseline
 * is bench/pytorch_proxies.py.
 */
export function proxiesStep(o: { batch: number }): {
  step(): void;
  info: Record<string, number | string>;
  dispose(): void;
} {
  const net = new NB201Network({ ops: parseNb201Ops(PROXIES_BENCH_ARCH), C: 16, N: 5, numClasses: 10, inChannels: 3 });
  const x = randn([o.batch, 3, 32, 32]).keep();
  const y = randint(0, 10, [o.batch]).keep();
  return {
    step: () => {
      tidy(() => computeProxies(net, { x, y }, PROXIES_BENCH_SET));
    },
    info: { params: net.numParameters(), batch: o.batch, arch: PROXIES_BENCH_ARCH, proxies: PROXIES_BENCH_SET.join(',') },
    dispose: () => {
      net.dispose();
      x.dispose();
      y.dispose();
    },
  };
}
