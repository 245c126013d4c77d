/**
 * The CUDA runtime fusor needs, on the driver API: devices and their primary contexts, a caching
 * allocator per device, host↔device copies, modules compiled by NVRTC (cached in memory and on
 * disk by source and architecture), and launches on the default stream, which keeps every kernel
 * and copy in program order.
 */
import { createHash } from 'node:crypto';
import type { BackendBuffer } from '@fusor/compiler';
import type { DType } from '@fusor/ir';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CachingAllocator, formatBytes, type MemoryStats } from './allocator.js';
import { ATTRIBUTE, CUDA_ERROR_NO_DEVICE, CUDA_ERROR_OUT_OF_MEMORY, CudaError, openDriver, type Driver } from './driver.js';
import { big, loadKoffi } from './ffi.js';
import { driverCandidates } from './locate.js';
import { NVRTC_OPTIONS, openNvrtc, type Nvrtc, type Target } from './nvrtc.js';

/** Device memory as kernels and library calls see it: where it lives (the backend's CudaBuffer is one). */
export interface DeviceBuffer extends BackendBuffer {
  readonly device: number;
  /** Device pointer (0 for an empty buffer). */
  readonly ptr: bigint;
}

/** One kernel parameter's bytes: device pointers and scalars, 8 bytes each (cuLaunchKernel reads each at its own size). */
export function kernelParam(value: bigint | number, dtype: DType | 'ptr'): Buffer {
  const b = Buffer.alloc(8);
  switch (dtype) {
    case 'ptr':
    case 'int64':
      b.writeBigInt64LE(BigInt.asIntN(64, BigInt(value)));
      break;
    case 'float64':
      b.writeDoubleLE(Number(value));
      break;
    case 'float32':
      b.writeFloatLE(Number(value));
      break;
    default:
      b.writeInt32LE(Number(value) | 0);
  }
  return b;
}

export interface DeviceInfo {
  readonly index: number;
  readonly name: string;
  /** Compute capability. */
  readonly major: number;
  readonly minor: number;
  readonly multiprocessors: number;
  readonly totalMemory: number;
}

export interface RuntimeOptions {
  /** Directory for compiled modules, or null for no disk cache. */
  readonly diskCache: string | null;
}

export const defaultCacheDir = (env: NodeJS.ProcessEnv = process.env): string =>
  join(env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'fusor', 'cuda');

/** A kernel compiled for some architectures and loaded on some devices. */
export interface Module {
  readonly symbol: string;
  readonly source: string;
  readonly images: Map<string, Uint8Array>;
  /** CUfunction per device index. */
  readonly functions: Map<number, unknown>;
}

export class CudaRuntime {
  private current = -1;
  private readonly contexts: unknown[] = [];
  private readonly allocators: CachingAllocator[] = [];
  private readonly targets: Target[];
  private readonly images = new Map<string, Uint8Array>();

  private constructor(
    readonly driver: Driver,
    readonly nvrtc: Nvrtc,
    readonly devices: readonly DeviceInfo[],
    readonly driverVersion: string,
    private readonly options: RuntimeOptions,
  ) {
    this.targets = devices.map((d) => nvrtc.target(d.major, d.minor));
    this.allocators = devices.map(
      (d) =>
        new CachingAllocator(
          {
            alloc: (bytes) => {
              this.use(d.index);
              const p: [unknown] = [0];
              const code = driver.try('cuMemAlloc_v2', p, bytes);
              if (code === CUDA_ERROR_OUT_OF_MEMORY) return null;
              if (code !== 0) throw new CudaError(`cuMemAlloc_v2 failed: ${driver.errorName(code)}`, code);
              return big(p[0]);
            },
            free: (ptr) => {
              this.use(d.index);
              driver.call('cuMemFree_v2', ptr);
            },
            info: () => this.memGetInfo(d.index),
          },
          `GPU ${d.index}`,
        ),
    );
  }

