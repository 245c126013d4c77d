/**
 * Where a collective's bytes live. This is the one file that reaches under @fusor/tensor's public
 * API (to @fusor/runtime's realized buffers, and the tensor's internal `_assignRealized` hook).
 *
 * - In: the tensor's realized buffer as is (a view of the cpu backend's shared, never-moving
 *   WebAssembly heap, or a CUDA device pointer), no staging copy. It is pinned while a library
 *   may read it: the runtime frees and evicts buffers by count.
 * - Out: a buffer the runtime counts (a `DeviceBuffer` bound to a new buffer node), on the cpu a
 *   block of the heap from its pool, so a loop's results reuse warm memory (no page faults, no
 *   garbage for the collector, no upload at the next use). An all-reduce whose input is the only
 *   holder of a computed buffer (a gradient bucket, a fresh result) reduces in place into that
 *   buffer (MPI_IN_PLACE): the computed node gives it up and is computed again if ever read.
 * - Lifetime: a result is freed when its tensor takes a newer value (the runtime releases old
 *   versions), or by its owner (DDP releases its buckets one step later). Results nobody releases
 *   (a tensor dropped after its collective) are held to a budget of `HELD_BYTES`/`HELD_COUNT`:
 *   past it the oldest still bound gets a host copy and becomes an ordinary cache entry the runtime
 *   drops, so collectives in a synchronous loop keep memory flat (no finalizer runs inside one).
 *
 * No buffer another node can read is ever written in place, so fusor's lazy values stay
 * immutable. A finished operation unpins its buffers; one that failed (timed out) leaves them
 * pinned on purpose, since the library may still write into them.
 */
import { allocLike, type DeviceBuffer, getBackend, getBuffer, isExclusive, realize, release, setBuffer, setHostCopy, unbind } from '@fusor/runtime';
import { bufferNode, hasNoConsumers, prod, type DType, type Node } from '@fusor/ir';
import type { Tensor } from '@fusor/tensor';

/** A buffer a library reads or writes: a host typed array, or a CUDA device pointer. */
export interface Region {
  readonly device: string;
  readonly dtype: DType;
  /** Elements. */
  readonly count: number;
  /** Host memory (cpu storage holds int64 as float64 and bool as uint8), or null on a device. */
  readonly host: ArrayBufferView | null;
  /** The device pointer of a cuda buffer (0n on the cpu). */
  readonly ptr: bigint;
  /** The runtime's buffer, pinned by this region (null for plain host arrays). */
  readonly buffer: DeviceBuffer | null;
}

/** A collective's output before it becomes a tensor's value. */
export interface Fresh {
  readonly region: Region;
  readonly shape: readonly number[];
  /** The new buffer node, already bound to the buffer the library writes. */
  readonly node: Node;
}

interface CpuHandle {
  readonly data: ArrayBufferView;
}
interface CudaHandle {
  readonly ptr: bigint;
}

function regionOf(buf: DeviceBuffer, dtype: DType, count: number): Region {
  const device = buf.device;
  let region: Region;
  if (device === 'cpu') {
    region = { device, dtype, count, host: (buf.handle as unknown as CpuHandle).data, ptr: 0n, buffer: buf };
  } else if (device.startsWith('cuda')) {
    region = { device, dtype, count, host: null, ptr: (buf.handle as unknown as CudaHandle).ptr, buffer: buf };
  } else {
    throw new TypeError(`collectives take cpu tensors (backend 'mpi') or cuda tensors (backend 'nccl'), got a ${device} tensor`);
  }
  buf.pin();
  return region;
}

/** A plain host array as a region (headers, ids). */
export const hostRegion = (host: Float64Array | Uint8Array, dtype: 'float64' | 'uint8'): Region => ({
  device: 'cpu',
  dtype,
  count: host.length,
  host,
  ptr: 0n,
  buffer: null,
});

/** Unpins regions whose operation finished. */
export function releaseRegions(regions: readonly Region[]): void {
  for (const r of regions) r.buffer?.unpin();
}

/**
 * Computes a collective's input if it is lazy (a realize of a realized node costs 5–30 µs: a
 * collective's budget), before its rendezvous.
 */
export function computeInput(n: Node): void {
  if (!getBuffer(n)) realize([n]);
}

/** The tensor's contents in one contiguous realized buffer (computed if lazy), pinned. */
export function readRegion(t: Tensor): Region {
  computeInput(t.node);
  const buf = getBuffer(t.node);
  if (!buf) throw new Error(`internal: ${t.device} tensor has no buffer after realize`);
  return regionOf(buf, t.dtype, t.numel());
}

