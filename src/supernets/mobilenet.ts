// The mobilenet space's supernet: a Once-for-All elastic MobileNetV3. ONE
// set of weights at the largest size; a sub-network uses slices of it:
//   kernel (stage{s}_layer{l}_kernel): the depthwise kernel is K×K (the
//     largest); a smaller k takes the centre of the next larger size, passed
//     through a learned k²×k² kernel transform matrix (OFA's 7to5 / 5to3
//     matrices, initialised to the identity; kernelTransform: false leaves
//     plain centre crops).
//   expand ratio (stage{s}_layer{l}_expand): the first makeDivisible(C·e)
//     channels of the expanded layer: the expansion conv's first output
//     rows, the depthwise kernels, batch norms (OFA's dynamic BN), the
//     squeeze-excite's first channels and the projection's first input columns.
//   depth (stage{s}_depth): the first d blocks of the stage.
//   resolution: the input is resized (bilinear) to the chosen resolution
//     when its size differs.
// setActive(sample) selects a sub-network (single-path mixing) and
// extract(sample) copies its slices into a standalone MobilenetNetwork that
// computes the same outputs. Per-step sub-network sampling (sampleActive)
// is what the progressive-shrinking loop needs.
//
// Dense (DARTS) mixing, for differentiable search: the depthwise kernel is
// Σ_k w_k·(kernel k zero-padded to K×K), widths are masked by Σ_e w_e·mask_e
// (FBNetV2), a stage's output is Σ_d w_d·(output after d blocks), and the
// logits are Σ_r w_r·(logits at resolution r): one forward per resolution.
import { TsnasError } from '../errors.js';
import { makeDivisible } from '../spaces/mobilenet.js';
import { Activation, AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Linear, ModuleList, Sequential } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { InvertedResidual, MobilenetNetwork, SqueezeExcite } from '../networks/mobilenet.js';
import { conv2d, eye, linear, pad, resizeBilinear, type Tensor } from '../tensor/index.js';
import type { MobilenetSpace } from '../spaces/mobilenet.js';
import { ArchitectureChoices, SinglePathMixing, type MixingStrategy, type MixingWeights } from '../spaces/supernet.js';
import type { Sample } from '../spaces/types.js';
import { SpaceSupernet, batchNormFirst, centreCrop, channelMask, copyIntoFixed, mixCandidates, registerSpaceLabels, requireFullChannels } from './common.js';

export interface MobilenetSupernetOptions {
  numClasses: number;
  /** Image channels; default 3. */
  inChannels?: number;
  /** Learned kernel transform matrices between kernel sizes (OFA); default true. */
  kernelTransform?: boolean;
  /** Default: single-path mixing. */
  mixing?: MixingStrategy;
}

function act(kind: string, y: Tensor): Tensor {
  return kind === 'relu' ? y.relu() : y.hardswish();
}

/** An elastic inverted residual block; child names follow InvertedResidual so the slices copy by name. */
export class ElasticInvertedResidual extends Module {
  readonly inverted: Sequential;
  readonly depthwise: Sequential;
  readonly se: SqueezeExcite | null;
  readonly project: Sequential;
  readonly residual: boolean;
  /** Expanded width for each expand ratio, and the largest. */
  readonly mids: number[];
  readonly maxMid: number;
  /** Kernel sizes, largest first. */
  readonly kernelsDown: number[];
  readonly #transforms = new Map<number, Tensor>();