  /** Loads the libraries and brings up the driver; a string says what is missing. */
  static open(env: NodeJS.ProcessEnv, options: RuntimeOptions): CudaRuntime | string {
    try {
      loadKoffi();
    } catch (e) {
      return `the koffi native module (fusor's bridge to the CUDA libraries) could not be loaded: ${(e as Error).message}`;
    }
    const driver = openDriver(driverCandidates(env));
    if (typeof driver === 'string') return `no NVIDIA driver: ${driver}`;
    const init = driver.try('cuInit', 0);
    if (init === CUDA_ERROR_NO_DEVICE) return `no GPU: ${driver.path} loaded, but cuInit reports ${driver.errorName(init)}`;
    if (init !== 0) return `the NVIDIA driver (${driver.path}) did not initialize: cuInit returned ${driver.errorName(init)}`;
    const count = [0];
    driver.call('cuDeviceGetCount', count);
    if (count[0] === 0) return `no GPU: the NVIDIA driver (${driver.path}) reports no CUDA device`;
    const version = [0];
    driver.call('cuDriverGetVersion', version);
    const v = version[0]!;
    const nvrtc = openNvrtc(env);
    if (typeof nvrtc === 'string') return nvrtc;
    const devices: DeviceInfo[] = [];
    for (let i = 0; i < count[0]!; i++) {
      const dev = [0];
      driver.call('cuDeviceGet', dev, i);
      const nameBuf = Buffer.alloc(256);
      driver.call('cuDeviceGetName', nameBuf, 256, dev[0]);
      const attr = (a: number): number => {
        const out = [0];
        driver.call('cuDeviceGetAttribute', out, a, dev[0]);
        return out[0]!;
      };
      const total = [0];
      driver.call('cuDeviceTotalMem_v2', total, dev[0]);
      devices.push({
        index: i,
        name: nameBuf.toString('utf8').replace(/\0.*$/s, ''),
        major: attr(ATTRIBUTE.computeCapabilityMajor),
        minor: attr(ATTRIBUTE.computeCapabilityMinor),
        multiprocessors: attr(ATTRIBUTE.multiprocessorCount),
        totalMemory: Number(total[0]),
      });
    }
    return new CudaRuntime(driver, nvrtc, devices, `${Math.floor(v / 1000)}.${(v % 1000) / 10}`, options);
  }

  describe(): string {
    const d = this.devices[0]!;
    const more = this.devices.length > 1 ? `; ${this.devices.length} devices: ${this.devices.map((x) => `cuda:${x.index} ${x.name}`).join(', ')}` : '';
    return (
      `${d.name} (cuda:0, compute capability ${d.major}.${d.minor}, ${formatBytes(d.totalMemory)}, ${d.multiprocessors} SMs; ` +
      `driver API ${this.driverVersion}, NVRTC ${this.nvrtc.version} → ${this.targets[0]!.arch}; ${this.driver.path}, ${this.nvrtc.path})${more}`
    );
  }

  device(index: number): DeviceInfo {
    const d = this.devices[index];
    if (!d) {
      throw new RangeError(
        `CUDA error: invalid device ordinal: cuda:${index} does not exist (${this.devices.length} CUDA device${this.devices.length === 1 ? ' is' : 's are'} present)`,
      );
    }
    return d;
  }

  /** Makes a device's primary context current (retained on first use). */
  use(index: number): void {
    if (this.current === index) return;
    this.device(index);
    let ctx = this.contexts[index];
    if (ctx === undefined) {
      const out: [unknown] = [null];
      this.driver.call('cuDevicePrimaryCtxRetain', out, index);
      ctx = this.contexts[index] = out[0];
    }
    this.driver.call('cuCtxSetCurrent', ctx);
    this.current = index;
  }

  allocator(index: number): CachingAllocator {
    this.device(index);
    return this.allocators[index]!;
  }

  memoryStats(index: number): MemoryStats {
    return this.allocator(index).stats();
  }

  memGetInfo(index: number): { free: number; total: number } {
    this.use(index);
    const free = [0];
    const total = [0];
    this.driver.call('cuMemGetInfo_v2', free, total);
    return { free: Number(free[0]), total: Number(total[0]) };
  }

  copyToDevice(index: number, dst: bigint, src: ArrayBufferView, bytes: number): void {
    if (bytes === 0) return;
    this.use(index);
    this.driver.call('cuMemcpyHtoD_v2', dst, src, bytes);
  }

  copyToHost(index: number, dst: ArrayBufferView, src: bigint, bytes: number): void {
    if (bytes === 0) return;
    this.use(index);
    this.driver.call('cuMemcpyDtoH_v2', dst, src, bytes);
  }

