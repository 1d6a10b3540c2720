// The exporters of tsnas's layers and operations, registered on import.
// Each mirrors the eval-mode forward of its class (see the class's forward
// for the reference), emitting standard ONNX operators of opset 17. The
// networks' own module classes have theirs in networks.ts, registered by
// their spaces' kits; the helpers below are shared with them.
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

export function expectRank(ctx: OnnxExportContext, m: AnyModule, x: OnnxValue, rank: number): void {
  if (x.shape.length !== rank) {
    throw new TsnasError('usage', `cannot export module '${ctx.pathOf(m)}' (${m.constructor.name}) to ONNX: expected a ${rank}-D input, got shape [${x.shape.join(', ')}]`, { where: 'onnx' });
  }
}

export const hintOf = (ctx: OnnxExportContext, m: AnyModule, suffix = '') => `${ctx.pathOf(m) || m.constructor.name}${suffix}`;

/** Runs modules one after another. */
export function chain(ctx: OnnxExportContext, x: OnnxValue, modules: Iterable<AnyModule | null>): OnnxValue {
  let y = x;
  for (const m of modules) if (m) y = ctx.module(m, y);
  return y;
}

export function add(ctx: OnnxExportContext, a: OnnxValue, b: OnnxValue, hint: string): OnnxValue {
  return ctx.node('Add', [a, b], {}, a.shape, hint);
}

export function relu(ctx: OnnxExportContext, x: OnnxValue, hint: string): OnnxValue {
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
export function zerosLike(ctx: OnnxExportContext, x: OnnxValue, channels: number, h: number, w: number, hint: string): OnnxValue {
  const shape = ctx.node('Shape', [x], {}, [x.shape.length], `${hint}.shape`);
  const batch = ctx.node('Slice', [shape, ctx.ints([0]), ctx.ints([1])], {}, [1], `${hint}.batch`);
  const full = ctx.node('Concat', [batch, ctx.ints([channels, h, w])], { axis: attr.int(0) }, [4], `${hint}.dims`);
  return ctx.node('ConstantOfShape', [full], { value: attr.tensor({ dims: [1], data: Float32Array.of(0) }) }, [-1, channels, h, w], hint);
}

export function globalAveragePool(ctx: OnnxExportContext, x: OnnxValue, hint: string): OnnxValue {
  return ctx.node('GlobalAveragePool', [x], {}, [x.shape[0]!, x.shape[1]!, 1, 1], hint);
}

export function flatten(ctx: OnnxExportContext, x: OnnxValue, hint: string): OnnxValue {
  return ctx.node('Flatten', [x], { axis: attr.int(1) }, [x.shape[0]!, x.shape.slice(1).reduce((a, b) => a * b, 1)], hint);
}

/** What the networks do before their classifier: pooled.view(pooled.size(0), -1). */
export function pooledFeatures(ctx: OnnxExportContext, net: AnyModule, pooled: OnnxValue): OnnxValue {
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

// ------------------------------------------------------------ LayerNorm and GELU (transformer layers)

registerOnnxExporter(LayerNorm, (ctx, m, [x]) => layerNormNode(ctx, m, x!, hintOf(ctx, m)));

export function layerNormNode(ctx: OnnxExportContext, m: LayerNorm, x: OnnxValue, hint: string): OnnxValue {
  const width = m.normalizedShape.reduce((a, b) => a * b, 1);
  const scale = m.weight ? ctx.weight(m.weight, `${hint}.weight`) : ctx.floats(`${hint}.ones`, m.normalizedShape, new Float32Array(width).fill(1));
  const bias = m.bias ? ctx.weight(m.bias, `${hint}.bias`) : ctx.floats(`${hint}.zeros`, m.normalizedShape, new Float32Array(width));
  return ctx.node('LayerNormalization', [x.name, scale, bias], { axis: attr.int(-m.normalizedShape.length), epsilon: attr.float(m.eps) }, x.shape, hint);
}

/** GELU without approximation: x·(1 + erf(x/√2))/2. */
function gelu(ctx: OnnxExportContext, x: OnnxValue, hint: string): OnnxValue {
  const erf = ctx.node('Erf', [ctx.node('Mul', [x, ctx.scalar(Math.SQRT1_2)], {}, x.shape, `${hint}.scaled`)], {}, x.shape, `${hint}.erf`);
  const gate = ctx.node('Mul', [ctx.node('Add', [erf, ctx.scalar(1)], {}, x.shape, `${hint}.one_plus`), ctx.scalar(0.5)], {}, x.shape, `${hint}.gate`);
  return ctx.node('Mul', [x, gate], {}, x.shape, hint);
}
