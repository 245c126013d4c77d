/**
 * An MPI library (OpenMPI's libmpi.so.40, as Debian ships it) through koffi: one table of
 * prototypes, the library's predefined handles (OpenMPI exports MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM
 * … as the data symbols `ompi_mpi_comm_world`, `ompi_mpi_float`, `ompi_mpi_op_sum`: a handle is
 * the symbol's address), and the error text of a failed call.
 *
 * Only nonblocking calls move data (MPI_Iallreduce …, then MPI_Test until done or a deadline), so
 * no call into the library can block forever: that is what the process group's timeouts stand on.
 */
import { addressOf, bindAll, loadFirst, loadKoffi, type CFunction } from './ffi.js';

const MPI_API = {
  MPI_Initialized: 'int MPI_Initialized(int *flag)',
  MPI_Finalized: 'int MPI_Finalized(int *flag)',
  MPI_Init_thread: 'int MPI_Init_thread(void *argc, void *argv, int required, int *provided)',
  MPI_Finalize: 'int MPI_Finalize()',
  MPI_Abort: 'int MPI_Abort(void *comm, int code)',
  MPI_Comm_rank: 'int MPI_Comm_rank(void *comm, int *rank)',
  MPI_Comm_size: 'int MPI_Comm_size(void *comm, int *size)',
  MPI_Comm_dup: 'int MPI_Comm_dup(void *comm, void *newcomm)',
  MPI_Comm_set_errhandler: 'int MPI_Comm_set_errhandler(void *comm, void *handler)',
  MPI_Error_string: 'int MPI_Error_string(int code, uint8_t *text, int *len)',
  MPI_Get_library_version: 'int MPI_Get_library_version(uint8_t *text, int *len)',
  MPI_Iallreduce: 'int MPI_Iallreduce(void *send, void *recv, int count, void *type, void *op, void *comm, void *request)',
  MPI_Ibcast: 'int MPI_Ibcast(void *buf, int count, void *type, int root, void *comm, void *request)',
  MPI_Iallgather:
    'int MPI_Iallgather(void *send, int sendcount, void *sendtype, void *recv, int recvcount, void *recvtype, void *comm, void *request)',
  MPI_Ireduce_scatter_block: 'int MPI_Ireduce_scatter_block(void *send, void *recv, int recvcount, void *type, void *op, void *comm, void *request)',
  MPI_Ibarrier: 'int MPI_Ibarrier(void *comm, void *request)',
  MPI_Isend: 'int MPI_Isend(void *buf, int count, void *type, int dest, int tag, void *comm, void *request)',
  MPI_Irecv: 'int MPI_Irecv(void *buf, int count, void *type, int source, int tag, void *comm, void *request)',
  MPI_Test: 'int MPI_Test(void *request, int *flag, void *status)',
  MPI_Cancel: 'int MPI_Cancel(void *request)',
  MPI_Request_free: 'int MPI_Request_free(void *request)',
  MPI_Get_count: 'int MPI_Get_count(void *status, void *type, int *count)',
  MPI_Wtime: 'double MPI_Wtime()',
  MPI_Allreduce: 'int MPI_Allreduce(void *send, void *recv, int count, void *type, void *op, void *comm)',
} as const;

export type MpiFn = keyof typeof MPI_API;

/** OpenMPI's exported handle objects (mpi.h defines MPI_FLOAT as &ompi_mpi_float, and so on). */
const HANDLE_SYMBOLS = {
  commWorld: 'ompi_mpi_comm_world',
  errorsReturn: 'ompi_mpi_errors_return',
  float: 'ompi_mpi_float',
  double: 'ompi_mpi_double',
  int: 'ompi_mpi_int',
  short: 'ompi_mpi_short',
  signedChar: 'ompi_mpi_signed_char',
  unsignedChar: 'ompi_mpi_unsigned_char',
  opSum: 'ompi_mpi_op_sum',
  opProd: 'ompi_mpi_op_prod',
  opMax: 'ompi_mpi_op_max',
  opMin: 'ompi_mpi_op_min',
  opBand: 'ompi_mpi_op_band',
  opBor: 'ompi_mpi_op_bor',
  opBxor: 'ompi_mpi_op_bxor',
} as const;

export type MpiHandle = keyof typeof HANDLE_SYMBOLS;

export const MPI_THREAD_SINGLE = 0;
export const MPI_ANY_SOURCE = -1;
/** MPI_IN_PLACE is ((void *) 1) in OpenMPI's mpi.h. */
export const MPI_IN_PLACE = 1n;
/** sizeof(MPI_Status) in OpenMPI: int source, tag, error, _cancelled; size_t _ucount. */
export const MPI_STATUS_BYTES = 24;

export class MpiLibrary {
  private constructor(
    readonly path: string,
    readonly fn: Record<MpiFn, CFunction>,
    readonly handle: Record<MpiHandle, bigint>,
  ) {}

  /** Opens libmpi; a string says why it could not. */
  static open(env: NodeJS.ProcessEnv = process.env): MpiLibrary | string {
    try {
      loadKoffi();
    } catch (e) {
      return `the koffi native module (fusor's bridge to MPI) could not be loaded: ${(e as Error).message}`;
    }
    const candidates = [
      ...(env['FUSOR_LIBMPI_PATH'] ? [env['FUSOR_LIBMPI_PATH']] : []),
      'libmpi.so.40',
      '/usr/lib/x86_64-linux-gnu/libmpi.so.40',
      '/usr/lib/aarch64-linux-gnu/libmpi.so.40',
      '/usr/lib64/openmpi/lib/libmpi.so.40',
      'libmpi.so',
    ];
    // OpenMPI opens its transport plugins with dlopen; they resolve libmpi's symbols globally
    const opened = loadFirst(candidates, true);
    if ('failure' in opened) {
      return `libmpi.so.40 (OpenMPI) not found (${opened.failure}). Install OpenMPI (Debian: apt-get install openmpi-bin libopenmpi-dev), or set FUSOR_LIBMPI_PATH to the library file`;
    }
    let fn: Record<MpiFn, CFunction>;
    const handle = {} as Record<MpiHandle, bigint>;
    try {
      fn = bindAll(opened.lib, MPI_API);
      for (const [k, sym] of Object.entries(HANDLE_SYMBOLS) as [MpiHandle, string][]) handle[k] = addressOf(opened.lib.symbol(sym));
    } catch (e) {
      return `${opened.path} is not an OpenMPI 4 library fusor can use (${(e as Error).message}); fusor's MPI backend needs OpenMPI's ABI (libmpi.so.40)`;
    }
    return new MpiLibrary(opened.path, fn, handle);
  }

  /** Calls an MPI function and returns its error code. */
  call(name: MpiFn, ...args: unknown[]): number {
    return this.fn[name](...args) as number;
  }

  errorString(code: number): string {
    const text = Buffer.alloc(256);
    const len = new Int32Array(1);
    if (this.call('MPI_Error_string', code, text, len) !== 0) return `MPI error ${code}`;
    return text.subarray(0, len[0]).toString('utf8');
  }

  version(): string {
    const text = Buffer.alloc(8192);
    const len = new Int32Array(1);
    this.call('MPI_Get_library_version', text, len);
    return text.subarray(0, len[0]).toString('utf8').split(',')[0]!.trim();
  }
}
