/**
 * The cuBLAS GEMM routine on the emulator (mock-cublas.c computes with cuBLAS's column-major
 * semantics and argument checks): which products it takes, the calls it makes for each layout,
 * dtype and batch, that results match the cpu backend, and that everything else stays generated.
 */
import { describe, expect, it } from 'vitest';
import { compilerStats } from '@fusor/runtime';
import * as torch from '@fusor/tensor';
import { loadKoffi } from '../src/ffi.js';
import { emulatorUnavailable, installEmulator } from './emulator/emulator.js';

const why = emulatorUnavailable();
const emu = why ? null : installEmulator({ MOCK_CUDA_DEVICES: '2', MOCK_CUDA_MEMORY: String(256 << 20) });
const cuda = await import('../src/index.js');
cuda.configureCuda({ diskCache: null });

/** The mock's own counters, read from the library the backend loaded. */
const mock = (() => {
  if (!emu) return null;
  const lib = loadKoffi().load(emu.cublas);
  const lastCall = lib.func('void mock_cublas_last_call(int64_t *out)') as (out: BigInt64Array) => void;
  return {
    calls: lib.func('int64_t mock_cublas_calls()') as () => number,
    handles: lib.func('int mock_cublas_handles()') as () => number,
    sgemm: lib.func(
      'int cublasSgemm_v2(void *h, int ta, int tb, int m, int n, int k, const float *alpha, const float *A, int lda, const float *B, int ldb, const float *beta, float *C, int ldc)',
    ) as (...args: unknown[]) => number,
    create: lib.func('int cublasCreate_v2(_Out_ void **h)') as (out: unknown[]) => number,
    /** The last call, named. */
    last() {
      const o = new BigInt64Array(17);
      lastCall(o);
      const [ta, tb, m, n, k, lda, ldb, ldc, strideA, strideB, strideC, batch, type, compute, math, defaultStream, entry] = [...o].map(Number);
      const entries = ['cublasSgemm_v2', 'cublasDgemm_v2', 'cublasSgemmStridedBatched', 'cublasDgemmStridedBatched', 'cublasGemmEx', 'cublasGemmStridedBatchedEx'];
      const op = (t: number | undefined): string => (t === 0 ? 'N' : 'T');
      return { fn: entries[entry!], ta: op(ta), tb: op(tb), m, n, k, lda, ldb, ldc, strideA, strideB, strideC, batch, type, compute, math, defaultStream };
    },
  };
})();

/** A tensor in cuda memory (realized, so later counts see only the product). */
function onCuda(t: torch.Tensor, device = 'cuda'): torch.Tensor {
  const g = t.to(device);
  g.dataSync();
  return g;
}

/** Realizes `fn`'s result; says how many kernels and routine calls that took. */
function counted(fn: () => torch.Tensor): { out: torch.Tensor; kernels: number; routines: number; calls: number } {
  const s = compilerStats();
  const calls = mock!.calls();
  const out = fn();
  out.dataSync();
  const e = compilerStats();
  return { out, kernels: e.launched - s.launched - (e.routines - s.routines), routines: e.routines - s.routines, calls: mock!.calls() - calls };
}

function expectClose(actual: torch.Tensor, expected: torch.Tensor, rtol: number, atol: number): void {
  expect(actual.shape).toEqual(expected.shape);
  expect(actual.dtype).toBe(expected.dtype);
  const a = actual.float().cpu().dataSync();
  const e = expected.float().cpu().dataSync();
  let worst = 0;
  for (let i = 0; i < e.length; i++) {
    const err = Math.abs(Number(a[i]) - Number(e[i])) - rtol * Math.abs(Number(e[i]));
    if (!(err <= atol)) worst = Math.max(worst, Number.isNaN(err) ? Infinity : err);
  }
  expect(worst, `max excess error over atol ${atol}, rtol ${rtol}`).toBe(0);
}

const randn = (...sizes: number[]): torch.Tensor => torch.randn(sizes);

