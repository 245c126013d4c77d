/**
 * Where a collective's bytes live. This is the one file that reaches under @fusor/tensor's public
 * API (to @fusor/compiler's realized buffers, and the tensor's internal `_assignRealized` hook).
 *
 * - In: the tensor's realized buffer as is (a view of the cpu backend's shared, never-moving
 *   WebAssembly heap, or a CUDA device pointer), no staging copy. It is pinned while a library
 *   may read it: the runtime frees and evicts buffers by count.
 * - Out, cpu: a fresh host array (off the heap) that becomes the host copy of a new buffer node,
 *   exactly what `torch.tensor(typedArray)` makes: the runtime uploads it into the heap when the
 *   tensor is next used and may drop that device copy again, so results of collectives in a
 *   training loop stay in flat memory like any other tensor.
 * - Out, cuda: a fresh device buffer, the new node's only copy.
 *
 * No realized buffer is ever written in place, so fusor's lazy values stay immutable. A finished
 * operation unpins its buffers; one that failed (timed out) leaves them pinned on purpose, since
 * the library may still write into them.
 */
import { DeviceBuffer, getBackend, getBuffer, realize, setBuffer, setHostCopy } from '@fusor/runtime';
import { bufferNode, hostArray, type DType, type HostArray, type Node } from '@fusor/ir';
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
  /** cuda: the node already bound to the device buffer. */
  readonly node: Node | null;
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

/** The tensor's contents in one contiguous realized buffer (computed if lazy), pinned. */
export function readRegion(t: Tensor): Region {
  realize([t.node]);
  const buf = getBuffer(t.node);
  if (!buf) throw new Error(`internal: ${t.device} tensor has no buffer after realize`);
  return regionOf(buf, t.dtype, t.numel());
}

/** cpu storage's element type for a dtype: what MPI moves (int64 travels as float64, as the heap holds it). */
function cpuStorage(dtype: DType, n: number): ArrayBufferView {
  return dtype === 'int64' ? new Float64Array(n) : (hostArray(dtype, n) as ArrayBufferView);
}

/** Where a collective writes a result of this dtype, shape and device. */
export function freshRegion(dtype: DType, shape: readonly number[], device: string): Fresh {
  const count = shape.reduce((a, b) => a * b, 1);
  if (device === 'cpu') {
    const host = cpuStorage(dtype, count);
    void host.buffer; // off V8's heap: the library may hold the pointer after the call returns
    return { region: { device, dtype, count, host, ptr: 0n, buffer: null }, shape, node: null };
  }
  const node = bufferNode(dtype, shape, device);
  const backend = getBackend(device);
  const buf = new DeviceBuffer(backend, backend.alloc(dtype, count, Number(device.split(':')[1] ?? 0)), device);
  setBuffer(node, buf);
  return { region: regionOf(buf, dtype, count), shape, node };
}

/** Divides a cpu result in place (AVG over MPI, which only sums); false where it is on a device. */
export function scaleHost(f: Fresh, divisor: number): boolean {
  const h = f.region.host as Float32Array | Float64Array | null;
  if (!h) return false;
  for (let i = 0; i < h.length; i++) h[i] = h[i]! / divisor;
  return true;
}

/** The node holding a cpu result's elements [start, start + n) with `shape`: a host-backed buffer node. */
function hostNode(f: Fresh, start: number, n: number, shape: readonly number[]): Node {
  const { dtype } = f.region;
  const all = f.region.host as unknown as { subarray(a: number, b: number): ArrayLike<number> & ArrayBufferView; length: number };
  const part = start === 0 && n === all.length ? all : all.subarray(start, start + n);
  const data: HostArray =
    dtype === 'int64' ? BigInt64Array.from(part as ArrayLike<number>, (v) => BigInt(Math.trunc(v))) : start === 0 && n === all.length ? (part as HostArray) : ((part as unknown as Float32Array).slice() as HostArray);
  const node = bufferNode(dtype, shape, 'cpu');
  setHostCopy(node, data);
  return node;
}

/**
 * Makes the result (or its `slice`-th block of `t.numel()` elements) `t`'s new value, in place as
 * PyTorch's collectives do: views see it, its version is bumped. `scale` divides it (AVG on a
 * device: fused into the tensor's next use). Through the tensor's own hook, so no temporary lands
 * in a torch.scope (disposing it there would free `t`'s new contents).
 */
export function commit(t: Tensor, f: Fresh, opts: { slice?: number; scale?: number } = {}): void {
  const n = t.numel();
  if (f.node === null) {
    const start = (opts.slice ?? 0) * n;
    t._assignRealized(hostNode(f, start, n, t.shape));
    return;
  }
  const { slice, scale } = opts;
  t._assignRealized(f.node, (v) => {
    const part = slice === undefined ? v : v.reshape(-1).narrow(0, slice * n, n).reshape(t.shape);
    return scale === undefined ? part : part.div(scale);
  });
}
