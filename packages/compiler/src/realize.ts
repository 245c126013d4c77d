/**
 * Realization: turning lazy nodes into device buffers. Schedules the pending graph, lowers each
 * item to kernel IR, compiles it once per (backend, kernel) and launches it.
 */
import { DTYPES, type DType, type HostArray, type Node } from '@fusor/ir';
import { getBackend, type Backend, type BackendBuffer, type GemmShape } from './backend.js';
import type { Contraction } from './contraction.js';
import type { Kernel } from './kernel-ir.js';
import { lower } from './lower.js';
import { schedule, type ScheduleItem } from './schedule.js';
import { simplifyGraph } from './simplify-graph.js';

/** Device memory behind a realized node; freed when no node refers to it any more. */
export class DeviceBuffer {
  /**
   * Nodes ever bound to this buffer and not marked stale: an upper bound (bindings are not
   * counted down when a node is collected). A buffer bound once is held by one value only.
   */
  bindings = 0;
  constructor(
    readonly backend: Backend,
    readonly handle: BackendBuffer,
    readonly device: string,
  ) {
    liveBuffers++;
    liveBytes += handle.size * DTYPES[handle.dtype].itemsize;
    freeing.register(this, { backend, handle });
    tape?.allocated.add(this);
  }
}

/** A fresh buffer of the same dtype, size and device as `like`. */
export function allocLike(like: { readonly backend: Backend; readonly device: string; readonly handle: { readonly dtype: DType; readonly size: number } }): DeviceBuffer {
  const h = like.handle;
  return new DeviceBuffer(like.backend, like.backend.alloc(h.dtype, h.size, deviceIndex(like.device)), like.device);
}

let liveBuffers = 0;
let liveBytes = 0;
const freeing = new FinalizationRegistry<{ backend: Backend; handle: BackendBuffer }>(({ backend, handle }) => {
  liveBuffers--;
  liveBytes -= handle.size * DTYPES[handle.dtype].itemsize;
  backend.free(handle);
});

const realized = new WeakMap<Node, DeviceBuffer>();
/** Nodes whose buffer was since overwritten in place (by a jit replay): their old value is gone. */
const stale = new WeakSet<Node>();

export const isRealized = (n: Node): boolean => realized.has(n);
export const getBuffer = (n: Node): DeviceBuffer | undefined => realized.get(n);
export function setBuffer(n: Node, b: DeviceBuffer): void {
  realized.set(n, b);
  b.bindings++;
  tape?.realized.add(n);
}

/**
 * Marks a node whose buffer now holds a newer value written in place: a lazy value computed from
 * it later raises instead of reading the new contents as if they were the old.
 */
export function markStale(n: Node): void {
  if (stale.has(n)) return;
  stale.add(n);
  const b = realized.get(n);
  if (b) b.bindings--;
}

/** Whether only one live node holds `b`, so writing it in place changes no other value. */
export const isExclusive = (b: DeviceBuffer): boolean => b.bindings <= 1;

/** Creates a realized node's buffer from host data. */
export function upload(n: Node, data: HostArray): DeviceBuffer {
  const b = uploadUnrecorded(n, data);
  tape?.steps.push({ k: 'upload', buf: b, data: data.slice() as HostArray });
  return b;
}

function uploadUnrecorded(n: Node, data: HostArray): DeviceBuffer {
  const backend = getBackend(n.device);
  const handle = backend.alloc(n.dtype, n.size, deviceIndex(n.device));
  backend.write(handle, data);
  const b = new DeviceBuffer(backend, handle, n.device);
  setBuffer(n, b);
  return b;
}

/** One launch of a realize, with the device buffers it bound. */
export type TapeStep =
  | {
      readonly k: 'kernel';
      readonly backend: Backend;
      readonly kernel: Kernel;
      readonly program: unknown;
      /** The output first, then the inputs. */
      readonly bufs: readonly DeviceBuffer[];
      readonly vars: readonly number[];
    }
  | { readonly k: 'gemm'; readonly backend: Backend; readonly shape: GemmShape; readonly bufs: readonly [DeviceBuffer, DeviceBuffer, DeviceBuffer] }
  | { readonly k: 'upload'; readonly buf: DeviceBuffer; readonly data: HostArray }
  | { readonly k: 'copy'; readonly bufs: readonly [DeviceBuffer, DeviceBuffer] };

