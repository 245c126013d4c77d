/**
 * The kernels the conformance suite's programs produce: every golden case is run on the cpu
 * backend (values, gradients, the interpreter check) while observeKernels records each kernel the
 * compiler lowers.
 * float16 and bfloat16, which the cpu backend cannot run, are covered by retyping every float32
 * kernel — the same statements and ops, in the 16-bit dtype.
 */
import { alu, cast, konst, load, local, rand, type Backend, type Expr, type GemmShape, type Kernel, type Stmt } from '@fusor/compiler';
import { observeKernels, registerBackend } from '@fusor/runtime';
import { checksOf, fuzz, loadFixtures, runCheck, skipReason, type FuzzOptions } from '@fusor/conformance';
import type { DType } from '@fusor/ir';
import '@fusor/tensor';
import { cpuBackend } from '@fusor/backend-cpu';
import { cublasCanTake } from '../src/cublas.js';

export interface Corpus {
  readonly kernels: Kernel[];
  readonly cases: number;
  readonly checks: number;
  /** Checks that failed on cpu (their kernels are captured all the same). */
  readonly failed: number;
}

/**
 * The devices the suite runs on while kernels are captured: the cpu backend under other names,
 * once without routines, so every contraction is generated code (cuda without cuBLAS; a cpu GEMM
 * would otherwise hide the matmul kernels), and once with a GEMM routine that takes what cuBLAS
 * takes at any size (cuda with cuBLAS: the kernels around the products it computes).
 */
const CAPTURE = ['kernelcapture', 'kernelcapturegemm'] as const;
registerBackend(Object.create(cpuBackend, { name: { value: CAPTURE[0] }, routines: { value: undefined } }) as Backend);
registerBackend(
  Object.create(cpuBackend, { name: { value: CAPTURE[1] }, routines: { value: { gemm: { supports: cublasCanTake, run: referenceGemm } } } }) as Backend,
);

/** c = a·b on cpu buffers, one dot product per element of c (in double: the captured kernels are what matters). */
function referenceGemm(g: GemmShape, a: unknown, b: unknown, c: unknown): void {
  const [x, y, z] = [a, b, c].map((buf) => (buf as { data: Float32Array | Float64Array }).data);
  const total = g.batch.reduce((p, d) => p * d.size, 1);
  for (let t = 0; t < total; t++) {
    let [oa, ob, oc] = [g.a.offset, g.b.offset, g.c.offset];
    for (let d = g.batch.length - 1, r = t; d >= 0; d--) {
      const loop = g.batch[d]!;
      const i = r % loop.size;
      r = Math.floor(r / loop.size);
      oa += i * loop.a;
      ob += i * loop.b;
      oc += i * loop.c;
    }
    for (let i = 0; i < g.m; i++) {
      for (let j = 0; j < g.n; j++) {
        let sum = 0;
        for (let l = 0; l < g.k; l++) sum += x![oa + i * g.a.rowStride + l * g.a.colStride]! * y![ob + l * g.b.rowStride + j * g.b.colStride]!;
        z![oc + i * g.c.rowStride + j * g.c.colStride] = sum;
      }
    }
  }
}

export async function conformanceKernels(only?: RegExp): Promise<Corpus> {
  const seen = new Map<string, Kernel>();
  const stop = observeKernels((k) => {
    if (!seen.has(k.key)) seen.set(k.key, k);
  });
  let cases = 0;
  let checks = 0;
  let failed = 0;
  try {
    for (const file of loadFixtures()) {
      for (const c of file.cases) {
        if (only && !only.test(c.id)) continue;
        cases++;
        for (const check of checksOf(c)) {
          if (skipReason(c, check, CAPTURE[0], cpuBackend.capabilities.dtypes, []) !== undefined) continue;
          for (const device of CAPTURE) {
            checks++;
            try {
              await runCheck(c, check, device);
            } catch {
              failed++;
            }
          }
        }
      }
    }
  } finally {
    stop();
  }
  return { kernels: [...seen.values()], cases, checks, failed };
}

/** The kernels `fuzz(device, opts)` produces, captured on cpu (the same seeds build the same graphs). */
export async function fuzzKernels(opts: FuzzOptions): Promise<Kernel[]> {
  const seen = new Map<string, Kernel>();
  const stop = observeKernels((k) => {
    if (!seen.has(k.key)) seen.set(k.key, k);
  });
  try {
    await fuzz(CAPTURE[0], opts);
  } finally {
    stop();
  }
  return [...seen.values()];
}

/** The same kernel with every `from` value (buffers, constants, accumulators, ops) in `to`. */
export function retype(k: Kernel, from: DType, to: DType): Kernel {
  const dt = (d: DType): DType => (d === from ? to : d);
  const expr = (e: Expr): Expr => {
    switch (e.k) {
      case 'const':
        return konst(e.value, dt(e.dtype));
      case 'gid':
      case 'ridx':
      case 'var':
        return e;
      case 'local':
        return local(e.name, dt(e.dtype), e.min, e.max);
      case 'load':
        return load(e.buf, expr(e.idx), dt(e.dtype), e.valid && expr(e.valid));
      case 'rand':
        return rand(expr(e.seed), expr(e.counter), dt(e.dtype));
      case 'cast': {
        const src = expr(e.src);
        // a bitcast needs a partner of the same width: keep those kernels' original dtypes
        return e.bitcast ? cast(src, e.dtype, true) : cast(src, dt(e.dtype));
      }
      case 'alu':
        return alu(e.op, ...e.src.map(expr));
    }
  };
  const stmt = (s: Stmt): Stmt => {
    switch (s.k) {
      case 'let':
        return { ...s, expr: expr(s.expr) };
      case 'acc':
        return { ...s, dtype: dt(s.dtype) };
      case 'loop':
        return { ...s, body: s.body.map(stmt) };
      case 'update':
      case 'store':
        return { ...s, expr: expr(s.expr) } as Stmt;
    }
  };
  const body = k.body.map(stmt);
  return { ...k, buffers: k.buffers.map((b) => ({ ...b, dtype: dt(b.dtype) })), body, key: `${k.key}\n[${from}→${to}]` };
}

const usesBitcast = (k: Kernel): boolean => k.key.includes('bitcast<');

/**
 * float32 kernels retyped to the 16-bit floats (bitcasting kernels excepted), one per distinct
 * body: kernels that differ only in sizes and constants (`shape`, by default the kernel text with
 * its numbers blanked) exercise the same code.
 */
export function halfVariants(kernels: readonly Kernel[], shape: (k: Kernel) => string = (k) => k.key.replace(/-?\d+(\.\d+)?(e[-+]?\d+)?/g, '#')): Kernel[] {
  const f32 = kernels.filter((k) => k.key.includes('float32') && !usesBitcast(k));
  const distinct = new Map<string, Kernel>();
  for (const k of f32) distinct.set(shape(k), k);
  return (['float16', 'bfloat16'] as const).flatMap((d) => [...distinct.values()].map((k) => retype(k, 'float32', d)));
}
