// The mobilenet space's fixed network: the subnet of Once-for-All's elastic
// MobileNetV3 (width 1.0) that a sample picks — per stage its depth, and per
// layer its kernel and expand ratio; the input resolution is the sample's.
// The skeleton is the one src/hardware/cost.ts counts:
//   stem: 3×3 stride-2 conv to 16, BN, h-swish
//   first block: depthwise 3×3, BN, ReLU, 1×1 to 16, BN, plus the input
//   per stage and layer, an inverted residual block: 1×1 expand to
//     makeDivisible(C·e), BN, act; depthwise k×k (the stage's stride on its
//     first layer), BN, act; squeeze-excite where the stage has it; 1×1
//     project, BN; plus the input when the shapes allow
//   head: 1×1 to 960, BN, h-swish; global pool; 1×1 to 1280 (no BN), h-swish; linear
import { Tensor } from '../tensor/index.js';
import { TsnasError } from '../errors.js';
import { Module } from '../nn/module.js';
import { Activation, AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Linear, ModuleList, Sequential } from '../nn/layers.js';
import { makeDivisible, type MobilenetArch, type MobilenetConfig } from '../spaces/mobilenet.js';

/** Squeeze-and-excitation: global pool, 1×1 reduce (bias), ReLU, 1×1 expand (bias), hard sigmoid, rescale. */
export class SqueezeExcite extends Module {
  readonly reduce: Conv2d;
  readonly expand: Conv2d;
  constructor(channels: number) {
    super();
    const mid = makeDivisible(channels / 4);
    this.reduce = this.registerModule('reduce', new Conv2d(channels, mid, 1, { bias: true }));
    this.expand = this.registerModule('expand', new Conv2d(mid, channels, 1, { bias: true }));
  }
  forward(x: Tensor): Tensor {
    const squeezed = x.mean([2, 3], true);
    const gate = this.expand.call(this.reduce.call(squeezed).relu()).hardsigmoid();
    return x.mul(gate);
  }
}

/** An inverted residual (MBConv) block; expand 1 leaves out the expansion conv. */
export class InvertedResidual extends Module {
  readonly inverted: Sequential | null;
  readonly depthwise: Sequential;
  readonly se: SqueezeExcite | null;
  readonly project: Sequential;
  readonly residual: boolean;
  constructor(cIn: number, cOut: number, o: { kernel: number; stride: number; expand: number; activation: string; squeezeExcite: boolean }) {
    super();
    if (!Number.isInteger(o.kernel) || o.kernel < 1 || o.kernel % 2 === 0) {
      throw new TsnasError('config', `MBConv kernel must be a positive odd integer, got ${o.kernel}`);
    }
    const mid = o.expand === 1 ? cIn : makeDivisible(Math.round(cIn * o.expand));
    this.inverted = this.registerModule('inverted_bottleneck', o.expand === 1 ? null : new Sequential(
      new Conv2d(cIn, mid, 1, { bias: false }), new BatchNorm2d(mid), new Activation(o.activation),
    ));
    this.depthwise = this.registerModule('depth_conv', new Sequential(
      new Conv2d(mid, mid, o.kernel, { stride: o.stride, padding: (o.kernel - 1) / 2, groups: mid, bias: false }),
      new BatchNorm2d(mid),
      new Activation(o.activation),
    ));
    this.se = this.registerModule('se', o.squeezeExcite ? new SqueezeExcite(mid) : null);
    this.project = this.registerModule('point_linear', new Sequential(new Conv2d(mid, cOut, 1, { bias: false }), new BatchNorm2d(cOut)));
    this.residual = o.stride === 1 && cIn === cOut;
  }
  forward(x: Tensor): Tensor {
    let y = this.inverted ? this.inverted.call(x) : x;
    y = this.depthwise.call(y);
    if (this.se) y = this.se.call(y);
    y = this.project.call(y);
    return this.residual ? y.add(x) : y;
  }
}

export interface MobilenetNetworkOptions {
  arch: MobilenetArch;
  /** The space's skeleton (widths, strides, activations, squeeze-excite per stage): mobilenetSpace().config. */
  config: Required<MobilenetConfig>;
  numClasses: number;
  /** Image channels; default 3. */
  inChannels?: number;
}

export class MobilenetNetwork extends Module {
  readonly arch: MobilenetArch;
  /** The input size the sample chose: feed [batch, inChannels, resolution, resolution]. */
  readonly resolution: number;
  readonly firstConv: Sequential;
  readonly blocks: ModuleList<InvertedResidual>;
  readonly finalExpand: Sequential;
  readonly globalPooling: AdaptiveAvgPool2d;
  readonly featureMix: Sequential;
  readonly classifier: Linear;

  constructor(o: MobilenetNetworkOptions) {
    super();
    const inChannels = o.inChannels ?? 3;
    for (const [name, v] of [['numClasses', o.numClasses], ['inChannels', inChannels]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new TsnasError('config', `mobilenet network ${name} must be a positive integer, got ${v}`);
    }
    const { config } = o;
    if (o.arch.stages.length !== config.widths.length) {
      throw new TsnasError('config', `the arch has ${o.arch.stages.length} stages, the skeleton ${config.widths.length}`);
    }
    o.arch.stages.forEach((layers, st) => layers.forEach((layer, l) => {
      if (!Number.isInteger(layer.kernel) || layer.kernel < 1 || layer.kernel % 2 === 0 || !(layer.expand > 0)) {
        throw new TsnasError('config', `stage ${st} layer ${l} needs an odd kernel and a positive expand ratio, got k${layer.kernel}e${layer.expand}`);
      }
    }));
    this.arch = { resolution: o.arch.resolution, stages: o.arch.stages.map((layers) => layers.map((l) => ({ ...l }))) };
    this.resolution = o.arch.resolution;
    this.firstConv = this.registerModule('first_conv', new Sequential(
      new Conv2d(inChannels, 16, 3, { stride: 2, padding: 1, bias: false }), new BatchNorm2d(16), new Activation('hswish'),
    ));
    const blocks = [new InvertedResidual(16, 16, { kernel: 3, stride: 1, expand: 1, activation: 'relu', squeezeExcite: false })];
    let ch = 16;
    o.arch.stages.forEach((layers, st) => {
      const out = config.widths[st]!;
      layers.forEach((layer, l) => {
        blocks.push(new InvertedResidual(ch, out, {
          kernel: layer.kernel,
          stride: l === 0 ? config.strides[st]! : 1,
          expand: layer.expand,
          activation: config.activations[st]!,
          squeezeExcite: config.squeezeExcite[st]!,
        }));
        ch = out;
      });
    });
    this.blocks = this.registerModule('blocks', new ModuleList(blocks));
    this.finalExpand = this.registerModule('final_expand_layer', new Sequential(
      new Conv2d(ch, 960, 1, { bias: false }), new BatchNorm2d(960), new Activation('hswish'),
    ));
    this.globalPooling = this.registerModule('global_pooling', new AdaptiveAvgPool2d(1));
    this.featureMix = this.registerModule('feature_mix_layer', new Sequential(
      new Conv2d(960, 1280, 1, { bias: false }), new Activation('hswish'),
    ));
    this.classifier = this.registerModule('classifier', new Linear(1280, o.numClasses));
  }

  forward(x: Tensor): Tensor {
    let y = this.firstConv.call(x);
    for (const block of this.blocks) y = block.call(y);
    y = this.featureMix.call(this.globalPooling.call(this.finalExpand.call(y)));
    return this.classifier.call(y.view(y.size(0), -1));
  }
}
