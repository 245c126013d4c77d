/**
 * The cpu backend's options, set in code: which renderer runs kernels, how many threads share
 * the work, and whether kernels are vectorized. Defaults: WebAssembly, every core, SIMD on.
 */
import { invalidatePlans } from '@fusor/runtime';

export interface CpuOptions {
  /** 'wasm' (default): WebAssembly with SIMD128. 'js': the readable JavaScript renderer (a debug path). */
  readonly renderer?: 'wasm' | 'js';
  /** Threads a launch may use, the calling thread included (default: the machine's cores). */
  readonly threads?: number;
  /** Vectorize WebAssembly kernels with SIMD128 (default true); off gives the scalar code. */
  readonly simd?: boolean;
  /**
   * Smallest launch, in element operations, split over threads (default 65536): below it the
   * dispatch costs more than it saves. 0 splits every launch (tests use it to exercise threads).
   */
  readonly parallelThreshold?: number;
}

export interface CpuConfig {
  readonly renderer: 'wasm' | 'js';
  readonly threads: number;
  readonly simd: boolean;
  readonly parallelThreshold: number;
}

interface NodeProcess {
  readonly versions?: { readonly node?: string };
  getBuiltinModule?(id: string): unknown;
}

/** Node's `process`, when running in Node. */
export function nodeProcess(): NodeProcess | undefined {
  const p = (globalThis as { process?: NodeProcess }).process;
  return p?.versions?.node ? p : undefined;
}

/** Cores this process may use: os.availableParallelism() in Node, navigator.hardwareConcurrency in browsers. */
export function machineThreads(): number {
  const os = nodeProcess()?.getBuiltinModule?.('node:os') as { availableParallelism?(): number; cpus(): unknown[] } | undefined;
  if (os) return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return Math.max(1, nav?.hardwareConcurrency ?? 1);
}

export const DEFAULT_PARALLEL_THRESHOLD = 1 << 16;

let current: CpuConfig = { renderer: 'wasm', threads: machineThreads(), simd: true, parallelThreshold: DEFAULT_PARALLEL_THRESHOLD };
const listeners = new Set<(c: CpuConfig, before: CpuConfig) => void>();

/** Sets cpu backend options; omitted ones keep their value. Takes effect at the next launch. */
export function configureCpu(opts: CpuOptions): CpuConfig {
  invalidatePlans();
  if (opts.renderer !== undefined && opts.renderer !== 'wasm' && opts.renderer !== 'js') {
    throw new TypeError(`configureCpu: renderer must be 'wasm' or 'js', got ${JSON.stringify(opts.renderer)}`);
  }
  if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 1)) {
    throw new TypeError(`configureCpu: threads must be a positive integer, got ${String(opts.threads)}`);
  }
  if (opts.parallelThreshold !== undefined && !(opts.parallelThreshold >= 0)) {
    throw new TypeError(`configureCpu: parallelThreshold must be a non-negative number, got ${String(opts.parallelThreshold)}`);
  }
  const before = current;
  current = { ...current, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) };
  for (const fn of listeners) fn(current, before);
  return current;
}

export const cpuConfig = (): CpuConfig => current;

/** Called after every configureCpu (the pool resizes itself this way). */
export function onConfigure(fn: (c: CpuConfig, before: CpuConfig) => void): void {
  listeners.add(fn);
}
