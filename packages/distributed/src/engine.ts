/**
 * The data engines under a process group: MPI for cpu tensors, NCCL for cuda tensors. Each
 * starts a transfer between realized buffers and hands back something to test; the process
 * group does the rest (argument checks, the shape rendezvous, deadlines, writing results back).
 */
import type { DType } from '@fusor/tensor';
import { DistBackendError, DistError } from './errors.js';
import { MPI_ANY_SOURCE, MPI_IN_PLACE, MPI_STATUS_BYTES, type MpiHandle, type MpiLibrary } from './mpi.js';
import type { Region } from './storage.js';
import type { Pending } from './work.js';

/** The reductions an all-reduce or reduce-scatter can apply (PyTorch's ReduceOp). */
export const ReduceOp = {
  SUM: 'sum',
  AVG: 'avg',
  PRODUCT: 'product',
  MIN: 'min',
  MAX: 'max',
  BAND: 'band',
  BOR: 'bor',
  BXOR: 'bxor',
} as const;
export type ReduceOp = (typeof ReduceOp)[keyof typeof ReduceOp];
export const REDUCE_OPS: readonly ReduceOp[] = Object.values(ReduceOp);

/** A receive that also tells who sent and how many elements came. */
export interface PendingRecv extends Pending {
  source(): number;
  count(): number;
}

export interface Engine {
  readonly name: 'mpi' | 'nccl';
  /** The device kind its tensors live on. */
  readonly deviceKind: 'cpu' | 'cuda';
  /** `op` is never AVG for an engine without it: the group divides after a SUM. */
  readonly hasAvg: boolean;
  allReduce(send: Region, recv: Region, op: ReduceOp): Pending;
  /** On the root `recv` is its own buffer (only read). */
  broadcast(buf: Region, root: number): Pending;
  /** `slot`: a request the caller reuses, one operation at a time (the rendezvous's headers). */
  allGather(send: Region, recv: Region, slot?: RequestSlot): Pending;
  reduceScatter(send: Region, recv: Region, op: ReduceOp): Pending;
  barrier(): Pending;
  send(buf: Region, dst: number, tag: number): Pending;
  recv(buf: Region, src: number | null, tag: number): PendingRecv;
  describe(): string;
}

/** Storage dtype → MPI datatype (cpu storage holds int64 as float64 and bool as uint8). */
const MPI_TYPE: Readonly<Partial<Record<DType, MpiHandle>>> = {
  float32: 'float',
  float64: 'double',
  int64: 'double',
  int32: 'int',
  int16: 'short',
  int8: 'signedChar',
  uint8: 'unsignedChar',
  bool: 'unsignedChar',
};

const MPI_OP: Readonly<Record<Exclude<ReduceOp, 'avg'>, MpiHandle>> = {
  sum: 'opSum',
  product: 'opProd',
  min: 'opMin',
  max: 'opMax',
  band: 'opBand',
  bor: 'opBor',
  bxor: 'opBxor',
};

/** A typed array's memory as MPI sees it: materializing `.buffer` first keeps V8 from moving it. */
function pinned<T extends ArrayBufferView>(a: T): T {
  void a.buffer;
  return a;
}

/**
 * An MPI request and its completion flag, pinned. Each operation gets its own, except where an
 * owner runs one at a time and reuses one (allocating the pair costs about a microsecond).
 */
export interface RequestSlot {
  readonly request: BigUint64Array;
  readonly flag: Int32Array;
}
export const requestSlot = (): RequestSlot => ({ request: pinned(new BigUint64Array(1)), flag: pinned(new Int32Array(1)) });

const INT_MAX = 2 ** 31 - 1;
/** OpenMPI's MPI_ERR_TRUNCATE: a message longer than the receive buffer. */
const MPI_ERR_TRUNCATE = 15;

export class MpiEngine implements Engine {
  readonly name = 'mpi' as const;
  readonly deviceKind = 'cpu' as const;
  readonly hasAvg = false;

