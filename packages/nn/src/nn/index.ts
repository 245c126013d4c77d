/**
 * torch.nn in TypeScript: `import { nn } from '@fusor/nn'`, then `new nn.Linear(784, 10)`,
 * `nn.functional.crossEntropy(logits, target)` (or `nn.F.…`), `nn.init.kaimingUniform_(w)`.
 */
export { Parameter } from './parameter.js';
export { Module, StateDictError, type StateDict, type LoadStateDictResult, type RemovableHandle } from './module.js';
export { Sequential, ModuleList, ModuleDict, type AnyModule } from './modules/container.js';
export { Identity, Linear, Bilinear, Flatten, Unflatten, type LinearOptions } from './modules/linear.js';
export * from './modules/activation.js';
export * from './modules/normalization.js';
export * from './modules/dropout.js';
export { Embedding, type EmbeddingOptions } from './modules/sparse.js';
export * from './modules/loss.js';
export type { FactoryOptions } from './modules/factory.js';
export type { Reduction } from './args.js';
export * as functional from './functional/index.js';
export * as F from './functional/index.js';
export * as init from './init.js';
export * from './modules/conv.js';
export * from './modules/pooling.js';
export { MultiheadAttention, NonDynamicallyQuantizableLinear, type MultiheadAttentionOptions, type MhaForwardOptions } from './modules/attention.js';
export { TransformerEncoderLayer, TransformerEncoder, type TransformerEncoderLayerOptions, type EncoderForwardOptions } from './modules/transformer.js';
export { RNN, LSTM, GRU, type RNNOptions } from './modules/rnn.js';
export { DataParallel, type DataParallelOptions } from './parallel/data-parallel.js';
export * as parallel from './parallel/index.js';
