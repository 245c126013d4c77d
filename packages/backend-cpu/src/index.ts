/**
 * The cpu backend: the embedded default. Kernels are rendered to WebAssembly with SIMD128 (or,
 * as a readable debug path, to JavaScript) and run on a pool of workers sharing one memory with
 * the main thread; reads are synchronous. Options: `configureCpu`.
 */
import { hostArray, type HostArray } from '@fusor/ir';
import type { Backend, Kernel, RenderedKernel } from '@fusor/compiler';
import { registerBackend } from '@fusor/runtime';
import { allocBuffer, type CpuBuffer } from './buffer.js';
import { cpuConfig } from './config.js';
import { CpuProgram, memoryImport, startWorkers } from './program.js';
import { renderJs } from './render-js.js';
import { CPU_PLANNING, CPU_PLANNING_SCALAR, renderWasm, Unsupported } from './render-wasm.js';
import { blasGemm } from './blas.js';
import { wasmGemm } from './gemm-wasm.js';
import { cpuTakesEpilogue } from './gemm-epilogue.js';
import { cpuSort } from './sort.js';

export { renderJs, renderExpr } from './render-js.js';
export { renderWasm, renderWasmText, layoutOf, CPU_PLANNING, type WasmLayout, type RenderWasmOptions } from './render-wasm.js';
export { configureCpu, cpuConfig, type CpuOptions, type CpuConfig } from './config.js';
export { CpuBuffer, heap as cpuHeap, type Storage } from './buffer.js';
export { CpuProgram, memoryImport, cpuStats, workersReady as cpuWorkersReady, type CpuStats } from './program.js';
export type { HeapStats } from './heap.js';
export { blasInfo, configureBlas, type BlasInfo, type BlasOptions } from './blas.js';
export { configureWasmGemm, wasmGemm, type WasmGemmOptions } from './gemm-wasm.js';

export const cpuBackend: Backend<CpuBuffer, CpuProgram, RenderedKernel> = {
  name: 'cpu',
  capabilities: {
    dtypes: ['bool', 'uint8', 'int8', 'int16', 'int32', 'int64', 'float32', 'float64'],
    maxBuffers: Infinity,
    syncRead: true,
    fp16: false,
    rowKernels: true,
  },
  isAvailable: () => ({ ok: true }),
  /** What the wasm renderer plans with under the current options (the JavaScript renderer neither vectorizes nor splits). */
  get planning() {
    const { renderer, simd } = cpuConfig();
    if (renderer === 'js') return { ...CPU_PLANNING_SCALAR, split: undefined };
    return simd ? CPU_PLANNING : CPU_PLANNING_SCALAR;
  },
  /** Starts the worker pool (launches use workers as they come up: nothing waits for them). */
  init() {
    const { renderer, simd } = cpuConfig();
    if (renderer === 'js') return Promise.resolve('cpu (JavaScript kernels, 1 thread)');
    const threads = startWorkers();
    return Promise.resolve(`cpu (WebAssembly${simd ? ' SIMD128' : ''} kernels, ${threads} thread${threads === 1 ? '' : 's'})`);
  },
  alloc: (dtype, size) => allocBuffer(dtype, size),
  free: (buf) => buf.release(),
  write(buf, data) {
    if (data instanceof BigInt64Array) {
      const d = buf.data;
      for (let i = 0; i < data.length; i++) d[i] = Number(data[i]!);
    } else {
      buf.data.set(data as ArrayLike<number>);
    }
  },
  readSync(buf): HostArray {
    if (buf.dtype === 'int64') {
      const out = hostArray('int64', buf.size) as BigInt64Array;
      const d = buf.data;
      for (let i = 0; i < d.length; i++) {
        const v = d[i]!;
        out[i] = Number.isFinite(v) ? BigInt(v) : 0n;
      }
      return out;
    }
    return buf.data.slice() as HostArray;
  },
  read(buf) {
    return Promise.resolve(this.readSync!(buf));
  },
  /** WebAssembly bytes, or JavaScript source for the 'js' renderer (and for what only it handles). */
  render(kernel: Kernel): RenderedKernel {
    const { renderer, simd } = cpuConfig();
    if (renderer === 'js') return cpuRendered(renderJs(kernel));
    try {
      return cpuRendered(renderWasm(kernel, memoryImport(), { simd }));
    } catch (e) {
      if (e instanceof Unsupported) return cpuRendered(renderJs(kernel));
      throw e;
    }
  },
  compile: (rendered, kernel) => new CpuProgram(kernel).adopt(rendered.source),
  launch: (program, buffers, vars) => program.launch(buffers, vars),
  synchronize: () => Promise.resolve(),
  routines: {
    // the native library where it is installed and enabled, else the portable wasm micro-kernel
    gemm: {
      supports: (g) => blasGemm.supports(g) || wasmGemm.supports(g),
      run: (g, a, b, c, extra) => (blasGemm.supports(g) ? blasGemm : wasmGemm).run(g, a, b, c, extra),
      // either routine applies an epilogue to each block of C it wrote (gemm-epilogue.ts)
      supportsEpilogue: cpuTakesEpilogue,
    },
    sort: cpuSort,
  },
};

/** The cpu runs a kernel's outputs in ranges over its thread pool: no groups, bindings or workspace. */
function cpuRendered(source: string | Uint8Array): RenderedKernel {
  return { source, entry: typeof source === 'string' ? 'kernel' : 'run', groupSize: 1, outputsPerGroup: 1, bindings: {}, workspace: 0 };
}

registerBackend(cpuBackend);