  constructor(
    readonly choices: ArchitectureChoices,
    readonly kernelLabel: string,
    readonly expandLabel: string,
    readonly kernels: readonly number[],
    readonly expands: readonly number[],
    readonly cIn: number,
    readonly cOut: number,
    readonly stride: number,
    readonly activation: string,
    squeezeExcite: boolean,
    kernelTransform: boolean,
  ) {
    super();
    this.mids = expands.map((e) => makeDivisible(Math.round(cIn * e)));
    this.maxMid = Math.max(...this.mids);
    this.kernelsDown = [...kernels].sort((a, b) => b - a);
    const kMax = this.kernelsDown[0]!;
    this.inverted = this.registerModule('inverted_bottleneck', new Sequential(
      new Conv2d(cIn, this.maxMid, 1, { bias: false }), new BatchNorm2d(this.maxMid), new Activation(activation),
    ));
    this.depthwise = this.registerModule('depth_conv', new Sequential(
      new Conv2d(this.maxMid, this.maxMid, kMax, { stride, padding: (kMax - 1) / 2, groups: this.maxMid, bias: false }),
      new BatchNorm2d(this.maxMid),
      new Activation(activation),
    ));
    this.se = this.registerModule('se', squeezeExcite ? new SqueezeExcite(this.maxMid) : null);
    this.project = this.registerModule('point_linear', new Sequential(new Conv2d(this.maxMid, cOut, 1, { bias: false }), new BatchNorm2d(cOut)));
    this.residual = stride === 1 && cIn === cOut;
    if (kernelTransform) {
      for (const k of this.kernelsDown.slice(1)) {
        this.#transforms.set(k, this.registerParameter(`transform_to_${k}x${k}`, eye(k * k)));
      }
    }
  }

  private conv(i: number): Conv2d {
    return (i === 0 ? this.inverted : i === 1 ? this.depthwise : this.project).at(0) as Conv2d;
  }
  private bn(i: number): BatchNorm2d {
    return (i === 0 ? this.inverted : i === 1 ? this.depthwise : this.project).at(1) as BatchNorm2d;
  }

  /** The k×k depthwise kernel of the first `channels` channels: centre crops of the K×K one, each step through its transform. */
  activeKernel(k: number, channels = this.maxMid): Tensor {
    let w = this.conv(1).weight;
    if (channels < this.maxMid) w = w.narrow(0, 0, channels);
    for (const size of this.kernelsDown.slice(1)) {
      if (size < k) break;
      const crop = centreCrop(w, size);
      const transform = this.#transforms.get(size);
      w = transform ? linear(crop.reshape(channels, size * size), transform).view(channels, 1, size, size) : crop;
    }
    return w;
  }

  /** Expanded width this forward uses and, when dense, the mixed channel mask. */
  private width(w: MixingWeights, like: Tensor): { mid: number; mask: Tensor | null } {
    if (w.kind === 'single') return { mid: this.mids[w.index]!, mask: null };
    return { mid: this.maxMid, mask: mixCandidates(w, (i) => channelMask(this.maxMid, this.mids[i]!, like), this.mids.length) };
  }

  forward(x: Tensor): Tensor {
    const kw = this.choices.weightsFor(this.kernelLabel);
    const ew = this.choices.weightsFor(this.expandLabel);
    const { mid, mask } = this.width(ew, x);
    const masked = (y: Tensor) => (mask ? y.mul(mask) : y);
    // 1×1 expansion to the first `mid` channels.
    let expandWeight = this.conv(0).weight;
    if (mid < this.maxMid) expandWeight = expandWeight.narrow(0, 0, mid);
    let y = masked(act(this.activation, batchNormFirst(this.bn(0), conv2d(x, expandWeight), mid)));
    // Depthwise: the chosen kernel (or the weighted sum of all, padded to K×K).
    const kMax = this.kernelsDown[0]!;
    let kernel: Tensor;
    let padding: number;
    if (kw.kind === 'single') {
      const k = this.kernels[kw.index]!;
      kernel = this.activeKernel(k, mid);
      if (kw.scale) kernel = kernel.mul(kw.scale);
      padding = (k - 1) / 2;
    } else {
      kernel = mixCandidates(kw, (i) => {
        const k = this.kernels[i]!;
        const p = (kMax - k) / 2;
        return pad(this.activeKernel(k, mid), [p, p, p, p]);
      }, this.kernels.length);
      padding = (kMax - 1) / 2;
    }
    y = masked(act(this.activation, batchNormFirst(this.bn(1), conv2d(y, kernel, null, { stride: this.stride, padding, groups: mid }), mid)));
    // A sampled width's straight-through scale (GDAS): 1 forward, the weight's gradient backward.
    if (ew.kind === 'single' && ew.scale) y = y.mul(ew.scale);
    if (this.se) y = this.squeezeExcite(y, ew, mid);
    let projectWeight = this.conv(2).weight;
    if (mid < this.maxMid) projectWeight = projectWeight.narrow(1, 0, mid);
    y = this.bn(2).call(conv2d(y, projectWeight));
    return this.residual ? y.add(x) : y;
  }

