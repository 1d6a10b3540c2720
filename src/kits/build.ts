// What tsnas does with a sample of any registered space, through the
// space's kit: its fixed network, input shape, cost, supernet and latency
// model. A space is given as a DefinedSpace (its kit is found by name) or
// by name (with its options).
import { TsnasError } from '../errors.js';
import type { Cost, CostOptions } from '../hardware/cost.js';
import type { LatencyModel, LatencyTable } from '../hardware/latency.js';
import type { BuildNetworkOptions } from '../networks/index.js';
import type { Morphism } from '../networks/morphism.js';
import { checkNetworkInput, type Module } from '../nn/module.js';
import type { DefinedSpace } from '../spaces/space.js';
import { isHyperparameterSpace } from '../spaces/hyperparameters.js';
import { SinglePathMixing } from '../spaces/supernet.js';
import type { Sample } from '../spaces/types.js';
import type { SpaceSupernet, SupernetOptions } from '../supernets/index.js';
import { Rng } from '../util/random.js';
import { getKit, getSpace, kitNames, type SpaceKit, type SpaceOptions } from './registry.js';

/** Options of a network of a space given by name: its options come along. */
export type NetworkOptions = BuildNetworkOptions & { spaceOptions?: SpaceOptions };

const resolve = (space: DefinedSpace | string, options?: SpaceOptions): { space: DefinedSpace; kit: SpaceKit } =>
  typeof space === 'string' ? { space: getSpace(space, options), kit: getKit(space) } : { space, kit: getKit(space.name) };

/** The architecture part of a space with training hyperparameters (the network is the architecture's); other spaces as they are. */
function architectureOf(space: DefinedSpace, s: Sample): { space: DefinedSpace; sample: Sample } {
  return isHyperparameterSpace(space) ? { space: space.architecture, sample: space.split(s).architecture } : { space, sample: s };
}

/** The cost-model options that describe the same network (costOf(space, s, costOptionsFor(o)).params = numParameters()). */
export function costOptionsFor(o: BuildNetworkOptions): CostOptions {
  const size = o.inputSize ?? 32;
  return {
    input: [o.inChannels ?? 3, size, size],
    classes: o.numClasses,
    ...(o.channels !== undefined ? { channels: o.channels } : {}),
    ...(o.cells !== undefined ? { cells: o.cells } : {}),
    auxiliary: o.auxiliary ?? false,
  };
}

/** The [channels, height, width] of one input image of the sample's network (mobilenet: the sample's resolution). */
export function networkInputShape(space: DefinedSpace | string, s: Sample, o: Pick<NetworkOptions, 'inChannels' | 'inputSize' | 'spaceOptions'> = {}): [number, number, number] {
  const resolved = resolve(space, o.spaceOptions);
  const { space: sp, sample } = architectureOf(resolved.space, s);
  sp.validate(sample);
  const side = resolved.kit.inputSize?.(sp, sample) ?? o.inputSize ?? 32;
  return [o.inChannels ?? 3, side, side];
}

/** The fixed network of a sample of a registered space (by name, or as getSpace or the space's constructor gives it). */
export function buildNetwork(space: DefinedSpace | string, s: Sample, o: NetworkOptions): Module {
  const resolved = resolve(space, o.spaceOptions);
  const { space: sp, sample } = architectureOf(resolved.space, s);
  sp.validate(sample);
  return resolved.kit.network(sp, sample, o);
}

/**
 * Throws a usage error naming `where` unless the space's networks built
 * with these options take their images: one sample's network (the kit's
 * cheapest, else a seeded random sample) is probed with checkNetworkInput.
 * What a search would otherwise learn from failed trials, or after hours.
 */
export function checkSpaceInput(space: DefinedSpace, o: BuildNetworkOptions, where: string, seed = 0): void {
  const s = getKit(space.name).cheapest?.(space) ?? space.sample(new Rng(seed));
  const shape = networkInputShape(space, s, o);
  const net = buildNetwork(space, s, { ...o, inputSize: shape[1] });
  try {
    checkNetworkInput(net, shape, where);
  } finally {
    net.dispose();
  }
}

/** Params and FLOPs of a sample of a registered space. */
export function costOf(space: DefinedSpace, s: Sample, o: CostOptions = {}): Cost {
  const { space: sp, sample } = architectureOf(space, s);
  sp.validate(sample);
  return getKit(sp.name).cost(sp, sample, o);
}

/** The function-preserving morphisms of a sample (children with weight inheritance); a space without them is a usage error. */
export function morphismsOf(space: DefinedSpace, s: Sample, rng: Rng): Morphism[] {
  const kit = getKit(space.name);
  if (!kit.morphisms) {
    throw new TsnasError('usage', `no network morphisms for space '${space.name}' (spaces with them: ${kitNames((k) => k.morphisms).join(', ')})`, { where: 'space' });
  }
  space.validate(s);
  return kit.morphisms(space, s, rng);
}

/**
 * `count` random morphisms applied one after another from sample s (fewer
 * when a sample has none left): each is drawn from the previous one's child's
 * morphisms, so replaying with an Rng of the same seed gives the same path.
 */
export function morphismPath(space: DefinedSpace, s: Sample, count: number, rng: Rng): Morphism[] {
  const path: Morphism[] = [];
  let sample = s;
  for (let i = 0; i < count; i++) {
    const options = morphismsOf(space, sample, rng);
    if (options.length === 0) break;
    const m = rng.choice(options);
    path.push(m);
    sample = m.child;
  }
  return path;
}

/** The supernet of a registered space (single path unless o.mixing says otherwise); a space without one is a usage error. */
export function buildSupernet(space: DefinedSpace | string, o: SupernetOptions & { spaceOptions?: SpaceOptions }): SpaceSupernet {
  const { space: sp, kit } = resolve(space, o.spaceOptions);
  if (!kit.supernet) {
    throw new TsnasError('usage', `no supernet for space '${sp.name}' (spaces with one: ${kitNames((k) => k.supernet).join(', ')})`, { where: '--space' });
  }
  const { spaceOptions: _, ...rest } = o;
  return kit.supernet(sp, { ...rest, mixing: o.mixing ?? new SinglePathMixing() });
}

/** The latency model of a space (by name, or the space a table was measured for); a space without latency edges is a usage error. */
export function latencyModel(spaceOrTable: string | LatencyTable): LatencyModel {
  const name = typeof spaceOrTable === 'string' ? spaceOrTable : spaceOrTable.network.space;
  const kit = getKit(name);
  if (!kit.latency) {
    throw new TsnasError('usage', `space '${name}' has no latency table model (spaces with one: ${kitNames((k) => k.latency).join(', ')})`, { where: '--space' });
  }
  const space = kit.space();
  return {
    ...kit.latency,
    space,
    network: (c, s) => kit.network(space, s, { numClasses: c.numClasses, inChannels: c.inChannels, channels: c.channels, cells: c.cells, inputSize: c.resolution }),
  };
}

/** A kit's small test setting: its space with the test options, and the network options. */
export function smallSetting(kit: SpaceKit): { space: DefinedSpace; options: BuildNetworkOptions } {
  return { space: kit.space(kit.testing.spaceOptions), options: kit.testing.network };
}
