/**
 * The cuda backend's optional GEMM routine: large float32, float64, float16 and bfloat16 matrix
 * products go to cuBLAS (`libcublas.so.*`, loaded through koffi beside its dependency
 * `libcublasLt`), the calls PyTorch makes for the same dtypes. Never required: where cuBLAS is
 * missing or turned off, `supports()` says no and the compiler runs its generated kernels.
 *
 * Numerics are PyTorch's with TF32 off: the default math mode, float32 products accumulated in
 * float32 (in cuBLAS's own order), float16/bfloat16 ones in float32 (CUBLAS_COMPUTE_32F) and
 * rounded once. Calls go to the legacy default stream, as every launch and copy of the runtime
 * does, so they keep program order.
 */
import { basename, dirname, isAbsolute, join } from 'node:path';
import { readdirSync } from 'node:fs';
import { DTYPES, type DType } from '@fusor/ir';
import { forEachBatch, type GemmRoutine, type GemmShape } from '@fusor/compiler';
import { CudaError } from './driver.js';
import { bindAll, loadFirst, loadKoffi, type CFunction, type LibraryHandle } from './ffi.js';
import { ENV, locateCublas } from './locate.js';
import type { CudaRuntime, DeviceBuffer } from './runtime.js';

/**
 * The cuBLAS functions fusor calls. Matrices are device pointers, integers here as in the driver
 * API (a pointer and a uint64_t pass alike on the 64-bit ABIs); alpha and beta are host pointers.
 */
const CUBLAS_API = {
  cublasCreate_v2: 'int cublasCreate_v2(_Out_ void **handle)',
  cublasDestroy_v2: 'int cublasDestroy_v2(void *handle)',
  cublasGetVersion_v2: 'int cublasGetVersion_v2(void *handle, _Out_ int *version)',
  cublasSetStream_v2: 'int cublasSetStream_v2(void *handle, void *stream)',
  cublasSetMathMode: 'int cublasSetMathMode(void *handle, int mode)',
  cublasSgemm_v2:
    'int cublasSgemm_v2(void *handle, int transa, int transb, int m, int n, int k, const void *alpha, uint64_t A, int lda, uint64_t B, int ldb, const void *beta, uint64_t C, int ldc)',
  cublasDgemm_v2:
    'int cublasDgemm_v2(void *handle, int transa, int transb, int m, int n, int k, const void *alpha, uint64_t A, int lda, uint64_t B, int ldb, const void *beta, uint64_t C, int ldc)',
  cublasSgemmStridedBatched:
    'int cublasSgemmStridedBatched(void *handle, int transa, int transb, int m, int n, int k, const void *alpha, uint64_t A, int lda, int64_t strideA, uint64_t B, int ldb, int64_t strideB, const void *beta, uint64_t C, int ldc, int64_t strideC, int batchCount)',
  cublasDgemmStridedBatched:
    'int cublasDgemmStridedBatched(void *handle, int transa, int transb, int m, int n, int k, const void *alpha, uint64_t A, int lda, int64_t strideA, uint64_t B, int ldb, int64_t strideB, const void *beta, uint64_t C, int ldc, int64_t strideC, int batchCount)',
  cublasGemmEx:
    'int cublasGemmEx(void *handle, int transa, int transb, int m, int n, int k, const void *alpha, uint64_t A, int Atype, int lda, uint64_t B, int Btype, int ldb, const void *beta, uint64_t C, int Ctype, int ldc, int computeType, int algo)',
  cublasGemmStridedBatchedEx:
    'int cublasGemmStridedBatchedEx(void *handle, int transa, int transb, int m, int n, int k, const void *alpha, uint64_t A, int Atype, int lda, int64_t strideA, uint64_t B, int Btype, int ldb, int64_t strideB, const void *beta, uint64_t C, int Ctype, int ldc, int64_t strideC, int batchCount, int computeType, int algo)',
} as const;

