/**
 * exp2 and log2 in WebAssembly (there is no instruction for either), scalar and SIMD. The scalar
 * and vector forms run the same IEEE operations in the same order, so a value does not depend on
 * whether it was computed in a vector body or a scalar tail (or on how threads split the work).
 * Polynomials are evaluated by Estrin's scheme: a few independent products per level instead of
 * one long dependent chain (Horner's), which is what bounds their speed.
 *
 * - float32 exp2: in float64, x = n + f with f ∈ [-½, ½] (rounded by the 1.5·2^52 trick, whose
 *   bits also hold n), a degree-9 polynomial (relative error 1.4e-14), 2^n put in the exponent
 *   field, and one rounding to float32: the correctly rounded result but for ties closer than
 *   that (float32 results feed float64 ops, whose tolerance is 1e-10).
 * - log2 (float32 via float64, and float64): x = m · 2^e, m ∈ [√½, √2), log2 m = 2/ln2 ·
 *   atanh((m − 1)/(m + 1)) by its odd series (relative error ~1e-16), special values by selects.
 * - float64 exp2: the same reduction with a degree-13 Taylor polynomial, 2^n applied in two
 *   halves so the whole float64 range (subnormals to overflow) rounds once.
 */
import { Code, F32, F64, I32, I64, OP, SAT, SIMD, V128, type ValType } from './wasm-encoder.js';

export type Push = () => void;

/** 2^f on [-½, ½] in float64: degree 9, relative error 1.4e-14; exactly 1 at 0, so 2^n is exact. */
const EXP2F = [
  1, 0.69314718055987095964, 0.24022650695649655597, 0.055504108668686220503, 0.0096181291920666991053,
  0.0013333557617515745986, 0.00015403434948422996123, 0.000015252984886344139969, 1.3259405538945298835e-6, 1.0150328175438832668e-7,
];
/** 2^f = Σ (f ln2)^k / k!, k ≤ 13: truncation error below 1e-17 on [-½, ½]. */
const EXP2D = Array.from({ length: 14 }, (_, k) => Math.LN2 ** k / factorial(k));
/** log2 m = Σ 2 t^k / (k ln2), k odd ≤ 21, t = (m − 1)/(m + 1), |t| ≤ 0.1716. */
const LOG2_ODD = Array.from({ length: 11 }, (_, j) => 2 / ((2 * j + 1) * Math.LN2));
/** x + 1.5·2^52 rounds x to an integer (ties to even) held in the low bits. */
const ROUND_MAGIC = 6755399441055744;

/** Shuffle masks: lanes 2-3 down to 0-1; lanes 0-1 of two vectors joined. */
export const HIGH_TO_LOW = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
export const JOIN_LOW = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

function factorial(k: number): number {
  let f = 1;
  for (let i = 2; i <= k; i++) f *= i;
  return f;
}

const splat4 = (v: number): number[] => [v, v, v, v];

/** float64 arithmetic on one value or on a pair (f64x2): one algorithm emits both forms. */
interface F64Ops {
  readonly local: ValType;
  cst(c: Code, v: number): void;
  add(c: Code): void;
  sub(c: Code): void;
  mul(c: Code): void;
  div(c: Code): void;
}

const SCALAR: F64Ops = {
  local: F64,
  cst: (c, v) => c.f64(v),
  add: (c) => c.op(OP.f64_add),
  sub: (c) => c.op(OP.f64_sub),
  mul: (c) => c.op(OP.f64_mul),
  div: (c) => c.op(OP.f64_div),
};

const PAIR: F64Ops = {
  local: V128,
  cst: (c, v) => c.f64x2([v, v]),
  add: (c) => c.simd(SIMD.f64x2_add),
  sub: (c) => c.simd(SIMD.f64x2_sub),
  mul: (c) => c.simd(SIMD.f64x2_mul),
  div: (c) => c.simd(SIMD.f64x2_div),
};

