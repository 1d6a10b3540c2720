// The library entry point (`import ... from 'tsnas'`). Tensors are at the
// top level; each other layer is a namespace, so that names stay unambiguous.
export * from './tensor/index.js';
export * as nn from './nn/index.js';
export * as data from './data/index.js';
export * as spaces from './spaces/index.js';
export { defineSpace, type DefinedSpace, type SpaceDefinition } from './spaces/space.js';
export * as networks from './networks/index.js';
export * as supernets from './supernets/index.js';
export * as kits from './kits/index.js';
export * as onnx from './export/onnx/index.js';
export * as predictors from './predictors/index.js';
export * as strategies from './strategies/index.js';
export * as benchmarks from './benchmarks/index.js';
export * as estimators from './estimators/index.js';
export * as store from './store/index.js';
export * as viz from './viz/index.js';
export type { Cost, CostOptions } from './hardware/cost.js';
export {
  registerSpace, getKit, kitNames, getSpace, buildNetwork, buildSupernet, costOf, networkInputShape,
  type SpaceKit, type KitSupernetOptions, type SpaceOptions,
} from './kits/index.js';
export { runSpos, type SposOptions } from './weight-sharing/oneshot/spos.js';
export { createSmashRun, SmashRun, type SmashOptions } from './weight-sharing/oneshot/smash.js';
export { HyperNetwork, architectureCode, type HyperNetworkOptions } from './weight-sharing/oneshot/hypernet.js';
export { createSupernetDifferentiableRun, type SupernetSearchOptions } from './weight-sharing/differentiable/generic.js';
export type { OneShotResult } from './weight-sharing/oneshot/training.js';
export { runExperiment } from './experiment/run.js';
export { readConfigFile, checkConfig, configJsonSchema, type ExperimentConfig } from './experiment/config.js';
export { saveSafetensors, loadSafetensors } from './export/safetensors.js';
export { trainModel, evaluate, type TrainOptions, type TrainResult, type EpochRecord } from './train/trainer.js';
export { TsnasError, type ErrorCode } from './errors.js';
export { Rng } from './util/random.js';
