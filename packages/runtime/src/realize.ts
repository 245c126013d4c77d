/**
 * Realization: turning lazy nodes into device buffers. Schedules the pending graph, lowers each
 * item to kernel IR (the compiler's pure functions), compiles it once per (backend, kernel) and
 * launches it. The runtime's state lives here: buffers and their counts, the result and program
 * caches, the capture tape.
 */
import { DTYPES, forgetNode, hashMix, NodeMarks, releaseConsumers, sameSignature, signatureOf, stringId, type DType, type HostArray, type Node, type Signature } from '@fusor/ir';
import {
  canonicalDevice,
  type Backend,
  type BackendBuffer,
  type Contraction,
  explainSchedule,
  type ExplainOptions,
  type Explanation,
  type GemmShape,
  type SortShape,
  type Kernel,
  lower,
  parseDevice,
  type ScheduleItem,
  schedule,
  simplifyGraph,
} from '@fusor/compiler';
import { getBackend, registeredBackends } from './registry.js';

/**
 * Device memory behind realized nodes. It is counted, not left to the collector: a garbage
 * collector never runs finalizers inside a synchronous loop and does not see device or wasm
 * memory, so the runtime frees a buffer as soon as nothing holds it — no node bound to it, no
 * recording pinning it. The FinalizationRegistry is only the backstop for buffers whose nodes
 * the collector took first.
 */
export class DeviceBuffer {
  /** Nodes bound to this buffer, plus pins (a jit recording that replays into it). */
  refs = 0;
  freed = false;
  readonly bytes: number;
  constructor(
    readonly backend: Backend,
    readonly handle: BackendBuffer,
    readonly device: string,
  ) {
    this.bytes = handle.size * DTYPES[handle.dtype].itemsize;
    liveBuffers++;
    liveBytes += this.bytes;
    freeing.register(this, { backend, handle, bytes: this.bytes }, this);
    tape?.allocated.add(this);
  }

  /** Keeps the buffer alive for a holder other than a node (a recording). */
  pin(): void {
    this.refs++;
  }

  /** Drops one hold; the last one frees the buffer. */
  unpin(): void {
    if (--this.refs <= 0) this.free();
  }

