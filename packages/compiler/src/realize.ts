/**
 * Realization: turning lazy nodes into device buffers. Schedules the pending graph, lowers each
 * item to kernel IR, compiles it once per (backend, kernel) and launches it.
 */
import { DTYPES, type HostArray, type Node } from '@fusor/ir';
import { getBackend, type Backend, type BackendBuffer } from './backend.js';
import type { Kernel } from './kernel-ir.js';
import { lower } from './lower.js';
import { schedule, type ScheduleItem } from './schedule.js';
import { simplifyGraph } from './simplify-graph.js';

/** Device memory behind a realized node; freed when no node refers to it any more. */
export class DeviceBuffer {
  constructor(
    readonly backend: Backend,
    readonly handle: BackendBuffer,
    readonly device: string,
  ) {
    liveBuffers++;
    liveBytes += handle.size * DTYPES[handle.dtype].itemsize;
    freeing.register(this, { backend, handle });
  }
}

let liveBuffers = 0;
let liveBytes = 0;
const freeing = new FinalizationRegistry<{ backend: Backend; handle: BackendBuffer }>(({ backend, handle }) => {
  liveBuffers--;
  liveBytes -= handle.size * DTYPES[handle.dtype].itemsize;
  backend.free(handle);
});

const realized = new WeakMap<Node, DeviceBuffer>();

export const isRealized = (n: Node): boolean => realized.has(n);
export const getBuffer = (n: Node): DeviceBuffer | undefined => realized.get(n);
export function setBuffer(n: Node, b: DeviceBuffer): void {
  realized.set(n, b);
}

/** Creates a realized node's buffer from host data. */
export function upload(n: Node, data: HostArray): DeviceBuffer {
  const backend = getBackend(n.device);
  const handle = backend.alloc(n.dtype, n.size, deviceIndex(n.device));
  backend.write(handle, data);
  const b = new DeviceBuffer(backend, handle, n.device);
  realized.set(n, b);
  return b;
}

const deviceIndex = (device: string): number => Number(device.split(':')[1] ?? 0);

export interface CompilerStats {
  /** Kernels compiled by a backend (cache misses). */
  compiled: number;
  /** Kernel launches. */
  launched: number;
  /** Launches whose program came from the cache. */
  cacheHits: number;
}

const stats: CompilerStats = { compiled: 0, launched: 0, cacheHits: 0 };
export const compilerStats = (): Readonly<CompilerStats> => ({ ...stats });
export const memoryStats = (): { buffers: number; bytes: number } => ({ buffers: liveBuffers, bytes: liveBytes });

const programs = new Map<string, unknown>();

const kernelObservers = new Set<(kernel: Kernel, backend: Backend) => void>();
/** Calls `fn` with every kernel about to be compiled or fetched from the cache (tests capture kernels this way); returns the unsubscribe. */
export function observeKernels(fn: (kernel: Kernel, backend: Backend) => void): () => void {
  kernelObservers.add(fn);
  return () => void kernelObservers.delete(fn);
}

export function compileKernel(backend: Backend, kernel: Kernel): unknown {
  for (const fn of kernelObservers) fn(kernel, backend);
  const key = `${backend.name}\n${kernel.key}`;
  let p = programs.get(key);
  if (p === undefined) {
    p = backend.compile(backend.render(kernel), kernel);
    programs.set(key, p);
    stats.compiled++;
  } else {
    stats.cacheHits++;
  }
  return p;
}

function need(n: Node): DeviceBuffer {
  const b = realized.get(n);
  if (!b) throw new Error(`internal: ${n} used before it was realized`);
  return b;
}

function runKernel(item: ScheduleItem): void {
  const backend = getBackend(item.root.device);
  const { kernel, inputs, varValues } = lower(item);
  const program = compileKernel(backend, kernel);
  const out =
    item.kind === 'assign'
      ? need(item.root.src[0]!)
      : new DeviceBuffer(backend, backend.alloc(item.root.dtype, item.root.size, deviceIndex(item.root.device)), item.root.device);
  backend.launch(program, [out.handle, ...inputs.map((i) => need(i).handle)], varValues);
  stats.launched++;
  realized.set(item.root, out);
}

function finishCopy(item: ScheduleItem, host: HostArray): void {
  upload(item.root, host);
}

function plan(roots: readonly Node[]): ScheduleItem[] {
  const todo = roots.filter((r) => !realized.has(r));
  if (todo.length === 0) return [];
  // simplify first; the simplified roots stand for the originals
  const simple = simplifyGraph(todo, isRealized);
  const items = schedule(simple, isRealized);
  return [...items, ...todo.map((r, i) => aliasItem(r, simple[i]!))];
}

/** A pseudo-item that makes `from` share the buffer of its simplified form. */
function aliasItem(from: Node, to: Node): ScheduleItem {
  return { kind: 'kernel', root: from, inputs: [to], ops: [], reduces: [], reason: 'alias' };
}

function isAlias(item: ScheduleItem): boolean {
  return item.reason === 'alias';
}

function runAlias(item: ScheduleItem): void {
  const target = item.inputs[0]!;
  if (target === item.root) return;
  realized.set(item.root, need(target));
}

/** Computes every node in `roots` into a buffer, synchronously. */
export function realize(roots: readonly Node[]): void {
  for (const item of plan(roots)) {
    if (isAlias(item)) runAlias(item);
    else if (item.kind === 'copy') {
      const src = need(item.root.src[0]!);
      if (!src.backend.readSync) {
        throw new Error(`copying from ${src.device} needs an asynchronous read: use the async form (await tensor.data())`);
      }
      finishCopy(item, src.backend.readSync(src.handle));
    } else runKernel(item);
  }
}

/** Computes every node in `roots` into a buffer; copies from asynchronous devices are awaited. */
export async function realizeAsync(roots: readonly Node[]): Promise<void> {
  for (const item of plan(roots)) {
    if (isAlias(item)) runAlias(item);
    else if (item.kind === 'copy') {
      const src = need(item.root.src[0]!);
      finishCopy(item, src.backend.readSync ? src.backend.readSync(src.handle) : await src.backend.read(src.handle));
    } else runKernel(item);
  }
}

/** The schedule a realize of `roots` would run, without running it. */
export function planSchedule(roots: readonly Node[]): ScheduleItem[] {
  return plan(roots).filter((i) => !isAlias(i));
}
