/**
 * The generated GEMM kernels (src/gemm-kernels.ts): every variant on the emulator against a plain
 * reference — each dtype, each orientation of A and B, vector and element-wise loads — over odd
 * sizes, offsets, padded and transposed layouts and batches; and every variant assembled by
 * `nvcc -cubin -arch=sm_90`, so ptxas checks the inline PTX (mma.sync, ldmatrix, cp.async).
 *
 * Operands and C live in buffers larger than their layout, the rest filled with NaN: a kernel
 * that reads outside its operands gives NaN, one that writes outside C is caught by the check of
 * the untouched elements. Inputs are small integers, so float32 accumulation is exact and every
 * result must equal the reference rounded once to the output dtype; a random-float case checks
 * tolerances. On the emulator the tensor-core instructions run as their C++ fallbacks, which
 * follow the PTX ISA's fragment layouts: a wrong fragment index gives wrong numbers.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { bfloat16Bits, bfloat16FromBits, float16Bits, float16FromBits, type GemmShape } from '@fusor/compiler';
import { emulatorUnavailable, installEmulator, prebuildKernels } from './emulator/emulator.js';
import { compilePtx, findNvcc } from './nvcc.js';
import {
  GEMM_PRELUDE,
  generatedGemm,
  gemmSymbol,
  gemmVariants,
  planGemm,
  renderGemm,
  type GemmDtype,
  type GemmVariant,
} from '../src/gemm-kernels.js';
import { CudaRuntime, type DeviceBuffer } from '../src/runtime.js';

const why = emulatorUnavailable();
const emu = why ? null : installEmulator();
const runtime = emu ? CudaRuntime.open(process.env, { diskCache: null }) : null;
const rt = (): CudaRuntime => {
  if (!(runtime instanceof CudaRuntime)) throw new Error(`no emulated runtime: ${String(runtime)}`);
  return runtime;
};

const ITEM: Record<GemmDtype, number> = { float32: 4, float64: 8, float16: 2, bfloat16: 2 };
/** The value a dtype stores for x, and back. */
const toBits: Record<GemmDtype, (x: number) => number> = {
  float32: Math.fround,
  float64: (x) => x,
  float16: float16Bits,
  bfloat16: bfloat16Bits,
};
const fromBits: Record<GemmDtype, (x: number) => number> = {
  float32: (x) => x,
  float64: (x) => x,
  float16: float16FromBits,
  bfloat16: bfloat16FromBits,
};
const host = (dtype: GemmDtype, n: number): Float32Array | Float64Array | Uint16Array =>
  dtype === 'float32' ? new Float32Array(n) : dtype === 'float64' ? new Float64Array(n) : new Uint16Array(n);

interface Buf extends DeviceBuffer {
  readonly block: number;
}
function upload(dtype: GemmDtype, data: Float32Array | Float64Array | Uint16Array): Buf {
  const bytes = Math.max(1, data.length) * ITEM[dtype];
  const { ptr, size } = rt().allocator(0).alloc(bytes);
  rt().copyToDevice(0, ptr, data, data.length * ITEM[dtype]);
  return { dtype, size: data.length, device: 0, ptr, block: size };
}
function download(b: Buf): Float32Array | Float64Array | Uint16Array {
  const out = host(b.dtype as GemmDtype, b.size);
  rt().copyToHost(0, out, b.ptr, b.size * ITEM[b.dtype as GemmDtype]);
  return out;
}
const release = (...bs: Buf[]): void => bs.forEach((b) => rt().allocator(0).free(b.ptr, b.block));

interface Layouts {
  /** A's contiguous dim, B's contiguous dim, C transposed (column-major) or not. */
  readonly aMajor: 'k' | 'm';
  readonly bMajor: 'k' | 'n';
  readonly cTransposed?: boolean;
  /** Extra elements after each row (or column) of A, B, C, and before each operand. */
  readonly pad?: readonly [number, number, number];
  readonly offset?: readonly [number, number, number];
  /** Batch sizes, outermost first; each operand's batch dims are packed after its matrix, with a gap. */
  readonly batch?: readonly number[];
  /** A broadcast over the batch (batch stride 0), as a weight shared by a batched product. */
  readonly shareA?: boolean;
}

