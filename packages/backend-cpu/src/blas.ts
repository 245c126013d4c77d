/**
 * The cpu backend's optional GEMM routine: in Node, large float32/float64 matrix products go to a
 * native BLAS (`cblas_sgemm` / `cblas_dgemm` from OpenBLAS, Accelerate, MKL…) through koffi, when
 * both are installed. Never required: where either is missing, or in a browser, `supports()` says
 * no and the compiler runs its generated kernels, which stay the portable path.
 *
 * Operands are read through each buffer's `data` typed array (a view of plain or shared memory:
 * koffi passes views of a SharedArrayBuffer / shared WebAssembly.Memory without copying).
 */
import { forEachBatch, type BackendBuffer, type GemmRoutine, type GemmShape, type Routines } from '@fusor/compiler';
import { invalidatePlans } from '@fusor/runtime';
import { epilogueOf } from './gemm-epilogue.js';

type Floats = Float32Array | Float64Array;
interface FloatBuffer extends BackendBuffer {
  readonly data: ArrayBufferView;
}

/** A cblas ?gemm: (order, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc). */
type CGemm = (...args: unknown[]) => void;

interface Native {
  readonly library: string;
  readonly sgemm: CGemm;
  readonly dgemm: CGemm;
  /** OpenBLAS's thread count setter and its count at load, where the library is OpenBLAS. */
  readonly setThreads?: (n: number) => void;
  readonly threads?: number;
}

/**
 * Products smaller than this (m·n·k of one call) run on one library thread. OpenBLAS splits
 * calls from about 2¹⁸ multiply-adds; on small ones (a convolution's per-sample products, 64
 * calls a step) its helper threads cost more in wake-ups than they save, and they then spin
 * (sched_yield) for a while after each call, competing for the cores with the cpu backend's own
 * worker threads, which run the kernels between the products.
 */
const SERIAL_BELOW = 1 << 22;
let threadsNow: number | undefined;

function threadsFor(lib: Native, work: number): void {
  if (!lib.setThreads || lib.threads === undefined) return;
  const want = work < SERIAL_BELOW ? 1 : lib.threads;
  if (want !== threadsNow) lib.setThreads(want);
  threadsNow = want;
}

export interface BlasOptions {
  /** Route products to the native library at all (default true). */
  readonly enabled?: boolean;
  /** Smallest product (m·n·k, times the batch) worth a library call (default 64³). */
  readonly minMultiplyAdds?: number;
  /** A library file to load instead of searching the usual names. */
  readonly library?: string;
}

export interface BlasInfo {
  readonly available: boolean;
  /** The library file loaded. */
  readonly library?: string;
  /** Why no library is in use. */
  readonly reason?: string;
}

/** Library names tried in order: the system loader resolves each. */
const CANDIDATES = [
  'libopenblas.so.0',
  'libopenblas.so',
  'libblas.so.3',
  'libmkl_rt.so',
  '/System/Library/Frameworks/Accelerate.framework/Accelerate',
  'libopenblas.dylib',
];

/** Names a library that holds cblas_sgemm when the usual names do not find one (locates a file, nothing else). */
const ENV_LIBRARY = 'FUSOR_BLAS_LIBRARY';

const ROW_MAJOR = 101;
const NO_TRANS = 111;
const TRANS = 112;

let options: Required<Omit<BlasOptions, 'library'>> & { library: string | undefined } = {
  enabled: true,
  minMultiplyAdds: 64 ** 3,
  library: undefined,
};
let native: Native | null | undefined;
let failure = '';

/** Changes how products are routed; a new `library` is loaded on next use. */
export function configureBlas(opts: BlasOptions): void {
  invalidatePlans();
  if ('library' in opts && opts.library !== options.library) native = undefined;
  options = { ...options, ...opts };
}

/** Whether a native library is in use, which one, or why not (loads it if it was not yet). */
export function blasInfo(): BlasInfo {
  const n = load();
  return n ? { available: true, library: n.library } : { available: false, reason: failure };
}

/** Node's require, or undefined where there is none (browsers). */
function nodeRequire(): ((id: string) => unknown) | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const mod = proc?.getBuiltinModule?.('node:module') as { createRequire(url: string): (id: string) => unknown } | undefined;
  return mod?.createRequire(import.meta.url);
}

function load(): Native | null {
  if (native !== undefined) return native;
  native = null;
  const require = nodeRequire();
  if (!require) {
    failure = 'no native libraries outside Node';
    return null;
  }
  let koffi: { load(path: string): { func(proto: string): CGemm } };
  try {
    koffi = require('koffi') as typeof koffi;
  } catch (e) {
    failure = `koffi is not installed (${(e as Error).message.split('\n')[0]})`;
    return null;
  }
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[ENV_LIBRARY];
  const files = options.library ? [options.library] : env ? [env] : CANDIDATES;
  const tried: string[] = [];
  for (const file of files) {
    try {
      const lib = koffi.load(file);
      const proto = (t: string, f: string): string =>
        `void cblas_${f}gemm(int order, int transA, int transB, int m, int n, int k, ${t} alpha, const ${t} *a, int lda, const ${t} *b, int ldb, ${t} beta, ${t} *c, int ldc)`;
      native = { library: file, sgemm: lib.func(proto('float', 's')), dgemm: lib.func(proto('double', 'd')), ...openblasThreads(lib) };
      threadsNow = native.threads;
      return native;
    } catch (e) {
      tried.push(`${file}: ${(e as Error).message.replace(/^Failed to load shared library: /, '')}`);
    }
  }
  failure = `no BLAS with cblas_sgemm found (${tried.join('; ')})`;
  return null;
}

