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
 * by the caller. Operands in the heap (every cpu buffer but those past wasm32's 4 GiB) are packed
 * by the module (`pack` export) on every thread, others by JavaScript here; the row tiles of each
 * packed k block are then taken in chunks from a shared counter by every thread (`run` export),
 * when the pool is up and the block is big enough. 4×8 with mul+add measured fastest here: 5×8,
 * 6×8, 3×16, 8×4 and a k loop unrolled by 2 or 4 were slower or no faster under V8 (x64 has 15
 * usable vector registers), and relaxed SIMD's fused madd (Node 20: behind a flag) was no faster
 * on this Zen core, whose separate add pipes already keep mul+add at FMA throughput.
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
  /** Byte address in the heap (cpu buffers), or negative for a buffer outside it. */
  readonly ptr?: number;
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
  const panelFn = m.func(panelCode(), 'panel');
  m.func(packer(panelFn), 'pack');
  return m.bytes();
}

/** Words of the argument block `run` reads (i32 each). */
const ARGS = {
  pa: 0,
  pb: 1,
  pc: 2,
  kc: 3,
  ldc: 4,
  panels: 5,
  accumulate: 6,
  next: 7,
  tiles: 8,
  chunk: 9,
  // packing (`pack`): A's and B's byte address of element (0, p0), strides in elements, m, n,
  // and the counter of panels taken
  aAt: 10,
  ars: 11,
  acs: 12,
  m: 13,
  bAt: 14,
  brs: 15,
  bcs: 16,
  n: 17,
  packNext: 18,
} as const;
const ARG_BYTES = 80;

/**
 * run(_lo, _hi, args): the row tiles of one packed k block, taken `chunk` at a time from the
 * shared counter `next` (an atomic add) until `tiles` are taken, each chunk against every B
 * panel; args (i32 words at `args`, see ARGS): pa, pb, pc, kc, ldc (bytes), panels, accumulate,
 * next, tiles, chunk. Every thread of a launch calls it with the same args (lo and hi, the pool's
 * split, are ignored): a thread slowed by the machine's other work then takes fewer chunks instead of
 * holding the launch up, as a fixed split did on a shared machine. Each tile is computed whole by
 * whichever thread takes it, so the values do not depend on the split.
 */
function driver(blockFn: number): Code {
  const c = new Code([I32, I32, I32]);
  const args = 2;
  const [pa, pb, pc, kc, ldc, panels, accum] = Array.from({ length: 7 }, () => c.local(I32));
  [pa, pb, pc, kc, ldc, panels, accum].forEach((l, i) => c.get(args).mem(OP.i32_load, 4, i * 4).set(l!));
  const tiles = c.local(I32);
  const chunk = c.local(I32);
  c.get(args).mem(OP.i32_load, 4, ARGS.tiles * 4).set(tiles);
  c.get(args).mem(OP.i32_load, 4, ARGS.chunk * 4).set(chunk);
  const i0 = c.local(I32);
  const t = c.local(I32);
  const j = c.local(I32);
  c.block().loop();
  c.get(args).get(chunk).atomicAddI32(ARGS.next * 4).tee(i0).get(tiles).op(OP.i32_ge_u).brIf(1);
  // t = min(chunk, tiles − i0)
  c.get(chunk).get(tiles).get(i0).op(OP.i32_sub).tee(t).get(chunk).get(t).op(OP.i32_lt_u).op(OP.select).set(t);
  c.i32(0).set(j);
  c.loop();
  c.get(pa!).get(i0).get(kc!).op(OP.i32_mul).i32(MR * 4).op(OP.i32_mul).op(OP.i32_add);
  c.get(pb!).get(j).get(kc!).op(OP.i32_mul).i32(NR * 4).op(OP.i32_mul).op(OP.i32_add);
  c.get(pc!).get(i0).i32(MR).op(OP.i32_mul).get(ldc!).op(OP.i32_mul).op(OP.i32_add).get(j).i32(NR * 4).op(OP.i32_mul).op(OP.i32_add);
  c.get(kc!).get(ldc!).get(t).get(accum!).call(blockFn);
  c.get(j).i32(1).op(OP.i32_add).tee(j).get(panels!).op(OP.i32_lt_u).brIf(0);
  c.end();
  c.br(0);
  c.end().end();
  return c;
}

/**
 * panel(dst, src, outer, inner, valid, width, kc): one packed panel, k-major: for x < width,
 * dst[p·width + x] = src[x·outer + p·inner] (strides in elements) for x < valid, else 0.
 */
