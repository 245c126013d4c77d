/**
 * The cpu backend's memory: one WebAssembly.Memory (shared between the main thread and the
 * workers where the platform allows it) carved into blocks by a size-class allocator. A freed
 * block goes on its class's free list and serves the next request of that class, so a steady
 * loop reuses memory instead of touching fresh pages (which fault slowly on some machines).
 */

const PAGE = 65536;
/** wasm32 addresses 4 GiB; past that, buffers live outside the heap (see CpuBuffer). */
const MAX_PAGES = 65536;
/** The first bytes are never handed out: address 0 stays invalid. */
const RESERVED = 1024;
/** Smallest block: a cache line, so SIMD reads of a few bytes past a short buffer stay inside it. */
const MIN_BLOCK = 64;

/** Block size for a request: up to 25% over, four classes per power of two, 16-byte multiples. */
export function sizeClass(bytes: number): number {
  if (bytes <= MIN_BLOCK) return MIN_BLOCK;
  const step = 2 ** (Math.floor(Math.log2(bytes - 1)) - 2);
  return Math.ceil(bytes / step) * step;
}

export interface HeapStats {
  /** Bytes of memory the heap has grown to. */
  readonly reserved: number;
  /** Bytes in blocks handed out and not yet freed. */
  readonly live: number;
  /** Bytes in freed blocks waiting for reuse. */
  readonly pooled: number;
}

export class Heap {
  readonly memory: WebAssembly.Memory;
  /** Whether `memory` is a SharedArrayBuffer (workers can use it). */
  readonly shared: boolean;
  /** Why the memory is not shared, when it is not. */
  readonly unsharedReason: string | undefined;
  /** Increases whenever the memory grows: views of an unshared memory must then be made again. */
  generation = 0;
  private top = RESERVED;
  private readonly freeLists = new Map<number, number[]>();
  private live = 0;
  private pooled = 0;

  constructor(initialPages = 16) {
    let memory: WebAssembly.Memory | undefined;
    // a page that is not cross-origin isolated may make a shared memory but cannot share it with workers
    let reason: string | undefined =
      typeof SharedArrayBuffer === 'undefined' || (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false
        ? 'shared WebAssembly memory is unavailable (the page is not cross-origin isolated: serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)'
        : undefined;
    if (!reason) {
      try {
        memory = new WebAssembly.Memory({ initial: initialPages, maximum: MAX_PAGES, shared: true });
      } catch (e) {
        reason = `shared WebAssembly memory is unavailable (${e instanceof Error ? e.message : String(e)})`;
      }
    }
    memory ??= new WebAssembly.Memory({ initial: initialPages, maximum: MAX_PAGES });
    this.memory = memory;
    this.shared = reason === undefined;
    this.unsharedReason = reason;
  }

  get buffer(): ArrayBuffer | SharedArrayBuffer {
    return this.memory.buffer;
  }

  /** A block of at least `bytes` bytes (16-byte aligned); undefined when the heap cannot grow that far. */
  alloc(bytes: number): number | undefined {
    const size = sizeClass(bytes);
    const list = this.freeLists.get(size);
    if (list?.length) {
      this.pooled -= size;
      this.live += size;
      return list.pop()!;
    }
    const at = this.top;
    if (!this.ensure(at + size)) return undefined;
    this.top = at + size;
    this.live += size;
    return at;
  }

  /** Returns a block from `alloc(bytes)` to its class's free list. */
  release(at: number, bytes: number): void {
    const size = sizeClass(bytes);
    let list = this.freeLists.get(size);
    if (!list) this.freeLists.set(size, (list = []));
    list.push(at);
    this.live -= size;
    this.pooled += size;
  }

  stats(): HeapStats {
    return { reserved: this.memory.buffer.byteLength, live: this.live, pooled: this.pooled };
  }

  /** Grows the memory to hold `end` bytes: at least an eighth more each time, so growth is rare. */
  private ensure(end: number): boolean {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return true;
    const pages = have / PAGE;
    const need = Math.ceil((end - have) / PAGE);
    if (pages + need > MAX_PAGES) return false;
    const want = Math.min(MAX_PAGES - pages, Math.max(need, Math.ceil(pages / 8), 256));
    try {
      this.memory.grow(want);
    } catch {
      try {
        this.memory.grow(need);
      } catch {
        return false;
      }
    }
    this.generation++;
    return true;
  }
}