/** OpenBLAS's thread count controls, or nothing for another library. */
function openblasThreads(lib: { func(proto: string): CGemm }): Pick<Native, 'setThreads' | 'threads'> {
  try {
    const set = lib.func('void openblas_set_num_threads(int n)');
    const get = lib.func('int openblas_get_num_threads()') as unknown as () => number;
    return { setThreads: (n) => set(n), threads: get() };
  } catch {
    return {};
  }
}

/** How a cblas row-major call reads one matrix: as stored (row-major, ld) or transposed (ld), or not at all. */
function asRowMajor(rows: number, cols: number, rowStride: number, colStride: number): { trans: boolean; ld: number } | undefined {
  if ((cols === 1 || colStride === 1) && (rows === 1 || rowStride >= cols)) return { trans: false, ld: rows === 1 ? Math.max(cols, 1) : rowStride };
  if ((rows === 1 || rowStride === 1) && (cols === 1 || colStride >= rows)) return { trans: true, ld: cols === 1 ? Math.max(rows, 1) : colStride };
  return undefined;
}

interface Plan {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly a: { trans: boolean; ld: number };
  readonly b: { trans: boolean; ld: number };
  readonly ldc: number;
  /** c is column-major: compute cᵀ = bᵀ·aᵀ, so a and b trade places. */
  readonly swap: boolean;
}

function plan(g: GemmShape): Plan | undefined {
  const nonNegative = [g.a, g.b, g.c].every((l) => l.offset >= 0 && l.rowStride >= 0 && l.colStride >= 0);
  if (!nonNegative || g.batch.some((d) => d.a < 0 || d.b < 0 || d.c < 0)) return undefined;
  const c = asRowMajor(g.m, g.n, g.c.rowStride, g.c.colStride);
  if (c && !c.trans) {
    const a = asRowMajor(g.m, g.k, g.a.rowStride, g.a.colStride);
    const b = asRowMajor(g.k, g.n, g.b.rowStride, g.b.colStride);
    return a && b ? { m: g.m, n: g.n, k: g.k, a, b, ldc: c.ld, swap: false } : undefined;
  }
  if (!c) return undefined;
  const a = asRowMajor(g.n, g.k, g.b.colStride, g.b.rowStride);
  const b = asRowMajor(g.k, g.m, g.a.colStride, g.a.rowStride);
  return a && b ? { m: g.n, n: g.m, k: g.k, a, b, ldc: c.ld, swap: true } : undefined;
}

const INT32_MAX = 2 ** 31 - 1;

export const blasGemm: GemmRoutine<FloatBuffer> = {
  supports(g) {
    if (!options.enabled || (g.dtype !== 'float32' && g.dtype !== 'float64')) return false;
    // matrix-vector and dot products are bound by memory: generated code reads it as fast, and fuses
    if (g.m < 2 || g.n < 2) return false;
    const work = g.m * g.n * g.k * g.batch.reduce((p, d) => p * d.size, 1);
    if (work < options.minMultiplyAdds || Math.max(g.m, g.n, g.k) > INT32_MAX) return false;
    return plan(g) !== undefined && load() !== null;
  },
  run(g, a, b, c, extra) {
    const lib = load()!;
    // an epilogue is applied to each product's block of C as soon as the library wrote it
    const epilogue = epilogueOf(g, c, extra);
    const p = plan(g)!;
    const call = g.dtype === 'float32' ? lib.sgemm : lib.dgemm;
    const [x, y] = p.swap ? [b.data as Floats, a.data as Floats] : [a.data as Floats, b.data as Floats];
    const out = c.data as Floats;
    threadsFor(lib, p.m * p.n * p.k);
    // one library call per index of the batch loops
    forEachBatch(g.batch, { a: g.a.offset, b: g.b.offset, c: g.c.offset }, (oa, ob, oc) => {
      const [ox, oy] = p.swap ? [ob, oa] : [oa, ob];
      call(
        ROW_MAJOR,
        p.a.trans ? TRANS : NO_TRANS,
        p.b.trans ? TRANS : NO_TRANS,
        p.m,
        p.n,
        p.k,
        1,
        x.subarray(ox),
        p.a.ld,
        y.subarray(oy),
        p.b.ld,
        0,
        out.subarray(oc),
        p.ldc,
      );
      epilogue?.(oc);
    });
  },
};

/** The routines this file gives the cpu backend. */
export const blasRoutines: Routines<FloatBuffer> = { gemm: blasGemm };
