// An elastic MobileNetV3-like space (Once-for-All style): an input
// resolution, and per stage a depth, with a kernel size and an expand ratio
// for every layer that the depth keeps. Text form:
// "r224|k3e4,k5e6|k3e3,k7e6,k5e4|..." (resolution, then per stage its
// layers as kernel/expand pairs).
import { TsnasError } from '../errors.js';
import { chainGraph } from './graph.js';
import { defineSpace, whenGreater, withArchView, type ArchSpace, type DimensionSpec } from './space.js';
import { tokenError } from './text.js';
import type { Sample, Value } from './types.js';

export interface MobilenetConfig {
  readonly depths?: readonly number[];
  readonly expandRatios?: readonly number[];
  readonly kernels?: readonly number[];
  readonly resolutions?: readonly number[];
  /** Output channels of each searchable stage (fixed skeleton); their count is the number of stages. */
  readonly widths?: readonly number[];
  /** Stride of each stage's first layer. */
  readonly strides?: readonly number[];
  /** Activation of each stage. */
  readonly activations?: readonly ('relu' | 'hswish')[];
  /** Whether each stage's blocks use squeeze-and-excitation. */
  readonly squeezeExcite?: readonly boolean[];
}

export interface MobilenetLayer {
  kernel: number;
  expand: number;
}
export interface MobilenetArch {
  resolution: number;
  stages: MobilenetLayer[][];
}

export type MobilenetSpace = ArchSpace<Required<MobilenetConfig>, MobilenetArch>;

const depthLabel = (st: number) => `stage${st}_depth`;
const layerLabel = (st: number, l: number, part: 'kernel' | 'expand') => `stage${st}_layer${l}_${part}`;