function panelCode(): Code {
  const c = new Code([I32, I32, I32, I32, I32, I32, I32]);
  const [dst, src, outer, inner, valid, width, kc] = [0, 1, 2, 3, 4, 5, 6];
  const x = c.local(I32);
  const p = c.local(I32);
  const d = c.local(I32);
  const s = c.local(I32);
  const step = c.local(I32);
  c.get(width).i32(4).op(OP.i32_mul).set(step);
  c.get(inner).i32(4).op(OP.i32_mul).set(inner);
  c.get(outer).i32(4).op(OP.i32_mul).set(outer);
  c.i32(0).set(x);
  c.block().loop();
  c.get(x).get(width).op(OP.i32_ge_u).brIf(1);
  c.get(dst).get(x).i32(4).op(OP.i32_mul).op(OP.i32_add).set(d);
  c.get(kc).set(p);
  c.get(x).get(valid).op(OP.i32_lt_u).if();
  {
    c.get(src).get(x).get(outer).op(OP.i32_mul).op(OP.i32_add).set(s);
    c.loop();
    c.get(d).get(s).mem(OP.f32_load, 4).mem(OP.f32_store, 4);
    c.get(s).get(inner).op(OP.i32_add).set(s);
    c.get(d).get(step).op(OP.i32_add).set(d);
    c.get(p).i32(1).op(OP.i32_sub).tee(p).brIf(0);
    c.end();
  }
  c.op(OP.else);
  {
    c.loop();
    c.get(d).f32(0).mem(OP.f32_store, 4);
    c.get(d).get(step).op(OP.i32_add).set(d);
    c.get(p).i32(1).op(OP.i32_sub).tee(p).brIf(0);
    c.end();
  }
  c.end();
  c.get(x).i32(1).op(OP.i32_add).set(x);
  c.br(0);
  c.end().end();
  return c;
}

/**
 * pack(_lo, _hi, args): one k block's A and B panels (the mp/MR A panels, then the np/NR B
 * panels), one at a time from the shared counter `packNext`, as `run` takes its tiles; where
 * both operands live in the heap, every thread packs instead of the main thread alone (packing
 * was a sixth of a 1024² product on 2 threads).
 */
function packer(panelFn: number): Code {
  const c = new Code([I32, I32, I32]);
  const args = 2;
  const ld = (w: number): Code => c.get(args).mem(OP.i32_load, 4, w * 4);
  const loc = (w: number): number => {
    const l = c.local(I32);
    ld(w).set(l);
    return l;
  };
  const [pa, pb, kc, aAt, ars, acs, m, bAt, brs, bcs, n] = [ARGS.pa, ARGS.pb, ARGS.kc, ARGS.aAt, ARGS.ars, ARGS.acs, ARGS.m, ARGS.bAt, ARGS.brs, ARGS.bcs, ARGS.n].map(loc) as [number, number, number, number, number, number, number, number, number, number, number];
  const aPanels = c.local(I32);
  const total = c.local(I32);
  const u = c.local(I32);
  const i0 = c.local(I32);
  // A panels: ceil(m / MR); all panels: that plus ceil(n / NR)
  c.get(m).i32(MR - 1).op(OP.i32_add).i32(MR).op(OP.i32_div_u).set(aPanels);
  c.get(n).i32(NR - 1).op(OP.i32_add).i32(NR).op(OP.i32_div_u).get(aPanels).op(OP.i32_add).set(total);
  c.block().loop();
  c.get(args).i32(1).atomicAddI32(ARGS.packNext * 4).tee(u).get(total).op(OP.i32_ge_u).brIf(1);
  c.get(u).get(aPanels).op(OP.i32_lt_u).if();
  {
    // rows i0 = u·MR: dst pa + i0·kc·4, src aAt + i0·ars·4
    c.get(u).i32(MR).op(OP.i32_mul).set(i0);
    c.get(pa).get(i0).get(kc).op(OP.i32_mul).i32(4).op(OP.i32_mul).op(OP.i32_add);
    c.get(aAt).get(i0).get(ars).op(OP.i32_mul).i32(4).op(OP.i32_mul).op(OP.i32_add);
    c.get(ars).get(acs);
    c.get(m).get(i0).op(OP.i32_sub);
    c.i32(MR).get(kc).call(panelFn);
  }
  c.op(OP.else);
  {
    // columns j0 = (u − aPanels)·NR: dst pb + j0·kc·4, src bAt + j0·bcs·4
    c.get(u).get(aPanels).op(OP.i32_sub).i32(NR).op(OP.i32_mul).set(i0);
    c.get(pb).get(i0).get(kc).op(OP.i32_mul).i32(4).op(OP.i32_mul).op(OP.i32_add);
    c.get(bAt).get(i0).get(bcs).op(OP.i32_mul).i32(4).op(OP.i32_mul).op(OP.i32_add);
    c.get(bcs).get(brs);
    c.get(n).get(i0).op(OP.i32_sub);
    c.i32(NR).get(kc).call(panelFn);
  }
  c.end();
  c.br(0);
  c.end().end();
  return c;
}

type Run = (lo: number, hi: number, args: number) => void;
interface GemmKernel extends PoolModule {
  readonly block: Block;
  readonly run: Run;
  readonly pack: Run;
}
let kernel: GemmKernel | undefined;

function compiled(): GemmKernel {
  if (kernel) return kernel;
  const module = new WebAssembly.Module(gemmModule() as Uint8Array<ArrayBuffer>);
  const instance = new WebAssembly.Instance(module, { env: { memory: heap().memory } });
  const ex = instance.exports as { block: Block; run: Run; pack: Run };
  return (kernel = { id: newModuleId(), module, block: ex.block, run: ex.run, pack: ex.pack });
}

