// The DARTS space's kit: a normal and a reduction cell in DARTS's CIFAR
// network, whose initial channels and number of cells the caller chooses.
import { DARTS_ONNX } from '../export/onnx/networks.js';
import { dartsCost } from '../hardware/cost.js';
import { DARTS_LATENCY } from '../hardware/latency.js';
import { DartsNetwork } from '../networks/darts.js';
import { dartsSpace, sampleToGenotype, type DartsSpace } from '../spaces/darts.js';
import { dartsSpaceSupernet } from '../supernets/index.js';
import { registerSpace, type SpaceKit } from './registry.js';

export const DARTS_KIT: SpaceKit<DartsSpace> = {
  name: 'darts',
  optionKeys: [],
  space: () => dartsSpace(),
  sized: { channels: 8, cells: 5 },
  network: (_space, s, o) => new DartsNetwork({
    genotype: sampleToGenotype(s),
    C: o.channels ?? 36,
    layers: o.cells ?? 20,
    numClasses: o.numClasses,
    inChannels: o.inChannels ?? 3,
    inputSize: o.inputSize ?? 32,
    auxiliary: o.auxiliary ?? false,
    dropPathProb: o.dropPathProb ?? 0,
    ...(o.reductionCells ? { reductionCells: o.reductionCells } : {}),
  }),
  cost: (_space, s, o) => dartsCost(sampleToGenotype(s), o),
  supernet: dartsSpaceSupernet,
  latency: DARTS_LATENCY,
  onnx: DARTS_ONNX,
  // 5 cells: reductions at cells 1 and 3.
  testing: { network: { numClasses: 5, channels: 4, cells: 5, inputSize: 16 } },
};

registerSpace(DARTS_KIT, { module: import.meta.url });
