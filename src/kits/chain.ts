// The chain space's kit: a sequence of layers, each with its op, kernel,
// width and activation; the sample fixes the whole network.
import { CHAIN_ONNX } from '../export/onnx/networks.js';
import { chainCost } from '../hardware/cost.js';
import { ChainNetwork } from '../networks/chain.js';
import { chainSpace, type ChainConfig, type ChainSpace } from '../spaces/chain.js';
import { ChainSupernet, commonSupernetOptions } from '../supernets/index.js';
import { chainMorphisms } from './chain-morphisms.js';
import { registerSpace, type SpaceKit } from './registry.js';

export const CHAIN_KIT: SpaceKit<ChainSpace> = {
  name: 'chain',
  optionKeys: ['minDepth', 'maxDepth', 'ops', 'kernels', 'filters', 'activations', 'poolAfter'],
  space: (options) => chainSpace(options as ChainConfig | undefined),
  network: (space, s, o) => new ChainNetwork({ layers: space.layersOf(s), poolAfter: space.config.poolAfter, numClasses: o.numClasses, inChannels: o.inChannels ?? 3 }),
  cost: (space, s, o) => chainCost(space.layersOf(s), space.config.poolAfter, o),
  morphisms: chainMorphisms,
  supernet: (space, o) => new ChainSupernet(space, commonSupernetOptions(o)),
  extracts: true,
  onnx: CHAIN_ONNX,
  testing: { spaceOptions: { maxDepth: 4, filters: [4, 8, 16] }, network: { numClasses: 5, inputSize: 16 }, morphismKinds: ['deepen', 'widen', 'kernel'] },
};

registerSpace(CHAIN_KIT, { module: import.meta.url });
