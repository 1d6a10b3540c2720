// A chain-structured macro space: `depth` layers one after another, each
// with its own op, kernel, filter count and activation. Layer i exists only
// when depth > i. Text form: layers joined by " > ", each "op:kernel:filters:activation",
// e.g. "conv:3:32:relu > sep_conv:5:64:swish".
//
// Kernel and activation are kept for every op (identity and zero ignore the
// kernel, pools the activation) so the space stays a plain product per depth.
import { TsnasError } from '../errors.js';
import { chainGraph } from './graph.js';
import { defineSpace, range, whenGreater, type DefinedSpace, type DimensionSpec } from './space.js';
import { tokenError } from './text.js';
import type { Sample, Value } from './types.js';

export const CHAIN_OPS = ['conv', 'sep_conv', 'dil_conv', 'max_pool', 'avg_pool', 'identity', 'zero'] as const;
export const CHAIN_ACTIVATIONS = ['relu', 'swish', 'mish'] as const;

export interface ChainConfig {
  readonly minDepth?: number;
  readonly maxDepth?: number;
  readonly ops?: readonly string[];
  readonly kernels?: readonly number[];
  readonly filters?: readonly number[];
  readonly activations?: readonly string[];
  /** A 2×2 max pool (stride 2) follows the layers at these indices; part of the network skeleton, not searched. */
  readonly poolAfter?: readonly number[];
}

export interface ChainLayer {
  op: string;
  kernel: number;
  filters: number;
  activation: string;
}

export interface ChainSpace extends DefinedSpace {
  readonly config: Required<ChainConfig>;
  layersOf(s: Sample): ChainLayer[];
  fromLayers(layers: readonly ChainLayer[]): Sample;
}

const layerLabel = (i: number, part: keyof ChainLayer) => `layer${i}_${part}`;

export function chainSpace(config: ChainConfig = {}): ChainSpace {
  const cfg: Required<ChainConfig> = {
    minDepth: config.minDepth ?? 1,
    maxDepth: config.maxDepth ?? 6,
    ops: config.ops ?? CHAIN_OPS,
    kernels: config.kernels ?? [3, 5, 7],
    filters: config.filters ?? [16, 32, 64, 128],
    activations: config.activations ?? CHAIN_ACTIVATIONS,
    poolAfter: config.poolAfter ?? [1, 3],
  };
  if (!(Number.isInteger(cfg.minDepth) && cfg.minDepth >= 1 && cfg.maxDepth >= cfg.minDepth)) {
    throw new TsnasError('config', `chain depth range must be 1 <= minDepth <= maxDepth, found ${cfg.minDepth}..${cfg.maxDepth}`, { where: 'space chain' });
  }
  for (const op of cfg.ops) {
    if (!(CHAIN_OPS as readonly string[]).includes(op)) throw new TsnasError('config', `unknown chain op '${op}', expected one of ${CHAIN_OPS.join(', ')}`, { where: 'space chain' });
  }
  const dims: DimensionSpec[] = [{ label: 'depth', kind: 'integer', values: range(cfg.minDepth, cfg.maxDepth) }];
  for (let i = 0; i < cfg.maxDepth; i++) {
    const cond = i >= cfg.minDepth ? { when: whenGreater('depth', i) } : {};
    const group = `layer${i}`;
    dims.push(
      { label: layerLabel(i, 'op'), values: cfg.ops, group, ...cond },
      { label: layerLabel(i, 'kernel'), kind: 'integer', values: cfg.kernels, group, ...cond },
      { label: layerLabel(i, 'filters'), kind: 'integer', values: cfg.filters, group, ...cond },
      { label: layerLabel(i, 'activation'), values: cfg.activations, group, ...cond },
    );
  }
  const perLayer = cfg.ops.length * cfg.kernels.length * cfg.filters.length * cfg.activations.length;

  const layersOf = (s: Sample): ChainLayer[] =>
    Array.from({ length: Number(s.depth) }, (_, i) => ({
      op: String(s[layerLabel(i, 'op')]),
      kernel: Number(s[layerLabel(i, 'kernel')]),
      filters: Number(s[layerLabel(i, 'filters')]),
      activation: String(s[layerLabel(i, 'activation')]),
    }));
  const rawFromLayers = (layers: readonly ChainLayer[]): Sample => {
    const s: Record<string, Value> = { depth: layers.length };
    layers.forEach((l, i) => {
      s[layerLabel(i, 'op')] = l.op;
      s[layerLabel(i, 'kernel')] = l.kernel;
      s[layerLabel(i, 'filters')] = l.filters;
      s[layerLabel(i, 'activation')] = l.activation;
    });
    return s;
  };

  const parse = (text: string): Sample => {
    const layers: ChainLayer[] = [];
    let offset = 0;
    for (const part of text.split('>')) {
      const lead = part.length - part.trimStart().length;
      const body = part.trim();
      const start = offset + lead;
      const fields = body.split(':');
      if (fields.length !== 4 || body === '') {
        throw tokenError(text, start, body, `a layer 'op:kernel:filters:activation' (layer ${layers.length})`);
      }
      let at = start;
      const [op, kernel, filters, activation] = fields as [string, string, string, string];
      const check = (token: string, ok: boolean, expected: string) => {
        if (!ok) throw tokenError(text, at, token, expected);
        at += token.length + 1;
      };
      check(op, cfg.ops.includes(op), `an op for layer ${layers.length} (one of ${cfg.ops.join(', ')})`);
      check(kernel, cfg.kernels.includes(Number(kernel)) && /^\d+$/.test(kernel), `a kernel (one of ${cfg.kernels.join(', ')})`);
      check(filters, cfg.filters.includes(Number(filters)) && /^\d+$/.test(filters), `a filter count (one of ${cfg.filters.join(', ')})`);
      check(activation, cfg.activations.includes(activation), `an activation (one of ${cfg.activations.join(', ')})`);
      layers.push({ op, kernel: Number(kernel), filters: Number(filters), activation });
      offset += part.length + 1;
    }
    if (layers.length < cfg.minDepth || layers.length > cfg.maxDepth) {
      throw new TsnasError('usage', `found ${layers.length} layers, expected ${cfg.minDepth}..${cfg.maxDepth}`, { where: 'arch' });
    }
    return rawFromLayers(layers);
  };

  const space = defineSpace({
    name: 'chain',
    dimensions: dims,
    format: (s) => layersOf(s).map((l) => `${l.op}:${l.kernel}:${l.filters}:${l.activation}`).join(' > '),
    parse,
    drawing: (s) => [chainGraph('chain', layersOf(s).map((l) => `${l.op} ${l.kernel}x${l.kernel} ${l.filters} ${l.activation}`))],
    sizeFormula: `sum over depth d in ${cfg.minDepth}..${cfg.maxDepth} of (${cfg.ops.length} ops · ${cfg.kernels.length} kernels · ${cfg.filters.length} filters · ${cfg.activations.length} activations)^d = sum_d ${perLayer}^d`,
  });
  return {
    ...space,
    config: cfg,
    layersOf: (s) => {
      space.validate(s);
      return layersOf(s);
    },
    fromLayers: (layers) => space.fromJSON(rawFromLayers(layers)),
  };
}
