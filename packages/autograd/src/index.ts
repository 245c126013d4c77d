export * from './rules.js';
export * from './backward.js';
