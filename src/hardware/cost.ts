// Parameter and FLOP counts of each built-in space's networks, computed
// from the network's shape alone (no tensors are built). costOf (src/kits)
// picks a sample's through its space's kit.
//
// Convention (the one NAS-Bench-201's flop counter uses): FLOPs are
// multiply-accumulates of convolutions and linear layers, plus one add per
// output for a bias; batch norm, activations and pooling count zero.
// Parameters are all learnable weights, batch-norm affine weights included
// and running statistics excluded.
import { TsnasError } from '../errors.js';
import type { ChainLayer } from '../spaces/chain.js';
import { DARTS_EDGE_OPS, type Genotype, type GenotypeEdge } from '../spaces/darts.js';
import type { HierarchicalArch } from '../spaces/hierarchical.js';
import { cellNodesOfEdgeCount } from '../spaces/nb201.js';
import { makeDivisible, type MobilenetArch, type MobilenetConfig } from '../spaces/mobilenet.js';
import type { TransformerArch } from '../spaces/transformer.js';

export interface Cost {
  params: number;
  flops: number;
}

export interface CostOptions {
  /** Input as [channels, height, width]; default [3, 32, 32]. mobilenet takes height and width from the sample's resolution. */
  input?: readonly [number, number, number];
  /** Default 10. */
  classes?: number;
  /** Initial channels C: nb201 default 16, darts default 36. */
  channels?: number;
  /** nb201: cells per stage N (default 5). darts: number of cells (default 20). */
  cells?: number;
  /** darts: count the auxiliary head too (default false, as DARTS reports). */
  auxiliary?: boolean;
}

interface ConvSpec {
  stride?: number;
  padding?: number;
  dilation?: number;
  groups?: number;
  bias?: boolean;
}

/** Accumulates params and FLOPs layer by layer, tracking spatial size. */
export class CostCounter {
  params = 0;
  flops = 0;

  /** A 2-d convolution on an h×w input; returns the output size. Padding defaults to "same" (dilation·(k-1)/2). */
  conv(cin: number, cout: number, k: number, h: number, w: number, spec: ConvSpec = {}): [number, number] {
    const { stride = 1, dilation = 1, groups = 1, bias = false } = spec;
    const padding = spec.padding ?? Math.floor((dilation * (k - 1)) / 2);
    if (cin % groups !== 0 || cout % groups !== 0) {
      throw new TsnasError('internal', `conv ${cin}->${cout} channels is not divisible into ${groups} groups`);
    }
    const ho = Math.floor((h + 2 * padding - dilation * (k - 1) - 1) / stride) + 1;
    const wo = Math.floor((w + 2 * padding - dilation * (k - 1) - 1) / stride) + 1;
    if (ho < 1 || wo < 1) throw new TsnasError('usage', `the input is too small: a ${k}x${k} convolution gets a ${h}x${w} map`, { where: '--input' });
    const perPosition = (k * k * cin * cout) / groups;
    this.params += perPosition + (bias ? cout : 0);
    this.flops += ho * wo * (perPosition + (bias ? cout : 0));
    return [ho, wo];
  }

  /** Batch norm with affine weight and bias. */
  bn(c: number): void {
    this.params += 2 * c;
  }

  linear(inFeatures: number, outFeatures: number, bias = true): void {
    this.params += inFeatures * outFeatures + (bias ? outFeatures : 0);
    this.flops += inFeatures * outFeatures + (bias ? outFeatures : 0);
  }

  result(): Cost {
    return { params: this.params, flops: this.flops };
  }
}

const pooled = (h: number, k: number, stride: number, padding: number) => Math.floor((h + 2 * padding - k) / stride) + 1;

// ---------------------------------------------------------------- NB201

/** ReLU-Conv-BN edge ops of a NAS-Bench-201-style cell on C channels; skip, pooling and none are free. */
function nb201Cell(c: CostCounter, ops: readonly string[], ch: number, h: number, w: number): void {
  for (const op of ops) {
    if (op === 'nor_conv_3x3') c.conv(ch, ch, 3, h, w);
    else if (op === 'nor_conv_1x1') c.conv(ch, ch, 1, h, w);
    else if (op !== 'none' && op !== 'skip_connect' && op !== 'avg_pool_3x3' && op !== 'max_pool_3x3') {
      throw new TsnasError('usage', `unknown NAS-Bench-201 op '${op}'`, { where: 'arch' });
    }
    if (op === 'nor_conv_3x3' || op === 'nor_conv_1x1') c.bn(ch);
  }
}

