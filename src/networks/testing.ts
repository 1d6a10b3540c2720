// Test support: one small setting per built-in space (the space, with small
// choices where it has them, and network options) so that a test can build
// a quick fixed network of every space.
import { chainSpace, getSpace, hierarchicalSpace, mobilenetSpace, type SpaceName } from '../spaces/index.js';
import type { DefinedSpace } from '../spaces/space.js';
import type { BuildNetworkOptions } from './index.js';

export const SMALL_NETWORK_SETTINGS: Record<SpaceName, { space: DefinedSpace; options: BuildNetworkOptions }> = {
  nb201: { space: getSpace('nb201'), options: { numClasses: 5, channels: 4, cells: 1, inputSize: 16 } },
  // 5 cells: reductions at cells 1 and 3.
  darts: { space: getSpace('darts'), options: { numClasses: 5, channels: 4, cells: 5, inputSize: 16 } },
  chain: { space: chainSpace({ maxDepth: 4, filters: [4, 8, 16] }), options: { numClasses: 5, inputSize: 16 } },
  mobilenet: { space: mobilenetSpace({ resolutions: [32, 40] }), options: { numClasses: 5 } },
  hierarchical: { space: hierarchicalSpace({ channels: [4, 8, 16] }), options: { numClasses: 5, inputSize: 16 } },
  transformer: { space: getSpace('transformer'), options: { numClasses: 5, inputSize: 16 } },
};
