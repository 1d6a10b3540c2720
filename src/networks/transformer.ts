// The transformer space's fixed network, a small Vision Transformer:
//   patch embedding: a p×p conv with stride p (bias) to the embed dim E,
//     flattened to tokens [batch, tokens, E], plus a learned position
//     embedding [1, tokens, E] (N(0, 0.02²) at start, as ViT)
//   per layer (pre-norm): x + proj(attention(LN(x))); then x + fc2(GELU(fc1(LN(x))))
//     attention: heads × headDim wide queries, keys and values (separate
//     linear layers with bias), softmax(q kᵀ / √headDim) v, output projection to E
//     MLP: hidden = mlpRatio × E
//   final LayerNorm, mean over the tokens (no class token), linear head.
// An input whose patch grid differs from the one the network was built for
// (e.g. 28×28 images for a 32×32 network) gets the position embedding resized
// bilinearly, as ViT does when fine-tuning at another resolution.
// The functions below take explicit weights so the supernet
// (src/supernets/transformer.ts) runs the same arithmetic on slices.
import { Tensor, empty, layerNorm, linear, resizeBilinear } from '../tensor/index.js';
import { TsnasError } from '../errors.js';
import { Module } from '../nn/module.js';
import { normal_ } from '../nn/init.js';
import { Activation, Conv2d, LayerNorm, Linear, ModuleList } from '../nn/layers.js';
import type { TransformerArch } from '../spaces/transformer.js';

/** t in x's dtype: lets a network whose conv and linear weights were swapped to float64 (synflow) run. */
export function like(t: Tensor, x: Tensor): Tensor {
  return t.dtype === x.dtype ? t : t.to({ dtype: x.dtype });
}

/** Patches along each side of an h×w image (the conv's output size). */
export function patchGrid(h: number, w: number, patchSize: number): [number, number] {
  const gh = Math.floor((h - patchSize) / patchSize) + 1;
  const gw = Math.floor((w - patchSize) / patchSize) + 1;
  if (gh < 1 || gw < 1) throw new TsnasError('usage', `the input is too small: ${h}x${w} images give no ${patchSize}x${patchSize} patch`, { where: 'input' });
  return [gh, gw];
}

/** Tokens [batch, gh·gw, E] of a conv patch embedding's output [batch, E, gh, gw]. */
export function tokensOf(patches: Tensor): Tensor {
  return patches.flatten(2).transpose(1, 2);
}

/** The position embedding [1, built grid, E] for an input grid, resized bilinearly when it differs. */
export function positionsFor(pos: Tensor, built: readonly [number, number], grid: readonly [number, number]): Tensor {
  if (built[0] === grid[0] && built[1] === grid[1]) return pos;
  const e = pos.size(2);
  const image = pos.reshape(1, built[0], built[1], e).permute(0, 3, 1, 2);
  return resizeBilinear(image, [grid[0], grid[1]]).permute(0, 2, 3, 1).reshape(1, grid[0] * grid[1], e);
}

export interface LinearWeights {
  weight: Tensor;
  bias: Tensor | null;
}
export interface AttentionWeights {
  q: LinearWeights;
  k: LinearWeights;
  v: LinearWeights;
  proj: LinearWeights;
}

/** Multi-head self-attention of x [batch, tokens, E] with `heads` heads of headDim each. */
export function multiHeadAttention(x: Tensor, w: AttentionWeights, heads: number, headDim: number): Tensor {
  const [b, n] = x.shape as [number, number, number];
  const split = (p: LinearWeights) => linear(x, p.weight, p.bias).reshape(b, n, heads, headDim).permute(0, 2, 1, 3);
  const q = split(w.q);
  const k = split(w.k);
  const v = split(w.v);
  const attention = q.matmul(k.transpose(2, 3)).mul(1 / Math.sqrt(headDim)).softmax(-1);
  const mixed = attention.matmul(v).permute(0, 2, 1, 3).reshape(b, n, heads * headDim);
  return linear(mixed, w.proj.weight, w.proj.bias);
}

export interface EncoderLayerWeights {
  norm1: LinearWeights;
  attn: AttentionWeights;
  norm2: LinearWeights;
  fc1: LinearWeights;
  fc2: LinearWeights;
}

/**
 * One pre-norm encoder layer on x [batch, tokens, E] (E = the norms' width).
 * scales multiply the attention and MLP branches (a supernet's
 * straight-through weights; absent in a fixed network). gelu applies the
 * MLP's GELU: a layer passes its Activation module, so that hooks on
 * activations (nwot's codes) see it.
 */
export function encoderLayer(x: Tensor, w: EncoderLayerWeights, heads: number, headDim: number, eps = 1e-5,
  scales: { attn?: Tensor | undefined; mlp?: Tensor | undefined } = {}, gelu: (h: Tensor) => Tensor = (h) => h.gelu()): Tensor {
  const e = w.norm1.weight.size(0);
  const norm = (y: Tensor, p: LinearWeights) => layerNorm(y, [e], like(p.weight, y), p.bias ? like(p.bias, y) : null, eps);
  const attention = multiHeadAttention(norm(x, w.norm1), w.attn, heads, headDim);
  const attended = x.add(scales.attn ? attention.mul(scales.attn) : attention);
  const hidden = gelu(linear(norm(attended, w.norm2), w.fc1.weight, w.fc1.bias));
  const mlp = linear(hidden, w.fc2.weight, w.fc2.bias);
  return attended.add(scales.mlp ? mlp.mul(scales.mlp) : mlp);
}

const weightsOf = (m: Linear | LayerNorm): LinearWeights => ({ weight: m.weight!, bias: m.bias });

