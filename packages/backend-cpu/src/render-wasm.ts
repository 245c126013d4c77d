/**
 * Kernel IR → WebAssembly (SIMD128), emitted as a binary module. The semantics are the JS
 * renderer's (render-js.ts): float32 results are float32 operations (what Math.fround of the
 * float64 result gives), float32 accumulators run in float64 and are rounded when their loop
 * ends, integers wrap to their width, int64 lives in float64 (exact within ±2^53).
 *
 * A module imports the heap's memory and exports `run(start, end, args)`, which computes gids
 * [start, end); `args` points at the launch's buffer addresses and scalar parameters (i32 each).
 * Kernels whose reduction is split (the compiler's planning pass, reduce-plan.ts) export `partial(c0, c1, args)` (chunks
 * [c0, c1) into per-chunk accumulators) and `finish(start, end, args)` instead. `start` must be
 * a multiple of 16 (four vectors of four lanes).
 */
import type { DType } from '@fusor/ir';
import { flatten, planKernel, valuesOf, withFallbacks, workPerGid, type Acc, type AluOp, type FlatKernel, type Instr, type Kernel, type Lane, type PlanNumbers, type SplitPlan, type Value, type VectorPlan } from '@fusor/compiler';
import { Code, F32, F64, I32, I64, ModuleBuilder, OP, SAT, SIMD, V128, type ValType } from './wasm-encoder.js';
import { exp2d, exp2f, exp2f4, HIGH_TO_LOW, JOIN_LOW, log2d, log2f, log2f4, LOG2E_F32, type Push } from './wasm-math.js';

/** A kernel only the JavaScript renderer handles. */
export class Unsupported extends Error {
  override name = 'Unsupported';
}

/** Lanes of a SIMD128 vector of 32-bit values: the cpu's declared vector width. */
export const WIDTH = 4;
/** Most vectors one step takes (each copy four more lanes). */
export const MAX_COPIES = 4;

/**
 * The numbers the cpu declares to the planning pass: SIMD128 vectors, no groups, and reductions
 * with fewer than 32 outputs and at least 2^16 element operations split into at most 64 chunks of
 * at least one vector's iterations (over the worker threads, combined in chunk order).
 */
export const CPU_PLANNING: PlanNumbers = {
  vectorWidth: WIDTH,
  maxVectorCopies: MAX_COPIES,
  // a row max over 4096×1024 float32, one thread: 3.9 ms with one f32x4.max chain, 1.13 with 4,
  // 0.79 with 8, 0.75 with 16 (a row sum: 0.66)
  maxReductionChains: 8,
  groupSize: 1,
  sharedMemoryBytes: 0,
  split: { targetParts: 64, minIterationsPerThread: WIDTH, outputsBelow: 32, minWork: 1 << 16, align: WIDTH },
};

/** The planning numbers without vectors (SIMD off). */
export const CPU_PLANNING_SCALAR: PlanNumbers = { ...CPU_PLANNING, vectorWidth: 1 };

/** The renderer's names of the vector plan's lanes. */
const MODE: Readonly<Record<Exclude<VectorPlan['lanes'], 'tiles'>, WasmLayout['mode']>> = { none: 'scalar', outputs: 'gid', loop: 'inner' };

/** What a launch needs to know about a module (also stored in its `fusor` custom section). */
export interface WasmLayout {
  /** The vector lanes: none, outputs (gid) or an inner loop's iterations. */
  readonly mode: 'scalar' | 'gid' | 'inner';
  /** gid vectorization: vectors per step. */
  readonly copies?: number;
  /** Element operations of one launch (decides whether it is worth splitting over threads). */
  readonly work: number;
  /** Present when the kernel exports partial/finish: chunk bounds and accumulator count. */
  readonly split?: { readonly bounds: readonly number[]; readonly accs: number };
}

export interface RenderWasmOptions {
  /** Vectorize with SIMD128 where the kernel allows (default true). */
  readonly simd?: boolean;
}

/** Memory limits every module imports (the heap creates the memory with the same ones). */
export interface MemoryImport {
  readonly initial: number;
  readonly maximum: number;
  readonly shared: boolean;
}

type Family = 'f32' | 'f64' | 'i64' | 'i32';

function family(d: DType): Family {
  switch (d) {
    case 'float32':
      return 'f32';
    case 'float64':
      return 'f64';
    case 'int64':
      return 'i64';
    case 'int32':
    case 'int16':
    case 'int8':
    case 'uint8':
    case 'bool':
      return 'i32';
    default:
      throw new Unsupported(`the cpu backend does not support ${d}`);
  }
}

const WT: Readonly<Record<Family, ValType>> = { f32: F32, f64: F64, i64: F64, i32: I32 };
const wt = (d: DType): ValType => WT[family(d)];

const SIZE: Readonly<Partial<Record<DType, number>>> = { bool: 1, uint8: 1, int8: 1, int16: 2, int32: 4, int64: 8, float32: 4, float64: 8 };
const sizeOf = (d: DType): number => SIZE[d] ?? 4;

const LOAD: Readonly<Partial<Record<DType, number>>> = {
  float32: OP.f32_load,
  float64: OP.f64_load,
  int64: OP.f64_load,
  int32: OP.i32_load,
  int16: OP.i32_load16_s,
  int8: OP.i32_load8_s,
  uint8: OP.i32_load8_u,
  bool: OP.i32_load8_u,
};
const STORE: Readonly<Partial<Record<DType, number>>> = {
  float32: OP.f32_store,
  float64: OP.f64_store,
  int64: OP.f64_store,
  int32: OP.i32_store,
  int16: OP.i32_store16,
  int8: OP.i32_store8,
  uint8: OP.i32_store8,
  bool: OP.i32_store8,
};

/** Imported and helper function indices of a module. */
interface Funcs {
  readonly sin: number;
  readonly fmod: number;
  /** ToInt32 of a float64 (JavaScript's `x | 0`: truncate, wrap modulo 2^32, NaN and ±inf → 0). */
  readonly toi32: number;
  /** 32 random bits for (seed, counter), @fusor/ir random.ts. */
  readonly randBits: number;
}

const splat4 = (v: number): number[] => [v, v, v, v];

// ---------------------------------------------------------------------------------------------
// scalar semantics: one entry per ALU op, given pushers for the operands

type ScalarOp = (g: Gen, v: Value, a: readonly Push[]) => void;

/** Pushes `a`, converted to float64 (for ops computed the JavaScript way, in float64). */
function asF64(g: Gen, from: DType, a: Push): void {
  a();
  const f = family(from);
  if (f === 'f32') g.c.op(OP.f64_promote_f32);
  else if (f === 'i32') g.c.op(OP.f64_convert_i32_s);
}

/** Brings a float64 result of JavaScript arithmetic into `d` as render-js's `fix` does. */
function fixF64(g: Gen, d: DType): void {
  const f = family(d);
  if (f === 'f32') g.c.op(OP.f32_demote_f64);
  else if (f === 'i32') {
    g.c.call(g.fn.toi32);
    wrapI32(g.c, d);
  }
}

/** Wraps an i32 to `d`'s width (render-js's WRAP); a bool is any non-zero. */
function wrapI32(c: Code, d: DType): void {
  if (d === 'int16') c.op(OP.i32_extend16_s);
  else if (d === 'int8') c.op(OP.i32_extend8_s);
  else if (d === 'uint8') c.i32(255).op(OP.i32_and);
  else if (d === 'bool') c.i32(0).op(OP.i32_ne);
}

/** An op computed in float64 from its operands and brought back to its dtype (rare dtype combinations). */
const viaF64 =
  (f64: (g: Gen, a: readonly Push[]) => void): ScalarOp =>
  (g, v, a) => {
    f64(
      g,
      a.map((p, i) => () => asF64(g, v.args[i]!.dtype, p)),
    );
    fixF64(g, v.dtype);
  };

