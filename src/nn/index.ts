// The nn library: modules, layers, NAS operations, optimizers, schedules.
export * from './module.js';
export * from './layers.js';
export * as init from './init.js';
export * from './ops.js';
export * from './optim.js';
export * from './schedule.js';