type CublasFn = keyof typeof CUBLAS_API;

/** cublasStatus_t (cublas_api.h). */
const STATUS: Readonly<Record<number, string>> = {
  1: 'CUBLAS_STATUS_NOT_INITIALIZED',
  3: 'CUBLAS_STATUS_ALLOC_FAILED',
  7: 'CUBLAS_STATUS_INVALID_VALUE',
  8: 'CUBLAS_STATUS_ARCH_MISMATCH',
  11: 'CUBLAS_STATUS_MAPPING_ERROR',
  13: 'CUBLAS_STATUS_EXECUTION_FAILED',
  14: 'CUBLAS_STATUS_INTERNAL_ERROR',
  15: 'CUBLAS_STATUS_NOT_SUPPORTED',
  16: 'CUBLAS_STATUS_LICENSE_ERROR',
};
const statusName = (code: number): string => STATUS[code] ?? `cublasStatus_t ${code}`;

// cublasOperation_t, cublasMath_t, cudaDataType_t (library_types.h), cublasComputeType_t, cublasGemmAlgo_t
const OP_N = 0;
const OP_T = 1;
const DEFAULT_MATH = 0;
const CUDA_R_16F = 2;
const CUDA_R_16BF = 14;
const COMPUTE_32F = 68;
const GEMM_DEFAULT = -1;

const scalars = (array: Float32Array | Float64Array): Buffer => Buffer.from(array.buffer);
const F32 = { one: scalars(new Float32Array([1])), zero: scalars(new Float32Array([0])) };
const F64 = { one: scalars(new Float64Array([1])), zero: scalars(new Float64Array([0])) };

/**
 * How each dtype is multiplied: float32 and float64 by the typed routines, the 16-bit floats by
 * the Ex routines with float32 compute (as PyTorch calls them); alpha and beta in the compute type.
 */
const KINDS: Partial<Record<DType, { gemm: CublasFn; batched: CublasFn; ex?: { type: number; compute: number }; scalars: typeof F32 }>> = {
  float32: { gemm: 'cublasSgemm_v2', batched: 'cublasSgemmStridedBatched', scalars: F32 },
  float64: { gemm: 'cublasDgemm_v2', batched: 'cublasDgemmStridedBatched', scalars: F64 },
  float16: { gemm: 'cublasGemmEx', batched: 'cublasGemmStridedBatchedEx', ex: { type: CUDA_R_16F, compute: COMPUTE_32F }, scalars: F32 },
  bfloat16: { gemm: 'cublasGemmEx', batched: 'cublasGemmStridedBatchedEx', ex: { type: CUDA_R_16BF, compute: COMPUTE_32F }, scalars: F32 },
};

/** A failed cuBLAS call, named as cuBLAS names its status. */
export class CublasError extends CudaError {
  override name = 'CublasError';
}

export interface CublasOptions {
  /** Smallest product (m·n·k, times the batch) worth a cuBLAS call; smaller ones run generated code (default 64³). */
  readonly minMultiplyAdds?: number;
  /**
   * Smallest m and n (default 16): thinner products — dot products, matrix·vector — stay in the
   * generated reductions, which combine partial sums across a block in double (for float32) as
   * PyTorch's reductions combine them in a tree, instead of one float32 chain per output.
   */
  readonly minDim?: number;
}

export const DEFAULT_MIN_DIM = 16;

export interface CublasInfo {
  readonly available: boolean;
  /** The library file loaded. */
  readonly library?: string;
  /** cuBLAS's version, major.minor.patch. */
  readonly version?: string;
  /** Why cuBLAS is not in use. */
  readonly reason?: string;
}

/** Products below 64³ multiply-adds stay generated: a library call costs more than it saves there. */
export const DEFAULT_MIN_MULTIPLY_ADDS = 64 ** 3;