/** Queries, keys, values and output projection of one layer ('q', 'k', 'v', 'proj'). */
export class TransformerAttention extends Module {
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly proj: Linear;
  constructor(readonly embedDim: number, readonly heads: number, readonly headDim: number) {
    super();
    const inner = heads * headDim;
    this.q = this.registerModule('q', new Linear(embedDim, inner));
    this.k = this.registerModule('k', new Linear(embedDim, inner));
    this.v = this.registerModule('v', new Linear(embedDim, inner));
    this.proj = this.registerModule('proj', new Linear(inner, embedDim));
  }
  weights(): AttentionWeights {
    return { q: weightsOf(this.q), k: weightsOf(this.k), v: weightsOf(this.v), proj: weightsOf(this.proj) };
  }
  forward(x: Tensor): Tensor {
    return multiHeadAttention(x, this.weights(), this.heads, this.headDim);
  }
}

/** 'norm1', 'attn', 'norm2', 'fc1', 'fc2' (the MLP's two linear layers). */
export class TransformerEncoderLayer extends Module {
  readonly norm1: LayerNorm;
  readonly attn: TransformerAttention;
  readonly norm2: LayerNorm;
  readonly fc1: Linear;
  readonly fc2: Linear;
  /** The MLP's GELU (no parameters). */
  readonly act: Activation;
  constructor(readonly embedDim: number, readonly heads: number, readonly mlpRatio: number, readonly headDim: number) {
    super();
    this.norm1 = this.registerModule('norm1', new LayerNorm(embedDim));
    this.attn = this.registerModule('attn', new TransformerAttention(embedDim, heads, headDim));
    this.norm2 = this.registerModule('norm2', new LayerNorm(embedDim));
    this.fc1 = this.registerModule('fc1', new Linear(embedDim, mlpRatio * embedDim));
    this.fc2 = this.registerModule('fc2', new Linear(mlpRatio * embedDim, embedDim));
    this.act = this.registerModule('act', new Activation('gelu'));
  }
  weights(): EncoderLayerWeights {
    return { norm1: weightsOf(this.norm1), attn: this.attn.weights(), norm2: weightsOf(this.norm2), fc1: weightsOf(this.fc1), fc2: weightsOf(this.fc2) };
  }
  forward(x: Tensor): Tensor {
    return encoderLayer(x, this.weights(), this.heads, this.headDim, this.norm1.eps, {}, (h) => this.act.call(h));
  }
}

export interface TransformerNetworkOptions {
  arch: TransformerArch;
  patchSize: number;
  headDim: number;
  numClasses: number;
  /** Image channels; default 3. */
  inChannels?: number;
  /** Image height = width the position embedding is built for (default 32). */
  inputSize?: number;
}

export class TransformerNetwork extends Module {
  readonly arch: TransformerArch;
  readonly patchSize: number;
  readonly headDim: number;
  /** The patch grid the position embedding was built for. */
  readonly grid: [number, number];
  readonly patchEmbed: Conv2d;
  posEmbed: Tensor;
  readonly layers: ModuleList<TransformerEncoderLayer>;
  readonly norm: LayerNorm;
  readonly head: Linear;

  constructor(o: TransformerNetworkOptions) {
    super();
    const inChannels = o.inChannels ?? 3;
    const inputSize = o.inputSize ?? 32;
    for (const [name, v] of [['numClasses', o.numClasses], ['inChannels', inChannels], ['patchSize', o.patchSize], ['headDim', o.headDim], ['inputSize', inputSize], ['embedDim', o.arch.embedDim]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new TsnasError('config', `transformer network ${name} must be a positive integer, got ${v}`);
    }
    if (o.arch.layers.length === 0) throw new TsnasError('config', 'a transformer network needs at least one layer');
    o.arch.layers.forEach((l, i) => {
      if (!Number.isInteger(l.heads) || l.heads < 1 || !Number.isInteger(l.mlpRatio) || l.mlpRatio < 1) {
        throw new TsnasError('config', `transformer layer ${i} needs positive integer heads and MLP ratio, got h${l.heads}:m${l.mlpRatio}`);
      }
    });
    this.arch = { embedDim: o.arch.embedDim, layers: o.arch.layers.map((l) => ({ ...l })) };
    this.patchSize = o.patchSize;
    this.headDim = o.headDim;
    this.grid = patchGrid(inputSize, inputSize, o.patchSize);
    const e = o.arch.embedDim;
    this.patchEmbed = this.registerModule('patch_embed', new Conv2d(inChannels, e, o.patchSize, { stride: o.patchSize }));
    this.posEmbed = this.registerParameter('pos_embed', normal_(empty([1, this.grid[0] * this.grid[1], e]), 0, 0.02));
    this.layers = this.registerModule('layers', new ModuleList(o.arch.layers.map((l) => new TransformerEncoderLayer(e, l.heads, l.mlpRatio, o.headDim))));
    this.norm = this.registerModule('norm', new LayerNorm(e));
    this.head = this.registerModule('head', new Linear(e, o.numClasses));
  }

  forward(x: Tensor): Tensor {
    const tokens = tokensOf(this.patchEmbed.call(x));
    const grid = patchGrid(x.size(2), x.size(3), this.patchSize);
    let y = tokens.add(like(positionsFor(this.posEmbed, this.grid, grid), tokens));
    for (const layer of this.layers) y = layer.call(y);
    const { weight, bias, normalizedShape, eps } = this.norm;
    return this.head.call(layerNorm(y, normalizedShape, like(weight!, y), like(bias!, y), eps).mean(1));
  }
}
