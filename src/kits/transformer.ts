// The transformer space's kit: a Vision Transformer whose embedding width,
// depth, and per-layer heads and MLP ratio the sample chooses.
import { TRANSFORMER_ONNX } from '../export/onnx/networks.js';
import { transformerCost } from '../hardware/cost.js';
import { TransformerNetwork } from '../networks/transformer.js';
import { transformerSpace, type TransformerConfig, type TransformerSpace } from '../spaces/transformer.js';
import { commonSupernetOptions, TransformerSupernet } from '../supernets/index.js';
import { registerSpace, type SpaceKit } from './registry.js';

export const TRANSFORMER_KIT: SpaceKit<TransformerSpace> = {
  name: 'transformer',
  optionKeys: ['patchSize', 'embedDims', 'depths', 'heads', 'mlpRatios', 'headDim'],
  space: (options) => transformerSpace(options as TransformerConfig | undefined),
  network: (space, s, o) => new TransformerNetwork({
    arch: space.archOf(s), patchSize: space.config.patchSize, headDim: space.config.headDim,
    numClasses: o.numClasses, inChannels: o.inChannels ?? 3, inputSize: o.inputSize ?? 32,
  }),
  cost: (space, s, o) => transformerCost(space.archOf(s), space.config, o),
  // The position embedding is built for the data's image side.
  supernet: (space, o) => new TransformerSupernet(space, { ...commonSupernetOptions(o), ...(o.inputSize !== undefined ? { inputSize: o.inputSize } : {}) }),
  extracts: true,
  onnx: TRANSFORMER_ONNX,
  testing: { network: { numClasses: 5, inputSize: 16 } },
};

registerSpace(TRANSFORMER_KIT, { module: import.meta.url });