/** An i64 op on integer-valued float64 operands (int64 bitwise ops and shifts). */
function viaI64(g: Gen, a: readonly Push[], body: (x: number, y: number) => void): void {
  const x = g.c.local(I64);
  const y = g.c.local(I64);
  a[0]!();
  g.c.sat(SAT.i64_trunc_sat_f64_s).set(x);
  a[1]!();
  g.c.sat(SAT.i64_trunc_sat_f64_s).set(y);
  body(x, y);
}

/** `a` into a fresh local; returns a pusher for it. */
function keep(g: Gen, t: ValType, a: Push): Push {
  const l = g.c.local(t);
  a();
  g.c.set(l);
  return () => g.c.get(l);
}

/**
 * The IR writes e^y as EXP2(y · log2 e); in float32 that product's rounding is amplified by
 * |y·ln 2| (50 ulp near 88). The argument y, when a float32 EXP2 reads such a product, so the
 * exponential is computed as e^y with an exact argument reduction.
 */
function naturalArg(v: Value): Value | undefined {
  const m = v.args[0]!;
  if (v.dtype !== 'float32' || m.kind !== 'alu' || m.op !== 'MUL' || m.dtype !== 'float32') return undefined;
  const [a, b] = m.args as [Value, Value];
  if (b.kind === 'const' && b.n === LOG2E_F32) return a;
  if (a.kind === 'const' && a.n === LOG2E_F32) return b;
  return undefined;
}

const unaryFloat =
  (f32: (g: Gen, a: Push) => void, f64: (g: Gen, a: Push) => void): ScalarOp =>
  (g, v, a) => {
    const f = family(v.dtype);
    if (f === 'f32') f32(g, a[0]!);
    else if (f === 'f64') f64(g, a[0]!);
    else viaF64((gg, [x]) => f64(gg, x!))(g, v, a);
  };

/** The instructions of each ALU op; an op not here is rendered by its fallback (@fusor/ir ops.ts UNARY). */
const SCALAR: Readonly<Partial<Record<AluOp, ScalarOp>>> = {
  NEG: (g, v, [a]) => {
    const f = family(v.dtype);
    if (f === 'f32') (a!(), g.c.op(OP.f32_neg));
    else if (f === 'f64') (a!(), g.c.op(OP.f64_neg));
    // int64 −0 is 0 (the interpreter normalizes it so)
    else if (f === 'i64') (g.c.f64(0), a!(), g.c.op(OP.f64_sub));
    else (g.c.i32(0), a!(), g.c.op(OP.i32_sub), wrapI32(g.c, v.dtype));
  },
  EXP2: (g, v, a) => {
    const y = naturalArg(v);
    if (y) exp2f(g.c, () => g.pushS(y), true);
    else unaryFloat((gg, x) => exp2f(gg.c, x), (gg, x) => exp2d(gg.c, x))(g, v, a);
  },
  LOG2: unaryFloat(
    (g, a) => log2f(g.c, a),
    (g, a) => log2d(g.c, a),
  ),
  SIN: unaryFloat(
    (g, a) => (a(), g.c.op(OP.f64_promote_f32).call(g.fn.sin).op(OP.f32_demote_f64)),
    (g, a) => (a(), g.c.call(g.fn.sin)),
  ),
  SQRT: unaryFloat(
    (g, a) => (a(), g.c.op(OP.f32_sqrt)),
    (g, a) => (a(), g.c.op(OP.f64_sqrt)),
  ),
  RECIP: unaryFloat(
    (g, a) => (g.c.f32(1), a(), g.c.op(OP.f32_div)),
    (g, a) => (g.c.f64(1), a(), g.c.op(OP.f64_div)),
  ),
  TRUNC: (g, v, [a]) => {
    a!();
    const f = family(v.dtype);
    if (f === 'f32') g.c.op(OP.f32_trunc);
    else if (f === 'f64') g.c.op(OP.f64_trunc);
  },
  ADD: (g, v, [a, b]) => {
    a!();
    b!();
    const f = family(v.dtype);
    g.c.op(f === 'f32' ? OP.f32_add : f === 'i32' ? OP.i32_add : OP.f64_add);
    if (f === 'i32') wrapI32(g.c, v.dtype);
  },
  MUL: (g, v, [a, b]) => {
    a!();
    b!();
    const f = family(v.dtype);
    g.c.op(f === 'f32' ? OP.f32_mul : f === 'i32' ? OP.i32_mul : OP.f64_mul);
    if (f === 'i32') wrapI32(g.c, v.dtype);
  },
  IDIV: (g, v, a) => {
    const f = family(v.dtype);
    if (f === 'i32') return idivI32(g, v, a);
    // trunc(a / b), 0 where b is 0, computed in float64 (JavaScript's idiv)
    const x = keep(g, F64, () => asF64(g, v.args[0]!.dtype, a[0]!));
    const y = keep(g, F64, () => asF64(g, v.args[1]!.dtype, a[1]!));
    g.c.f64(0);
    x();
    y();
    g.c.op(OP.f64_div).op(OP.f64_trunc);
    y();
    g.c.f64(0).op(OP.f64_eq).op(OP.select);
    if (f === 'f32') g.c.op(OP.f32_demote_f64);
  },
  MOD: (g, v, a) => {
    const f = family(v.dtype);
    if (f === 'i32') return modI32(g, v, a);
    if (f === 'i64') return modI64(g, a);
    asF64(g, v.args[0]!.dtype, a[0]!);
    asF64(g, v.args[1]!.dtype, a[1]!);
    g.c.call(g.fn.fmod);
    if (f === 'f32') g.c.op(OP.f32_demote_f64);
  },
  MAX: (g, v, a) => {
    const f = family(v.dtype);
    if (f === 'i32') {
      const x = keep(g, I32, a[0]!);
      const y = keep(g, I32, a[1]!);
      x();
      y();
      x();
      y();
      g.c.op(OP.i32_gt_s).op(OP.select);
      return;
    }
    a[0]!();
    a[1]!();
    g.c.op(f === 'f32' ? OP.f32_max : OP.f64_max);
  },
  CMPLT: (g, v, [a, b]) => {
    a!();
    b!();
    const f = family(v.args[0]!.dtype);
    g.c.op(f === 'f32' ? OP.f32_lt : f === 'i32' ? OP.i32_lt_s : OP.f64_lt);
  },
  CMPEQ: (g, v, [a, b]) => {
    a!();
    b!();
    const f = family(v.args[0]!.dtype);
    g.c.op(f === 'f32' ? OP.f32_eq : f === 'i32' ? OP.i32_eq : OP.f64_eq);
  },
  AND: bitwise(OP.i32_and, OP.i64_and),
  OR: bitwise(OP.i32_or, OP.i64_or),
  XOR: bitwise(OP.i32_xor, OP.i64_xor),
  SHL: (g, v, a) => {
    const f = family(v.dtype);
    if (f === 'i32') {
      a[0]!();
      a[1]!();
      g.c.op(OP.i32_shl);
      wrapI32(g.c, v.dtype);
    } else if (f === 'i64') {
      // as the interpreter: wraps at 64 bits; shifts outside [0, 64) give 0
      viaI64(g, a, (x, y) => {
        g.c.get(x).get(y).op(OP.i64_shl).op(OP.f64_convert_i64_s).f64(0);
        g.c.get(y).i64(64n).op(OP.i64_lt_s).get(y).i64(0n).op(OP.i64_ge_s).op(OP.i32_and).op(OP.select);
      });
    } else throw new Unsupported(`SHL on ${v.dtype}`);
  },
  SHR: (g, v, a) => {
    const f = family(v.dtype);
    if (f === 'i32') {
      a[0]!();
      a[1]!();
      g.c.op(OP.i32_shr_s);
    } else if (f === 'i64') {
      // shifts outside [0, 64) give the sign fill, as a shift by 63 does
      viaI64(g, a, (x, y) => {
        g.c.get(x).get(y).i64(63n).get(y).i64(64n).op(OP.i64_lt_s).get(y).i64(0n).op(OP.i64_ge_s).op(OP.i32_and).op(OP.select);
        g.c.op(OP.i64_shr_s).op(OP.f64_convert_i64_s);
      });
    } else throw new Unsupported(`SHR on ${v.dtype}`);
  },
  WHERE: (g, v, [c, a, b]) => {
    a!();
    b!();
    truthy(g, v.args[0]!.dtype, c!);
    g.c.op(OP.select);
  },
};

