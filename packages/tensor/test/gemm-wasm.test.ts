import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { configureBlas, configureCpu, configureWasmGemm, cpuConfig, cpuWorkersReady } from '@fusor/backend-cpu';
import * as torch from '../src/index.js';

// The cpu backend's portable GEMM routine (a WebAssembly SIMD128 micro-kernel), taken when the
// native BLAS is unavailable or disabled: its values against the generated kernels'.

function rand(shape: number[], seed: number): torch.Tensor {
  torch.manualSeed(seed);
  const t = torch.randn(...shape);
  t.dataSync();
  return t;
}

const values = (t: torch.Tensor): Float32Array => Float32Array.from(t.dataSync() as Float32Array);

function run(routed: boolean, f: () => torch.Tensor): { values: Float32Array; routines: number; shape: number[] } {
  configureBlas({ enabled: false });
  configureWasmGemm({ enabled: routed, minMultiplyAdds: 0 });
  const before = torch.compilerStats();
  const t = f();
  const v = values(t);
  return { values: v, routines: torch.compilerStats().routines - before.routines, shape: t.shape };
}

function close(a: Float32Array, b: Float32Array, k: number): void {
  expect(a.length).toBe(b.length);
  const tol = 1e-5 * Math.sqrt(k) * 8;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
  expect(worst).toBeLessThan(tol);
}

beforeEach(() => configureWasmGemm({ enabled: true, minMultiplyAdds: 0 }));
afterAll(() => {
  configureBlas({ enabled: true });
  configureWasmGemm({ enabled: true, minMultiplyAdds: 32 ** 3 });
});

describe('wasm simd gemm routine', () => {
  const cases: [string, number, () => torch.Tensor][] = [
    ['mm, odd sizes', 17, () => rand([33, 17], 1).matmul(rand([17, 29], 2))],
    ['mm, 2×2', 2, () => rand([2, 2], 1).matmul(rand([2, 2], 2))],
    ['mm, exact tiles', 64, () => rand([64, 64], 1).matmul(rand([64, 48], 2))],
    ['mm, k past one packed block (k = 600)', 600, () => rand([37, 600], 1).matmul(rand([600, 45], 2))],
    ['mm, rows past one row block (m = 300)', 70, () => rand([300, 70], 1).matmul(rand([70, 19], 2))],
    ['mm, k = 2', 2, () => rand([9, 2], 1).matmul(rand([2, 13], 2))],
    ['transposed left operand', 17, () => rand([17, 33], 1).t().matmul(rand([17, 29], 2))],
    ['transposed right operand', 17, () => rand([33, 17], 1).matmul(rand([29, 17], 2).t())],
    ['both transposed', 17, () => rand([17, 33], 1).t().matmul(rand([29, 17], 2).t())],
    ['bmm', 5, () => rand([3, 9, 5], 1).bmm(rand([3, 5, 7], 2))],
    ['batched against a broadcast matrix', 5, () => rand([4, 6, 5], 3).matmul(rand([5, 8], 4))],
    ['broadcast batch dims on both sides', 5, () => rand([2, 1, 6, 5], 3).matmul(rand([3, 5, 4], 4))],
    ['a product written transposed', 6, () => rand([10, 6], 1).matmul(rand([6, 12], 2)).t().contiguous()],
    ['x.T @ x', 20, () => {
      const x = rand([20, 9], 7);
      return x.t().matmul(x);
    }],
    ['a sliced operand', 6, () => rand([12, 10], 1).narrow(1, 2, 6).matmul(rand([6, 5], 2))],
    ['with an epilogue', 40, () => rand([20, 40], 1).relu().matmul(rand([40, 30], 2)).add(rand([30], 3)).relu()],
  ];
  for (const [name, k, f] of cases) {
    it(`${name}: the generated kernel's values within float32 tolerance, by one routine call`, () => {
      const generated = run(false, f);
      const routed = run(true, f);
      expect(routed.shape).toEqual(generated.shape);
      close(routed.values, generated.values, k);
      expect(generated.routines).toBe(0);
      expect(routed.routines).toBe(1);
    });
  }

  it('float64, integer, matrix-vector and dot products stay generated code', () => {
    expect(run(true, () => rand([9, 11], 1).double().matmul(rand([11, 4], 2).double())).routines).toBe(0);
    expect(run(true, () => rand([12, 7], 5).mv(rand([7], 6))).routines).toBe(0);
    expect(run(true, () => rand([7], 6).matmul(rand([7, 12], 5))).routines).toBe(0);
    expect(run(true, () => rand([12, 7], 5).matmul(rand([7, 1], 6))).routines).toBe(0);
  });

  it('split over the worker pool: the same values, bit for bit, as on one thread', async () => {
    const saved = cpuConfig();
    const f = () => rand([67, 300], 1).matmul(rand([300, 53], 2)).add(0);
    try {
      configureCpu({ threads: 1 });
      const one = run(true, f);
      configureCpu({ threads: 2, parallelThreshold: 0 });
      expect(await cpuWorkersReady()).toBe(2);
      const two = run(true, f);
      expect(two.routines).toBe(1);
      expect(Array.from(two.values)).toEqual(Array.from(one.values));
      const generated = run(false, f);
      close(two.values, generated.values, 300);
    } finally {
      configureCpu({ threads: saved.threads, parallelThreshold: saved.parallelThreshold });
    }
  });

  it('an MLP training step: gradients agree with the generated path', () => {
    const step = (routed: boolean): Float32Array[] => {
      configureBlas({ enabled: false });
      configureWasmGemm({ enabled: routed, minMultiplyAdds: 0 });
      torch.manualSeed(3);
      const w1 = torch.randn(12, 16).mul(0.3).requiresGrad_();
      const w2 = torch.randn(16, 5).mul(0.3).requiresGrad_();
      const x = torch.randn(9, 12);
      const t = torch.randn(9, 5);
      x.matmul(w1).relu().matmul(w2).logSoftmax(1).mul(t).sum().neg().backward();
      return [values(w1.grad!), values(w2.grad!)];
    };
    const g = step(false);
    const r = step(true);
    close(r[0]!, g[0]!, 16);
    close(r[1]!, g[1]!, 16);
  });
});