  /** Returns the memory to the backend now (its pool); every node bound to it must be unbound first. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    freeing.unregister(this);
    liveBuffers--;
    liveBytes -= this.bytes;
    this.backend.free(this.handle);
  }
}

/** A fresh buffer of the same dtype, size and device as `like`. */
export function allocLike(like: { readonly backend: Backend; readonly device: string; readonly handle: { readonly dtype: DType; readonly size: number } }): DeviceBuffer {
  const h = like.handle;
  return new DeviceBuffer(like.backend, allocOn(like.backend, h.dtype, h.size, like.device), like.device);
}

let liveBuffers = 0;
let liveBytes = 0;
const freeing = new FinalizationRegistry<{ backend: Backend; handle: BackendBuffer; bytes: number }>(({ backend, handle, bytes }) => {
  liveBuffers--;
  liveBytes -= bytes;
  backend.free(handle);
});

/** Raised when a device cannot hold an allocation even after its pool was emptied. */
export class OutOfMemoryError extends Error {
  override name = 'OutOfMemoryError';
}

/** `2.00 GiB`, as PyTorch prints sizes in its out-of-memory message (c10's format_size). */
export function formatBytes(bytes: number): string {
  if (bytes <= 1024) return `${bytes} bytes`;
  if (bytes <= 1048576) return `${(bytes / 1024).toFixed(2)} KiB`;
  if (bytes <= 1073741824) return `${(bytes / 1048576).toFixed(2)} MiB`;
  return `${(bytes / 1073741824).toFixed(2)} GiB`;
}

/**
 * Allocates on a device; when the device refuses, drops what the runtime holds only as a cache
 * (evictable buffers, the backend's pool) and tries once more, then raises PyTorch's error.
 */
function allocOn(backend: Backend, dtype: DType, size: number, device: string): BackendBuffer {
  const index = deviceIndex(device);
  try {
    return backend.alloc(dtype, size, index);
  } catch (e) {
    if (e instanceof OutOfMemoryError) throw e;
    evictAll();
    backend.trim?.();
    try {
      return backend.alloc(dtype, size, index);
    } catch (e2) {
      // a backend that words its own out-of-memory error (cuda's caching allocator) is heard as is
      if (e2 instanceof Error && e2.name.endsWith('OutOfMemoryError')) throw e2;
      const bytes = size * DTYPES[dtype].itemsize;
      const type = parseDevice(device).type;
      const prefix = type === 'cuda' ? 'CUDA' : type === 'cpu' ? 'CPU' : type === 'webgpu' ? 'WebGPU' : type;
      const why = e2 instanceof Error ? e2.message : String(e2);
      throw new OutOfMemoryError(
        `${prefix} out of memory. Tried to allocate ${formatBytes(bytes)} (device ${canonicalDevice(device)}; fusor holds ${formatBytes(liveBytes)} in ${liveBuffers} buffers). ${why}`,
      );
    }
  }
}

/**
 * Each realized node's buffer, kept on the node itself (`Node._buffer`): a realize looks buffers up
 * for every node it touches, and a WeakMap probe on a cold cache costs a few hundred ns each.
 */
const realized = {
  get: (n: Node): DeviceBuffer | undefined => n._buffer as DeviceBuffer | undefined,
  has: (n: Node): boolean => n._buffer !== undefined,
  set: (n: Node, b: DeviceBuffer): void => {
    n._buffer = b;
  },
  delete: (n: Node): void => {
    n._buffer = undefined;
  },
};
/**
 * Nodes whose value is gone (overwritten in place, or released as an old version): reading them
 * raises. On the node (`Node._stale`), as `realized`: a release probes and writes it every time.
 */
const stale = {
  get: (n: Node): string | undefined => n._stale,
  has: (n: Node): boolean => n._stale !== undefined,
  set: (n: Node, why: string): void => {
    n._stale = why;
  },
};
/** Buffer nodes whose contents also live on the host: their device copy can be dropped and made again (`Node._host`). */
const hostCopies = {
  get: (n: Node): HostArray | undefined => n._host as HostArray | undefined,
  has: (n: Node): boolean => n._host !== undefined,
  set: (n: Node, data: HostArray): void => {
    n._host = data;
  },
};

export const isRealized = (n: Node): boolean => realized.has(n);
export const getBuffer = (n: Node): DeviceBuffer | undefined => realized.get(n);
export function setBuffer(n: Node, b: DeviceBuffer): void {
  const prev = realized.get(n);
  if (prev === b) return;
  realized.set(n, b);
  b.refs++;
  if (prev) unhold(prev);
  tape?.realized.add(n);
}

function unhold(b: DeviceBuffer): void {
  if (--b.refs <= 0 && !(tape && tape.allocated.has(b))) b.free();
}

/**
 * Drops `n`'s binding to its buffer (freed when nothing else holds it). A computed node is then
 * computed again if needed, a buffer node with a host copy uploaded again; a plain buffer node's
 * value is gone.
 */
export function unbind(n: Node): void {
  const b = realized.get(n);
  if (!b) return;
  realized.delete(n);
  forget(n);
  unhold(b);
}

/**
 * Releases a value nothing may read any more (an old version of a tensor updated in place):
 * its memory is freed, and a lazy value still reading it raises `why` instead of computing.
 * False while a jit trace records (it keeps what it read): nothing was released.
 */
export function release(n: Node, why: string): boolean {
  // a jit trace keeps what it read: the recording finds state through these buffers
  if (tape) return false;
  if (n.op === 'BUFFER' && !hostCopies.has(n)) stale.set(n, why);
  unbind(n);
  return true;
}

/**
 * Marks a node whose buffer now holds a newer value written in place: a lazy value computed from
 * it later raises instead of reading the new contents as if they were the old.
 */
export function markStale(n: Node): void {
  if (stale.has(n)) return;
  stale.set(n, STALE_JIT);
  const b = realized.get(n);
  if (b) {
    realized.delete(n);
    forget(n);
    b.refs--;
  }
}

const STALE_JIT =
  'a tensor this lazy value reads was updated in place by a jit replay after the value was recorded, so its old contents are gone; realize such values (dataSync(), item()) before calling the jitted function';

/** Whether only one live node holds `b`, so writing it in place changes no other value. */
export const isExclusive = (b: DeviceBuffer): boolean => b.refs <= 1;

/** Remembers that buffer node `n`'s contents are `data` on the host: its device copy becomes a cache. */
export function setHostCopy(n: Node, data: HostArray): void {
  if (n.op !== 'BUFFER') throw new Error(`internal: a host copy is for buffer nodes, not ${n.op}`);
  hostCopies.set(n, data);
  const b = realized.get(n);
  if (b && !(n._cached & IN_LATEST)) {
    touchEvictable(n, b);
    trimCache();
  }
}

// ------------------------------------------------------------------ the cache of recomputable buffers

/**
 * Buffers the runtime may drop at any time because their value can be made again: realized
 * results of computations (their inputs are still held) and buffer nodes with a host copy.
 * Oldest first; past the budget the oldest go.
 */
const evictable = new Map<Node, DeviceBuffer>();
let evictableBytes = 0;
let cacheBudget = 64 * 1024 * 1024;
let cacheEntries = 64;

/** How much the runtime keeps of recomputable results and host-backed copies before dropping the oldest. */
export interface CacheBudget {
  /** Bytes (default 64 MiB). */
  readonly bytes: number;
  /** Buffers (default 64). */
  readonly buffers: number;
}

export function setCacheBudget(budget: Partial<CacheBudget>): void {
  const { bytes = cacheBudget, buffers = cacheEntries } = budget;
  if (!(bytes >= 0)) throw new RangeError(`cache budget: bytes must be a non-negative number, got ${bytes}`);
  if (!(buffers >= 0) || !Number.isInteger(buffers)) throw new RangeError(`cache budget: buffers must be a non-negative integer, got ${buffers}`);
  cacheBudget = bytes;
  cacheEntries = buffers;
  trimCache();
}
export const getCacheBudget = (): CacheBudget => ({ bytes: cacheBudget, buffers: cacheEntries });

/**
 * `Node._cached`: whether `latest` (IN_LATEST) and `evictable` (IN_CACHE) hold the node, so that
 * forgetting a node neither holds costs no hash-table probe (a release on a cold cache).
 */
const IN_LATEST = 1;
const IN_CACHE = 2;

function touchEvictable(n: Node, b: DeviceBuffer): void {
  if (n._cached & IN_CACHE) evictable.delete(n);
  else {
    n._cached |= IN_CACHE;
    evictableBytes += b.bytes;
  }
  evictable.set(n, b);
}

/**
 * The results of the latest realize: about to be read by whoever asked for them, so no trim
 * drops them; they join the cache when the next realize finishes.
 */
const latest = new Map<Node, DeviceBuffer>();

function forget(n: Node): void {
  if (n._cached === 0) return;
  if (n._cached & IN_LATEST) latest.delete(n);
  if (n._cached & IN_CACHE) {
    evictableBytes -= evictable.get(n)!.bytes;
    evictable.delete(n);
  }
  n._cached = 0;
}

/** Asynchronous realizes under way: while one awaits a read, what its plan counts as computed must stay. */
let inflight = 0;

function trimCache(): void {
  if (tape || inflight > 0) return;
  for (const [n, b] of evictable) {
    if (evictableBytes <= cacheBudget && evictable.size <= cacheEntries) break;
    evictable.delete(n);
    n._cached &= ~IN_CACHE;
    evictableBytes -= b.bytes;
    if (realized.get(n) === b) {
      realized.delete(n);
      unhold(b);
    }
  }
}

function evictAll(): void {
  const [bytes, entries] = [cacheBudget, cacheEntries];
  cacheBudget = 0;
  cacheEntries = 0;
  trimCache();
  [cacheBudget, cacheEntries] = [bytes, entries];
}

/** Creates a realized node's buffer from host data. */
export function upload(n: Node, data: HostArray): DeviceBuffer {
  const b = uploadUnrecorded(n, data);
  tape?.steps.push({ k: 'upload', buf: b, data: data.slice() as HostArray });
  // the host array is the value; the device copy is a cache made again when dropped
  if (n.op === 'BUFFER') setHostCopy(n, data);
  return b;
}

function uploadUnrecorded(n: Node, data: HostArray): DeviceBuffer {
  const backend = getBackend(n.device);
  const handle = allocOn(backend, n.dtype, n.size, n.device);
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
  /** bufs: the output, the product's two operands, then its epilogue's extra operands. */
  | { readonly k: 'gemm'; readonly backend: Backend; readonly shape: GemmShape; readonly bufs: readonly DeviceBuffer[] }
  /** bufs: the positions, then the rows. */
  | { readonly k: 'sort'; readonly backend: Backend; readonly shape: SortShape; readonly bufs: readonly DeviceBuffer[] }
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
  // a buffer node is an input: need() uploads its host copy again, or says why its value is gone
  if (n.op === 'BUFFER') return true;
  if (!realized.has(n)) return false;
  return !tape || tape.realized.has(n) || tape.keep(n);
}

export function stopTape(): void {
  tape = null;
  trimCache();
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

/** Buffers and bytes the runtime holds on devices, and how much of it is a droppable cache. */
export interface MemoryStats {
  readonly buffers: number;
  readonly bytes: number;
  /** Of those, the buffers and bytes of recomputable results and host-backed copies (a cache, dropped first under pressure). */
  readonly cachedBuffers: number;
  readonly cachedBytes: number;
}

export interface CompilerStats {
  /** Kernels compiled by a backend (cache misses). */
  compiled: number;
  /** Realizes that replayed a stored plan of an equal graph instead of planning. */
  replayed: number;
  /** Kernel launches. */
  launched: number;
  /** Launches whose program came from the cache. */
  cacheHits: number;
  /** Launches that called a backend routine (a GEMM) instead of a generated kernel; counted in `launched` too. */
  routines: number;
}

const stats: CompilerStats = { compiled: 0, launched: 0, cacheHits: 0, routines: 0, replayed: 0 };
export const compilerStats = (): Readonly<CompilerStats> => ({ ...stats });
/** Counts launches made outside a realize (a jit replay). */
export function countLaunches(kernels: number, routines: number): void {
  stats.launched += kernels + routines;
  stats.routines += routines;
  stats.cacheHits += kernels;
}
export const memoryStats = (): MemoryStats => ({ buffers: liveBuffers, bytes: liveBytes, cachedBuffers: evictable.size, cachedBytes: evictableBytes });

/**
 * Compiled programs by kernel key, least recently used first. Bounded: a compiled program
 * holds backend memory the collector cannot see (SwiftShader's and the driver's machine code,
 * pipeline objects), and a program that runs through thousands of distinct shapes (a test
 * suite, a shape sweep) would otherwise keep every one of them. A dropped program is
 * compiled again if its kernel comes back; jit replays hold their own programs.
 */
const programs = new Map<string, unknown>();
let programCapacity = 1024;

/** How many compiled programs the runtime keeps (default 1024); the least recently used go first. */
export function setProgramCacheCapacity(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`program cache capacity must be a non-negative integer, got ${n}`);
  programCapacity = n;
  trimPrograms();
}
export const getProgramCacheCapacity = (): number => programCapacity;

function trimPrograms(): void {
  if (programs.size <= programCapacity) return;
  for (const key of programs.keys()) {
    if (programs.size <= programCapacity) break;
    programs.delete(key);
  }
}

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
    stats.compiled++;
  } else {
    programs.delete(key);
    stats.cacheHits++;
  }
  programs.set(key, p);
  trimPrograms();
  return p;
}