/**
 * libcublas needs libcublasLt of the same release, which a wheel puts beside it, not on the
 * loader's path; loaded first, it is found by its soname. Only the copy of the same version
 * (libcublas.so.13 → libcublasLt.so.13): each is hundreds of MiB.
 */
function preloadLt(path: string): void {
  if (!isAbsolute(path)) return;
  const dir = dirname(path);
  const name = basename(path);
  const version = (n: string): string => n.slice(n.indexOf('.so'));
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^libcublasLt(-[0-9a-f]{8})?\.so/.test(n) && version(n) === version(name));
  } catch {
    return;
  }
  const own = name.replace(/^libcublas/, 'libcublasLt');
  for (const n of [...names.filter((x) => x === own), ...names.filter((x) => x !== own)]) {
    try {
      loadKoffi().load(join(dir, n));
      return;
    } catch {
      // unusable: libcublas finds its own or fails to load, which is reported
    }
  }
}

/** cuBLAS on the devices of one runtime: the library, and a handle per device made on first use. */
export class Cublas {
  private readonly handles: unknown[] = [];
  /** major.minor.patch */
  readonly version: string;

  /** Makes device 0's handle, which proves the library works with this driver. */
  private constructor(
    readonly path: string,
    private readonly fn: Record<CublasFn, CFunction>,
    private readonly runtime: CudaRuntime,
  ) {
    const v = [0];
    this.check('cublasGetVersion_v2', this.handle(0), v);
    this.version = `${Math.floor(v[0]! / 10000)}.${Math.floor(v[0]! / 100) % 100}.${v[0]! % 100}`;
  }

  /** Loads cuBLAS; a string says why it could not, and where it looked. */
  static open(runtime: CudaRuntime, env: NodeJS.ProcessEnv = process.env): Cublas | string {
    const { files, searched } = locateCublas(env);
    const failures: string[] = [];
    let opened: { lib: LibraryHandle; path: string } | undefined;
    for (const f of files) {
      preloadLt(f);
      const o = loadFirst([f]);
      if (!('failure' in o)) {
        opened = o;
        break;
      }
      failures.push(o.failure);
    }
    if (!opened) {
      return `cuBLAS (libcublas.so) could not be loaded. Looked in: ${searched.join(', ')} (${failures.join('; ') || 'no library file there'}). Install the CUDA toolkit or \`pip install nvidia-cublas-cu12\`, or set ${ENV.cublas} to the library file or its directory`;
    }
    let fn: Record<CublasFn, CFunction>;
    try {
      fn = bindAll(opened.lib, CUBLAS_API);
    } catch (e) {
      return `${opened.path} is not a usable cuBLAS library (${(e as Error).message})`;
    }
    try {
      return new Cublas(opened.path, fn, runtime);
    } catch (e) {
      return `${opened.path} loaded, but ${(e as Error).message}`;
    }
  }

  private check(name: CublasFn, ...args: unknown[]): void {
    const code = this.fn[name](...args) as number;
    if (code !== 0) throw new CublasError(`${name} failed: ${statusName(code)}`, code);
  }

  /** The device's handle, made with its primary context current: the default stream, the default math mode (no TF32). */
  private handle(device: number): unknown {
    let h = this.handles[device];
    if (h !== undefined) return h;
    this.runtime.use(device);
    const out: [unknown] = [null];
    this.check('cublasCreate_v2', out);
    h = out[0];
    try {
      this.check('cublasSetStream_v2', h, null);
      this.check('cublasSetMathMode', h, DEFAULT_MATH);
    } catch (e) {
      this.fn.cublasDestroy_v2(h);
      throw e;
    }
    this.handles[device] = h;
    return h;
  }

