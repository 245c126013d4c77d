/**
 * NCCL (libnccl.so.2) through koffi, for cuda tensors: rank 0's ncclUniqueId travels to the other
 * ranks by MPI broadcast, ncclCommInitRank joins them, and every collective runs on the device
 * pointers of fusor's cuda buffers, on the default stream (where the cuda backend launches its
 * kernels, so NCCL sees their results in order). Completion is a CUDA event tested with
 * cuEventQuery, so waits have deadlines as MPI's do; a timeout aborts the communicator.
 */
import { zeros, type Tensor } from '@fusor/tensor';
import { DistBackendError, DistError } from './errors.js';
import type { Engine, PendingRecv, ReduceOp } from './engine.js';
import { bindAll, loadFirst, loadKoffi, type CFunction } from './ffi.js';
import type { ProcessGroup } from './process-group.js';
import { hostRegion, readRegion, releaseRegions, type Region } from './storage.js';
import type { Pending } from './work.js';

const NCCL_API = {
  ncclGetVersion: 'int ncclGetVersion(int *version)',
  ncclGetUniqueId: 'int ncclGetUniqueId(uint8_t *id)',
  ncclCommInitRank: 'int ncclCommInitRank(void *comm, int nranks, ncclUniqueId id, int rank)',
  ncclCommDestroy: 'int ncclCommDestroy(void *comm)',
  ncclCommAbort: 'int ncclCommAbort(void *comm)',
  ncclCommGetAsyncError: 'int ncclCommGetAsyncError(void *comm, int *error)',
  ncclGetErrorString: 'const char *ncclGetErrorString(int result)',
  ncclAllReduce: 'int ncclAllReduce(uint64_t send, uint64_t recv, size_t count, int type, int op, void *comm, void *stream)',
  ncclBroadcast: 'int ncclBroadcast(uint64_t send, uint64_t recv, size_t count, int type, int root, void *comm, void *stream)',
  ncclAllGather: 'int ncclAllGather(uint64_t send, uint64_t recv, size_t sendcount, int type, void *comm, void *stream)',
  ncclReduceScatter: 'int ncclReduceScatter(uint64_t send, uint64_t recv, size_t recvcount, int type, int op, void *comm, void *stream)',
  ncclSend: 'int ncclSend(uint64_t buf, size_t count, int type, int peer, void *comm, void *stream)',
  ncclRecv: 'int ncclRecv(uint64_t buf, size_t count, int type, int peer, void *comm, void *stream)',
} as const;

const CUDA_EVENTS = {
  cuEventCreate: 'int cuEventCreate(void **event, unsigned int flags)',
  cuEventRecord: 'int cuEventRecord(void *event, void *stream)',
  cuEventQuery: 'int cuEventQuery(void *event)',
  cuEventDestroy_v2: 'int cuEventDestroy_v2(void *event)',
} as const;

const CUDA_ERROR_NOT_READY = 600;
/** CU_EVENT_DISABLE_TIMING: a pure completion marker. */
const EVENT_FLAGS = 2;

/** ncclDataType_t for fusor's cuda storage (int64 is real int64 there; bool is a byte). */
const NCCL_TYPE: Readonly<Partial<Record<string, number>>> = {
  int8: 0,
  uint8: 1,
  bool: 1,
  int32: 2,
  int64: 4,
  float16: 6,
  float32: 7,
  float64: 8,
  bfloat16: 9,
};
const NCCL_OP: Readonly<Partial<Record<ReduceOp, number>>> = { sum: 0, product: 1, max: 2, min: 3, avg: 4 };

interface NcclLib {
  readonly path: string;
  readonly fn: Record<keyof typeof NCCL_API, CFunction>;
  readonly cu: Record<keyof typeof CUDA_EVENTS, CFunction>;
}

let opened: NcclLib | string | undefined;

