// The exporters of tsnas's layers, operations and built-in networks. Each
// mirrors the eval-mode forward of its class (see the class's forward for
// the reference), emitting standard ONNX operators of opset 17.
import { TsnasError } from '../../errors.js';
import type { AnyModule } from '../../nn/module.js';
import {
  ACTIVATIONS, Activation, AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, Dropout, Flatten, Identity, LayerNorm, Linear, MaxPool2d,
  ReLU, ReLU6, Sequential, type Pair,
} from '../../nn/layers.js';
import {
  Conv7x1x1x7, DartsFactorizedReduce, DartsReLUConvBN, DilConv, DualSepConv, FactorizedReduce, Pooling, ReLUConvBN,
  ResNetBasicblock, SepConv, SingleSepConv, Zero,
} from '../../nn/ops.js';
import { NB201Cell, NB201Network } from '../../networks/nb201.js';
import { DartsAuxiliaryHead, DartsCell, DartsNetwork } from '../../networks/darts.js';
import { ChainNetwork, ChainZero, HalvingPool } from '../../networks/chain.js';
import { InvertedResidual, MobilenetNetwork, SqueezeExcite } from '../../networks/mobilenet.js';
import { HierarchicalNetwork } from '../../networks/hierarchical.js';
import { TransformerAttention, TransformerEncoderLayer, TransformerNetwork, positionsFor } from '../../networks/transformer.js';
import { noGrad, tidy } from '../../tensor/index.js';
import { NB201_EDGES } from '../../spaces/nb201.js';
import { attr, registerOnnxExporter, type OnnxExportContext, type OnnxValue } from './export.js';

const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

/** Output side of a convolution or pooling window (torch's formula, including its ceil-mode rule). */
function windowOutput(size: number, kernel: number, stride: number, padding: number, dilation: number, ceil = false): number {
  const span = size + 2 * padding - dilation * (kernel - 1) - 1;
  let out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  // In ceil mode the last window must start inside the input or its left padding.
  if (ceil && (out - 1) * stride >= size + padding) out--;
  return out;
}

function expectRank(ctx: OnnxExportContext, m: AnyModule, x: OnnxValue, rank: number): void {
  if (x.shape.length !== rank) {
    throw new TsnasError('usage', `cannot export module '${ctx.pathOf(m)}' (${m.constructor.name}) to ONNX: expected a ${rank}-D input, got shape [${x.shape.join(', ')}]`, { where: 'onnx' });
  }
}

const hintOf = (ctx: OnnxExportContext, m: AnyModule, suffix = '') => `${ctx.pathOf(m) || m.constructor.name}${suffix}`;

/** Runs modules one after another. */
function chain(ctx: OnnxExportContext, x: OnnxValue, modules: Iterable<AnyModule | null>): OnnxValue {
  let y = x;
  for (const m of modules) if (m) y = ctx.module(m, y);
  return y;
}

function add(ctx: OnnxExportContext, a: OnnxValue, b: OnnxValue, hint: string): OnnxValue {
  return ctx.node('Add', [a, b], {}, a.shape, hint);
}

function relu(ctx: OnnxExportContext, x: OnnxValue, hint: string): OnnxValue {
  return ctx.node('Relu', [x], {}, x.shape, hint);
}

/** Slices dims 2 and 3 (the map) from start to end with step. */
function sliceMap(ctx: OnnxExportContext, x: OnnxValue, start: number, end: number[], step: number, hint: string): OnnxValue {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const side = (size: number, stop: number) => Math.max(0, Math.ceil((Math.min(stop, size) - start) / step));
  return ctx.node('Slice', [x, ctx.ints([start, start]), ctx.ints(end), ctx.ints([2, 3]), ctx.ints([step, step])], {},
    [n, c, side(h, end[0]!), side(w, end[1]!)], hint);
}