  /** c = a·b as `plan` says, on c's device. */
  gemm(shape: GemmShape, a: DeviceBuffer, b: DeviceBuffer, c: DeviceBuffer): void {
    const p = plan(shape);
    const kind = KINDS[shape.dtype];
    if (!p || !kind) throw new Error(`internal: cuBLAS was given a product it does not support (${shape.dtype} ${shape.m}×${shape.k}·${shape.k}×${shape.n})`);
    for (const [buf, layout, rows, cols, role] of [
      [a, shape.a, shape.m, shape.k, 'a'],
      [b, shape.b, shape.k, shape.n, 'b'],
      [c, shape.c, shape.m, shape.n, 'c'],
    ] as const) {
      const last = layout.offset + (rows - 1) * layout.rowStride + (cols - 1) * layout.colStride + shape.batch.reduce((s, d) => s + (d.size - 1) * d[role], 0);
      if (buf.device !== c.device || last >= buf.size) throw new Error(`internal: GEMM operand ${role} reaches element ${last} of a buffer of ${buf.size} on cuda:${buf.device}`);
    }
    const handle = this.handle(c.device);
    this.runtime.use(c.device);
    const item = DTYPES[shape.dtype].itemsize;
    const [x, y] = p.swap ? [b, a] : [a, b];
    const [xr, yr] = p.swap ? (['b', 'a'] as const) : (['a', 'b'] as const);
    const ptr = (buf: DeviceBuffer, offset: number): bigint => buf.ptr + BigInt(offset * item);
    const op = (t: boolean): number => (t ? OP_T : OP_N);
    const { one, zero } = kind.scalars;
    const ex = kind.ex;
    const inner = p.inner === undefined ? undefined : shape.batch[p.inner]!;
    const call = (ox: number, oy: number, oc: number): void => {
      const A = ptr(x, ox);
      const B = ptr(y, oy);
      const C = ptr(c, oc);
      const head = [handle, op(p.x.trans), op(p.y.trans), p.m, p.n, p.k, one];
      if (!inner) {
        if (ex) this.check(kind.gemm, ...head, A, ex.type, p.x.ld, B, ex.type, p.y.ld, zero, C, ex.type, p.ldc, ex.compute, GEMM_DEFAULT);
        else this.check(kind.gemm, ...head, A, p.x.ld, B, p.y.ld, zero, C, p.ldc);
      } else if (ex) {
        this.check(kind.batched, ...head, A, ex.type, p.x.ld, inner[xr], B, ex.type, p.y.ld, inner[yr], zero, C, ex.type, p.ldc, inner.c, inner.size, ex.compute, GEMM_DEFAULT);
      } else {
        this.check(kind.batched, ...head, A, p.x.ld, inner[xr], B, p.y.ld, inner[yr], zero, C, p.ldc, inner.c, inner.size);
      }
    };
    // one call per index of the batch loops the strided call does not cover
    const outer = shape.batch.filter((_, i) => i !== p.inner);
    forEachBatch(outer, { a: shape.a.offset, b: shape.b.offset, c: shape.c.offset }, (oa, ob, oc) => (p.swap ? call(ob, oa, oc) : call(oa, ob, oc)));
    // CUDA_LAUNCH_BLOCKING=1: wait here, so a fault is reported at the call that caused it
    if (this.runtime.blocking) this.runtime.waitFor(c.device, `cuBLAS ${kind.gemm} (${shape.dtype} ${shape.m}×${shape.k}·${shape.k}×${shape.n})`);
  }
}

/** How cuBLAS reads a column-major operand: op(X) = X or Xᵀ, with X's leading dimension. */
interface Operand {
  readonly trans: boolean;
  readonly ld: number;
}

/**
 * The rows×cols matrix whose element (r, c) lies r·rowStride + c·colStride past its start, as
 * op(X) of a column-major X: as stored when its columns are contiguous, transposed when its rows
 * are; a dim of size 1 may have any stride. Undefined when neither (no unit stride, or rows
 * that overlap).
 */