/** Where a collective writes a result of this dtype, shape and device: a buffer from the backend's pool. */
export function freshRegion(dtype: DType, shape: readonly number[], device: string): Fresh {
  const count = shape.reduce((a, b) => a * b, 1);
  const node = bufferNode(dtype, shape, device);
  const buf = allocLike({ backend: getBackend(device), device, handle: { dtype, size: count } });
  setBuffer(node, buf);
  return { region: regionOf(buf, dtype, count), shape, node };
}

/** An all-reduce's buffers: what the library reads, and where it writes the result. */
export interface Reduction {
  readonly send: Region;
  readonly out: Fresh;
  /** Every region to unpin when it is done (`send` alone when it reduces in place). */
  readonly regions: readonly Region[];
}

/**
 * Where an all-reduce of `t` (whose node is `node`) reads and writes, computing it if it is lazy:
 * - in place (MPI_IN_PLACE) into the tensor's own buffer, when nothing else holds the buffer and
 *   either its value is a computed node (computed again if a lazy value still reads it: the node
 *   gives the buffer up), or, in a synchronous call, a buffer node of the tensor's own that no
 *   node was ever built over (no lazy value reads it: it is released, so a read of it would
 *   raise);
 * - else from that buffer into the buffer of the tensor's previous version (synchronous calls
 *   only: the commit of this result releases that version anyway, and no user code runs between
 *   this and the commit), when it is a plain, exclusively held buffer of the same dtype, size and
 *   device;
 * - else into a pooled buffer.
 */
export function reductionRegions(t: Tensor, node: Node, synchronous: boolean): Reduction {
  computeInput(node);
  const buf = getBuffer(node);
  if (!buf) throw new Error(`internal: ${t.device} tensor has no buffer after realize`);
  const { dtype, shape, device } = node;
  const count = node.size;
  if (ownable(buf, dtype, count, device)) {
    const computed = node.op !== 'BUFFER';
    if (computed || (synchronous && hasNoConsumers(node) && t._view === null && t._box.node === node)) {
      const region = takeBuffer(node, buf, dtype, count, computed ? null : STALE_UNREAD);
      if (region) return { send: region, out: bind(region, buf, dtype, shape, device), regions: [region] };
    }
  }
  const send = regionOf(buf, dtype, count);
  const out = (synchronous && previousVersion(t, dtype, shape, device)) || freshRegion(dtype, shape, device);
  return { send, out, regions: [send, out.region] };
}

/** Whether a collective may write `buf` as a result of this dtype, size and device (nothing else holds it). */
const ownable = (buf: DeviceBuffer, dtype: DType, count: number, device: string): boolean =>
  isExclusive(buf) && buf.handle.size === count && buf.handle.dtype === dtype && buf.device === device && (device === 'cpu' || device.startsWith('cuda'));

/**
 * `n`'s buffer as a pinned region the collective may write, `n` giving it up: a computed node
 * (`why` null) is computed again if read; a buffer node is released (a read raises `why`). Null
 * where a jit trace keeps what it read: the buffer is not the collective's to write.
 */
function takeBuffer(n: Node, buf: DeviceBuffer, dtype: DType, count: number, why: string | null): Region | null {
  // pinned first: giving the buffer up drops the node's hold, which would free it
  const region = regionOf(buf, dtype, count);
  if (why === null) unbind(n);
  else if (!release(n, why)) {
    releaseRegions([region]);
    return null;
  }
  return region;
}

/** A new buffer node bound to `buf`, the result a region will hold. */
function bind(region: Region, buf: DeviceBuffer, dtype: DType, shape: readonly number[], device: string): Fresh {
  const node = bufferNode(dtype, shape, device);
  setBuffer(node, buf);
  return { region, shape, node };
}

/**
 * The buffer of the tensor's previous version, released now (a lazy value still reading that
 * version raises): fusor keeps only the contents before the latest in-place write, and this
 * result's commit is one. Null where the buffer is not the collective's to write.
 */
function previousVersion(t: Tensor, dtype: DType, shape: readonly number[], device: string): Fresh | null {
  if (t._view !== null) return null;
  const count = prod(shape);
  const box = t._box;
  const prev = box.prev;
  if (!prev || prev === box.node) return null;
  const buf = getBuffer(prev);
  if (!buf || !ownable(buf, dtype, count, device)) return null;
  const region = takeBuffer(prev, buf, dtype, count, STALE_BY_COLLECTIVE);
  if (!region) return null;
  // released already: the commit need not release it again
  box.prev = null;
  return bind(region, buf, dtype, shape, device);
}

const STALE_UNREAD =
  'this value was a tensor\'s contents before a collective wrote its result into the same memory; read or clone() the tensor before the collective to keep them';
const STALE_BY_COLLECTIVE =
  'this lazy value reads a tensor that was since updated in place twice (the second time by a collective), and fusor keeps only the contents before the latest in-place op; read or clone() the value before updating its inputs in place again';

