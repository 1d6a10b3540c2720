// The supernets of the built-in spaces behind one interface (SpaceSupernet).
// chain, mobilenet, hierarchical and transformer have their own elastic
// supernets (this folder); nb201 and darts wrap the search networks
// (Nb201Supernet, DartsSupernet). buildSupernet (src/kits) builds a space's
// supernet through its kit.
import { TsnasError } from '../errors.js';
import { dartsSamplePath, DartsSupernet } from './darts.js';
import { deriveDartsGenotype, type ArchWeights } from './genotype.js';
import { tidy, type Tensor } from '../tensor/index.js';
import { genotypeToSample } from '../spaces/darts.js';
import type { Nb201Space } from '../spaces/nb201.js';
import type { DefinedSpace } from '../spaces/space.js';
import { DartsMixing, Nb201Supernet, SinglePathMixing, type MixingStrategy } from '../spaces/supernet.js';
import type { Sample } from '../spaces/types.js';
import { SpaceSupernet } from './common.js';

export * from './common.js';
export * from './chain.js';
export * from './mobilenet.js';
export * from './hierarchical.js';
export * from './transformer.js';

export interface SupernetOptions {
  numClasses: number;
  /** Image channels; default 3. */
  inChannels?: number;
  /** How candidates are mixed (DartsMixing, GdasMixing, SinglePathMixing...); default single path. The supernet owns it. */
  mixing?: MixingStrategy;
  /** nb201 and darts: initial channels C (default 16). The other spaces take widths from the space. */
  channels?: number;
  /** nb201: cells per stage N (default 5); darts: number of cells (default 8). */
  cells?: number;
  /** mobilenet: learned kernel transform matrices (default true). */
  kernelTransform?: boolean;
  /** transformer: image side its position embedding is built for (default 32; other sizes resize it). */
  inputSize?: number;
}

/** nb201 and darts: their search networks behind the SpaceSupernet interface. */
export class CellSpaceSupernet extends SpaceSupernet {
  constructor(
    space: DefinedSpace,
    readonly net: Nb201Supernet | DartsSupernet,
    readonly widths: readonly number[],
  ) {
    super(space, net.choices);
    this.registerModule('net', net);
  }

  protected mixedWidths(): number[] {
    return [...this.widths];
  }

  protected forwardNetwork(x: Tensor): Tensor {
    return this.net.call(x);
  }

  /** DARTS samples pick two inputs per node: their edges carry the sample's ops, every other edge 'none'. */
  protected override pathOf(s: Sample): Sample {
    return this.net instanceof DartsSupernet ? dartsSamplePath(s, this.net.steps) : s;
  }

  /** nb201: each edge's choice; darts: DARTS's genotype rule (two strongest non-'none' edges per node) on softmax(α) or the one-hot path. */
  override exportSample(): Sample {
    if (!(this.net instanceof DartsSupernet)) return super.exportSample();
    const weights: ArchWeights = {};
    const mixing = this.mixing;
    tidy(() => {
      for (const [label, values] of this.choices.labels) {
        if (mixing instanceof DartsMixing) {
          weights[label] = mixing.getWeights(label).detach().softmax(0).toArray();
        } else {
          const k = mixing.chosenIndex(label);
          weights[label] = values.map((_, i) => (i === k ? 1 : 0));
        }
      }
    });
    return genotypeToSample(deriveDartsGenotype(weights, { steps: this.net.steps }));
  }

  override setActive(s: Sample): void {
    if (!(this.net instanceof DartsSupernet)) {
      super.setActive(s);
      return;
    }
    const mixing = this.mixing;
    if (!(mixing instanceof SinglePathMixing)) {
      throw new TsnasError('usage', `setActive needs single-path mixing, the darts supernet mixes with ${mixing.constructor.name} (call setMixing(new SinglePathMixing()) first)`);
    }
    this.space.validate(s);
    mixing.setPath(this.pathOf(s));
  }
}

/** The constructor options every supernet takes: classes, mixing (single path by default) and image channels. */
export function commonSupernetOptions(o: SupernetOptions): { numClasses: number; mixing: MixingStrategy; inChannels?: number } {
  return { numClasses: o.numClasses, mixing: o.mixing ?? new SinglePathMixing(), ...(o.inChannels !== undefined ? { inChannels: o.inChannels } : {}) };
}

/** NAS-Bench-201's search network (C default 16, N default 5) over the space's cell as a SpaceSupernet. */
export function nb201SpaceSupernet(space: Nb201Space, o: SupernetOptions): CellSpaceSupernet {
  const C = o.channels ?? 16;
  return new CellSpaceSupernet(space, new Nb201Supernet({ ...commonSupernetOptions(o), C, N: o.cells ?? 5, space }), [C, 2 * C, 4 * C]);
}

/** DARTS's search network (C default 16, 8 cells by default, at least 3) as a SpaceSupernet. */
export function dartsSpaceSupernet(space: DefinedSpace, o: SupernetOptions): CellSpaceSupernet {
  const C = o.channels ?? 16;
  const layers = o.cells ?? 8;
  // Fewer cells leave out the normal cell, and a genotype needs both kinds.
  if (!(Number.isInteger(layers) && layers >= 3)) throw new TsnasError('config', `a darts supernet needs at least 3 cells (a normal and two reduction cells), got ${layers}`, { where: 'cells' });
  return new CellSpaceSupernet(space, new DartsSupernet({ ...commonSupernetOptions(o), C, layers }), [C, 2 * C, 4 * C]);
}