/** Zeros [batch, channels, h, w]: the batch is read from x's shape at run time, so it stays dynamic. */
function zerosLike(ctx: OnnxExportContext, x: OnnxValue, channels: number, h: number, w: number, hint: string): OnnxValue {
  const shape = ctx.node('Shape', [x], {}, [x.shape.length], `${hint}.shape`);
  const batch = ctx.node('Slice', [shape, ctx.ints([0]), ctx.ints([1])], {}, [1], `${hint}.batch`);
  const full = ctx.node('Concat', [batch, ctx.ints([channels, h, w])], { axis: attr.int(0) }, [4], `${hint}.dims`);
  return ctx.node('ConstantOfShape', [full], { value: attr.tensor({ dims: [1], data: Float32Array.of(0) }) }, [-1, channels, h, w], hint);
}

function globalAveragePool(ctx: OnnxExportContext, x: OnnxValue, hint: string): OnnxValue {
  return ctx.node('GlobalAveragePool', [x], {}, [x.shape[0]!, x.shape[1]!, 1, 1], hint);
}

function flatten(ctx: OnnxExportContext, x: OnnxValue, hint: string): OnnxValue {
  return ctx.node('Flatten', [x], { axis: attr.int(1) }, [x.shape[0]!, x.shape.slice(1).reduce((a, b) => a * b, 1)], hint);
}

/** What the networks do before their classifier: pooled.view(pooled.size(0), -1). */
function pooledFeatures(ctx: OnnxExportContext, net: AnyModule, pooled: OnnxValue): OnnxValue {
  return flatten(ctx, pooled, hintOf(ctx, net, 'features'));
}

// ------------------------------------------------------------ layers

registerOnnxExporter(Conv2d, (ctx, m, [x]) => {
  expectRank(ctx, m, x!, 4);
  const [n, c, h, w] = x!.shape as [number, number, number, number];
  if (c !== m.inChannels) {
    throw new TsnasError('internal', `ONNX export: '${ctx.pathOf(m)}' (Conv2d) takes ${m.inChannels} channels, its input has ${c}`);
  }
  const [kh, kw] = m.kernelSize;
  const [sh, sw] = m.stride;
  const [ph, pw] = m.padding;
  const [dh, dw] = m.dilation;
  const hint = hintOf(ctx, m);
  const inputs = [x!.name, ctx.weight(m.weight, `${hint}.weight`)];
  if (m.bias) inputs.push(ctx.weight(m.bias, `${hint}.bias`));
  return ctx.node('Conv', inputs, {
    kernel_shape: attr.ints([kh, kw]), strides: attr.ints([sh, sw]), pads: attr.ints([ph, pw, ph, pw]),
    dilations: attr.ints([dh, dw]), group: attr.int(m.groups),
  }, [n, m.outChannels, windowOutput(h, kh, sh, ph, dh), windowOutput(w, kw, sw, pw, dw)], hint);
});

registerOnnxExporter(BatchNorm2d, (ctx, m, [x]) => {
  expectRank(ctx, m, x!, 4);
  const hint = hintOf(ctx, m);
  if (!m.runningMean || !m.runningVar) {
    // Without running statistics torch normalises with the batch's own statistics even in eval mode.
    throw new TsnasError('usage', `cannot export module '${ctx.pathOf(m)}' (BatchNorm2d with track_running_stats=false) to ONNX: ` +
      'it normalises with batch statistics in eval mode; expected running statistics', { where: 'onnx' });
  }
  const c = m.numFeatures;
  const scale = m.weight ? ctx.weight(m.weight, `${hint}.weight`) : ctx.floats(`${hint}.ones`, [c], new Float32Array(c).fill(1));
  const bias = m.bias ? ctx.weight(m.bias, `${hint}.bias`) : ctx.floats(`${hint}.zeros`, [c], new Float32Array(c));
  return ctx.node('BatchNormalization', [x!.name, scale, bias, ctx.weight(m.runningMean, `${hint}.running_mean`), ctx.weight(m.runningVar, `${hint}.running_var`)],
    { epsilon: attr.float(m.eps) }, x!.shape, hint);
});