/** NAS-Bench-201's ResNet basic block with stride 2 between stages. */
function nb201Reduction(c: CostCounter, cin: number, cout: number, h: number, w: number): [number, number] {
  const [ho, wo] = c.conv(cin, cout, 3, h, w, { stride: 2 });
  c.bn(cout);
  c.conv(cout, cout, 3, ho, wo);
  c.bn(cout);
  // Shortcut: AvgPool2d(2, 2) then a 1x1 conv without bias or BN.
  c.conv(cin, cout, 1, pooled(h, 2, 2, 0), pooled(w, 2, 2, 0));
  return [ho, wo];
}

/** A cell-based network in NAS-Bench-201's skeleton, one stage per entry. */
function nb201StyleNetwork(cell: readonly string[], stages: readonly { cells: number; channels: number }[], opts: CostOptions): Cost {
  const [inC, inH, inW] = opts.input ?? [3, 32, 32];
  const c = new CostCounter();
  let ch = stages[0]!.channels;
  let [h, w] = c.conv(inC, ch, 3, inH, inW);
  c.bn(ch);
  stages.forEach((stage, i) => {
    if (i > 0) {
      [h, w] = nb201Reduction(c, ch, stage.channels, h, w);
      ch = stage.channels;
    }
    for (let k = 0; k < stage.cells; k++) nb201Cell(c, cell, ch, h, w);
  });
  c.bn(ch);
  c.linear(ch, opts.classes ?? 10);
  return c.result();
}

/**
 * NAS-Bench-201's network: stem, then 3 stages of N cells (C, 2C, 4C)
 * joined by stride-2 residual blocks, then BN-ReLU, global pool and linear.
 */
export function nb201Cost(ops: readonly string[], opts: CostOptions = {}): Cost {
  if (cellNodesOfEdgeCount(ops.length) === undefined) {
    throw new TsnasError('usage', `a NAS-Bench-201-style cell has one op per edge, n(n+1)/2 for n nodes (6 for NAS-Bench-201), found ${ops.length}`, { where: 'arch' });
  }
  const ch = opts.channels ?? 16;
  const n = opts.cells ?? 5;
  return nb201StyleNetwork(ops, [1, 2, 4].map((m) => ({ cells: n, channels: m * ch })), opts);
}

/** The hierarchical space's network: NAS-Bench-201's skeleton with the sample's stages. */
export function hierarchicalCost(arch: HierarchicalArch, opts: CostOptions = {}): Cost {
  return nb201StyleNetwork(arch.cell, arch.stages, opts);
}

// ---------------------------------------------------------------- DARTS

/** One DARTS op on C channels at h×w (stride 2 on reduction edges from the cell inputs). */
function dartsOp(c: CostCounter, op: string, ch: number, h: number, w: number, stride: number): void {
  const sep = (k: number) => {
    // SepConv: (ReLU, depthwise k×k, pointwise, BN) twice; only the first is strided.
    const [ho, wo] = c.conv(ch, ch, k, h, w, { stride, groups: ch });
    c.conv(ch, ch, 1, ho, wo);
    c.bn(ch);
    c.conv(ch, ch, k, ho, wo, { groups: ch });
    c.conv(ch, ch, 1, ho, wo);
    c.bn(ch);
  };
  const dil = (k: number) => {
    const [ho, wo] = c.conv(ch, ch, k, h, w, { stride, groups: ch, dilation: 2 });
    c.conv(ch, ch, 1, ho, wo);
    c.bn(ch);
  };
  switch (op) {
    case 'sep_conv_3x3':
      return sep(3);
    case 'sep_conv_5x5':
      return sep(5);
    case 'dil_conv_3x3':
      return dil(3);
    case 'dil_conv_5x5':
      return dil(5);
    case 'skip_connect':
      if (stride > 1) factorizedReduce(c, ch, ch, h, w);
      return;
    case 'max_pool_3x3':
    case 'avg_pool_3x3':
    case 'none':
      return;
    default:
      throw new TsnasError('usage', `unknown DARTS op '${op}', expected one of ${DARTS_EDGE_OPS.join(', ')}`, { where: 'arch' });
  }
}

/** ReLU, two 1×1 stride-2 convs (each to half the channels), concatenated, BN. */
function factorizedReduce(c: CostCounter, cin: number, cout: number, h: number, w: number): [number, number] {
  const [ho, wo] = c.conv(cin, cout / 2, 1, h, w, { stride: 2 });
  c.conv(cin, cout / 2, 1, h - 1, w - 1, { stride: 2 });
  c.bn(cout);
  return [ho, wo];
}

