// A stand-in for libcublas, for testing the cuda backend's GEMM routine without a GPU. Device
// pointers are host addresses (see mock-cuda.c). It implements the functions fusor binds with
// cuBLAS's semantics — column-major C = alpha·op(A)·op(B) + beta·C with leading dimensions and
// strided batches, C not read when beta is 0 — and the real library's argument checks (status
// codes as cublas_api.h numbers them). Arithmetic is cuBLAS's with CUBLAS_COMPUTE_32F/64F: 16-bit
// inputs widened to float, products fused into a float (double) accumulator, rounded once on store.
//
// For tests: mock_cublas_calls() counts GEMM calls that succeeded, mock_cublas_handles() handles
// made, mock_cublas_last_call(out) describes the last call (see the function). MOCK_CUBLAS_CREATE
// set to a status makes cublasCreate_v2 fail with it.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef long long i64;

enum { SUCCESS = 0, NOT_INITIALIZED = 1, INVALID_VALUE = 7, NOT_SUPPORTED = 15 };
enum { OP_N = 0, OP_T = 1, OP_C = 2 };
enum { R_32F = 0, R_64F = 1, R_16F = 2, R_16BF = 14 };
enum { COMPUTE_32F = 68, COMPUTE_64F = 70 };

struct handle { void *stream; int math; };

#define MAX_HANDLES 64
static struct handle *live[MAX_HANDLES];
static int created;
static i64 calls;
static i64 last[18];

static int valid(struct handle *h) {
  if (!h) return 0;
  for (int i = 0; i < MAX_HANDLES; i++) if (live[i] == h) return 1;
  return 0;
}

int cublasCreate_v2(struct handle **out) {
  const char *fail = getenv("MOCK_CUBLAS_CREATE");
  if (fail && *fail) return atoi(fail);
  if (!out) return INVALID_VALUE;
  for (int i = 0; i < MAX_HANDLES; i++) {
    if (!live[i]) {
      live[i] = calloc(1, sizeof(struct handle));
      *out = live[i];
      created++;
      return SUCCESS;
    }
  }
  return 3;  // CUBLAS_STATUS_ALLOC_FAILED
}

int cublasDestroy_v2(struct handle *h) {
  for (int i = 0; i < MAX_HANDLES; i++) {
    if (h && live[i] == h) { free(h); live[i] = NULL; return SUCCESS; }
  }
  return NOT_INITIALIZED;
}

int cublasGetVersion_v2(struct handle *h, int *version) {
  if (!valid(h)) return NOT_INITIALIZED;
  if (!version) return INVALID_VALUE;
  *version = 120804;  // major·10000 + minor·100 + patch
  return SUCCESS;
}

int cublasSetStream_v2(struct handle *h, void *stream) {
  if (!valid(h)) return NOT_INITIALIZED;
  h->stream = stream;
  return SUCCESS;
}

int cublasSetMathMode(struct handle *h, int mode) {
  if (!valid(h)) return NOT_INITIALIZED;
  int base = mode & ~16;  // CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION may be or-ed in
  if (base < 0 || base > 3) return INVALID_VALUE;
  h->math = mode;
  return SUCCESS;
}

#include "halves.h"

static double load(int type, const void *p, i64 i) {
  switch (type) {
    case R_32F: return ((const float *)p)[i];
    case R_64F: return ((const double *)p)[i];
    case R_16F: return half_to_float(((const uint16_t *)p)[i]);
    default: return bf16_to_float(((const uint16_t *)p)[i]);
  }
}

static void store(int type, void *p, i64 i, double v) {
  switch (type) {
    case R_32F: ((float *)p)[i] = (float)v; break;
    case R_64F: ((double *)p)[i] = v; break;
    case R_16F: ((uint16_t *)p)[i] = float_to_half((float)v); break;
    default: ((uint16_t *)p)[i] = float_to_bf16((float)v);
  }
}

// ------------------------------------------------------------------ GEMM

static int max1(int x) { return x > 1 ? x : 1; }
static int op_ok(int op) { return op == OP_N || op == OP_T || op == OP_C; }