function need(n: Node): DeviceBuffer {
  let b = realized.get(n);
  const gone = stale.get(n);
  if (gone) throw new Error(gone);
  if (!b) {
    const host = hostCopies.get(n);
    if (!host) throw new Error(`internal: ${n} used before it was realized`);
    b = uploadUnrecorded(n, host);
    touchEvictable(n, b);
  } else if (n._cached & IN_CACHE) touchEvictable(n, b);
  return b;
}

/** Allocates the output buffer of a launch. */
function output(root: Node): DeviceBuffer {
  const backend = getBackend(root.device);
  return new DeviceBuffer(backend, allocOn(backend, root.dtype, root.size, root.device), root.device);
}

function runKernel(item: ScheduleItem, made: Node[]): void {
  const backend = getBackend(item.root.device);
  if (item.gemm) return runGemm(backend, item, item.gemm, made);
  if (item.sort) return runSort(backend, item, item.sort, made);
  const { kernel, inputs, varValues, rands, prefill } = lower(item);
  const program = compileKernel(backend, kernel);
  const out = item.kind === 'assign' ? need(item.root.src[0]!) : output(item.root);
  // a scatter's base goes into the output first (its own kernel, parallel over the elements)
  if (prefill) {
    const pre = compileKernel(backend, prefill.kernel);
    const pbufs = [out, ...prefill.inputs.map(need)];
    backend.launch(pre, pbufs.map((b) => b.handle), prefill.varValues);
    stats.launched++;
    noteLaunch({ k: 'kernel', backend, kernel: prefill.kernel, program: pre, vars: prefill.varValues, rands: prefill.rands, bufs: pbufs, made: null });
  }
  const bufs = [out, ...inputs.map(need)];
  backend.launch(
    program,
    bufs.map((b) => b.handle),
    varValues,
  );
  stats.launched++;
  setBuffer(item.root, out);
  if (item.kind !== 'assign') made.push(item.root);
  noteLaunch({ k: 'kernel', backend, kernel, program, vars: varValues, rands, bufs, made: item.kind === 'assign' ? null : item.root });
}

