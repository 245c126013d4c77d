/**
 * The cpu backend's portable GEMM routine: float32 matrix products through a hand-built
 * WebAssembly SIMD128 micro-kernel, used where no native BLAS is (or it is disabled).
 *
 * Per block of KC steps of k, A is packed into 4-row panels (k-major: a[i..i+3][p] adjacent) and
 * B into 8-column panels (b[p][j..j+7] adjacent), both zero-padded, in scratch blocks of the
 * heap; the micro-kernel keeps a 4×8 tile of C in eight f32x4 accumulators and, per step of k,
 * loads two vectors of B and splats one A value per row (v128.load32_splat). C is built in a padded row-major scratch
 * tile (so every tile is full) and copied out through the caller's strides at the end; the
 * packing and that copy are what make any strides, transposes and offsets work without copies
 * by the caller. Packing runs in the main thread; the tiles of each packed k block are split by
 * row tiles over the worker pool (`run` export), when it is up and the block is big enough.
 */
import { forEachBatch, type BackendBuffer, type GemmRoutine, type GemmShape } from '@fusor/compiler';
import { invalidatePlans } from '@fusor/runtime';
import { heap } from './buffer.js';
import { epilogueOf } from './gemm-epilogue.js';
import { cpuConfig } from './config.js';
import { memoryImport, newModuleId, poolFor } from './program.js';
import type { PoolModule } from './pool.js';
import { Code, I32, ModuleBuilder, OP, SIMD, V128 } from './wasm-encoder.js';

interface FloatBuffer extends BackendBuffer {
  readonly data: ArrayBufferView;
}

export interface WasmGemmOptions {
  /** Route float32 products to the wasm micro-kernel at all (default true). */
  readonly enabled?: boolean;
  /** Smallest product (m·n·k, times the batch) worth it (default 32³). */
  readonly minMultiplyAdds?: number;
}

let options: Required<WasmGemmOptions> = { enabled: true, minMultiplyAdds: 32 ** 3 };

export function configureWasmGemm(opts: WasmGemmOptions): void {
  invalidatePlans();
  options = { ...options, ...opts };
}

/** Rows × columns of the register tile: 8 f32x4 accumulators + 2 B vectors + 1 A splat fit x64's 16 vector registers (4×16 spills under V8). */
const MR = 4;
const NR = 8;
/** Steps of k per packed block: an 8-column B panel of KC steps is 8 KiB (L1). */
const KC = 256;
/** Rows of C per pass over the B panels: the packed A rows (MC·KC·4 bytes) stay in L2. */
const MC = MR * Math.floor(128 / MR);

type Block = (pa: number, pb: number, pc: number, kc: number, ldcBytes: number, tiles: number, accumulate: number) => void;

/**
 * block(pa, pb, pc, kc, ldc, tiles, accumulate): for t < tiles, the MR×NR tile of C at
 * pc + t·MR·ldc (+)= packed A panel (pa + t·kc·MR·4) · packed B panel pb over kc steps.
 */
export function gemmModule(): Uint8Array {
  const c = new Code([I32, I32, I32, I32, I32, I32, I32]);
  const [pa, pb, pc, kc, ldc, tiles, accum] = [0, 1, 2, 3, 4, 5, 6];
  const acc: number[] = [];
  for (let i = 0; i < MR * (NR / 4); i++) acc.push(c.local(V128));
  const bv = Array.from({ length: NR / 4 }, () => c.local(V128));
  const a = c.local(V128);
  const t = c.local(I32);
  const kk = c.local(I32);
  const pak = c.local(I32);
  const pbk = c.local(I32);
  const row = c.local(I32);
  const accIdx = (r: number, q: number): number => acc[r * (NR / 4) + q]!;

  c.i32(0).set(t);
  c.block().loop();
  {
    // accumulators: zero, or the tile as it stands
    c.get(accum).if();
    c.get(pc).set(row);
    for (let r = 0; r < MR; r++) {
      for (let q = 0; q < NR / 4; q++) c.get(row).simdMem(SIMD.v128_load, q * 16).set(accIdx(r, q));
      if (r < MR - 1) c.get(row).get(ldc).op(OP.i32_add).set(row);
    }
    c.op(OP.else);
    for (let r = 0; r < MR; r++) for (let q = 0; q < NR / 4; q++) c.f32x4([0, 0, 0, 0]).set(accIdx(r, q));
    c.end();

    c.get(kc).set(kk);
    c.get(pa).set(pak);
    c.get(pb).set(pbk);
    c.loop();
    {
      for (let q = 0; q < NR / 4; q++) c.get(pbk).simdMem(SIMD.v128_load, q * 16).set(bv[q]!);
      for (let r = 0; r < MR; r++) {
        c.get(pak).simdMem(SIMD.v128_load32_splat, r * 4).set(a);
        for (let q = 0; q < NR / 4; q++) {
          c.get(accIdx(r, q)).get(a).get(bv[q]!).simd(SIMD.f32x4_mul).simd(SIMD.f32x4_add).set(accIdx(r, q));
        }
      }
      c.get(pak).i32(MR * 4).op(OP.i32_add).set(pak);
      c.get(pbk).i32(NR * 4).op(OP.i32_add).set(pbk);
      c.get(kk).i32(1).op(OP.i32_sub).tee(kk).brIf(0);
    }
    c.end();

    c.get(pc).set(row);
    for (let r = 0; r < MR; r++) {
      for (let q = 0; q < NR / 4; q++) c.get(row).get(accIdx(r, q)).simdMem(SIMD.v128_store, q * 16);
      if (r < MR - 1) c.get(row).get(ldc).op(OP.i32_add).set(row);
    }

    // next tile: 4 rows of C down, one A panel on
    c.get(pc).get(ldc).i32(MR).op(OP.i32_mul).op(OP.i32_add).set(pc);
    c.get(pa).get(kc).i32(MR * 4).op(OP.i32_mul).op(OP.i32_add).set(pa);
    c.get(t).i32(1).op(OP.i32_add).tee(t).get(tiles).op(OP.i32_lt_u).brIf(0);
  }
  c.end().end();

  const m = new ModuleBuilder();
  m.importMemory('env', 'memory', memoryImport());
  const blockFn = m.func(c, 'block');
  m.func(driver(blockFn), 'run');
  return m.bytes();
}