function columnMajor(rows: number, cols: number, rowStride: number, colStride: number): Operand | undefined {
  if (rows === 1 || rowStride === 1) {
    const ld = cols === 1 ? Math.max(rows, 1) : colStride;
    if (ld >= Math.max(rows, 1)) return { trans: false, ld };
  }
  if (cols === 1 || colStride === 1) {
    const ld = rows === 1 ? Math.max(cols, 1) : rowStride;
    if (ld >= Math.max(cols, 1)) return { trans: true, ld };
  }
  return undefined;
}

/** One cuBLAS call pattern: C(m×n) = op(X)·op(Y), column-major. */
interface Plan {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly x: Operand;
  readonly y: Operand;
  readonly ldc: number;
  /**
   * cuBLAS writes C column-major: c itself when c's columns are contiguous (X = a, Y = b), else
   * cᵀ = bᵀ·aᵀ, the row-major c read column-major (X = b, Y = a).
   */
  readonly swap: boolean;
  /** The batch loop one strided-batched call covers (the longest); the others are looped over. */
  readonly inner: number | undefined;
}

const INT32_MAX = 2 ** 31 - 1;

function plan(g: GemmShape): Plan | undefined {
  const layouts = [g.a, g.b, g.c];
  if (layouts.some((l) => l.offset < 0 || l.rowStride < 0 || l.colStride < 0)) return undefined;
  if (g.batch.some((d) => d.a < 0 || d.b < 0 || d.c < 0 || d.size > INT32_MAX)) return undefined;
  const inner = g.batch.reduce<number | undefined>((best, d, i) => (d.size > 1 && (best === undefined || d.size > g.batch[best]!.size) ? i : best), undefined);
  const c = columnMajor(g.m, g.n, g.c.rowStride, g.c.colStride);
  let p: Omit<Plan, 'inner'> | undefined;
  if (c && !c.trans) {
    const x = columnMajor(g.m, g.k, g.a.rowStride, g.a.colStride);
    const y = columnMajor(g.k, g.n, g.b.rowStride, g.b.colStride);
    p = x && y && { m: g.m, n: g.n, k: g.k, x, y, ldc: c.ld, swap: false };
  } else {
    const ct = columnMajor(g.n, g.m, g.c.colStride, g.c.rowStride);
    const x = columnMajor(g.n, g.k, g.b.colStride, g.b.rowStride);
    const y = columnMajor(g.k, g.m, g.a.colStride, g.a.rowStride);
    p = ct && !ct.trans && x && y ? { m: g.n, n: g.m, k: g.k, x, y, ldc: ct.ld, swap: true } : undefined;
  }
  if (!p || Math.max(p.m, p.n, p.k, p.x.ld, p.y.ld, p.ldc) > INT32_MAX) return undefined;
  return { ...p, inner };
}

/**
 * Whether cuBLAS computes this product as it lies, size aside: a float dtype it multiplies, a
 * non-empty product (k = 0 is a fill with zeros: generated code), operands and result it reads
 * and writes in place.
 */
export function cublasCanTake(g: GemmShape): boolean {
  if (!KINDS[g.dtype] || g.m === 0 || g.n === 0 || g.k === 0 || g.batch.some((d) => d.size === 0)) return false;
  return plan(g) !== undefined;
}

/**
 * The GEMM routine over whatever `source` gives: a loaded cuBLAS, or why there is none (then
 * every product runs generated code).
 */
export function cublasGemm(source: () => Cublas | string, limits: () => Required<CublasOptions>): GemmRoutine<DeviceBuffer> {
  return {
    supports(g) {
      const { minMultiplyAdds, minDim } = limits();
      const work = g.m * g.n * g.k * g.batch.reduce((p, d) => p * d.size, 1);
      return work >= minMultiplyAdds && g.m >= minDim && g.n >= minDim && cublasCanTake(g) && typeof source() !== 'string';
    },
    run(g, a, b, c) {
      const cublas = source();
      if (typeof cublas === 'string') throw new Error(`internal: a product was routed to cuBLAS, which is unavailable: ${cublas}`);
      cublas.gemm(g, a, b, c);
    },
  };
}
