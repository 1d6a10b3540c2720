// The NAS-Bench-201 cell's function-preserving morphisms (see
// src/networks/morphism.ts), applied to every cell of the network alike:
//   skip:   a `none` edge becomes nor_conv_1x1 or nor_conv_3x3 whose batch
//           norm starts at weight 0 and bias 0, a new connection adding zero;
//   kernel: a nor_conv_1x1 edge becomes nor_conv_3x3 (kernel zero-padded).
// C and N come from the caller, not the sample, so there is nothing to widen
// or deepen in the space. Replacing a skip_connect by an identity-initialised
// conv would not preserve the function: the edge's op is ReLU-conv-BN, and
// the ReLU clips the negative values a skip passes (cell inputs end in BN).
import { loadMorphed, zeroBatchNormEntry, zeroPadKernel, type Morphism } from '../networks/morphism.js';
import type { Nb201Space } from '../spaces/nb201.js';
import type { Sample } from '../spaces/types.js';

/** The edge and module (in its ReLU-conv-BN Sequential) a key of the network's cells belongs to. */
const EDGE_KEY = /^cells\.\d+\.layers\.(\d+)\.op\.(\d+)\./;

export function nb201Morphisms(space: Nb201Space, s: Sample): Morphism[] {
  const ops = space.opsOf(s);
  // A child must stay in the space: only the convolutions its ops option lists.
  const has = (op: string) => space.config.ops.includes(op);
  const out: Morphism[] = [];
  const edgeName = (e: number) => `edge ${space.edges[e]![0]}<-${space.edges[e]![1]}`;
  ops.forEach((op, e) => {
    const replace = (to: string) => space.fromOps(ops.map((o, k) => (k === e ? to : o)));
    const onEdge = (key: string) => {
      const m = EDGE_KEY.exec(key);
      return m && Number(m[1]) === e ? Number(m[2]) : null;
    };
    if (op === 'none') {
      for (const conv of ['nor_conv_1x1', 'nor_conv_3x3'].filter(has)) {
        out.push({
          kind: 'skip',
          description: `${edgeName(e)}: none → ${conv} adding zero`,
          child: replace(conv),
          // The conv keeps the child's fresh initialisation: the zeroed batch norm silences it until training moves its weight.
          inherit: (parent, child) => loadMorphed(child, parent, (key, target) => {
            const module = onEdge(key);
            return module === null ? key : module === 1 ? target.clone() : zeroBatchNormEntry(key, target);
          }),
        });
      }
    }
    if (op === 'nor_conv_1x1' && has('nor_conv_3x3')) {
      out.push({
        kind: 'kernel',
        description: `${edgeName(e)}: nor_conv_1x1 → nor_conv_3x3 (zero-padded)`,
        child: replace('nor_conv_3x3'),
        inherit: (parent, child) => loadMorphed(child, parent, (key) => (onEdge(key) === 1 && key.endsWith('.weight') ? zeroPadKernel(parent[key]!, 3) : key)),
      });
    }
  });
  return out;
}
