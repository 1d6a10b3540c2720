// The mobilenet space's kit (Once-for-All's MobileNetV3): per stage depth,
// per layer kernel and expand ratio, and the input resolution, which the
// sample fixes (so its network takes images of that side).
import { MOBILENET_ONNX } from '../export/onnx/networks.js';
import { mobilenetCost } from '../hardware/cost.js';
import { MobilenetNetwork } from '../networks/mobilenet.js';
import { mobilenetSpace, smallestSubnet, type MobilenetConfig, type MobilenetSpace } from '../spaces/mobilenet.js';
import { commonSupernetOptions, MobilenetSupernet } from '../supernets/index.js';
import { mobilenetMorphisms } from './mobilenet-morphisms.js';
import { registerSpace, type SpaceKit } from './registry.js';

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
  // Smallest kernel, depth, expand ratio and resolution: the least FLOPs and params.
  cheapest: smallestSubnet,
  onnx: MOBILENET_ONNX,
  testing: { spaceOptions: { resolutions: [32, 40] }, network: { numClasses: 5 }, morphismKinds: ['deepen', 'widen', 'kernel'] },
};

registerSpace(MOBILENET_KIT, { module: import.meta.url });