/** Divides a cpu result in place (AVG over MPI, which only sums); false where it is on a device. */
export function scaleHost(f: Fresh, divisor: number): boolean {
  const h = f.region.host as Float32Array | Float64Array | null;
  if (!h) return false;
  for (let i = 0; i < h.length; i++) h[i] = h[i]! / divisor;
  return true;
}

/**
 * Makes the result (or its `slice`-th block of `t.numel()` elements) `t`'s new value, in place as
 * PyTorch's collectives do: views see it, its version is bumped. `scale` divides it (AVG on a
 * device: fused into the tensor's next use). Through the tensor's own hook, so no temporary lands
 * in a torch.scope (disposing it there would free `t`'s new contents).
 */
export function commit(t: Tensor, f: Fresh, opts: { slice?: number; scale?: number } = {}): void {
  const { slice, scale } = opts;
  if (slice === undefined && scale === undefined) {
    t._assignRealized(f.node);
    return;
  }
  const n = t.numel();
  t._assignRealized(f.node, (v) => {
    const part = slice === undefined ? v : v.reshape(-1).narrow(0, slice * n, n).reshape(t.shape);
    return scale === undefined ? part : part.div(scale);
  });
}

// ------------------------------------------------------------- results nobody releases

/** Results kept in device memory before the oldest move to the host (the runtime's cache budget's defaults). */
const HELD_BYTES = 64 * 2 ** 20;
const HELD_COUNT = 8;

/**
 * The results counted against the budget, oldest first: their nodes and buffers (at most
 * HELD_COUNT + 1, so a scan of these arrays is cheaper than a hash set). The nodes are held
 * strongly: a WeakRef would keep its node alive until the end of the current job anyway (the
 * language's rule), which in a synchronous loop is never, one node per collective.
 */
const heldNodes: Node[] = [];
const heldBufs: DeviceBuffer[] = [];
let heldBytes = 0;

/**
 * After the commits of `f` into `tensors`: each tensor's new storage (the result itself, or a
 * buffer its slice was copied into) is counted against the budget; the result is freed at once
 * when no tensor holds it any more (allGather's list took copies of its slices). `owned`: the
 * caller manages the result (it is neither counted nor freed here).
 */
export function settle(f: Fresh, tensors: readonly Tensor[], owned = false): void {
  let kept = owned;
  for (const t of tensors) {
    const n = t._box.node;
    if (n === f.node) kept = true;
    else if (n.op !== 'BUFFER') kept = true; // a value still computed from the result
    else hold(n);
  }
  if (owned) return;
  if (kept) hold(f.node, f.region.buffer);
  else release(f.node, 'internal: a collective result was read after it was copied into its tensors');
}

/**
 * Counts a buffer node against the budget. Past it, the ones since released (their tensor took
 * a newer value) leave without a copy, then the oldest still bound get a host copy (a cache the
 * runtime may drop and upload again; the node, if nobody else holds it, is then collected with
 * it). Within the budget only the newest entries are looked at: a collective's budget is
 * microseconds.
 */
function hold(node: Node, buf: DeviceBuffer | null | undefined = getBuffer(node)): void {
  if (!buf) return;
  // the newest result is usually the one this tensor's new value just released (a loop
  // reducing the same tensor): forgotten at once, the list stays short and is never scanned
  let last = heldBufs.length - 1;
  while (last >= 0 && released(last)) forget(last--);
  if (heldBufs.includes(buf)) return;
  heldNodes.push(node);
  heldBufs.push(buf);
  heldBytes += buf.bytes;
  if (heldBytes <= HELD_BYTES && heldBufs.length <= HELD_COUNT) return;
  for (let j = heldBufs.length - 1; j >= 0; j--) if (released(j)) forget(j);
  while (heldBufs.length > 1 && (heldBytes > HELD_BYTES || heldBufs.length > HELD_COUNT)) {
    const oldest = heldNodes[0]!;
    const oldestBuf = heldBufs[0]!;
    forget(0);
    if (oldestBuf.backend.readSync) setHostCopy(oldest, oldestBuf.backend.readSync(oldestBuf.handle));
  }
}

/** Whether the i-th held result was since freed or unbound (its tensor took a newer value). */
const released = (i: number): boolean => heldBufs[i]!.freed || getBuffer(heldNodes[i]!) !== heldBufs[i];

function forget(i: number): void {
  heldBytes -= heldBufs[i]!.bytes;
  heldNodes.splice(i, 1);
  heldBufs.splice(i, 1);
}

/** Frees a result its owner is done with (DDP's buckets); a lazy value still reading it raises `why`. */
export function releaseResult(node: Node, why: string): void {
  release(node, why);
}

/** Results counted against the budget now (tests). */
export const heldResults = (): { count: number; bytes: number } => ({ count: heldBufs.length, bytes: heldBytes });