  /** Each storage dtype's MPI datatype handle. */
  private readonly types: Readonly<Partial<Record<DType, bigint>>>;

  constructor(
    readonly lib: MpiLibrary,
    /** The communicator data moves on (a duplicate of MPI_COMM_WORLD). */
    readonly comm: bigint,
    readonly rank: number,
    readonly size: number,
  ) {
    this.types = Object.fromEntries(Object.entries(MPI_TYPE).map(([d, h]) => [d, lib.handle[h]]));
  }

  describe(): string {
    return `${this.lib.version()} (${this.lib.path})`;
  }

  private type(r: Region): bigint {
    const t = this.types[r.dtype];
    if (t === undefined) throw new DistError(`the mpi backend cannot move ${r.dtype} tensors`);
    return t;
  }

  private host(r: Region): ArrayBufferView {
    if (!r.host) throw new DistError(`the mpi backend takes cpu tensors, got a ${r.device} tensor (use backend 'nccl' for cuda tensors)`);
    if (r.count > INT_MAX) throw new DistError(`the mpi backend moves at most 2^31-1 elements per call, got ${r.count}`);
    return pinned(r.host);
  }

  /** Starts a nonblocking call that fills `request`; returns its Pending (which keeps `keep` alive). */
  private start(
    what: string,
    call: (request: BigUint64Array) => number,
    keep: readonly unknown[],
    status?: Uint8Array,
    /** A clearer error for a code the caller knows the meaning of (null: the library's text). */
    explain: (code: number) => Error | null = () => null,
    { request, flag }: RequestSlot = requestSlot(),
  ): Pending {
    const code = call(request);
    if (code !== 0) throw new DistBackendError(`${what} failed: ${this.lib.errorString(code)}`);
    const st = status ?? null;
    const mpiTest = this.lib.fn.MPI_Test;
    let done = false;
    return {
      test: () => {
        if (done) return true;
        void keep;
        const c = mpiTest(request, flag, st) as number;
        if (c !== 0) throw explain(c) ?? new DistBackendError(`${what} failed: ${this.lib.errorString(c)}`);
        done = flag[0] !== 0;
        return done;
      },
    };
  }

  /** The send buffer, or MPI_IN_PLACE where the result goes into it (MPI forbids aliased buffers). */
  private source(send: Region, recv: Region): ArrayBufferView | bigint {
    return send === recv ? MPI_IN_PLACE : this.host(send);
  }

  allReduce(send: Region, recv: Region, op: ReduceOp): Pending {
    if (op === 'avg') throw new Error('internal: AVG reaches MPI as SUM');
    const s = this.source(send, recv);
    const r = this.host(recv);
    const { lib, comm } = this;
    return this.start('MPI_Iallreduce', (req) => lib.call('MPI_Iallreduce', s, r, send.count, this.type(send), lib.handle[MPI_OP[op]], comm, req), [s, r]);
  }

  broadcast(buf: Region, root: number): Pending {
    const b = this.host(buf);
    const { lib, comm } = this;
    return this.start('MPI_Ibcast', (req) => lib.call('MPI_Ibcast', b, buf.count, this.type(buf), root, comm, req), [b]);
  }

  allGather(send: Region, recv: Region, slot?: RequestSlot): Pending {
    const s = this.host(send);
    const r = this.host(recv);
    const { lib, comm } = this;
    const t = this.type(send);
    return this.start('MPI_Iallgather', (req) => lib.fn.MPI_Iallgather(s, send.count, t, r, send.count, t, comm, req) as number, [s, r], undefined, undefined, slot);
  }