function openLibs(env: NodeJS.ProcessEnv = process.env): NcclLib | string {
  if (opened !== undefined) return opened;
  try {
    loadKoffi();
  } catch (e) {
    return (opened = `the koffi native module could not be loaded: ${(e as Error).message}`);
  }
  const nccl = loadFirst([...(env['FUSOR_LIBNCCL_PATH'] ? [env['FUSOR_LIBNCCL_PATH']] : []), 'libnccl.so.2', 'libnccl.so']);
  if ('failure' in nccl) {
    return (opened =
      `libnccl.so.2 not found (${nccl.failure}). NCCL needs an NVIDIA GPU: install NCCL (NVIDIA's libnccl2 package, or pip's nvidia-nccl-cu12) ` +
      'and set FUSOR_LIBNCCL_PATH to its libnccl.so.2 if it is not on the loader path; then launch one process per GPU with mpirun');
  }
  const cuda = loadFirst([...(env['FUSOR_LIBCUDA_PATH'] ? [env['FUSOR_LIBCUDA_PATH']] : []), 'libcuda.so.1']);
  if ('failure' in cuda) return (opened = `libcuda.so.1 (the NVIDIA driver library) could not be loaded (${cuda.failure})`);
  const k = loadKoffi();
  // the 128-byte ncclUniqueId goes to ncclCommInitRank by value
  k.struct('ncclUniqueId', { internal: k.array('uint8', 128) });
  try {
    return (opened = { path: nccl.path, fn: bindAll(nccl.lib, NCCL_API), cu: bindAll(cuda.lib, CUDA_EVENTS) });
  } catch (e) {
    return (opened = `${nccl.path} lacks a function fusor needs (${(e as Error).message}); NCCL 2.12 or newer is needed`);
  }
}

/** Why backend 'nccl' cannot run here, or null when it can be tried. */
export function ncclUnavailableReason(): string | null {
  const l = openLibs();
  return typeof l === 'string' ? l : null;
}

function pin<T extends ArrayBufferView>(a: T): T {
  void a.buffer;
  return a;
}

class NcclEngine implements Engine {
  readonly name = 'nccl' as const;
  readonly deviceKind = 'cuda' as const;
  readonly hasAvg = true;
  private aborted = false;

  constructor(
    private readonly lib: NcclLib,
    private readonly group: ProcessGroup,
    private readonly comm: bigint,
    readonly device: string,
    private readonly version: string,
  ) {}

  describe(): string {
    return `NCCL ${this.version} (${this.lib.path}) on ${this.device}`;
  }

  private error(code: number): string {
    return (this.lib.fn.ncclGetErrorString(code) as string | null) ?? `ncclResult ${code}`;
  }

  private check(what: string, code: number): void {
    if (code !== 0) throw new DistBackendError(`${what} failed: ${this.error(code)}`);
  }

  private type(r: Region): number {
    const t = NCCL_TYPE[r.dtype];
    if (t === undefined) throw new DistError(`the nccl backend cannot move ${r.dtype} tensors`);
    if (r.device !== this.device) throw new DistError(`this process's NCCL communicator is on ${this.device}, got a ${r.device} tensor`);
    return t;
  }

  private op(op: ReduceOp): number {
    const o = NCCL_OP[op];
    if (o === undefined) throw new DistError(`the nccl backend has no ReduceOp.${op.toUpperCase()}`);
    return o;
  }

  /** Enqueues `launch` on the default stream and a completion event after it. */
  private enqueue(what: string, launch: () => number): Pending {
    this.check(what, launch());
    const { cu } = this.lib;
    const ev = pin(new BigUint64Array(1));
    if ((cu.cuEventCreate(ev, EVENT_FLAGS) as number) !== 0) throw new DistBackendError('cuEventCreate failed');
    if ((cu.cuEventRecord(ev[0], null) as number) !== 0) throw new DistBackendError('cuEventRecord failed');
    let done = false;
    const asyncErr = pin(new Int32Array(1));
    return {
      test: () => {
        if (done) return true;
        const q = cu.cuEventQuery(ev[0]) as number;
        if (q === 0) {
          done = true;
          cu.cuEventDestroy_v2(ev[0]);
          return true;
        }
        if (q !== CUDA_ERROR_NOT_READY) throw new DistBackendError(`${what}: cuEventQuery failed with CUresult ${q}`);
        this.lib.fn.ncclCommGetAsyncError(this.comm, asyncErr);
        if (asyncErr[0] !== 0) throw new DistBackendError(`${what} failed: ${this.error(asyncErr[0]!)}`);
        return false;
      },
    };
  }

  allReduce(send: Region, recv: Region, op: ReduceOp): Pending {
    const t = this.type(send);
    const o = this.op(op);
    return this.enqueue('ncclAllReduce', () => this.lib.fn.ncclAllReduce(send.ptr, recv.ptr, send.count, t, o, this.comm, null) as number);
  }