/**
 * run(lo, hi, args): row tiles [lo, hi) of one packed k block, MC rows at a time against every
 * B panel; args (i32 words at `args`): pa, pb, pc, kc, ldc (bytes), panels, accumulate.
 */
function driver(blockFn: number): Code {
  const c = new Code([I32, I32, I32]);
  const [lo, hi, args] = [0, 1, 2];
  const [pa, pb, pc, kc, ldc, panels, accum] = Array.from({ length: 7 }, () => c.local(I32));
  [pa, pb, pc, kc, ldc, panels, accum].forEach((l, i) => c.get(args).mem(OP.i32_load, 4, i * 4).set(l!));
  const i0 = c.local(I32);
  const t = c.local(I32);
  const j = c.local(I32);
  c.get(lo).set(i0);
  c.block().loop();
  c.get(i0).get(hi).op(OP.i32_ge_u).brIf(1);
  // t = min(MC / MR, hi − i0)
  c.i32(MC / MR).get(hi).get(i0).op(OP.i32_sub).tee(t).i32(MC / MR).get(t).op(OP.i32_lt_u).op(OP.select).set(t);
  c.i32(0).set(j);
  c.loop();
  c.get(pa!).get(i0).get(kc!).op(OP.i32_mul).i32(MR * 4).op(OP.i32_mul).op(OP.i32_add);
  c.get(pb!).get(j).get(kc!).op(OP.i32_mul).i32(NR * 4).op(OP.i32_mul).op(OP.i32_add);
  c.get(pc!).get(i0).i32(MR).op(OP.i32_mul).get(ldc!).op(OP.i32_mul).op(OP.i32_add).get(j).i32(NR * 4).op(OP.i32_mul).op(OP.i32_add);
  c.get(kc!).get(ldc!).get(t).get(accum!).call(blockFn);
  c.get(j).i32(1).op(OP.i32_add).tee(j).get(panels!).op(OP.i32_lt_u).brIf(0);
  c.end();
  c.get(i0).get(t).op(OP.i32_add).set(i0);
  c.br(0);
  c.end().end();
  return c;
}

type Run = (lo: number, hi: number, args: number) => void;
interface GemmKernel extends PoolModule {
  readonly block: Block;
  readonly run: Run;
}
let kernel: GemmKernel | undefined;

function compiled(): GemmKernel {
  if (kernel) return kernel;
  const module = new WebAssembly.Module(gemmModule() as Uint8Array<ArrayBuffer>);
  const instance = new WebAssembly.Instance(module, { env: { memory: heap().memory } });
  const ex = instance.exports as { block: Block; run: Run };
  return (kernel = { id: newModuleId(), module, block: ex.block, run: ex.run });
}

function padded(m: number, n: number): { mp: number; np: number } {
  return { mp: Math.ceil(m / MR) * MR, np: Math.ceil(n / NR) * NR };
}

