/**
 * Where a collective's bytes live. This is the one file that reaches under @fusor/tensor's public
 * API (to @fusor/compiler's realized buffers): a collective reads a tensor's realized buffer as
 * is and writes its result into a fresh buffer that then becomes the tensor's new value
 * (`copy_` of a same-shaped buffer re-points the tensor, no copy). No realized buffer is ever
 * written in place, so the IR's values stay immutable, and there is no host staging copy
 * (all-reduce through fusor moves the same bytes as a bare MPI_Allreduce).
 *
 * The runtime frees and evicts buffers by count: a region pins its buffer while a library may
 * touch it. A finished operation unpins; one that failed (timed out) leaves it pinned on purpose,
 * since the library may still write into it.
 */
import { DeviceBuffer, getBackend, getBuffer, realize, setBuffer } from '@fusor/compiler';
import { bufferNode, type DType, type Node } from '@fusor/ir';
import { Tensor } from '@fusor/tensor';

/** A realized buffer: a typed array over the cpu heap, or a CUDA device pointer. */
export interface Region {
  readonly device: string;
  readonly dtype: DType;
  /** Elements. */
  readonly count: number;
  /** The cpu storage (int64 is held as float64, bool as uint8), or null on a device. */
  readonly host: ArrayBufferView | null;
  /** The device pointer of a cuda buffer (0n on the cpu). */
  readonly ptr: bigint;
  /** The runtime's buffer, pinned by this region (null for plain host arrays). */
  readonly buffer: DeviceBuffer | null;
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
    const host = (buf.handle as unknown as CpuHandle).data;
    // a view of the heap's (shared, never moving) memory: MPI reads and writes it directly
    region = { device, dtype, count, host, ptr: 0n, buffer: buf };
  } else if (device.startsWith('cuda')) {
    region = { device, dtype, count, host: null, ptr: (buf.handle as unknown as CudaHandle).ptr, buffer: buf };
  } else {
    throw new TypeError(`collectives take cpu tensors (backend 'mpi') or cuda tensors (backend 'nccl'), got a ${device} tensor`);
  }
  buf.pin();
  return region;
}

/** A plain host array as a region (headers, the bench's baseline). */
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

/** The tensor's contents in one contiguous realized buffer (computed if lazy). */
export function readRegion(t: Tensor): Region {
  realize([t.node]);
  const buf = getBuffer(t.node);
  if (!buf) throw new Error(`internal: ${t.device} tensor has no buffer after realize`);
  return regionOf(buf, t.dtype, t.numel());
}

/** A fresh buffer of this dtype, shape and device, and the node that will hold it. */
export function freshRegion(dtype: DType, shape: readonly number[], device: string): { node: Node; region: Region } {
  const node = bufferNode(dtype, shape, device);
  const backend = getBackend(device);
  const handle = backend.alloc(dtype, node.size, Number(device.split(':')[1] ?? 0));
  const buf = new DeviceBuffer(backend, handle, device);
  setBuffer(node, buf);
  return { node, region: regionOf(buf, dtype, node.size) };
}

/** Makes `node`'s value `t`'s new value, in place as PyTorch's collectives do (bumps its version). */
export function commit(t: Tensor, node: Node): void {
  t.detach().copy_(Tensor._fromNode(node));
}

/** A tensor over a realized node (outside autograd). */
export const tensorOf = (node: Node): Tensor => Tensor._fromNode(node);
