// The tensor library: Tensor, factories, functional ops, autograd, scopes.
export { Tensor, type TypedArray, type DType } from './tensor.js';
export * from './create.js';
export * from './functional.js';
export * from './autograd.js';
export * from './control.js';
export { tidy, keep, dispose, memory, leakedCount } from './scope.js';
export type { Reduction } from './native.js';
