/**
 * A caching allocator, one per device, like PyTorch's: freed blocks go to a pool keyed by their
 * rounded size and are handed out again without a driver call. When the driver runs out of
 * memory the pool is released and the allocation retried once; if it still fails, the error says
 * how much was asked for and how much is free, and nothing is left half-done.
 */

export interface DeviceMemory {
  /** Allocates `bytes` (> 0); returns the device pointer, or null when the device is out of memory. */
  alloc(bytes: number): bigint | null;
  free(ptr: bigint): void;
  /** Free and total bytes on the device, as the driver reports them. */
  info(): { free: number; total: number };
}

export interface MemoryStats {
  /** Bytes in blocks that hold live buffers. */
  readonly allocated: number;
  /** Peak of `allocated` since the last reset. */
  readonly maxAllocated: number;
  /** Bytes obtained from the driver: live blocks plus the cached pool. */
  readonly reserved: number;
  readonly maxReserved: number;
  /** Live blocks. */
  readonly blocks: number;
}

/** The PyTorch-style error for a failed device allocation. */
export class CudaOutOfMemoryError extends Error {
  override name = 'CudaOutOfMemoryError';
  constructor(
    message: string,
    readonly requestedBytes: number,
    readonly freeBytes: number,
  ) {
    super(message);
  }
}

const SMALL = 1 << 20;
/** Blocks under 1 MiB round to 512 bytes, larger ones to 2 MiB: sizes repeat, so blocks are reused. */
export function roundSize(bytes: number): number {
  return bytes < SMALL ? Math.max(512, Math.ceil(bytes / 512) * 512) : Math.ceil(bytes / (2 * SMALL)) * (2 * SMALL);
}

export const formatBytes = (b: number): string => {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = b;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} bytes` : `${v.toFixed(2)} ${units[u]}`;
};

export class CachingAllocator {
  private readonly pool = new Map<number, bigint[]>();
  private allocated = 0;
  private maxAllocated = 0;
  private reserved = 0;
  private maxReserved = 0;
  private blocks = 0;

  constructor(
    private readonly memory: DeviceMemory,
    private readonly deviceLabel: string,
  ) {}

  /** A block of at least `bytes`; its rounded size is returned with it (the key for `free`). */
  alloc(bytes: number): { ptr: bigint; size: number } {
    const size = roundSize(bytes);
    let ptr = this.pool.get(size)?.pop();
    if (ptr === undefined) {
      ptr = this.memory.alloc(size) ?? undefined;
      if (ptr === undefined) {
        this.emptyCache();
        ptr = this.memory.alloc(size) ?? undefined;
      }
      if (ptr === undefined) throw this.outOfMemory(bytes);
      this.reserved += size;
      this.maxReserved = Math.max(this.maxReserved, this.reserved);
    }
    this.allocated += size;
    this.maxAllocated = Math.max(this.maxAllocated, this.allocated);
    this.blocks++;
    return { ptr, size };
  }

  free(ptr: bigint, size: number): void {
    this.allocated -= size;
    this.blocks--;
    let list = this.pool.get(size);
    if (!list) this.pool.set(size, (list = []));
    list.push(ptr);
  }

  /** Returns every cached (unused) block to the driver. */
  emptyCache(): void {
    for (const [size, list] of this.pool) {
      for (const p of list) {
        this.memory.free(p);
        this.reserved -= size;
      }
    }
    this.pool.clear();
  }

  stats(): MemoryStats {
    return { allocated: this.allocated, maxAllocated: this.maxAllocated, reserved: this.reserved, maxReserved: this.maxReserved, blocks: this.blocks };
  }

  resetPeakStats(): void {
    this.maxAllocated = this.allocated;
    this.maxReserved = this.reserved;
  }

  private outOfMemory(bytes: number): CudaOutOfMemoryError {
    const { free, total } = this.memory.info();
    return new CudaOutOfMemoryError(
      `CUDA out of memory. Tried to allocate ${formatBytes(bytes)}. ${this.deviceLabel} has a total capacity of ${formatBytes(total)} of which ${formatBytes(free)} is free. ` +
        `Of the allocated memory ${formatBytes(this.allocated)} is allocated by fusor, and ${formatBytes(this.reserved - this.allocated)} is reserved by fusor but unallocated. ` +
        `Free tensors you no longer need (and let them be garbage-collected), or use a smaller batch.`,
      bytes,
      free,
    );
  }
}
