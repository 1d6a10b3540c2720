// Trained weights for an ONNX export: what the weights say of the network,
// loading them with clear errors (exportWeightsToOnnx in src/kits builds
// the sample's network with them).
import { TsnasError } from '../../errors.js';
import type { Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/index.js';

/** Keys of the first convolution's weight in the built-in networks' state dicts (nb201, hierarchical, darts; mobilenet; chain). */
const FIRST_CONV_KEYS = ['stem.0.weight', 'first_conv.0.weight', 'blocks.0.0.weight'];

/** Classes and image channels a built-in network's weights were trained with (null where the dict does not say). */
export function inferClassesAndChannels(weights: Record<string, Tensor>): { numClasses: number | null; inChannels: number | null } {
  const head = weights['classifier.weight'];
  const firstConv = FIRST_CONV_KEYS.map((k) => weights[k]).find((t) => t !== undefined && t.ndim === 4);
  return { numClasses: head && head.ndim === 2 ? head.size(0) : null, inChannels: firstConv ? firstConv.size(1) : null };
}

/** Copies weights into net; a missing, unexpected or mis-shaped tensor is a data error naming it and the file. */
export function loadWeightsInto(net: Module, weights: Record<string, Tensor>, file: string): void {
  try {
    net.loadStateDict(weights);
  } catch (e) {
    if (e instanceof TsnasError) throw new TsnasError('data', `${e.message} (weights from ${file})`, { where: 'weights', cause: e });
    throw e;
  }
}