function bitwise(op32: number, op64: number): ScalarOp {
  return (g, v, a) => {
    const f = family(v.dtype);
    if (f === 'i32') {
      a[0]!();
      a[1]!();
      g.c.op(op32);
    } else if (f === 'i64') {
      viaI64(g, a, (x, y) => g.c.get(x).get(y).op(op64).op(OP.f64_convert_i64_s));
    } else throw new Unsupported(`bitwise op on ${v.dtype}`);
  };
}

/** JavaScript truthiness of a condition as i32 (NaN is false). */
function truthy(g: Gen, d: DType, c: Push): void {
  const f = family(d);
  if (f === 'i32') return c();
  const x = keep(g, WT[f], c);
  const [ne, eq, zero] = f === 'f32' ? [OP.f32_ne, OP.f32_eq, (): void => void g.c.f32(0)] : [OP.f64_ne, OP.f64_eq, (): void => void g.c.f64(0)];
  x();
  zero();
  g.c.op(ne);
  x();
  x();
  g.c.op(eq).op(OP.i32_and);
}

/** Integer division truncating toward zero; x / 0 = 0; INT_MIN / −1 wraps (no trap). */
function idivI32(g: Gen, v: Value, a: readonly Push[]): void {
  const [x, y] = v.args as [Value, Value];
  if (y.kind === 'const' && y.n > 0) {
    a[0]!();
    a[1]!();
    g.c.op(x.min >= 0 ? OP.i32_div_u : OP.i32_div_s);
    return;
  }
  const ta = keep(g, I32, a[0]!);
  const tb = keep(g, I32, a[1]!);
  g.c.i32(0);
  // b == -1 ? -a : a / (b is 0 or -1 ? 1 : b)
  g.c.i32(0);
  ta();
  g.c.op(OP.i32_sub);
  wrapI32(g.c, v.dtype);
  ta();
  g.c.i32(1);
  tb();
  tb();
  g.c.i32(1).op(OP.i32_add).i32(2).op(OP.i32_lt_u).op(OP.select);
  g.c.op(OP.i32_div_s);
  tb();
  g.c.i32(-1).op(OP.i32_eq).op(OP.select);
  tb();
  g.c.op(OP.i32_eqz).op(OP.select);
}

/** Integer remainder with the dividend's sign; x % 0 = 0. */
function modI32(g: Gen, v: Value, a: readonly Push[]): void {
  const [x, y] = v.args as [Value, Value];
  if (y.kind === 'const' && y.n > 0) {
    a[0]!();
    a[1]!();
    g.c.op(x.min >= 0 ? OP.i32_rem_u : OP.i32_rem_s);
    return;
  }
  const ta = keep(g, I32, a[0]!);
  const tb = keep(g, I32, a[1]!);
  g.c.i32(0);
  ta();
  g.c.i32(1);
  tb();
  tb();
  g.c.op(OP.i32_eqz).op(OP.select).op(OP.i32_rem_s);
  tb();
  g.c.op(OP.i32_eqz).op(OP.select);
}

/** int64 remainder: exact on the integers, 0 where b is 0. */
function modI64(g: Gen, a: readonly Push[]): void {
  viaI64(g, a, (x, y) => {
    g.c.f64(0);
    g.c.get(x).i64(1n).get(y).get(y).op(OP.i64_eqz).op(OP.select).op(OP.i64_rem_s).op(OP.f64_convert_i64_s);
    g.c.get(y).op(OP.i64_eqz).op(OP.select);
  });
}

/** render-js's castTo: pushes `a` (of `from`) converted to `to`. */
function castScalar(g: Gen, from: DType, to: DType, a: Push): void {
  const ff = family(from);
  const ft = family(to);
  a();
  if (to === 'bool') {
    if (ff === 'f32') g.c.f32(0).op(OP.f32_ne);
    else if (ff === 'i32') g.c.i32(0).op(OP.i32_ne);
    else g.c.f64(0).op(OP.f64_ne);
    return;
  }
  if (ft === 'f32') {
    if (ff === 'i32') g.c.op(OP.f32_convert_i32_s);
    else if (ff !== 'f32') g.c.op(OP.f32_demote_f64);
    return;
  }
  if (ft === 'f64') {
    if (ff === 'f32') g.c.op(OP.f64_promote_f32);
    else if (ff === 'i32') g.c.op(OP.f64_convert_i32_s);
    return;
  }
  if (ft === 'i64') {
    if (ff === 'i32') return void g.c.op(OP.f64_convert_i32_s);
    if (ff === 'f32') g.c.op(OP.f64_promote_f32);
    if (ff === 'i64') return;
    // truncate toward zero; NaN → 0
    const x = g.c.local(F64);
    g.c.tee(x).op(OP.f64_trunc).f64(0).get(x).get(x).op(OP.f64_eq).op(OP.select);
    return;
  }
  // to a 32-bit-or-narrower int
  if (ff === 'f32') g.c.op(OP.f64_promote_f32);
  if (ff !== 'i32') g.c.call(g.fn.toi32);
  wrapI32(g.c, to);
}

const BITCAST: Readonly<Record<string, (c: Code) => void>> = {
  'float32>int32': (c) => c.op(OP.i32_reinterpret_f32),
  'int32>float32': (c) => c.op(OP.f32_reinterpret_i32),
  'float64>int64': (c) => c.op(OP.i64_reinterpret_f64).op(OP.f64_convert_i64_s),
  'int64>float64': (c) => c.sat(SAT.i64_trunc_sat_f64_s).op(OP.f64_reinterpret_i64),
};

// ---------------------------------------------------------------------------------------------
// vector semantics: f32x4 for float32, i32x4 for the narrow ints, bool as lane masks (0 / −1).
// An entry returns false where it has no SIMD form for these dtypes (the op then runs per lane).

type VectorOp = (g: Gen, v: Value) => boolean;

/** Wraps i32x4 lanes to `d`'s width. */
function wrapI32x4(c: Code, d: DType): void {
  if (d === 'int16') c.i32(16).simd(SIMD.i32x4_shl).i32(16).simd(SIMD.i32x4_shr_s);
  else if (d === 'int8') c.i32(24).simd(SIMD.i32x4_shl).i32(24).simd(SIMD.i32x4_shr_s);
  else if (d === 'uint8') c.i32x4(splat4(255)).simd(SIMD.v128_and);
  else if (d === 'bool') c.i32x4(splat4(0)).simd(SIMD.i32x4_ne).i32x4(splat4(1)).simd(SIMD.v128_and);
}

const isBool = (v: Value): boolean => v.dtype === 'bool';
const fam = (v: Value): Family => family(v.dtype);

/** An op with one SIMD instruction per family (float32 / int): operands in value form, ints wrapped. */
const simple =
  (f32: number | undefined, i32: number | undefined, wrap = true): VectorOp =>
  (g, v) => {
    if (isBool(v) || v.args.some(isBool)) return false;
    const op = fam(v) === 'f32' ? f32 : i32;
    if (op === undefined) return false;
    for (const a of v.args) g.pushV(a);
    g.c.simd(op);
    if (wrap && fam(v) === 'i32') wrapI32x4(g.c, v.dtype);
    return true;
  };

const bitwiseV =
  (op: number): VectorOp =>
  (g, v) => {
    if (fam(v) !== 'i32') return false;
    for (const a of v.args) g.pushV(a);
    g.c.simd(op);
    return true;
  };

const compareV =
  (f32: number, i32: number): VectorOp =>
  (g, v) => {
    const src = v.args[0]!;
    if (fam(src) === 'f32') {
      for (const a of v.args) g.pushV(a);
      g.c.simd(f32);
      return true;
    }
    // masks compare equal exactly when the bools do; ordering needs 0/1 values
    const form = i32 === SIMD.i32x4_eq ? 'mask' : 'value';
    for (const a of v.args) g.pushV(a, form);
    g.c.simd(i32);
    return true;
  };