/** A GemmShape with explicit strides, and the element count each buffer needs. */
function shapeOf(dtype: GemmDtype, m: number, n: number, k: number, l: Layouts): { shape: GemmShape; sizes: [number, number, number] } {
  const [pa, pb, pc] = l.pad ?? [0, 0, 0];
  const [oa, ob, oc] = l.offset ?? [0, 0, 0];
  const a = l.aMajor === 'k' ? { rowStride: k + pa, colStride: 1, span: m * (k + pa) } : { rowStride: 1, colStride: m + pa, span: k * (m + pa) };
  const b = l.bMajor === 'n' ? { rowStride: n + pb, colStride: 1, span: k * (n + pb) } : { rowStride: 1, colStride: k + pb, span: n * (k + pb) };
  const c = l.cTransposed ? { rowStride: 1, colStride: m + pc, span: n * (m + pc) } : { rowStride: n + pc, colStride: 1, span: m * (n + pc) };
  const sizes = l.batch ?? [];
  const gap = 8; // between batch matrices: keeps 16-byte alignment, and NaN between them
  const strides = (span: number): number[] => {
    const out = new Array<number>(sizes.length);
    let s = span + gap;
    for (let d = sizes.length - 1; d >= 0; d--) {
      out[d] = s;
      s *= sizes[d]!;
    }
    return out;
  };
  const [sa, sb, sc] = [strides(a.span), strides(b.span), strides(c.span)];
  const batch = sizes.map((size, d) => ({ size, a: l.shareA ? 0 : sa[d]!, b: sb[d]!, c: sc[d]! }));
  const total = (off: number, span: number, st: number[], shared = false): number =>
    off + span + gap + (shared ? 0 : sizes.reduce((acc, s, d) => acc + (s - 1) * st[d]!, 0));
  return {
    shape: {
      dtype,
      m,
      n,
      k,
      batch,
      a: { offset: oa, rowStride: a.rowStride, colStride: a.colStride },
      b: { offset: ob, rowStride: b.rowStride, colStride: b.colStride },
      c: { offset: oc, rowStride: c.rowStride, colStride: c.colStride },
    },
    sizes: [total(oa, a.span, sa, l.shareA), total(ob, b.span, sb), total(oc, c.span, sc)],
  };
}

/** Every (batch index, row, column) → element index of a matrix of the shape. */
function* elements(g: GemmShape, which: 'a' | 'b' | 'c'): Generator<[number, number, number, number]> {
  const lay = g[which];
  const [rows, cols] = which === 'a' ? [g.m, g.k] : which === 'b' ? [g.k, g.n] : [g.m, g.n];
  const count = g.batch.reduce((p, d) => p * d.size, 1);
  for (let z = 0; z < count; z++) {
    let base = lay.offset;
    let rest = z;
    for (let d = g.batch.length - 1; d >= 0; d--) {
      const dim = g.batch[d]!;
      base += (rest % dim.size) * dim[which];
      rest = Math.floor(rest / dim.size);
    }
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) yield [z, i, j, base + i * lay.rowStride + j * lay.colStride];
  }
}

const NAN_BITS: Record<GemmDtype, number> = { float32: NaN, float64: NaN, float16: 0x7e00, bfloat16: 0x7fc0 };

interface Outcome {
  readonly variant: GemmVariant;
  readonly cVector: boolean;
  /** Kernel launches (one per index of the batch dims beyond the grid's three). */
  readonly launches: number;
  /** Elements of C that differ from the reference, and elements outside C that were written. */
  readonly wrong: string[];
  readonly maxError: number;
}

