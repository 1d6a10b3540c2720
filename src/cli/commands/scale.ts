// tsnas scale: EfficientNet's compound scaling of one architecture of a
// space whose kit can scale it (chain, mobilenet). The grid search trains
// the φ = 1 network of a few (α, β, γ) with α·β²·γ² ≈ 2 and keeps the most
// accurate; then each member of the family φ = 0…max is trained the same
// way, and its multipliers, parameters, FLOPs and test accuracy printed
// (with an SVG of accuracy against FLOPs under --out).
import { writeFileSync } from 'node:fs';
import { defineCommand } from '../command.js';
import { computeFlags } from '../args.js';
import { emitJson, log } from '../output.js';
import { parseSpaceOptions } from '../space-options.js';
import { usageError } from '../../errors.js';
import { datasetSource, standardAugment } from '../../data/spec.js';
import type { Dataset } from '../../data/dataset.js';
import type { AugmentOptions } from '../../data/augment.js';
import { buildNetwork, compoundGrid, getSpace, kitScale, scaledFamily, spreadPoints, type ScaledMember, type ScaleMultipliers } from '../../kits/index.js';
import { lineChart } from '../../report/charts.js';
import { manualSeed } from '../../tensor/index.js';
import { evaluate, trainModel } from '../../train/trainer.js';
import { configureCompute } from '../../train/setup.js';

interface Budget {
  train: Dataset;
  test: Dataset;
  augment: AugmentOptions;
  epochs: number;
  batch: number;
  lr: number;
  limitTrain?: number;
  limitTest?: number;
  seed: number;
}

/** Trains a member from the same seed as every other and returns its test accuracy. */
function accuracyOf(member: ScaledMember, b: Budget): number {
  manualSeed(b.seed);
  const net = buildNetwork(member.space, member.sample, { numClasses: b.train.numClasses, inChannels: b.train.channels, inputSize: member.inputSize });
  try {
    const augment = { ...b.augment, resize: member.inputSize === b.train.height ? undefined : member.inputSize };
    trainModel(net, b.train, { epochs: b.epochs, batchSize: b.batch, lr: b.lr, augment, seed: b.seed, ...(b.limitTrain !== undefined ? { limitTrain: b.limitTrain } : {}) });
    return evaluate(net, b.test, { augment, ...(b.limitTest !== undefined ? { limit: b.limitTest } : {}) }).accuracy;
  } finally {
    net.dispose();
  }
}

function parseMultipliers(text: string): ScaleMultipliers {
  const parts = text.split(',').map(Number);
  if (parts.length !== 3 || parts.some((v) => !(Number.isFinite(v) && v >= 1))) {
    throw usageError(`expected three multipliers >= 1 'α,β,γ' (depth, width, resolution), got '${text}'`, '--multipliers');
  }
  return { depth: parts[0]!, width: parts[1]!, resolution: parts[2]! };
}

const round = (v: number) => Number(v.toFixed(4));

