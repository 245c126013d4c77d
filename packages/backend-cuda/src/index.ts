/**
 * The cuda backend: kernel IR → CUDA C → NVRTC → the driver API, all through koffi (no build
 * step, no toolkit needed at install). Importing this package registers the device type `cuda`;
 * `await torch.init('cuda')` brings it up, or rejects with BackendUnavailableError saying what
 * is missing. Devices are `cuda` (= `cuda:0`) and `cuda:N`.
 */
import { DTYPES, hostArray, type DType, type HostArray } from '@fusor/ir';
import { BackendUnavailableError, bfloat16Bits, float16Bits, type Backend, type GemmRoutine, type GemmShape, type Kernel } from '@fusor/compiler';
import { invalidatePlans, registerBackend } from '@fusor/runtime';
import type { MemoryStats } from './allocator.js';
import { Cublas, cublasGemm, DEFAULT_MIN_DIM, DEFAULT_MIN_MULTIPLY_ADDS, type CublasInfo, type CublasOptions } from './cublas.js';
import { generatedGemm } from './gemm-kernels.js';
import { CUDA_PLANNING, launchShape, renderCudaProgram, type KernelPlan, type RenderedCuda } from './render-cuda.js';
import { CudaRuntime, defaultCacheDir, kernelParam, type DeviceBuffer, type DeviceInfo, type Module } from './runtime.js';

export { renderCuda, renderCudaProgram, renderCudaBatch, renderKernel, literal, planKernel, launchShape, CUDA_PLANNING, CUDA_PRELUDE, BLOCK_SIZE, CudaRenderError } from './render-cuda.js';
export type { KernelPlan, LaunchShape, RenderedCuda } from './render-cuda.js';
export { CudaOutOfMemoryError, roundSize, type MemoryStats } from './allocator.js';
export { CudaError } from './driver.js';
export { CudaCompileError, NVRTC_OPTIONS } from './nvrtc.js';
export { locateNvrtc, nvrtcDirs, locateCublas, cublasDirs, driverCandidates, ENV } from './locate.js';
export { CublasError, DEFAULT_MIN_DIM, DEFAULT_MIN_MULTIPLY_ADDS, type CublasInfo, type CublasOptions } from './cublas.js';
export { generatedGemm, planGemm, renderGemm, gemmVariants, type GeneratedGemmOptions } from './gemm-kernels.js';
export type { DeviceInfo, DeviceBuffer } from './runtime.js';

export interface CudaBuffer extends DeviceBuffer {
  /** Bytes of the allocator block behind it. */
  readonly block: number;
  freed: boolean;
}

/** A compiled kernel: its module (loaded per device on first launch) and how its rendering is launched. */
export interface CudaProgram {
  readonly module: Module;
  readonly size: number;
  readonly vars: readonly DType[];
  readonly plan: KernelPlan;
  /** Scratch bytes a launch passes as the last parameter (0: none). */
  readonly workspace: number;
}

export interface CudaOptions {
  /** Directory where compiled modules are kept between runs; null turns the disk cache off. */
  readonly diskCache?: string | null;
  /**
   * Matrix products through cuBLAS where it is installed: false keeps every product in generated
   * kernels; true or options turn it (back) on. Takes effect from the next realize.
   */
  readonly cublas?: boolean | CublasOptions;
  /**
   * The backend's own GEMM kernels (shared-memory tiles; tensor cores for float16/bfloat16 from
   * compute capability 8.0) for the large products cuBLAS does not take — all of them where cuBLAS
   * is absent or off. false leaves those to the generic generated kernels.
   */
  readonly gemmKernels?: boolean;
}

const options: { diskCache: string | null; cublas: boolean; minMultiplyAdds: number; minDim: number; gemmKernels: boolean } = {
  diskCache: defaultCacheDir(),
  cublas: true,
  minMultiplyAdds: DEFAULT_MIN_MULTIPLY_ADDS,
  minDim: DEFAULT_MIN_DIM,
  gemmKernels: true,
};
let runtime: CudaRuntime | string | undefined;
let cublas: Cublas | string | undefined;

