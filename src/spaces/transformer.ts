// A Vision-Transformer space in the spirit of AutoFormer (Chen et al. 2021):
// one embedding dimension shared by every layer, an elastic depth, and per
// layer its number of attention heads and MLP ratio (hidden = ratio × embed).
// Layer i exists only when depth > i. Heads have a fixed width (headDim), so
// a layer's attention is heads × headDim wide whatever the embedding.
// Text form: "e64|h4:m2 > h2:m4" (embedding, then each layer's heads:ratio).
import { TsnasError } from '../errors.js';
import { chainGraph } from './graph.js';
import { defineSpace, whenGreater, withArchView, type ArchSpace, type DimensionSpec } from './space.js';
import { tokenError } from './text.js';
import type { Sample, Value } from './types.js';

export interface TransformerConfig {
  /** Side of the square patches the stem cuts (conv kernel = stride); part of the skeleton. */
  readonly patchSize?: number;
  readonly embedDims?: readonly number[];
  readonly depths?: readonly number[];
  readonly heads?: readonly number[];
  readonly mlpRatios?: readonly number[];
  /** Width of one attention head (queries, keys and values); part of the skeleton. */
  readonly headDim?: number;
}

export interface TransformerLayerChoice {
  heads: number;
  mlpRatio: number;
}
export interface TransformerArch {
  embedDim: number;
  layers: TransformerLayerChoice[];
}

export type TransformerSpace = ArchSpace<Required<TransformerConfig>, TransformerArch>;

const layerLabel = (i: number, part: 'heads' | 'mlp_ratio') => `layer${i}_${part}`;

function checkPositiveList(name: string, list: readonly number[]): void {
  if (list.length === 0 || !list.every((v) => Number.isInteger(v) && v >= 1) || new Set(list).size !== list.length) {
    throw new TsnasError('config', `${name} must be distinct positive integers, found [${list.join(', ')}]`, { where: 'space transformer' });
  }
}

export function transformerSpace(config: TransformerConfig = {}): TransformerSpace {
  const cfg: Required<TransformerConfig> = {
    patchSize: config.patchSize ?? 4,
    embedDims: config.embedDims ?? [32, 48, 64],
    depths: config.depths ?? [1, 2, 3, 4],
    heads: config.heads ?? [1, 2, 4],
    mlpRatios: config.mlpRatios ?? [1, 2, 4],
    headDim: config.headDim ?? 16,
  };
  for (const [name, list] of [['embedDims', cfg.embedDims], ['depths', cfg.depths], ['heads', cfg.heads], ['mlpRatios', cfg.mlpRatios]] as const) {
    checkPositiveList(name, list);
  }
  for (const [name, v] of [['patchSize', cfg.patchSize], ['headDim', cfg.headDim]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new TsnasError('config', `${name} must be a positive integer, found ${v}`, { where: 'space transformer' });
  }
  const minDepth = Math.min(...cfg.depths);
  const maxDepth = Math.max(...cfg.depths);
  const dims: DimensionSpec[] = [
    { label: 'embed_dim', kind: 'integer', values: cfg.embedDims },
    { label: 'depth', kind: 'integer', values: cfg.depths },
  ];
  for (let i = 0; i < maxDepth; i++) {
    const cond = i >= minDepth ? { when: whenGreater('depth', i) } : {};
    const group = `layer${i}`;
    dims.push(
      { label: layerLabel(i, 'heads'), kind: 'integer', values: cfg.heads, group, ...cond },
      { label: layerLabel(i, 'mlp_ratio'), kind: 'integer', values: cfg.mlpRatios, group, ...cond },
    );
  }

  const archOf = (s: Sample): TransformerArch => ({
    embedDim: Number(s.embed_dim),
    layers: Array.from({ length: Number(s.depth) }, (_, i) => ({
      heads: Number(s[layerLabel(i, 'heads')]),
      mlpRatio: Number(s[layerLabel(i, 'mlp_ratio')]),
    })),
  });
  const rawFromArch = (a: TransformerArch): Sample => {
    const s: Record<string, Value> = { embed_dim: a.embedDim, depth: a.layers.length };
    a.layers.forEach((l, i) => {
      s[layerLabel(i, 'heads')] = l.heads;
      s[layerLabel(i, 'mlp_ratio')] = l.mlpRatio;
    });
    return s;
  };

  const format = (s: Sample) => {
    const a = archOf(s);
    return `e${a.embedDim}|${a.layers.map((l) => `h${l.heads}:m${l.mlpRatio}`).join(' > ')}`;
  };
  const parse = (text: string): Sample => {
    const bar = text.indexOf('|');
    const head = bar < 0 ? text : text.slice(0, bar);
    const m = /^\s*e(\d+)\s*$/.exec(head);
    if (!m || !cfg.embedDims.includes(Number(m[1]))) {
      throw tokenError(text, 0, head.trim(), `an embedding 'e<N>' with N one of ${cfg.embedDims.join(', ')}`);
    }
    if (bar < 0) throw tokenError(text, text.length, '', "'|' and then the layers 'h<heads>:m<ratio>' separated by '>'");
    const layers: TransformerLayerChoice[] = [];
    let offset = bar + 1;
    for (const part of text.slice(bar + 1).split('>')) {
      const token = part.trim();
      const at = offset + part.length - part.trimStart().length;
      const lm = /^h(\d+):m(\d+)$/.exec(token);
      if (!lm || !cfg.heads.includes(Number(lm[1])) || !cfg.mlpRatios.includes(Number(lm[2]))) {
        throw tokenError(text, at, token, `a layer 'h<heads>:m<ratio>' (heads ${cfg.heads.join('/')}, MLP ratios ${cfg.mlpRatios.join('/')}) for layer ${layers.length}`);
      }
      layers.push({ heads: Number(lm[1]), mlpRatio: Number(lm[2]) });
      offset += part.length + 1;
    }
    if (!cfg.depths.includes(layers.length)) {
      throw tokenError(text, bar + 1, text.slice(bar + 1).trim(), `a depth in ${cfg.depths.join('/')} (found ${layers.length} layers)`);
    }
    return rawFromArch({ embedDim: Number(m[1]), layers });
  };

  const perLayer = cfg.heads.length * cfg.mlpRatios.length;
  const space = defineSpace({
    name: 'transformer',
    dimensions: dims,
    format,
    parse,
    drawing: (s) => {
      const a = archOf(s);
      const steps = [`patch ${cfg.patchSize}x${cfg.patchSize} -> ${a.embedDim}`, ...a.layers.map((l) => `attn ${l.heads}h, MLP x${l.mlpRatio}`), 'LN, mean, linear'];
      return [chainGraph(`transformer e${a.embedDim}`, steps)];
    },
    sizeFormula: `${cfg.embedDims.length} embed dims · sum over depth d in ${cfg.depths.join('/')} of (${cfg.heads.length} heads · ${cfg.mlpRatios.length} MLP ratios)^d = ${cfg.embedDims.length} · (${cfg.depths.map((d) => `${perLayer}^${d}`).join(' + ')})`,
  });
  return withArchView(space, cfg, archOf, rawFromArch);
}