  /**
   * Device-to-device copy, without the host: within one device, or between two (a peer copy,
   * which the driver routes over NVLink/PCIe, staging through host memory itself where the two
   * devices cannot access each other).
   */
  copyOnDevice(dstIndex: number, dst: bigint, srcIndex: number, src: bigint, bytes: number): void {
    if (bytes === 0) return;
    if (dstIndex === srcIndex) {
      this.use(dstIndex);
      this.driver.call('cuMemcpyDtoD_v2', dst, src, bytes);
      return;
    }
    this.use(srcIndex);
    this.use(dstIndex);
    this.driver.call('cuMemcpyPeer', dst, this.contexts[dstIndex], src, this.contexts[srcIndex], bytes);
  }

  synchronize(index?: number): void {
    for (const d of index === undefined ? this.contexts.map((_, i) => i).filter((i) => this.contexts[i] !== undefined) : [index]) {
      this.use(d);
      this.driver.call('cuCtxSynchronize');
    }
  }

  /** Compiles a unit for a device's architecture (memory cache, then disk cache, then NVRTC). */
  image(source: string, index: number, name: string): Uint8Array {
    const target = this.targets[this.device(index).index]!;
    const key = createHash('sha256').update(`${this.nvrtc.path} ${this.nvrtc.version}\n${target.arch}\n${NVRTC_OPTIONS.join(' ')}\n${source}`).digest('hex');
    let img = this.images.get(key);
    if (img) return img;
    const dir = this.options.diskCache;
    const file = dir ? join(dir, `${key}.${target.cubin ? 'cubin' : 'ptx'}`) : null;
    if (file) {
      try {
        img = readFileSync(file);
      } catch {
        img = undefined;
      }
    }
    if (!img) {
      img = this.nvrtc.compile(source, target, `${name}.cu`);
      if (file && dir) {
        try {
          mkdirSync(dir, { recursive: true });
          const tmp = `${file}.${process.pid}.tmp`;
          writeFileSync(tmp, img);
          renameSync(tmp, file);
        } catch {
          // the disk cache is an optimization: an unwritable directory only costs recompiles
        }
      }
    }
    this.images.set(key, img);
    return img;
  }

  /** The kernel's CUfunction on a device, loading (and compiling) its module there on first use. */
  function(mod: Module, index: number): unknown {
    let f = mod.functions.get(index);
    if (f !== undefined) return f;
    const target = this.targets[index]!.arch;
    let img = mod.images.get(target);
    if (!img) {
      img = this.image(mod.source, index, mod.symbol);
      mod.images.set(target, img);
    }
    this.use(index);
    const m: [unknown] = [null];
    this.driver.call('cuModuleLoadData', m, img);
    const out: [unknown] = [null];
    this.driver.call('cuModuleGetFunction', out, m[0], mod.symbol);
    f = out[0];
    mod.functions.set(index, f);
    return f;
  }

  launch(index: number, fn: unknown, grid: number, block: number, params: readonly Buffer[], name = 'a kernel'): void {
    this.use(index);
    this.driver.call('cuLaunchKernel', fn, grid, 1, 1, block, 1, 1, 0, null, params, null);
    // CUDA_LAUNCH_BLOCKING=1 (PyTorch's debugging switch): wait for each kernel, so a fault names it
    if (this.blocking) this.waitFor(index, `${name} (grid ${grid}, block ${block})`);
  }

  /** Whether every launch waits for its kernel (CUDA_LAUNCH_BLOCKING=1). */
  readonly blocking = process.env['CUDA_LAUNCH_BLOCKING'] === '1';

  /** Waits for the device's work; a failure is reported as `what` failing. */
  waitFor(index: number, what: string): void {
    const code = this.driver.try('cuCtxSynchronize');
    if (code !== 0) throw new CudaError(`${what} failed on cuda:${index}: ${this.driver.errorName(code)}`, code);
  }

  /** Milliseconds of GPU time that `work` enqueues on a device, measured with CUDA events. */
  time(index: number, work: () => void): number {
    this.use(index);
    const a: [unknown] = [null];
    const b: [unknown] = [null];
    this.driver.call('cuEventCreate', a, 0);
    this.driver.call('cuEventCreate', b, 0);
    try {
      this.driver.call('cuEventRecord', a[0], null);
      work();
      this.use(index);
      this.driver.call('cuEventRecord', b[0], null);
      this.driver.call('cuEventSynchronize', b[0]);
      const ms = [0];
      this.driver.call('cuEventElapsedTime', ms, a[0], b[0]);
      return ms[0]!;
    } finally {
      this.driver.try('cuEventDestroy_v2', a[0]);
      this.driver.try('cuEventDestroy_v2', b[0]);
    }
  }
}
