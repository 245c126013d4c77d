/**
 * A compiled cpu kernel and its launch. One program per kernel holds whichever forms have been
 * needed: the WebAssembly module (scalar or SIMD) and the JavaScript function, so changing
 * `configureCpu` between launches needs no recompile by the compiler's cache.
 */
import type { Kernel } from '@fusor/compiler';
import { allocBuffer, heap, type CpuBuffer } from './buffer.js';
import { cpuConfig, onConfigure, type CpuConfig } from './config.js';
import { Pool, type PoolModule } from './pool.js';
import { PRELUDE, renderJs } from './render-js.js';
import { layoutOf, MAX_COPIES, renderWasm, Unsupported, WIDTH, type MemoryImport, type WasmLayout } from './render-wasm.js';

type JsKernel = (...args: unknown[]) => void;

interface WasmExports {
  run?(start: number, end: number, args: number): void;
  partial?(c0: number, c1: number, args: number): void;
  finish?(start: number, end: number, args: number): void;
}

interface WasmKernel extends PoolModule {
  readonly exports: WasmExports;
  readonly layout: WasmLayout;
}

let nextModuleId = 1;

/** Limits of the heap's memory, which every module imports. */
export function memoryImport(): MemoryImport {
  return { initial: 1, maximum: 65536, shared: heap().shared };
}

const imports = (): WebAssembly.Imports => ({ env: { memory: heap().memory, sin: Math.sin, fmod: (a: number, b: number) => a % b } });

/** Compiles JavaScript rendered by renderJs. */
export function compileJs(source: string, kernel: Kernel): JsKernel {
  const params = kernel.buffers.map((_, i) => `b${i}`);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- rendering to JS is this backend's job
  const factory = new Function(`${PRELUDE}\nreturn function kernel(${params.join(', ')}, v) {\n${source}\n};`);
  return factory() as JsKernel;
}

export function compileWasm(bytes: Uint8Array): WasmKernel {
  const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  const instance = new WebAssembly.Instance(module, imports());
  return { id: nextModuleId++, module, exports: instance.exports as WasmExports, layout: layoutOf(module) };
}

export class CpuProgram {
  private js: JsKernel | undefined;
  /** By SIMD on/off; null where the kernel has no WebAssembly form. */
  private readonly wasm = new Map<boolean, WasmKernel | null>();

  constructor(readonly kernel: Kernel) {}

  /** Adopts what `render` produced for the current options. */
  adopt(source: string | Uint8Array): this {
    if (typeof source === 'string') {
      this.js = compileJs(source, this.kernel);
      if (cpuConfig().renderer === 'wasm') this.wasm.set(cpuConfig().simd, null);
    } else this.wasm.set(cpuConfig().simd, compileWasm(source));
    return this;
  }

  jsKernel(): JsKernel {
    return (this.js ??= compileJs(renderJs(this.kernel), this.kernel));
  }

  wasmKernel(simd: boolean): WasmKernel | null {
    let w = this.wasm.get(simd);
    if (w === undefined) {
      try {
        w = compileWasm(renderWasm(this.kernel, memoryImport(), { simd }));
      } catch (e) {
        if (!(e instanceof Unsupported)) throw e;
        w = null;
      }
      this.wasm.set(simd, w);
    }
    return w;
  }

  launch(buffers: readonly CpuBuffer[], vars: readonly number[]): void {
    if (this.kernel.size === 0) return;
    const cfg = cpuConfig();
    const w = cfg.renderer === 'wasm' && buffers.every((b) => b.ptr >= 0) ? this.wasmKernel(cfg.simd) : null;
    if (!w) {
      stats.js++;
      return this.jsKernel()(...buffers.map((b) => b.data), vars);
    }
    stats.wasm++;
    launchWasm(w, this.kernel, buffers, vars, cfg);
  }
}

// ---------------------------------------------------------------------------------------------
// launching

export interface CpuStats {
  /** Launches run by WebAssembly kernels. */
  readonly wasm: number;
  /** Launches run by JavaScript kernels (the 'js' renderer, or what WebAssembly does not hold). */
  readonly js: number;
  /** WebAssembly launches split over more than one thread. */
  readonly threaded: number;
}

