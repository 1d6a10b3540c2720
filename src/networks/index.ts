// The fixed networks of the built-in spaces, and the options every space's
// network builder takes. buildNetwork (src/kits) builds a sample's network
// through its space's kit; each network matches its space's cost model
// (src/hardware/cost.ts): numParameters() equals the counted parameters.
export * from './nb201.js';
export * from './darts.js';
export * from './chain.js';
export * from './mobilenet.js';
export * from './hierarchical.js';
export * from './transformer.js';

export interface BuildNetworkOptions {
  numClasses: number;
  /** Image channels; default 3. */
  inChannels?: number;
  /** nb201: C, channels of the first stage (default 16). darts: initial channels C (default 36). Other spaces take widths from the sample. */
  channels?: number;
  /** nb201: cells per stage N (default 5). darts: number of cells (default 20). Other spaces take depth from the sample. */
  cells?: number;
  /** Image height = width (default 32); darts sizes its auxiliary head with it. mobilenet's resolution is the sample's. */
  inputSize?: number;
  /** darts: build the auxiliary head (default false). */
  auxiliary?: boolean;
  /** darts: drop-path probability while training (default 0). */
  dropPathProb?: number;
  /** darts: reduction cell indices (default layers/3 and 2·layers/3; the cost model assumes the default). */
  reductionCells?: readonly number[];
}
export * from './morphism.js';