export const scaleCommand = defineCommand({
  name: 'scale',
  summary: 'EfficientNet compound scaling of an architecture: grid search of depth, width and resolution multipliers, then the trained family φ = 0…3',
  flags: {
    space: { type: 'string', help: 'a space whose kit can scale (chain, mobilenet)', default: 'mobilenet' },
    'space-options': { type: 'string', help: 'the space\'s options as JSON, e.g. {"widths":[16,24,32]}' },
    arch: { type: 'string', help: 'the base architecture in the space\'s text form', required: true },
    dataset: { type: 'string', help: 'fashion-mnist | cifar10:<dir> | cifar100:<dir> | folder:<dir>', default: 'fashion-mnist' },
    resolution: { type: 'int', help: 'the base network\'s input side when the sample does not fix it (default: the images\')', min: 4 },
    multipliers: { type: 'string', help: 'α,β,γ to use instead of the grid search, e.g. 1.2,1.1,1.15' },
    'grid-step': { type: 'number', help: 'spacing of the multiplier grid', default: 0.05 },
    tolerance: { type: 'number', help: 'largest relative distance of α·β²·γ² from 2', default: 0.05 },
    candidates: { type: 'int', help: 'grid points trained at φ = 1 (spread over the grid)', default: 4, min: 1 },
    'phi-max': { type: 'int', help: 'the largest φ of the family', default: 3, min: 0, max: 8 },
    epochs: { type: 'int', help: 'training epochs of each network', default: 1, min: 1 },
    batch: { type: 'int', help: 'batch size', default: 64, min: 1 },
    lr: { type: 'number', help: 'initial learning rate (cosine-annealed)', default: 0.05 },
    'limit-train': { type: 'int', help: 'train on at most this many images', min: 1 },
    'limit-test': { type: 'int', help: 'test on at most this many images', min: 1 },
    out: { type: 'string', help: 'write an SVG of accuracy against FLOPs here' },
    ...computeFlags,
  },
  async run({ flags }) {
    const name = flags.space;
    kitScale(name);
    const space = getSpace(name, parseSpaceOptions(flags['space-options'], name) ?? {});
    let base;
    try {
      base = space.parse(flags.arch);
    } catch (e) {
      throw usageError((e as Error).message, '--arch');
    }
    const threads = configureCompute({ threads: flags.threads, seed: flags.seed });
    const source = datasetSource(flags.dataset);
    const train = source.load('train');
    const budget: Budget = {
      train, test: source.load('test'), augment: standardAugment(source, train),
      epochs: flags.epochs, batch: flags.batch, lr: flags.lr, seed: flags.seed,
      ...(flags['limit-train'] !== undefined ? { limitTrain: flags['limit-train'] } : {}),
      ...(flags['limit-test'] !== undefined ? { limitTest: flags['limit-test'] } : {}),
    };
    const shape = { inputSize: flags.resolution ?? train.height, inChannels: train.channels, numClasses: train.numClasses };
    log(`scale: ${name} ${flags.arch} on ${source.name}, ${threads} thread(s)`);

    let chosen: ScaleMultipliers;
    const grid: { multipliers: ScaleMultipliers; flops: number; accuracy: number }[] = [];
    if (flags.multipliers !== undefined) {
      chosen = parseMultipliers(flags.multipliers);
    } else {
      const points = compoundGrid({ step: flags['grid-step'], tolerance: flags.tolerance });
      // Spread over the grid in a fixed order (depth-heavy to resolution-heavy), not nearest-first.
      const ordered = [...points].sort((a, b) => b.depth - a.depth || b.width - a.width);
      for (const m of spreadPoints(ordered, flags.candidates)) {
        const [member] = scaledFamily(space, base, m, [1], shape);
        const accuracy = accuracyOf(member!, budget);
        grid.push({ multipliers: m, flops: member!.cost.flops, accuracy });
        log(`  grid α ${m.depth} β ${m.width} γ ${m.resolution}: ${member!.arch} at ${member!.inputSize}px, ${(100 * accuracy).toFixed(2)}%`);
      }
      chosen = grid.reduce((a, b) => (b.accuracy > a.accuracy ? b : a)).multipliers;
      log(`  chosen α ${chosen.depth} β ${chosen.width} γ ${chosen.resolution} (of ${points.length} grid points, ${grid.length} trained)`);
    }

    const phis = Array.from({ length: flags['phi-max'] + 1 }, (_, i) => i);
    const family = scaledFamily(space, base, chosen, phis, shape).map((member) => {
      const accuracy = accuracyOf(member, budget);
      log(`  φ ${member.phi}: depth ×${member.multipliers.depth.toFixed(3)} width ×${member.multipliers.width.toFixed(3)} resolution ×${member.multipliers.resolution.toFixed(3)}, ${member.cost.params} params, ${member.cost.flops} FLOPs, ${(100 * accuracy).toFixed(2)}%  ${member.arch} at ${member.inputSize}px`);
      return { phi: member.phi, multipliers: member.multipliers, inputSize: member.inputSize, arch: member.arch, options: member.options, params: member.cost.params, flops: member.cost.flops, accuracy };
    });
    if (flags.out !== undefined) {
      const svg = lineChart([{ name: `α ${chosen.depth} β ${chosen.width} γ ${chosen.resolution}`, points: family.map((m) => [m.flops, m.accuracy] as [number, number]) }], {
        title: `compound scaling of ${name} on ${source.name} (φ = 0…${phis.at(-1)})`, xLabel: 'FLOPs (multiply-adds)', yLabel: 'test accuracy', logX: true,
      });
      writeFileSync(flags.out, svg);
      log(`  wrote ${flags.out}`);
    }
    if (flags.json) {
      emitJson({
        space: name, arch: flags.arch, dataset: source.name, chosen, grid: grid.map((g) => ({ ...g.multipliers, flops: g.flops, accuracy: round(g.accuracy) })),
        family: family.map((m) => ({ ...m, multipliers: { depth: round(m.multipliers.depth), width: round(m.multipliers.width), resolution: round(m.multipliers.resolution) }, accuracy: round(m.accuracy) })),
        epochs: budget.epochs, limitTrain: budget.limitTrain ?? null, limitTest: budget.limitTest ?? null, threads, seed: budget.seed,
      });
    }
    return 0;
  },
});
