// The transformer space's supernet, with AutoFormer's weight entanglement:
// one ViT at the largest embed dim, heads, MLP ratio and depth, and every
// sub-network uses the leading slices of its tensors:
//   embed_dim e: the first e output channels of the patch conv, the first e
//     channels of the position embedding, LayerNorms, Q/K/V inputs, output
//     projection and MLP outputs, and of the head's inputs
//   layer{i}_heads h: the first h heads, i.e. the first h·headDim rows of
//     Q, K, V and columns of the output projection (heads have a fixed width,
//     so the attention scale 1/√headDim is the same in every sub-network)
//   layer{i}_mlp_ratio r: the first r·e hidden units of the MLP
//   depth d: the first d layers
// LayerNorm normalises over the sub-network's e channels, so slices are real
// (narrowed tensors), not masks. Only single paths are computed (SPOS, and
// GDAS through the straight-through scale of each choice): a dense mixture
// of embedding widths has no single LayerNorm to run, so DARTS-style
// mixings are refused. extract(sample) copies the slices into a fixed
// TransformerNetwork whose output equals the single path's.
import { TsnasError } from '../errors.js';
import { Conv2d, LayerNorm, Linear, ModuleList } from '../nn/layers.js';
import { normal_ } from '../nn/init.js';
import {
  TransformerEncoderLayer, TransformerNetwork, encoderLayer, like, patchGrid, positionsFor, tokensOf, type EncoderLayerWeights, type LinearWeights,
} from '../networks/transformer.js';
import { conv2d, empty, layerNorm, linear, type Tensor } from '../tensor/index.js';
import type { TransformerSpace } from '../spaces/transformer.js';
import { ArchitectureChoices, GdasMixing, SinglePathMixing, type MixingStrategy, type MixingWeights } from '../spaces/supernet.js';
import type { Sample } from '../spaces/types.js';
import { SpaceSupernet, copyIntoFixed, registerSpaceLabels } from './common.js';

export interface TransformerSupernetOptions {
  numClasses: number;
  /** Image channels; default 3. */
  inChannels?: number;
  /** Image side the position embedding is built for (default 32); other sizes resize it. */
  inputSize?: number;
  /** SinglePathMixing (default) or GdasMixing. */
  mixing?: MixingStrategy;
}

function requireSinglePath(mixing: MixingStrategy): void {
  if (!(mixing instanceof SinglePathMixing || mixing instanceof GdasMixing)) {
    throw new TsnasError('config', `the transformer supernet runs single paths only (SinglePathMixing for SPOS, GdasMixing), got ${mixing.constructor.name}: a weighted mixture of embedding widths has no single LayerNorm`);
  }
}

const first = (t: Tensor, dim: number, n: number) => (t.size(dim) === n ? t : t.narrow(dim, 0, n));
/** A linear layer's leading [out, in] block and its first `out` biases. */
const sliceLinear = (l: LinearWeights, out: number, inFeatures: number): LinearWeights => ({
  weight: first(first(l.weight, 0, out), 1, inFeatures),
  bias: l.bias ? first(l.bias, 0, out) : null,
});

export class TransformerSupernet extends SpaceSupernet {
  declare readonly space: TransformerSpace;
  readonly numClasses: number;
  readonly inChannels: number;
  readonly inputSize: number;
  readonly grid: [number, number];
  readonly maxEmbed: number;
  readonly patchEmbed: Conv2d;
  posEmbed: Tensor;
  readonly layers: ModuleList<TransformerEncoderLayer>;
  readonly norm: LayerNorm;
  readonly head: Linear;