registerOnnxExporter(Linear, (ctx, m, [x]) => linearNode(ctx, m, x!, hintOf(ctx, m)));

/** x·Wᵀ + b: Gemm on [batch, features], MatMul with a transposed weight on more dimensions (tokens). */
function linearNode(ctx: OnnxExportContext, m: Linear, x: OnnxValue, hint: string): OnnxValue {
  if (x.shape.at(-1) !== m.inFeatures) {
    throw new TsnasError('internal', `ONNX export: '${ctx.pathOf(m)}' (Linear) takes ${m.inFeatures} features, its input has shape [${x.shape.join(', ')}]`);
  }
  const shape = [...x.shape.slice(0, -1), m.outFeatures];
  if (x.shape.length === 2) {
    const inputs = [x.name, ctx.weight(m.weight, `${hint}.weight`)];
    if (m.bias) inputs.push(ctx.weight(m.bias, `${hint}.bias`));
    return ctx.node('Gemm', inputs, { transB: attr.int(1) }, shape, hint);
  }
  const product = ctx.node('MatMul', [x, ctx.transposedWeight(m.weight, `${hint}.weight_t`)], {}, shape, m.bias ? `${hint}.matmul` : hint);
  return m.bias ? ctx.node('Add', [product, ctx.weight(m.bias, `${hint}.bias`)], {}, shape, hint) : product;
}

registerOnnxExporter(ReLU, (ctx, m, [x]) => relu(ctx, x!, hintOf(ctx, m)));
registerOnnxExporter(ReLU6, (ctx, m, [x]) => ctx.node('Clip', [x!, ctx.scalar(0), ctx.scalar(6)], {}, x!.shape, hintOf(ctx, m)));
registerOnnxExporter(Identity, (_ctx, _m, [x]) => x!);
registerOnnxExporter(Dropout, (_ctx, _m, [x]) => x!); // identity in eval mode

/** ACTIVATIONS of src/nn/layers.ts as ONNX nodes. */
export function exportActivation(ctx: OnnxExportContext, kind: string, x: OnnxValue, hint: string): OnnxValue {
  switch (kind) {
    case 'relu':
      return relu(ctx, x, hint);
    case 'swish': // x·σ(x); ONNX has no Swish before opset 24
      return ctx.node('Mul', [x, ctx.node('Sigmoid', [x], {}, x.shape, `${hint}.sigmoid`)], {}, x.shape, hint);
    case 'mish': // x·tanh(softplus(x)); Mish is opset 18
      return ctx.node('Mul', [x, ctx.node('Tanh', [ctx.node('Softplus', [x], {}, x.shape, `${hint}.softplus`)], {}, x.shape, `${hint}.tanh`)], {}, x.shape, hint);
    case 'hswish': // x·relu6(x + 3)/6, torch's hardswish
      return ctx.node('HardSwish', [x], {}, x.shape, hint);
    case 'gelu':
      return gelu(ctx, x, hint);
    default:
      throw new TsnasError('usage', `cannot export activation '${kind}' to ONNX (known: ${ACTIVATIONS.join(', ')})`, { where: 'onnx' });
  }
}
registerOnnxExporter(Activation, (ctx, m, [x]) => exportActivation(ctx, m.kind, x!, hintOf(ctx, m)));

registerOnnxExporter(Flatten, (ctx, m, [x]) => {
  const rank = x!.shape.length;
  const end = m.endDim < 0 ? rank + m.endDim : m.endDim;
  if (m.startDim !== 1 || end !== rank - 1) {
    throw new TsnasError('usage', `cannot export module '${ctx.pathOf(m)}' (Flatten from ${m.startDim} to ${m.endDim}) to ONNX: only flattening all but the batch is supported`, { where: 'onnx' });
  }
  return flatten(ctx, x!, hintOf(ctx, m));
});