  broadcast(buf: Region, root: number): Pending {
    const t = this.type(buf);
    return this.enqueue('ncclBroadcast', () => this.lib.fn.ncclBroadcast(buf.ptr, buf.ptr, buf.count, t, root, this.comm, null) as number);
  }

  allGather(send: Region, recv: Region): Pending {
    const t = this.type(send);
    return this.enqueue('ncclAllGather', () => this.lib.fn.ncclAllGather(send.ptr, recv.ptr, send.count, t, this.comm, null) as number);
  }

  reduceScatter(send: Region, recv: Region, op: ReduceOp): Pending {
    const t = this.type(recv);
    const o = this.op(op);
    return this.enqueue('ncclReduceScatter', () => this.lib.fn.ncclReduceScatter(send.ptr, recv.ptr, recv.count, t, o, this.comm, null) as number);
  }

  barrier(): Pending {
    return this.group.control.barrier();
  }

  send(buf: Region, dst: number, _tag: number): Pending {
    const t = this.type(buf);
    return this.enqueue('ncclSend', () => this.lib.fn.ncclSend(buf.ptr, buf.count, t, dst, this.comm, null) as number);
  }

  recv(buf: Region, src: number | null, _tag: number): PendingRecv {
    if (src === null) throw new DistError('recv(): the nccl backend needs a source rank (NCCL has no receive from any rank)');
    const t = this.type(buf);
    const p = this.enqueue('ncclRecv', () => this.lib.fn.ncclRecv(buf.ptr, buf.count, t, src, this.comm, null) as number);
    return { test: p.test, source: () => src, count: () => buf.count };
  }

  /** After a timeout: NCCL kernels may spin forever waiting for a dead peer; abort frees the GPU. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.lib.fn.ncclCommAbort(this.comm);
  }

  destroy(): void {
    if (!this.aborted) this.lib.fn.ncclCommDestroy(this.comm);
  }
}

/**
 * The NCCL engine for this rank: its device (deviceId, or the local rank modulo the GPUs), a
 * unique id from rank 0 over MPI, ncclCommInitRank. The cuda backend must be up (await
 * torch.init('cuda')) so the device's context exists.
 */
export function openNccl(group: ProcessGroup, deviceId: number | undefined): Engine {
  const lib = openLibs();
  if (typeof lib === 'string') throw new DistError(`backend 'nccl' is unavailable: ${lib}`);
  const localRank = Number(process.env['OMPI_COMM_WORLD_LOCAL_RANK'] ?? process.env['SLURM_LOCALID'] ?? group.rank);
  const device = `cuda:${deviceId ?? localRank}`;
  // a realized buffer on the device makes its context current for the NCCL calls that follow
  releaseRegions([readRegion(zerosOn(device))]);
  const id = pin(new Uint8Array(128));
  if (group.rank === 0) {
    const code = lib.fn.ncclGetUniqueId(id) as number;
    if (code !== 0) throw new DistBackendError(`ncclGetUniqueId failed: ${lib.fn.ncclGetErrorString(code) as string}`);
  }
  const seq = group.nextSeq();
  group.rendezvous('ncclInit', seq, { dtype: 'uint8', shape: [128], extra: 0 }, group.timeoutMs);
  const region = hostRegion(id, 'uint8');
  group.work('ncclInit', seq, [group.control.broadcast(region, 0)], () => {}, [], group.timeoutMs).wait();
  const comm = pin(new BigUint64Array(1));
  const code = lib.fn.ncclCommInitRank(comm, group.size, { internal: Array.from(id) }, group.rank) as number;
  if (code !== 0) throw new DistBackendError(`ncclCommInitRank failed on rank ${group.rank}: ${lib.fn.ncclGetErrorString(code) as string}`);
  const v = pin(new Int32Array(1));
  lib.fn.ncclGetVersion(v);
  const n = v[0]!;
  const version = n >= 10000 ? `${Math.floor(n / 10000)}.${Math.floor((n % 10000) / 100)}.${n % 100}` : `${Math.floor(n / 1000)}.${Math.floor((n % 1000) / 100)}.${n % 100}`;
  const engine = new NcclEngine(lib, group, comm[0]!, device, version);
  group.onFailure(() => engine.abort());
  group.onDestroy(() => engine.destroy());
  return engine;
}

const zerosOn = (device: string): Tensor => zeros(1, { device }).add(1);