  constructor(space: TransformerSpace, o: TransformerSupernetOptions) {
    const mixing = o.mixing ?? new SinglePathMixing();
    requireSinglePath(mixing);
    const cfg = space.config;
    const inChannels = o.inChannels ?? 3;
    const inputSize = o.inputSize ?? 32;
    for (const [name, v] of [['numClasses', o.numClasses], ['inChannels', inChannels], ['inputSize', inputSize]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new TsnasError('config', `transformer supernet ${name} must be a positive integer, got ${v}`);
    }
    const choices = new ArchitectureChoices(mixing);
    registerSpaceLabels(space, choices);
    super(space, choices);
    this.numClasses = o.numClasses;
    this.inChannels = inChannels;
    this.inputSize = inputSize;
    this.grid = patchGrid(inputSize, inputSize, cfg.patchSize);
    const e = Math.max(...cfg.embedDims);
    this.maxEmbed = e;
    const maxHeads = Math.max(...cfg.heads);
    const maxRatio = Math.max(...cfg.mlpRatios);
    const maxDepth = Math.max(...cfg.depths);
    this.patchEmbed = this.registerModule('patch_embed', new Conv2d(inChannels, e, cfg.patchSize, { stride: cfg.patchSize }));
    this.posEmbed = this.registerParameter('pos_embed', normal_(empty([1, this.grid[0] * this.grid[1], e]), 0, 0.02));
    this.layers = this.registerModule('layers', new ModuleList(Array.from({ length: maxDepth }, () => new TransformerEncoderLayer(e, maxHeads, maxRatio, cfg.headDim))));
    this.norm = this.registerModule('norm', new LayerNorm(e));
    this.head = this.registerModule('head', new Linear(e, o.numClasses));
  }

  protected mixedWidths(): number[] {
    return [this.inChannels, this.maxEmbed];
  }

  override setMixing(mixing: MixingStrategy): MixingStrategy {
    requireSinglePath(mixing);
    return super.setMixing(mixing);
  }

  /** The chosen value of a label on this forward, and its straight-through scale (GDAS). */
  private chosen(label: string): { value: number; scale: Tensor | undefined } {
    const w: MixingWeights = this.choices.weightsFor(label);
    if (w.kind !== 'single') throw new TsnasError('config', `the transformer supernet runs single paths only; label '${label}' came with dense weights`);
    return { value: Number(this.choices.labels.get(label)![w.index]), scale: w.scale };
  }

  protected forwardNetwork(x: Tensor): Tensor {
    const { patchSize, headDim } = this.space.config;
    const embed = this.chosen('embed_dim');
    const depth = this.chosen('depth');
    const e = embed.value;
    const patches = conv2d(x, first(this.patchEmbed.weight, 0, e), first(this.patchEmbed.bias!, 0, e), { stride: patchSize });
    const grid = patchGrid(x.size(2), x.size(3), patchSize);
    const tokens = tokensOf(patches);
    let y = tokens.add(like(positionsFor(first(this.posEmbed, 2, e), this.grid, grid), tokens));
    if (embed.scale) y = y.mul(embed.scale);
    for (let i = 0; i < depth.value; i++) {
      const heads = this.chosen(`layer${i}_heads`);
      const ratio = this.chosen(`layer${i}_mlp_ratio`);
      const full = this.layers.at(i).weights();
      const inner = heads.value * headDim;
      const hidden = ratio.value * e;
      const w: EncoderLayerWeights = {
        norm1: { weight: first(full.norm1.weight, 0, e), bias: full.norm1.bias ? first(full.norm1.bias, 0, e) : null },
        attn: {
          q: sliceLinear(full.attn.q, inner, e),
          k: sliceLinear(full.attn.k, inner, e),
          v: sliceLinear(full.attn.v, inner, e),
          proj: sliceLinear(full.attn.proj, e, inner),
        },
        norm2: { weight: first(full.norm2.weight, 0, e), bias: full.norm2.bias ? first(full.norm2.bias, 0, e) : null },
        fc1: sliceLinear(full.fc1, hidden, e),
        fc2: sliceLinear(full.fc2, e, hidden),
      };
      const layer = this.layers.at(i);
      y = encoderLayer(y, w, heads.value, headDim, layer.norm1.eps, { attn: heads.scale, mlp: ratio.scale }, (h) => layer.act.call(h));
    }
    let features = layerNorm(y, [e], like(first(this.norm.weight!, 0, e), y), like(first(this.norm.bias!, 0, e), y), this.norm.eps).mean(1);
    if (depth.scale) features = features.mul(depth.scale);
    return linear(features, first(this.head.weight, 1, e), this.head.bias);
  }

  /** The fixed TransformerNetwork of a sample (default: the exported one) with its slices of the shared weights copied in. */
  extract(s: Sample = this.exportSample()): TransformerNetwork {
    const arch = this.space.archOf(s);
    const { patchSize, headDim } = this.space.config;
    const fixed = new TransformerNetwork({ arch, patchSize, headDim, numClasses: this.numClasses, inChannels: this.inChannels, inputSize: this.inputSize });
    try {
      // Same keys in both; sliceTo takes leading slices along dims 0 and 1,
      // but the position embedding's channels are its dim 2.
      copyIntoFixed(fixed, this, (key) => (key === 'pos_embed' ? this.posEmbed.narrow(2, 0, arch.embedDim) : key));
    } catch (e) {
      fixed.dispose();
      throw e;
    }
    fixed.train(this.training);
    return fixed;
  }
}
