// The nb201 or DARTS supernet a bilevel or one-shot search trains (the
// spaces' buildSupernet covers every space for mixing alone), and reading its
// architecture weights.
import { TsnasError } from '../../errors.js';
import { DartsMixing, Nb201Supernet, type MixingStrategy } from '../../spaces/supernet.js';
import { tidy } from '../../tensor/index.js';
import { DartsSupernet } from '../../spaces/supernets/darts.js';
import type { ArchWeights, SupernetSpace } from '../../spaces/supernets/genotype.js';

export interface SupernetConfig {
  space: SupernetSpace;
  /** Initial channels. */
  C: number;
  /** NAS-Bench-201: cells per stage (N); DARTS: number of cells (layers). */
  cells: number;
  numClasses: number;
  inChannels?: number;
}

/** A supernet: an nb201 or DARTS search network. */
export type Supernet = Nb201Supernet | DartsSupernet;

export function buildCellSupernet(cfg: SupernetConfig, mixing: MixingStrategy): Supernet {
  if (cfg.space === 'nb201') {
    return new Nb201Supernet({ C: cfg.C, N: cfg.cells, numClasses: cfg.numClasses, inChannels: cfg.inChannels, mixing });
  }
  if (cfg.space === 'darts') {
    return new DartsSupernet({ C: cfg.C, layers: cfg.cells, numClasses: cfg.numClasses, inChannels: cfg.inChannels, mixing });
  }
  throw new TsnasError('usage', `supernet space must be nb201 or darts, got '${String(cfg.space)}'`, { where: '--space' });
}

/** softmax(α) of every label of a DARTS-style mixing, as numbers. */
export function architectureWeights(mixing: MixingStrategy): ArchWeights {
  if (!(mixing instanceof DartsMixing)) throw new TsnasError('internal', `${mixing.constructor.name} has no architecture parameters`);
  return tidy(() => {
    const out: ArchWeights = {};
    for (const [label, alpha] of mixing.namedArchitectureParameters()) out[label] = alpha.detach().softmax(0).toArray();
    return out;
  });
}