export function mobilenetSpace(config: MobilenetConfig = {}): MobilenetSpace {
  const cfg: Required<MobilenetConfig> = {
    depths: config.depths ?? [2, 3, 4],
    expandRatios: config.expandRatios ?? [3, 4, 6],
    kernels: config.kernels ?? [3, 5, 7],
    resolutions: config.resolutions ?? [160, 176, 192, 208, 224],
    widths: config.widths ?? [24, 40, 80, 112, 160],
    strides: config.strides ?? [2, 2, 2, 1, 2],
    activations: config.activations ?? ['relu', 'relu', 'hswish', 'hswish', 'hswish'],
    squeezeExcite: config.squeezeExcite ?? [false, true, false, true, true],
  };
  const stages = cfg.widths.length;
  for (const [name, list] of [['strides', cfg.strides], ['activations', cfg.activations], ['squeezeExcite', cfg.squeezeExcite]] as const) {
    if (list.length !== stages) {
      throw new TsnasError('config', `${name} has ${list.length} entries, expected one per stage (${stages}, from widths)`, { where: 'space mobilenet' });
    }
  }
  const minDepth = Math.min(...cfg.depths);
  const maxDepth = Math.max(...cfg.depths);
  const dims: DimensionSpec[] = [{ label: 'resolution', kind: 'integer', values: cfg.resolutions }];
  for (let st = 0; st < stages; st++) {
    const group = `stage${st}`;
    dims.push({ label: depthLabel(st), kind: 'integer', values: cfg.depths, group });
    for (let l = 0; l < maxDepth; l++) {
      const cond = l >= minDepth ? { when: whenGreater(depthLabel(st), l) } : {};
      dims.push(
        { label: layerLabel(st, l, 'kernel'), kind: 'integer', values: cfg.kernels, group, ...cond },
        { label: layerLabel(st, l, 'expand'), kind: 'integer', values: cfg.expandRatios, group, ...cond },
      );
    }
  }

  const archOf = (s: Sample): MobilenetArch => ({
    resolution: Number(s.resolution),
    stages: Array.from({ length: stages }, (_, st) =>
      Array.from({ length: Number(s[depthLabel(st)]) }, (_, l) => ({
        kernel: Number(s[layerLabel(st, l, 'kernel')]),
        expand: Number(s[layerLabel(st, l, 'expand')]),
      })),
    ),
  });
  const rawFromArch = (a: MobilenetArch): Sample => {
    const s: Record<string, Value> = { resolution: a.resolution };
    a.stages.forEach((layers, st) => {
      s[depthLabel(st)] = layers.length;
      layers.forEach((layer, l) => {
        s[layerLabel(st, l, 'kernel')] = layer.kernel;
        s[layerLabel(st, l, 'expand')] = layer.expand;
      });
    });
    return s;
  };

  const format = (s: Sample) => {
    const a = archOf(s);
    return [`r${a.resolution}`, ...a.stages.map((layers) => layers.map((l) => `k${l.kernel}e${l.expand}`).join(','))].join('|');
  };
  const parse = (text: string): Sample => {
    const parts = text.split('|');
    const res = parts[0]!;
    if (!/^r\d+$/.test(res) || !cfg.resolutions.includes(Number(res.slice(1)))) {
      throw tokenError(text, 0, res, `a resolution 'r<N>' with N one of ${cfg.resolutions.join(', ')}`);
    }
    if (parts.length !== stages + 1) {
      throw tokenError(text, text.length, '', `${stages} stages separated by '|' (found ${parts.length - 1})`);
    }
    let at = res.length + 1;
    const a: MobilenetArch = { resolution: Number(res.slice(1)), stages: [] };
    for (const [st, part] of parts.slice(1).entries()) {
      const layers: MobilenetLayer[] = [];
      let pos = at;
      for (const token of part.split(',')) {
        const m = /^k(\d+)e(\d+)$/.exec(token);
        if (!m || !cfg.kernels.includes(Number(m[1])) || !cfg.expandRatios.includes(Number(m[2]))) {
          throw tokenError(text, pos, token, `a layer 'k<kernel>e<expand>' (kernels ${cfg.kernels.join('/')}, expand ratios ${cfg.expandRatios.join('/')}) in stage ${st}`);
        }
        layers.push({ kernel: Number(m[1]), expand: Number(m[2]) });
        pos += token.length + 1;
      }
      if (!cfg.depths.includes(layers.length)) {
        throw tokenError(text, at, part, `stage ${st} with a depth in ${cfg.depths.join('/')} (found ${layers.length} layers)`);
      }
      a.stages.push(layers);
      at += part.length + 1;
    }
    return rawFromArch(a);
  };

  const perLayer = cfg.kernels.length * cfg.expandRatios.length;
  const stageTerms = cfg.depths.map((d) => `${perLayer}^${d}`).join(' + ');
  const space = defineSpace({
    name: 'mobilenet',
    dimensions: dims,
    format,
    parse,
    drawing: (s) => {
      const a = archOf(s);
      const steps = a.stages.flatMap((layers, st) => layers.map((l, i) => `MB${l.expand} ${l.kernel}x${l.kernel} ${cfg.widths[st]}${i === 0 && cfg.strides[st]! > 1 ? ' /2' : ''}`));
      return [chainGraph(`mobilenet r${a.resolution}`, steps)];
    },
    sizeFormula: `${cfg.resolutions.length} resolutions · (sum over depth d of (${cfg.kernels.length} kernels · ${cfg.expandRatios.length} expand ratios)^d)^${stages} stages = ${cfg.resolutions.length} · (${stageTerms})^${stages}`,
  });
  return withArchView(space, cfg, archOf, rawFromArch);
}

/** Rounds to a multiple of 8 without going below 90% (MobileNet's rule). */
export function makeDivisible(v: number, divisor = 8): number {
  let out = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (out < 0.9 * v) out += divisor;
  return out;
}

/** The largest sub-network (largest kernel, depth and expand ratio everywhere) at a resolution (default the largest). */
export function largestSubnet(space: MobilenetSpace, resolution = Math.max(...space.config.resolutions)): Sample {
  const { depths, kernels, expandRatios, widths } = space.config;
  const depth = Math.max(...depths);
  const layer = { kernel: Math.max(...kernels), expand: Math.max(...expandRatios) };
  return space.fromArch({ resolution, stages: widths.map(() => Array.from({ length: depth }, () => ({ ...layer }))) });
}

/** The smallest sub-network (smallest kernel, depth, expand ratio and resolution): the least FLOPs and params. */
export function smallestSubnet(space: MobilenetSpace): Sample {
  const { depths, kernels, expandRatios, widths, resolutions } = space.config;
  const depth = Math.min(...depths);
  const layer = { kernel: Math.min(...kernels), expand: Math.min(...expandRatios) };
  return space.fromArch({ resolution: Math.min(...resolutions), stages: widths.map(() => Array.from({ length: depth }, () => ({ ...layer }))) });
}