/** One product c = a·b (no batch): offsets/strides in elements of the operands' own arrays. */
function product(g: GemmShape, a: FloatBuffer, ao: number, b: FloatBuffer, bo: number, c: FloatBuffer, co: number, w: GemmKernel): void {
  const { m, n, k } = g;
  const { rowStride: ars, colStride: acs } = g.a;
  const { rowStride: brs, colStride: bcs } = g.b;
  const { rowStride: crs, colStride: ccs } = g.c;
  if (k === 0) {
    const C = c.data as Float32Array;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) C[co + i * crs + j * ccs] = 0;
    return;
  }
  const { mp, np } = padded(m, n);
  const kcMax = Math.min(KC, k);
  const h = heap();
  const paBytes = mp * kcMax * 4;
  const pbBytes = np * kcMax * 4;
  const csBytes = mp * np * 4;
  const paAt = h.alloc(paBytes);
  const pbAt = h.alloc(pbBytes);
  const csAt = h.alloc(csBytes);
  const argAt = h.alloc(32);
  try {
    if (paAt === undefined || pbAt === undefined || csAt === undefined || argAt === undefined) throw new RangeError('wasm gemm: the heap cannot hold the scratch blocks');
    // views made after the allocations (an unshared memory's buffer changes as it grows)
    const mem = new Float32Array(h.buffer);
    const A = a.data as Float32Array;
    const B = b.data as Float32Array;
    const C = c.data as Float32Array;
    const pa = paAt >> 2;
    const pb = pbAt >> 2;
    const cs = csAt >> 2;
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kc = Math.min(KC, k - p0);
      // A: MR-row panels, k-major (a[i..i+MR-1][p] adjacent)
      for (let i0 = 0; i0 < mp; i0 += MR) {
        const panel = pa + i0 * kc;
        for (let r = 0; r < MR; r++) {
          const i = i0 + r;
          let dst = panel + r;
          if (i >= m) {
            for (let p = 0; p < kc; p++, dst += MR) mem[dst] = 0;
            continue;
          }
          let src = ao + i * ars + p0 * acs;
          for (let p = 0; p < kc; p++, dst += MR, src += acs) mem[dst] = A[src]!;
        }
      }
      // B: NR-column panels, k-major (b[p][j..j+NR-1] adjacent)
      for (let j0 = 0; j0 < np; j0 += NR) {
        const width = Math.min(NR, n - j0);
        let dst = pb + j0 * kc;
        let src = bo + p0 * brs + j0 * bcs;
        for (let p = 0; p < kc; p++, dst += NR, src += brs) {
          let s = src;
          let jj = 0;
          for (; jj < width; jj++, s += bcs) mem[dst + jj] = B[s]!;
          for (; jj < NR; jj++) mem[dst + jj] = 0;
        }
      }
      const words = new Int32Array(h.buffer, argAt, 8);
      words.set([paAt, pbAt, csAt, kc, np * 4, np / NR, p0 > 0 ? 1 : 0]);
      const tiles = mp / MR;
      const cfg = cpuConfig();
      const pool = 2 * mp * np * kc >= cfg.parallelThreshold ? poolFor(cfg.threads) : undefined;
      if (pool && pool.ready() > 0) pool.run(w, (lo, hi) => w.run(lo, hi, argAt), 'run', tiles, 1, argAt);
      else w.run(0, tiles, argAt);
    }
    for (let i = 0; i < m; i++) {
      const src = cs + i * np;
      const dst = co + i * crs;
      if (ccs === 1) C.set(mem.subarray(src, src + n), dst);
      else for (let j = 0; j < n; j++) C[dst + j * ccs] = mem[src + j]!;
    }
  } finally {
    if (paAt !== undefined) h.release(paAt, paBytes);
    if (pbAt !== undefined) h.release(pbAt, pbBytes);
    if (csAt !== undefined) h.release(csAt, csBytes);
    if (argAt !== undefined) h.release(argAt, 32);
  }
}

export const wasmGemm: GemmRoutine<FloatBuffer> = {
  supports(g) {
    if (!options.enabled || g.dtype !== 'float32' || typeof WebAssembly === 'undefined') return false;
    // matrix-vector and dot products are bound by memory: generated code reads it as fast, and fuses
    if (g.m < 2 || g.n < 2) return false;
    const work = g.m * g.n * g.k * g.batch.reduce((p, d) => p * d.size, 1);
    if (work < options.minMultiplyAdds) return false;
    // the padded scratch tile of C and the packed blocks must fit comfortably in wasm32's heap
    const { mp, np } = padded(g.m, g.n);
    return (mp * np + (mp + np) * Math.min(KC, g.k)) * 4 < 2 ** 30;
  },
  run(g, a, b, c, extra) {
    const w = compiled();
    // an epilogue is applied to each product's block of C right after its copy out of the scratch tile
    const epilogue = epilogueOf(g, c, extra);
    forEachBatch(g.batch, { a: g.a.offset, b: g.b.offset, c: g.c.offset }, (oa, ob, oc) => {
      product(g, a, oa, b, ob, c, oc, w);
      epilogue?.(oc);
    });
  },
};
