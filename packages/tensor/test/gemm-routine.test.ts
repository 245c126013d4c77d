import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { blasInfo, configureBlas, cpuBackend } from '@fusor/backend-cpu';
import type { GemmRoutine, GemmShape } from '@fusor/compiler';
import * as torch from '../src/index.js';

// The cpu backend's optional GEMM routine (a native BLAS through koffi). Where no library is
// installed these tests are skipped, and every product runs as generated code.
const info = blasInfo();
const native = info.available;

/** Small integers: every product and sum is exact in float32, so both paths must agree bit for bit. */
function ints(shape: number[], seed: number, dtype: torch.DType = torch.float32): torch.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const t = torch.tensor(Array.from({ length: n }, (_, i) => ((i * 7 + seed * 13) % 9) - 4), { dtype }).reshape(shape);
  t.dataSync();
  return t;
}

const values = (t: torch.Tensor): number[] => Array.from(t.dataSync() as Float32Array);

/** The result and the launches of `f`, with products routed to the library or not. */
function run(routed: boolean, f: () => torch.Tensor): { values: number[]; routines: number; launched: number; shape: number[] } {
  configureBlas({ enabled: routed, minMultiplyAdds: 0 });
  const before = torch.compilerStats();
  const t = f();
  const v = values(t);
  const after = torch.compilerStats();
  return { values: v, routines: after.routines - before.routines, launched: after.launched - before.launched, shape: t.shape };
}

beforeEach(() => configureBlas({ enabled: true, minMultiplyAdds: 0 }));
afterAll(() => configureBlas({ enabled: true, minMultiplyAdds: 64 ** 3 }));

describe.skipIf(!native)(`gemm routine (${info.library ?? info.reason})`, () => {
  const cases: [string, () => torch.Tensor][] = [
    ['mm', () => ints([33, 17], 1).matmul(ints([17, 29], 2))],
    ['mm with a transposed left operand', () => ints([17, 33], 1).t().matmul(ints([17, 29], 2))],
    ['mm with a transposed right operand', () => ints([33, 17], 1).matmul(ints([29, 17], 2).t())],
    ['mm with both transposed', () => ints([17, 33], 1).t().matmul(ints([29, 17], 2).t())],
    ['bmm', () => ints([3, 9, 5], 1).bmm(ints([3, 5, 7], 2))],
    ['batched matmul against a broadcast matrix', () => ints([4, 6, 5], 3).matmul(ints([5, 8], 4))],
    ['broadcast batch dims on both sides', () => ints([2, 1, 6, 5], 3).matmul(ints([3, 5, 4], 4))],
    ['a product written transposed', () => ints([10, 6], 1).matmul(ints([6, 12], 2)).t().contiguous()],
    ['x.T @ x (one buffer, both operands)', () => {
      const x = ints([20, 9], 7);
      return x.t().matmul(x);
    }],
    ['a sliced operand', () => ints([12, 10], 1).narrow(1, 2, 6).matmul(ints([6, 5], 2))],
  ];

  for (const [name, f] of cases) {
    it(`${name}: the same values as the generated kernel, computed by one routine call`, () => {
      const generated = run(false, f);
      const routed = run(true, f);
      expect(routed.shape).toEqual(generated.shape);
      expect(routed.values).toEqual(generated.values);
      expect(generated.routines).toBe(0);
      expect(routed.routines).toBe(1);
    });
  }

  it('float64 products go to dgemm', () => {
    const f = () => ints([9, 11], 1, torch.float64).matmul(ints([11, 4], 2, torch.float64));
    const generated = run(false, f);
    const routed = run(true, f);
    expect(routed.values).toEqual(generated.values);
    expect(routed.routines).toBe(1);
  });

  it('integer products, matrix-vector and dot products stay generated code (fused with their neighbours)', () => {
    expect(run(true, () => ints([9, 11], 1, torch.int32).matmul(ints([11, 4], 2, torch.int32))).routines).toBe(0);
    expect(run(true, () => ints([12, 7], 5).mv(ints([7], 6))).routines).toBe(0);
    expect(run(true, () => ints([7], 6).matmul(ints([7, 12], 5))).routines).toBe(0);
    expect(run(true, () => ints([7, 3], 6).mul(ints([7, 3], 5)).sum()).routines).toBe(0);
  });

  it('explain() names the routine; the prologue is a kernel of its own, the epilogue fuses into the routine', () => {
    configureBlas({ enabled: true, minMultiplyAdds: 0 });
    const x = ints([8, 6], 1);
    const w = ints([6, 5], 2);
    const b = ints([5], 3);
    const y = x.relu().matmul(w).add(b).relu();
    const ks = torch.explain(y).kernels;
    expect(ks.map((k) => k.routine ?? k.kind)).toEqual(['kernel', 'gemm']);
    expect(ks[0]!.reason).toBe('operand of a matrix product computed by the gemm routine');
    expect(ks[1]!.name).toBe('gemm_8x5x6_epilogue');
    expect(ks[1]!.reason).toBe('output');
    expect(ks[1]!.epilogue).toBe('ADD CMPLT CMPEQ WHERE on the product before its store, reading float32[5]');
    expect(torch.explain(y).toString()).toContain('[1] gemm_8x5x6_epilogue (gemm routine on cpu) float32[8, 6], float32[6, 5], float32[5] -> float32[8, 5]');
    // fresh inputs each time: the same graph over the same buffers would already be computed
    const f = (): (() => torch.Tensor) => {
      const [x, w, b] = [ints([8, 6], 1), ints([6, 5], 2), ints([5], 3)];
      return () => x.relu().matmul(w).add(b).relu();
    };
    const routed = run(true, f());
    const generated = run(false, f());
    expect(routed.values).toEqual(generated.values);
    expect(routed.launched).toBe(2);
    expect(generated.launched).toBe(1);
  });

  it('products below the size threshold stay generated code', () => {
    configureBlas({ enabled: true, minMultiplyAdds: 1000 });
    const small = () => ints([8, 8], 1).matmul(ints([8, 8], 2)); // 512 multiply-adds
    const big = () => ints([16, 8], 1).matmul(ints([8, 8], 2)); // 1024
    expect(torch.explain(small()).kernels[0]!.routine).toBeUndefined();
    expect(torch.explain(big()).kernels[0]!.routine).toBe('gemm');
    configureBlas({ minMultiplyAdds: 0 });
  });

  it('an MLP training step: the gradients agree with the generated path', () => {
    const step = (routed: boolean): number[][] => {
      configureBlas({ enabled: routed, minMultiplyAdds: 0 });
      torch.manualSeed(3);
      const w1 = torch.randn(12, 16).mul(0.3).requiresGrad_();
      const b1 = torch.zeros(16).requiresGrad_();
      const w2 = torch.randn(16, 5).mul(0.3).requiresGrad_();
      const x = torch.randn(9, 12);
      const t = torch.randn(9, 5);
      const loss = x.matmul(w1).add(b1).relu().matmul(w2).logSoftmax(1).mul(t).sum().neg();
      const before = torch.compilerStats().routines;
      loss.backward();
      // forward and backward: x·w1, h·w2, dw2 = hᵀ·g, dh = g·w2ᵀ, dw1 = xᵀ·dh
      if (routed) expect(torch.compilerStats().routines - before).toBe(5);
      return [loss, w1.grad!, b1.grad!, w2.grad!].map(values);
    };
    const generated = step(false);
    const routed = step(true);
    routed.forEach((vs, i) => vs.forEach((v, j) => expect(v).toBeCloseTo(generated[i]![j]!, 4)));
  });
});

