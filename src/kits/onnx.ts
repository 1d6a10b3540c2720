// From a sample of any registered space and its safetensors weights to a
// .onnx file: what the CLI (`tsnas export`) and the main job use. The
// network comes from the space's kit, whose exporters know its modules.
import { TsnasError } from '../errors.js';
import { exportToOnnx, inferClassesAndChannels, loadWeightsInto, type OnnxExport } from '../export/onnx/index.js';
import { loadSafetensors } from '../export/safetensors.js';
import { writeFileAtomic } from '../util/files.js';
import type { BuildNetworkOptions } from '../networks/index.js';
import { checkNetworkInput, type Module } from '../nn/module.js';
import type { DefinedSpace } from '../spaces/space.js';
import type { Sample } from '../spaces/types.js';
import { buildNetwork, networkInputShape } from './build.js';

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
    checkNetworkInput(net, inputShape, 'input');
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
