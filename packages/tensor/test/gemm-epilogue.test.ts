import { afterAll, describe, expect, it } from 'vitest';
import { blasInfo, configureBlas, configureWasmGemm } from '@fusor/backend-cpu';
import * as torch from '../src/index.js';

// Epilogues in the cpu backend's GEMM routines (the native BLAS where installed, the wasm
// micro-kernel): the elementwise chain after a product applied to C by the routine, against the
// same chain as a kernel of its own over the product's buffer (realized first), and against
// generated code with no routine at all.

const F = torch.functional;

function rand(shape: number[], seed: number): torch.Tensor {
  torch.manualSeed(seed);
  const t = torch.randn(...shape);
  t.dataSync();
  return t;
}

function worst(a: torch.Tensor, b: torch.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync() as Float32Array;
  const y = b.dataSync() as Float32Array;
  let w = 0;
  for (let i = 0; i < y.length; i++) w = Math.max(w, Math.abs(x[i]! - y[i]!) / (1 + Math.abs(y[i]!)));
  return w;
}

type Case = [name: string, product: (...xs: torch.Tensor[]) => torch.Tensor, chain: (y: torch.Tensor, ...xs: torch.Tensor[]) => torch.Tensor, shapes: number[][]];

const CASES: Case[] = [
  ['Linear + bias [N] + relu', (x, w) => x.matmul(w!.t()), (y, _x, _w, b) => y.add(b!).relu(), [[40, 36], [44, 36], [44]]],
  ['per-row bias [M, 1] + gelu', (x, w) => x.matmul(w!), (y, _x, _w, b) => F.gelu(y.add(b!)), [[40, 36], [36, 44], [40, 1]]],
  ['alpha · A@B, sigmoid', (x, w) => x.matmul(w!), (y) => y.mul(0.5).sigmoid(), [[40, 36], [36, 44]]],
  ['batched, transposed operands, bias [1, N] + tanh', (x, w) => x.transpose(1, 2).matmul(w!.transpose(1, 2)), (y, _x, _w, b) => y.add(b!).tanh(), [[2, 36, 40], [2, 44, 36], [1, 44]]],
  ['a non-contiguous residual', (x, w) => x.matmul(w!), (y, _x, _w, r) => y.add(r!.t()), [[40, 36], [36, 44], [44, 40]]],
];

const ROUTES: [string, boolean][] = [
  [`native BLAS (${blasInfo().library ?? 'not installed'})`, true],
  ['wasm micro-kernel', false],
];

afterAll(() => {
  configureBlas({ enabled: true, minMultiplyAdds: 64 ** 3 });
  configureWasmGemm({ enabled: true, minMultiplyAdds: 32 ** 3 });
});

for (const [route, blas] of ROUTES) {
  describe.skipIf(blas && !blasInfo().available)(`cpu gemm epilogues: ${route}`, () => {
    for (const [name, product, chain, shapes] of CASES) {
      it(`${name}: fused, equal to the chain as a kernel of its own`, () => {
        configureBlas({ enabled: blas, minMultiplyAdds: 0 });
        configureWasmGemm({ enabled: !blas, minMultiplyAdds: 0 });
        const xs = shapes.map((s, i) => rand(s, 10 + i));
        const fused = chain(product(...xs), ...xs);
        const ks = torch.explain(fused, { ir: false }).kernels;
        expect(ks.map((k) => k.routine ?? k.kind)).toEqual(['gemm']);
        expect(ks[0]!.epilogue).toMatch(/on the product before its store/);
        const before = torch.compilerStats();
        fused.dataSync();
        expect(torch.compilerStats().launched - before.launched).toBe(1);
        const y = product(...xs).realize();
        const separate = chain(y, ...xs);
        expect(worst(fused, separate)).toBeLessThan(1e-6);
      });
    }
  });
}

describe('cpu gemm epilogues against generated code', () => {
  it('forward and backward of Linear + bias + relu equal the routine-free values', () => {
    const grads = (routed: boolean): torch.Tensor[] => {
      configureBlas({ enabled: routed && blasInfo().available, minMultiplyAdds: 0 });
      configureWasmGemm({ enabled: routed, minMultiplyAdds: 0 });
      const [x, w, b] = [rand([40, 36], 1), rand([44, 36], 2), rand([44], 3)].map((t) => t.requiresGrad_());
      const y = x!.matmul(w!.t()).add(b!).relu();
      y.mul(torch.arange(44)).sum().backward();
      return [y.detach(), x!.grad!, w!.grad!, b!.grad!];
    };
    const routed = grads(true);
    const generated = grads(false);
    for (let i = 0; i < 4; i++) expect(worst(routed[i]!, generated[i]!), `output ${i}`).toBeLessThan(1e-4);
  });
});
