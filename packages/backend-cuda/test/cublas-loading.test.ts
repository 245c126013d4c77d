/**
 * Loading cuBLAS: beside its libcublasLt, as a wheel lays them out; and, as it is optional, where
 * it cannot be loaded (here FUSOR_CUBLAS_PATH names no file) or does not work with the driver,
 * the cuda backend says why and multiplies with generated kernels.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compilerStats } from '@fusor/runtime';
import * as torch from '@fusor/tensor';
import { Cublas } from '../src/cublas.js';
import { CudaRuntime } from '../src/runtime.js';
import { emulatorUnavailable, installEmulator } from './emulator/emulator.js';

const why = emulatorUnavailable();
const emu = why ? null : installEmulator({ FUSOR_CUBLAS_PATH: '/nonexistent/libcublas.so.13' });
const cuda = await import('../src/index.js');
cuda.configureCuda({ diskCache: null });

describe.skipIf(why !== null)(`without cuBLAS, on the emulator${why ? ` (skipped: ${why})` : ''}`, () => {
  it('says where it looked', () => {
    const info = cuda.cublasInfo();
    expect(info.available).toBe(false);
    expect(info.reason).toMatch(/^cuBLAS \(libcublas\.so\) could not be loaded\. Looked in: FUSOR_CUBLAS_PATH=\/nonexistent\/libcublas\.so\.13 \(tried \/nonexistent\/libcublas\.so\.13: .+\)\. Install the CUDA toolkit or `pip install nvidia-cublas-cu12`, or set FUSOR_CUBLAS_PATH/);
  });

  it('multiplies with generated kernels', () => {
    torch.manualSeed(1);
    const a = torch.randn(64, 96);
    const b = torch.randn(96, 80);
    const [ga, gb] = [a.cuda(), b.cuda()];
    ga.dataSync();
    gb.dataSync();
    const before = compilerStats();
    const g = ga.matmul(gb).cpu().dataSync() as Float32Array;
    expect(compilerStats().routines).toBe(before.routines);
    expect(compilerStats().launched).toBeGreaterThan(before.launched);
    const c = a.matmul(b).dataSync() as Float32Array;
    for (let i = 0; i < c.length; i++) expect(Math.abs(g[i]! - c[i]!)).toBeLessThan(1e-5 + 1e-5 * Math.abs(c[i]!));
  });

  it('reports a library that loads but cannot make a handle, by its cuBLAS status', () => {
    const runtime = CudaRuntime.open(process.env, { diskCache: null }) as CudaRuntime;
    process.env['MOCK_CUBLAS_CREATE'] = '1';
    try {
      expect(Cublas.open(runtime, { FUSOR_CUBLAS_PATH: emu!.cublas })).toBe(`${emu!.cublas} loaded, but cublasCreate_v2 failed: CUBLAS_STATUS_NOT_INITIALIZED`);
    } finally {
      delete process.env['MOCK_CUBLAS_CREATE'];
    }
    const ok = Cublas.open(runtime, { FUSOR_CUBLAS_PATH: emu!.cublas });
    expect(ok).toBeInstanceOf(Cublas);
    expect((ok as Cublas).version).toBe('12.8.4');
  });

  it('loads libcublasLt from beside libcublas first, so that libcublas finds it', () => {
    // a wheel's layout: libcublas.so.13 needs libcublasLt.so.13, in its directory but not on the loader's path
    const dir = mkdtempSync(join(tmpdir(), 'fusor-cublas-wheel-'));
    writeFileSync(join(dir, 'lt.c'), 'int cublasLtMock(void) { return 13; }\n');
    execFileSync('gcc', ['-shared', '-fPIC', '-o', join(dir, 'libcublasLt.so.13'), '-Wl,-soname,libcublasLt.so.13', join(dir, 'lt.c')]);
    const source = fileURLToPath(new URL('./emulator/mock-cublas.c', import.meta.url));
    execFileSync('gcc', ['-shared', '-fPIC', '-o', join(dir, 'libcublas.so.13'), source, '-Wl,--no-as-needed', `-L${dir}`, '-l:libcublasLt.so.13', '-lm']);
    expect(execFileSync('readelf', ['-d', join(dir, 'libcublas.so.13')]).toString()).toContain('[libcublasLt.so.13]');
    const runtime = CudaRuntime.open(process.env, { diskCache: null }) as CudaRuntime;
    const opened = Cublas.open(runtime, { FUSOR_CUBLAS_PATH: dir });
    expect(opened).toBeInstanceOf(Cublas);
    expect((opened as Cublas).path).toBe(join(dir, 'libcublas.so.13'));
  });
});
