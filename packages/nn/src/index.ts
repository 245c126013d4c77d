/**
 * Training on top of @fusor/tensor, PyTorch's vocabulary:
 *   import { nn, optim, data, safetensors } from '@fusor/nn';
 */
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as data from './data/index.js';
export * as safetensors from './safetensors/index.js';
export * as datasets from './datasets/index.js';