/** Settings for the runtime; call before the first use of a cuda device. */
export function configureCuda(opts: CudaOptions): void {
  invalidatePlans();
  if (opts.diskCache !== undefined) options.diskCache = opts.diskCache;
  if (opts.cublas !== undefined) {
    options.cublas = opts.cublas !== false;
    if (typeof opts.cublas === 'object' && opts.cublas.minMultiplyAdds !== undefined) options.minMultiplyAdds = opts.cublas.minMultiplyAdds;
    if (typeof opts.cublas === 'object' && opts.cublas.minDim !== undefined) options.minDim = opts.cublas.minDim;
  }
  if (opts.gemmKernels !== undefined) options.gemmKernels = opts.gemmKernels;
}

function tryRuntime(): CudaRuntime | string {
  runtime ??= CudaRuntime.open(process.env, options);
  return runtime;
}

/** The runtime, brought up on first use; throws BackendUnavailableError saying why it cannot be. */
function rt(): CudaRuntime {
  const r = tryRuntime();
  if (typeof r === 'string') throw new BackendUnavailableError(`cuda is unavailable: ${r}`);
  return r;
}

/** cuBLAS, loaded on first use once the runtime is up; a string says why it is not in use. */
function tryCublas(): Cublas | string {
  if (!options.cublas) return 'turned off by configureCuda({ cublas: false })';
  const r = tryRuntime();
  if (typeof r === 'string') return `cuda is unavailable: ${r}`;
  cublas ??= Cublas.open(r, process.env);
  return cublas;
}

/** Whether matrix products go to cuBLAS, which library, or why not (loads it if it was not yet, bringing cuda up). */
export function cublasInfo(): CublasInfo {
  const c = tryCublas();
  return typeof c === 'string' ? { available: false, reason: c } : { available: true, library: c.path, version: c.version };
}

/** Host data as the bytes a device buffer of `dtype` holds (16-bit floats as their bit patterns). */
function toStorage(dtype: DType, data: HostArray): ArrayBufferView {
  const want = hostArray(dtype, 0).constructor;
  if (data.constructor === want) return data;
  const out = hostArray(dtype, data.length);
  const src = data as ArrayLike<number | bigint>;
  if (out instanceof BigInt64Array) {
    for (let i = 0; i < src.length; i++) out[i] = BigInt(Math.trunc(Number(src[i])) || 0);
  } else if (dtype === 'float16' || dtype === 'bfloat16') {
    const bits = dtype === 'float16' ? float16Bits : bfloat16Bits;
    for (let i = 0; i < src.length; i++) out[i] = bits(Number(src[i]));
  } else {
    for (let i = 0; i < src.length; i++) (out as Float64Array)[i] = Number(src[i]);
  }
  return out;
}

const bytesOf = (dtype: DType, size: number): number => size * DTYPES[dtype].itemsize;


/**
 * Per device: scratch memory for kernels that combine partial results across blocks (see
 * KernelPlan). Zeroed when allocated; kernels leave their counters at zero again, and launches
 * on the one stream never overlap, so every kernel shares it. Grows, never shrinks.
 */
const workspaces = new Map<number, { ptr: bigint; block: number; bytes: number }>();

function workspace(r: CudaRuntime, device: number, bytes: number): bigint {
  const have = workspaces.get(device);
  if (have && have.bytes >= bytes) return have.ptr;
  if (have) {
    workspaces.delete(device);
    r.allocator(device).free(have.ptr, have.block);
  }
  const size = Math.max(bytes, 2 * (have?.bytes ?? 0));
  const { ptr, size: block } = r.allocator(device).alloc(size);
  r.copyToDevice(device, ptr, new Uint8Array(size), size);
  workspaces.set(device, { ptr, block, bytes: size });
  return ptr;
}

