// Layers with PyTorch's semantics, parameter names and default initialisation.
import {
  Tensor, adaptiveAvgPool2d, avgPool2d, batchNorm, conv2d, dropout, embedding, empty, layerNorm, linear,
  lstmCell, maxPool2d, ones, zeros, scalar, noGrad,
} from '../tensor/index.js';
import { TsnasError } from '../errors.js';
import { Module, type AnyModule } from './module.js';
import { defaultLayerInit_, normal_, uniform_ } from './init.js';

export type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

function checkPositiveInt(value: number, what: string): void {
  if (!Number.isInteger(value) || value <= 0) throw new TsnasError('config', `${what} must be a positive integer, got ${value}`);
}

// ------------------------------------------------------------ convolution and linear

export interface Conv2dLayerOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  weight: Tensor;
  bias: Tensor | null;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, o: Conv2dLayerOptions = {}) {
    super();
    checkPositiveInt(inChannels, 'Conv2d in_channels');
    checkPositiveInt(outChannels, 'Conv2d out_channels');
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = pair(kernelSize);
    this.stride = pair(o.stride ?? 1);
    this.padding = pair(o.padding ?? 0);
    this.dilation = pair(o.dilation ?? 1);
    this.groups = o.groups ?? 1;
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new TsnasError('config', `Conv2d channels (${inChannels} in, ${outChannels} out) must be divisible by groups=${this.groups}`);
    }
    const weight = empty([outChannels, inChannels / this.groups, ...this.kernelSize]);
    const bias = o.bias ?? true ? empty([outChannels]) : null;
    defaultLayerInit_(weight, bias);
    this.weight = this.registerParameter('weight', weight);
    this.bias = this.registerParameter('bias', bias);
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, {
      stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups,
    });
  }
  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernel=${this.kernelSize}, stride=${this.stride}, padding=${this.padding}` +
      `${this.dilation[0] !== 1 || this.dilation[1] !== 1 ? `, dilation=${this.dilation}` : ''}` +
      `${this.groups !== 1 ? `, groups=${this.groups}` : ''}${this.bias ? '' : ', bias=false'}`;
  }
}

export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Tensor;
  bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, o: { bias?: boolean } = {}) {
    super();
    checkPositiveInt(inFeatures, 'Linear in_features');
    checkPositiveInt(outFeatures, 'Linear out_features');
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const weight = empty([outFeatures, inFeatures]);
    const bias = o.bias ?? true ? empty([outFeatures]) : null;
    defaultLayerInit_(weight, bias);
    this.weight = this.registerParameter('weight', weight);
    this.bias = this.registerParameter('bias', bias);
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
  override extraRepr(): string {
    return `${this.inFeatures}, ${this.outFeatures}${this.bias ? '' : ', bias=false'}`;
  }
}

// ------------------------------------------------------------ normalisation

export interface BatchNormLayerOptions {
  eps?: number;
  /** Weight of the new batch statistic; null for a cumulative average (torch's momentum=None). */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}
/** torch.nn.BatchNorm2d, including num_batches_tracked and momentum=None. */
export class BatchNorm2d extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  weight: Tensor | null;
  bias: Tensor | null;
  runningMean: Tensor | null;
  runningVar: Tensor | null;
  numBatchesTracked: Tensor | null;

  constructor(numFeatures: number, o: BatchNormLayerOptions = {}) {
    super();
    checkPositiveInt(numFeatures, 'BatchNorm2d num_features');
    this.numFeatures = numFeatures;
    this.eps = o.eps ?? 1e-5;
    this.momentum = o.momentum === undefined ? 0.1 : o.momentum;
    this.affine = o.affine ?? true;
    this.trackRunningStats = o.trackRunningStats ?? true;
    this.weight = this.registerParameter('weight', this.affine ? ones([numFeatures]) : null);
    this.bias = this.registerParameter('bias', this.affine ? zeros([numFeatures]) : null);
    const track = this.trackRunningStats;
    this.runningMean = this.registerBuffer('running_mean', track ? zeros([numFeatures]) : null);
    this.runningVar = this.registerBuffer('running_var', track ? ones([numFeatures]) : null);
    this.numBatchesTracked = this.registerBuffer('num_batches_tracked', track ? scalar(0, { dtype: 'int64' }) : null);
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 4) throw new TsnasError('usage', `BatchNorm2d expects a 4-D input [N, C, H, W], got shape [${x.shape.join(', ')}]`);
    let averagingFactor = this.momentum ?? 0;
    if (this.training && this.trackRunningStats && this.numBatchesTracked) {
      const counter = this.numBatchesTracked;
      noGrad(() => counter.add_(1));
      if (this.momentum === null) averagingFactor = 1 / counter.item();
    }
    // In eval mode without running statistics, batch statistics are used (as torch).
    const useBatchStats = this.training || (this.runningMean === null && this.runningVar === null);
    const useRunning = !this.training || this.trackRunningStats;
    return batchNorm(x, {
      weight: this.weight,
      bias: this.bias,
      runningMean: useRunning ? this.runningMean : null,
      runningVar: useRunning ? this.runningVar : null,
      training: useBatchStats,
      momentum: averagingFactor,
      eps: this.eps,
    });
  }
  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, ` +
      `track_running_stats=${this.trackRunningStats}`;
  }
}

