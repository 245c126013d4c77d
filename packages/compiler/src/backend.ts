/**
 * The contract a backend implements, and the registry the compiler dispatches through.
 * A backend turns kernel IR into something runnable and moves bytes; the compiler does the rest.
 */
import type { DType, HostArray } from '@fusor/ir';
import type { Kernel } from './kernel-ir.js';
import type { PlanNumbers } from './reduce-plan.js';

export interface Capabilities {
  /** Dtypes the backend can hold and compute with. */
  readonly dtypes: readonly DType[];
  /** Most buffers one kernel may bind (the scheduler splits kernels to fit). */
  readonly maxBuffers: number;
  /** Whether `readSync` exists. */
  readonly syncRead: boolean;
  /** Native float16 arithmetic. */
  readonly fp16: boolean;
  /**
   * Whether a kernel may walk whole rows in one thread: a row's reductions, then its outputs
   * (softmax in one read of its input). Fast where a thread's loop over a row stays in its
   * cache (cpu); a GPU spreads a row over a workgroup instead, so it leaves this off.
   */
  readonly rowKernels?: boolean;
  /**
   * Most ops one kernel computes on any path from its output to its inputs, where the backend's
   * own compiler wants fewer than the scheduler's MAX_FUSED_DEPTH (its time grows faster than the
   * kernel); the scheduler cuts deeper chains into kernels.
   */
  readonly maxFusedDepth?: number;
}

/** Device memory as the backend sees it: opaque to everyone else. */
export interface BackendBuffer {
  readonly dtype: DType;
  readonly size: number;
}

/** Where a matrix starts in its buffer and how far (in elements) one row / one column step moves. */
export interface MatrixLayout {
  readonly offset: number;
  readonly rowStride: number;
  readonly colStride: number;
}

/**
 * One GEMM: c[m×n] = a[m×k] · b[k×n], for each index of the batch loops around it (each loop
 * moves a, b and c by its own stride). A dim of size 1 may have any stride.
 */
export interface GemmShape {
  readonly dtype: DType;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly batch: readonly { readonly size: number; readonly a: number; readonly b: number; readonly c: number }[];
  readonly a: MatrixLayout;
  readonly b: MatrixLayout;
  readonly c: MatrixLayout;
  /** Elementwise work fused after the product (bias, activation, scale), for a routine that takes it. */
  readonly epilogue?: GemmEpilogue;
}

/**
 * What is computed from each element of the product before it is stored: a kernel IR body run for
 * one element of C, in the product's place in the elementwise chain that consumed it.
 *
 * - `gid` is the element's offset in C (C is the contiguous buffer of the epilogue's result, so
 *   this is its linear index; with a batch, the offset `c.offset + batch + row·c.rowStride +
 *   col·c.colStride`);
 * - the local named {@link EPILOGUE_ACC} (dtype `shape.dtype`) is the product's value there;
 * - buffer 0 is C (written once, by the body's one `store` at `gid`); buffers 1… are the extra
 *   operands (a bias, a residual), passed to `run()` in that order and read through loads whose
 *   index is computed from `gid` (a per-column bias reads `gid % n`).
 *
 * The body has no loops, accumulators or scalar parameters. Its result dtype is the store's
 * (usually `shape.dtype`; a comparison stores bool). `key` is a structural key of the whole epilogue.
 */
export interface GemmEpilogue {
  readonly kernel: Kernel;
  readonly key: string;
}

/** The name of the local that holds the product's value inside a {@link GemmEpilogue}. */
export const EPILOGUE_ACC = 'acc';

/**
 * Calls `fn` with the offsets of a, b and c at every index of `loops` (a GemmShape's batch loops, or
 * some of them), the last loop fastest, starting from `start`.
 */
export function forEachBatch(
  loops: GemmShape['batch'],
  start: { readonly a: number; readonly b: number; readonly c: number },
  fn: (a: number, b: number, c: number) => void,
): void {
  const idx = loops.map(() => 0);
  let { a, b, c } = start;
  for (;;) {
    fn(a, b, c);
    let d = loops.length - 1;
    for (; d >= 0; d--) {
      const loop = loops[d]!;
      if (++idx[d]! < loop.size) {
        a += loop.a;
        b += loop.b;
        c += loop.c;
        break;
      }
      idx[d] = 0;
      a -= loop.a * (loop.size - 1);
      b -= loop.b * (loop.size - 1);
      c -= loop.c * (loop.size - 1);
    }
    if (d < 0) return;
  }
}

/** A matrix product computed by the backend itself (a tuned library) instead of generated code. */
export interface GemmRoutine<B extends BackendBuffer = BackendBuffer> {
  /** Whether to take this product: a dtype and layout it handles, and big enough to pay. */
  supports(shape: GemmShape): boolean;
  /**
   * Writes every element of c. With `shape.epilogue`, c receives the epilogue's result and
   * `epilogue` holds its extra operands (the epilogue kernel's buffers 1…).
   */
  run(shape: GemmShape, a: B, b: B, c: B, epilogue?: readonly B[]): void;
  /**
   * Present where the routine can fuse an epilogue: whether it takes this one (`shape.epilogue`
   * is set; `supports(shape)` without it already held). Absent: the compiler never hands it one,
   * and the consumer of the product stays a kernel of its own.
   */
  supportsEpilogue?(shape: GemmShape & { readonly epilogue: GemmEpilogue }): boolean;
  /** How it would launch this product (workgroup, tiling…), for explain(). */
  describe?(shape: GemmShape): string;
}