export const cudaBackend: Backend<CudaBuffer, CudaProgram, RenderedCuda> & {
  /** Milliseconds of GPU time for the work `fn` enqueues on a device (CUDA events). */
  time(fn: () => void, device?: number): number;
} = {
  name: 'cuda',
  capabilities: {
    dtypes: ['bool', 'uint8', 'int8', 'int16', 'int32', 'int64', 'float16', 'bfloat16', 'float32', 'float64'],
    // 8 bytes per parameter within the driver's 4 KiB kernel-parameter limit
    maxBuffers: 256,
    syncRead: true,
    fp16: true,
  },
  isAvailable() {
    const r = tryRuntime();
    return typeof r === 'string' ? { ok: false, reason: r } : { ok: true };
  },
  init: () => {
    try {
      return Promise.resolve(rt().describe());
    } catch (e) {
      return Promise.reject(e as Error);
    }
  },
  alloc(dtype, size, device) {
    const r = rt();
    const bytes = bytesOf(dtype, size);
    if (bytes === 0) {
      r.device(device);
      return { dtype, size, device, ptr: 0n, block: 0, freed: false };
    }
    const { ptr, size: block } = r.allocator(device).alloc(bytes);
    return { dtype, size, device, ptr, block, freed: false };
  },
  free(buf) {
    if (buf.freed || buf.block === 0) return;
    buf.freed = true;
    rt().allocator(buf.device).free(buf.ptr, buf.block);
  },
  write(buf, data) {
    if (data.length !== buf.size) throw new RangeError(`write of ${data.length} elements into a cuda buffer of ${buf.size}`);
    rt().copyToDevice(buf.device, buf.ptr, toStorage(buf.dtype, data), bytesOf(buf.dtype, buf.size));
  },
  readSync(buf) {
    const out = hostArray(buf.dtype, buf.size);
    rt().copyToHost(buf.device, out, buf.ptr, bytesOf(buf.dtype, buf.size));
    return out;
  },
  copy(src, dst) {
    if (src.dtype !== dst.dtype || src.size !== dst.size) throw new RangeError(`internal: a cuda copy of ${src.size} ${src.dtype} into ${dst.size} ${dst.dtype}`);
    rt().copyOnDevice(dst.device, dst.ptr, src.device, src.ptr, bytesOf(src.dtype, src.size));
  },
  read(buf) {
    try {
      return Promise.resolve(this.readSync!(buf));
    } catch (e) {
      return Promise.reject(e as Error);
    }
  },
  planning: CUDA_PLANNING,
  render: (kernel: Kernel) => renderCudaProgram(kernel),
  compile(rendered, kernel) {
    const r = rt();
    const module: Module = { symbol: rendered.entry, source: rendered.source, images: new Map(), functions: new Map() };
    // compile now for device 0 so errors surface at compile time; other devices load on first launch
    r.function(module, 0);
    return { module, size: kernel.size, vars: kernel.vars.map((v) => v.dtype), plan: rendered.plan, workspace: rendered.workspace };
  },
  launch(program, buffers, vars) {
    if (program.size === 0) return;
    const r = rt();
    const device = buffers[0]!.device;
    for (const b of buffers) {
      if (b.device !== device) throw new Error(`internal: a kernel on cuda:${device} was given a buffer on cuda:${b.device}`);
    }
    const fn = r.function(program.module, device);
    const params = [...buffers.map((b) => kernelParam(b.ptr, 'ptr')), ...vars.map((v, i) => kernelParam(v, program.vars[i]!))];
    if (program.workspace > 0) params.push(kernelParam(workspace(r, device, program.workspace), 'ptr'));
    const { grid, block } = launchShape(program.plan, r.device(device).multiprocessors);
    r.launch(device, fn, grid, block, params, program.module.symbol);
  },
  synchronize() {
    try {
      rt().synchronize();
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e as Error);
    }
  },
  time(fn, device = 0) {
    return rt().time(device, fn);
  },
  routines: { gemm: gemmRoutine() },
};