/** What realizes did while a tape was running: every launch, and every buffer they allocated. */
export interface Tape {
  readonly steps: TapeStep[];
  readonly allocated: Set<DeviceBuffer>;
  /** Nodes realized while the tape ran. */
  readonly realized: WeakSet<Node>;
  /** Nodes realized before the tape that hold state it may read (the rest is computed again, and recorded). */
  readonly keep: (n: Node) => boolean;
}

let tape: Tape | null = null;

/**
 * Starts recording every launch (for jit); only one tape runs at a time. While it runs, a node
 * computed before it (an equal graph realized earlier: nodes are interned) is computed again so
 * the tape holds the work, unless it is a buffer or `keep` says it is state to read as it is.
 */
export function startTape(keep: (n: Node) => boolean = () => false): Tape {
  if (tape) throw new Error('a capture is already running: jit traces cannot nest');
  tape = { steps: [], allocated: new Set(), realized: new WeakSet(), keep };
  return tape;
}

/** Whether a realize treats `n` as computed: while a tape runs, only buffers, state, and what it computed. */
function done(n: Node): boolean {
  if (!realized.has(n)) return false;
  return !tape || n.op === 'BUFFER' || tape.realized.has(n) || tape.keep(n);
}

export function stopTape(): void {
  tape = null;
}

/** Runs `fn` without recording what it launches (work done for the trace, not part of it). */
export function untaped<T>(fn: () => T): T {
  const t = tape;
  tape = null;
  try {
    return fn();
  } finally {
    tape = t;
  }
}

const deviceIndex = (device: string): number => Number(device.split(':')[1] ?? 0);

export interface CompilerStats {
  /** Kernels compiled by a backend (cache misses). */
  compiled: number;
  /** Kernel launches. */
  launched: number;
  /** Launches whose program came from the cache. */
  cacheHits: number;
  /** Launches that called a backend routine (a GEMM) instead of a generated kernel; counted in `launched` too. */
  routines: number;
}

const stats: CompilerStats = { compiled: 0, launched: 0, cacheHits: 0, routines: 0 };
export const compilerStats = (): Readonly<CompilerStats> => ({ ...stats });
/** Counts launches made outside a realize (a jit replay). */
export function countLaunches(kernels: number, routines: number): void {
  stats.launched += kernels + routines;
  stats.routines += routines;
  stats.cacheHits += kernels;
}
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
  if (stale.has(n)) {
    throw new Error(
      'a tensor this lazy value reads was updated in place by a jit replay after the value was recorded, so its old contents are gone; realize such values (dataSync(), item()) before calling the jitted function',
    );
  }
  return b;
}

function runKernel(item: ScheduleItem): void {
  const backend = getBackend(item.root.device);
  if (item.gemm) return runGemm(backend, item, item.gemm);
  const { kernel, inputs, varValues } = lower(item);
  const program = compileKernel(backend, kernel);
  const out =
    item.kind === 'assign'
      ? need(item.root.src[0]!)
      : new DeviceBuffer(backend, backend.alloc(item.root.dtype, item.root.size, deviceIndex(item.root.device)), item.root.device);
  const bufs = [out, ...inputs.map(need)];
  backend.launch(
    program,
    bufs.map((b) => b.handle),
    varValues,
  );
  stats.launched++;
  setBuffer(item.root, out);
  tape?.steps.push({ k: 'kernel', backend, kernel, program, bufs, vars: varValues });
}

function runGemm(backend: Backend, item: ScheduleItem, g: Contraction): void {
  const out = new DeviceBuffer(backend, backend.alloc(item.root.dtype, item.root.size, deviceIndex(item.root.device)), item.root.device);
  const a = need(g.a);
  const b = need(g.b);
  backend.routines!.gemm!.run(g.shape, a.handle, b.handle, out.handle);
  stats.launched++;
  stats.routines++;
  setBuffer(item.root, out);
  tape?.steps.push({ k: 'gemm', backend, shape: g.shape, bufs: [out, a, b] });
}

function finishCopy(item: ScheduleItem, host: HostArray): void {
  const dst = uploadUnrecorded(item.root, host);
  tape?.steps.push({ k: 'copy', bufs: [dst, need(item.root.src[0]!)] });
}

function plan(roots: readonly Node[]): ScheduleItem[] {
  const todo = roots.filter((r) => !done(r));
  if (todo.length === 0) return [];
  // simplify first; the simplified roots stand for the originals
  const simple = simplifyGraph(todo, done);
  const items = schedule(simple, done);
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
  setBuffer(item.root, need(target));
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