export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  weight: Tensor | null;
  bias: Tensor | null;
  constructor(normalizedShape: number | number[], o: { eps?: number; elementwiseAffine?: boolean } = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
    this.eps = o.eps ?? 1e-5;
    const affine = o.elementwiseAffine ?? true;
    this.weight = this.registerParameter('weight', affine ? ones(this.normalizedShape) : null);
    this.bias = this.registerParameter('bias', affine ? zeros(this.normalizedShape) : null);
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
}

// ------------------------------------------------------------ activations and simple layers

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}
/** The activations `Activation` applies; hswish is MobileNetV3's hard swish. */
export const ACTIVATIONS = ['relu', 'swish', 'mish', 'hswish', 'gelu'] as const;

/** One of ACTIVATIONS by name. */
export class Activation extends Module {
  constructor(readonly kind: string) {
    super();
    if (!(ACTIVATIONS as readonly string[]).includes(kind)) {
      throw new TsnasError('config', `unknown activation '${kind}', expected one of ${ACTIVATIONS.join(', ')}`);
    }
  }
  forward(x: Tensor): Tensor {
    return activate(this.kind, x);
  }
  override extraRepr(): string {
    return this.kind;
  }
}

/** One of ACTIVATIONS applied to x (an unknown name is a config error). */
export function activate(kind: string, x: Tensor): Tensor {
  switch (kind) {
    case 'relu':
      return x.relu();
    case 'swish':
      return x.silu();
    case 'mish':
      return x.mish();
    case 'hswish':
      return x.hardswish();
    case 'gelu':
      return x.gelu();
    default:
      throw new TsnasError('config', `unknown activation '${kind}', expected one of ${ACTIVATIONS.join(', ')}`);
  }
}
export class ReLU6 extends Module {
  forward(x: Tensor): Tensor {
    return x.relu6();
  }
}
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new TsnasError('config', `dropout probability must be in [0, 1], got ${p}`);
  }
  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }
}

// ------------------------------------------------------------ pooling

export interface PoolLayerOptions {
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
}
export class AvgPool2d extends Module {
  constructor(readonly kernelSize: Pair, readonly options: PoolLayerOptions & { countIncludePad?: boolean } = {}) {
    super();
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, this.options);
  }
}
export class MaxPool2d extends Module {
  constructor(readonly kernelSize: Pair, readonly options: PoolLayerOptions & { dilation?: Pair } = {}) {
    super();
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.options);
  }
}
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Pair) {
    super();
  }
  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
}

// ------------------------------------------------------------ containers