const library = cublasGemm(tryCublas, () => ({ minMultiplyAdds: options.minMultiplyAdds, minDim: options.minDim }));
const ownGemm = generatedGemm(rt);

/** The routine for a product: cuBLAS where it takes it, else the backend's GEMM kernels where they do, else none (generated code). */
function pickGemm(g: GemmShape): { path: 'cublas' | 'kernels'; routine: GemmRoutine<CudaBuffer> } | undefined {
  // cuBLAS takes no epilogue: a product with one is the GEMM kernels' (gemm-kernels.ts)
  if (!g.epilogue && library.supports(g)) return { path: 'cublas', routine: library };
  if (options.gemmKernels && typeof tryRuntime() !== 'string' && ownGemm.supports(g)) return { path: 'kernels', routine: ownGemm };
  return undefined;
}

function gemmRoutine(): GemmRoutine<CudaBuffer> {
  return {
    supports: (g) => pickGemm(g) !== undefined,
    // an epilogue only where cuBLAS would not take the bare product (its speed is worth a second kernel)
    supportsEpilogue: (g) => !library.supports({ ...g, epilogue: undefined }) && pickGemm(g)?.path === 'kernels' && ownGemm.supportsEpilogue!(g),
    run(g, a, b, c, extra) {
      const p = pickGemm(g);
      if (!p) throw new Error('internal: a product was routed to a GEMM routine that no longer takes it');
      p.routine.run(g, a, b, c, extra);
    },
  };
}

/** What computes a product of this shape on cuda now: cuBLAS, the backend's own GEMM kernels, or generated code. */
export const gemmPath = (g: GemmShape): 'cublas' | 'kernels' | 'generated' => pickGemm(g)?.path ?? 'generated';

registerBackend(cudaBackend);

// ---------------------------------------------------------------- torch.cuda-style helpers

/** Whether a usable GPU, driver and NVRTC are present (never throws). */
export const isAvailable = (): boolean => cudaBackend.isAvailable().ok;

/** Why cuda is unavailable, or null when it is available. */
export function unavailableReason(): string | null {
  const a = cudaBackend.isAvailable();
  return a.ok ? null : a.reason;
}

export const deviceCount = (): number => {
  const r = tryRuntime();
  return typeof r === 'string' ? 0 : r.devices.length;
};

export const getDeviceProperties = (device = 0): DeviceInfo => rt().device(device);
export const getDeviceName = (device = 0): string => rt().device(device).name;
export function getDeviceCapability(device = 0): [number, number] {
  const d = rt().device(device);
  return [d.major, d.minor];
}

/** Bytes held by live tensors on a device (allocator blocks, rounded as allocated). */
export const memoryAllocated = (device = 0): number => rt().memoryStats(device).allocated;
export const maxMemoryAllocated = (device = 0): number => rt().memoryStats(device).maxAllocated;
/** Bytes obtained from the driver: live blocks plus the allocator's cache. */
export const memoryReserved = (device = 0): number => rt().memoryStats(device).reserved;
export const maxMemoryReserved = (device = 0): number => rt().memoryStats(device).maxReserved;
export const memoryStats = (device = 0): MemoryStats => rt().memoryStats(device);
export const resetPeakMemoryStats = (device = 0): void => rt().allocator(device).resetPeakStats();
/** Returns the allocator's cached blocks to the driver (live tensors keep theirs). */
export function emptyCache(): void {
  const r = rt();
  for (const d of r.devices) r.allocator(d.index).emptyCache();
}
/** Free and total device memory, as the driver reports them. */
export const memGetInfo = (device = 0): { free: number; total: number } => rt().memGetInfo(device);
/** Waits for every kernel and copy issued so far. */
export const synchronize = (device?: number): void => rt().synchronize(device);
