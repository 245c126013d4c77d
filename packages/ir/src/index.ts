export * from './dtype.js';
export * from './ops.js';
export * from './shape.js';
export * from './node.js';
export * from './view.js';
export * from './rewrite.js';
export * from './print.js';
export * from './random.js';
