// The hierarchical space's kit: an NAS-Bench-201 cell (micro) repeated in
// stages whose number, cells and widths the sample chooses (macro).
import { HIERARCHICAL_ONNX } from '../export/onnx/networks.js';
import { hierarchicalCost } from '../hardware/cost.js';
import { HierarchicalNetwork } from '../networks/hierarchical.js';
import { hierarchicalSpace, type HierarchicalConfig, type HierarchicalSpace } from '../spaces/hierarchical.js';
import { commonSupernetOptions, HierarchicalSupernet } from '../supernets/index.js';
import { registerSpace, type SpaceKit } from './registry.js';

export const HIERARCHICAL_KIT: SpaceKit<HierarchicalSpace> = {
  name: 'hierarchical',
  optionKeys: ['stageCounts', 'cellsPerStage', 'channels'],
  space: (options) => hierarchicalSpace(options as HierarchicalConfig | undefined),
  network: (space, s, o) => new HierarchicalNetwork({ arch: space.archOf(s), numClasses: o.numClasses, inChannels: o.inChannels ?? 3 }),
  cost: (space, s, o) => hierarchicalCost(space.archOf(s), o),
  supernet: (space, o) => new HierarchicalSupernet(space, commonSupernetOptions(o)),
  extracts: true,
  onnx: HIERARCHICAL_ONNX,
  testing: { spaceOptions: { channels: [4, 8, 16] }, network: { numClasses: 5, inputSize: 16 } },
};

registerSpace(HIERARCHICAL_KIT, { module: import.meta.url });
