/**
 * The runtime on the emulator (mock driver + NVRTC, kernels compiled for the host): device
 * discovery, the allocator and its figures, copies of every dtype, launches, out-of-memory
 * errors and recovery, and tensors moving between devices through the frontend.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, type Kernel } from '@fusor/compiler';
import { compilerStats } from '@fusor/runtime';
import { hostArray, type DType } from '@fusor/ir';
import * as torch from '@fusor/tensor';
import { emulatorUnavailable, installEmulator } from './emulator/emulator.js';

const why = emulatorUnavailable();
const emu = why ? null : installEmulator({ MOCK_CUDA_DEVICES: '2', MOCK_CUDA_MEMORY: String(64 << 20) });
const cuda = await import('../src/index.js');
cuda.configureCuda({ diskCache: null });

describe.skipIf(why !== null)(`cuda runtime on the emulator${why ? ` (skipped: ${why})` : ''}`, () => {
  it('is available and describes the device', async () => {
    expect(cuda.unavailableReason()).toBeNull();
    const text = await torch.init('cuda');
    expect(text).toMatch(/^Fusor Emulated GPU 0 \(cuda:0, compute capability 9\.0, 64\.00 MiB, 4 SMs; driver API 12\.8, NVRTC 12\.8 → sm_90; \/\S+\/libmockcuda\.so, \/\S+\/libmockcuda\.so\); 2 devices/);
    expect(cuda.deviceCount()).toBe(2);
    expect(cuda.getDeviceCapability(1)).toEqual([9, 0]);
    expect(cuda.getDeviceName(1)).toBe('Fusor Emulated GPU 1');
  });

  it('round-trips every dtype through device memory', () => {
    const values: Record<DType, number[]> = {
      bool: [0, 1, 1],
      uint8: [0, 200, 255],
      int8: [-128, 5, 127],
      int16: [-32768, 7, 32767],
      int32: [-(2 ** 31), 3, 2 ** 31 - 1],
      int64: [-(2 ** 53), 11, 2 ** 53],
      float16: [0x3c00, 0x7c00, 0x8001],
      bfloat16: [0x3f80, 0xff80, 0x0001],
      float32: [1.5, -Infinity, NaN],
      float64: [Math.PI, -0, 1e300],
    };
    for (const [dtype, vals] of Object.entries(values) as [DType, number[]][]) {
      const host = hostArray(dtype, vals.length);
      vals.forEach((v, i) => (host[i] = (host instanceof BigInt64Array ? BigInt(v) : v) as never));
      const buf = cuda.cudaBackend.alloc(dtype, vals.length, 1);
      cuda.cudaBackend.write(buf, host);
      expect(cuda.cudaBackend.readSync!(buf), dtype).toEqual(host);
      cuda.cudaBackend.free(buf);
    }
  });

  it('caches freed blocks and reports allocated and reserved bytes', () => {
    cuda.emptyCache();
    const before = cuda.memoryAllocated(0);
    const a = cuda.cudaBackend.alloc('float32', 1000, 0);
    expect(cuda.memoryAllocated(0) - before).toBe(4096); // 4000 bytes round to 512-byte blocks
    const reserved = cuda.memoryReserved(0);
    cuda.cudaBackend.free(a);
    expect(cuda.memoryAllocated(0)).toBe(before);
    expect(cuda.memoryReserved(0)).toBe(reserved); // kept in the cache
    const b = cuda.cudaBackend.alloc('int32', 1024, 0);
    expect(b.ptr).toBe(a.ptr); // the same block, no driver call
    cuda.cudaBackend.free(b);
    cuda.cudaBackend.free(b); // a second free is ignored
    expect(cuda.memoryAllocated(0)).toBe(before);
    cuda.emptyCache();
    expect(cuda.memoryReserved(0)).toBe(reserved - 4096);
    expect(cuda.maxMemoryAllocated(0)).toBeGreaterThanOrEqual(4096);
  });

  it('says how much was asked and how much is free when memory runs out, and keeps working', () => {
    const big = () => cuda.cudaBackend.alloc('float32', 100 << 20, 0); // 400 MiB of a 64 MiB device
    expect(big).toThrow(cuda.CudaOutOfMemoryError);
    expect(big).toThrow(/CUDA out of memory\. Tried to allocate 400\.00 MiB\. GPU 0 has a total capacity of 64\.00 MiB of which [\d.]+ MiB is free/);
    const x = torch.ones(4, { device: 'cuda' }).mul(3);
    expect(x.tolistSync()).toEqual([3, 3, 3, 3]);
  });

  it('a tensor op that runs out of memory raises PyTorch\'s error through the runtime; what was computed before still reads', () => {
    const kept = torch.arange(6, { device: 'cuda' }).float().mul(2);
    kept.dataSync();
    const lazy = torch.ones(3, { device: 'cuda' }).add(1);
    const huge = torch.rand(100 << 20, { device: 'cuda' }); // 400 MiB of a 64 MiB device
    expect(() => huge.add(1).dataSync()).toThrow(cuda.CudaOutOfMemoryError);
    expect(() => huge.add(1).dataSync()).toThrow(/^CUDA out of memory\. Tried to allocate 400\.00 MiB/);
    expect(kept.tolistSync()).toEqual([0, 2, 4, 6, 8, 10]);
    expect(lazy.tolistSync()).toEqual([2, 2, 2]);
  });

  it('frees the cache and retries before reporting out of memory', () => {
    const blocks = Array.from({ length: 5 }, () => cuda.cudaBackend.alloc('float32', 3 << 20, 0)); // 5 × 12 MiB
    for (const b of blocks) cuda.cudaBackend.free(b);
    expect(cuda.memoryReserved(0)).toBeGreaterThanOrEqual(60 << 20);
    const other = cuda.cudaBackend.alloc('float32', 5 << 20, 0); // 20 MiB: fits only once the cache is returned
    expect(cuda.memoryReserved(0)).toBeLessThan(40 << 20);
    cuda.cudaBackend.free(other);
  });

  it('runs kernels: moves tensors to cuda, computes, reads back (sync and async)', async () => {
    const a = torch.tensor([[1, 2, 3], [4, 5, 6]], { dtype: torch.float32 });
    const g = a.cuda();
    expect(g.device).toBe('cuda:0');
    const y = g.mul(2).add(1).relu().sum(1);
    expect(y.tolistSync()).toEqual([15, 33]);
    expect(await y.tolist()).toEqual([15, 33]);
    expect(String(g.t().contiguous())).toBe("tensor([[1., 4.],\n        [2., 5.],\n        [3., 6.]], device='cuda:0')");
    expect(y.cpu().device).toBe('cpu');
  });

  it('runs on cuda:1 and copies between devices', () => {
    const x = torch.arange(0, 6, 1, { dtype: torch.int64, device: 'cuda:1' });
    const y = x.mul(x).to('cuda:0');
    expect(y.device).toBe('cuda:0');
    expect(y.tolistSync()).toEqual([0, 1, 4, 9, 16, 25]);
    expect(() => torch.ones(2, { device: 'cuda:5' }).tolistSync()).toThrow(/invalid device ordinal: cuda:5 does not exist \(2 CUDA devices are present\)/);
  });

  it('gives the same random numbers as cpu for one seed', () => {
    torch.manualSeed(42);
    const c = torch.rand(1000).tolistSync();
    torch.manualSeed(42);
    const g = torch.rand(1000, { device: 'cuda' }).tolistSync();
    expect(g).toEqual(c);
  });

  it('computes 16-bit floats (stored as bits) and reads them back', () => {
    const h = torch.tensor([1, 2, 3], { dtype: torch.float32, device: 'cuda' }).half().mul(1.5);
    expect(h.dtype).toBe('float16');
    // stored on the device as bits; users read values (float32 holds every float16 exactly)
    expect(h.dataSync()).toBeInstanceOf(Float32Array);
    expect([...h.dataSync()]).toEqual([1.5, 3, 4.5]);
    expect(h.toString()).toBe("tensor([1.5000, 3.0000, 4.5000], device='cuda:0', dtype=torch.float16)");
    expect(torch.tensor([1.5, -2, 65504], { dtype: torch.float16, device: 'cuda' }).float().tolistSync()).toEqual([1.5, -2, 65504]);
    const b = torch.tensor([1, 2, 3], { dtype: torch.float32, device: 'cuda' }).to('bfloat16').mul(1.5).float();
    expect(b.tolistSync()).toEqual([1.5, 3, 4.5]);
  });

  it('launches one program many times from the compile cache', () => {
    const x = torch.ones(10, { device: 'cuda' });
    x.mul(7).tolistSync();
    const compiled = compilerStats().compiled;
    for (let i = 0; i < 3; i++) expect(torch.ones(10, { device: 'cuda' }).mul(7).tolistSync()).toEqual(new Array(10).fill(7));
    expect(compilerStats().compiled).toBe(compiled);
  });

  it('measures GPU time with events', () => {
    const ms = cuda.cudaBackend.time(() => void torch.ones(1000, { device: 'cuda' }).exp().tolistSync());
    expect(ms).toBeGreaterThanOrEqual(0);
  });

  it('reports NVRTC errors with the log and the source', () => {
    const bad: Kernel = { name: 'bad', size: 1, buffers: [], vars: [], body: [], key: 'bad' };
    const program = () => cuda.cudaBackend.compile({ ...cuda.renderCudaProgram(bad), source: '// FUSOR_MOCK_COMPILE_ERROR\n' }, bad);
    expect(program).toThrow(cuda.CudaCompileError);
    expect(program).toThrow(/NVRTC could not compile bad\.cu for sm_90 \(NVRTC_ERROR_COMPILATION\):\nkernel\.cu\(1\): error: mock compile error/);
  });

  it('keeps compiled modules on disk, keyed by source and architecture', async () => {
    const { CudaRuntime } = await import('../src/runtime.js');
    type Runtime = Exclude<ReturnType<typeof CudaRuntime.open>, string>;
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const compiles = koffi.load(emu!.library).func('unsigned int mock_nvrtc_compiles()') as () => number;
    const dir = mkdtempSync(join(tmpdir(), 'fusor-cuda-cache-'));
    const open = () => CudaRuntime.open(process.env, { diskCache: dir }) as Runtime;
    const source = cuda.renderCuda({ name: 'E_1', size: 1, buffers: [{ dtype: 'float32', size: 1, output: true }], vars: [], body: [], key: 'E_1' });
    const first = open();
    const n = compiles();
    const image = first.image(source, 0, 'E_1');
    expect(compiles()).toBe(n + 1);
    expect(readdirSync(dir)).toEqual([expect.stringMatching(/^[0-9a-f]{64}\.cubin$/)]);
    first.image(source, 0, 'E_1'); // memory
    expect(open().image(source, 0, 'E_1')).toEqual(image); // disk, in a new runtime
    expect(compiles()).toBe(n + 1);
    open().image(`${source}\n`, 0, 'E_1'); // another source compiles
    expect(compiles()).toBe(n + 2);
  });

  it('is not a BackendUnavailableError source once up', () => {
    expect(() => cuda.memGetInfo(0)).not.toThrow(BackendUnavailableError);
    expect(cuda.memGetInfo(0).total).toBe(64 << 20);
  });
});