function runGemm(backend: Backend, item: ScheduleItem, g: Contraction, made: Node[]): void {
  const a = need(g.a);
  const b = need(g.b);
  // an epilogue's extra operands (a bias…) follow the product's two in the launch's buffers
  const extra = (g.epilogue ?? []).map(need);
  const out = output(item.root);
  backend.routines!.gemm!.run(g.shape, a.handle, b.handle, out.handle, extra.map((e) => e.handle));
  stats.launched++;
  stats.routines++;
  setBuffer(item.root, out);
  made.push(item.root);
  noteLaunch({ k: 'gemm', backend, shape: g.shape, bufs: [out, a, b, ...extra], made: item.root });
}

function runSort(backend: Backend, item: ScheduleItem, shape: SortShape, made: Node[]): void {
  const routine = backend.routines?.sort;
  if (!routine) throw new Error(`internal: a sort was routed to ${backend.name}, which has no sort routine`);
  const x = need(item.inputs[0]!);
  const out = output(item.root);
  routine.run(shape, x.handle, out.handle);
  stats.launched++;
  stats.routines++;
  setBuffer(item.root, out);
  made.push(item.root);
  noteLaunch({ k: 'sort', backend, shape, bufs: [out, x], made: item.root });
}

/** A launch, told to whoever records: jit's tape (a tape step is this less `rands` and `made`) and a cacheable realize's plan. */
function noteLaunch(step: RecordedStep & ({ readonly k: 'gemm' } | { readonly k: 'sort' } | { readonly k: 'kernel'; readonly kernel: Kernel })): void {
  tape?.steps.push(step as TapeStep);
  recording?.push(step);
}

// ------------------------------------------------------------------ copies between devices
// (issue 14) Additive: a copy goes device to device where the backend can (`Backend.copy`: CUDA
// peer copies), else through the host; `needsAsyncRead` lets autograd tell beforehand whether a
// realize must await a read (a copy out of webgpu), so backward() can take the asynchronous path.

/** Copies a COPY item's source straight into a new buffer on its device, when the backend can; false otherwise. */
function copyOnDevice(item: ScheduleItem, made: Node[]): boolean {
  const src = need(item.root.src[0]!);
  const backend = getBackend(item.root.device);
  if (src.backend !== backend || !backend.copy) return false;
  const dst = output(item.root);
  backend.copy(src.handle, dst.handle);
  setBuffer(item.root, dst);
  made.push(item.root);
  tape?.steps.push({ k: 'copy', bufs: [dst, src] });
  return true;
}

