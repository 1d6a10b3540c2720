// Differentiable search (DARTS first and second order, GDAS) on the
// supernet of any registered space whose kit builds one that mixes densely:
// one α per label, trained by the bilevel loop of run.ts; the architecture
// is the space's sample of each label's argmax (exportSample).
import type { Dataset } from '../../data/dataset.js';
import { buildSupernet, type SpaceOptions } from '../../kits/index.js';
import type { SpaceSupernet } from '../../supernets/common.js';
import type { WeightSharingEpoch, WeightSharingResult } from '../run.js';
import { BilevelRun, type BilevelRunOptions } from './run.js';
import { BilevelSearch } from './search.js';

export interface SupernetSearchOptions extends BilevelRunOptions {
  /** A registered space's name. */
  space: string;
  /** The space's configuration (as getSpace takes it). */
  spaceOptions?: SpaceOptions;
  /** Passed to the kit's supernet (nb201, darts: initial channels and cells; other kits may ignore them). */
  C?: number;
  cells?: number;
  /** The image side the supernet is built for (default: the resize of `augment`, else the data's height). */
  inputSize?: number;
}

/** A differentiable search on a space's supernet: α stands for the sample of each label's argmax. */
export class SupernetDifferentiableRun extends BilevelRun<WeightSharingEpoch, WeightSharingResult> {
  constructor(data: Dataset, o: SupernetSearchOptions) {
    super(data, o, o.space, () => new BilevelSearch((mixing) => buildSupernet(o.space, {
      numClasses: data.numClasses,
      inChannels: data.channels,
      mixing,
      inputSize: o.inputSize ?? o.augment?.resize ?? data.height,
      ...(o.C !== undefined ? { channels: o.C } : {}),
      ...(o.cells !== undefined ? { cells: o.cells } : {}),
      ...(o.spaceOptions !== undefined ? { spaceOptions: o.spaceOptions } : {}),
    }), o));
  }

  get supernet(): SpaceSupernet {
    return this.search.net as SpaceSupernet;
  }

  protected describe() {
    return { arch: this.supernet.space.format(this.supernet.exportSample()) };
  }

  /** DARTS-ES is refused on a space supernet, so the chosen α is always the current one, which exportSample reads. */
  protected conclude(): WeightSharingResult {
    const sample = this.supernet.exportSample();
    const accuracy = this.lastValidAccuracy;
    return { arch: this.supernet.space.format(sample), sample, metrics: accuracy !== null ? { supernet_accuracy: accuracy } : {} };
  }
}

/** A differentiable search on the supernet of `options.space`, ready to train epoch by epoch. */
export function createSupernetDifferentiableRun(data: Dataset, options: SupernetSearchOptions): SupernetDifferentiableRun {
  return new SupernetDifferentiableRun(data, options);
}