const shiftV =
  (op: number): VectorOp =>
  (g, v) => {
    const [x, s] = v.args as [Value, Value];
    if (fam(v) !== 'i32' || isBool(v) || g.laneOf(s).k !== 'U') return false;
    g.pushV(x);
    g.pushS(s);
    g.c.simd(op);
    if (op === SIMD.i32x4_shl) wrapI32x4(g.c, v.dtype);
    return true;
  };

const VECTOR: Readonly<Partial<Record<AluOp, VectorOp>>> = {
  NEG: (g, v) => {
    if (isBool(v)) return false;
    if (fam(v) === 'f32') (g.pushV(v.args[0]!), g.c.simd(SIMD.f32x4_neg));
    else (g.c.i32x4(splat4(0)), g.pushV(v.args[0]!), g.c.simd(SIMD.i32x4_sub), wrapI32x4(g.c, v.dtype));
    return true;
  },
  EXP2: (g, v) => {
    if (fam(v) !== 'f32') return false;
    const y = naturalArg(v);
    exp2f4(g.c, () => g.pushV(y ?? v.args[0]!), y !== undefined);
    return true;
  },
  LOG2: (g, v) => fam(v) === 'f32' && (log2f4(g.c, () => g.pushV(v.args[0]!)), true),
  SQRT: simple(SIMD.f32x4_sqrt, undefined),
  RECIP: (g, v) => fam(v) === 'f32' && (g.c.f32x4(splat4(1)), g.pushV(v.args[0]!), g.c.simd(SIMD.f32x4_div), true),
  TRUNC: (g, v) => {
    if (isBool(v)) return false;
    g.pushV(v.args[0]!);
    if (fam(v) === 'f32') g.c.simd(SIMD.f32x4_trunc);
    return true;
  },
  ADD: simple(SIMD.f32x4_add, SIMD.i32x4_add),
  MUL: simple(SIMD.f32x4_mul, SIMD.i32x4_mul),
  MAX: simple(SIMD.f32x4_max, SIMD.i32x4_max_s, false),
  CMPLT: compareV(SIMD.f32x4_lt, SIMD.i32x4_lt_s),
  CMPEQ: compareV(SIMD.f32x4_eq, SIMD.i32x4_eq),
  AND: bitwiseV(SIMD.v128_and),
  OR: bitwiseV(SIMD.v128_or),
  XOR: bitwiseV(SIMD.v128_xor),
  SHL: shiftV(SIMD.i32x4_shl),
  SHR: shiftV(SIMD.i32x4_shr_s),
  WHERE: (g, v) => {
    g.pushV(v.args[1]!);
    g.pushV(v.args[2]!);
    g.pushMask(v.args[0]!);
    g.c.simd(SIMD.v128_bitselect);
    return true;
  },
};

