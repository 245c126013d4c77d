/**
 * Epilogues in the cuda backend's own GEMM kernels (gemm-kernels.ts), on the emulator: the
 * elementwise chain after a product (a bias, an activation, a residual) computed at the SIMT
 * kernel's store, against the cpu backend's values; vector and element-wise stores of C, float32
 * and float64; and the fused kernels' source through nvcc (real CUDA) where it is installed.
 */
import { describe, expect, it } from 'vitest';
import { planSchedule } from '@fusor/runtime';
import * as torch from '@fusor/tensor';
import { renderGemm } from '../src/gemm-kernels.js';
import { emulatorUnavailable, installEmulator } from './emulator/emulator.js';
import { compilePtx, findNvcc } from './nvcc.js';

const why = emulatorUnavailable();
if (!why) installEmulator({ MOCK_CUDA_MEMORY: String(1 << 30) });
const cuda = await import('../src/index.js');
// products go to the backend's own GEMM kernels (cuBLAS takes no epilogue)
cuda.configureCuda({ diskCache: null, cublas: false });

function worst(got: torch.Tensor, want: torch.Tensor): number {
  expect(got.shape).toEqual(want.shape);
  const g = got.dataSync() as Float32Array;
  const w = want.dataSync() as Float32Array;
  let bad = 0;
  for (let i = 0; i < w.length; i++) bad = Math.max(bad, Math.abs(g[i]! - w[i]!) / (1 + Math.abs(w[i]!)));
  return bad;
}

const launches = (t: torch.Tensor): [string, string | undefined][] => torch.explain(t, { ir: false }).kernels.map((k) => [k.routine ?? k.kind, k.epilogue]);

describe.skipIf(why !== null)(`cuda gemm epilogues on the emulator${why ? ` (${why})` : ''}`, () => {
  it('Linear + bias + relu (vector stores of C) and a transposed result plus a residual (element-wise stores)', async () => {
    await torch.init('cuda');
    torch.manualSeed(5);
    const [x, w, b, r] = [torch.randn(130, 128), torch.randn(132, 128), torch.randn(132), torch.randn(132, 130)];
    const [xc, wc, bc, rc] = [x, w, b, r].map((t) => t.to('cuda').realize()) as [torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor];
    const linear = xc.matmul(wc.t()).add(bc).relu();
    expect(launches(linear)).toEqual([['gemm', 'ADD CMPLT CMPEQ WHERE on the product before its store, reading float32[132]']]);
    expect(worst(linear, x.matmul(w.t()).add(b).relu())).toBeLessThan(1e-4);
    const transposed = xc.matmul(wc.t()).t().mul(0.5).add(rc);
    expect(launches(transposed)).toEqual([['gemm', 'MUL ADD on the product before its store, reading float32[132, 130]']]);
    expect(worst(transposed, x.matmul(w.t()).t().mul(0.5).add(r))).toBeLessThan(1e-4);
  }, 300_000);

  it('float64: bias per row and tanh', () => {
    torch.manualSeed(6);
    const [x, w, b] = [torch.randn(128, 136, { dtype: torch.float64 }), torch.randn(136, 128, { dtype: torch.float64 }), torch.randn(128, 1, { dtype: torch.float64 })];
    const [xc, wc, bc] = [x, w, b].map((t) => t.to('cuda').realize()) as [torch.Tensor, torch.Tensor, torch.Tensor];
    const y = xc.matmul(wc).add(bc).tanh();
    expect(launches(y)).toEqual([['gemm', expect.stringContaining('reading float64[128, 1]')]]);
    const got = y.dataSync() as Float64Array;
    const want = x.matmul(w).add(b).tanh().dataSync() as Float64Array;
    let bad = 0;
    for (let i = 0; i < want.length; i++) bad = Math.max(bad, Math.abs(got[i]! - want[i]!));
    expect(bad).toBeLessThan(1e-12);
  }, 300_000);

  const nvcc = findNvcc();
  it.skipIf(!nvcc)('the fused kernels compile with nvcc', async () => {
    const sources = [torch.float32, torch.float64].map((dtype) => {
      const [x, w, b] = [torch.randn(128, 136, { dtype }), torch.randn(136, 128, { dtype }), torch.randn(128, { dtype })].map((t) => t.to('cuda').realize());
      const item = planSchedule([x!.matmul(w!).add(b!).sigmoid().node]).find((i) => i.gemm)!;
      const g = item.gemm!.shape;
      expect(g.epilogue).toBeDefined();
      return renderGemm({ dtype: g.dtype as 'float32' | 'float64', aMajor: 'k', bMajor: 'n', aVector: true, bVector: false, epilogue: g.epilogue! });
    });
    for (const r of await compilePtx(nvcc!, sources)) expect(r.ok, r.log.slice(0, 2000)).toBe(true);
  }, 300_000);
});