static int gemm(int entry, struct handle *h, int ta, int tb, int m, int n, int k, const void *alpha, const void *A, int at, int lda, i64 sa,
                const void *B, int bt, int ldb, i64 sb, const void *beta, void *C, int ct, int ldc, i64 sc, int batch, int compute, int algo) {
  if (!valid(h)) return NOT_INITIALIZED;
  if (m < 0 || n < 0 || k < 0 || batch < 0 || !op_ok(ta) || !op_ok(tb)) return INVALID_VALUE;
  if (lda < max1(ta == OP_N ? m : k) || ldb < max1(tb == OP_N ? k : n) || ldc < max1(m)) return INVALID_VALUE;
  if (!alpha || !beta) return INVALID_VALUE;
  if (!(algo == -1 || (algo >= 0 && algo <= 23) || (algo >= 99 && algo <= 115))) return INVALID_VALUE;
  int f32 = compute == COMPUTE_32F && (at == R_32F || at == R_16F || at == R_16BF);
  int f64 = compute == COMPUTE_64F && at == R_64F;
  if (at != bt || at != ct || !(f32 || f64)) return NOT_SUPPORTED;
  i64 record[18] = {ta, tb, m, n, k, lda, ldb, ldc, sa, sb, sc, batch, at, compute, h->math, h->stream == NULL, entry, 0};
  memcpy(last, record, sizeof last);
  calls++;
  double al = f64 ? *(const double *)alpha : *(const float *)alpha;
  double be = f64 ? *(const double *)beta : *(const float *)beta;
  for (int p = 0; p < batch; p++) {
    for (int j = 0; j < n; j++) {
      for (int i = 0; i < m; i++) {
        double v;
        if (f64) {
          double acc = 0;
          for (int l = 0; l < k; l++) {
            double x = load(at, A, p * sa + (ta == OP_N ? i + (i64)l * lda : l + (i64)i * lda));
            double y = load(bt, B, p * sb + (tb == OP_N ? l + (i64)j * ldb : j + (i64)l * ldb));
            acc = fma(x, y, acc);
          }
          v = al * acc;
        } else {
          float acc = 0;
          for (int l = 0; l < k; l++) {
            float x = (float)load(at, A, p * sa + (ta == OP_N ? i + (i64)l * lda : l + (i64)i * lda));
            float y = (float)load(bt, B, p * sb + (tb == OP_N ? l + (i64)j * ldb : j + (i64)l * ldb));
            acc = fmaf(x, y, acc);
          }
          v = (float)al * acc;
        }
        i64 at_c = p * sc + i + (i64)j * ldc;
        // beta = 0: C is written, never read (it may hold NaN)
        if (be != 0) v = f64 ? v + be * load(ct, C, at_c) : (float)v + (float)be * (float)load(ct, C, at_c);
        store(ct, C, at_c, v);
      }
    }
  }
  return SUCCESS;
}

int cublasSgemm_v2(struct handle *h, int ta, int tb, int m, int n, int k, const float *alpha, const float *A, int lda, const float *B, int ldb,
                   const float *beta, float *C, int ldc) {
  return gemm(0, h, ta, tb, m, n, k, alpha, A, R_32F, lda, 0, B, R_32F, ldb, 0, beta, C, R_32F, ldc, 0, 1, COMPUTE_32F, -1);
}

int cublasDgemm_v2(struct handle *h, int ta, int tb, int m, int n, int k, const double *alpha, const double *A, int lda, const double *B, int ldb,
                   const double *beta, double *C, int ldc) {
  return gemm(1, h, ta, tb, m, n, k, alpha, A, R_64F, lda, 0, B, R_64F, ldb, 0, beta, C, R_64F, ldc, 0, 1, COMPUTE_64F, -1);
}

int cublasSgemmStridedBatched(struct handle *h, int ta, int tb, int m, int n, int k, const float *alpha, const float *A, int lda, i64 sa,
                              const float *B, int ldb, i64 sb, const float *beta, float *C, int ldc, i64 sc, int batch) {
  return gemm(2, h, ta, tb, m, n, k, alpha, A, R_32F, lda, sa, B, R_32F, ldb, sb, beta, C, R_32F, ldc, sc, batch, COMPUTE_32F, -1);
}

int cublasDgemmStridedBatched(struct handle *h, int ta, int tb, int m, int n, int k, const double *alpha, const double *A, int lda, i64 sa,
                              const double *B, int ldb, i64 sb, const double *beta, double *C, int ldc, i64 sc, int batch) {
  return gemm(3, h, ta, tb, m, n, k, alpha, A, R_64F, lda, sa, B, R_64F, ldb, sb, beta, C, R_64F, ldc, sc, batch, COMPUTE_64F, -1);
}

int cublasGemmEx(struct handle *h, int ta, int tb, int m, int n, int k, const void *alpha, const void *A, int at, int lda, const void *B, int bt,
                 int ldb, const void *beta, void *C, int ct, int ldc, int compute, int algo) {
  return gemm(4, h, ta, tb, m, n, k, alpha, A, at, lda, 0, B, bt, ldb, 0, beta, C, ct, ldc, 0, 1, compute, algo);
}

int cublasGemmStridedBatchedEx(struct handle *h, int ta, int tb, int m, int n, int k, const void *alpha, const void *A, int at, int lda, i64 sa,
                               const void *B, int bt, int ldb, i64 sb, const void *beta, void *C, int ct, int ldc, i64 sc, int batch, int compute,
                               int algo) {
  return gemm(5, h, ta, tb, m, n, k, alpha, A, at, lda, sa, B, bt, ldb, sb, beta, C, ct, ldc, sc, batch, compute, algo);
}

// ------------------------------------------------------------------ for tests

i64 mock_cublas_calls(void) { return calls; }
int mock_cublas_handles(void) { return created; }

/**
 * The last successful GEMM: transa, transb, m, n, k, lda, ldb, ldc, strideA, strideB, strideC,
 * batchCount, Atype, computeType, the handle's math mode, whether its stream is the default (1),
 * and the entry point (0 Sgemm, 1 Dgemm, 2 SgemmStridedBatched, 3 DgemmStridedBatched, 4 GemmEx,
 * 5 GemmStridedBatchedEx).
 */
void mock_cublas_last_call(i64 *out) { memcpy(out, last, 17 * sizeof(i64)); }
