// tsnas space info|sample|cost|draw: a built-in space's dimensions and exact
// size, random samples with their costs, the cost of one architecture, and
// its picture. Results go to stdout; with --json, one JSON object on the last line.
import { extname } from 'node:path';
import { defineCommand } from '../command.js';
import type { FlagSpecs, FlagsOf } from '../args.js';
import { emitJson, log } from '../output.js';
import { TsnasError, usageError } from '../../errors.js';
import type { CostOptions } from '../../hardware/cost.js';
import { costOf, getSpace, kitNames } from '../../kits/index.js';
import type { DefinedSpace } from '../../spaces/space.js';
import type { Sample } from '../../spaces/types.js';
import { checkOutputFile, writeFileAtomic } from '../../util/files.js';
import { parseSpaceOptions } from '../space-options.js';
import { Rng } from '../../util/random.js';
import { sampleToDot, sampleToSvg } from '../../viz/index.js';

const spaceFlag = {
  space: { type: 'string', help: 'built-in search space', required: true, choices: kitNames() },
  'space-options': { type: 'string', help: `the space's options as JSON, as space.options in a config (${kitNames((k) => k.optionKeys.length > 0).join(', ')}), e.g. {"nodes":4}` },
} as const satisfies FlagSpecs;

/** The space that --space and --space-options name. */
const spaceOf = (flags: { space: string; 'space-options'?: string | undefined }): DefinedSpace =>
  getSpace(flags.space, parseSpaceOptions(flags['space-options'], flags.space));
const archFlag = {
  arch: { type: 'string', help: "the architecture: the space's text form or a JSON sample", required: true },
} as const satisfies FlagSpecs;
const costFlags = {
  classes: { type: 'int', help: 'number of classes', default: 10, min: 1 },
  input: { type: 'string', help: 'input as CxHxW (mobilenet takes H and W from the sample resolution)', default: '3x32x32' },
  channels: { type: 'int', help: 'initial channels C (nb201 default 16, darts 36; the other spaces take widths from the sample)', min: 1 },
  cells: { type: 'int', help: 'nb201: cells per stage N (default 5); darts: number of cells (default 20)', min: 1 },
  auxiliary: { type: 'boolean', help: "darts: count the auxiliary head's parameters too" },
} as const satisfies FlagSpecs;
const jsonFlag = {
  json: { type: 'boolean', help: 'print one JSON object on the last line of stdout' },
} as const satisfies FlagSpecs;

/** "3x32x32" as [channels, height, width]. */
export function parseInputShape(text: string): [number, number, number] {
  const parts = text.trim().split(/[x×]/);
  if (parts.length !== 3 || parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1)) {
    throw usageError(`expected CxHxW with three positive integers, e.g. 3x32x32, got '${text}'`, '--input');
  }
  return parts.map(Number) as [number, number, number];
}

function costOptions(flags: FlagsOf<typeof costFlags>): CostOptions {
  return {
    input: parseInputShape(flags.input),
    classes: flags.classes,
    ...(flags.channels !== undefined ? { channels: flags.channels } : {}),
    ...(flags.cells !== undefined ? { cells: flags.cells } : {}),
    auxiliary: flags.auxiliary ?? false,
  };
}

/** The space's parser names the bad token under 'arch'; on the command line the argument is --arch. */
function parseArchFlag(space: DefinedSpace, text: string): Sample {
  try {
    return space.parseArch(text);
  } catch (e) {
    if (e instanceof TsnasError && e.where === 'arch') {
      throw new TsnasError(e.code, e.message.slice('arch: '.length), { where: '--arch', cause: e });
    }
    // Validation errors of a JSON sample name the space and label; say they came from --arch.
    if (e instanceof TsnasError && e.where !== '--arch') throw new TsnasError(e.code, e.message, { where: '--arch', cause: e });
    throw e;
  }
}

/** The whole result in one write (a reader such as `head` may close the pipe early). */
const write = (lines: string | readonly string[]) => process.stdout.write(`${(typeof lines === 'string' ? [lines] : lines).join('\n')}\n`);
const formatValues = (values: readonly (string | number)[]) => values.join(', ');

/** One row per dimension: label, kind, values, and the condition under which it exists. */
function describeDimensions(space: DefinedSpace) {
  const specs = new Map(space.definition.dimensions.map((d) => [d.label, d]));
  return space.dimensions().map((d) => ({
    label: d.label,
    kind: d.kind,
    values: [...d.values],
    ...(d.group !== undefined ? { group: d.group } : {}),
    ...(specs.get(d.label)?.when ? { when: specs.get(d.label)!.when!.describe } : {}),
  }));
}

