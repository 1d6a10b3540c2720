// Everything a caller needs from src/spaces: the space API and the built-in
// spaces' definitions. Spaces by name (getSpace, registerSpace) are in src/kits.
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
export * from './hyperparameters.js';