function dartsCell(
  c: CostCounter,
  edges: readonly GenotypeEdge[],
  concat: readonly number[],
  cpp: number,
  cp: number,
  ch: number,
  reduction: boolean,
  reductionPrev: boolean,
  h: number,
  w: number,
): [number, number] {
  // preprocess0 sees the cell before last, at twice the size after a reduction.
  // FactorizedReduce has its own BN; the 1×1 ReLUConvBN has one too.
  if (reductionPrev) factorizedReduce(c, cpp, ch, 2 * h, 2 * w);
  else {
    c.conv(cpp, ch, 1, h, w);
    c.bn(ch);
  }
  c.conv(cp, ch, 1, h, w);
  c.bn(ch);
  // In a reduction cell the edges from the two inputs have stride 2, so the
  // intermediate nodes (and the edges leaving them) are at half the size.
  const [nh, nw] = reduction ? [pooled(h, 3, 2, 1), pooled(w, 3, 2, 1)] : [h, w];
  for (const [op, from] of edges) {
    if (from < 2) dartsOp(c, op, ch, h, w, reduction ? 2 : 1);
    else dartsOp(c, op, ch, nh, nw, 1);
  }
  if (!concat.every((n) => n >= 2 && n < 2 + edges.length / 2)) {
    throw new TsnasError('usage', `concat lists nodes ${concat.join(', ')}, expected intermediate nodes 2..${1 + edges.length / 2}`, { where: 'arch' });
  }
  return [nh, nw];
}

/**
 * DARTS's CIFAR evaluation network (NetworkCIFAR): stem conv 3×3 to 3C + BN,
 * `cells` cells with reductions at cells/3 and 2·cells/3 (channels doubling),
 * global pool and linear; optionally the auxiliary head after 2·cells/3.
 */
export function dartsCost(g: Genotype, opts: CostOptions = {}): Cost {
  const [inC, inH, inW] = opts.input ?? [3, 32, 32];
  const layers = opts.cells ?? 20;
  let ch = opts.channels ?? 36;
  const c = new CostCounter();
  const stemC = 3 * ch;
  let [h, w] = c.conv(inC, stemC, 3, inH, inW);
  c.bn(stemC);
  let cpp = stemC;
  let cp = stemC;
  let reductionPrev = false;
  let auxC = 0;
  let auxH = 0;
  for (let i = 0; i < layers; i++) {
    const reduction = i === Math.floor(layers / 3) || i === Math.floor((2 * layers) / 3);
    if (reduction) ch *= 2;
    const [edges, concat] = reduction ? [g.reduce, g.reduce_concat] : [g.normal, g.normal_concat];
    [h, w] = dartsCell(c, edges, concat, cpp, cp, ch, reduction, reductionPrev, h, w);
    reductionPrev = reduction;
    cpp = cp;
    cp = concat.length * ch;
    if (i === Math.floor((2 * layers) / 3)) {
      auxC = cp;
      auxH = h;
    }
  }
  if (opts.auxiliary) {
    // AuxiliaryHeadCIFAR: ReLU, AvgPool(5, stride 3), 1×1 conv to 128 + BN, ReLU, 2×2 conv to 768 + BN, ReLU, linear.
    const ph = pooled(auxH, 5, 3, 0);
    c.conv(auxC, 128, 1, ph, ph);
    c.bn(128);
    const [ah, aw] = c.conv(128, 768, 2, ph, ph, { padding: 0 });
    c.bn(768);
    c.linear(768 * ah * aw, opts.classes ?? 10);
  }
  c.linear(cp, opts.classes ?? 10);
  return c.result();
}

// ---------------------------------------------------------------- chain

/**
 * The chain space's network: the layers in order (conv: k×k conv + BN +
 * activation; sep_conv/dil_conv: depthwise k×k (dilation 2 for dil_conv) +
 * pointwise to the filters + BN + activation; pools and identity keep the
 * channels and add a 1×1 conv + BN only when the filter count differs; zero
 * outputs zeros), a 2×2 max pool after the layers listed in poolAfter, then
 * global pool and linear.
 */
export function chainCost(layers: readonly ChainLayer[], poolAfter: readonly number[], opts: CostOptions = {}): Cost {
  const [inC, inH, inW] = opts.input ?? [3, 32, 32];
  const c = new CostCounter();
  let ch = inC;
  let h = inH;
  let w = inW;
  layers.forEach((layer, i) => {
    const f = layer.filters;
    switch (layer.op) {
      case 'conv':
        c.conv(ch, f, layer.kernel, h, w);
        c.bn(f);
        break;
      case 'sep_conv':
      case 'dil_conv':
        c.conv(ch, ch, layer.kernel, h, w, { groups: ch, dilation: layer.op === 'dil_conv' ? 2 : 1 });
        c.conv(ch, f, 1, h, w);
        c.bn(f);
        break;
      case 'max_pool':
      case 'avg_pool':
      case 'identity':
        if (ch !== f) {
          c.conv(ch, f, 1, h, w);
          c.bn(f);
        }
        break;
      case 'zero':
        break;
      default:
        throw new TsnasError('usage', `unknown chain op '${layer.op}'`, { where: 'arch' });
    }
    ch = f;
    if (poolAfter.includes(i)) {
      h = Math.max(1, Math.floor(h / 2));
      w = Math.max(1, Math.floor(w / 2));
    }
  });
  c.linear(ch, opts.classes ?? 10);
  return c.result();
}

