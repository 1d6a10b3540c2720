// tsnas export --space S --arch A --weights w.safetensors --onnx out.onnx:
// the sample's fixed network with its trained weights as an ONNX model
// (eval mode, dynamic batch), checked once in onnxruntime against tsnas's
// own forward on a random input.
import { performance } from 'node:perf_hooks';
import { TsnasError, usageError } from '../../errors.js';
import { checkOnnxAgainstModule } from '../../export/onnx/index.js';
import { exportWeightsToOnnx, getKit, getSpace, kitNames } from '../../kits/index.js';
import { parseSpaceOptions } from '../space-options.js';
import type { DefinedSpace } from '../../spaces/space.js';
import type { Sample } from '../../spaces/types.js';
import { manualSeed, setNumThreads } from '../../tensor/index.js';
import { checkOutputFile } from '../../util/files.js';
import { computeFlags } from '../args.js';
import { defineCommand } from '../command.js';
import { emitJson, log } from '../output.js';

/** Relative difference above which the check fails: float32 reorderings stay far below it. */
const MAX_RELATIVE_DIFFERENCE = 1e-3;

/** "C,H,W" (or CxHxW) as [channels, height, width]. */
export function parseChannelsHeightWidth(text: string, flag = '--input'): [number, number, number] {
  const parts = text.trim().split(/[,x×]/);
  if (parts.length !== 3 || parts.some((p) => !/^\d+$/.test(p.trim()) || Number(p) < 1)) {
    throw usageError(`expected C,H,W with three positive integers, e.g. 3,32,32, got '${text}'`, flag);
  }
  return parts.map(Number) as [number, number, number];
}

function parseArch(space: DefinedSpace, text: string): Sample {
  try {
    return space.parseArch(text);
  } catch (e) {
    if (e instanceof TsnasError) {
      const message = e.where === 'arch' ? e.message.slice('arch: '.length) : e.message;
      throw new TsnasError(e.code, message, { where: '--arch', cause: e });
    }
    throw e;
  }
}

export const exportCommand = defineCommand({
  name: 'export',
  summary: "write a sample's trained fixed network as ONNX (dynamic batch) and check it in onnxruntime",
  flags: {
    space: { type: 'string', help: 'built-in search space', required: true, choices: kitNames() },
    arch: { type: 'string', help: "the architecture: the space's text form or a JSON sample", required: true },
    'space-options': { type: 'string', help: 'chain, mobilenet, hierarchical, transformer: the space\'s configuration as JSON' },
    weights: { type: 'string', help: 'trained weights (.safetensors, tensor names as the network\'s state dict)', required: true },
    onnx: { type: 'string', help: 'the ONNX file to write', required: true },
    classes: { type: 'int', help: 'number of classes (default: the rows of classifier.weight)', min: 1 },
    input: { type: 'string', help: 'one image as C,H,W (default: channels from the weights, 32x32; mobilenet: the sample resolution)' },
    channels: { type: 'int', help: 'nb201: C of the first stage (default 16); darts: initial channels (default 36)', min: 1 },
    cells: { type: 'int', help: 'nb201: cells per stage N (default 5); darts: number of cells (default 20)', min: 1 },
    'check-batch': { type: 'int', help: 'batch size of the onnxruntime check', default: 2, min: 1 },
    ...computeFlags,
  },
  async run({ flags }) {
    const spaceName = flags['space'] as string;
    const space: DefinedSpace = getSpace(spaceName, parseSpaceOptions(flags['space-options'] as string | undefined, spaceName));
    const sample = parseArch(space, flags['arch'] as string);
    const input = flags['input'] === undefined ? undefined : parseChannelsHeightWidth(flags['input'] as string);
    // A sample that fixes its image side (mobilenet's resolution) takes no other.
    const side = getKit(spaceName).inputSize?.(space, sample);
    if (input && side !== undefined) {
      const [, h, w] = input;
      if (h !== side || w !== side) throw usageError(`${spaceName} networks take the sample's resolution ${side}x${side}, got ${h}x${w}`, '--input');
    }
    const onnxPath = flags['onnx'] as string;
    checkOutputFile(onnxPath, '--onnx');
    if (flags['threads'] !== undefined) setNumThreads(flags['threads'] as number);
    manualSeed(flags['seed'] as number);
    const started = performance.now();
    const { exported, net, inputShape } = exportWeightsToOnnx({
      space, sample, weightsPath: flags['weights'] as string, onnxPath,
      network: {
        ...(flags['classes'] !== undefined ? { numClasses: flags['classes'] as number } : {}),
        ...(flags['channels'] !== undefined ? { channels: flags['channels'] as number } : {}),
        ...(flags['cells'] !== undefined ? { cells: flags['cells'] as number } : {}),
      },
      ...(input ? { inputShape: input } : {}),
    });
    try {
      const exportSeconds = (performance.now() - started) / 1000;
      log(`export: wrote ${onnxPath} (${exported.bytes.length} bytes, ${exported.nodeCount} nodes, opset ${exported.opset}) in ${exportSeconds.toFixed(2)} s`);
      const check = await checkOnnxAgainstModule(exported.bytes, net, inputShape, { batch: flags['check-batch'] as number });
      const summary = `onnxruntime vs tsnas on a random [${[check.batch, ...inputShape].join(', ')}] input: max abs difference ${check.maxAbsDiff.toExponential(3)} ` +
        `(relative ${check.maxRelDiff.toExponential(3)}), output [${check.outputShape.join(', ')}]`;
      process.stdout.write(`${onnxPath}: ${exported.bytes.length} bytes, opset ${exported.opset}\n${summary}\n`);
      if (flags['json']) emitJson({ onnx: onnxPath, bytes: exported.bytes.length, max_abs_diff: check.maxAbsDiff, opset: exported.opset });
      if (!(check.maxRelDiff <= MAX_RELATIVE_DIFFERENCE)) {
        throw new TsnasError('internal', `the ONNX model disagrees with tsnas's forward (relative difference ${check.maxRelDiff} > ${MAX_RELATIVE_DIFFERENCE}); please report it`);
      }
      return 0;
    } finally {
      net.dispose();
    }
  },
});
