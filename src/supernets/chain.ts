// The chain space's supernet. Per layer, a MixedOp over the ops (label
// layer{i}_op); every op candidate holds ONE set of weights at the largest
// kernel and width, and reads the layer's other labels itself:
//   kernel (layer{i}_kernel): the centre k×k of the K×K kernel. Dense mixing
//     uses Σ_k w_k·(centre k×k of the kernel), one K×K conv (Single-Path NAS's
//     superkernel); a single path convolves with the k×k crop itself.
//   filters (layer{i}_filters): tensors are max width; the output is
//     multiplied by a channel mask keeping the first f channels (FBNetV2).
//     Dense mixing uses the mask Σ_f w_f·mask_f. Batch norm and the
//     activations act per channel, so a single path computes exactly the
//     sliced network (at the compute cost of the widest one).
//   activation (layer{i}_activation): Σ_a w_a·act_a(y), or the chosen one.
//   identity and pools project (1×1 conv + BN) only when the width changes,
//     as the fixed network: with probability p that the previous layer has
//     the same width, the output is p·x + (1-p)·proj(x) (p is 0 or 1 on a
//     single path, the previous filters label's weight when dense).
//   depth: layers beyond the depth are skipped on a single path; dense
//     mixing weighs the globally pooled features after each candidate depth.
// So a single path with the weights sliced out (extract) is the fixed
// ChainNetwork of that sample.
import { TsnasError } from '../errors.js';
import { activate, BatchNorm2d, Conv2d, Linear, ModuleList } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { ChainNetwork } from '../networks/chain.js';
import { adaptiveAvgPool2d, avgPool2d, conv2d, maxPool2d, zeros, type Tensor } from '../tensor/index.js';
import type { ChainSpace } from '../spaces/chain.js';
import { ArchitectureChoices, MixedOp, SinglePathMixing, type MixingStrategy } from '../spaces/supernet.js';
import type { Sample, Value } from '../spaces/types.js';
import {
  SpaceSupernet, centreCrop, centreMask, channelMask, copyIntoFixed, mixCandidates, registerSpaceLabels, requireFullChannels, toChannels, weightOfValue,
} from './common.js';

export interface ChainSupernetOptions {
  numClasses: number;
  /** Image channels; default 3. */
  inChannels?: number;
  /** Default: single-path mixing. */
  mixing?: MixingStrategy;
}


/** What the candidates of layer i read: their labels and the layer's max sizes. */
class ChainLayerContext {
  constructor(
    readonly choices: ArchitectureChoices,
    readonly index: number,
    readonly kernels: readonly number[],
    readonly filters: readonly number[],
    readonly activations: readonly string[],
    /** Channels of the layer's input tensor (image channels for layer 0, else the widest filter count). */
    readonly inWidth: number,
    /** The input's real width when it is fixed (layer 0), else null (the previous filters label decides). */
    readonly fixedInput: number | null,
  ) {}

  get maxFilters(): number {
    return Math.max(...this.filters);
  }
  get maxKernel(): number {
    return Math.max(...this.kernels);
  }
  private label(part: string): string {
    return `layer${this.index}_${part}`;
  }

  /** The kernel this forward convolves with, and its padding. */
  kernel(full: Tensor, dilation: number): { weight: Tensor; padding: number } {
    const w = this.choices.weightsFor(this.label('kernel'));
    if (w.kind === 'single') {
      const k = this.kernels[w.index]!;
      const crop = centreCrop(full, k);
      return { weight: w.scale ? crop.mul(w.scale) : crop, padding: (dilation * (k - 1)) / 2 };
    }
    const size = full.size(2);
    const mask = mixCandidates(w, (i) => centreMask(size, this.kernels[i]!, full), this.kernels.length);
    return { weight: full.mul(mask), padding: (dilation * (size - 1)) / 2 };
  }

  /** Pooling over the chosen (or every, weighted) kernel size, stride 1, same size. */
  pool(x: Tensor, kind: 'max' | 'avg'): Tensor {
    const w = this.choices.weightsFor(this.label('kernel'));
    return mixCandidates(w, (i) => {
      const k = this.kernels[i]!;
      const padding = (k - 1) / 2;
      return kind === 'max' ? maxPool2d(x, k, { stride: 1, padding }) : avgPool2d(x, k, { stride: 1, padding, countIncludePad: false });
    }, this.kernels.length);
  }

  activate(y: Tensor): Tensor {
    const w = this.choices.weightsFor(this.label('activation'));
    return mixCandidates(w, (i) => activate(this.activations[i]!, y), this.activations.length);
  }