registerOnnxExporter(AvgPool2d, (ctx, m, [x]) => {
  expectRank(ctx, m, x!, 4);
  const [n, c, h, w] = x!.shape as [number, number, number, number];
  const [kh, kw] = pair(m.kernelSize);
  const [sh, sw] = pair(m.options.stride ?? m.kernelSize);
  const [ph, pw] = pair(m.options.padding ?? 0);
  const ceil = m.options.ceilMode ?? false;
  return ctx.node('AveragePool', [x!], {
    kernel_shape: attr.ints([kh, kw]), strides: attr.ints([sh, sw]), pads: attr.ints([ph, pw, ph, pw]),
    count_include_pad: attr.int(m.options.countIncludePad ?? true ? 1 : 0), ceil_mode: attr.int(ceil ? 1 : 0),
  }, [n, c, windowOutput(h, kh, sh, ph, 1, ceil), windowOutput(w, kw, sw, pw, 1, ceil)], hintOf(ctx, m));
});

registerOnnxExporter(MaxPool2d, (ctx, m, [x]) => {
  expectRank(ctx, m, x!, 4);
  const [n, c, h, w] = x!.shape as [number, number, number, number];
  const [kh, kw] = pair(m.kernelSize);
  const [sh, sw] = pair(m.options.stride ?? m.kernelSize);
  const [ph, pw] = pair(m.options.padding ?? 0);
  const [dh, dw] = pair(m.options.dilation ?? 1);
  const ceil = m.options.ceilMode ?? false;
  return ctx.node('MaxPool', [x!], {
    kernel_shape: attr.ints([kh, kw]), strides: attr.ints([sh, sw]), pads: attr.ints([ph, pw, ph, pw]),
    dilations: attr.ints([dh, dw]), ceil_mode: attr.int(ceil ? 1 : 0),
  }, [n, c, windowOutput(h, kh, sh, ph, dh, ceil), windowOutput(w, kw, sw, pw, dw, ceil)], hintOf(ctx, m));
});

registerOnnxExporter(AdaptiveAvgPool2d, (ctx, m, [x]) => {
  expectRank(ctx, m, x!, 4);
  const [n, c, h, w] = x!.shape as [number, number, number, number];
  const [oh, ow] = pair(m.outputSize);
  if (oh === 1 && ow === 1) return globalAveragePool(ctx, x!, hintOf(ctx, m));
  // Equal windows when the output divides the input; other sizes have overlapping, uneven windows.
  if (h % oh !== 0 || w % ow !== 0) {
    throw new TsnasError('usage', `cannot export module '${ctx.pathOf(m)}' (AdaptiveAvgPool2d to ${oh}x${ow}) to ONNX: ` +
      `the input map ${h}x${w} must be a multiple of the output size`, { where: 'onnx' });
  }
  const [kh, kw] = [h / oh, w / ow];
  return ctx.node('AveragePool', [x!], { kernel_shape: attr.ints([kh, kw]), strides: attr.ints([kh, kw]) }, [n, c, oh, ow], hintOf(ctx, m));
});

registerOnnxExporter(Sequential, (ctx, m, [x]) => chain(ctx, x!, m));

// ------------------------------------------------------------ operations (src/nn/ops.ts)

for (const cls of [ReLUConvBN, SingleSepConv, DartsReLUConvBN, DilConv, SepConv, Conv7x1x1x7]) {
  registerOnnxExporter(cls, (ctx, m, [x]) => ctx.module(m.op, x!));
}
registerOnnxExporter(DualSepConv, (ctx, m, [x]) => ctx.module(m.opB, ctx.module(m.opA, x!)));
registerOnnxExporter(Pooling, (ctx, m, [x]) => chain(ctx, x!, [m.preprocess, m.op]));