  /** Squeeze-excite on the first `mid` channels (its hidden width makeDivisible(mid/4), masked when dense). */
  private squeezeExcite(y: Tensor, ew: MixingWeights, mid: number): Tensor {
    const se = this.se!;
    const hiddenMax = se.reduce.outChannels;
    const hidden = ew.kind === 'single' ? makeDivisible(mid / 4) : hiddenMax;
    const first = (t: Tensor, dim: number, n: number) => (t.size(dim) === n ? t : t.narrow(dim, 0, n));
    const squeezed = y.mean([2, 3], true);
    let h = conv2d(squeezed, first(first(se.reduce.weight, 0, hidden), 1, mid), first(se.reduce.bias!, 0, hidden)).relu();
    if (ew.kind === 'dense') h = h.mul(mixCandidates(ew, (i) => channelMask(hiddenMax, makeDivisible(this.mids[i]! / 4), h), this.mids.length));
    const gate = conv2d(h, first(first(se.expand.weight, 0, mid), 1, hidden), first(se.expand.bias!, 0, mid)).hardsigmoid();
    return y.mul(gate);
  }
}

export class MobilenetSupernet extends SpaceSupernet {
  declare readonly space: MobilenetSpace;
  readonly numClasses: number;
  readonly inChannels: number;
  readonly firstConv: Sequential;
  /** The fixed first block, then per stage its deepest number of elastic blocks. */
  readonly blocks: ModuleList<Module>;
  readonly finalExpand: Sequential;
  readonly globalPooling: AdaptiveAvgPool2d;
  readonly featureMix: Sequential;
  readonly classifier: Linear;
  readonly maxDepth: number;

