/**
 * cpu buffers: typed-array views of blocks of the shared heap (see heap.ts). A buffer the heap
 * cannot hold (past wasm32's 4 GiB) gets an ordinary typed array instead; kernels touching one
 * run through the JavaScript renderer.
 */
import type { DType } from '@fusor/ir';
import type { BackendBuffer } from '@fusor/compiler';
import { Heap } from './heap.js';

export type Storage = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
type StorageCtor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => Storage;

/** Typed-array storage per dtype. int64 is held in float64 (exact within ±2^53). */
const STORAGE: Readonly<Partial<Record<DType, StorageCtor & { readonly BYTES_PER_ELEMENT: number }>>> = {
  bool: Uint8Array,
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: Float64Array,
  float32: Float32Array,
  float64: Float64Array,
};

function storageOf(dtype: DType): StorageCtor & { readonly BYTES_PER_ELEMENT: number } {
  const s = STORAGE[dtype];
  if (!s) throw new TypeError(`the cpu backend does not support ${dtype}`);
  return s;
}

let theHeap: Heap | undefined;

/** The process's cpu heap, made on first use. */
export function heap(): Heap {
  return (theHeap ??= new Heap());
}

/**
 * Heap blocks at least this large carry a same-sized, never-touched ArrayBuffer: the engine
 * counts it as memory the buffer holds (heap blocks are invisible to it), so garbage buffers
 * are collected, and their blocks pooled, as often as plain typed arrays would be. Its pages
 * are never written, so they cost address space only.
 */
const BALLAST_MIN = 1 << 20;

/**
 * Ballast of released buffers, by size, for the next buffers of that size: a training step frees
 * and reallocates the same few large temps every step, and a fresh ArrayBuffer is zero-filled by
 * the allocator (the malloc arena reuses freed pages), which cost more than the kernels that fill
 * some of them. A buffer collected as garbage takes its ballast with it, as before.
 */
const spareBallast = new Map<number, ArrayBuffer[]>();
let spareBytes = 0;
const SPARE_MAX = 64 << 20;

function takeBallast(bytes: number): ArrayBuffer {
  const spare = spareBallast.get(bytes)?.pop();
  if (!spare) return new ArrayBuffer(bytes);
  spareBytes -= bytes;
  return spare;
}

function keepBallast(b: ArrayBuffer): void {
  if (spareBytes + b.byteLength > SPARE_MAX) return;
  let list = spareBallast.get(b.byteLength);
  if (!list) spareBallast.set(b.byteLength, (list = []));
  list.push(b);
  spareBytes += b.byteLength;
}

export class CpuBuffer implements BackendBuffer {
  private view: Storage;
  private generation: number;
  private freed = false;
  private ballast: ArrayBuffer | undefined;

  constructor(
    readonly dtype: DType,
    readonly size: number,
    /** Byte offset in the heap, or −1 for a buffer outside it. */
    readonly ptr: number,
    view: Storage,
  ) {
    this.view = view;
    this.generation = theHeap?.generation ?? 0;
    if (ptr >= 0 && view.byteLength >= BALLAST_MIN) this.ballast = takeBallast(view.byteLength);
  }

  /** The contents as a typed array (a view of the heap: valid until the buffer is freed). */
  get data(): Storage {
    const h = theHeap;
    // an unshared memory's buffer is replaced when it grows: views of the old one are detached
    if (this.ptr >= 0 && h && !h.shared && this.generation !== h.generation) {
      this.view = new (storageOf(this.dtype))(h.buffer, this.ptr, this.size);
      this.generation = h.generation;
    }
    return this.view;
  }

  get bytes(): number {
    return this.size * storageOf(this.dtype).BYTES_PER_ELEMENT;
  }

  /** Returns the block to the heap's pool (once). */
  release(): void {
    if (this.freed) return;
    this.freed = true;
    if (this.ballast) keepBallast(this.ballast);
    this.ballast = undefined;
    if (this.ptr >= 0) heap().release(this.ptr, this.bytes);
  }
}

export function allocBuffer(dtype: DType, size: number): CpuBuffer {
  const Ctor = storageOf(dtype);
  const h = heap();
  const at = h.alloc(size * Ctor.BYTES_PER_ELEMENT);
  if (at === undefined) return new CpuBuffer(dtype, size, -1, new Ctor(new ArrayBuffer(size * Ctor.BYTES_PER_ELEMENT), 0, size));
  return new CpuBuffer(dtype, size, at, new Ctor(h.buffer, at, size));
}
