/** nn.functional (also exported as F): the layers' stateless forms and the losses. */
export * from './activation.js';
export * from './linear.js';
export * from './loss.js';
export * from './attention.js';
export * from './conv.js';