/** Runs the routine on integer (or random float) inputs and compares every element of C with the reference. */
function check(dtype: GemmDtype, m: number, n: number, k: number, l: Layouts, random = false): Outcome {
  const { shape: g, sizes } = shapeOf(dtype, m, n, k, l);
  let seed = m * 7919 + n * 104729 + k * 1299709 + (l.aMajor === 'k' ? 1 : 2) + (l.bMajor === 'n' ? 4 : 8);
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const value = (): number => (random ? next() * 2 - 1 : Math.floor(next() * 7) - 3);
  const [ha, hb, hc] = sizes.map((s) => host(dtype, s).fill(NAN_BITS[dtype])) as [Float32Array, Float32Array, Float32Array];
  // stored values, and what they mean
  const av = new Map<number, number>();
  const bv = new Map<number, number>();
  for (const [, , , at] of elements(g, 'a')) if (!av.has(at)) av.set(at, fromBits[dtype]((ha[at] = toBits[dtype](value()))));
  for (const [, , , at] of elements(g, 'b')) if (!bv.has(at)) bv.set(at, fromBits[dtype]((hb[at] = toBits[dtype](value()))));
  const aAt: number[][][] = [];
  const bAt: number[][][] = [];
  for (const [z, i, j, at] of elements(g, 'a')) ((aAt[z] ??= [])[i] ??= [])[j] = av.get(at)!;
  for (const [z, i, j, at] of elements(g, 'b')) ((bAt[z] ??= [])[i] ??= [])[j] = bv.get(at)!;
  const [A, B, C] = [upload(dtype, ha), upload(dtype, hb), upload(dtype, hc)];
  const routine = generatedGemm(rt);
  routine.run(g, A, B, C);
  const got = download(C);
  const plan = planGemm(g, A, B, C);
  release(A, B, C);
  const wrong: string[] = [];
  const inC = new Set<number>();
  let maxError = 0;
  for (const [z, i, j, at] of elements(g, 'c')) {
    inC.add(at);
    let sum = 0;
    let mag = 0;
    for (let p = 0; p < k; p++) {
      sum += aAt[z]![i]![p]! * bAt[z]![p]![j]!;
      mag += Math.abs(aAt[z]![i]![p]! * bAt[z]![p]![j]!);
    }
    const have = fromBits[dtype](got[at]!);
    const want = fromBits[dtype](toBits[dtype](sum));
    if (random) {
      // float32 accumulation (k roundings) and one rounding to the output dtype
      const unit = { float32: 2 ** -24, float64: 2 ** -53, float16: 2 ** -11, bfloat16: 2 ** -8 }[dtype];
      const err = Math.abs(have - sum);
      const tol = unit * Math.abs(sum) + (dtype === 'float64' ? 2 ** -50 : 2 ** -22) * k * mag + 1e-300;
      maxError = Math.max(maxError, err / (mag || 1));
      if (!(err <= tol) && wrong.length < 5) wrong.push(`c[${z}][${i}][${j}] = ${have}, want ${sum} ± ${tol}`);
    } else if (!Object.is(have, want) && !(have === 0 && want === 0) && wrong.length < 5) {
      wrong.push(`c[${z}][${i}][${j}] = ${have}, want ${want}`);
    }
  }
  for (let at = 0; at < got.length; at++) {
    if (!inC.has(at) && !Number.isNaN(fromBits[dtype](got[at]!)) && wrong.length < 10) wrong.push(`wrote outside C at ${at}: ${got[at]}`);
  }
  return { variant: plan!.variant, cVector: plan!.cVector, launches: plan!.params.length, wrong, maxError };
}

const DTYPES: readonly GemmDtype[] = ['float32', 'float64', 'float16', 'bfloat16'];
const VECTOR: Record<GemmDtype, number> = { float32: 4, float64: 2, float16: 8, bfloat16: 8 };

