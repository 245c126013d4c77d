export * from './registry.js';
export * from './realize.js';
export * from './capture.js';