// ---------------------------------------------------------------- mobilenet

/**
 * The mobilenet space's network (OFA MobileNetV3 at width 1.0): 3×3 stride-2
 * stem to 16 + BN; an expand-1 block (depthwise 3×3 + BN, 1×1 to 16 + BN);
 * per stage, inverted-residual blocks (1×1 expand to makeDivisible(C·e) + BN,
 * depthwise k×k + BN, optional squeeze-excite with biased 1×1 convs to
 * makeDivisible(mid/4), 1×1 project + BN); 1×1 to 960 + BN; global pool;
 * 1×1 to 1280 without BN; linear.
 */
export function mobilenetCost(arch: MobilenetArch, config: Required<MobilenetConfig>, opts: CostOptions = {}): Cost {
  const inC = opts.input?.[0] ?? 3;
  const c = new CostCounter();
  let [h, w] = c.conv(inC, 16, 3, arch.resolution, arch.resolution, { stride: 2 });
  c.bn(16);
  c.conv(16, 16, 3, h, w, { groups: 16 });
  c.bn(16);
  c.conv(16, 16, 1, h, w);
  c.bn(16);
  let ch = 16;
  arch.stages.forEach((layers, st) => {
    const out = config.widths[st]!;
    layers.forEach((layer, l) => {
      // Expand ratio 1 has no expansion conv (the network's InvertedResidual).
      const mid = layer.expand === 1 ? ch : makeDivisible(Math.round(ch * layer.expand));
      if (layer.expand !== 1) {
        c.conv(ch, mid, 1, h, w);
        c.bn(mid);
      }
      [h, w] = c.conv(mid, mid, layer.kernel, h, w, { stride: l === 0 ? config.strides[st]! : 1, groups: mid });
      c.bn(mid);
      if (config.squeezeExcite[st]) {
        const reduced = makeDivisible(mid / 4);
        c.conv(mid, reduced, 1, 1, 1, { bias: true });
        c.conv(reduced, mid, 1, 1, 1, { bias: true });
      }
      c.conv(mid, out, 1, h, w);
      c.bn(out);
      ch = out;
    });
  });
  c.conv(ch, 960, 1, h, w);
  c.bn(960);
  c.conv(960, 1280, 1, 1, 1);
  c.linear(1280, opts.classes ?? 10);
  return c.result();
}

// ---------------------------------------------------------------- transformer

/**
 * The transformer space's ViT (src/networks/transformer.ts). Besides the
 * linear layers, the two attention matrix products count as
 * multiply-accumulates: q·kᵀ and attention·v, tokens² · headDim per head
 * each. LayerNorm, softmax, GELU, the position embedding and the token mean
 * count zero; LayerNorm weights and biases and the position embedding are
 * parameters.
 */
export function transformerCost(arch: TransformerArch, config: { patchSize: number; headDim: number }, opts: CostOptions = {}): Cost {
  const [cin, h, w] = opts.input ?? [3, 32, 32];
  const c = new CostCounter();
  const e = arch.embedDim;
  const [gh, gw] = c.conv(cin, e, config.patchSize, h, w, { stride: config.patchSize, padding: 0, bias: true });
  const tokens = gh * gw;
  c.params += tokens * e;
  // Linear layers act on every token: count one token's layer, then scale the FLOPs.
  const perToken = (f: () => void) => {
    const before = c.flops;
    f();
    c.flops = before + (c.flops - before) * tokens;
  };
  for (const layer of arch.layers) {
    const inner = layer.heads * config.headDim;
    const hidden = layer.mlpRatio * e;
    c.params += 2 * e;
    perToken(() => {
      for (let i = 0; i < 3; i++) c.linear(e, inner);
      c.linear(inner, e);
    });
    c.flops += 2 * layer.heads * tokens * tokens * config.headDim;
    c.params += 2 * e;
    perToken(() => {
      c.linear(e, hidden);
      c.linear(hidden, e);
    });
  }
  c.params += 2 * e;
  c.linear(e, opts.classes ?? 10);
  return c.result();
}
