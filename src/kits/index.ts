// Spaces by name: the registry of space kits (registerSpace, getKit) with
// the built-in spaces registered, and what tsnas builds from a sample of any
// registered space. Import kits from here, not from registry.ts, so that the
// built-in spaces are there.
import './builtin.js';

export * from './registry.js';
export * from './build.js';
export * from './onnx.js';
export * from './scale.js';