/**
 * Whether realizing `roots` needs an asynchronous read: a pending copy whose source lives on a
 * backend without `readSync` (webgpu), found by a walk over the nodes not yet computed.
 */
export function needsAsyncRead(roots: readonly Node[]): boolean {
  // no backend without synchronous reads registered (cpu, cuda only): nothing to look for
  if (registeredBackends().every((name) => getBackend(name).readSync !== undefined)) return false;
  const seen = new Set<Node>();
  const stack = roots.filter((r) => !done(r));
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    if (n.op === 'COPY') {
      const src = n.src[0]!;
      const from = getBackend(src.device);
      if (!from.readSync && !(from === getBackend(n.device) && from.copy)) return true;
    }
    for (const s of n.src) if (!done(s)) stack.push(s);
  }
  return false;
}

function finishCopy(item: ScheduleItem, host: HostArray, made: Node[]): void {
  const dst = uploadUnrecorded(item.root, host);
  made.push(item.root);
  tape?.steps.push({ k: 'copy', bufs: [dst, need(item.root.src[0]!)] });
}

function plan(roots: readonly Node[]): ScheduleItem[] {
  const todo = roots.filter((r) => !done(r));
  if (todo.length === 0) return [];
  // simplify first; the simplified roots stand for the originals
  const simple = simplifyGraph(todo, done, backendFor);
  const items = schedule(simple, done, backendFor);
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

/**
 * After a realize: intermediates (computed only for this realize) are dropped at once — they can
 * be computed again from what they read; computed roots join the cache of recomputable buffers.
 * Nothing is dropped while a tape records (the recording replays into those buffers).
 */
function finish(roots: readonly Node[], made: readonly Node[]): void {
  for (const r of roots) need(r);
  if (tape) return;
  const keep = new Set(roots);
  for (const n of made) {
    if (keep.has(n)) continue;
    // another realize is awaiting a read and may have planned on this value: cache it instead
    if (inflight > 0) {
      touchEvictable(n, realized.get(n)!);
      continue;
    }
    // computed a second time: a value some live tensor keeps reading (lazy data, a weight's
    // transpose) is worth caching; a first-time intermediate is dropped at once. A sort's positions
    // are cached at once: sort and topk return values and indices, each read from them, and a user
    // reads one and then the other
    if (computedBefore.has(n) || n.op === 'SORT') touchEvictable(n, realized.get(n)!);
    else {
      computedBefore.add(n);
      unbind(n);
    }
  }
  for (const [n, b] of latest) {
    n._cached &= ~IN_LATEST;
    if (realized.get(n) === b) touchEvictable(n, b);
  }
  latest.clear();
  // the roots leave the cache before it is trimmed: a root that is a host-backed buffer uploaded
  // for this realize would otherwise be dropped by the trim before its caller reads it
  for (const r of roots) {
    if (r.op !== 'BUFFER' || hostCopies.has(r)) {
      const b = realized.get(r)!;
      forget(r);
      latest.set(r, b);
      r._cached |= IN_LATEST;
    }
  }
  trimCache();
}

const computedBefore = new WeakSet<Node>();

/** Runs one planned item; a copy that has to pass through the host hands back its source for the caller to read. */
function runItem(item: ScheduleItem, made: Node[]): DeviceBuffer | null {
  if (isAlias(item)) runAlias(item);
  else if (item.kind !== 'copy') runKernel(item, made);
  else if (!copyOnDevice(item, made)) return need(item.root.src[0]!);
  return null;
}

/** Computes every node in `roots` into a buffer, synchronously. */
export function realize(roots: readonly Node[]): void {
  const cacheable = plansCacheable();
  const structure = cacheable ? structureOf(roots) : null;
  if (structure && replayPlan(structure, roots)) return releaseGraph(structure);
  // a realize that keeps no plan (a jit trace, a kernel observer) lets go of its graph all the same
  const graph = structure ?? structureOf(roots);
  const made: Node[] = [];
  const steps: RecordedStep[] | null = structure ? [] : null;
  recording = steps;
  try {
    for (const item of plan(roots)) {
      const src = runItem(item, made);
      if (!src) continue;
      if (!src.backend.readSync) {
        throw new Error(`copying from ${src.device} needs an asynchronous read: use the async form (await tensor.data(), await loss.backward())`);
      }
      finishCopy(item, src.backend.readSync(src.handle), made);
    }
  } finally {
    recording = null;
  }
  if (structure && steps) storePlan(structure, steps, roots);
  finish(roots, made);
  if (graph) releaseGraph(graph);
}

/** Computes every node in `roots` into a buffer; copies from asynchronous devices are awaited. */
export async function realizeAsync(roots: readonly Node[]): Promise<void> {
  await realizeHeld(roots, false);
}

/**
 * realizeAsync that hands the roots' buffers back pinned (unpin each once read): between the
 * realize and the caller's next step another realize may finish and trim the cache.
 */
export async function realizeHeld(roots: readonly Node[], hold = true): Promise<DeviceBuffer[]> {
  const made: Node[] = [];
  const structure = plansCacheable() ? structureOf(roots) : null;
  if (structure && replayPlan(structure, roots)) {
    releaseGraph(structure);
    return hold ? pinRoots(roots) : [];
  }
  const graph = structure ?? structureOf(roots);
  inflight++;
  try {
    for (const item of plan(roots)) {
      const src = runItem(item, made);
      if (src) finishCopy(item, src.backend.readSync ? src.backend.readSync(src.handle) : await src.backend.read(src.handle), made);
    }
  } finally {
    inflight--;
  }
  finish(roots, made);
  if (graph) releaseGraph(graph);
  return hold ? pinRoots(roots) : [];
}

function pinRoots(roots: readonly Node[]): DeviceBuffer[] {
  const held = roots.map((r) => realized.get(r)!);
  for (const b of held) b.pin();
  return held;
}

/** The schedule a realize of `roots` would run, without running it. */
export function planSchedule(roots: readonly Node[]): ScheduleItem[] {
  return plan(roots).filter((i) => !isAlias(i));
}

/** The backend of a device, or undefined where none is registered (what scheduling asks). */
function backendFor(device: string): Backend | undefined {
  return registeredBackends().includes(parseDevice(device).type) ? getBackend(device) : undefined;
}

/** What a realize of `roots` would launch, and why each kernel is where it is. */
export function explain(roots: readonly Node[], opts: ExplainOptions = {}): Explanation {
  return explainSchedule(planSchedule(roots), getBackend, opts);
}

// ------------------------------------------------------------------ the structural plan cache

/**
 * Eager code builds equal graphs over and over on new data: a training step, a chain of small
 * ops. Simplifying, scheduling and lowering such a graph costs far more than launching its
 * kernels, so a realize remembers what it launched, keyed by the graph's structure up to what
 * is already computed — every pending node's op, dtype, device, shape and argument, which
 * sources it reads (sharing included), and the computed inputs ("leaves") by dtype, shape and
 * device — and the next realize of an equal structure launches the same programs on the new
 * leaves' buffers without planning. The plan is a pure function of that structure (scheduling
 * and lowering read nothing else), so a replay computes what planning would have.
 *
 * Random draws are structure apart from their (seed, offset), which kernels take as parameters:
 * a replay passes the new draws' pairs. Not cached, planned every time: graphs that copy between
 * devices, that read one buffer through two leaves, and realizes made while jit records or while
 * a test observes compiled kernels.
 */
interface Structure {
  /** A hash of the structure: the plans' map key. A hit is checked against the plan's own copy (`sameStructure`). */
  readonly hash: number;
  /** Computed inputs in order of first use. */
  readonly leaves: readonly Node[];
  /** The nodes to compute, sources before consumers. */
  readonly pending: readonly Node[];
  /** The sources of each pending node in turn (as many as its op takes): a pending position, or -1 − a leaf's index. */
  readonly refs: readonly number[];
  /** The roots, coded as `refs` codes them. */
  readonly rootRefs: readonly number[];
}

/** What a plan keeps of the structure it was made for, to check a hit with: no nodes (they would hold their buffers). */
interface StoredStructure {
  readonly sigs: readonly Signature[];
  readonly refs: readonly number[];
  readonly rootRefs: readonly number[];
  readonly leaves: readonly { readonly dtype: DType; readonly device: string; readonly shape: readonly number[] }[];
}

/** A slot of a plan: a leaf's buffer (leaf index) or a buffer the plan allocates (temp index). */
type Slot = { readonly leaf: number } | { readonly temp: number };

/**
 * A launch of a realize, over buffers `B` (output first) and nodes `N`: while planning, device
 * buffers and nodes; in a stored plan, slots and positions among the pending nodes. `made` is the
 * node the launch computes (null: an in-place write, a scatter's prefill), which a replay binds
 * to the result as planning does — so finish() keeps a value computed a second time (a weight
 * updated lazily, read by every step) instead of computing it again. `rands` are the RAND nodes
 * whose (seed, offset) pairs are the kernel's parameters: a replay passes the new draws' pairs.
 */
type Launch<B, N> = { readonly made: N | null; readonly backend: Backend; readonly bufs: readonly B[] } & (
  | { readonly k: 'kernel'; readonly program: unknown; readonly vars: readonly number[]; readonly rands: readonly N[] }
  | { readonly k: 'gemm'; readonly shape: GemmShape }
  | { readonly k: 'sort'; readonly shape: SortShape }
);
type RecordedStep = Launch<DeviceBuffer, Node>;
type PlanStep = Launch<Slot, number>;

interface Plan {
  readonly structure: StoredStructure;
  readonly steps: readonly PlanStep[];
  /** What each temp is: allocated before the step that first writes it. */
  readonly temps: readonly { readonly backend: Backend; readonly device: string; readonly dtype: DType; readonly size: number }[];
  /** The leaves the plan reads or writes (the others were simplified away). */
  readonly used: readonly number[];
  /** Per root: its slot, or null for a root that was already computed. */
  readonly roots: readonly (Slot | null)[];
  readonly kernels: number;
  readonly routines: number;
}

/** Realized steps while a cacheable realize plans (null otherwise). */
let recording: RecordedStep[] | null = null;
const plans = new Map<number, Plan>();
let planCapacity = 256;

/** How many structural plans the runtime keeps (default 256; 0 turns the cache off). */
export function setPlanCacheCapacity(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`plan cache capacity must be a non-negative integer, got ${n}`);
  planCapacity = n;
  for (const key of plans.keys()) {
    if (plans.size <= planCapacity) break;
    plans.delete(key);
  }
}