/** Runs its children in order; they are named "0", "1", ... as in torch. */
export class Sequential extends Module {
  readonly #layers: Module[] = [];
  constructor(...layers: Module[]) {
    super();
    for (const layer of layers) this.append(layer);
  }
  append(layer: Module): this {
    this.registerModule(String(this.#layers.length), layer);
    this.#layers.push(layer);
    return this;
  }
  at(i: number): Module {
    const m = this.#layers[i < 0 ? this.#layers.length + i : i];
    if (!m) throw new RangeError(`Sequential index ${i} out of range (length ${this.#layers.length})`);
    return m;
  }
  get length(): number {
    return this.#layers.length;
  }
  [Symbol.iterator](): Iterator<Module> {
    return this.#layers[Symbol.iterator]();
  }
  /**
   * Each intermediate output is released as soon as the next layer has read
   * it, as Python's reference counting does: autograd keeps what backward
   * needs, and reusing freed (cache-warm) memory made the NB201 forward pass
   * 20% faster. A forward hook that stores an output must keep() it.
   */
  forward(x: Tensor): Tensor {
    let y = x;
    for (const layer of this.#layers) {
      const next = layer.call(y);
      if (y !== x && next !== y && !y.kept) y.dispose();
      y = next;
    }
    return y;
  }
}

/** Holds modules under the names "0", "1", ...; it has no forward of its own. */
export class ModuleList<M extends AnyModule = AnyModule> extends Module<never[], never> {
  readonly #items: M[] = [];
  constructor(items: Iterable<M> = []) {
    super();
    for (const m of items) this.append(m);
  }
  append(m: M): this {
    this.registerModule(String(this.#items.length), m);
    this.#items.push(m);
    return this;
  }
  at(i: number): M {
    const m = this.#items[i < 0 ? this.#items.length + i : i];
    if (!m) throw new RangeError(`ModuleList index ${i} out of range (length ${this.#items.length})`);
    return m;
  }
  get length(): number {
    return this.#items.length;
  }
  [Symbol.iterator](): Iterator<M> {
    return this.#items[Symbol.iterator]();
  }
  forward(): never {
    throw new TsnasError('internal', 'ModuleList has no forward(); call its items');
  }
}

// ------------------------------------------------------------ recurrent and embedding

/** torch.nn.LSTMCell: weight_ih [4H, in], weight_hh [4H, H], gates i, f, g, o. */
export class LSTMCell extends Module<[Tensor, [Tensor, Tensor]?], [Tensor, Tensor]> {
  readonly inputSize: number;
  readonly hiddenSize: number;
  weightIh: Tensor;
  weightHh: Tensor;
  biasIh: Tensor | null;
  biasHh: Tensor | null;

  constructor(inputSize: number, hiddenSize: number, o: { bias?: boolean } = {}) {
    super();
    checkPositiveInt(inputSize, 'LSTMCell input_size');
    checkPositiveInt(hiddenSize, 'LSTMCell hidden_size');
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    const bias = o.bias ?? true;
    const stdv = 1 / Math.sqrt(hiddenSize);
    // Same creation and draw order as torch (weight_ih, weight_hh, bias_ih, bias_hh).
    const tensors = [
      empty([4 * hiddenSize, inputSize]), empty([4 * hiddenSize, hiddenSize]),
      ...(bias ? [empty([4 * hiddenSize]), empty([4 * hiddenSize])] : []),
    ];
    for (const t of tensors) uniform_(t, -stdv, stdv);
    this.weightIh = this.registerParameter('weight_ih', tensors[0]!);
    this.weightHh = this.registerParameter('weight_hh', tensors[1]!);
    this.biasIh = this.registerParameter('bias_ih', tensors[2] ?? null);
    this.biasHh = this.registerParameter('bias_hh', tensors[3] ?? null);
  }

  /** One step; state defaults to zeros. Returns [h, c]. */
  forward(x: Tensor, state?: [Tensor, Tensor]): [Tensor, Tensor] {
    const [h, c] = state ?? [zeros([x.size(0), this.hiddenSize], { dtype: x.dtype, device: x.device }),
      zeros([x.size(0), this.hiddenSize], { dtype: x.dtype, device: x.device })];
    return lstmCell(x, h, c, this.weightIh, this.weightHh, this.biasIh, this.biasHh);
  }
}

/** torch.nn.Embedding: weight ~ N(0, 1). */
export class Embedding extends Module {
  weight: Tensor;
  constructor(readonly numEmbeddings: number, readonly embeddingDim: number) {
    super();
    checkPositiveInt(numEmbeddings, 'Embedding num_embeddings');
    checkPositiveInt(embeddingDim, 'Embedding embedding_dim');
    this.weight = this.registerParameter('weight', normal_(empty([numEmbeddings, embeddingDim])));
  }
  forward(indices: Tensor): Tensor {
    return embedding(this.weight, indices);
  }
}