/** Pushes Σ coef[k] x^k (x a local) by Estrin's scheme. */
function estrin(c: Code, ops: F64Ops, x: number, coef: readonly number[]): void {
  // level 0: a + b·x per pair of coefficients
  let terms: Push[] = [];
  for (let k = 0; k < coef.length; k += 2) {
    const [a, b] = [coef[k]!, coef[k + 1]];
    if (b === undefined) terms.push(() => ops.cst(c, a));
    else {
      const l = c.local(ops.local);
      ops.cst(c, b);
      c.get(x);
      ops.mul(c);
      ops.cst(c, a);
      ops.add(c);
      c.set(l);
      terms.push(() => c.get(l));
    }
  }
  // level k: t[2i] + t[2i+1]·x^(2^k)
  let power = x;
  while (terms.length > 1) {
    const sq = c.local(ops.local);
    c.get(power).get(power);
    ops.mul(c);
    c.set(sq);
    power = sq;
    const next: Push[] = [];
    for (let i = 0; i < terms.length; i += 2) {
      const [lo, hi] = [terms[i]!, terms[i + 1]];
      if (!hi) {
        next.push(lo);
        continue;
      }
      const l = c.local(ops.local);
      hi();
      c.get(power);
      ops.mul(c);
      lo();
      ops.add(c);
      c.set(l);
      next.push(() => c.get(l));
    }
    terms = next;
  }
  terms[0]!();
}

/**
 * 2^d for a local d in [-1022, 1023] (float64, or a pair): pushes p(f)·2^n, n = round(d),
 * computed without float → int conversions (the rounding constant's bits hold n).
 */
function exp2Core(c: Code, ops: F64Ops, d: number, coef: readonly number[]): void {
  const t = c.local(ops.local);
  const f = c.local(ops.local);
  c.get(d);
  ops.cst(c, ROUND_MAGIC);
  ops.add(c);
  c.set(t);
  c.get(d).get(t);
  ops.cst(c, ROUND_MAGIC);
  ops.sub(c);
  ops.sub(c);
  c.set(f);
  estrin(c, ops, f, coef);
  // (bits(t) + 1023) << 52: n + 1023 in the exponent field, the constant's bits shifted out
  c.get(t);
  if (ops === SCALAR) c.op(OP.i64_reinterpret_f64).i64(1023n).op(OP.i64_add).i64(52n).op(OP.i64_shl).op(OP.f64_reinterpret_i64);
  else c.i64x2Splat(1023n).simd(SIMD.i64x2_add).i32(52).simd(SIMD.i64x2_shl);
  ops.mul(c);
}

/** float32 2^x, scalar: in float64, rounded once. */
export function exp2f(c: Code, x: Push): void {
  const d = c.local(F64);
  x();
  c.f32(-151).op(OP.f32_max).f32(128).op(OP.f32_min).op(OP.f64_promote_f32).set(d);
  exp2Core(c, SCALAR, d, EXP2F);
  c.op(OP.f32_demote_f64);
}

/** float32 2^x, four lanes as two float64 pairs: the same operations as `exp2f`. */
export function exp2f4(c: Code, x: Push): void {
  const xl = c.local(V128);
  const lo = c.local(V128);
  const hi = c.local(V128);
  x();
  // pmax/pmin (one instruction each) with x first keep a NaN x, as f32.max/f32.min do
  c.f32x4(splat4(-151)).simd(SIMD.f32x4_pmax).f32x4(splat4(128)).simd(SIMD.f32x4_pmin).set(xl);
  c.get(xl).simd(SIMD.f64x2_promote_low_f32x4).set(lo);
  c.get(xl).get(xl).shuffle(HIGH_TO_LOW).simd(SIMD.f64x2_promote_low_f32x4).set(hi);
  exp2Core(c, PAIR, lo, EXP2F);
  c.simd(SIMD.f32x4_demote_f64x2_zero);
  exp2Core(c, PAIR, hi, EXP2F);
  c.simd(SIMD.f32x4_demote_f64x2_zero).shuffle(JOIN_LOW);
}

