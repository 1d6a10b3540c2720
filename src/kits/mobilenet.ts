// The mobilenet space's kit (Once-for-All's MobileNetV3): per stage depth,
// per layer kernel and expand ratio, and the input resolution, which the
// sample fixes (so its network takes images of that side).
import { MOBILENET_ONNX } from '../export/onnx/networks.js';
import { mobilenetCost } from '../hardware/cost.js';
import { MobilenetNetwork } from '../networks/mobilenet.js';
import { mobilenetSpace, smallestSubnet, type MobilenetConfig, type MobilenetSpace } from '../spaces/mobilenet.js';
import { commonSupernetOptions, MobilenetSupernet } from '../supernets/index.js';
import { mobilenetMorphisms } from './mobilenet-morphisms.js';
import type { Sample } from '../spaces/types.js';
import { registerSpace, type ScaledSample, type ScaleMultipliers, type SpaceKit } from './registry.js';
import { scaledDepth, scaledSize, withValues } from './scale.js';

/**
 * Compound scaling of a mobilenet: each stage of n layers gets round(n·α)
 * (the new ones copies of its last), each stage's width is multiplied by β
 * (the fixed stem and head stay), and the sample's resolution by γ; the
 * depth, width and resolution lists widen to hold the result.
 */
function scaleMobilenet(space: MobilenetSpace, s: Sample, m: ScaleMultipliers): ScaledSample {
  const arch = space.archOf(s);
  const stages = arch.stages.map((layers) => Array.from({ length: scaledDepth(layers.length, m.depth) }, (_, i) => ({ ...layers[Math.min(i, layers.length - 1)]! })));
  const resolution = scaledSize(arch.resolution, m.resolution);
  const options: Required<MobilenetConfig> = {
    ...space.config,
    depths: withValues(space.config.depths, stages.map((l) => l.length)),
    widths: space.config.widths.map((w) => scaledSize(w, m.width)),
    resolutions: withValues(space.config.resolutions, [resolution]),
  };
  return { options, sample: mobilenetSpace(options).fromArch({ resolution, stages }), inputSize: resolution };
}

export const MOBILENET_KIT: SpaceKit<MobilenetSpace> = {
  name: 'mobilenet',
  optionKeys: ['depths', 'expandRatios', 'kernels', 'resolutions', 'widths', 'strides', 'activations', 'squeezeExcite'],
  space: (options) => mobilenetSpace(options as MobilenetConfig | undefined),
  inputSize: (space, s) => space.archOf(s).resolution,
  network: (space, s, o) => new MobilenetNetwork({ arch: space.archOf(s), config: space.config, numClasses: o.numClasses, inChannels: o.inChannels ?? 3 }),
  cost: (space, s, o) => mobilenetCost(space.archOf(s), space.config, o),
  morphisms: mobilenetMorphisms,
  supernet: (space, o) => new MobilenetSupernet(space, { ...commonSupernetOptions(o), ...(o.kernelTransform !== undefined ? { kernelTransform: o.kernelTransform } : {}) }),
  extracts: true,
  scale: scaleMobilenet,
  // Smallest kernel, depth, expand ratio and resolution: the least FLOPs and params.
  cheapest: smallestSubnet,
  onnx: MOBILENET_ONNX,
  testing: { spaceOptions: { resolutions: [32, 40] }, network: { numClasses: 5 }, morphismKinds: ['deepen', 'widen', 'kernel'] },
};

registerSpace(MOBILENET_KIT, { module: import.meta.url });