registerOnnxExporter(Zero, (ctx, m, [x]) => {
  expectRank(ctx, m, x!, 4);
  const [, , h, w] = x!.shape as [number, number, number, number];
  const hint = hintOf(ctx, m);
  if (m.cIn === m.cOut) {
    // As the forward: the strided input times 0 (so NaN and infinity propagate the same way).
    const strided = m.stride === 1 ? x! : sliceMap(ctx, x!, 0, [h, w], m.stride, `${hint}.strided`);
    return ctx.node('Mul', [strided, ctx.scalar(0)], {}, strided.shape, hint);
  }
  return zerosLike(ctx, x!, m.cOut, Math.ceil(h / m.stride), Math.ceil(w / m.stride), hint);
});

registerOnnxExporter(FactorizedReduce, (ctx, m, [x]) => {
  expectRank(ctx, m, x!, 4);
  const hint = hintOf(ctx, m);
  let out: OnnxValue;
  if (m.convs) {
    const [n, c, h, w] = x!.shape as [number, number, number, number];
    const r = relu(ctx, x!, `${hint}.relu`);
    // pad(r, [0, 1, 0, 1]) then [1:h+1, 1:w+1]: r shifted by one pixel, zero at the far edges.
    const padded = ctx.node('Pad', [r, ctx.ints([0, 0, 0, 0, 0, 0, 1, 1])], {}, [n, c, h + 1, w + 1], `${hint}.pad`);
    const shifted = sliceMap(ctx, padded, 1, [h + 1, w + 1], 1, `${hint}.shifted`);
    const a = ctx.module(m.convs.at(0), r);
    const b = ctx.module(m.convs.at(1), shifted);
    out = ctx.node('Concat', [a, b], { axis: attr.int(1) }, [a.shape[0]!, a.shape[1]! + b.shape[1]!, a.shape[2]!, a.shape[3]!], `${hint}.cat`);
  } else {
    out = ctx.module(m.conv!, x!);
  }
  return ctx.module(m.bn, out);
});

registerOnnxExporter(DartsFactorizedReduce, (ctx, m, [x]) => {
  expectRank(ctx, m, x!, 4);
  const hint = hintOf(ctx, m);
  const [, , h, w] = x!.shape as [number, number, number, number];
  const r = relu(ctx, x!, `${hint}.relu`);
  const shifted = sliceMap(ctx, r, 1, [h, w], 1, `${hint}.shifted`);
  const a = ctx.module(m.conv1, r);
  const b = ctx.module(m.conv2, shifted);
  if (a.shape[2] !== b.shape[2] || a.shape[3] !== b.shape[3]) {
    throw new TsnasError('usage', `cannot export '${ctx.pathOf(m)}' (DartsFactorizedReduce) on an odd ${h}x${w} map: its two halves differ in size`, { where: 'onnx' });
  }
  const cat = ctx.node('Concat', [a, b], { axis: attr.int(1) }, [a.shape[0]!, a.shape[1]! + b.shape[1]!, a.shape[2]!, a.shape[3]!], `${hint}.cat`);
  return ctx.module(m.bn, cat);
});

registerOnnxExporter(ResNetBasicblock, (ctx, m, [x]) => {
  const block = ctx.module(m.convB, ctx.module(m.convA, x!));
  const residual = m.downsample ? ctx.module(m.downsample, x!) : x!;
  return add(ctx, residual, block, hintOf(ctx, m, '.add'));
});

// ------------------------------------------------------------ NAS-Bench-201 and hierarchical networks