  reduceScatter(send: Region, recv: Region, op: ReduceOp): Pending {
    if (op === 'avg') throw new Error('internal: AVG reaches MPI as SUM');
    const s = this.host(send);
    const r = this.host(recv);
    const { lib, comm } = this;
    return this.start(
      'MPI_Ireduce_scatter_block',
      (req) => lib.call('MPI_Ireduce_scatter_block', s, r, recv.count, this.type(recv), lib.handle[MPI_OP[op]], comm, req),
      [s, r],
    );
  }

  /**
   * MPI's blocking MPI_Allreduce (its tuned algorithms beat the nonblocking ones at 1–64 MiB):
   * only after a rendezvous showed every rank present, and under the process group's watchdog.
   */
  allReduceBlocking(send: Region, recv: Region, op: Exclude<ReduceOp, 'avg'>): void {
    const s = this.source(send, recv);
    const r = this.host(recv);
    const code = this.lib.fn.MPI_Allreduce(s, r, send.count, this.type(send), this.lib.handle[MPI_OP[op]], this.comm) as number;
    if (code !== 0) throw new DistBackendError(`MPI_Allreduce failed: ${this.lib.errorString(code)}`);
  }

  barrier(): Pending {
    return this.start('MPI_Ibarrier', (req) => this.lib.call('MPI_Ibarrier', this.comm, req), []);
  }

  send(buf: Region, dst: number, tag: number): Pending {
    const b = this.host(buf);
    return this.start('MPI_Isend', (req) => this.lib.call('MPI_Isend', b, buf.count, this.type(buf), dst, tag, this.comm, req), [b]);
  }

  recv(buf: Region, src: number | null, tag: number): PendingRecv {
    const b = this.host(buf);
    const status = pinned(new Uint8Array(MPI_STATUS_BYTES));
    const type = this.type(buf);
    const p = this.start(
      'MPI_Irecv',
      (req) => this.lib.call('MPI_Irecv', b, buf.count, type, src ?? MPI_ANY_SOURCE, tag, this.comm, req),
      [b],
      status,
      (code) =>
        code === MPI_ERR_TRUNCATE
          ? new DistError(
              `recv(): the message from rank ${new Int32Array(status.buffer, 0, 1)[0]} is larger than the receiving ${buf.dtype} tensor of ${buf.count} elements; send and recv must use the same shape and dtype`,
            )
          : null,
    );
    return {
      test: p.test,
      source: () => new Int32Array(status.buffer, 0, 1)[0]!,
      count: () => {
        const n = pinned(new Int32Array(1));
        this.lib.call('MPI_Get_count', status, type, n);
        return n[0]!;
      },
    };
  }

}

/**
 * A world of one without any launcher or MPI library (backend 'nccl' on a machine without MPI,
 * one GPU): every collective is its own input, so the rendezvous and NCCL's bootstrap need no
 * transport. Nothing here moves data between processes.
 */
export class SoloEngine implements Engine {
  readonly name = 'mpi' as const;
  readonly deviceKind = 'cpu' as const;
  readonly hasAvg = false;
  private static readonly done: Pending = { test: () => true };

  describe(): string {
    return 'a world of one (no MPI library, no launcher)';
  }

  private copy(send: Region, recv: Region): Pending {
    if (!send.host || !recv.host) throw new DistError('internal: the solo engine moves cpu buffers only');
    (recv.host as unknown as { set(a: ArrayLike<number>): void }).set(send.host as unknown as ArrayLike<number>);
    return SoloEngine.done;
  }

  allReduce(send: Region, recv: Region): Pending {
    return this.copy(send, recv);
  }
  broadcast(): Pending {
    return SoloEngine.done;
  }
  allGather(send: Region, recv: Region): Pending {
    return this.copy(send, recv);
  }
  reduceScatter(send: Region, recv: Region): Pending {
    return this.copy(send, recv);
  }
  barrier(): Pending {
    return SoloEngine.done;
  }
  send(): Pending {
    throw new DistError('send(): there is no other rank in a world of one');
  }
  recv(): PendingRecv {
    throw new DistError('recv(): there is no other rank in a world of one');
  }
}
