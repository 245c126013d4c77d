import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GemmShape } from '@fusor/compiler';
import { configureCpu, configureWasmGemm, cpuBackend, cpuConfig, cpuWorkersReady, wasmGemm } from '../src/index.js';

// The portable GEMM routine called directly: operands in the heap are packed by the wasm module
// (over the worker pool when it is up), others by JavaScript; both packings, any split over
// threads, and a float64 reference agree.

interface Operand {
  readonly dtype: 'float32';
  readonly size: number;
  readonly data: Float32Array;
  readonly ptr?: number;
}

function filled(size: number, seed: number, inHeap: boolean): Operand {
  const b: Operand = inHeap ? (cpuBackend.alloc('float32', size, 0) as Operand) : { dtype: 'float32', size, data: new Float32Array(size) };
  for (let i = 0; i < size; i++) b.data[i] = Math.sin((i + 1) * 12.9898 + seed * 78.233) * 2;
  return b;
}

/** A product's layout: a is m×k, b is k×n, either stored transposed; c row-major. */
function shape(m: number, n: number, k: number, at: boolean, bt: boolean): GemmShape {
  return {
    dtype: 'float32',
    m,
    n,
    k,
    batch: [],
    a: at ? { offset: 0, rowStride: 1, colStride: m } : { offset: 0, rowStride: k, colStride: 1 },
    b: bt ? { offset: 0, rowStride: 1, colStride: k } : { offset: 0, rowStride: n, colStride: 1 },
    c: { offset: 0, rowStride: n, colStride: 1 },
  };
}

function product(g: GemmShape, inHeap: boolean): { c: Float32Array; ref: Float64Array; a: Operand; b: Operand } {
  const a = filled(g.m * g.k, 1, inHeap);
  const b = filled(g.k * g.n, 2, inHeap);
  const c = filled(g.m * g.n, 3, inHeap);
  expect(wasmGemm.supports(g)).toBe(true);
  wasmGemm.run(g, a, b, c, []);
  const ref = new Float64Array(g.m * g.n);
  for (let i = 0; i < g.m; i++) {
    for (let j = 0; j < g.n; j++) {
      let s = 0;
      for (let p = 0; p < g.k; p++) s += a.data[i * g.a.rowStride + p * g.a.colStride]! * b.data[p * g.b.rowStride + j * g.b.colStride]!;
      ref[i * g.n + j] = s;
    }
  }
  return { c: Float32Array.from(c.data), ref, a, b };
}

const saved = cpuConfig();
beforeAll(() => configureWasmGemm({ minMultiplyAdds: 0 }));
afterAll(() => {
  configureCpu({ threads: saved.threads, parallelThreshold: saved.parallelThreshold });
  configureWasmGemm({ minMultiplyAdds: 32 ** 3 });
});

describe('wasm gemm packing and threads', () => {
  // m, n, k past the 4×8 tile, one 256-step k block and one 128-row chunk, and odd edges
  const sizes: [number, number, number][] = [
    [37, 45, 600],
    [130, 10, 70],
    [9, 131, 5],
  ];
  for (const [m, n, k] of sizes) {
    for (const [at, bt] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      it(`${m}×${k} @ ${k}×${n}${at ? ', a transposed' : ''}${bt ? ', b transposed' : ''}: heap and plain operands, 1 and 2 threads, the same bits`, async () => {
        const g = shape(m, n, k, at, bt);
        configureCpu({ threads: 1 });
        const heapOne = product(g, true);
        expect(heapOne.a.ptr).toBeGreaterThanOrEqual(0);
        const plainOne = product(g, false);
        configureCpu({ threads: 2, parallelThreshold: 0 });
        expect(await cpuWorkersReady()).toBe(2);
        const heapTwo = product(g, true);
        const plainTwo = product(g, false);
        expect(Array.from(plainOne.c)).toEqual(Array.from(heapOne.c));
        expect(Array.from(heapTwo.c)).toEqual(Array.from(heapOne.c));
        expect(Array.from(plainTwo.c)).toEqual(Array.from(heapOne.c));
        let worst = 0;
        for (let i = 0; i < heapOne.ref.length; i++) worst = Math.max(worst, Math.abs(heapOne.c[i]! - heapOne.ref[i]!) / (1 + Math.abs(heapOne.ref[i]!)));
        expect(worst).toBeLessThan(1e-5 * Math.sqrt(k) * 8);
      });
    }
  }
});
