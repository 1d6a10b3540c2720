// The nb201 or DARTS supernet a bilevel search trains, the supernet of any
// space a one-shot search trains (buildOneShotSupernet), and reading
// architecture weights.
import { TsnasError } from '../../errors.js';
import { DartsMixing, Nb201Supernet, type MixingStrategy } from '../../spaces/supernet.js';
import { tidy } from '../../tensor/index.js';
import { DartsSupernet } from '../../spaces/supernets/darts.js';
import type { ArchWeights, SupernetSpace } from '../../spaces/supernets/genotype.js';
import { buildSupernet, CellSpaceSupernet, type SpaceSupernet } from '../../spaces/supernets/index.js';
import { getSpace, SPACE_NAMES, type SpaceName, type SpaceOptions } from '../../spaces/index.js';

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

export interface OneShotSupernetConfig {
  space: SpaceName;
  /** nb201 and darts: initial channels (the other spaces take widths from the space). */
  C: number;
  /** nb201: cells per stage; darts: number of cells (the other spaces take depths from the space). */
  cells: number;
  numClasses: number;
  inChannels?: number;
  /** chain, mobilenet, hierarchical: the space's configuration (as getSpace takes it). */
  spaceOptions?: SpaceOptions;
  /** transformer: the image side the data has (its position embedding's grid; default 32). */
  inputSize?: number;
}

/**
 * The supernet of any built-in space behind the SpaceSupernet interface.
 * nb201 and darts wrap buildCellSupernet's network (no minimum number of
 * darts cells, as the bilevel searches); the other spaces are buildSupernet's.
 */
export function buildOneShotSupernet(cfg: OneShotSupernetConfig, mixing: MixingStrategy): SpaceSupernet {
  if (!(SPACE_NAMES as readonly string[]).includes(cfg.space)) {
    throw new TsnasError('usage', `expected one of ${SPACE_NAMES.join(', ')}, got '${String(cfg.space)}'`, { where: '--space' });
  }
  const space = getSpace(cfg.space, cfg.spaceOptions);
  if (cfg.space === 'nb201' || cfg.space === 'darts') {
    const net = buildCellSupernet({ space: cfg.space, C: cfg.C, cells: cfg.cells, numClasses: cfg.numClasses, inChannels: cfg.inChannels }, mixing);
    return new CellSpaceSupernet(space, net, [cfg.C, 2 * cfg.C, 4 * cfg.C]);
  }
  return buildSupernet(space, {
    numClasses: cfg.numClasses, mixing,
    ...(cfg.inChannels !== undefined ? { inChannels: cfg.inChannels } : {}),
    ...(cfg.inputSize !== undefined ? { inputSize: cfg.inputSize } : {}),
  });
}