  constructor(space: MobilenetSpace, o: MobilenetSupernetOptions) {
    const mixing = o.mixing ?? new SinglePathMixing();
    const cfg = space.config;
    const inChannels = o.inChannels ?? 3;
    for (const [name, v] of [['numClasses', o.numClasses], ['inChannels', inChannels]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new TsnasError('config', `mobilenet supernet ${name} must be a positive integer, got ${v}`);
    }
    if (cfg.expandRatios.some((e) => !(e > 1))) {
      throw new TsnasError('config', `the mobilenet supernet needs expand ratios above 1 (an expansion layer to slice), found ${cfg.expandRatios.join(', ')}`, { where: 'space mobilenet' });
    }
    if (cfg.kernels.some((k) => !Number.isInteger(k) || k < 1 || k % 2 === 0)) {
      throw new TsnasError('config', `the mobilenet supernet needs odd kernel sizes, found ${cfg.kernels.join(', ')}`, { where: 'space mobilenet' });
    }
    if (Math.min(...cfg.depths) < 1) throw new TsnasError('config', `the mobilenet supernet needs stage depths of at least 1, found ${cfg.depths.join(', ')}`, { where: 'space mobilenet' });
    requireFullChannels(mixing, [inChannels, 16, ...cfg.widths], 'mobilenet');
    const choices = new ArchitectureChoices(mixing);
    registerSpaceLabels(space, choices);
    super(space, choices);
    this.numClasses = o.numClasses;
    this.inChannels = inChannels;
    this.maxDepth = Math.max(...cfg.depths);
    this.firstConv = this.registerModule('first_conv', new Sequential(
      new Conv2d(inChannels, 16, 3, { stride: 2, padding: 1, bias: false }), new BatchNorm2d(16), new Activation('hswish'),
    ));
    const blocks: Module[] = [new InvertedResidual(16, 16, { kernel: 3, stride: 1, expand: 1, activation: 'relu', squeezeExcite: false })];
    let ch = 16;
    cfg.widths.forEach((width, st) => {
      for (let l = 0; l < this.maxDepth; l++) {
        blocks.push(new ElasticInvertedResidual(
          choices, `stage${st}_layer${l}_kernel`, `stage${st}_layer${l}_expand`, cfg.kernels, cfg.expandRatios,
          l === 0 ? ch : width, width, l === 0 ? cfg.strides[st]! : 1, cfg.activations[st]!, cfg.squeezeExcite[st]!, o.kernelTransform ?? true,
        ));
      }
      ch = width;
    });
    this.blocks = this.registerModule('blocks', new ModuleList(blocks));
    this.finalExpand = this.registerModule('final_expand_layer', new Sequential(new Conv2d(ch, 960, 1, { bias: false }), new BatchNorm2d(960), new Activation('hswish')));
    this.globalPooling = this.registerModule('global_pooling', new AdaptiveAvgPool2d(1));
    this.featureMix = this.registerModule('feature_mix_layer', new Sequential(new Conv2d(960, 1280, 1, { bias: false }), new Activation('hswish')));
    this.classifier = this.registerModule('classifier', new Linear(1280, o.numClasses));
  }

  protected mixedWidths(): number[] {
    return [this.inChannels, 16, ...this.space.config.widths];
  }

  /** Block index in `blocks` of stage st, layer l. */
  blockIndex(st: number, l: number): number {
    return 1 + st * this.maxDepth + l;
  }

  protected forwardNetwork(x: Tensor): Tensor {
    const resolutions = this.space.config.resolutions;
    return mixCandidates(this.choices.weightsFor('resolution'), (i) => {
      const r = resolutions[i]!;
      const input = x.size(2) === r && x.size(3) === r ? x : resizeBilinear(x, [r, r]);
      return this.forwardAt(input);
    }, resolutions.length);
  }

  private forwardAt(x: Tensor): Tensor {
    const { depths, widths } = this.space.config;
    let y = this.blocks.at(0).call(this.firstConv.call(x));
    widths.forEach((_, st) => {
      const w = this.choices.weightsFor(`stage${st}_depth`);
      const last = w.kind === 'single' ? depths[w.index]! : this.maxDepth;
      const outputs = new Map<number, Tensor>();
      for (let l = 0; l < last; l++) {
        y = this.blocks.at(this.blockIndex(st, l)).call(y);
        outputs.set(l + 1, y);
      }
      y = mixCandidates(w, (k) => outputs.get(depths[k]!)!, depths.length);
    });
    y = this.featureMix.call(this.globalPooling.call(this.finalExpand.call(y)));
    return this.classifier.call(y.view(y.size(0), -1));
  }

  /** A standalone MobilenetNetwork of a sample (default: the exported one) holding copies of its slices of the weights. */
  extract(s: Sample = this.exportSample()): MobilenetNetwork {
    const arch = this.space.archOf(s);
    const fixed = new MobilenetNetwork({ arch, config: this.space.config, numClasses: this.numClasses, inChannels: this.inChannels });
    // Fixed block j -> [stage, layer] (block 0 is the fixed first block).
    const where: ([number, number] | null)[] = [null];
    arch.stages.forEach((layers, st) => layers.forEach((_, l) => where.push([st, l])));
    try {
      copyIntoFixed(fixed, this, (key) => {
        const m = /^blocks\.(\d+)\.(.+)$/.exec(key);
        if (!m || m[1] === '0') return key;
        const [st, l] = where[Number(m[1])]!;
        const index = this.blockIndex(st, l);
        if (m[2] === 'depth_conv.0.weight') {
          const block = this.blocks.at(index) as ElasticInvertedResidual;
          return block.activeKernel(arch.stages[st]![l]!.kernel);
        }
        return `blocks.${index}.${m[2]}`;
      });
    } catch (e) {
      fixed.dispose();
      throw e;
    }
    fixed.train(this.training);
    return fixed;
  }
}
