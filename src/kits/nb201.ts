// The NAS-Bench-201 space's kit: one cell (6 edges; its nodes and ops are
// the space's options) in the benchmark's skeleton, whose width (C) and
// cells per stage (N) the caller chooses.
import { NB201_ONNX } from '../export/onnx/networks.js';
import { nb201Cost } from '../hardware/cost.js';
import { NB201_LATENCY } from '../hardware/latency.js';
import { NB201Network } from '../networks/nb201.js';
import { cellOps, nb201Space, type Nb201Config, type Nb201Space } from '../spaces/nb201.js';
import { nb201SpaceSupernet } from '../supernets/index.js';
import { nb201Morphisms } from './nb201-morphisms.js';
import { registerSpace, type SpaceKit } from './registry.js';

export const NB201_KIT: SpaceKit<Nb201Space> = {
  name: 'nb201',
  optionKeys: ['nodes', 'ops'],
  space: (options) => nb201Space(options as Nb201Config | undefined),
  sized: { channels: 8, cells: 1 },
  network: (space, s, o) => new NB201Network({ ops: cellOps(s, '', space.config.nodes), C: o.channels ?? 16, N: o.cells ?? 5, numClasses: o.numClasses, inChannels: o.inChannels ?? 3 }),
  cost: (space, s, o) => nb201Cost(cellOps(s, '', space.config.nodes), o),
  morphisms: (space, s) => nb201Morphisms(space, s),
  supernet: nb201SpaceSupernet,
  latency: NB201_LATENCY,
  onnx: NB201_ONNX,
  testing: { network: { numClasses: 5, channels: 4, cells: 1, inputSize: 16 }, morphismKinds: ['skip', 'kernel'] },
};

registerSpace(NB201_KIT, { module: import.meta.url });