/** float64 2^x, scalar: 2^n applied as 2^(n/2)·2^(n−n/2), so results near overflow and subnormal ones round once. */
export function exp2d(c: Code, x: Push): void {
  const xl = c.local(F64);
  const n = c.local(F64);
  const f = c.local(F64);
  const ni = c.local(I32);
  const n1 = c.local(I32);
  x();
  c.f64(-1100).op(OP.f64_max).f64(1100).op(OP.f64_min).set(xl);
  c.get(xl).op(OP.f64_nearest).set(n);
  c.get(xl).get(n).op(OP.f64_sub).set(f);
  c.get(n).sat(SAT.i32_trunc_sat_f64_s).tee(ni).i32(1).op(OP.i32_shr_s).set(n1);
  estrin(c, SCALAR, f, EXP2D);
  const scale = (e: () => void): void => {
    e();
    c.i32(1023).op(OP.i32_add).op(OP.i64_extend_i32_s).i64(52n).op(OP.i64_shl).op(OP.f64_reinterpret_i64).op(OP.f64_mul);
  };
  scale(() => c.get(n1));
  scale(() => c.get(ni).get(n1).op(OP.i32_sub));
}

/** log2 of a positive, finite, normal float64 in local `x` (special values are the caller's): pushes the result. */
function log2Core(c: Code, x: number): void {
  const bits = c.local(I64);
  const m = c.local(F64);
  const big = c.local(I32);
  const t = c.local(F64);
  const t2 = c.local(F64);
  c.get(x).op(OP.i64_reinterpret_f64).set(bits);
  c.get(bits).i64(0x000fffffffffffffn).op(OP.i64_and).i64(0x3ff0000000000000n).op(OP.i64_or).op(OP.f64_reinterpret_i64).set(m);
  c.get(m).f64(Math.SQRT2).op(OP.f64_gt).set(big);
  c.get(m).f64(0.5).op(OP.f64_mul).get(m).get(big).op(OP.select).set(m);
  c.get(m).f64(1).op(OP.f64_sub).get(m).f64(1).op(OP.f64_add).op(OP.f64_div).tee(t).get(t).op(OP.f64_mul).set(t2);
  // e + big, as float64
  c.get(bits).i64(52n).op(OP.i64_shr_u).op(OP.i32_wrap_i64).i32(0x7ff).op(OP.i32_and).i32(1023).op(OP.i32_sub).get(big).op(OP.i32_add);
  c.op(OP.f64_convert_i32_s);
  c.get(t);
  estrin(c, SCALAR, t2, LOG2_ODD);
  c.op(OP.f64_mul).op(OP.f64_add);
}

/** `log2Core` on a pair of positive, finite, normal float64 in local `x`: the same float operations. */
function log2Core2(c: Code, x: number): void {
  const m = c.local(V128);
  const big = c.local(V128);
  const t = c.local(V128);
  const t2 = c.local(V128);
  const e = c.local(V128);
  c.get(x).i64x2Splat(0x000fffffffffffffn).simd(SIMD.v128_and).i64x2Splat(0x3ff0000000000000n).simd(SIMD.v128_or).set(m);
  c.get(m).f64x2([Math.SQRT2, Math.SQRT2]).simd(SIMD.f64x2_gt).set(big);
  c.get(m).f64x2([0.5, 0.5]).simd(SIMD.f64x2_mul).get(m).get(big).simd(SIMD.v128_bitselect).set(m);
  c.get(m).f64x2([1, 1]).simd(SIMD.f64x2_sub).get(m).f64x2([1, 1]).simd(SIMD.f64x2_add).simd(SIMD.f64x2_div).tee(t).get(t).simd(SIMD.f64x2_mul).set(t2);
  // e + big as two float64 lanes: the exponent fields (each i64 lane's low i32) gathered to lanes 0, 1
  c.get(x).i32(52).simd(SIMD.i64x2_shr_u).i64x2Splat(0x7ffn).simd(SIMD.v128_and).set(e);
  c.get(e).get(e).shuffle([0, 1, 2, 3, 8, 9, 10, 11, 0, 1, 2, 3, 0, 1, 2, 3]);
  c.simd(SIMD.f64x2_convert_low_i32x4_s).f64x2([-1023, -1023]).simd(SIMD.f64x2_add);
  c.get(big).f64x2([1, 1]).simd(SIMD.v128_and).simd(SIMD.f64x2_add);
  c.get(t);
  estrin(c, PAIR, t2, LOG2_ODD);
  c.simd(SIMD.f64x2_mul).simd(SIMD.f64x2_add);
}

