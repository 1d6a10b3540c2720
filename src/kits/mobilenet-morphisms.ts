// The mobilenet space's function-preserving morphisms (see src/networks/morphism.ts):
//   deepen: a stage gets one more layer at its end (stride 1, same width, so
//           a residual block), whose projection's batch norm starts at zero:
//           the block adds zero to its input (the skip carries it);
//   widen:  a layer's expand ratio is raised (its expanded channels
//           duplicated, the projection's and squeeze-excite's inputs split);
//   kernel: a layer's depthwise kernel is raised (zero-padded).
import { loadMorphed, widenAlong, widening, zeroBatchNormEntry, zeroPadKernel, type Morphism } from '../networks/morphism.js';
import { makeDivisible, type MobilenetArch, type MobilenetSpace } from '../spaces/mobilenet.js';
import type { Sample } from '../spaces/types.js';
import type { Rng } from '../util/random.js';

const BLOCK_KEY = /^blocks\.(\d+)\.(.*)$/;

/** Index in the network's blocks of stage st's layer l (block 0 is the fixed first block). */
const blockOf = (arch: MobilenetArch, st: number, l: number) => 1 + arch.stages.slice(0, st).reduce((n, layers) => n + layers.length, 0) + l;

const archWith = (arch: MobilenetArch, st: number, change: (layers: MobilenetArch['stages'][number]) => MobilenetArch['stages'][number]): MobilenetArch =>
  ({ resolution: arch.resolution, stages: arch.stages.map((layers, k) => (k === st ? change(layers.map((l) => ({ ...l }))) : layers.map((l) => ({ ...l })))) });

export function mobilenetMorphisms(space: MobilenetSpace, s: Sample, rng: Rng): Morphism[] {
  const cfg = space.config;
  const arch = space.archOf(s);
  const out: Morphism[] = [];
  const inputsOf = (st: number, l: number) => (l > 0 ? cfg.widths[st]! : st > 0 ? cfg.widths[st - 1]! : 16);

  arch.stages.forEach((layers, st) => {
    // deepen: the new last layer of the stage, every later block one further on.
    const depth = layers.length + 1;
    if (cfg.depths.includes(depth)) {
      const child = archWith(arch, st, (ls) => [...ls, { kernel: Math.min(...cfg.kernels), expand: Math.min(...cfg.expandRatios) }]);
      const newBlock = blockOf(child, st, layers.length);
      out.push({
        kind: 'deepen',
        description: `stage ${st}: a layer added (depth ${depth}) whose residual branch adds zero`,
        child: space.fromArch(child),
        inherit: (parent, net) => loadMorphed(net, parent, (key, target) => {
          const m = BLOCK_KEY.exec(key);
          if (!m) return key;
          const b = Number(m[1]);
          if (b < newBlock) return key;
          if (b > newBlock) return `blocks.${b - 1}.${m[2]}`;
          return m[2]!.startsWith('point_linear.1.') ? zeroBatchNormEntry(key, target) : target.clone();
        }),
      });
    }

    layers.forEach((layer, l) => {
      const b = blockOf(arch, st, l);
      const onBlock = (key: string) => (key.startsWith(`blocks.${b}.`) ? key.slice(`blocks.${b}.`.length) : null);
      for (const k of cfg.kernels) {
        if (k <= layer.kernel) continue;
        out.push({
          kind: 'kernel',
          description: `stage ${st} layer ${l}: depthwise kernel ${layer.kernel} → ${k} (zero-padded)`,
          child: space.fromArch(archWith(arch, st, (ls) => ls.map((x, i) => (i === l ? { ...x, kernel: k } : x)))),
          inherit: (parent, net) => loadMorphed(net, parent, (key) => (onBlock(key) === 'depth_conv.0.weight' ? zeroPadKernel(parent[key]!, k) : key)),
        });
      }
      const cIn = inputsOf(st, l);
      const mid = makeDivisible(Math.round(cIn * layer.expand));
      for (const e of cfg.expandRatios) {
        const wider = makeDivisible(Math.round(cIn * e));
        // Expand ratio 1 has no expansion conv to widen.
        if (e <= layer.expand || layer.expand === 1 || wider <= mid) continue;
        const w = widening(mid, wider, rng);
        // Squeeze-excite's hidden width follows the expanded width: its hidden units are widened too.
        const hidden = cfg.squeezeExcite[st] ? widening(makeDivisible(mid / 4), makeDivisible(wider / 4), rng) : null;
        out.push({
          kind: 'widen',
          description: `stage ${st} layer ${l}: expand ${layer.expand} → ${e} (${mid} → ${wider} channels duplicated)`,
          child: space.fromArch(archWith(arch, st, (ls) => ls.map((x, i) => (i === l ? { ...x, expand: e } : x)))),
          inherit: (parent, net) => loadMorphed(net, parent, (key) => {
            const rest = onBlock(key);
            const t = parent[key]!;
            if (rest === null || t.ndim === 0 || rest.startsWith('point_linear.1.')) return key;
            // Inputs of the expanded (or hidden) channels split; everything per channel copied.
            if (rest === 'point_linear.0.weight') return widenAlong(t, 1, w, true);
            if (rest === 'se.reduce.weight') return widenAlong(widenAlong(t, 1, w, true), 0, hidden!);
            if (rest === 'se.reduce.bias') return widenAlong(t, 0, hidden!);
            if (rest === 'se.expand.weight') return widenAlong(widenAlong(t, 1, hidden!, true), 0, w);
            return widenAlong(t, 0, w);
          }),
        });
      }
    });
  });
  return out;
}
