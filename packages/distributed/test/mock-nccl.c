// A stand-in for libnccl.so.2 over the cuda emulator (packages/backend-cuda/test/emulator), for
// @fusor/distributed's backend 'nccl' on a machine without GPUs. The emulator's device pointers
// are host addresses, so each NCCL collective is the matching MPI collective of the process's own
// MPI library (the one fusor's process group initialized), on a duplicate of MPI_COMM_WORLD.
// Everything on fusor's side — koffi bindings, the unique id's trip over MPI, the struct passed by
// value, dtype and reduction codes, completion events, abort — is the code that runs with NCCL.
//
// What it follows from NCCL's documentation (nccl.h, 2.x): ncclResult_t codes, ncclDataType_t
// (int8 0, uint8 1, int32 2, uint32 3, int64 4, uint64 5, float16 6, float32 7, float64 8,
// bfloat16 9), ncclRedOp_t (sum 0, prod 1, max 2, min 3, avg 4), counts in elements, in-place
// calls (sendbuff == recvbuff; all-gather's sendbuff == recvbuff + rank·sendcount). Calls run to
// completion before they return (the emulator's streams are synchronous). Its limits: the
// communicator must be MPI_COMM_WORLD's ranks in order, and send/recv are MPI's blocking calls.
//
//   mpicc -shared -fPIC -o libmocknccl.so mock-nccl.c
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../backend-cuda/test/emulator/halves.h"

typedef struct { char internal[128]; } ncclUniqueId;
struct comm { MPI_Comm mpi; int rank, nranks; };

enum { ok = 0, systemError = 2, internalError = 3, invalidArgument = 4, invalidUsage = 5 };
static const char ID_MAGIC[] = "fusor-mock-nccl";

int ncclGetVersion(int *version) { *version = 22304; return ok; }

const char *ncclGetErrorString(int r) {
  switch (r) {
    case ok: return "no error";
    case 1: return "unhandled cuda error (run with NCCL_DEBUG=INFO for details)";
    case systemError: return "unhandled system error (run with NCCL_DEBUG=INFO for details)";
    case internalError: return "internal error - please report this issue to the NCCL developers";
    case invalidArgument: return "invalid argument (run with NCCL_DEBUG=WARN for details)";
    case invalidUsage: return "invalid usage (run with NCCL_DEBUG=WARN for details)";
    default: return "unknown result code";
  }
}

int ncclGetUniqueId(ncclUniqueId *id) {
  memset(id, 0, sizeof *id);
  memcpy(id->internal, ID_MAGIC, sizeof ID_MAGIC);
  int64_t stamp[2] = {(int64_t)getpid(), (int64_t)time(NULL)};
  memcpy(id->internal + 64, stamp, sizeof stamp);
  return ok;
}

// ------------------------------------------------------------------ half and bfloat16 reductions

/** An MPI reduction over 16-bit floats: each pair combined in float, rounded back. */
#define SMALL_FLOAT_OP(name, from, to, combine)                     \
  static void name(void *in, void *io, int *n, MPI_Datatype *t) {   \
    (void)t;                                                        \
    uint16_t *a = in, *b = io;                                      \
    for (int i = 0; i < *n; i++) {                                  \
      float x = from(a[i]), y = from(b[i]);                         \
      b[i] = to(combine);                                           \
    }                                                               \
  }
SMALL_FLOAT_OP(half_sum, half_to_float, float_to_half, x + y)
SMALL_FLOAT_OP(half_prod, half_to_float, float_to_half, x * y)
SMALL_FLOAT_OP(half_max, half_to_float, float_to_half, x > y ? x : y)
SMALL_FLOAT_OP(half_min, half_to_float, float_to_half, x < y ? x : y)
SMALL_FLOAT_OP(bf16_sum, bf16_to_float, float_to_bf16, x + y)
SMALL_FLOAT_OP(bf16_prod, bf16_to_float, float_to_bf16, x * y)
SMALL_FLOAT_OP(bf16_max, bf16_to_float, float_to_bf16, x > y ? x : y)
SMALL_FLOAT_OP(bf16_min, bf16_to_float, float_to_bf16, x < y ? x : y)