registerOnnxExporter(NB201Cell, (ctx, m, [x]) => {
  // As the forward: node j sums its non-"none" edges; a node with only "none" inputs is its first edge's zeros.
  // Nodes the output does not depend on are emitted too and pruned with the graph.
  const nodes: OnnxValue[] = [x!];
  for (let j = 1; j <= 3; j++) {
    let sum: OnnxValue | null = null;
    let zeroEdge = -1;
    NB201_EDGES.forEach(([to, from], e) => {
      if (to !== j) return;
      const layer = m.layers.at(e);
      if (layer instanceof Zero) {
        if (zeroEdge < 0) zeroEdge = e;
        return;
      }
      const y = ctx.module(layer, nodes[from]!);
      sum = sum ? add(ctx, sum, y, hintOf(ctx, m, `.node${j}`)) : y;
    });
    nodes.push(sum ?? ctx.module(m.layers.at(zeroEdge), nodes[NB201_EDGES[zeroEdge]![1]]!));
  }
  return nodes[3]!;
});

/** stem, cells, lastact, global pooling, classifier: NB201Network and HierarchicalNetwork. */
function exportResidualCellNetwork(ctx: OnnxExportContext, m: NB201Network | HierarchicalNetwork, x: OnnxValue): OnnxValue {
  expectRank(ctx, m, x, 4);
  let y = ctx.module(m.stem, x);
  for (const cell of m.cells) y = ctx.module(cell, y);
  const pooled = ctx.module(m.globalPooling, ctx.module(m.lastact, y));
  return ctx.module(m.classifier, pooledFeatures(ctx, m, pooled));
}
registerOnnxExporter(NB201Network, (ctx, m, [x]) => exportResidualCellNetwork(ctx, m, x!));
registerOnnxExporter(HierarchicalNetwork, (ctx, m, [x]) => exportResidualCellNetwork(ctx, m, x!));

// ------------------------------------------------------------ DARTS

registerOnnxExporter(DartsCell, (ctx, m, [s0, s1]) => {
  // Eval mode: no drop-path.
  const states = [ctx.module(m.preprocess0, s0!), ctx.module(m.preprocess1, s1!)];
  for (let e = 0; e < m.indices.length; e += 2) {
    const a = ctx.module(m.ops.at(e), states[m.indices[e]!]!);
    const b = ctx.module(m.ops.at(e + 1), states[m.indices[e + 1]!]!);
    states.push(add(ctx, a, b, hintOf(ctx, m, `.node${2 + e / 2}`)));
  }
  const parts = m.concat.map((n) => states[n]!);
  const channels = parts.reduce((sum, p) => sum + p.shape[1]!, 0);
  return ctx.node('Concat', parts, { axis: attr.int(1) }, [parts[0]!.shape[0]!, channels, parts[0]!.shape[2]!, parts[0]!.shape[3]!], hintOf(ctx, m, '.concat'));
});

registerOnnxExporter(DartsNetwork, (ctx, m, [x]) => {
  expectRank(ctx, m, x!, 4);
  let s0 = ctx.module(m.stem, x!);
  let s1 = s0;
  for (const cell of m.cells) [s0, s1] = [s1, ctx.module(cell, s0, s1)];
  const pooled = ctx.module(m.globalPooling, s1);
  return ctx.module(m.classifier, pooledFeatures(ctx, m, pooled));
});
// The auxiliary head only runs while training; exported on its own it is its forward.
registerOnnxExporter(DartsAuxiliaryHead, (ctx, m, [x]) => ctx.module(m.classifier, flatten(ctx, ctx.module(m.features, x!), hintOf(ctx, m, '.flat'))));

// ------------------------------------------------------------ chain

registerOnnxExporter(ChainZero, (ctx, m, [x]) => {
  expectRank(ctx, m, x!, 4);
  return zerosLike(ctx, x!, m.outChannels, x!.shape[2]!, x!.shape[3]!, hintOf(ctx, m));
});
registerOnnxExporter(HalvingPool, (ctx, m, [x]) => {
  expectRank(ctx, m, x!, 4);
  const [n, c, h, w] = x!.shape as [number, number, number, number];
  const [kh, kw] = [h >= 2 ? 2 : 1, w >= 2 ? 2 : 1];
  if (kh === 1 && kw === 1) return x!;
  return ctx.node('MaxPool', [x!], { kernel_shape: attr.ints([kh, kw]), strides: attr.ints([kh, kw]) },
    [n, c, Math.floor(h / kh), Math.floor(w / kw)], hintOf(ctx, m));
});
registerOnnxExporter(ChainNetwork, (ctx, m, [x]) => {
  expectRank(ctx, m, x!, 4);
  const y = chain(ctx, x!, m.blocks);
  return ctx.module(m.classifier, pooledFeatures(ctx, m, ctx.module(m.globalPooling, y)));
});

