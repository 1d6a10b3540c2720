// One-shot search over a weight-sharing supernet: how an architecture of a
// space becomes a path through the supernet (one candidate per mixed op),
// how paths are sampled during supernet training, and how a path is
// evaluated with inherited weights after batch-norm recalibration.
import { configError } from '../../errors.js';
import { BatchNorm2d } from '../../nn/layers.js';
import type { Module } from '../../nn/module.js';
import type { SinglePathMixing } from '../../spaces/supernet.js';
import type { Sample, SearchSpace, Value } from '../../spaces/types.js';
import { noGrad, tidy, type Tensor } from '../../tensor/index.js';
import type { Rng } from '../../util/random.js';
import type { SpaceSupernet } from '../../supernets/index.js';

/** A space whose samples are paths of a supernet. */
export interface OneShotSpace {
  name: string;
  space: SearchSpace;
  /** The supernet path (edge label -> op) of a sample of the space. */
  pathOf(s: Sample): Sample;
}

/** Every label's value on the supernet's current single path. */
export function currentPath(supernet: SpaceSupernet): Sample {
  const path: Record<string, Value> = {};
  for (const [label, values] of supernet.labels()) path[label] = values[supernet.mixing.chosenIndex(label)]!;
  return path;
}

/**
 * The samples of a supernet's space as its paths (any space): the path is
 * the one setActive picks (DARTS genotypes become edge paths; labels a sample
 * leaves inactive, e.g. layers beyond its depth, keep a value the forward ignores).
 */
export function supernetSpace(supernet: SpaceSupernet): OneShotSpace {
  return {
    name: supernet.space.name,
    space: supernet.space,
    pathOf: (s) => {
      supernet.setActive(s);
      return currentPath(supernet);
    },
  };
}

/**
 * FairNAS strict fairness: in every group of n consecutive paths (n = the
 * largest number of candidates), each label takes each of its candidates
 * exactly once (labels with fewer candidates repeat a random one).
 */
export function strictFairPaths(labels: ReadonlyMap<string, readonly Value[]>, rng: Rng): Sample[] {
  const n = Math.max(...[...labels.values()].map((v) => v.length));
  const paths: Record<string, Value>[] = Array.from({ length: n }, () => ({}));
  for (const [label, values] of labels) {
    const order = rng.shuffle(values.map((_, i) => i));
    while (order.length < n) order.push(rng.int(values.length));
    order.forEach((k, step) => (paths[step]![label] = values[k]!));
  }
  return paths;
}

/**
 * The sandwich rule (BigNAS, Yu et al. 2020): the largest path, the smallest
 * and `random` random ones. Largest and smallest take each elastic (numeric)
 * label's largest or smallest value (depth, width, kernel, expansion); other
 * labels (e.g. an activation) keep the first random path's value. Throws a
 * config error naming `sandwich` when no label is numeric (no size to span).
 */
export function sandwichPaths(labels: ReadonlyMap<string, readonly Value[]>, randomPaths: readonly Sample[]): Sample[] {
  const numeric = [...labels].filter(([, values]) => values.every((v) => typeof v === 'number'));
  if (numeric.length === 0) throw configError('the sandwich rule spans the sizes of elastic spaces (numeric choices such as depth, width, kernel); this supernet has none', 'strategy.options.sandwich');
  const base = randomPaths[0]!;
  const extreme = (pick: (xs: number[]) => number): Sample => {
    const path: Record<string, Value> = { ...base };
    for (const [label, values] of numeric) path[label] = pick(values as number[]);
    return path;
  };
  return [extreme((xs) => Math.max(...xs)), extreme((xs) => Math.min(...xs)), ...randomPaths];
}

/**
 * Resets every batch norm's running statistics and re-estimates them as a
 * cumulative average over the given batches in the current path (SPOS's
 * recalibration: shared statistics do not fit any single path).
 */
export function recalibrateBatchNorm(net: Module, inputs: readonly Tensor[]): void {
  const norms = net.modules().filter((m): m is BatchNorm2d => m instanceof BatchNorm2d && m.trackRunningStats);
  const momenta = norms.map((bn) => bn.momentum);
  noGrad(() => {
    for (const bn of norms) {
      bn.runningMean?.zero_();
      bn.runningVar?.fill_(1);
      bn.numBatchesTracked?.zero_();
      (bn as { momentum: number | null }).momentum = null;
    }
  });
  const wasTraining = net.training;
  try {
    net.train();
    for (const x of inputs) tidy(() => noGrad(() => void net.call(x)));
  } finally {
    norms.forEach((bn, i) => ((bn as { momentum: number | null }).momentum = momenta[i]!));
    net.train(wasTraining);
  }
}

/** Accuracy of the supernet's current path on labelled batches, in eval mode. */
export function pathAccuracy(net: Module, batches: readonly { x: Tensor; y: Tensor }[]): number {
  const wasTraining = net.training;
  net.eval();
  let correct = 0;
  let n = 0;
  try {
    for (const b of batches) {
      correct += tidy(() => noGrad(() => net.call(b.x).argmax(1).eq(b.y).sum().item()));
      n += b.y.size(0);
    }
  } finally {
    net.train(wasTraining);
  }
  return n ? correct / n : NaN;
}

/** Sets the path of a sample, recalibrates batch norm, and measures accuracy with the inherited weights. */
export function evaluateWithInheritedWeights(
  net: Module,
  mixing: SinglePathMixing,
  path: Sample,
  calibration: readonly Tensor[],
  batches: readonly { x: Tensor; y: Tensor }[],
): number {
  mixing.setPath(path);
  recalibrateBatchNorm(net, calibration);
  return pathAccuracy(net, batches);
}