function castVector(g: Gen, from: Value, to: DType): boolean {
  const ff = fam(from);
  if (to === 'bool') {
    // any non-zero, NaN included, is true
    if (isBool(from)) g.pushV(from, 'mask');
    else if (ff === 'f32') (g.pushV(from), g.c.f32x4(splat4(0)).simd(SIMD.f32x4_ne));
    else if (ff === 'i32') (g.pushV(from), g.c.i32x4(splat4(0)).simd(SIMD.i32x4_ne));
    else return false;
    return true;
  }
  if (to === 'float32') {
    if (ff !== 'i32') return false;
    g.pushV(from, 'value');
    g.c.simd(SIMD.f32x4_convert_i32x4_s);
    return true;
  }
  if (family(to) === 'i32' && ff === 'i32') {
    g.pushV(from, 'value');
    wrapI32x4(g.c, to);
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// accumulators

/** The local type an accumulator runs in: float32 sums and products in float64. */
function rawType(acc: Acc): ValType {
  if (acc.dtype === 'float32') return acc.op === 'max' ? F32 : F64;
  return wt(acc.dtype);
}

/** acc ⊕= value (already in the raw type), wrapping ints as render-js does. */
function accumulate(g: Gen, acc: Acc, raw: number, value: Push): void {
  const t = rawType(acc);
  if (acc.op === 'max') {
    if (t === I32) {
      const x = keep(g, I32, value);
      g.c.get(raw);
      x();
      g.c.get(raw);
      x();
      g.c.op(OP.i32_gt_s).op(OP.select).set(raw);
    } else {
      g.c.get(raw);
      value();
      g.c.op(t === F32 ? OP.f32_max : OP.f64_max).set(raw);
    }
    return;
  }
  g.c.get(raw);
  value();
  if (t === I32) {
    g.c.op(acc.op === 'add' ? OP.i32_add : OP.i32_mul);
    wrapI32(g.c, acc.dtype);
  } else g.c.op(acc.op === 'add' ? OP.f64_add : OP.f64_mul);
  g.c.set(raw);
}

/** Vector accumulator locals: float32 sums and products as two float64 pairs. */
function vectorAccLocals(c: Code, acc: Acc): number[] {
  return rawType(acc) === F64 ? [c.local(V128), c.local(V128)] : [c.local(V128)];
}

function initVectorAcc(g: Gen, acc: Acc, locs: readonly number[]): void {
  if (locs.length === 2) for (const l of locs) g.c.f64x2([acc.init, acc.init]).set(l);
  else if (acc.dtype === 'float32') g.c.f32x4(splat4(acc.init)).set(locs[0]!);
  else g.c.i32x4(splat4(acc.init)).set(locs[0]!);
}


function updateVectorAcc(g: Gen, acc: Acc, locs: readonly number[], v: Value): void {
  const c = g.c;
  if (locs.length === 2) {
    const t = c.local(V128);
    g.pushV(v);
    c.set(t);
    const op = acc.op === 'add' ? SIMD.f64x2_add : SIMD.f64x2_mul;
    c.get(locs[0]!).get(t).simd(SIMD.f64x2_promote_low_f32x4).simd(op).set(locs[0]!);
    c.get(locs[1]!).get(t).get(t).shuffle(HIGH_TO_LOW).simd(SIMD.f64x2_promote_low_f32x4).simd(op).set(locs[1]!);
    return;
  }
  const l = locs[0]!;
  c.get(l);
  g.pushV(v, 'value');
  if (acc.dtype === 'float32') c.simd(SIMD.f32x4_max);
  else if (acc.op === 'max') c.simd(SIMD.i32x4_max_s);
  else {
    c.simd(acc.op === 'add' ? SIMD.i32x4_add : SIMD.i32x4_mul);
    wrapI32x4(c, acc.dtype);
  }
  c.set(l);
}

/** Folds four lanes of partial accumulators into the scalar accumulator (inner-loop vectorization). */
function combineVectorAcc(g: Gen, acc: Acc, locs: readonly number[], raw: number): void {
  const c = g.c;
  if (locs.length === 2) {
    const op = acc.op === 'add' ? SIMD.f64x2_add : SIMD.f64x2_mul;
    const t = c.local(V128);
    c.get(locs[0]!).get(locs[1]!).simd(op).set(t);
    const op1 = acc.op === 'add' ? OP.f64_add : OP.f64_mul;
    accumulate(g, acc, raw, () => c.get(t).lane(SIMD.f64x2_extract_lane, 0).get(t).lane(SIMD.f64x2_extract_lane, 1).op(op1));
    return;
  }
  const l = locs[0]!;
  const extract = acc.dtype === 'float32' ? SIMD.f32x4_extract_lane : SIMD.i32x4_extract_lane;
  for (let i = 0; i < WIDTH; i++) accumulate(g, acc, raw, () => c.get(l).lane(extract, i));
}

// ---------------------------------------------------------------------------------------------
// the function generator

type Form = 'value' | 'mask';
type Loop = Extract<Instr, { k: 'loop' }>;

interface Range {
  readonly from: Push;
  readonly to: Push;
}

class Gen {
  readonly c: Code;
  private readonly scalars = new Map<Value, number>();
  /** Per copy (see `copies`), the vector local of a varying value, or of a uniform one's splat. */
  private readonly vectors = new Map<Value, number[]>();
  private readonly accScalar = new Map<Acc, number>();
  /** Per copy, an accumulator's vector locals. */
  private readonly accVector = new Map<Acc, number[][]>();
  private readonly ptrs: number[] = [];
  private lanes: ReadonlyMap<Value, Lane> | undefined;
  private needVec = new Set<Value>();
  /** Vectors per step in the current region (gid vectorization may take 4·copies outputs per step). */
  private copies = 1;
  /** The copy being emitted: its lanes are 4·u … 4·u + 3 of the step. */
  private u = 0;

  constructor(
    readonly fn: Funcs,
    readonly flat: FlatKernel,
    readonly plan: VectorPlan,
    params: readonly ValType[],
    listing: boolean,
  ) {
    this.c = new Code(params, [], listing);
  }

  // --- operands

  laneOf(v: Value): Lane {
    return this.lanes?.get(v) ?? { k: 'U', align: 1 };
  }

  pushS(v: Value): void {
    if (v.kind === 'const') {
      const f = family(v.dtype);
      if (f === 'f32') this.c.f32(v.n);
      else if (f === 'i32') this.c.i32(v.n);
      else this.c.f64(v.n);
      return;
    }
    const l = this.scalars.get(v);
    if (l === undefined) throw new Error(`render-wasm: value ${v.id} (${v.kind}) has no scalar form here`);
    this.c.get(l);
  }

  /** Lane `l` (of the current copy) of `v`, as a scalar. */
  pushLane(v: Value, l: number): void {
    const lane = this.laneOf(v);
    if (lane.k === 'U') return this.pushS(v);
    if (lane.k === 'A') {
      this.pushS(v);
      const at = lane.stride * (WIDTH * this.u + l);
      if (at !== 0) this.c.i32(at).op(OP.i32_add);
      return;
    }
    this.c.get(this.vectors.get(v)![this.u]!);
    if (fam(v) === 'f32') this.c.lane(SIMD.f32x4_extract_lane, l);
    else {
      this.c.lane(SIMD.i32x4_extract_lane, l);
      if (isBool(v)) this.c.i32(1).op(OP.i32_and);
    }
  }

  /** `v` as a vector: bools as masks (or as 0/1 in `value` form). */
  pushV(v: Value, form: Form = 'mask'): void {
    const c = this.c;
    const lane = this.laneOf(v);
    if (lane.k === 'V') {
      c.get(this.vectors.get(v)![this.u]!);
      if (isBool(v) && form === 'value') this.maskToValue();
      return;
    }
    if (v.kind === 'const') {
      if (fam(v) === 'f32') c.f32x4(splat4(v.n));
      else c.i32x4(splat4(isBool(v) && form === 'mask' ? -v.n : v.n));
      return;
    }
    const cached = this.vectors.get(v);
    if (cached !== undefined) {
      c.get(cached[this.u]!);
      if (isBool(v) && form === 'value') this.maskToValue();
      return;
    }
    this.vectorOfScalar(v, form);
  }

  /** A condition as a lane mask. */
  pushMask(v: Value): void {
    if (isBool(v)) return this.pushV(v, 'mask');
    const c = this.c;
    if (fam(v) === 'f32') {
      // JavaScript truthiness: non-zero and not NaN
      const t = c.local(V128);
      this.pushV(v);
      c.tee(t).f32x4(splat4(0)).simd(SIMD.f32x4_ne).get(t).get(t).simd(SIMD.f32x4_eq).simd(SIMD.v128_and);
    } else {
      this.pushV(v);
      c.i32x4(splat4(0)).simd(SIMD.i32x4_ne);
    }
  }

  private maskToValue(): void {
    // −1 → 1
    const t = this.c.local(V128);
    this.c.set(t);
    this.c.i32x4(splat4(0)).get(t).simd(SIMD.i32x4_sub);
  }

  /** Splat of a uniform, or base + stride·lane of an affine value (lanes of the current copy). */
  private vectorOfScalar(v: Value, form: Form): void {
    const c = this.c;
    const lane = this.laneOf(v);
    if (lane.k === 'A') {
      this.pushS(v);
      const first = WIDTH * this.u;
      c.simd(SIMD.i32x4_splat).i32x4([0, 1, 2, 3].map((l) => lane.stride * (first + l))).simd(SIMD.i32x4_add);
      return;
    }
    const f = family(v.dtype);
    if (f === 'f32') (this.pushS(v), c.simd(SIMD.f32x4_splat));
    else if (f === 'i32') {
      if (isBool(v) && form === 'mask') c.i32(0);
      this.pushS(v);
      if (isBool(v) && form === 'mask') c.op(OP.i32_sub);
      c.simd(SIMD.i32x4_splat);
    } else throw new Unsupported(`a ${v.dtype} value in a vector`);
  }

  // --- values

  private setScalar(v: Value, push: Push): void {
    const l = this.c.local(wt(v.dtype));
    push();
    this.c.set(l);
    this.scalars.set(v, l);
  }

  private scalarValue(v: Value): void {
    this.setScalar(v, () => this.scalarOp(v, v.args.map((a) => () => this.pushS(a))));
  }

  /** Pushes `v` computed from operand pushers (its operands' scalars, or one lane of them). */
  private scalarOp(v: Value, a: readonly Push[]): void {
    const c = this.c;
    switch (v.kind) {
      case 'load':
        return this.scalarLoad(v, a);
      case 'alu':
        return SCALAR[v.op!]!(this, v, a);
      case 'cast':
        return castScalar(this, v.args[0]!.dtype, v.dtype, a[0]!);
      case 'bitcast': {
        const f = BITCAST[`${v.args[0]!.dtype}>${v.dtype}`];
        if (!f) throw new Unsupported(`bitcast ${v.args[0]!.dtype} → ${v.dtype} is not supported by the cpu backend`);
        a[0]!();
        return f(c);
      }
      case 'rand': {
        a[0]!();
        a[1]!();
        c.call(this.fn.randBits).i32(8).op(OP.i32_shr_u);
        if (family(v.dtype) === 'f32') c.op(OP.f32_convert_i32_u).f32(2 ** -24).op(OP.f32_mul);
        else c.op(OP.f64_convert_i32_u).f64(2 ** -24).op(OP.f64_mul);
        return;
      }
      default:
        throw new Error(`render-wasm: ${v.kind} is not computed`);
    }
  }

  private address(buf: number, idx: Push, dtype: DType): void {
    this.c.get(this.ptrs[buf]!);
    idx();
    const shift = Math.log2(sizeOf(dtype));
    if (shift) this.c.i32(shift).op(OP.i32_shl);
    this.c.op(OP.i32_add);
  }

  /** A load; a masked one reads element 0 where invalid (always in bounds) and gives 0. */
  private scalarLoad(v: Value, [idx, valid]: readonly Push[]): void {
    const c = this.c;
    const load = (): void => {
      this.address(v.n, valid ? () => (idx!(), c.i32(0), valid(), c.op(OP.select)) : idx!, v.dtype);
      c.mem(LOAD[v.dtype]!, sizeOf(v.dtype));
    };
    if (!valid) return load();
    load();
    const f = family(v.dtype);
    if (f === 'f32') c.f32(0);
    else if (f === 'i32') c.i32(0);
    else c.f64(0);
    valid();
    c.op(OP.select);
  }

  private vectorValue(v: Value): void {
    if (this.laneOf(v).k !== 'V') {
      this.scalarValue(v);
      if (this.needVec.has(v)) this.cacheVector(v);
      return;
    }
    this.vectors.set(
      v,
      this.eachCopy(() => {
        const l = this.c.local(V128);
        if (!this.vectorOp(v)) this.lanewise(v);
        this.c.set(l);
        return l;
      }),
    );
  }

  /** Runs `emit` once per copy (with `u` set), collecting what it returns. */
  private eachCopy<T>(emit: (u: number) => T): T[] {
    const out: T[] = [];
    for (this.u = 0; this.u < this.copies; this.u++) out.push(emit(this.u));
    this.u = 0;
    return out;
  }

  /** The vector form of a uniform (one splat for every copy) or affine value (one per copy). */
  private cacheVector(v: Value): void {
    const make = (): number => {
      const l = this.c.local(V128);
      this.vectorOfScalar(v, 'mask');
      this.c.set(l);
      return l;
    };
    if (this.laneOf(v).k === 'A') this.vectors.set(v, this.eachCopy(make));
    else {
      const l = make();
      this.vectors.set(v, Array.from({ length: this.copies }, () => l));
    }
  }

  private vectorOp(v: Value): boolean {
    switch (v.kind) {
      case 'load':
        return this.vectorLoad(v);
      case 'alu':
        return VECTOR[v.op!]?.(this, v) ?? false;
      case 'cast':
        return castVector(this, v.args[0]!, v.dtype);
      case 'bitcast':
        if (!BITCAST[`${v.args[0]!.dtype}>${v.dtype}`] || family(v.dtype) === 'f64' || family(v.dtype) === 'i64') return false;
        this.pushV(v.args[0]!, 'value');
        return true;
      default:
        return false;
    }
  }

  /** The op computed lane by lane with the scalar code, the lanes put together. */
  private lanewise(v: Value): void {
    const c = this.c;
    const t = c.local(V128);
    c.i32x4(splat4(0)).set(t);
    for (let l = 0; l < WIDTH; l++) {
      c.get(t);
      this.scalarOp(
        v,
        v.args.map((a) => () => this.pushLane(a, l)),
      );
      c.lane(fam(v) === 'f32' ? SIMD.f32x4_replace_lane : SIMD.i32x4_replace_lane, l).set(t);
    }
    // bool lanes hold 0/1: make them masks
    if (isBool(v)) c.i32x4(splat4(0)).get(t).simd(SIMD.i32x4_sub);
    else c.get(t);
  }

  /** A contiguous load (index affine with stride 1, validity the same for all lanes); otherwise false. */
  private vectorLoad(v: Value): boolean {
    const [idx, valid] = v.args as [Value, Value | undefined];
    const li = this.laneOf(idx);
    if (li.k !== 'A' || li.stride !== 1 || (valid && this.laneOf(valid).k !== 'U')) return false;
    const c = this.c;
    this.address(v.n, valid ? () => (this.pushS(idx), c.i32(0), this.pushS(valid), c.op(OP.select)) : () => this.pushS(idx), v.dtype);
    // the current copy's lanes start 4·u elements on (a masked-off read stays inside the 64-byte minimum block)
    const offset = WIDTH * this.u * sizeOf(v.dtype);
    switch (v.dtype) {
      case 'float32':
      case 'int32':
        c.simdMem(SIMD.v128_load, offset);
        break;
      case 'int16':
        c.simdMem(SIMD.i32x4_load16x4_s, offset);
        break;
      case 'int8':
        c.simdMem(SIMD.v128_load32_zero, offset).simd(SIMD.i16x8_extend_low_i8x16_s).simd(SIMD.i32x4_extend_low_i16x8_s);
        break;
      case 'uint8':
      case 'bool':
        c.simdMem(SIMD.v128_load32_zero, offset).simd(SIMD.i16x8_extend_low_i8x16_u).simd(SIMD.i32x4_extend_low_i16x8_u);
        if (v.dtype === 'bool') c.i32x4(splat4(0)).simd(SIMD.i32x4_ne);
        break;
      default:
        throw new Unsupported(`a ${v.dtype} load in a vector`);
    }
    if (valid) {
      c.i32x4(splat4(0));
      this.pushV(valid, 'mask');
      c.simd(SIMD.v128_bitselect);
    }
    return true;
  }

  // --- statements

  /** Emits a block; in a vector region (lanes set), values are vectors where they vary. */
  private block(instrs: readonly Instr[], topRange?: Range, stopAfterTopLoop = false): void {
    const vector = this.lanes !== undefined;
    for (const i of instrs) {
      switch (i.k) {
        case 'value':
          if (vector) this.vectorValue(i.v);
          else this.scalarValue(i.v);
          break;
        case 'acc':
          if (vector) {
            this.accVector.set(
              i.acc,
              this.eachCopy(() => {
                const locs = vectorAccLocals(this.c, i.acc);
                initVectorAcc(this, i.acc, locs);
                return locs;
              }),
            );
          } else {
            const raw = this.c.local(rawType(i.acc));
            this.accScalar.set(i.acc, raw);
            this.pushConst(rawType(i.acc), i.acc.init);
            this.c.set(raw);
          }
          break;
        case 'update':
          if (vector) this.eachCopy((u) => updateVectorAcc(this, i.acc, this.accVector.get(i.acc)![u]!, i.v));
          else this.scalarUpdate(i.acc, i.v);
          break;
        case 'round':
          this.round(i.acc, vector);
          break;
        case 'store':
          if (vector) this.eachCopy(() => this.vectorStore(i));
          else this.scalarStore(i);
          break;
        case 'loop':
          this.loop(i, topRange);
          if (stopAfterTopLoop) return;
          break;
      }
    }
  }

  private pushConst(t: ValType, v: number): void {
    if (t === F32) this.c.f32(v);
    else if (t === F64) this.c.f64(v);
    else this.c.i32(v);
  }

  private scalarUpdate(acc: Acc, v: Value): void {
    const raw = this.accScalar.get(acc)!;
    accumulate(this, acc, raw, () => {
      this.pushS(v);
      if (rawType(acc) === F64 && acc.dtype === 'float32') this.c.op(OP.f64_promote_f32);
    });
  }

  private round(acc: Acc, vector: boolean): void {
    const c = this.c;
    const read = acc.read!;
    if (vector) {
      const perCopy = this.accVector.get(acc)!;
      this.vectors.set(
        read,
        perCopy.map((locs) => {
          if (locs.length === 2) {
            const l = c.local(V128);
            c.get(locs[0]!).simd(SIMD.f32x4_demote_f64x2_zero).get(locs[1]!).simd(SIMD.f32x4_demote_f64x2_zero);
            c.shuffle(JOIN_LOW).set(l);
            return l;
          }
          if (!isBool(read)) return locs[0]!;
          // bool accumulators hold 0/1 lanes; bool vectors are masks
          const l = c.local(V128);
          c.i32x4(splat4(0)).get(locs[0]!).simd(SIMD.i32x4_sub).set(l);
          return l;
        }),
      );
      return;
    }
    const raw = this.accScalar.get(acc)!;
    if (rawType(acc) === wt(acc.dtype)) return void this.scalars.set(read, raw);
    const l = c.local(F32);
    c.get(raw).op(OP.f32_demote_f64).set(l);
    this.scalars.set(read, l);
  }

  private scalarStore(i: Extract<Instr, { k: 'store' }>): void {
    this.address(i.buf, () => this.pushS(i.idx), i.v.dtype);
    this.pushS(i.v);
    this.c.mem(STORE[i.v.dtype]!, sizeOf(i.v.dtype));
  }

  private vectorStore(i: Extract<Instr, { k: 'store' }>): void {
    const c = this.c;
    const li = this.laneOf(i.idx);
    const d = i.v.dtype;
    if (li.k !== 'A' || li.stride !== 1) {
      for (let l = 0; l < WIDTH; l++) {
        this.address(i.buf, () => this.pushLane(i.idx, l), d);
        this.pushLane(i.v, l);
        c.mem(STORE[d]!, sizeOf(d));
      }
      return;
    }
    this.address(i.buf, () => this.pushS(i.idx), d);
    this.pushV(i.v, 'value');
    const offset = WIDTH * this.u * sizeOf(d);
    if (d === 'float32' || d === 'int32') return void c.simdMem(SIMD.v128_store, offset);
    const t = c.local(V128);
    if (d === 'int16') return void c.tee(t).get(t).simd(SIMD.i16x8_narrow_i32x4_s).simdMemLane(SIMD.v128_store64_lane, 8, 0, offset);
    const signed = d === 'int8';
    c.tee(t).get(t).simd(signed ? SIMD.i16x8_narrow_i32x4_s : SIMD.i16x8_narrow_i32x4_u).tee(t).get(t);
    c.simd(signed ? SIMD.i8x16_narrow_i16x8_s : SIMD.i8x16_narrow_i16x8_u).simdMemLane(SIMD.v128_store32_lane, 4, 0, offset);
  }

  /** `for (counter = from; counter < to; counter += step) body()`. */
  private forRange(counter: number, from: Push, to: Push, step: number, body: () => void): void {
    const c = this.c;
    from();
    c.set(counter).block().loop();
    c.get(counter);
    to();
    c.op(OP.i32_ge_s).brIf(1);
    body();
    c.get(counter).i32(step).op(OP.i32_add).set(counter).br(0).end().end();
  }

  private loop(i: Loop, range?: Range): void {
    const c = this.c;
    const r = c.local(I32);
    this.scalars.set(i.ridx, r);
    const from = range?.from ?? ((): void => void c.i32(0));
    const to = range?.to ?? ((): void => void c.i32(i.n));
    if (!range && i.n === 0) return;
    const lp = this.plan.lanes === 'loop' && !this.lanes ? this.plan.loops.get(i) : undefined;
    if (!lp) {
      this.forRange(r, from, to, 1, () => this.block(i.body));
      return;
    }
    // inner-loop vectorization: 4·copies iterations per step into partial accumulators (a chain
    // per copy), combined in copy order, then the tail
    const step = WIDTH * lp.copies;
    const lo = keep(this, I32, from);
    const hi = keep(this, I32, to);
    const vend = keep(this, I32, () => (lo(), hi(), lo(), c.op(OP.i32_sub).i32(-step).op(OP.i32_and).op(OP.i32_add)));
    const accs = [...new Set(i.body.filter((s): s is Extract<Instr, { k: 'update' }> => s.k === 'update').map((s) => s.acc))];
    this.enterRegion(lp.classes, i.body, lp.copies);
    for (const acc of accs) {
      this.accVector.set(
        acc,
        this.eachCopy(() => {
          const locs = vectorAccLocals(c, acc);
          initVectorAcc(this, acc, locs);
          return locs;
        }),
      );
    }
    const partial = new Map(accs.map((acc) => [acc, this.accVector.get(acc)!]));
    this.forRange(r, lo, vend, step, () => this.block(i.body));
    this.lanes = undefined;
    this.copies = 1;
    for (const acc of accs) for (const locs of partial.get(acc)!) combineVectorAcc(this, acc, locs, this.accScalar.get(acc)!);
    this.forRange(r, vend, hi, 1, () => this.block(i.body));
  }

  /** Starts a vector region: notes which uniform values vector ops will need and splats those defined outside. */
  private enterRegion(lanes: ReadonlyMap<Value, Lane>, region: readonly Instr[], copies: number): void {
    this.lanes = lanes;
    this.copies = copies;
    this.needVec = new Set();
    const inRegion = new Set(valuesOf(region));
    const note = (a: Value): void => {
      if (a.kind !== 'const' && this.laneOf(a).k !== 'V') this.needVec.add(a);
    };
    const walk = (instrs: readonly Instr[]): void => {
      for (const i of instrs) {
        if (i.k === 'loop') walk(i.body);
        else if (i.k === 'value' && this.laneOf(i.v).k === 'V') i.v.args.forEach(note);
        else if (i.k === 'update' || i.k === 'store') note(i.v);
      }
    };
    walk(region);
    // loop variables change inside the region: their vectors are made where used
    for (const v of this.needVec) if (!inRegion.has(v) && v.kind !== 'gid' && v.kind !== 'ridx' && this.scalars.has(v)) this.cacheVector(v);
  }

  // --- functions

  /** Loads buffer addresses and parameters from the args block; computes the once-per-launch values. */
  prologue(args: number): void {
    const c = this.c;
    const k = this.flat.kernel;
    for (let b = 0; b < k.buffers.length; b++) {
      const l = c.local(I32);
      c.get(args).mem(OP.i32_load, 4, 4 * b).set(l);
      this.ptrs.push(l);
    }
    for (const v of valuesOfVars(this.flat)) {
      const l = c.local(I32);
      c.get(args).mem(OP.i32_load, 4, 4 * (k.buffers.length + v.n)).set(l);
      this.scalars.set(v, l);
    }
    this.block(this.flat.prologue);
  }

  /** The gid loop over [start, end): vector steps of 4·copies gids, then the scalar tail. */
  gidLoop(start: Push, end: Push, body: () => void): void {
    const c = this.c;
    const gid = c.local(I32);
    this.scalars.set(this.flat.gid, gid);
    if (this.plan.lanes === 'outputs') {
      const step = WIDTH * this.plan.copies;
      const s = keep(this, I32, start);
      const e = keep(this, I32, end);
      const vend = keep(this, I32, () => (s(), e(), s(), c.op(OP.i32_sub).i32(-step).op(OP.i32_and).op(OP.i32_add)));
      this.enterRegion(this.plan.classes, this.flat.body, this.plan.copies);
      this.forRange(gid, s, vend, step, body);
      this.lanes = undefined;
      this.copies = 1;
      this.forRange(gid, vend, e, 1, body);
    } else {
      this.forRange(gid, start, end, 1, body);
    }
  }

  run(): Code {
    const [start, end, args] = [0, 1, 2];
    this.prologue(args);
    this.gidLoop(
      () => this.c.get(start),
      () => this.c.get(end),
      () => this.block(this.flat.body),
    );
    return this.c;
  }

  /** Chunks [c0, c1) of a split reduction: per chunk and gid, the raw accumulators into the partials area. */
  partial(): Code {
    const c = this.c;
    const [c0, c1, args] = [0, 1, 2];
    const k = this.flat.kernel;
    const fixed = k.buffers.length + k.vars.length;
    this.prologue(args);
    const partials = c.local(I32);
    c.get(args).mem(OP.i32_load, 4, 4 * fixed).set(partials);
    const chunk = c.local(I32);
    const bound = (offset: number): Push => () => c.get(args).get(chunk).i32(2).op(OP.i32_shl).op(OP.i32_add).mem(OP.i32_load, 4, 4 * (fixed + 1 + offset));
    this.forRange(chunk, () => c.get(c0), () => c.get(c1), 1, () => {
      this.gidLoop(
        () => c.i32(0),
        () => c.i32(k.size),
        () => {
          this.block(this.flat.body, { from: bound(0), to: bound(1) }, true);
          this.storePartials(partials, chunk);
        },
      );
    });
    return c;
  }

  /** Address of accumulator `a`'s slot for (chunk, gid): float64 slots, [chunk][acc][gid]. */
  private slot(partials: number, chunk: Push, a: number, gid: Push): void {
    const c = this.c;
    const n = this.flat.kernel.size;
    c.get(partials);
    chunk();
    c.i32(this.flat.accs.length * n).op(OP.i32_mul).i32(a * n).op(OP.i32_add);
    gid();
    c.op(OP.i32_add).i32(3).op(OP.i32_shl).op(OP.i32_add);
  }

  private storePartials(partials: number, chunk: number): void {
    const c = this.c;
    const gid = this.scalars.get(this.flat.gid)!;
    for (const acc of this.flat.accs) {
      if (this.lanes) {
        this.eachCopy((u) => {
          const locs = this.accVector.get(acc)![u]!;
          // four float64 slots per copy: lanes 0-1 then 2-3
          const halves: Push[] =
            locs.length === 2
              ? [() => c.get(locs[0]!), () => c.get(locs[1]!)]
              : acc.dtype === 'float32'
                ? [() => c.get(locs[0]!).simd(SIMD.f64x2_promote_low_f32x4), () => c.get(locs[0]!).get(locs[0]!).shuffle(HIGH_TO_LOW).simd(SIMD.f64x2_promote_low_f32x4)]
                : [() => c.get(locs[0]!).simd(SIMD.f64x2_convert_low_i32x4_s), () => c.get(locs[0]!).get(locs[0]!).shuffle(HIGH_TO_LOW).simd(SIMD.f64x2_convert_low_i32x4_s)];
          halves.forEach((h, j) => {
            this.slot(partials, () => c.get(chunk), acc.id, () => c.get(gid));
            h();
            c.simdMem(SIMD.v128_store, 32 * u + 16 * j);
          });
        });
      } else {
        this.slot(partials, () => c.get(chunk), acc.id, () => c.get(gid));
        c.get(this.accScalar.get(acc)!);
        const t = rawType(acc);
        if (t === F32) c.op(OP.f64_promote_f32);
        else if (t === I32) c.op(OP.f64_convert_i32_s);
        c.mem(OP.f64_store, 8);
      }
    }
  }

  /** The outputs of a split reduction: partial accumulators combined in chunk order, then the epilogue. */
  finish(split: SplitPlan): Code {
    const c = this.c;
    const [start, end, args] = [0, 1, 2];
    const k = this.flat.kernel;
    this.prologue(args);
    const partials = c.local(I32);
    c.get(args).mem(OP.i32_load, 4, 4 * (k.buffers.length + k.vars.length)).set(partials);
    const gid = c.local(I32);
    this.scalars.set(this.flat.gid, gid);
    const chunk = c.local(I32);
    const chunks = split.parts;
    this.forRange(gid, () => c.get(start), () => c.get(end), 1, () => {
      for (const i of this.flat.body) {
        if (i.k !== 'loop') {
          this.block([i]);
          continue;
        }
        for (const acc of this.flat.accs) {
          const raw = this.accScalar.get(acc)!;
          const t = rawType(acc);
          this.forRange(chunk, () => c.i32(0), () => c.i32(chunks), 1, () => {
            accumulate(this, acc, raw, () => {
              this.slot(partials, () => c.get(chunk), acc.id, () => c.get(gid));
              c.mem(OP.f64_load, 8);
              if (t === F32) c.op(OP.f32_demote_f64);
              else if (t === I32) c.sat(SAT.i32_trunc_sat_f64_s);
            });
          });
        }
      }
    });
    return c;
  }
}

function valuesOfVars(flat: FlatKernel): Value[] {
  const out = new Set<Value>();
  const seen = new Set<Value>(); // a DAG: each value once, or the walk is exponential
  const walk = (v: Value): void => {
    if (seen.has(v)) return;
    seen.add(v);
    if (v.kind === 'var') out.add(v);
    v.args.forEach(walk);
  };
  const visit = (instrs: readonly Instr[]): void => {
    for (const i of instrs) {
      if (i.k === 'value') walk(i.v);
      else if (i.k === 'loop') visit(i.body);
      else if (i.k === 'update') walk(i.v);
      else if (i.k === 'store') (walk(i.v), walk(i.idx));
    }
  };
  visit(flat.prologue);
  visit(flat.body);
  return [...out];
}

// ---------------------------------------------------------------------------------------------
// the module

function helpers(): { toi32: Code; randBits: Code } {
  // ToInt32: t = trunc(x); t − floor(t / 2^32)·2^32 is exact, in [0, 2^32); NaN/inf become NaN → 0
  const toi32 = new Code([F64], [I32]);
  const t = toi32.local(F64);
  toi32.get(0).op(OP.f64_trunc).tee(t).get(t).f64(2 ** -32).op(OP.f64_mul).op(OP.f64_floor).f64(2 ** 32).op(OP.f64_mul).op(OP.f64_sub);
  toi32.sat(SAT.i64_trunc_sat_f64_s).op(OP.i32_wrap_i64);
  // pcg(pcg(counter) ^ seed)
  const randBits = new Code([I32, I32], [I32]);
  const pcg = (c: Code, v: Push): void => {
    const s = c.local(I32);
    const w = c.local(I32);
    v();
    c.i32(747796405).op(OP.i32_mul).i32(2891336453 | 0).op(OP.i32_add).set(s);
    c.get(s).get(s).i32(28).op(OP.i32_shr_u).i32(4).op(OP.i32_add).op(OP.i32_shr_u).get(s).op(OP.i32_xor).i32(277803737).op(OP.i32_mul).set(w);
    c.get(w).i32(22).op(OP.i32_shr_u).get(w).op(OP.i32_xor);
  };
  pcg(randBits, () => {
    pcg(randBits, () => randBits.get(1));
    randBits.get(0).op(OP.i32_xor);
  });
  return { toi32, randBits };
}

const MAX_WASM_LOCALS = 50_000;

function build(kernel: Kernel, memory: MemoryImport, opts: RenderWasmOptions, listing: boolean): { bytes: Uint8Array; listings: [string, Code][] } {
  const expanded = withFallbacks(kernel, (op) => op in SCALAR, (why) => new Unsupported(why));
  const flat = flatten(expanded);
  for (const b of kernel.buffers) family(b.dtype);
  const { vector: plan, split } = planKernel(expanded, (opts.simd ?? true) ? CPU_PLANNING : CPU_PLANNING_SCALAR, { flat });
  if (plan.lanes === 'tiles') throw new Error('render-wasm: vector tiles are planned for backends with groups only');
  const m = new ModuleBuilder();
  m.importMemory('env', 'memory', memory);
  const sin = m.importFunc('env', 'sin', [F64], [F64]);
  const fmod = m.importFunc('env', 'fmod', [F64, F64], [F64]);
  const h = helpers();
  const fn: Funcs = { sin, fmod, toi32: m.func(h.toi32), randBits: m.func(h.randBits) };
  const params3: ValType[] = [I32, I32, I32];
  const out: [string, Code][] = [];
  const add = (name: string, code: Code): void => {
    // engines refuse a function past 50,000 locals (V8's kV8MaxWasmFunctionLocals): such a kernel
    // (a deep recurrent backward fused whole) runs on the JavaScript renderer instead
    if (code.params.length + code.localCount > MAX_WASM_LOCALS) {
      throw new Unsupported(`a kernel needing ${code.params.length + code.localCount} WebAssembly locals (the limit is ${MAX_WASM_LOCALS})`);
    }
    m.func(code, name);
    out.push([name, code]);
  };
  if (split) {
    add('partial', new Gen(fn, flat, plan, params3, listing).partial());
    add('finish', new Gen(fn, flat, { lanes: 'none' }, params3, listing).finish(split));
  } else {
    add('run', new Gen(fn, flat, plan, params3, listing).run());
  }
  const layout: WasmLayout = {
    mode: MODE[plan.lanes],
    ...(plan.lanes === 'outputs' ? { copies: plan.copies } : {}),
    work: kernel.size * workPerGid(flat.body),
    ...(split ? { split: { bounds: split.bounds!, accs: flat.accs.length } } : {}),
  };
  m.custom('fusor', new TextEncoder().encode(JSON.stringify(layout)));
  return { bytes: m.bytes(), listings: out };
}

/** Kernel IR → a WebAssembly module (throws Unsupported for what only the JS renderer handles). */
export function renderWasm(kernel: Kernel, memory: MemoryImport, opts: RenderWasmOptions = {}): Uint8Array {
  return build(kernel, memory, opts, false).bytes;
}

/** The exported functions of `renderWasm`'s module as an instruction listing (for reading and debugging). */
export function renderWasmText(kernel: Kernel, opts: RenderWasmOptions = {}): string {
  const { listings } = build(kernel, { initial: 1, maximum: 65536, shared: true }, opts, true);
  return listings.map(([name, code]) => `(func $${name} (params ${code.params.length})\n${code.listing!.join('\n')}\n)`).join('\n');
}

/** The layout stored in a module rendered by `renderWasm`. */
export function layoutOf(module: WebAssembly.Module): WasmLayout {
  const [section] = WebAssembly.Module.customSections(module, 'fusor');
  if (!section) throw new Error('render-wasm: module has no fusor section');
  return JSON.parse(new TextDecoder().decode(section)) as WasmLayout;
}