describe.skipIf(why !== null)(`generated gemm kernels on the emulator${why ? ` (skipped: ${why})` : ''}`, () => {
  beforeAll(async () => {
    // one host build of every variant (in parallel pieces) instead of one compile per first launch
    await prebuildKernels(emu!, gemmVariants().map(renderGemm), GEMM_PRELUDE);
  }, 300_000);

  /**
   * One product per variant: the orientation comes from the strides, vector loads from extents,
   * pads and offsets that are multiples of the vector (odd ones make the operand element-wise).
   */
  for (const dtype of DTYPES) {
    it(`${dtype}: every orientation, vector and element-wise loads, on sizes across tile edges`, { timeout: 120_000 }, () => {
      const w = VECTOR[dtype];
      const seen = new Set<string>();
      for (const aMajor of ['k', 'm'] as const) {
        for (const bMajor of ['n', 'k'] as const) {
          for (const [aVec, bVec] of [[true, true], [true, false], [false, true], [false, false]] as const) {
            // contiguous extents are multiples of the vector, the others odd (edges of partial tiles); offsets decide vectors
            const m = aMajor === 'm' ? 136 : 131;
            const n = bMajor === 'n' ? 48 : 45;
            const k = aMajor === 'k' || bMajor === 'k' ? 72 : 71;
            // C: row-contiguous and aligned (vector stores) with vector operands, else odd
            const pad = [w, 2 * w, aVec && bVec ? 0 : 1] as const;
            const offset = [aVec ? w : 3, bVec ? 3 * w : 5, aVec && bVec ? 0 : 2] as const;
            const r = check(dtype, m, n, k, { aMajor, bMajor, pad, offset });
            const name = gemmSymbol(r.variant);
            seen.add(name);
            expect(r.wrong, name).toEqual([]);
            expect(r.variant).toEqual({ dtype, aMajor, bMajor, aVector: aVec, bVector: bVec });
            const cw = dtype === 'float32' ? 4 : 2; // C's vector: 16 bytes (SIMT) or a pair (tensor cores)
            expect(r.cVector, name).toBe((n + pad[2]) % cw === 0 && offset[2] % cw === 0);
          }
        }
      }
      expect(seen.size).toBe(16);
    });
  }

  it('odd sizes (0 to 129, partial tiles everywhere), row-major and transposed operands, in every dtype', { timeout: 300_000 }, () => {
    const sizes: [number, number, number][] = [[1, 1, 1], [7, 31, 33], [33, 7, 65], [65, 129, 31], [129, 65, 129], [1, 129, 7], [129, 1, 33], [31, 33, 1], [5, 9, 0]];
    for (const dtype of DTYPES) {
      for (const [m, n, k] of sizes) {
        for (const [aMajor, bMajor, cTransposed] of [['k', 'n', false], ['m', 'k', true]] as const) {
          const r = check(dtype, m, n, k, { aMajor, bMajor, cTransposed });
          expect(r.wrong, `${dtype} ${m}×${n}×${k} ${gemmSymbol(r.variant)}`).toEqual([]);
        }
      }
    }
  });

  it('batches: one, several, more than the grid holds (looped), a broadcast A, offsets and transposed C', { timeout: 300_000 }, () => {
    const cases: { m: number; n: number; k: number; l: Layouts; launches: number }[] = [
      { m: 33, n: 40, k: 48, l: { aMajor: 'k', bMajor: 'n', batch: [3] }, launches: 1 },
      { m: 20, n: 17, k: 40, l: { aMajor: 'm', bMajor: 'n', batch: [2, 3], shareA: true, offset: [8, 16, 3] }, launches: 1 },
      { m: 9, n: 24, k: 35, l: { aMajor: 'k', bMajor: 'k', batch: [2, 1, 2, 3], cTransposed: true, pad: [1, 2, 3] }, launches: 1 },
      { m: 16, n: 8, k: 24, l: { aMajor: 'k', bMajor: 'n', batch: [2, 2, 2, 2], shareA: true }, launches: 2 },
    ];
    for (const dtype of DTYPES) {
      for (const { m, n, k, l, launches } of cases) {
        const r = check(dtype, m, n, k, l);
        expect(r.wrong, `${dtype} ${m}×${n}×${k} batch ${l.batch} ${gemmSymbol(r.variant)}`).toEqual([]);
        expect(r.launches).toBe(launches);
      }
    }
  });

  it('many tiles: the grouped block order covers every tile once (9 tile rows, a partial group; several tile columns)', { timeout: 120_000 }, () => {
    for (const dtype of DTYPES) {
      const r = check(dtype, 1100, 300, 20, { aMajor: 'k', bMajor: 'n' });
      expect(r.wrong, `${dtype} ${gemmSymbol(r.variant)}`).toEqual([]);
    }
  });

  it('random inputs: float32 accumulation, one rounding to the output dtype', { timeout: 120_000 }, () => {
    for (const dtype of DTYPES) {
      const r = check(dtype, 70, 90, 200, { aMajor: 'k', bMajor: 'n' }, true);
      expect(r.wrong, dtype).toEqual([]);
      expect(r.maxError, dtype).toBeGreaterThan(0);
    }
  });

  it('takes float products big enough to pay, and leaves the rest to generated code', () => {
    const gemm = generatedGemm(rt);
    const square = (dtype: string, m: number, n = m, k = m, batch: GemmShape['batch'] = []): GemmShape => ({
      dtype: dtype as GemmDtype,
      m,
      n,
      k,
      batch,
      a: { offset: 0, rowStride: k, colStride: 1 },
      b: { offset: 0, rowStride: n, colStride: 1 },
      c: { offset: 0, rowStride: n, colStride: 1 },
    });
    for (const dtype of DTYPES) {
      expect(gemm.supports(square(dtype, 256)), dtype).toBe(true);
      expect(gemm.supports(square(dtype, 64)), dtype).toBe(false); // 64³ multiply-adds: below 128³
      expect(gemm.supports(square(dtype, 64, 64, 64, [{ size: 8, a: 4096, b: 4096, c: 4096 }])), dtype).toBe(true);
      expect(gemm.supports(square(dtype, 4096, 8, 4096)), dtype).toBe(false); // matrix-vector-like
      expect(gemm.supports(square(dtype, 4096, 4096, 1)), dtype).toBe(false); // an outer product
    }
    for (const dtype of ['int32', 'int64', 'int8', 'bool']) expect(gemm.supports(square(dtype, 512)), dtype).toBe(false);
    expect(generatedGemm(rt, { minMultiplyAdds: 1, minDim: 1, minK: 1 }).supports(square('float32', 2))).toBe(true);
  });
});