/**
 * Forgets every stored plan. A backend whose routing or rendering depends on its configuration
 * (a GEMM routine turned on or off, another renderer, another launch mode) calls this when the
 * configuration changes: a plan holds the routing and the programs of the configuration it was
 * made under.
 */
export function invalidatePlans(): void {
  plans.clear();
}

const plansCacheable = (): boolean => planCapacity > 0 && !tape && recording === null && kernelObservers.size === 0;


/**
 * The structure of the pending graph under `roots` (null when it cannot be cached). A hash of
 * every pending node's signature (`Node.sigHash`), the positions of its sources and the leaves'
 * dtypes, shapes and devices; no string is built (the key of a 1000-op chain was a 30 KB string,
 * made and hashed on every realize).
 */
function structureOf(roots: readonly Node[]): Structure | null {
  // position of each pending node (≥ 0) or leaf (-1 − index)
  const at = new NodeMarks();
  const leaves: Node[] = [];
  const pending: Node[] = [];
  const refs: number[] = [];
  const stack: Node[] = [];
  let h = 0x1b873593;
  for (const root of roots) {
    stack.push(root);
    while (stack.length) {
      const n = stack[stack.length - 1]!;
      if (at.has(n)) {
        stack.pop();
        continue;
      }
      if (done(n)) {
        at.set(n, -1 - leaves.length);
        leaves.push(n);
        h = hashMix(hashMix(hashMix(h, 0x4c454146), stringId(n.dtype)), stringId(n.device));
        for (let i = 0; i < n.shape.length; i++) h = hashMix(h, n.shape[i]!);
        stack.pop();
        continue;
      }
      if (n.op === 'COPY') return null;
      let ready = true;
      for (let i = n.src.length - 1; i >= 0; i--) {
        const s = n.src[i]!;
        if (!at.has(s)) {
          ready = false;
          stack.push(s);
        }
      }
      if (!ready) continue;
      stack.pop();
      h = hashMix(hashMix(h, n.sigHash), n.src.length);
      for (let i = 0; i < n.src.length; i++) {
        const r = at.get(n.src[i]!);
        refs.push(r);
        h = hashMix(h, r);
      }
      at.set(n, pending.length);
      pending.push(n);
    }
  }
  const rootRefs: number[] = [];
  for (const r of roots) {
    const code = at.get(r);
    rootRefs.push(code);
    h = hashMix(h, code);
  }
  return { hash: h, leaves, pending, refs, rootRefs };
}

