// One entry point for a supernet of any built-in space: buildSupernet(space, options).
// chain, mobilenet and hierarchical have their own elastic supernets (this
// folder); nb201 and darts wrap the existing search networks (Nb201Supernet,
// DartsSupernet) in the same interface.
import { TsnasError } from '../../errors.js';
import { dartsSamplePath, DartsSupernet } from './darts.js';
import { deriveDartsGenotype, type ArchWeights } from './genotype.js';
import { tidy, type Tensor } from '../../tensor/index.js';
import { chainSpace, type ChainConfig, type ChainSpace } from '../chain.js';
import { dartsSpace, genotypeToSample } from '../darts.js';
import { hierarchicalSpace, type HierarchicalConfig, type HierarchicalSpace } from '../hierarchical.js';
import { mobilenetSpace, type MobilenetConfig, type MobilenetSpace } from '../mobilenet.js';
import { nb201Space } from '../nb201.js';
import { transformerSpace, type TransformerConfig, type TransformerSpace } from '../transformer.js';
import type { DefinedSpace } from '../space.js';
import { DartsMixing, Nb201Supernet, SinglePathMixing, type MixingStrategy } from '../supernet.js';
import type { Sample } from '../types.js';
import { ChainSupernet } from './chain.js';
import { SpaceSupernet } from './common.js';
import { HierarchicalSupernet } from './hierarchical.js';
import { MobilenetSupernet } from './mobilenet.js';
import { TransformerSupernet } from './transformer.js';

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
  /** The space's configuration when it is given by name. */
  spaceOptions?: { chain?: ChainConfig; mobilenet?: MobilenetConfig; hierarchical?: HierarchicalConfig; transformer?: TransformerConfig };
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

/** A supernet of a built-in space (by name or as returned by getSpace / the space constructors). */
export function buildSupernet(space: DefinedSpace | string, o: SupernetOptions): SpaceSupernet {
  const sp: DefinedSpace = typeof space !== 'string' ? space
    : space === 'nb201' ? nb201Space()
      : space === 'darts' ? dartsSpace()
        : space === 'chain' ? chainSpace(o.spaceOptions?.chain)
          : space === 'mobilenet' ? mobilenetSpace(o.spaceOptions?.mobilenet)
            : space === 'hierarchical' ? hierarchicalSpace(o.spaceOptions?.hierarchical)
              : space === 'transformer' ? transformerSpace(o.spaceOptions?.transformer)
              : (() => {
                throw new TsnasError('usage', `no supernet for space '${space}', expected one of nb201, darts, chain, mobilenet, hierarchical, transformer`, { where: '--space' });
              })();
  const mixing = o.mixing ?? new SinglePathMixing();
  const common = { numClasses: o.numClasses, mixing, ...(o.inChannels !== undefined ? { inChannels: o.inChannels } : {}) };
  const C = o.channels ?? 16;
  switch (sp.name) {
    case 'nb201':
      return new CellSpaceSupernet(sp, new Nb201Supernet({ ...common, C, N: o.cells ?? 5 }), [C, 2 * C, 4 * C]);
    case 'darts': {
      const layers = o.cells ?? 8;
      // Fewer cells leave out the normal cell, and a genotype needs both kinds.
      if (!(Number.isInteger(layers) && layers >= 3)) throw new TsnasError('config', `a darts supernet needs at least 3 cells (a normal and two reduction cells), got ${layers}`, { where: 'cells' });
      const net = new DartsSupernet({ ...common, C, layers });
      return new CellSpaceSupernet(sp, net, [C, 2 * C, 4 * C]);
    }
    case 'chain':
      return new ChainSupernet(sp as ChainSpace, common);
    case 'mobilenet':
      return new MobilenetSupernet(sp as MobilenetSpace, { ...common, ...(o.kernelTransform !== undefined ? { kernelTransform: o.kernelTransform } : {}) });
    case 'hierarchical':
      return new HierarchicalSupernet(sp as HierarchicalSpace, common);
    case 'transformer':
      return new TransformerSupernet(sp as TransformerSpace, { ...common, ...(o.inputSize !== undefined ? { inputSize: o.inputSize } : {}) });
    default:
      throw new TsnasError('usage', `no supernet for space '${sp.name}', expected one of nb201, darts, chain, mobilenet, hierarchical, transformer`, { where: '--space' });
  }
}
