// The chain space's network, in the skeleton src/hardware/cost.ts counts:
// the sample's layers one after another, a 2×2 max pool after the layers the
// space's poolAfter lists, then global average pooling and a classifier.
//   conv:               k×k conv to the filters, BN, activation
//   sep_conv, dil_conv: depthwise k×k (dilation 2 for dil_conv), pointwise to the filters, BN, activation
//   max_pool, avg_pool: k×k pooling (stride 1, same size); a 1×1 conv + BN when the filter count changes
//   identity:           nothing; a 1×1 conv + BN when the filter count changes
//   zero:               zeros with the filter count
// Convolutions have no bias (BN follows each).
import { Tensor, maxPool2d, zeros } from '../tensor/index.js';
import { TsnasError } from '../errors.js';
import { Module } from '../nn/module.js';
import { Activation, AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, Linear, MaxPool2d, ModuleList, Sequential } from '../nn/layers.js';
import { CHAIN_ACTIVATIONS, CHAIN_OPS, type ChainLayer } from '../spaces/chain.js';


/** The 'zero' layer: zeros of the layer's width, shaped like the input otherwise. */
export class ChainZero extends Module {
  constructor(readonly outChannels: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    const [n, , h, w] = x.shape;
    return zeros([n!, this.outChannels, h!, w!], { dtype: x.dtype, device: x.device });
  }
}

/** 2×2 max pooling with stride 2 along each side that is at least 2 long (a side of 1 stays 1, as the cost model counts). */
export class HalvingPool extends Module {
  forward(x: Tensor): Tensor {
    const [kh, kw] = [x.size(2) >= 2 ? 2 : 1, x.size(3) >= 2 ? 2 : 1];
    return kh === 1 && kw === 1 ? x : maxPool2d(x, [kh, kw], { stride: [kh, kw] });
  }
}

/** One layer of a chain network. */
/** Throws a config error naming the layer's bad field. */
export function checkChainLayer(layer: ChainLayer, where = 'chain layer'): void {
  const { op, kernel: k, filters: f, activation } = layer;
  if (!(CHAIN_OPS as readonly string[]).includes(op)) throw new TsnasError('config', `${where} has unknown op '${op}', expected one of ${CHAIN_OPS.join(', ')}`);
  if (!Number.isInteger(k) || k < 1 || k % 2 === 0) throw new TsnasError('config', `${where} kernel must be a positive odd integer, got ${k}`);
  if (!Number.isInteger(f) || f < 1) throw new TsnasError('config', `${where} filters must be a positive integer, got ${f}`);
  if (!(CHAIN_ACTIVATIONS as readonly string[]).includes(activation)) {
    throw new TsnasError('config', `${where} has unknown activation '${activation}', expected one of ${CHAIN_ACTIVATIONS.join(', ')}`);
  }
}

export function chainLayer(layer: ChainLayer, inChannels: number): Module {
  checkChainLayer(layer);
  const { op, kernel: k, filters: f } = layer;
  const project = () => (inChannels === f ? [] : [new Conv2d(inChannels, f, 1, { bias: false }), new BatchNorm2d(f)]);
  switch (op) {
    case 'conv':
      return new Sequential(new Conv2d(inChannels, f, k, { padding: (k - 1) / 2, bias: false }), new BatchNorm2d(f), new Activation(layer.activation));
    case 'sep_conv':
    case 'dil_conv': {
      const dilation = op === 'dil_conv' ? 2 : 1;
      return new Sequential(
        new Conv2d(inChannels, inChannels, k, { padding: (dilation * (k - 1)) / 2, dilation, groups: inChannels, bias: false }),
        new Conv2d(inChannels, f, 1, { bias: false }),
        new BatchNorm2d(f),
        new Activation(layer.activation),
      );
    }
    case 'max_pool':
      return new Sequential(new MaxPool2d(k, { stride: 1, padding: (k - 1) / 2 }), ...project());
    case 'avg_pool':
      return new Sequential(new AvgPool2d(k, { stride: 1, padding: (k - 1) / 2, countIncludePad: false }), ...project());
    case 'identity':
      return new Sequential(...project());
    case 'zero':
      return new ChainZero(f);
    default:
      throw new TsnasError('config', `unknown chain op '${op}', expected one of ${CHAIN_OPS.join(', ')}`);
  }
}

export interface ChainNetworkOptions {
  layers: readonly ChainLayer[];
  /** Indices of the layers followed by a 2×2 max pool (the space's config.poolAfter). */
  poolAfter: readonly number[];
  numClasses: number;
  /** Image channels; default 3. */
  inChannels?: number;
}

export class ChainNetwork extends Module {
  readonly layers: readonly ChainLayer[];
  readonly blocks: ModuleList<Module>;
  readonly globalPooling: AdaptiveAvgPool2d;
  readonly classifier: Linear;

  constructor(o: ChainNetworkOptions) {
    super();
    const inChannels = o.inChannels ?? 3;
    for (const [name, v] of [['numClasses', o.numClasses], ['inChannels', inChannels]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new TsnasError('config', `chain network ${name} must be a positive integer, got ${v}`);
    }
    if (o.layers.length === 0) throw new TsnasError('config', 'a chain network needs at least one layer');
    o.layers.forEach((layer, i) => checkChainLayer(layer, `chain layer ${i}`));
    this.layers = o.layers.map((l) => ({ ...l }));
    const blocks: Module[] = [];
    let ch = inChannels;
    o.layers.forEach((layer, i) => {
      blocks.push(chainLayer(layer, ch));
      if (o.poolAfter.includes(i)) blocks.push(new HalvingPool());
      ch = layer.filters;
    });
    this.blocks = this.registerModule('blocks', new ModuleList(blocks));
    this.globalPooling = this.registerModule('global_pooling', new AdaptiveAvgPool2d(1));
    this.classifier = this.registerModule('classifier', new Linear(ch, o.numClasses));
  }

  forward(x: Tensor): Tensor {
    let y = x;
    for (const block of this.blocks) y = block.call(y);
    const pooled = this.globalPooling.call(y);
    return this.classifier.call(pooled.view(pooled.size(0), -1));
  }
}
