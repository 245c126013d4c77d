/**
 * Process groups and collectives on existing engines (MPI for cpu tensors, NCCL for cuda
 * tensors, both through koffi), shaped like torch.distributed:
 *   import * as dist from '@fusor/distributed';
 *   dist.initProcessGroup({ backend: 'mpi', timeout: 60_000 });
 *   dist.allReduce(t, dist.ReduceOp.SUM);
 */
export {
  initProcessGroup,
  destroyProcessGroup,
  isInitialized,
  isAvailable,
  isMpiAvailable,
  isNcclAvailable,
  getRank,
  getWorldSize,
  getBackend,
  allReduce,
  broadcast,
  allGather,
  allGatherIntoTensor,
  reduceScatter,
  reduceScatterTensor,
  barrier,
  send,
  recv,
  isend,
  irecv,
  ReduceOp,
  type Backend,
  type InitOptions,
  type CollectiveOptions,
  type ReduceOptions,
  type BroadcastOptions,
  type SendOptions,
  type RecvOptions,
} from './collectives.js';
export { Work } from './work.js';
export { DistError, DistBackendError, DistBackendUnavailableError } from './errors.js';
export { DEFAULT_TIMEOUT_MS } from './process-group.js';
export { DistributedDataParallel, type DistributedDataParallelOptions, type ModuleLike } from './ddp.js';
export { DistributedSampler, type DistributedSamplerOptions } from './sampler.js';
