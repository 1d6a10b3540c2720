// The chain space's function-preserving morphisms (see src/networks/morphism.ts):
//   deepen: a conv:k:f:relu layer inserted after a layer whose output is
//           non-negative (a conv-like layer with relu), with an identity kernel
//           and a pass-through batch norm, so its relu changes nothing;
//   widen:  a conv-like layer's filters raised to a larger count of the space
//           (channels duplicated, the next layer's or the classifier's inputs split);
//   kernel: a conv-like layer's kernel raised to a larger one (zero-padded).
// The chain has no skip connections to add. The 2×2 pools sit after fixed
// layer indices (the space's poolAfter), so a layer is inserted only where
// every pool stays between the same two original layers.
import { identityBatchNormEntry, identityConvWeight, loadMorphed, widenAlong, widening, zeroPadKernel, type Morphism, type MorphedSource, type StateDict } from '../networks/morphism.js';
import type { ChainLayer, ChainSpace } from '../spaces/chain.js';
import type { Sample } from '../spaces/types.js';
import type { Tensor } from '../tensor/index.js';
import type { Rng } from '../util/random.js';

const CONV_LIKE = ['conv', 'sep_conv', 'dil_conv'];

/** Index among the network's blocks (layers and pools) of layer i. */
const blockOf = (i: number, poolAfter: readonly number[]) => i + poolAfter.filter((p) => p < i).length;

/** The module (in a layer's Sequential) of the conv that mixes its input channels: pools and identity project with it when the width changes. */
const mixingConvOf = (layer: ChainLayer): string | null =>
  layer.op === 'zero' ? null : layer.op === 'conv' || layer.op === 'identity' ? '0' : '1';

/** Each of the child's state-dict keys from the parent's, renamed: child layer c is parent layer parentOf(c), or new (null). */
function renamer(childLayers: readonly ChainLayer[], poolAfter: readonly number[], parentOf: (c: number) => number | null) {
  const layerOfBlock = new Map(childLayers.map((_, c) => [blockOf(c, poolAfter), c]));
  return (key: string): { layer: number; rest: string; parentKey: string | null } | null => {
    const m = /^blocks\.(\d+)\.(.*)$/.exec(key);
    if (!m) return null;
    const layer = layerOfBlock.get(Number(m[1]))!;
    const p = parentOf(layer);
    return { layer, rest: m[2]!, parentKey: p === null ? null : `blocks.${blockOf(p, poolAfter)}.${m[2]}` };
  };
}

/** Pools between each two consecutive original layers (gap g: after original layer g) when layer `inserted` is an identity. */
function poolsPerGap(depth: number, poolAfter: readonly number[], inserted?: number): number[] {
  const gaps = new Array<number>(depth).fill(0);
  const total = inserted === undefined ? depth : depth + 1;
  for (const p of poolAfter) {
    if (p >= total) continue;
    const gap = inserted === undefined || p < inserted ? p : p - 1;
    gaps[gap]! += 1;
  }
  return gaps;
}

/** What a morphism gives one key of a child layer's tensors: null keeps the parent's renamed tensor. */
type Special = (at: { layer: number; rest: string; key: string; target: Tensor; parentKey: string | null; parent: StateDict }) => MorphedSource | null;

export function chainMorphisms(space: ChainSpace, s: Sample, rng: Rng): Morphism[] {
  const cfg = space.config;
  const layers = space.layersOf(s);
  const out: Morphism[] = [];
  const make = (kind: Morphism['kind'], description: string, childLayers: ChainLayer[], parentOf: (c: number) => number | null, special: Special): void => {
    const rename = renamer(childLayers, cfg.poolAfter, parentOf);
    out.push({
      kind,
      description,
      child: space.fromLayers(childLayers),
      inherit: (parent, child) => loadMorphed(child, parent, (key, target) => {
        const r = rename(key) ?? { layer: -1, rest: key, parentKey: key };
        return special({ ...r, key, target, parent }) ?? r.parentKey ?? key;
      }),
    });
  };

  const smallestKernel = Math.min(...cfg.kernels);
  if (layers.length < cfg.maxDepth && cfg.ops.includes('conv') && cfg.activations.includes('relu')) {
    const before = poolsPerGap(layers.length, cfg.poolAfter);
    for (let j = 1; j <= layers.length; j++) {
      const prev = layers[j - 1]!;
      if (!CONV_LIKE.includes(prev.op) || prev.activation !== 'relu') continue;
      if (poolsPerGap(layers.length, cfg.poolAfter, j).some((n, g) => n !== before[g])) continue;
      const inserted: ChainLayer = { op: 'conv', kernel: smallestKernel, filters: prev.filters, activation: 'relu' };
      make('deepen', `insert an identity conv:${smallestKernel}:${prev.filters}:relu after layer ${j - 1}`,
        [...layers.slice(0, j), inserted, ...layers.slice(j)],
        (c) => (c < j ? c : c === j ? null : c - 1),
        ({ layer, rest, key, target }) => (layer !== j ? null : rest === '0.weight' ? identityConvWeight(target.shape) : identityBatchNormEntry(key, target)));
    }
  }

  layers.forEach((layer, i) => {
    if (!CONV_LIKE.includes(layer.op)) return;
    for (const k of cfg.kernels) {
      if (k <= layer.kernel) continue;
      make('kernel', `layer ${i}: kernel ${layer.kernel} → ${k} (zero-padded)`, layers.map((l, c) => (c === i ? { ...l, kernel: k } : l)), (c) => c,
        ({ layer: c, rest, parentKey, parent }) => (c === i && rest === '0.weight' ? zeroPadKernel(parent[parentKey!]!, k) : null));
    }
    const next = layers[i + 1];
    for (const f of cfg.filters) {
      if (f <= layer.filters) continue;
      // A pool or identity next keeps its function only if it projects (1×1 conv) both before and after.
      if (next && !CONV_LIKE.includes(next.op) && next.op !== 'zero' && (next.filters === layer.filters || next.filters === f)) continue;
      const w = widening(layer.filters, f, rng);
      const ownConv = Number(mixingConvOf(layer));
      const nextConv = next ? mixingConvOf(next) : null;
      make('widen', `layer ${i}: ${layer.filters} → ${f} filters (channels duplicated)`, layers.map((l, c) => (c === i ? { ...l, filters: f } : l)), (c) => c,
        ({ layer: c, rest, key, parentKey, parent }) => {
          const t = parent[parentKey ?? key]!;
          // The widened layer: its out conv and batch norm copy channels (an earlier depthwise conv keeps its inputs).
          if (c === i) return Number(rest.split('.')[0]) >= ownConv && t.ndim > 0 ? widenAlong(t, 0, w) : null;
          if (!next) return key === 'classifier.weight' ? widenAlong(t, 1, w, true) : null;
          if (c !== i + 1) return null;
          // The next layer: a depthwise conv copies its channels, the conv reading them splits their weights.
          if ((next.op === 'sep_conv' || next.op === 'dil_conv') && rest === '0.weight') return widenAlong(t, 0, w);
          return rest === `${nextConv}.weight` ? widenAlong(t, 1, w, true) : null;
        });
    }
  });
  return out;
}