  /** y with the channels beyond the layer's filter count zeroed (weighted masks when dense). */
  maskWidth(y: Tensor): Tensor {
    const w = this.choices.weightsFor(this.label('filters'));
    return y.mul(mixCandidates(w, (i) => channelMask(this.maxFilters, this.filters[i]!, y), this.filters.length));
  }

  /**
   * Output of identity and pools: the input itself where the width stays,
   * the projection where it changes (computed only when some weight needs it).
   */
  passOrProject(x: Tensor, project: () => Tensor): Tensor {
    const w = this.choices.weightsFor(this.label('filters'));
    const previous = this.fixedInput === null ? this.choices.weightsFor(`layer${this.index - 1}_filters`) : null;
    let projected: Tensor | null = null;
    const proj = () => (projected ??= project());
    return mixCandidates(w, (i) => {
      const f = this.filters[i]!;
      const same: Tensor | number = previous ? weightOfValue(previous, this.filters as readonly Value[], f) : this.fixedInput === f ? 1 : 0;
      const part = typeof same === 'number'
        ? (same === 1 ? toChannels(x, this.maxFilters) : proj())
        : toChannels(x, this.maxFilters).mul(same).add(proj().mul(same.rsub(1)));
      return part.mul(channelMask(this.maxFilters, f, part));
    }, this.filters.length);
  }
}

/** conv: K×K conv to the max width, BN, activation, width mask ('0' conv, '1' BN as the fixed layer). */
class ChainConvCandidate extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(readonly ctx: ChainLayerContext) {
    super();
    this.conv = this.registerModule('0', new Conv2d(ctx.inWidth, ctx.maxFilters, ctx.maxKernel, { bias: false }));
    this.bn = this.registerModule('1', new BatchNorm2d(ctx.maxFilters));
  }
  forward(x: Tensor): Tensor {
    const { weight, padding } = this.ctx.kernel(this.conv.weight, 1);
    return this.ctx.maskWidth(this.ctx.activate(this.bn.call(conv2d(x, weight, null, { padding }))));
  }
}

/** sep_conv / dil_conv: depthwise K×K (dilation 2 for dil_conv), pointwise to the max width, BN, activation, mask. */
class ChainSepCandidate extends Module {
  readonly depthwise: Conv2d;
  readonly pointwise: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(readonly ctx: ChainLayerContext, readonly dilation: number) {
    super();
    const c = ctx.inWidth;
    this.depthwise = this.registerModule('0', new Conv2d(c, c, ctx.maxKernel, { groups: c, bias: false }));
    this.pointwise = this.registerModule('1', new Conv2d(c, ctx.maxFilters, 1, { bias: false }));
    this.bn = this.registerModule('2', new BatchNorm2d(ctx.maxFilters));
  }
  forward(x: Tensor): Tensor {
    const { weight, padding } = this.ctx.kernel(this.depthwise.weight, this.dilation);
    const y = conv2d(x, weight, null, { padding, dilation: this.dilation, groups: this.ctx.inWidth });
    return this.ctx.maskWidth(this.ctx.activate(this.bn.call(this.pointwise.call(y))));
  }
}

/** identity, max_pool, avg_pool: pooling (kernel label), then a 1×1 conv + BN where the width changes. */
class ChainPassCandidate extends Module {
  readonly project: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(readonly ctx: ChainLayerContext, readonly pooling: 'max' | 'avg' | null) {
    super();
    // The fixed layer is Sequential(pool, conv, BN) or Sequential(conv, BN): same child names here.
    const first = pooling ? 1 : 0;
    this.project = this.registerModule(String(first), new Conv2d(ctx.inWidth, ctx.maxFilters, 1, { bias: false }));
    this.bn = this.registerModule(String(first + 1), new BatchNorm2d(ctx.maxFilters));
  }
  forward(x: Tensor): Tensor {
    const pooled = this.pooling ? this.ctx.pool(x, this.pooling) : x;
    return this.ctx.passOrProject(pooled, () => this.bn.call(this.project.call(pooled)));
  }
}

/** zero: zeros at the max width. */
class ChainZeroCandidate extends Module {
  readonly isZero = true;
  constructor(readonly ctx: ChainLayerContext) {
    super();
  }
  forward(x: Tensor): Tensor {
    const [n, , h, w] = x.shape as [number, number, number, number];
    return zeros([n, this.ctx.maxFilters, h, w], { dtype: x.dtype, device: x.device });
  }
}