interface ViewBuffer {
  readonly dtype: 'float32';
  readonly size: number;
  readonly data: Float32Array;
}

describe.skipIf(!native)('gemm routine on buffers that are views of shared memory', () => {
  const shape = (m: number, n: number, k: number, offsets: [number, number, number]): GemmShape => ({
    dtype: 'float32',
    m,
    n,
    k,
    batch: [],
    a: { offset: offsets[0], rowStride: k, colStride: 1 },
    b: { offset: offsets[1], rowStride: n, colStride: 1 },
    c: { offset: offsets[2], rowStride: n, colStride: 1 },
  });
  const memories: [string, () => ArrayBufferLike][] = [
    ['a SharedArrayBuffer', () => new SharedArrayBuffer(1 << 16)],
    ['a shared WebAssembly.Memory', () => new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true }).buffer],
  ];
  for (const [name, make] of memories) {
    it(`reads and writes views of ${name} at offsets, without copies`, () => {
      const heap = new Float32Array(make());
      // the routine reads buffers through their `data` view, whatever memory it is a view of
      const view = (start: number, size: number): ViewBuffer => ({ dtype: 'float32', size, data: heap.subarray(start, start + size) });
      const routine = cpuBackend.routines!.gemm! as unknown as GemmRoutine<ViewBuffer>;
      const a = view(64, 16);
      const b = view(256, 16);
      const c = view(1024, 16);
      for (let i = 0; i < 16; i++) {
        a.data[i] = i - 3;
        b.data[i] = (i * 5) % 7;
      }
      const g = shape(2, 3, 4, [1, 2, 3]);
      expect(routine.supports(g)).toBe(true);
      routine.run(g, a, b, c);
      for (let i = 0; i < 2; i++) {
        for (let j = 0; j < 3; j++) {
          let want = 0;
          for (let p = 0; p < 4; p++) want += a.data[1 + i * 4 + p]! * b.data[2 + p * 3 + j]!;
          expect(heap[1024 + 3 + i * 3 + j]).toBe(want);
        }
      }
    });
  }
});

describe('without a native library', () => {
  it('a library that does not load leaves products to generated code, and says why', () => {
    configureBlas({ library: '/nonexistent/libblas.so', enabled: true, minMultiplyAdds: 0 });
    try {
      const i = blasInfo();
      expect(i.available).toBe(false);
      expect(i.reason).toContain('/nonexistent/libblas.so');
      const x = ints([8, 6], 1);
      const y = x.matmul(ints([6, 5], 2));
      expect(torch.explain(y).kernels.map((k) => k.routine)).toEqual([undefined]);
      expect(y.shape).toEqual([8, 5]);
    } finally {
      configureBlas({ library: undefined });
    }
  });
});
