// A fixed network for a sample of any built-in space, in the skeleton the
// cost model (src/hardware/cost.ts) counts: numParameters() equals
// costOf(space, sample, costOptionsFor(options)).params.
import { TsnasError } from '../errors.js';
import type { Module } from '../nn/module.js';
import type { CostOptions } from '../hardware/cost.js';
import { cellOps } from '../spaces/nb201.js';
import { sampleToGenotype } from '../spaces/darts.js';
import type { ChainSpace } from '../spaces/chain.js';
import type { MobilenetSpace } from '../spaces/mobilenet.js';
import type { HierarchicalSpace } from '../spaces/hierarchical.js';
import type { TransformerSpace } from '../spaces/transformer.js';
import { getSpace, SPACE_NAMES, type SpaceOptions } from '../spaces/index.js';
import type { DefinedSpace } from '../spaces/space.js';
import type { Sample } from '../spaces/types.js';
import { NB201Network } from './nb201.js';
import { DartsNetwork } from './darts.js';
import { ChainNetwork } from './chain.js';
import { MobilenetNetwork } from './mobilenet.js';
import { HierarchicalNetwork } from './hierarchical.js';
import { TransformerNetwork } from './transformer.js';

export * from './nb201.js';
export * from './darts.js';
export * from './chain.js';
export * from './mobilenet.js';
export * from './hierarchical.js';
export * from './transformer.js';

export interface BuildNetworkOptions {
  numClasses: number;
  /** Image channels; default 3. */
  inChannels?: number;
  /** nb201: C, channels of the first stage (default 16). darts: initial channels C (default 36). Other spaces take widths from the sample. */
  channels?: number;
  /** nb201: cells per stage N (default 5). darts: number of cells (default 20). Other spaces take depth from the sample. */
  cells?: number;
  /** Image height = width (default 32); darts sizes its auxiliary head with it. mobilenet's resolution is the sample's. */
  inputSize?: number;
  /** darts: build the auxiliary head (default false). */
  auxiliary?: boolean;
  /** darts: drop-path probability while training (default 0). */
  dropPathProb?: number;
  /** darts: reduction cell indices (default layers/3 and 2·layers/3; the cost model assumes the default). */
  reductionCells?: readonly number[];
  /** The space's configuration when it is given by name. */
  spaceOptions?: SpaceOptions;
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
export function networkInputShape(space: DefinedSpace | string, s: Sample, o: Pick<BuildNetworkOptions, 'inChannels' | 'inputSize' | 'spaceOptions'> = {}): [number, number, number] {
  const sp = typeof space === 'string' ? getSpace(space, o.spaceOptions) : space;
  sp.validate(s);
  const c = o.inChannels ?? 3;
  if (sp.name === 'mobilenet') {
    const r = (sp as MobilenetSpace).archOf(s).resolution;
    return [c, r, r];
  }
  const size = o.inputSize ?? 32;
  return [c, size, size];
}

/** The fixed network of a sample; the space is a built-in one, by name or as returned by getSpace. */
export function buildNetwork(space: DefinedSpace | string, s: Sample, o: BuildNetworkOptions): Module {
  const sp = typeof space === 'string' ? getSpace(space, o.spaceOptions) : space;
  sp.validate(s);
  const inChannels = o.inChannels ?? 3;
  const { numClasses } = o;
  switch (sp.name) {
    case 'nb201':
      return new NB201Network({ ops: cellOps(s), C: o.channels ?? 16, N: o.cells ?? 5, numClasses, inChannels });
    case 'darts':
      return new DartsNetwork({
        genotype: sampleToGenotype(s),
        C: o.channels ?? 36,
        layers: o.cells ?? 20,
        numClasses,
        inChannels,
        inputSize: o.inputSize ?? 32,
        auxiliary: o.auxiliary ?? false,
        dropPathProb: o.dropPathProb ?? 0,
        ...(o.reductionCells ? { reductionCells: o.reductionCells } : {}),
      });
    case 'chain': {
      const chain = sp as ChainSpace;
      return new ChainNetwork({ layers: chain.layersOf(s), poolAfter: chain.config.poolAfter, numClasses, inChannels });
    }
    case 'mobilenet': {
      const mb = sp as MobilenetSpace;
      return new MobilenetNetwork({ arch: mb.archOf(s), config: mb.config, numClasses, inChannels });
    }
    case 'hierarchical':
      return new HierarchicalNetwork({ arch: (sp as HierarchicalSpace).archOf(s), numClasses, inChannels });
    case 'transformer': {
      const tf = sp as TransformerSpace;
      return new TransformerNetwork({ arch: tf.archOf(s), patchSize: tf.config.patchSize, headDim: tf.config.headDim, numClasses, inChannels, inputSize: o.inputSize ?? 32 });
    }
    default:
      throw new TsnasError('usage', `no fixed network for space '${sp.name}' (built-in spaces: ${SPACE_NAMES.join(', ')})`, { where: 'space' });
  }
}