describe.skipIf(why !== null)(`the cuBLAS GEMM routine on the emulator${why ? ` (skipped: ${why})` : ''}`, () => {
  it('is available and names its library and version', () => {
    expect(cuda.cublasInfo()).toEqual({ available: true, library: emu!.cublas, version: '12.8.4' });
  });

  it('computes a row-major float32 matmul as one Sgemm of cᵀ = bᵀ·aᵀ, on the default stream, without TF32', () => {
    torch.manualSeed(1);
    const a = randn(64, 96);
    const b = randn(96, 80);
    const [ga, gb] = [onCuda(a), onCuda(b)];
    const r = counted(() => ga.matmul(gb));
    expect(r).toMatchObject({ kernels: 0, routines: 1, calls: 1 });
    expect(mock!.last()).toEqual({
      fn: 'cublasSgemm_v2',
      ta: 'N',
      tb: 'N',
      m: 80,
      n: 64,
      k: 96,
      lda: 80,
      ldb: 96,
      ldc: 80,
      strideA: 0,
      strideB: 0,
      strideC: 0,
      batch: 1,
      type: 0,
      compute: 68,
      math: 0,
      defaultStream: 1,
    });
    expectClose(r.out, a.matmul(b), 1e-5, 1e-5);
  });

  it('reads transposed views of a and b where they lie (OP_T), with no copy kernel', () => {
    torch.manualSeed(2);
    const at = randn(96, 64);
    const bt = randn(80, 96);
    const [ga, gb] = [onCuda(at), onCuda(bt)];
    const r = counted(() => ga.t().matmul(gb.t()));
    expect(r).toMatchObject({ kernels: 0, routines: 1 });
    expect(mock!.last()).toMatchObject({ fn: 'cublasSgemm_v2', ta: 'T', tb: 'T', m: 80, n: 64, k: 96, lda: 96, ldb: 64, ldc: 80 });
    expectClose(r.out, at.t().matmul(bt.t()), 1e-5, 1e-5);
  });

  it('reads sliced operands at their offset and row pitch', () => {
    torch.manualSeed(3);
    const big = randn(100, 120);
    const other = randn(130, 90);
    // a: rows 5..68 and columns 7..102 of a 100×120 buffer; b: rows 20..115, columns 3..82 of 130×90
    const slice = (t: torch.Tensor) => t.narrow(0, 5, 64).narrow(1, 7, 96);
    const sliceB = (t: torch.Tensor) => t.narrow(0, 20, 96).narrow(1, 3, 80);
    const [ga, gb] = [onCuda(big), onCuda(other)];
    const r = counted(() => slice(ga).matmul(sliceB(gb)));
    expect(r).toMatchObject({ kernels: 0, routines: 1 });
    expect(mock!.last()).toMatchObject({ ta: 'N', tb: 'N', m: 80, n: 64, k: 96, lda: 90, ldb: 120, ldc: 80 });
    expectClose(r.out, slice(big).matmul(sliceB(other)), 1e-5, 1e-5);
  });

  it('runs bmm as one strided-batched call', () => {
    torch.manualSeed(4);
    const a = randn(5, 64, 48);
    const b = randn(5, 48, 40);
    const [ga, gb] = [onCuda(a), onCuda(b)];
    const r = counted(() => ga.bmm(gb));
    expect(r).toMatchObject({ kernels: 0, routines: 1, calls: 1 });
    expect(mock!.last()).toMatchObject({ fn: 'cublasSgemmStridedBatched', m: 40, n: 64, k: 48, batch: 5, strideA: 48 * 40, strideB: 64 * 48, strideC: 64 * 40 });
    expectClose(r.out, a.bmm(b), 1e-5, 1e-5);
  });

  it('broadcasts a matrix over a batch with stride 0, and loops over batch dims that do not merge', () => {
    torch.manualSeed(5);
    const a = randn(64, 48);
    const b = randn(3, 48, 40);
    const [ga, gb] = [onCuda(a), onCuda(b)];
    const r = counted(() => ga.matmul(gb));
    expect(r).toMatchObject({ kernels: 0, routines: 1, calls: 1 });
    expect(mock!.last()).toMatchObject({ fn: 'cublasSgemmStridedBatched', batch: 3, strideA: 48 * 40, strideB: 0, strideC: 64 * 40 });
    expectClose(r.out, a.matmul(b), 1e-5, 1e-5);

    // a's batch dims are permuted: [2, 3] walked as [3·S, S] does not merge into one stride
    const a4 = randn(3, 2, 64, 48);
    const b4 = randn(2, 1, 48, 40);
    const [ga4, gb4] = [onCuda(a4), onCuda(b4)];
    const r4 = counted(() => ga4.permute(1, 0, 2, 3).matmul(gb4));
    expect(r4).toMatchObject({ kernels: 0, routines: 1, calls: 2 });
    expect(mock!.last()).toMatchObject({ fn: 'cublasSgemmStridedBatched', batch: 3 });
    expectClose(r4.out, a4.permute(1, 0, 2, 3).matmul(b4), 1e-5, 1e-5);
  });

  it('computes float64 with Dgemm and DgemmStridedBatched', () => {
    torch.manualSeed(6);
    const a = randn(64, 72).double();
    const b = randn(72, 70).double();
    const ab = randn(2, 64, 72).double();
    const bb = randn(2, 72, 70).double();
    const [ga, gb, gab, gbb] = [onCuda(a), onCuda(b), onCuda(ab), onCuda(bb)];
    const r = counted(() => ga.matmul(gb));
    expect(r).toMatchObject({ kernels: 0, routines: 1 });
    expect(mock!.last()).toMatchObject({ fn: 'cublasDgemm_v2', compute: 70, type: 1 });
    expectClose(r.out, a.matmul(b), 1e-12, 1e-12);
    const rb = counted(() => gab.matmul(gb));
    expect(rb).toMatchObject({ kernels: 0, routines: 1 });
    expect(mock!.last()).toMatchObject({ fn: 'cublasDgemm_v2', m: 70, n: 128 }); // the batch merges into m
    expectClose(rb.out, ab.matmul(b), 1e-12, 1e-12);
    const rbb = counted(() => gab.bmm(gbb));
    expect(mock!.last()).toMatchObject({ fn: 'cublasDgemmStridedBatched', batch: 2 });
    expectClose(rbb.out, ab.bmm(bb), 1e-12, 1e-12);
  });

  for (const [dtype, type, rtol] of [
    ['float16', 2, 2 ** -10],
    ['bfloat16', 14, 2 ** -7],
  ] as const) {
    it(`computes ${dtype} with GemmEx and float32 accumulation, rounded once`, () => {
      torch.manualSeed(7);
      // the cpu backend holds no 16-bit floats: the reference is the same 16-bit inputs multiplied
      // in float32 on cpu, rounded to the 16-bit type on cuda
      const half = (...sizes: number[]) => onCuda(torch.randn(sizes, { device: 'cuda' }).to(dtype));
      const reference = (x: torch.Tensor, y: torch.Tensor) => onCuda(x.float().cpu().matmul(y.float().cpu())).to(dtype);
      const [a, b, ab, bb] = [half(64, 80), half(80, 72), half(3, 64, 80), half(3, 80, 72)];
      const r = counted(() => a.matmul(b));
      expect(r).toMatchObject({ kernels: 0, routines: 1 });
      expect(mock!.last()).toMatchObject({ fn: 'cublasGemmEx', type, compute: 68 });
      expectClose(r.out, reference(a, b), rtol, 1e-3);
      const rb = counted(() => ab.bmm(bb));
      expect(rb).toMatchObject({ kernels: 0, routines: 1 });
      expect(mock!.last()).toMatchObject({ fn: 'cublasGemmStridedBatchedEx', type, compute: 68, batch: 3 });
      expectClose(rb.out, reference(ab, bb), rtol, 1e-3);
    }, 120_000); // the 16-bit kernels around the products are compiled for the host on first use
  }

  it('computes gradients through the routine too', () => {
    torch.manualSeed(8);
    const a = randn(64, 96);
    const b = randn(96, 80);
    const w = randn(64, 80);
    const grads = (device: string) => {
      const x = onCuda(a, device).requiresGrad_();
      const y = onCuda(b, device).requiresGrad_();
      x.matmul(y).mul(onCuda(w, device)).sum().backward();
      return [x.grad!, y.grad!];
    };
    const s = compilerStats().routines;
    const [ga, gb] = grads('cuda');
    ga.dataSync();
    gb.dataSync();
    expect(compilerStats().routines - s).toBe(3); // the product, then w·bᵀ and aᵀ·w
    const [ca, cb] = grads('cpu');
    expectClose(ga, ca, 1e-5, 1e-5);
    expectClose(gb, cb, 1e-5, 1e-5);
  });

  it('leaves products under the threshold to generated kernels, unless told otherwise', () => {
    torch.manualSeed(9);
    const a = randn(16, 16);
    const b = randn(16, 16);
    const [ga, gb, e0, e1] = [onCuda(a), onCuda(b), onCuda(torch.ones(4, 0)), onCuda(torch.ones(0, 3))];
    const r = counted(() => ga.matmul(gb));
    expect(r).toMatchObject({ kernels: 1, routines: 0, calls: 0 });
    expectClose(r.out, a.matmul(b), 1e-5, 1e-6);
    cuda.configureCuda({ cublas: { minMultiplyAdds: 0, minDim: 1 } });
    try {
      // another product (the same one is realized already: nodes are interned)
      expect(counted(() => ga.matmul(gb.narrow(1, 0, 15)))).toMatchObject({ kernels: 0, routines: 1 });
      // empty products still stay generated (k = 0 fills with zeros)
      const e = counted(() => e0.matmul(e1));
      expect(e).toMatchObject({ routines: 0 });
      expect(e.out.tolistSync()).toEqual([
        [0, 0, 0],
        [0, 0, 0],
        [0, 0, 0],
        [0, 0, 0],
      ]);
    } finally {
      cuda.configureCuda({ cublas: { minMultiplyAdds: cuda.DEFAULT_MIN_MULTIPLY_ADDS, minDim: cuda.DEFAULT_MIN_DIM } });
    }
  });

  it('leaves layouts cuBLAS cannot read, and integer dtypes, to generated kernels', () => {
    torch.manualSeed(10);
    const big = randn(128, 192);
    const b = randn(96, 80);
    // every other row and column: no unit stride in either dim
    const a = randn(64, 96);
    const ia = torch.randint(-5, 5, [64, 96]);
    const ib = torch.randint(-5, 5, [96, 80]);
    const [gbig, ga, gb, gia, gib] = [onCuda(big), onCuda(a), onCuda(b), onCuda(ia), onCuda(ib)];
    const r = counted(() => gbig.index('::2', '::2').matmul(gb));
    expect(r).toMatchObject({ routines: 0, calls: 0 });
    expect(r.kernels).toBeGreaterThan(0);
    expectClose(r.out, big.index('::2', '::2').matmul(b), 1e-5, 1e-5);
    // a flipped operand steps backwards
    const f = counted(() => ga.flip(1).matmul(gb));
    expect(f.routines).toBe(0);
    expectClose(f.out, a.flip(1).matmul(b), 1e-5, 1e-5);
    const i = counted(() => gia.matmul(gib));
    expect(i.routines).toBe(0);
    expect(i.out.cpu().tolistSync()).toEqual(ia.matmul(ib).tolistSync());
  });

  it('is turned off by configureCuda({ cublas: false }) and back on by true', () => {
    torch.manualSeed(11);
    const a = randn(64, 96);
    const b = randn(96, 80);
    const [ga, gb] = [onCuda(a), onCuda(b)];
    cuda.configureCuda({ cublas: false });
    try {
      expect(cuda.cublasInfo()).toEqual({ available: false, reason: 'turned off by configureCuda({ cublas: false })' });
      const r = counted(() => ga.matmul(gb));
      expect(r).toMatchObject({ kernels: 1, routines: 0, calls: 0 });
      expectClose(r.out, a.matmul(b), 1e-5, 1e-5);
    } finally {
      cuda.configureCuda({ cublas: true });
    }
    expect(counted(() => ga.matmul(gb.narrow(1, 0, 79))).routines).toBe(1);
  });

  it('leaves dot products and thin products to the generated reductions', () => {
    const [v, w] = [onCuda(randn(100_000)), onCuda(randn(100_000))];
    expect(counted(() => v.mul(w).sum())).toMatchObject({ routines: 0 });
    const [m, x] = [onCuda(randn(300, 400)), onCuda(randn(400, 1))];
    expect(counted(() => m.matmul(x))).toMatchObject({ routines: 0 });
    expect(cuda.gemmPath({ dtype: 'float32', m: 300, n: 1, k: 400, batch: [], a: { offset: 0, rowStride: 400, colStride: 1 }, b: { offset: 0, rowStride: 1, colStride: 1 }, c: { offset: 0, rowStride: 1, colStride: 1 } })).toBe('generated');
  });

  it("makes one handle per device, with that device's context current", () => {
    torch.manualSeed(12);
    const a = randn(64, 96);
    const b = randn(96, 80);
    const handles = mock!.handles();
    const [ga, gb] = [onCuda(a, 'cuda:1'), onCuda(b, 'cuda:1')];
    const r = counted(() => ga.matmul(gb));
    expect(r.routines).toBe(1);
    expect(r.out.device).toBe('cuda:1');
    expect(mock!.handles()).toBe(handles + 1);
    expectClose(r.out, a.matmul(b), 1e-5, 1e-5);
    counted(() => ga.matmul(gb));
    expect(mock!.handles()).toBe(handles + 1);
  });

  it('writes a column-major c as C = op(A)·op(B) directly, and says no to layouts it cannot take', () => {
    const gemm = cuda.cudaBackend.routines!.gemm!;
    const [m, n, k] = [70, 65, 64];
    const A = Float32Array.from({ length: m * k }, (_, i) => ((i * 7) % 13) - 6);
    const B = Float32Array.from({ length: k * n }, (_, i) => ((i * 5) % 11) - 5);
    const buffer = (data: Float32Array) => {
      const buf = cuda.cudaBackend.alloc('float32', data.length, 0);
      cuda.cudaBackend.write(buf, data);
      return buf;
    };
    // a row-major (m×k), b column-major (k×n, ld k), c column-major (m×n, ld m), after an offset of 3
    const shape = {
      dtype: 'float32' as const,
      m,
      n,
      k,
      batch: [],
      a: { offset: 0, rowStride: k, colStride: 1 },
      b: { offset: 0, rowStride: 1, colStride: k },
      c: { offset: 3, rowStride: 1, colStride: m },
    };
    expect(gemm.supports(shape)).toBe(true);
    const c = cuda.cudaBackend.alloc('float32', 3 + m * n, 0);
    gemm.run(shape, buffer(A), buffer(B), c);
    expect(mock!.last()).toMatchObject({ fn: 'cublasSgemm_v2', ta: 'T', tb: 'N', m, n, k, lda: k, ldb: k, ldc: m });
    const out = cuda.cudaBackend.readSync!(c) as Float32Array;
    for (const [i, j] of [[0, 0], [m - 1, n - 1], [17, 40]] as const) {
      let want = 0;
      for (let l = 0; l < k; l++) want += A[i * k + l]! * B[j * k + l]!;
      expect(out[3 + i + j * m]).toBe(want);
    }
    expect(gemm.supports({ ...shape, c: { offset: 0, rowStride: 2, colStride: 2 * m } })).toBe(false); // c without a unit stride
    expect(gemm.supports({ ...shape, a: { offset: 0, rowStride: k, colStride: k * m } })).toBe(false); // a without one
    expect(gemm.supports({ ...shape, b: { offset: 0, rowStride: 1, colStride: k - 1 } })).toBe(false); // columns of b overlap
    expect(gemm.supports({ ...shape, dtype: 'int32' })).toBe(false);
    expect(gemm.supports({ ...shape, batch: [{ size: 2, a: 0, b: 0, c: -m * n }] })).toBe(false); // a backward batch step
    // a shape reaching past its buffer is refused before any call
    const small = cuda.cudaBackend.alloc('float32', 10, 0);
    expect(() => gemm.run(shape, small, buffer(B), c)).toThrow(/internal: GEMM operand a reaches element 4479 of a buffer of 10 on cuda:0/);
  });

  it('runs against a mock that checks arguments as cuBLAS does', () => {
    const h: unknown[] = [null];
    expect(mock!.create(h)).toBe(0);
    const one = new Float32Array([1]);
    const zero = new Float32Array([0]);
    const A = new Float32Array(6);
    const B = new Float32Array(6);
    const C = new Float32Array(4);
    // C(2×2) = A(2×3)·B(3×2): lda must be at least m = 2 for OP_N, at least k = 3 for OP_T
    expect(mock!.sgemm(h[0], 0, 0, 2, 2, 3, one, A, 2, B, 3, zero, C, 2)).toBe(0);
    expect(mock!.sgemm(h[0], 0, 0, 2, 2, 3, one, A, 1, B, 3, zero, C, 2)).toBe(7);
    expect(mock!.sgemm(h[0], 1, 0, 2, 2, 3, one, A, 2, B, 3, zero, C, 2)).toBe(7);
    expect(mock!.sgemm(h[0], 0, 0, 2, 2, 3, one, A, 2, B, 2, zero, C, 2)).toBe(7);
    expect(mock!.sgemm(h[0], 0, 0, 2, 2, 3, one, A, 2, B, 3, zero, C, 1)).toBe(7);
    expect(mock!.sgemm(null, 0, 0, 2, 2, 3, one, A, 2, B, 3, zero, C, 2)).toBe(1);
  });
});
