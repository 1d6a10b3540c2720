// From a sample and its safetensors weights to a .onnx file: what the CLI
// (`tsnas export`) and the main job use.
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { TsnasError } from '../../errors.js';
import { buildNetwork, networkInputShape, type BuildNetworkOptions } from '../../networks/index.js';
import type { Module } from '../../nn/module.js';
import type { DefinedSpace } from '../../spaces/space.js';
import type { Sample } from '../../spaces/types.js';
import type { Tensor } from '../../tensor/index.js';
import { loadSafetensors } from '../safetensors.js';
import { exportToOnnx, type OnnxExport } from './export.js';
import './exporters.js';

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

/** Writes bytes to path through a temporary file, so a reader never sees half a model. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

export interface WeightsToOnnxOptions {
  space: DefinedSpace;
  sample: Sample;
  weightsPath: string;
  onnxPath: string;
  /** Network options; numClasses and inChannels default to what the weights say. */
  network?: Partial<BuildNetworkOptions>;
  /** [C, H, W] of one image; default networkInputShape (mobilenet: the sample's resolution). */
  inputShape?: readonly [number, number, number];
}

/**
 * Builds the sample's fixed network, loads its weights, exports it to
 * onnxPath. Returns the export and the network (the caller disposes it).
 */
export function exportWeightsToOnnx(o: WeightsToOnnxOptions): { exported: OnnxExport; net: Module; inputShape: [number, number, number] } {
  if (!existsSync(o.weightsPath)) throw new TsnasError('usage', `weights file ${o.weightsPath} does not exist`, { where: 'weights' });
  const { tensors } = loadSafetensors(o.weightsPath);
  let net: Module | null = null;
  try {
    const inferred = inferClassesAndChannels(tensors);
    const numClasses = o.network?.numClasses ?? inferred.numClasses;
    if (numClasses === null) throw new TsnasError('data', `${o.weightsPath} has no 2-D classifier.weight to take the class count from; give it`, { where: 'weights' });
    const inChannels = o.network?.inChannels ?? o.inputShape?.[0] ?? inferred.inChannels ?? 3;
    // DARTS weights trained with the auxiliary head hold it; eval mode (and so the export) does not use it.
    const auxiliary = o.network?.auxiliary ?? Object.keys(tensors).some((k) => k.startsWith('auxiliary_head.'));
    const buildOptions: BuildNetworkOptions = {
      ...o.network, numClasses, inChannels, ...(o.inputShape ? { inputSize: o.inputShape[1] } : {}), ...(auxiliary ? { auxiliary } : {}),
    };
    const inputShape = o.inputShape ? [...o.inputShape] as [number, number, number] : networkInputShape(o.space, o.sample, buildOptions);
    net = buildNetwork(o.space, o.sample, buildOptions);
    loadWeightsInto(net, tensors, o.weightsPath);
    const exported = exportToOnnx(net, inputShape);
    writeFileAtomic(o.onnxPath, exported.bytes);
    return { exported, net, inputShape };
  } catch (e) {
    net?.dispose();
    throw e;
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}