describe('generated gemm kernels compile with nvcc -cubin -arch=sm_90', () => {
  const nvcc = findNvcc();
  it.skipIf(!nvcc)(`every variant assembles (ptxas checks the inline PTX); the vector variants spill nothing${nvcc ? '' : ' (skipped: nvcc not found)'}`, { timeout: 600_000 }, async () => {
    const variants = gemmVariants();
    expect(variants).toHaveLength(64);
    /** Kernels in `files` units (prelude once), compiled in parallel. */
    const units = (vs: readonly GemmVariant[], files: number): string[] =>
      Array.from({ length: files }, (_, f) => [GEMM_PRELUDE, ...vs.filter((_, i) => i % files === f).map((v) => renderGemm(v).slice(GEMM_PRELUDE.length))].join('\n'));
    const fast = variants.filter((v) => v.aVector && v.bVector);
    const rest = variants.filter((v) => !(v.aVector && v.bVector));
    const flags = ['-cubin', '-arch=sm_90', '--fmad=false'];
    // the variants that big products run: optimized as NVRTC does, with ptxas' register report
    const optimized = await compilePtx(nvcc!, units(fast, 4), [...flags, '-Xptxas', '-v']);
    // the rest: unoptimized (ten times faster), which still parses and assembles every instruction
    const plain = await compilePtx(nvcc!, units(rest, 2), [...flags, '-Xcicc', '-O0', '-Xptxas', '-O0']);
    for (const r of [...optimized, ...plain]) expect(r.ok, r.log.split('\n').filter((l) => /error/i.test(l)).slice(0, 20).join('\n')).toBe(true);
    const log = optimized.map((r) => r.log).join('\n');
    for (const v of fast) {
      const at = log.indexOf(`Function properties for ${gemmSymbol(v)}\n`);
      expect(at, gemmSymbol(v)).toBeGreaterThanOrEqual(0);
      expect(log.slice(at, log.indexOf('\n', log.indexOf('\n', at) + 1)), gemmSymbol(v)).toMatch(/ 0 bytes spill stores, 0 bytes spill loads/);
    }
  });
});
