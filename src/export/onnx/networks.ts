// The ONNX exporters of the built-in networks' own module classes, one list
// per space: each space's kit (src/kits) registers its list. Each exporter
// mirrors its class's eval-mode forward.
import type { Linear } from '../../nn/layers.js';
import { Zero } from '../../nn/ops.js';
import { NB201Cell, NB201Network } from '../../networks/nb201.js';
import { DartsAuxiliaryHead, DartsCell, DartsNetwork } from '../../networks/darts.js';
import { ChainNetwork, ChainZero, HalvingPool } from '../../networks/chain.js';
import { InvertedResidual, MobilenetNetwork, SqueezeExcite } from '../../networks/mobilenet.js';
import { HierarchicalNetwork } from '../../networks/hierarchical.js';
import { TransformerAttention, TransformerEncoderLayer, TransformerNetwork, positionsFor } from '../../networks/transformer.js';
import { noGrad, tidy } from '../../tensor/index.js';
import { attr, onnxExporter, type OnnxExportContext, type OnnxExporterEntry, type OnnxValue } from './export.js';
import { add, chain, expectRank, flatten, hintOf, layerNormNode, pooledFeatures, relu, zerosLike } from './exporters.js';

// ------------------------------------------------------------ NAS-Bench-201 and hierarchical networks

const nb201CellExporter = onnxExporter(NB201Cell, (ctx, m, [x]) => {
  // As the forward: node j sums its non-"none" edges; a node with only "none" inputs is its first edge's zeros.
  // Nodes the output does not depend on are emitted too and pruned with the graph.
  const nodes: OnnxValue[] = [x!];
  for (let j = 1; j <= m.outputNode; j++) {
    let sum: OnnxValue | null = null;
    let zeroEdge = -1;
    m.edges.forEach(([to, from], e) => {
      if (to !== j) return;
      const layer = m.layers.at(e);
      if (layer instanceof Zero) {
        if (zeroEdge < 0) zeroEdge = e;
        return;
      }
      const y = ctx.module(layer, nodes[from]!);
      sum = sum ? add(ctx, sum, y, hintOf(ctx, m, `.node${j}`)) : y;
    });
    nodes.push(sum ?? ctx.module(m.layers.at(zeroEdge), nodes[m.edges[zeroEdge]![1]]!));
  }
  return nodes[m.outputNode]!;
});

/** stem, cells, lastact, global pooling, classifier: NB201Network and HierarchicalNetwork. */
function exportResidualCellNetwork(ctx: OnnxExportContext, m: NB201Network | HierarchicalNetwork, x: OnnxValue): OnnxValue {
  expectRank(ctx, m, x, 4);
  let y = ctx.module(m.stem, x);
  for (const cell of m.cells) y = ctx.module(cell, y);
  const pooled = ctx.module(m.globalPooling, ctx.module(m.lastact, y));
  return ctx.module(m.classifier, pooledFeatures(ctx, m, pooled));
}
const nb201NetworkExporter = onnxExporter(NB201Network, (ctx, m, [x]) => exportResidualCellNetwork(ctx, m, x!));
const hierarchicalNetworkExporter = onnxExporter(HierarchicalNetwork, (ctx, m, [x]) => exportResidualCellNetwork(ctx, m, x!));

// ------------------------------------------------------------ DARTS

