export * from './backend.js';
export * from './kernel-ir.js';
export * from './schedule.js';
export * from './contraction.js';
export * from './lower.js';
export * from './explain.js';
export * from './simplify-graph.js';
export * from './interpret.js';