/**
 * After a realize, what it computed holds on to nothing the user does not: its computed inputs
 * stop remembering the nodes built over them (the intern table does from now on), and the nodes
 * it computed leave the intern table. Otherwise an input a loop keeps (a batch in the cache, a
 * parameter) would keep the graph first built over it alive, and the table every graph with a
 * shared value until it forgot them: nodes surviving young collections, most of the garbage
 * collector's work in eager loops. A tensor that holds a computed node keeps it and its value;
 * the same graph built again is a new node, computed again (the plan is replayed).
 */
function releaseGraph(s: Structure): void {
  for (const n of s.leaves) releaseConsumers(n);
  for (const n of s.pending) forgetNode(n);
}

/** Whether `s` is the structure `stored` was made for. */
function sameStructure(s: Structure, stored: StoredStructure): boolean {
  if (s.pending.length !== stored.sigs.length || s.leaves.length !== stored.leaves.length) return false;
  if (s.refs.length !== stored.refs.length || s.rootRefs.length !== stored.rootRefs.length) return false;
  for (let i = 0; i < s.refs.length; i++) if (s.refs[i] !== stored.refs[i]) return false;
  for (let i = 0; i < s.rootRefs.length; i++) if (s.rootRefs[i] !== stored.rootRefs[i]) return false;
  for (let i = 0; i < s.pending.length; i++) if (!sameSignature(s.pending[i]!, stored.sigs[i]!)) return false;
  for (let i = 0; i < s.leaves.length; i++) {
    const a = s.leaves[i]!;
    const b = stored.leaves[i]!;
    if (a.dtype !== b.dtype || a.device !== b.device || a.shape.length !== b.shape.length) return false;
    for (let d = 0; d < a.shape.length; d++) if (a.shape[d] !== b.shape[d]) return false;
  }
  return true;
}

