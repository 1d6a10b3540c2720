// The nb201 or DARTS supernet a bilevel search trains, the supernet of any
// space a one-shot search trains (buildOneShotSupernet), and reading
// architecture weights.
import { TsnasError } from '../../errors.js';
import { buildSupernet, type SpaceOptions } from '../../kits/index.js';
import { DartsMixing, Nb201Supernet, type MixingStrategy } from '../../spaces/supernet.js';
import { tidy } from '../../tensor/index.js';
import { DartsSupernet } from '../../supernets/darts.js';
import type { ArchWeights, SupernetSpace } from '../../supernets/genotype.js';
import type { SpaceSupernet } from '../../supernets/index.js';

/**
 * The spaces the differentiable searches run on: the bilevel search trains
 * their cell search networks and derives genotypes from α (genotype.ts);
 * other supernets are searched one-shot (SPOS, ENAS).
 */
export const DIFFERENTIABLE_SPACES = ['nb201', 'darts'] as const satisfies readonly SupernetSpace[];
export type DifferentiableSpace = (typeof DIFFERENTIABLE_SPACES)[number];

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
  throw new TsnasError('usage', `supernet space must be ${DIFFERENTIABLE_SPACES.join(' or ')}, got '${String(cfg.space)}'`, { where: '--space' });
}

/** The weights α stands for (softmax(α), or its weighting's mean) of every label of a DARTS-style mixing, as numbers. */
export function architectureWeights(mixing: MixingStrategy): ArchWeights {
  if (!(mixing instanceof DartsMixing)) throw new TsnasError('internal', `${mixing.constructor.name} has no architecture parameters`);
  return tidy(() => {
    const out: ArchWeights = {};
    for (const [label, alpha] of mixing.namedArchitectureParameters()) out[label] = mixing.weighting.mean(alpha.detach()).toArray();
    return out;
  });
}

export interface OneShotSupernetConfig {
  /** A registered space's name. */
  space: string;
  /** nb201, darts: initial channels (the other spaces take widths from the space). */
  C: number;
  /** nb201: cells per stage; darts: number of cells (the other spaces take depths from the space). */
  cells: number;
  numClasses: number;
  inChannels?: number;
  /** The space's configuration (as getSpace takes it). */
  spaceOptions?: SpaceOptions;
  /** The image side the data has (the transformer's position embedding grid; default 32). */
  inputSize?: number;
}

/** The supernet of any registered space behind the SpaceSupernet interface (its kit's). */
export function buildOneShotSupernet(cfg: OneShotSupernetConfig, mixing: MixingStrategy): SpaceSupernet {
  return buildSupernet(cfg.space, {
    numClasses: cfg.numClasses, mixing, channels: cfg.C, cells: cfg.cells,
    ...(cfg.spaceOptions !== undefined ? { spaceOptions: cfg.spaceOptions } : {}),
    ...(cfg.inChannels !== undefined ? { inChannels: cfg.inChannels } : {}),
    ...(cfg.inputSize !== undefined ? { inputSize: cfg.inputSize } : {}),
  });
}
