// The library entry point (`import ... from 'tsnas'`). Tensors are at the
// top level; each other layer is a namespace, so that names stay unambiguous.
export * from './tensor/index.js';
export * as nn from './nn/index.js';
export * as data from './data/index.js';
export * as spaces from './spaces/index.js';
export * as store from './store/index.js';
export { trainModel, evaluate, type TrainOptions, type TrainResult, type EpochRecord } from './train/trainer.js';
export { NB201Network } from './networks/nb201.js';
export { TsnasError, type ErrorCode } from './errors.js';
export { Rng } from './util/random.js';
