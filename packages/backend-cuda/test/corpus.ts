/**
 * The kernels the conformance suite's programs produce: every golden case is run on the cpu
 * backend (values, gradients, the interpreter check) while observeKernels records each kernel the
 * compiler lowers.
 * float16 and bfloat16, which the cpu backend cannot run, are covered by retyping every float32
 * kernel — the same statements and ops, in the 16-bit dtype.
 */
import { alu, cast, konst, load, local, observeKernels, rand, registerBackend, type Backend, type Expr, type Kernel, type Stmt } from '@fusor/compiler';
import { checksOf, loadFixtures, runCheck, skipReason } from '@fusor/conformance';
import type { DType } from '@fusor/ir';
import '@fusor/tensor';
import { cpuBackend } from '@fusor/backend-cpu';

export interface Corpus {
  readonly kernels: Kernel[];
  readonly cases: number;
  readonly checks: number;
  /** Checks that failed on cpu (their kernels are captured all the same). */
  readonly failed: number;
}

/**
 * The device the suite runs on while kernels are captured: the cpu backend under another name and
 * without its routines, so every contraction is generated code, as on cuda (which has no GEMM
 * routine yet) — a cpu GEMM would otherwise hide the matmul kernels cuda compiles.
 */
const CAPTURE = 'kernelcapture';
registerBackend(Object.create(cpuBackend, { name: { value: CAPTURE }, routines: { value: undefined } }) as Backend);

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
          if (skipReason(c, check, CAPTURE, cpuBackend.capabilities.dtypes, []) !== undefined) continue;
          checks++;
          try {
            await runCheck(c, check, CAPTURE);
          } catch {
            failed++;
          }
        }
      }
    }
  } finally {
    stop();
  }
  return { kernels: [...seen.values()], cases, checks, failed };
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