// ------------------------------------------------------------ mobilenet

registerOnnxExporter(SqueezeExcite, (ctx, m, [x]) => {
  expectRank(ctx, m, x!, 4);
  const hint = hintOf(ctx, m);
  const squeezed = ctx.node('ReduceMean', [x!], { axes: attr.ints([2, 3]), keepdims: attr.int(1) }, [x!.shape[0]!, x!.shape[1]!, 1, 1], `${hint}.squeeze`);
  const hidden = relu(ctx, ctx.module(m.reduce, squeezed), `${hint}.relu`);
  const expanded = ctx.module(m.expand, hidden);
  // torch's hardsigmoid: relu6(x + 3) / 6.
  const gate = ctx.node('HardSigmoid', [expanded], { alpha: attr.float(1 / 6), beta: attr.float(0.5) }, expanded.shape, `${hint}.gate`);
  return ctx.node('Mul', [x!, gate], {}, x!.shape, hint);
});
registerOnnxExporter(InvertedResidual, (ctx, m, [x]) => {
  const y = chain(ctx, x!, [m.inverted, m.depthwise, m.se, m.project]);
  return m.residual ? add(ctx, y, x!, hintOf(ctx, m, '.add')) : y;
});
registerOnnxExporter(MobilenetNetwork, (ctx, m, [x]) => {
  expectRank(ctx, m, x!, 4);
  const y = chain(ctx, x!, [m.firstConv, ...m.blocks, m.finalExpand, m.globalPooling, m.featureMix]);
  return ctx.module(m.classifier, pooledFeatures(ctx, m, y));
});

// ------------------------------------------------------------ transformer (ViT)

registerOnnxExporter(LayerNorm, (ctx, m, [x]) => layerNormNode(ctx, m, x!, hintOf(ctx, m)));

function layerNormNode(ctx: OnnxExportContext, m: LayerNorm, x: OnnxValue, hint: string): OnnxValue {
  const width = m.normalizedShape.reduce((a, b) => a * b, 1);
  const scale = m.weight ? ctx.weight(m.weight, `${hint}.weight`) : ctx.floats(`${hint}.ones`, m.normalizedShape, new Float32Array(width).fill(1));
  const bias = m.bias ? ctx.weight(m.bias, `${hint}.bias`) : ctx.floats(`${hint}.zeros`, m.normalizedShape, new Float32Array(width));
  return ctx.node('LayerNormalization', [x.name, scale, bias], { axis: attr.int(-m.normalizedShape.length), epsilon: attr.float(m.eps) }, x.shape, hint);
}