const stats = { wasm: 0, js: 0, threaded: 0 };
/** Counts of launches by path since the process started (tests and benchmarks read it). */
export const cpuStats = (): CpuStats => ({ ...stats });

let scratch: CpuBuffer | undefined;
let words: Int32Array | undefined;
let wordsGeneration = -1;

/** The launch's argument block (and split partials), reused between launches. */
function argsBlock(bytes: number): { at: number; words: Int32Array } {
  if (!scratch || scratch.bytes < bytes) {
    scratch?.release();
    scratch = allocBuffer('uint8', Math.max(bytes, 4096));
    if (scratch.ptr < 0) throw new Error('cpu heap exhausted: no room for a launch');
  }
  const h = heap();
  if (!words || wordsGeneration !== h.generation) {
    words = new Int32Array(h.buffer);
    wordsGeneration = h.generation;
  }
  return { at: scratch.ptr, words };
}

let pool: Pool | undefined;
let notedSingleThread = false;

/** An id for a module run on the pool (workers cache instances by it). */
export function newModuleId(): number {
  return nextModuleId++;
}

/** The pool for `threads`, started on first need; undefined for one thread. */
export function poolFor(threads: number): Pool | undefined {
  if (threads <= 1) return undefined;
  const h = heap();
  if (!h.shared) {
    if (!notedSingleThread) {
      notedSingleThread = true;
      console.info(`fusor cpu: running kernels on one thread: ${h.unsharedReason}`);
    }
    return undefined;
  }
  if (pool && pool.size !== threads - 1) {
    pool.close();
    pool = undefined;
  }
  return (pool ??= new Pool(h.memory, threads - 1));
}

onConfigure((c, before) => {
  if (c.threads !== before.threads && pool) {
    pool.close();
    pool = undefined;
  }
});

/**
 * Starts the workers for the current options, without waiting for them (launches use the
 * workers that are up; results do not depend on how many): the thread count launches will use.
 */
export function startWorkers(): number {
  const p = poolFor(cpuConfig().threads);
  return p ? p.size + 1 : 1;
}

/** Resolves once the workers for the current options are up, to the number of threads launches use. */
export async function workersReady(): Promise<number> {
  const p = poolFor(cpuConfig().threads);
  if (!p) return 1;
  await p.whenReady();
  return p.ready() + 1;
}

function launchWasm(w: WasmKernel, kernel: Kernel, buffers: readonly CpuBuffer[], vars: readonly number[], cfg: CpuConfig): void {
  const split = w.layout.split;
  const fixed = buffers.length + vars.length;
  const head = fixed + (split ? 1 + split.bounds.length : 0);
  const partialsAt = Math.ceil((head * 4) / 16) * 16;
  const chunks = split ? split.bounds.length - 1 : 0;
  const { at, words } = argsBlock(partialsAt + chunks * (split?.accs ?? 0) * kernel.size * 8);
  const base = at >> 2;
  buffers.forEach((b, i) => (words[base + i] = b.ptr));
  vars.forEach((v, i) => (words[base + buffers.length + i] = v | 0));
  const pool = w.layout.work >= cfg.parallelThreshold ? poolFor(cfg.threads) : undefined;
  const parallel = pool && pool.ready() > 0 ? pool : undefined;
  if (parallel) stats.threaded++;
  const ex = w.exports;
  if (!split) {
    if (parallel) parallel.run(w, (a, b) => ex.run!(a, b, at), 'run', kernel.size, WIDTH * MAX_COPIES, at);
    else ex.run!(0, kernel.size, at);
    return;
  }
  words[base + fixed] = at + partialsAt;
  split.bounds.forEach((b, i) => (words[base + fixed + 1 + i] = b));
  if (parallel) parallel.run(w, (a, b) => ex.partial!(a, b, at), 'partial', chunks, 1, at);
  else ex.partial!(0, chunks, at);
  ex.finish!(0, kernel.size, at);
}