static MPI_Op small_ops[2][4];
static int small_ops_made = 0;

static void make_small_ops(void) {
  if (small_ops_made) return;
  MPI_User_function *fns[2][4] = {{half_sum, half_prod, half_max, half_min}, {bf16_sum, bf16_prod, bf16_max, bf16_min}};
  for (int k = 0; k < 2; k++)
    for (int o = 0; o < 4; o++) MPI_Op_create(fns[k][o], 1, &small_ops[k][o]);
  small_ops_made = 1;
}

// ------------------------------------------------------------------ types and reductions

static int type_of(int t, MPI_Datatype *mt, size_t *size) {
  switch (t) {
    case 0: *mt = MPI_INT8_T; *size = 1; return ok;
    case 1: *mt = MPI_UINT8_T; *size = 1; return ok;
    case 2: *mt = MPI_INT32_T; *size = 4; return ok;
    case 3: *mt = MPI_UINT32_T; *size = 4; return ok;
    case 4: *mt = MPI_INT64_T; *size = 8; return ok;
    case 5: *mt = MPI_UINT64_T; *size = 8; return ok;
    case 6: case 9: *mt = MPI_UINT16_T; *size = 2; return ok;
    case 7: *mt = MPI_FLOAT; *size = 4; return ok;
    case 8: *mt = MPI_DOUBLE; *size = 8; return ok;
    default: return invalidArgument;
  }
}

/** The MPI reduction for NCCL's op on NCCL's type (avg sums; the caller divides). */
static int op_of(int op, int t, MPI_Op *mop) {
  if (op < 0 || op > 4) return invalidArgument;
  int base = op == 4 ? 0 : op;
  if (t == 6 || t == 9) {
    make_small_ops();
    *mop = small_ops[t == 9][base];
    return ok;
  }
  *mop = base == 0 ? MPI_SUM : base == 1 ? MPI_PROD : base == 2 ? MPI_MAX : MPI_MIN;
  return ok;
}

/** ncclAvg: the sum divided by the rank count (integers round toward zero). */
static void divide(void *buf, size_t count, int t, int n) {
  for (size_t i = 0; i < count; i++) {
    switch (t) {
      case 0: ((int8_t *)buf)[i] /= n; break;
      case 1: ((uint8_t *)buf)[i] /= n; break;
      case 2: ((int32_t *)buf)[i] /= n; break;
      case 3: ((uint32_t *)buf)[i] /= n; break;
      case 4: ((int64_t *)buf)[i] /= n; break;
      case 5: ((uint64_t *)buf)[i] /= n; break;
      case 6: ((uint16_t *)buf)[i] = float_to_half(half_to_float(((uint16_t *)buf)[i]) / n); break;
      case 9: ((uint16_t *)buf)[i] = float_to_bf16(bf16_to_float(((uint16_t *)buf)[i]) / n); break;
      case 7: ((float *)buf)[i] /= n; break;
      case 8: ((double *)buf)[i] /= n; break;
    }
  }
}

static int mpi(int code) { return code == MPI_SUCCESS ? ok : systemError; }
#define PTR(p) ((void *)(uintptr_t)(p))

// ------------------------------------------------------------------ communicators