/**
 * One SORT node: `rows` rows of `n` elements of `dtype`, contiguous, each ordered as SORT says
 * (stable, NaN the largest, -0 equal to 0; `descending` largest first); the first `k` positions
 * of each row's order (int32, `rows`×`k`, contiguous) are written. `k` < `n` is a selection (topk).
 */
export interface SortShape {
  readonly dtype: DType;
  readonly rows: number;
  readonly n: number;
  readonly k: number;
  readonly descending: boolean;
}

/** A sort computed by the backend itself (a radix sort, a selection) instead of a sorting network of generated kernels. */
export interface SortRoutine<B extends BackendBuffer = BackendBuffer> {
  /** Whether to take this sort; where not, the compiler writes SORT out as a sorting network of generated kernels. */
  supports(shape: SortShape): boolean;
  /** Writes the positions of `x`'s rows into `out`. */
  run(shape: SortShape, x: B, out: B): void;
  /** How it would compute this sort, for explain(). */
  describe?(shape: SortShape): string;
}

/** Optional routines the compiler calls instead of generated code where a backend offers them. */
export interface Routines<B extends BackendBuffer = BackendBuffer> {
  readonly gemm?: GemmRoutine<B>;
  readonly sort?: SortRoutine<B>;
}

/**
 * What render() decided about one kernel: its source and everything compile() and launch() need
 * to run it, so that neither re-derives a decision of the renderer (nor reads it back from text).
 */
export interface RenderedKernel {
  /** Text to compile, or a binary (WebAssembly). */
  readonly source: string | Uint8Array;
  /** The entry point the source defines. */
  readonly entry: string;
  /** Threads in one workgroup or block; 1 where the backend has no groups. */
  readonly groupSize: number;
  /** Outputs one group computes (a cooperative reduction spends a whole group on one). */
  readonly outputsPerGroup: number;
  /** Binding slots after the kernel's buffers (its scalar vars, an overflow flag …), by what they hold. */
  readonly bindings: Readonly<Record<string, number>>;
  /** Scratch bytes one launch needs (split and block reductions); 0 for none. */
  readonly workspace: number;
}

export interface Backend<B extends BackendBuffer = BackendBuffer, P = unknown, R extends RenderedKernel = RenderedKernel> {
  /** Device type: 'cpu', 'webgpu', 'cuda'. */
  readonly name: string;
  readonly capabilities: Capabilities;
  /** Whether the backend can run here, and if not, why and how to fix it. */
  isAvailable(): { ok: true } | { ok: false; reason: string };
  /** Brings the device up (adapter, context…) and describes it. */
  init(): Promise<string>;
  alloc(dtype: DType, size: number, device: number): B;
  free(buf: B): void;
  /** Returns pooled (freed but cached) memory to the device; called before an allocation is retried. */
  trim?(): void;
  write(buf: B, data: HostArray): void;
  read(buf: B): Promise<HostArray>;
  readSync?(buf: B): HostArray;
  /**
   * Copies `src` into `dst` (same dtype and size) on the device(s), without a host round trip:
   * between two devices of this backend (CUDA peer copies) or within one. Absent: copies go
   * through the host.
   */
  copy?(src: B, dst: B): void;
  /** Renders kernel IR to source (readable text or a binary) with how it is to be launched. */
  render(kernel: Kernel): R;
  /** Compiles what render() made; the compiler caches the result per kernel key. */
  compile(rendered: R, kernel: Kernel): P;
  launch(program: P, buffers: readonly B[], vars: readonly number[]): void;
  synchronize(): Promise<void>;
  /** Optional routines (a GEMM from a native library…) the compiler may call instead of generated code. */
  readonly routines?: Routines<B>;
  /**
   * The numbers the planning pass (reduce-plan.ts) decides vector lanes, cooperative and split
   * reductions from: the renderer consumes `planKernel(kernel, planning)` instead of deciding.
   * Absent: scalar code, one thread per output, no splits.
   */
  readonly planning?: PlanNumbers;
  /** How the backend would launch a kernel (workgroup size, grid…), for explain(). */
  describe?(kernel: Kernel): string;
}

export class BackendUnavailableError extends Error {
  override name = 'BackendUnavailableError';
}

/** Splits 'cuda:1' into its type and ordinal. */
export function parseDevice(device: string): { type: string; index: number } {
  const m = /^([a-z]+)(?::(\d+))?$/.exec(device);
  if (!m) throw new BackendUnavailableError(`Invalid device string: '${device}'`);
  return { type: m[1]!, index: m[2] === undefined ? 0 : Number(m[2]) };
}

/** 'cuda' and 'cuda:0' name the same device. */
export function canonicalDevice(device: string): string {
  const { type, index } = parseDevice(device);
  return type === 'cpu' ? 'cpu' : `${type}:${index}`;
}