/** float64 log2, scalar, with log2(0) = -inf, log2(x < 0) = NaN, log2(inf) = inf, subnormals scaled. */
export function log2d(c: Code, x: Push): void {
  const xl = c.local(F64);
  const s = c.local(F64);
  const k = c.local(F64);
  const r = c.local(F64);
  x();
  c.set(xl);
  // subnormal inputs are scaled by 2^54 first
  c.get(xl).f64(2 ** 54).op(OP.f64_mul).get(xl).get(xl).f64(2 ** -1022).op(OP.f64_lt).op(OP.select).set(s);
  c.f64(-54).f64(0).get(xl).f64(2 ** -1022).op(OP.f64_lt).op(OP.select).set(k);
  log2Core(c, s);
  c.get(k).op(OP.f64_add).set(r);
  log2Specials(c, 'f64', xl, r);
}

/**
 * Leaves log2(x) on the stack from the core's result in local `r`: NaN for x < 0, -inf at 0, inf
 * at inf, and x itself where x is NaN.
 */
function log2Specials(c: Code, t: 'f32' | 'f64', xl: number, r: number): void {
  const [lt, eq, ne] = t === 'f32' ? [OP.f32_lt, OP.f32_eq, OP.f32_ne] : [OP.f64_lt, OP.f64_eq, OP.f64_ne];
  const k = (v: number): Code => (t === 'f32' ? c.f32(v) : c.f64(v));
  const sel = (value: number, cmp: number, against: number): void => {
    k(value).get(r).get(xl);
    k(against).op(cmp).op(OP.select).set(r);
  };
  sel(NaN, lt, 0);
  sel(-Infinity, eq, 0);
  sel(Infinity, eq, Infinity);
  c.get(xl).get(r).get(xl).get(xl).op(ne).op(OP.select);
}

/** float32 log2, scalar: computed in float64 and rounded once (nearly always the correctly rounded result). */
export function log2f(c: Code, x: Push): void {
  const xl = c.local(F32);
  const d = c.local(F64);
  const r = c.local(F32);
  x();
  c.tee(xl).op(OP.f64_promote_f32).set(d);
  log2Core(c, d);
  c.op(OP.f32_demote_f64).set(r);
  log2Specials(c, 'f32', xl, r);
}

/** float32 log2, four lanes: the same operations as `log2f`. */
export function log2f4(c: Code, x: Push): void {
  const xl = c.local(V128);
  const lo = c.local(V128);
  const hi = c.local(V128);
  const r = c.local(V128);
  x();
  c.tee(xl).simd(SIMD.f64x2_promote_low_f32x4).set(lo);
  c.get(xl).get(xl).shuffle(HIGH_TO_LOW).simd(SIMD.f64x2_promote_low_f32x4).set(hi);
  log2Core2(c, lo);
  c.simd(SIMD.f32x4_demote_f64x2_zero);
  log2Core2(c, hi);
  c.simd(SIMD.f32x4_demote_f64x2_zero);
  c.shuffle(JOIN_LOW).set(r);
  const sel = (value: number, cmp: number, against: number): void => {
    c.f32x4(splat4(value)).get(r).get(xl).f32x4(splat4(against)).simd(cmp).simd(SIMD.v128_bitselect).set(r);
  };
  sel(NaN, SIMD.f32x4_lt, 0);
  sel(-Infinity, SIMD.f32x4_eq, 0);
  sel(Infinity, SIMD.f32x4_eq, Infinity);
  c.get(xl).get(r).get(xl).get(xl).simd(SIMD.f32x4_ne).simd(SIMD.v128_bitselect);
}