/** As multiHeadAttention: per-head scaled dot-product attention of x [batch, tokens, E]. */
registerOnnxExporter(TransformerAttention, (ctx, m, [x]) => {
  const hint = hintOf(ctx, m);
  const [b, n] = x!.shape as [number, number, number];
  const { heads, headDim } = m;
  // Reshape's 0 copies the (dynamic) batch dimension.
  const split = (p: Linear, name: string) => {
    const projected = ctx.module(p, x!);
    const perHead = ctx.node('Reshape', [projected.name, ctx.ints([0, n, heads, headDim])], {}, [b, n, heads, headDim], `${hint}.${name}_heads`);
    return ctx.node('Transpose', [perHead], { perm: attr.ints([0, 2, 1, 3]) }, [b, heads, n, headDim], `${hint}.${name}_t`);
  };
  const q = split(m.q, 'q');
  const k = split(m.k, 'k');
  const v = split(m.v, 'v');
  const kT = ctx.node('Transpose', [k], { perm: attr.ints([0, 1, 3, 2]) }, [b, heads, headDim, n], `${hint}.k_tt`);
  const scores = ctx.node('Mul', [ctx.node('MatMul', [q, kT], {}, [b, heads, n, n], `${hint}.qk`), ctx.scalar(1 / Math.sqrt(headDim))], {}, [b, heads, n, n], `${hint}.scores`);
  const attention = ctx.node('Softmax', [scores], { axis: attr.int(-1) }, scores.shape, `${hint}.softmax`);
  const mixed = ctx.node('MatMul', [attention, v], {}, [b, heads, n, headDim], `${hint}.mixed`);
  const merged = ctx.node('Reshape', [ctx.node('Transpose', [mixed], { perm: attr.ints([0, 2, 1, 3]) }, [b, n, heads, headDim], `${hint}.mixed_t`).name,
    ctx.ints([0, n, heads * headDim])], {}, [b, n, heads * headDim], `${hint}.merged`);
  return ctx.module(m.proj, merged);
});

/** GELU without approximation: x·(1 + erf(x/√2))/2. */
function gelu(ctx: OnnxExportContext, x: OnnxValue, hint: string): OnnxValue {
  const erf = ctx.node('Erf', [ctx.node('Mul', [x, ctx.scalar(Math.SQRT1_2)], {}, x.shape, `${hint}.scaled`)], {}, x.shape, `${hint}.erf`);
  const gate = ctx.node('Mul', [ctx.node('Add', [erf, ctx.scalar(1)], {}, x.shape, `${hint}.one_plus`), ctx.scalar(0.5)], {}, x.shape, `${hint}.gate`);
  return ctx.node('Mul', [x, gate], {}, x.shape, hint);
}

/** As encoderLayer: pre-norm attention and MLP branches, each added to its input. */
registerOnnxExporter(TransformerEncoderLayer, (ctx, m, [x]) => {
  const hint = hintOf(ctx, m);
  const attended = add(ctx, x!, ctx.module(m.attn, ctx.module(m.norm1, x!)), `${hint}.attended`);
  const hidden = ctx.module(m.act, ctx.module(m.fc1, ctx.module(m.norm2, attended)));
  return add(ctx, attended, ctx.module(m.fc2, hidden), hint);
});

registerOnnxExporter(TransformerNetwork, (ctx, m, [x]) => {
  expectRank(ctx, m, x!, 4);
  const hint = hintOf(ctx, m, 'vit');
  const patches = ctx.module(m.patchEmbed, x!);
  const [b, e, gh, gw] = patches.shape as [number, number, number, number];
  const flat = ctx.node('Reshape', [patches.name, ctx.ints([0, e, gh * gw])], {}, [b, e, gh * gw], `${hint}.patches`);
  const tokens = ctx.node('Transpose', [flat], { perm: attr.ints([0, 2, 1]) }, [b, gh * gw, e], `${hint}.tokens`);
  // The input size is fixed at export, so the (possibly resized) position embedding is a constant.
  const positions = tidy(() => noGrad(() => positionsFor(m.posEmbed, m.grid, [gh, gw]).float().data() as Float32Array));
  let y = ctx.node('Add', [tokens, ctx.floats('pos_embed', [1, gh * gw, e], positions)], {}, tokens.shape, `${hint}.positioned`);
  for (const layer of m.layers) y = ctx.module(layer, y);
  const normed = layerNormNode(ctx, m.norm, y, hintOf(ctx, m.norm));
  const pooled = ctx.node('ReduceMean', [normed], { axes: attr.ints([1]), keepdims: attr.int(0) }, [b, e], `${hint}.pooled`);
  return ctx.module(m.head, pooled);
});
