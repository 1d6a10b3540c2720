// The built-in spaces by name, and everything a caller needs from src/spaces.
import { TsnasError } from '../errors.js';
import { chainSpace, type ChainConfig } from './chain.js';
import { dartsSpace } from './darts.js';
import { hierarchicalSpace, type HierarchicalConfig } from './hierarchical.js';
import { mobilenetSpace, type MobilenetConfig } from './mobilenet.js';
import { nb201Space } from './nb201.js';
import { transformerSpace, type TransformerConfig } from './transformer.js';
import type { DefinedSpace } from './space.js';

export * from './types.js';
export * from './space.js';
export * from './graph.js';
export * from './nb201.js';
export * from './darts.js';
export * from './chain.js';
export * from './mobilenet.js';
export * from './hierarchical.js';
export * from './transformer.js';
export * from './supernet.js';
export * from './supernets/index.js';

export const SPACE_NAMES = ['nb201', 'darts', 'chain', 'mobilenet', 'hierarchical', 'transformer'] as const;
export type SpaceName = (typeof SPACE_NAMES)[number];

export interface SpaceOptions {
  chain?: ChainConfig;
  mobilenet?: MobilenetConfig;
  hierarchical?: HierarchicalConfig;
  transformer?: TransformerConfig;
}

/** The keys of each space's configuration (SpaceOptions), as configs and --space-options take them. */
export const SPACE_OPTION_KEYS: Readonly<Record<SpaceName, readonly string[]>> = {
  nb201: [],
  darts: [],
  chain: ['minDepth', 'maxDepth', 'ops', 'kernels', 'filters', 'activations', 'poolAfter'],
  mobilenet: ['depths', 'expandRatios', 'kernels', 'resolutions', 'widths', 'strides', 'activations', 'squeezeExcite'],
  hierarchical: ['stageCounts', 'cellsPerStage', 'channels'],
  transformer: ['patchSize', 'embedDims', 'depths', 'heads', 'mlpRatios', 'headDim'],
};

/** A built-in space by name; unknown names get a usage error listing the known ones. */
export function getSpace(name: string, options: SpaceOptions = {}): DefinedSpace {
  switch (name) {
    case 'nb201':
      return nb201Space();
    case 'darts':
      return dartsSpace();
    case 'chain':
      return chainSpace(options.chain);
    case 'mobilenet':
      return mobilenetSpace(options.mobilenet);
    case 'hierarchical':
      return hierarchicalSpace(options.hierarchical);
    case 'transformer':
      return transformerSpace(options.transformer);
    default:
      throw new TsnasError('usage', `unknown space '${name}', expected one of ${SPACE_NAMES.join(', ')}`, { where: '--space' });
  }
}