function padded(m: number, n: number): { mp: number; np: number } {
  return { mp: Math.ceil(m / MR) * MR, np: Math.ceil(n / NR) * NR };
}

/**
 * A's rows [0, mp) × k steps [p0, p0 + kc) into MR-row panels, k-major (a[i..i+MR−1][p]
 * adjacent), rows past m zero. The loops run along whichever of A's strides is smaller, so that a
 * transposed A (the backward's aᵀ·g) is read in order instead of a column at a time.
 */
function packA(mem: Float32Array, pa: number, A: Float32Array, ao: number, ars: number, acs: number, m: number, mp: number, p0: number, kc: number): void {
  const byRow = Math.abs(acs) <= Math.abs(ars);
  for (let i0 = 0; i0 < mp; i0 += MR) {
    const panel = pa + i0 * kc;
    const rows = Math.min(MR, m - i0);
    if (byRow || rows < MR) {
      for (let r = 0; r < MR; r++) {
        let dst = panel + r;
        if (r >= rows) {
          for (let p = 0; p < kc; p++, dst += MR) mem[dst] = 0;
          continue;
        }
        let src = ao + (i0 + r) * ars + p0 * acs;
        for (let p = 0; p < kc; p++, dst += MR, src += acs) mem[dst] = A[src]!;
      }
    } else {
      let src = ao + i0 * ars + p0 * acs;
      let dst = panel;
      for (let p = 0; p < kc; p++, src += acs, dst += MR) {
        mem[dst] = A[src]!;
        mem[dst + 1] = A[src + ars]!;
        mem[dst + 2] = A[src + 2 * ars]!;
        mem[dst + 3] = A[src + 3 * ars]!;
      }
    }
  }
}

/**
 * B's k steps [p0, p0 + kc) × columns [0, np) into NR-column panels, k-major (b[p][j..j+NR−1]
 * adjacent), columns past n zero; read along B's smaller stride, as packA.
 */
function packB(mem: Float32Array, pb: number, B: Float32Array, bo: number, brs: number, bcs: number, n: number, np: number, p0: number, kc: number): void {
  const byRow = Math.abs(bcs) <= Math.abs(brs);
  for (let j0 = 0; j0 < np; j0 += NR) {
    const width = Math.min(NR, n - j0);
    const panel = pb + j0 * kc;
    if (byRow) {
      let dst = panel;
      let src = bo + p0 * brs + j0 * bcs;
      for (let p = 0; p < kc; p++, dst += NR, src += brs) {
        let s = src;
        let jj = 0;
        for (; jj < width; jj++, s += bcs) mem[dst + jj] = B[s]!;
        for (; jj < NR; jj++) mem[dst + jj] = 0;
      }
    } else {
      for (let jj = 0; jj < NR; jj++) {
        let dst = panel + jj;
        if (jj >= width) {
          for (let p = 0; p < kc; p++, dst += NR) mem[dst] = 0;
          continue;
        }
        let src = bo + p0 * brs + (j0 + jj) * bcs;
        for (let p = 0; p < kc; p++, dst += NR, src += brs) mem[dst] = B[src]!;
      }
    }
  }
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
  const argAt = h.alloc(ARG_BYTES);
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
    // operands in the heap are packed by the wasm module, on every thread; others here, in JavaScript
    const aAt = a.ptr !== undefined && a.ptr >= 0 ? a.ptr : -1;
    const bAt = b.ptr !== undefined && b.ptr >= 0 ? b.ptr : -1;
    const cfg = cpuConfig();
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kc = Math.min(KC, k - p0);
      const tiles = mp / MR;
      const pool = 2 * mp * np * kc >= cfg.parallelThreshold ? poolFor(cfg.threads) : undefined;
      const threads = pool ? Math.min(pool.ready() + 1, tiles) : 1;
      // chunks of at most MC rows (their packed A stays in L2), about 4 per thread so that one
      // slowed thread leaves little for the others to wait on
      const chunk = Math.max(1, Math.min(MC / MR, Math.ceil(tiles / (4 * threads))));
      const words = new Int32Array(h.buffer, argAt, ARG_BYTES / 4);
      words.set([paAt, pbAt, csAt, kc, np * 4, np / NR, p0 > 0 ? 1 : 0, 0, tiles, chunk]);
      if (aAt >= 0 && bAt >= 0) {
        words.set([aAt + (ao + p0 * acs) * 4, ars, acs, m, bAt + (bo + p0 * brs) * 4, brs, bcs, n, 0], ARGS.aAt);
        if (pool && threads > 1) pool.run(w, () => w.pack(0, 0, argAt), 'pack', threads, 1, argAt);
        else w.pack(0, 0, argAt);
      } else {
        packA(mem, pa, A, ao, ars, acs, m, mp, p0, kc);
        packB(mem, pb, B, bo, brs, bcs, n, np, p0, kc);
      }
      if (pool && threads > 1) pool.run(w, () => w.run(0, 0, argAt), 'run', threads, 1, argAt);
      else w.run(0, 0, argAt);
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
    if (argAt !== undefined) h.release(argAt, ARG_BYTES);
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
