// tsnas export --space S --arch A --weights w.safetensors --onnx out.onnx:
// the sample's fixed network with its trained weights as an ONNX model
// (eval mode, dynamic batch), checked once in onnxruntime against tsnas's
// own forward on a random input.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { TsnasError, usageError } from '../../errors.js';
import { checkOnnxAgainstModule, exportToOnnx, onnxRuntimeAvailable, type OnnxExport } from '../../export/onnx/index.js';
import { loadTrainedModel } from '../../experiment/predict.js';
import type { Module } from '../../nn/module.js';
import { writeWebApp } from '../../export/web.js';
import { exportWeightsToOnnx, getKit, getSpace, kitNames } from '../../kits/index.js';
import { parseSpaceOptions } from '../space-options.js';
import type { DefinedSpace } from '../../spaces/space.js';
import type { Sample } from '../../spaces/types.js';
import { manualSeed, setNumThreads } from '../../tensor/index.js';
import { checkOutputFile, writeFileAtomic } from '../../util/files.js';
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

function parseNumbers(text: string, flag: string): number[] {
  const values = text.split(',').map((t) => t.trim());
  if (values.some((v) => !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v))) throw usageError(`expected comma-separated numbers, got '${text}'`, flag);
  return values.map(Number);
}

/** "a,b,c" or "@file" (one name per line). */
function parseLabels(text: string): string[] {
  let names: string[];
  if (text.startsWith('@')) {
    const file = text.slice(1);
    if (!existsSync(file) || !statSync(file).isFile()) throw usageError(`labels file ${file} does not exist`, '--labels');
    names = readFileSync(file, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  } else {
    names = text.split(',').map((l) => l.trim());
  }
  if (names.length === 0 || names.some((n) => n === '')) throw usageError(`expected class names, got '${text}'`, '--labels');
  return names;
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
  summary: "write a sample's trained fixed network as ONNX (dynamic batch), checked in onnxruntime, and optionally a web page running it",
  flags: {
    model: { type: 'string', help: 'a model of tsnas fit (its --out directory): space, architecture, weights, classes and normalisation come from it' },
    space: { type: 'string', help: 'built-in search space (required without --model)', choices: kitNames() },
    arch: { type: 'string', help: "the architecture: the space's text form or a JSON sample (required without --model)" },
    'space-options': { type: 'string', help: `${kitNames((k) => k.optionKeys.length > 0).join(', ')}: the space's configuration as JSON` },
    weights: { type: 'string', help: 'trained weights (.safetensors, tensor names as the network\'s state dict; required without --model)' },
    onnx: { type: 'string', help: 'the ONNX file to write (required unless --web is given)' },
    web: { type: 'string', help: 'also write a web page classifying images with the model in onnxruntime-web, into this folder (model.onnx in it)' },
    labels: { type: 'string', help: 'with --web: class names, comma-separated, or @FILE with one per line' },
    mean: { type: 'string', help: 'with --web: per-channel means the network was trained with, comma-separated' },
    std: { type: 'string', help: 'with --web: per-channel standard deviations, comma-separated' },
    classes: { type: 'int', help: 'number of classes (default: the rows of classifier.weight)', min: 1 },
    input: { type: 'string', help: 'one image as C,H,W (default: channels from the weights, 32x32; mobilenet: the sample resolution)' },
    channels: { type: 'int', help: 'nb201: C of the first stage (default 16); darts: initial channels (default 36)', min: 1 },
    cells: { type: 'int', help: 'nb201: cells per stage N (default 5); darts: number of cells (default 20)', min: 1 },
    'check-batch': { type: 'int', help: 'batch size of the onnxruntime check', default: 2, min: 1 },
    ...computeFlags,
  },
  async run({ flags }) {
    const fromModel = flags.model;
    const own = ['space', 'arch', 'weights', 'space-options', 'classes', 'input', 'channels', 'cells'] as const;
    const required = (f: 'space' | 'arch' | 'weights'): string => {
      const value = flags[f];
      if (value === undefined) throw usageError('required (or give --model DIR, a model of tsnas fit)', `--${f}`);
      return value;
    };
    let fromFlags: { space: string; arch: string; weights: string } | undefined;
    if (fromModel !== undefined) {
      for (const f of [...own, 'labels', 'mean', 'std'] as const) if (flags[f] !== undefined) throw usageError(`--model gives it: leave out --${f}`, `--${f}`);
    } else {
      fromFlags = { space: required('space'), arch: required('arch'), weights: required('weights') };
    }
    if (flags.threads !== undefined) setNumThreads(flags.threads);
    manualSeed(flags.seed);
    const started = performance.now();
    const web = flags.web;
    if (flags.onnx === undefined && web === undefined) throw usageError('give --onnx FILE, --web DIR or both', '--onnx');
    for (const f of ['labels', 'mean', 'std'] as const) if (flags[f] !== undefined && web === undefined) throw usageError('only the web page uses it: add --web DIR', `--${f}`);
    let labels = flags.labels === undefined ? undefined : parseLabels(flags.labels);
    let mean = flags.mean === undefined ? undefined : parseNumbers(flags.mean, '--mean');
    let std = flags.std === undefined ? undefined : parseNumbers(flags.std, '--std');
    const onnxPath = flags.onnx ?? join(web!, 'model.onnx');
    if (flags.onnx !== undefined) checkOutputFile(onnxPath, '--onnx');
    let exported: OnnxExport;
    let net: Module;
    let inputShape: [number, number, number];
    let title: string;
    if (!fromFlags) {
      const model = loadTrainedModel(fromModel!);
      net = model.net;
      const side = model.augment.resize ?? model.imageSize;
      inputShape = [model.inChannels, side, side];
      try {
        exported = exportToOnnx(net, inputShape);
      } catch (e) {
        net.dispose();
        throw e;
      }
      ({ mean, std } = model.augment.normalize ?? {});
      labels = model.classes;
      title = model.arch;
      if (web !== undefined) mkdirSync(web, { recursive: true });
      writeFileAtomic(onnxPath, exported.bytes);
    } else {
      const spaceName = fromFlags.space;
      const space: DefinedSpace = getSpace(spaceName, parseSpaceOptions(flags['space-options'], spaceName));
      const sample = parseArch(space, fromFlags.arch);
      const input = flags.input === undefined ? undefined : parseChannelsHeightWidth(flags.input);
      // A sample that fixes its image side (mobilenet's resolution) takes no other.
      const side = getKit(spaceName).inputSize?.(space, sample);
      if (input && side !== undefined) {
        const [, h, w] = input;
        if (h !== side || w !== side) throw usageError(`${spaceName} networks take the sample's resolution ${side}x${side}, got ${h}x${w}`, '--input');
      }
      if (web !== undefined) mkdirSync(web, { recursive: true });
      ({ exported, net, inputShape } = exportWeightsToOnnx({
        space, sample, weightsPath: fromFlags.weights, onnxPath,
        network: {
          ...(flags.classes !== undefined ? { numClasses: flags.classes } : {}),
          ...(flags.channels !== undefined ? { channels: flags.channels } : {}),
          ...(flags.cells !== undefined ? { cells: flags.cells } : {}),
        },
        ...(input ? { inputShape: input } : {}),
      }));
      title = `${spaceName} ${space.format(sample)}`;
    }
    try {
      const exportSeconds = (performance.now() - started) / 1000;
      log(`export: wrote ${onnxPath} (${exported.bytes.length} bytes, ${exported.nodeCount} nodes, opset ${exported.opset}) in ${exportSeconds.toFixed(2)} s`);
      // onnxruntime-node is an optional peer: without it the file is written unchecked, and says so.
      const check = await onnxRuntimeAvailable() ? await checkOnnxAgainstModule(exported.bytes, net, inputShape, { batch: flags['check-batch'] }) : null;
      if (check) {
        const summary = `onnxruntime vs tsnas on a random [${[check.batch, ...inputShape].join(', ')}] input: max abs difference ${check.maxAbsDiff.toExponential(3)} ` +
          `(relative ${check.maxRelDiff.toExponential(3)}), output [${check.outputShape.join(', ')}]`;
        process.stdout.write(`${onnxPath}: ${exported.bytes.length} bytes, opset ${exported.opset}\n${summary}\n`);
        if (!(check.maxRelDiff <= MAX_RELATIVE_DIFFERENCE)) {
          throw new TsnasError('internal', `the ONNX model disagrees with tsnas's forward (relative difference ${check.maxRelDiff} > ${MAX_RELATIVE_DIFFERENCE}); please report it`);
        }
      } else {
        process.stdout.write(`${onnxPath}: ${exported.bytes.length} bytes, opset ${exported.opset}; not checked (install onnxruntime-node to check it against tsnas)\n`);
      }
      if (web !== undefined) {
        if (labels && exported.outputShape.at(-1) !== labels.length) throw usageError(`the model has ${exported.outputShape.at(-1)} classes, got ${labels.length} labels`, '--labels');
        writeWebApp(web, exported.bytes, { inputShape, ...(mean ? { mean } : {}), ...(std ? { std } : {}), ...(labels ? { labels } : {}), title });
        process.stdout.write(`${web}: a web page classifying images in onnxruntime-web; serve the folder with any static server (e.g. \`python3 -m http.server -d ${web}\`) and open index.html\n`);
      }
      if (flags.json) emitJson({ onnx: onnxPath, bytes: exported.bytes.length, ...(check ? { max_abs_diff: check.maxAbsDiff } : {}), opset: exported.opset, checked: check !== null, ...(web !== undefined ? { web } : {}) });
      return 0;
    } finally {
      net.dispose();
    }
  },
});
