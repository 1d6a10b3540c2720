// Resource limits of a one-shot search (FLOPs and params from the space's
// cost model, hardware/cost.ts) and the export of the found architecture as
// a fixed network with the supernet's weights (.safetensors).
import { TsnasError } from '../../errors.js';
import { saveSafetensors } from '../../export/safetensors.js';
import type { Cost } from '../../hardware/cost.js';
import { costOf, getKit, kitNames } from '../../kits/index.js';
import type { Module } from '../../nn/module.js';
import type { DefinedSpace } from '../../spaces/space.js';
import type { SpaceSupernet } from '../../supernets/index.js';
import type { Sample } from '../../spaces/types.js';
import { noGrad, type Tensor } from '../../tensor/index.js';
import { Rng } from '../../util/random.js';
import { recalibrateBatchNorm } from './paths.js';

export interface CostLimits {
  /** At most this many FLOPs (multiply-accumulates, hardware/cost.ts's convention). */
  maxFlops?: number;
  maxParams?: number;
}

export type SampleCost = Cost;

/** The constraint in words, for messages: "--max-flops 1000000 and --max-params 5000". */
export function costLimitsText(limits: CostLimits): string {
  const parts: string[] = [];
  if (limits.maxFlops !== undefined) parts.push(`--max-flops ${limits.maxFlops}`);
  if (limits.maxParams !== undefined) parts.push(`--max-params ${limits.maxParams}`);
  return parts.join(' and ') || 'no limit';
}

export function withinLimits(cost: Cost, limits: CostLimits): boolean {
  return (limits.maxFlops === undefined || cost.flops <= limits.maxFlops) && (limits.maxParams === undefined || cost.params <= limits.maxParams);
}

/**
 * FLOPs and params of a sample of the space as the one-shot search builds
 * it: its classes, the input the loader feeds (mobilenet takes the sample's
 * resolution instead), and for sized spaces (nb201, darts) the supernet's C and cells.
 */
export function oneShotCostModel(
  space: DefinedSpace,
  o: { numClasses: number; input: readonly [number, number, number]; C: number; cells: number },
): (s: Sample) => Cost {
  const cellOptions = getKit(space.name).sized ? { channels: o.C, cells: o.cells } : {};
  return (s) => costOf(space, s, { classes: o.numClasses, input: [o.input[0], o.input[1], o.input[2]], ...cellOptions });
}

/** Draws tried when looking for an architecture within the limits of a space without a known cheapest one. */
const FEASIBILITY_DRAWS = 2000;

/**
 * Fails before any training when no architecture can meet the limits: the
 * cheapest sample, where the space's kit knows it (mobilenet: smallest
 * everything), is checked exactly; other spaces by random draws (a fixed
 * seed: the run's own draws are untouched).
 */
export function requireFeasible(space: DefinedSpace, costModel: (s: Sample) => Cost, limits: CostLimits): void {
  if (limits.maxFlops === undefined && limits.maxParams === undefined) return;
  const violated = (c: Cost) => (limits.maxFlops !== undefined && c.flops > limits.maxFlops ? '--max-flops' : '--max-params');
  const cheapest = getKit(space.name).cheapest;
  if (cheapest) {
    const smallest = cheapest(space);
    const cost = costModel(smallest);
    if (withinLimits(cost, limits)) return;
    throw new TsnasError('usage', `no sub-network meets ${costLimitsText(limits)}: the smallest (${space.format(smallest)}) has ${cost.flops} FLOPs and ${cost.params} params`, { where: violated(cost) });
  }
  const rng = new Rng(0);
  let lowest: Cost | null = null;
  for (let i = 0; i < FEASIBILITY_DRAWS; i++) {
    const cost = costModel(space.sample(rng));
    if (withinLimits(cost, limits)) return;
    if (!lowest || cost.flops + cost.params < lowest.flops + lowest.params) lowest = cost;
  }
  throw new TsnasError('usage', `no architecture of the ${space.name} space drawn in ${FEASIBILITY_DRAWS} tries meets ${costLimitsText(limits)}; the cheapest drawn has ${lowest!.flops} FLOPs and ${lowest!.params} params`, { where: violated(lowest!) });
}

/** Fails unless the space's supernet extracts fixed networks with their weights (its kit's `extracts`): what --export writes. */
export function requireExportable(space: string): void {
  if (!getKit(space).extracts) {
    throw new TsnasError('usage', `exporting the found network needs a supernet that extracts fixed networks (--space ${kitNames((k) => k.extracts).join(', ')}), got '${space}'`, { where: '--export' });
  }
}

interface Extracting {
  extract(s: Sample): Module;
}

/** Whether the supernet can extract a sample's fixed network. */
export function canExtract(supernet: SpaceSupernet): supernet is SpaceSupernet & Extracting {
  return typeof (supernet as Partial<Extracting>).extract === 'function';
}

/**
 * The weights of a sample's fixed network inherited from the supernet, as
 * that network's state dict (copies, owned by the caller): the supernet's
 * path is set to the sample, batch norm is recalibrated on the given inputs
 * (the shared running statistics fit no single path), and the network is
 * extracted.
 */
export function inheritedWeights(supernet: SpaceSupernet, s: Sample, calibration: readonly Tensor[]): Record<string, Tensor> {
  if (!canExtract(supernet)) requireExportable(supernet.space.name);
  supernet.setActive(s);
  recalibrateBatchNorm(supernet, calibration);
  const fixed = (supernet as SpaceSupernet & Extracting).extract(s);
  try {
    return Object.fromEntries(Object.entries(fixed.stateDict()).map(([k, t]) => [k, noGrad(() => t.clone())]));
  } finally {
    fixed.dispose();
  }
}

/** Writes a fixed network's weights (inheritedWeights) to a .safetensors file with the metadata. */
export function writeSubnetwork(path: string, weights: Record<string, Tensor>, metadata: Record<string, string>): void {
  try {
    saveSafetensors(path, weights, metadata);
  } catch (e) {
    throw new TsnasError('usage', `cannot write ${path}: ${(e as Error).message}`, { where: '--export', cause: e });
  }
}