/** Turns the steps a planned realize launched into a plan over slots; nothing stored if a buffer has no slot. */
function storePlan(structure: Structure, steps: readonly RecordedStep[], roots: readonly Node[]): void {
  const at = new Map<Node, number>();
  structure.pending.forEach((n, i) => at.set(n, i));
  const slotOf = new Map<DeviceBuffer, Slot>();
  const used: number[] = [];
  for (let i = 0; i < structure.leaves.length; i++) {
    const b = realized.get(structure.leaves[i]!);
    if (!b) continue;
    if (slotOf.has(b)) return; // two leaves on one buffer: which one a step means is not structural
    slotOf.set(b, { leaf: i });
    used.push(i);
  }
  const temps: Plan['temps'][number][] = [];
  const planSteps: PlanStep[] = [];
  let kernels = 0;
  let routines = 0;
  for (const step of steps) {
    const [out, ...ins] = step.bufs;
    const inSlots: Slot[] = [];
    for (const b of ins) {
      const slot = slotOf.get(b);
      if (!slot) return;
      inSlots.push(slot);
    }
    let outSlot = slotOf.get(out!);
    if (!outSlot) {
      outSlot = { temp: temps.length };
      temps.push({ backend: out!.backend, device: out!.device, dtype: out!.handle.dtype, size: out!.handle.size });
      slotOf.set(out!, outSlot);
    }
    const slots = [outSlot, ...inSlots];
    // a node of the simplified graph that the structure does not list is not bound on replay
    const made = (step.made && at.get(step.made)) ?? null;
    if (step.k === 'kernel') {
      // a kernel's only parameters are its draws' (seed, offset) pairs; anything else is not replayed
      if (step.vars.length !== 2 * step.rands.length) return;
      const rands: number[] = [];
      for (const r of step.rands) {
        const i = at.get(r);
        if (i === undefined) return; // a draw the simplifier made: not one the structure lists
        rands.push(i);
      }
      planSteps.push({ k: 'kernel', backend: step.backend, program: step.program, vars: step.vars, rands, bufs: slots, made });
      kernels++;
    } else {
      planSteps.push(step.k === 'gemm' ? { k: 'gemm', backend: step.backend, shape: step.shape, bufs: slots, made } : { k: 'sort', backend: step.backend, shape: step.shape, bufs: slots, made });
      routines++;
    }
  }
  const rootSlots: (Slot | null)[] = [];
  for (const r of roots) {
    const i = structure.leaves.indexOf(r);
    if (i >= 0) {
      rootSlots.push(null);
      continue;
    }
    const b = realized.get(r);
    const slot = b && slotOf.get(b);
    if (!slot) return;
    rootSlots.push(slot);
  }
  const stored: StoredStructure = {
    sigs: structure.pending.map(signatureOf),
    refs: structure.refs,
    rootRefs: structure.rootRefs,
    leaves: structure.leaves.map((n) => ({ dtype: n.dtype, device: n.device, shape: n.shape })),
  };
  plans.delete(structure.hash);
  plans.set(structure.hash, { structure: stored, steps: planSteps, temps, used, roots: rootSlots, kernels, routines });
  if (plans.size > planCapacity) plans.delete(plans.keys().next().value!);
}

/** Runs the stored plan of an equal structure, if there is one. */
function replayPlan(structure: Structure, roots: readonly Node[]): boolean {
  const p = plans.get(structure.hash);
  // a different structure of the same hash is planned (and its plan then replaces this one)
  if (!p || !sameStructure(structure, p.structure)) return false;
  plans.delete(structure.hash);
  plans.set(structure.hash, p);
  const leafBufs: DeviceBuffer[] = [];
  for (const i of p.used) leafBufs[i] = need(structure.leaves[i]!);
  const temps: DeviceBuffer[] = [];
  const at = (s: Slot): DeviceBuffer => ('leaf' in s ? leafBufs[s.leaf]! : temps[s.temp]!);
  const made: Node[] = [];
  try {
    for (const step of p.steps) {
      const out = step.bufs[0]!;
      if ('temp' in out && !temps[out.temp]) {
        const t = p.temps[out.temp]!;
        temps[out.temp] = new DeviceBuffer(t.backend, allocOn(t.backend, t.dtype, t.size, t.device), t.device);
      }
      if (step.k === 'kernel') {
        step.backend.launch(
          step.program,
          step.bufs.map((s) => at(s).handle),
          step.rands.length ? drawsOf(structure, step.rands) : step.vars,
        );
      } else if (step.k === 'gemm') {
        const [, a, b, ...extra] = step.bufs.map((s) => at(s).handle);
        step.backend.routines!.gemm!.run(step.shape, a!, b!, at(out).handle, extra);
      } else {
        step.backend.routines!.sort!.run(step.shape, at(step.bufs[1]!).handle, at(out).handle);
      }
      if (step.made !== null) {
        const n = structure.pending[step.made]!;
        setBuffer(n, at(out));
        made.push(n);
      }
    }
    roots.forEach((r, i) => {
      const slot = p.roots[i];
      if (slot) setBuffer(r, at(slot));
    });
  } finally {
    for (const t of temps) if (t && t.refs === 0) t.free();
  }
  stats.launched += p.kernels + p.routines;
  stats.routines += p.routines;
  stats.cacheHits += p.kernels;
  stats.replayed++;
  finish(roots, made);
  return true;
}

/** The (seed, offset) pairs of a replay's random draws, in the order a kernel takes them. */
function drawsOf(structure: Structure, rands: readonly number[]): number[] {
  const vars: number[] = [];
  for (const i of rands) {
    const a = structure.pending[i]!.arg as { seed: number; offset: number };
    vars.push(a.seed | 0, a.offset | 0);
  }
  return vars;
}