export const spaceInfoCommand = defineCommand({
  name: 'space info',
  summary: "a space's dimensions, exact size and the formula that gives it",
  flags: { ...spaceFlag, ...jsonFlag },
  async run({ flags }) {
    const space = spaceOf(flags);
    const dimensions = describeDimensions(space);
    const size = space.size().toString();
    const formula = space.sizeFormula();
    if (flags.json) {
      emitJson({ space: space.name, size, formula, dimensions });
      return 0;
    }
    const width = Math.max(...dimensions.map((d) => d.label.length));
    write([
      `space ${space.name}: ${dimensions.length} dimensions, ${size} samples`,
      `size: ${formula}`,
      'dimensions:',
      ...dimensions.map((d) => `  ${d.label.padEnd(width)}  ${d.kind.padEnd(11)}  ${formatValues(d.values)}${d.when ? `   (when ${d.when})` : ''}`),
    ]);
    return 0;
  },
});

export const spaceSampleCommand = defineCommand({
  name: 'space sample',
  summary: 'random samples of a space with their parameters and FLOPs',
  flags: {
    ...spaceFlag,
    n: { type: 'int', help: 'number of samples', default: 1, min: 1 },
    seed: { type: 'int', help: 'random seed', default: 0, min: 0 },
    uniform: { type: 'boolean', help: 'draw uniformly over all samples (default: each dimension uniformly, as NNI and OFA)' },
    ...costFlags,
    ...jsonFlag,
  },
  async run({ flags }) {
    const space = spaceOf(flags);
    const options = costOptions(flags);
    const rng = new Rng(flags.seed);
    const samples = Array.from({ length: flags.n }, () => {
      const s = flags.uniform ? space.sampleUniform(rng) : space.sample(rng);
      const cost = costOf(space, s, options);
      return { arch: space.format(s), hash: space.hash(s), params: cost.params, flops: cost.flops, sample: s };
    });
    if (flags.json) {
      emitJson({ space: space.name, seed: flags.seed, samples });
      return 0;
    }
    write(samples.map((s) => `${String(s.params).padStart(10)} params  ${(s.flops / 1e6).toFixed(2).padStart(9)}M flops  ${s.arch}`));
    return 0;
  },
});

export const spaceCostCommand = defineCommand({
  name: 'space cost',
  summary: "an architecture's parameters and FLOPs (multiply-adds of conv and linear layers), without training",
  flags: { ...spaceFlag, ...archFlag, ...costFlags, ...jsonFlag },
  async run({ flags }) {
    const space = spaceOf(flags);
    const s = parseArchFlag(space, flags.arch);
    const { params, flops } = costOf(space, s, costOptions(flags));
    if (flags.json) emitJson({ params, flops });
    else write(`${params} parameters, ${flops} FLOPs (${(flops / 1e6).toFixed(2)}M)`);
    return 0;
  },
});

export const spaceDrawCommand = defineCommand({
  name: 'space draw',
  summary: "draw an architecture's cells as SVG, or Graphviz DOT when --out ends in .dot or .gv",
  flags: {
    ...spaceFlag,
    ...archFlag,
    out: { type: 'string', help: 'output file: .svg, or .dot/.gv for Graphviz', required: true },
    'show-none': { type: 'boolean', help: "draw 'none' edges (dotted)" },
    title: { type: 'string', help: "the picture's title (default: the space name)" },
    ...jsonFlag,
  },
  async run({ flags }) {
    const space = spaceOf(flags);
    const s = parseArchFlag(space, flags.arch);
    const out = flags.out;
    const ext = extname(out).toLowerCase();
    if (!['.svg', '.dot', '.gv'].includes(ext)) {
      throw usageError(`expected a file ending in .svg, .dot or .gv, got '${out}'`, '--out');
    }
    checkOutputFile(out, '--out');
    const format = ext === '.svg' ? 'svg' : 'dot';
    const options = { showNone: flags['show-none'] ?? false, ...(flags.title !== undefined ? { title: flags.title } : {}) };
    const text = format === 'svg' ? sampleToSvg(space, s, options) : sampleToDot(space, s, options);
    writeFileAtomic(out, text, '--out');
    if (flags.json) emitJson({ out, format, bytes: Buffer.byteLength(text) });
    else log(`wrote ${out} (${format})`);
    return 0;
  },
});

export const spaceCommands = [spaceInfoCommand, spaceSampleCommand, spaceCostCommand, spaceDrawCommand];