int ncclCommInitRank(struct comm **out, int nranks, ncclUniqueId id, int rank) {
  int inited = 0;
  MPI_Initialized(&inited);
  if (!inited) return invalidUsage;  // the mock rides on the MPI the process group started
  if (memcmp(id.internal, ID_MAGIC, sizeof ID_MAGIC) != 0) return invalidArgument;
  int wr, ws;
  MPI_Comm_rank(MPI_COMM_WORLD, &wr);
  MPI_Comm_size(MPI_COMM_WORLD, &ws);
  if (nranks != ws || rank != wr) return invalidArgument;
  // every rank must hold rank 0's id
  ncclUniqueId root = id;
  if (MPI_Bcast(root.internal, sizeof root.internal, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS) return systemError;
  if (memcmp(root.internal, id.internal, sizeof id.internal) != 0) return invalidArgument;
  struct comm *c = calloc(1, sizeof *c);
  if (!c) return systemError;
  if (MPI_Comm_dup(MPI_COMM_WORLD, &c->mpi) != MPI_SUCCESS) { free(c); return systemError; }
  c->rank = rank;
  c->nranks = nranks;
  *out = c;
  return ok;
}

int ncclCommDestroy(struct comm *c) {
  if (!c) return invalidArgument;
  MPI_Comm_free(&c->mpi);
  free(c);
  return ok;
}

/** After a failure a peer may be gone: nothing collective here. */
int ncclCommAbort(struct comm *c) {
  if (!c) return invalidArgument;
  free(c);
  return ok;
}

int ncclCommGetAsyncError(struct comm *c, int *error) {
  (void)c;
  *error = ok;
  return ok;
}

// ------------------------------------------------------------------ collectives

int ncclAllReduce(uint64_t send, uint64_t recv, size_t count, int type, int op, struct comm *c, void *stream) {
  (void)stream;
  MPI_Datatype mt;
  MPI_Op mop;
  size_t size;
  if (!c || count > INT32_MAX || type_of(type, &mt, &size) || op_of(op, type, &mop)) return invalidArgument;
  int r = mpi(MPI_Allreduce(send == recv ? MPI_IN_PLACE : PTR(send), PTR(recv), (int)count, mt, mop, c->mpi));
  if (r == ok && op == 4) divide(PTR(recv), count, type, c->nranks);
  return r;
}

int ncclBroadcast(uint64_t send, uint64_t recv, size_t count, int type, int root, struct comm *c, void *stream) {
  (void)stream;
  MPI_Datatype mt;
  size_t size;
  if (!c || count > INT32_MAX || type_of(type, &mt, &size) || root < 0 || root >= c->nranks) return invalidArgument;
  if (c->rank == root && send != recv) memmove(PTR(recv), PTR(send), count * size);
  return mpi(MPI_Bcast(PTR(recv), (int)count, mt, root, c->mpi));
}

int ncclAllGather(uint64_t send, uint64_t recv, size_t sendcount, int type, struct comm *c, void *stream) {
  (void)stream;
  MPI_Datatype mt;
  size_t size;
  if (!c || sendcount > INT32_MAX || type_of(type, &mt, &size)) return invalidArgument;
  int in_place = send == recv + (uint64_t)c->rank * sendcount * size;
  return mpi(MPI_Allgather(in_place ? MPI_IN_PLACE : PTR(send), (int)sendcount, mt, PTR(recv), (int)sendcount, mt, c->mpi));
}

int ncclReduceScatter(uint64_t send, uint64_t recv, size_t recvcount, int type, int op, struct comm *c, void *stream) {
  (void)stream;
  MPI_Datatype mt;
  MPI_Op mop;
  size_t size;
  if (!c || recvcount > INT32_MAX || type_of(type, &mt, &size) || op_of(op, type, &mop)) return invalidArgument;
  // in place (recvbuff inside sendbuff) is not needed by fusor: its results go to a fresh buffer
  if (recv >= send && recv < send + (uint64_t)c->nranks * recvcount * size) return invalidUsage;
  int r = mpi(MPI_Reduce_scatter_block(PTR(send), PTR(recv), (int)recvcount, mt, mop, c->mpi));
  if (r == ok && op == 4) divide(PTR(recv), recvcount, type, c->nranks);
  return r;
}

int ncclSend(uint64_t buf, size_t count, int type, int peer, struct comm *c, void *stream) {
  (void)stream;
  MPI_Datatype mt;
  size_t size;
  if (!c || count > INT32_MAX || type_of(type, &mt, &size) || peer < 0 || peer >= c->nranks) return invalidArgument;
  return mpi(MPI_Send(PTR(buf), (int)count, mt, peer, 0, c->mpi));
}

int ncclRecv(uint64_t buf, size_t count, int type, int peer, struct comm *c, void *stream) {
  (void)stream;
  MPI_Datatype mt;
  size_t size;
  if (!c || count > INT32_MAX || type_of(type, &mt, &size) || peer < 0 || peer >= c->nranks) return invalidArgument;
  return mpi(MPI_Recv(PTR(buf), (int)count, mt, peer, 0, c->mpi, MPI_STATUS_IGNORE));
}
