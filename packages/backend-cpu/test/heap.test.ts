import { describe, expect, it } from 'vitest';
import { Heap, sizeClass } from '../src/heap.js';
import { cpuBackend, cpuHeap } from '../src/index.js';
import * as torch from '../../tensor/src/index.js';

describe('the cpu heap', () => {
  it('rounds requests up to a size class at most 25% larger, in 16-byte multiples', () => {
    for (const n of [0, 1, 63, 64, 65, 100, 1000, 4096, 4097, 1e6, 64 * 2 ** 20 + 1]) {
      const s = sizeClass(n);
      expect(s).toBeGreaterThanOrEqual(Math.max(n, 64));
      expect(s % 16).toBe(0);
      if (n > 64) expect(s).toBeLessThanOrEqual(n * 1.25 + 16);
    }
  });

  it('reuses a freed block for the next request of its class: a steady loop does not grow', () => {
    const heap = new Heap(1);
    const a = heap.alloc(1000)!;
    heap.release(a, 1000);
    expect(heap.alloc(990)).toBe(a);
    heap.release(a, 990);
    let grown = 0;
    for (let i = 0; i < 100; i++) {
      const x = heap.alloc(1 << 20)!;
      const y = heap.alloc(3000)!;
      heap.release(x, 1 << 20);
      heap.release(y, 3000);
      if (i === 0) grown = heap.stats().reserved;
    }
    const after = heap.stats();
    expect(after.live).toBe(0);
    expect(after.pooled).toBe(sizeClass(1000) + sizeClass(1 << 20) + sizeClass(3000));
    expect(after.reserved).toBe(grown);
  });

  it('hands out 16-byte-aligned, disjoint blocks and grows the memory for large ones', () => {
    const heap = new Heap(1);
    const blocks = [10, 5000, 70000, 3 << 20].map((n) => [heap.alloc(n)!, n] as const);
    for (const [at] of blocks) expect(at % 16).toBe(0);
    const sorted = [...blocks].sort((p, q) => p[0] - q[0]);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]![0]).toBeGreaterThanOrEqual(sorted[i - 1]![0] + sorted[i - 1]![1]);
    expect(heap.memory.buffer.byteLength).toBeGreaterThanOrEqual(sorted[3]![0] + (3 << 20));
  });

  it('backs cpu buffers with views of one shared memory that stay valid as it grows', () => {
    const h = cpuHeap();
    expect(h.shared).toBe(true);
    const a = cpuBackend.alloc('float32', 4, 0);
    cpuBackend.write(a, Float32Array.of(1, 2, 3, 4));
    expect(a.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    const big = cpuBackend.alloc('float64', 4 << 20, 0);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4]);
    expect(new Float32Array(h.buffer, a.ptr, 4)[2]).toBe(3);
    cpuBackend.free(big);
    cpuBackend.free(a);
    cpuBackend.free(a); // a second free is a no-op
    const b = cpuBackend.alloc('int32', 4, 0);
    expect(b.ptr).toBe(a.ptr);
    cpuBackend.free(b);
  });

  it('reads int64 back as BigInt64Array and writes BigInts (held as float64, exact within ±2^53)', () => {
    const b = cpuBackend.alloc('int64', 3, 0);
    cpuBackend.write(b, BigInt64Array.of(-5n, 2n ** 53n, 7n));
    expect(cpuBackend.readSync!(b)).toEqual(BigInt64Array.of(-5n, 2n ** 53n, 7n));
    cpuBackend.free(b);
  });

  it('shows large blocks to the garbage collector, so dropped tensors return theirs in a loop that yields', async () => {
    // each step leaves an 8 MiB buffer behind; heap blocks are invisible to the collector, but the
    // buffer's untouched ballast is not, so collections (and frees into the pool) keep happening
    // (without the ballast nothing is collected here: the heap grows by all 48 × 8 MiB)
    const mib = 2 ** 20;
    const before = cpuHeap().stats().reserved;
    for (let i = 0; i < 48; i++) {
      torch.rand(2 * mib).contiguous().sum().itemSync();
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(cpuHeap().stats().reserved - before).toBeLessThan(32 * 8 * mib);
  });
});