const dartsCellExporter = onnxExporter(DartsCell, (ctx, m, [s0, s1]) => {
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

const dartsNetworkExporter = onnxExporter(DartsNetwork, (ctx, m, [x]) => {
  expectRank(ctx, m, x!, 4);
  let s0 = ctx.module(m.stem, x!);
  let s1 = s0;
  for (const cell of m.cells) [s0, s1] = [s1, ctx.module(cell, s0, s1)];
  const pooled = ctx.module(m.globalPooling, s1);
  return ctx.module(m.classifier, pooledFeatures(ctx, m, pooled));
});
// The auxiliary head only runs while training; exported on its own it is its forward.
const dartsAuxiliaryHeadExporter = onnxExporter(DartsAuxiliaryHead, (ctx, m, [x]) => ctx.module(m.classifier, flatten(ctx, ctx.module(m.features, x!), hintOf(ctx, m, '.flat'))));

// ------------------------------------------------------------ chain

const chainZeroExporter = onnxExporter(ChainZero, (ctx, m, [x]) => {
  expectRank(ctx, m, x!, 4);
  return zerosLike(ctx, x!, m.outChannels, x!.shape[2]!, x!.shape[3]!, hintOf(ctx, m));
});
const halvingPoolExporter = onnxExporter(HalvingPool, (ctx, m, [x]) => {
  expectRank(ctx, m, x!, 4);
  const [n, c, h, w] = x!.shape as [number, number, number, number];
  const [kh, kw] = [h >= 2 ? 2 : 1, w >= 2 ? 2 : 1];
  if (kh === 1 && kw === 1) return x!;
  return ctx.node('MaxPool', [x!], { kernel_shape: attr.ints([kh, kw]), strides: attr.ints([kh, kw]) },
    [n, c, Math.floor(h / kh), Math.floor(w / kw)], hintOf(ctx, m));
});
const chainNetworkExporter = onnxExporter(ChainNetwork, (ctx, m, [x]) => {
  expectRank(ctx, m, x!, 4);
  const y = chain(ctx, x!, m.blocks);
  return ctx.module(m.classifier, pooledFeatures(ctx, m, ctx.module(m.globalPooling, y)));
});

// ------------------------------------------------------------ mobilenet

const squeezeExciteExporter = onnxExporter(SqueezeExcite, (ctx, m, [x]) => {
  expectRank(ctx, m, x!, 4);
  const hint = hintOf(ctx, m);
  const squeezed = ctx.node('ReduceMean', [x!], { axes: attr.ints([2, 3]), keepdims: attr.int(1) }, [x!.shape[0]!, x!.shape[1]!, 1, 1], `${hint}.squeeze`);
  const hidden = relu(ctx, ctx.module(m.reduce, squeezed), `${hint}.relu`);
  const expanded = ctx.module(m.expand, hidden);
  // torch's hardsigmoid: relu6(x + 3) / 6.
  const gate = ctx.node('HardSigmoid', [expanded], { alpha: attr.float(1 / 6), beta: attr.float(0.5) }, expanded.shape, `${hint}.gate`);
  return ctx.node('Mul', [x!, gate], {}, x!.shape, hint);
});
const invertedResidualExporter = onnxExporter(InvertedResidual, (ctx, m, [x]) => {
  const y = chain(ctx, x!, [m.inverted, m.depthwise, m.se, m.project]);
  return m.residual ? add(ctx, y, x!, hintOf(ctx, m, '.add')) : y;
});
const mobilenetNetworkExporter = onnxExporter(MobilenetNetwork, (ctx, m, [x]) => {
  expectRank(ctx, m, x!, 4);
  const y = chain(ctx, x!, [m.firstConv, ...m.blocks, m.finalExpand, m.globalPooling, m.featureMix]);
  return ctx.module(m.classifier, pooledFeatures(ctx, m, y));
});

// ------------------------------------------------------------ transformer (ViT)

/** As multiHeadAttention: per-head scaled dot-product attention of x [batch, tokens, E]. */
const transformerAttentionExporter = onnxExporter(TransformerAttention, (ctx, m, [x]) => {
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

/** As encoderLayer: pre-norm attention and MLP branches, each added to its input. */
const transformerEncoderLayerExporter = onnxExporter(TransformerEncoderLayer, (ctx, m, [x]) => {
  const hint = hintOf(ctx, m);
  const attended = add(ctx, x!, ctx.module(m.attn, ctx.module(m.norm1, x!)), `${hint}.attended`);
  const hidden = ctx.module(m.act, ctx.module(m.fc1, ctx.module(m.norm2, attended)));
  return add(ctx, attended, ctx.module(m.fc2, hidden), hint);
});

const transformerNetworkExporter = onnxExporter(TransformerNetwork, (ctx, m, [x]) => {
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

export const NB201_ONNX: readonly OnnxExporterEntry[] = [nb201CellExporter, nb201NetworkExporter];
export const HIERARCHICAL_ONNX: readonly OnnxExporterEntry[] = [nb201CellExporter, hierarchicalNetworkExporter];
export const DARTS_ONNX: readonly OnnxExporterEntry[] = [dartsCellExporter, dartsNetworkExporter, dartsAuxiliaryHeadExporter];
export const CHAIN_ONNX: readonly OnnxExporterEntry[] = [chainZeroExporter, halvingPoolExporter, chainNetworkExporter];
export const MOBILENET_ONNX: readonly OnnxExporterEntry[] = [squeezeExciteExporter, invertedResidualExporter, mobilenetNetworkExporter];
export const TRANSFORMER_ONNX: readonly OnnxExporterEntry[] = [transformerAttentionExporter, transformerEncoderLayerExporter, transformerNetworkExporter];
