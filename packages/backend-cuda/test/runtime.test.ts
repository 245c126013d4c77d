/**
 * The backend on this machine's real libraries. Without a GPU (CI, most machines) it must say
 * why — naming libcuda when the driver is missing — and fail cleanly on use; with a GPU the same
 * file checks real results. Tests that need a GPU skip with the reason.
 */
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError } from '@fusor/compiler';
import { compilerStats, registeredBackends } from '@fusor/runtime';
import * as torch from '@fusor/tensor';
import * as cuda from '../src/index.js';

cuda.configureCuda({ diskCache: null });
const reason = cuda.unavailableReason();

describe('registration and availability', () => {
  it('registers the cuda device type on import', () => {
    expect(registeredBackends()).toContain('cuda');
    expect(cuda.cudaBackend.capabilities.dtypes).toContain('float64');
    expect(cuda.cudaBackend.capabilities.syncRead).toBe(true);
  });

  it('answers isAvailable() without throwing, with a reason when unavailable', () => {
    const a = cuda.cudaBackend.isAvailable();
    if (a.ok) expect(reason).toBeNull();
    else expect(a.reason).toBe(reason);
  });
});

describe.skipIf(reason === null)(`without a usable GPU${reason ? ` (${reason.slice(0, 80)}…)` : ''}`, () => {
  it('names what is missing: libcuda when there is no driver, else the GPU or NVRTC', () => {
    expect(reason).toMatch(/libcuda\.so\.1|no GPU|NVRTC \(libnvrtc\.so\) was not found/);
    if (!process.env['FUSOR_LIBCUDA_PATH'] && /no NVIDIA driver/.test(reason!)) expect(reason).toMatch(/libcuda\.so\.1 \(the NVIDIA driver library\) could not be loaded/);
  });

  it("rejects torch.init('cuda') with BackendUnavailableError saying why", async () => {
    await expect(torch.init('cuda')).rejects.toThrow(BackendUnavailableError);
    await expect(torch.init('cuda:1')).rejects.toThrow(`cuda is unavailable: ${reason}`);
  });

  it('fails cleanly on use, and the cpu keeps working', () => {
    expect(() => torch.ones(2, { device: 'cuda' }).tolistSync()).toThrow(BackendUnavailableError);
    expect(() => torch.ones(2).cuda().tolistSync()).toThrow(/cuda is unavailable/);
    expect(torch.ones(2).add(1).tolistSync()).toEqual([2, 2]);
    expect(cuda.deviceCount()).toBe(0);
    expect(cuda.isAvailable()).toBe(false);
  });

  it('offers no cuBLAS routine, and loads no cuBLAS, while cuda itself is unavailable', () => {
    expect(cuda.cublasInfo()).toEqual({ available: false, reason: `cuda is unavailable: ${reason}` });
    const layout = { offset: 0, rowStride: 128, colStride: 1 };
    const shape = { dtype: 'float32' as const, m: 128, n: 128, k: 128, batch: [], a: layout, b: layout, c: layout };
    expect(cuda.cudaBackend.routines!.gemm!.supports(shape)).toBe(false);
  });
});

describe.skipIf(reason !== null)(`on a real GPU${reason ? ` (skipped: ${reason.slice(0, 120)}…)` : ''}`, () => {
  it('initializes and describes the device', async () => {
    expect(await torch.init('cuda')).toMatch(/cuda:0, compute capability \d+\.\d+/);
  });

  it('computes what cpu computes, for one seed', () => {
    torch.manualSeed(3);
    const c = torch.rand(64, 32).matmul(torch.rand(32, 16)).softmax(1);
    torch.manualSeed(3);
    const g = torch.rand(64, 32, { device: 'cuda' }).matmul(torch.rand(32, 16, { device: 'cuda' })).softmax(1);
    const a = c.dataSync() as Float32Array;
    const b = g.dataSync() as Float32Array;
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-6);
  });

  const blas = cuda.cublasInfo();
  it.skipIf(!blas.available)(`multiplies through cuBLAS as cpu does, within float32 rounding (${blas.library ?? `skipped: ${blas.reason}`})`, () => {
    torch.manualSeed(4);
    const a = torch.randn(512, 384);
    const b = torch.randn(384, 256);
    const [ga, gb] = [a.cuda(), b.cuda()];
    ga.dataSync();
    gb.dataSync();
    const before = compilerStats().routines;
    const g = ga.matmul(gb).dataSync() as Float32Array;
    expect(compilerStats().routines - before).toBe(1);
    const c = a.matmul(b).dataSync() as Float32Array;
    for (let i = 0; i < c.length; i++) expect(Math.abs(g[i]! - c[i]!)).toBeLessThan(1e-4 + 1e-5 * Math.abs(c[i]!));
    // float16 in batches, accumulated in float32
    const h = torch.randn(4, 128, 256, { device: 'cuda' }).half();
    const k = torch.randn(4, 256, 64, { device: 'cuda' }).half();
    const hk = h.bmm(k).float().cpu().dataSync() as Float32Array;
    const ref = h.float().cpu().bmm(k.float().cpu()).dataSync() as Float32Array;
    for (let i = 0; i < ref.length; i++) expect(Math.abs(hk[i]! - ref[i]!)).toBeLessThan(1e-2 + 2 ** -10 * Math.abs(ref[i]!));
  });

  it('reports memory and recovers from out of memory', () => {
    const x = torch.ones(1 << 20, { device: 'cuda' }).mul(2);
    x.tolistSync();
    expect(cuda.memoryAllocated()).toBeGreaterThanOrEqual(4 << 20);
    const { total } = cuda.memGetInfo();
    expect(() => cuda.cudaBackend.alloc('float32', Math.ceil((total * 2) / 4), 0)).toThrow(cuda.CudaOutOfMemoryError);
    expect(torch.ones(3, { device: 'cuda' }).add(1).tolistSync()).toEqual([2, 2, 2]);
  });
});
