/** nn.parallel: the three ways of the primer in one process — DataParallel, Pipe (network partitioning), and the tensor-parallel layers. */
export { DataParallel, scatter, gather, type DataParallelOptions } from './data-parallel.js';
export { Pipe, type PipeOptions } from './pipeline.js';
export { ColumnParallelLinear, RowParallelLinear, ParallelMLP, LinearShard, type TensorParallelOptions } from './tensor-parallel.js';
export type { ParallelDevice } from './devices.js';
