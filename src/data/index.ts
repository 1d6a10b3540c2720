// The data layer: dataset readers, spec parsing, augmentation and loaders.
export * from './dataset.js';
export * from './files.js';
export * from './idx.js';
export * from './cifar.js';
export * from './image.js';
export * from './folder.js';
export * from './augment.js';
export * from './loader.js';
export * from './spec.js';
export * from './synthetic.js';
