// The chain space's kit: a sequence of layers, each with its op, kernel,
// width and activation; the sample fixes the whole network.
import { CHAIN_ONNX } from '../export/onnx/networks.js';
import { chainCost } from '../hardware/cost.js';
import { ChainNetwork } from '../networks/chain.js';
import type { Sample } from '../spaces/types.js';
import { chainSpace, type ChainConfig, type ChainLayer, type ChainSpace } from '../spaces/chain.js';
import { ChainSupernet, commonSupernetOptions } from '../supernets/index.js';
import { chainMorphisms } from './chain-morphisms.js';
import { registerSpace, type ScaledSample, type ScaleMultipliers, type SpaceKit } from './registry.js';
import { scaledDepth, scaledSize, withValues } from './scale.js';

/**
 * Compound scaling of a chain: the layers between pools form stages; each
 * stage of n layers gets round(n·α), the new ones copies of its last; every
 * layer's filters are multiplied by β, and the input side by γ. The pools
 * move with their stages; depth and filter lists widen to hold the result.
 */
function scaleChain(space: ChainSpace, s: Sample, m: ScaleMultipliers, inputSize: number): ScaledSample {
  const layers = space.layersOf(s);
  const { poolAfter } = space.config;
  const scaled: ChainLayer[] = [];
  const newPoolAfter: number[] = [];
  let stage: ChainLayer[] = [];
  const closeStage = () => {
    const n = scaledDepth(stage.length, m.depth);
    for (let i = 0; i < n; i++) {
      const layer = stage[Math.min(i, stage.length - 1)]!;
      scaled.push({ ...layer, filters: scaledSize(layer.filters, m.width) });
    }
    stage = [];
  };
  layers.forEach((layer, i) => {
    stage.push(layer);
    if (poolAfter.includes(i)) {
      closeStage();
      newPoolAfter.push(scaled.length - 1);
    }
  });
  if (stage.length > 0) closeStage();
  // Pools past the last layer stay past it.
  for (const p of poolAfter) if (p >= layers.length) newPoolAfter.push(p - layers.length + scaled.length);
  const options: Required<ChainConfig> = {
    ...space.config,
    maxDepth: Math.max(space.config.maxDepth, scaled.length),
    filters: withValues(space.config.filters, scaled.map((l) => l.filters)),
    poolAfter: newPoolAfter,
  };
  return { options, sample: chainSpace(options).fromLayers(scaled), inputSize: scaledSize(inputSize, m.resolution) };
}

export const CHAIN_KIT: SpaceKit<ChainSpace> = {
  name: 'chain',
  optionKeys: ['minDepth', 'maxDepth', 'ops', 'kernels', 'filters', 'activations', 'poolAfter'],
  space: (options) => chainSpace(options as ChainConfig | undefined),
  network: (space, s, o) => new ChainNetwork({ layers: space.layersOf(s), poolAfter: space.config.poolAfter, numClasses: o.numClasses, inChannels: o.inChannels ?? 3 }),
  cost: (space, s, o) => chainCost(space.layersOf(s), space.config.poolAfter, o),
  morphisms: chainMorphisms,
  supernet: (space, o) => new ChainSupernet(space, commonSupernetOptions(o)),
  extracts: true,
  scale: scaleChain,
  onnx: CHAIN_ONNX,
  testing: { spaceOptions: { maxDepth: 4, filters: [4, 8, 16] }, network: { numClasses: 5, inputSize: 16 }, morphismKinds: ['deepen', 'widen', 'kernel'] },
};

registerSpace(CHAIN_KIT, { module: import.meta.url });