function chainCandidate(op: string, ctx: ChainLayerContext): Module {
  switch (op) {
    case 'conv':
      return new ChainConvCandidate(ctx);
    case 'sep_conv':
      return new ChainSepCandidate(ctx, 1);
    case 'dil_conv':
      return new ChainSepCandidate(ctx, 2);
    case 'max_pool':
      return new ChainPassCandidate(ctx, 'max');
    case 'avg_pool':
      return new ChainPassCandidate(ctx, 'avg');
    case 'identity':
      return new ChainPassCandidate(ctx, null);
    case 'zero':
      return new ChainZeroCandidate(ctx);
    default:
      throw new TsnasError('config', `unknown chain op '${op}'`);
  }
}

/** 2×2 max pool, stride 2, along each side at least 2 long (as the fixed network). */
function halve(x: Tensor): Tensor {
  const [kh, kw] = [x.size(2) >= 2 ? 2 : 1, x.size(3) >= 2 ? 2 : 1];
  return kh === 1 && kw === 1 ? x : maxPool2d(x, [kh, kw], { stride: [kh, kw] });
}

export class ChainSupernet extends SpaceSupernet {
  declare readonly space: ChainSpace;
  readonly numClasses: number;
  readonly inChannels: number;
  readonly layers: ModuleList<MixedOp>;
  readonly classifier: Linear;
  readonly depths: readonly number[];

  constructor(space: ChainSpace, o: ChainSupernetOptions) {
    const mixing = o.mixing ?? new SinglePathMixing();
    const cfg = space.config;
    const inChannels = o.inChannels ?? 3;
    for (const [name, v] of [['numClasses', o.numClasses], ['inChannels', inChannels]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new TsnasError('config', `chain supernet ${name} must be a positive integer, got ${v}`);
    }
    const maxFilters = Math.max(...cfg.filters);
    requireFullChannels(mixing, [inChannels, maxFilters], 'chain');
    for (const k of cfg.kernels) {
      if (!Number.isInteger(k) || k < 1 || k % 2 === 0) throw new TsnasError('config', `chain supernet kernels must be positive odd integers, found ${k}`);
    }
    const choices = new ArchitectureChoices(mixing);
    registerSpaceLabels(space, choices);
    super(space, choices);
    this.numClasses = o.numClasses;
    this.inChannels = inChannels;
    this.depths = space.dimension('depth').values.map(Number);
    const layers: MixedOp[] = [];
    for (let i = 0; i < cfg.maxDepth; i++) {
      const ctx = new ChainLayerContext(choices, i, cfg.kernels, cfg.filters, cfg.activations, i === 0 ? inChannels : maxFilters, i === 0 ? inChannels : null);
      layers.push(new MixedOp(`layer${i}_op`, cfg.ops, (op) => chainCandidate(String(op), ctx), choices));
    }
    this.layers = this.registerModule('layers', new ModuleList(layers));
    this.classifier = this.registerModule('classifier', new Linear(maxFilters, o.numClasses));
  }

  protected mixedWidths(): number[] {
    return [this.inChannels, Math.max(...this.space.config.filters)];
  }

  protected forwardNetwork(x: Tensor): Tensor {
    const w = this.choices.weightsFor('depth');
    const last = w.kind === 'single' ? this.depths[w.index]! : Math.max(...this.depths);
    const features = new Map<number, Tensor>();
    let h = x;
    for (let i = 0; i < last; i++) {
      h = this.layers.at(i).call(h);
      if (this.space.config.poolAfter.includes(i)) h = halve(h);
      const depth = i + 1;
      if (this.depths.includes(depth) && (w.kind === 'dense' || depth === last)) {
        const pooled = adaptiveAvgPool2d(h, 1);
        features.set(depth, pooled.view(pooled.size(0), -1));
      }
    }
    return this.classifier.call(mixCandidates(w, (k) => features.get(this.depths[k]!)!, this.depths.length));
  }

  /** The fixed ChainNetwork of a sample (default: the exported one) with its slices of the shared weights copied in. */
  extract(s: Sample = this.exportSample()): ChainNetwork {
    const layers = this.space.layersOf(s);
    const { poolAfter, ops } = this.space.config;
    const fixed = new ChainNetwork({ layers, poolAfter, numClasses: this.numClasses, inChannels: this.inChannels });
    // Fixed block index -> layer index (the halving pools take block slots too).
    const layerOfBlock: number[] = [];
    layers.forEach((_, i) => {
      layerOfBlock.push(i);
      if (poolAfter.includes(i)) layerOfBlock.push(-1);
    });
    try {
      copyIntoFixed(fixed, this, (key) => {
        const m = /^blocks\.(\d+)\.(.+)$/.exec(key);
        if (!m) return key;
        const i = layerOfBlock[Number(m[1])]!;
        return `layers.${i}.candidates.${ops.indexOf(layers[i]!.op)}.${m[2]}`;
      });
    } catch (e) {
      fixed.dispose();
      throw e;
    }
    fixed.train(this.training);
    return fixed;
  }
}
