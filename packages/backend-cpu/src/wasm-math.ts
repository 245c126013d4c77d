/**
 * exp2 and log2 in WebAssembly (there is no instruction for either), scalar and SIMD. The scalar
 * and vector forms run the same IEEE operations in the same order, so a value does not depend on
 * whether it was computed in a vector body or a scalar tail (or on how threads split the work).
 * Polynomials are evaluated by Estrin's scheme: a few independent products per level instead of
 * one long dependent chain (Horner's), which is what bounds their speed.
 *
 * - float32 exp2: in float32, x = n + f with f ∈ [-½, ½], a degree-6 polynomial, 2^n put in the
 *   exponent field in two halves: within 1.2 ulp (PyTorch's is within 1 ulp), four lanes for
 *   the price of one (it was float64 pairs, correctly rounded, and 3× slower).
 * - log2 (float32 via float64, and float64): x = m · 2^e, m ∈ [√½, √2), log2 m = 2/ln2 ·
 *   atanh((m − 1)/(m + 1)) by its odd series (relative error ~1e-16), special values by selects.
 * - float64 exp2: the same reduction with a degree-13 Taylor polynomial, 2^n applied in two
 *   halves so the whole float64 range (subnormals to overflow) rounds once.
 */
import { Code, F32, F64, I32, I64, OP, SAT, SIMD, V128, type ValType } from './wasm-encoder.js';

export type Push = () => void;

/** 2^f = Σ (f ln2)^k / k!, k ≤ 13: truncation error below 1e-17 on [-½, ½]. */
const EXP2D = Array.from({ length: 14 }, (_, k) => Math.LN2 ** k / factorial(k));
/** log2 m = Σ 2 t^k / (k ln2), k odd ≤ 21, t = (m − 1)/(m + 1), |t| ≤ 0.1716. */
const LOG2_ODD = Array.from({ length: 11 }, (_, j) => 2 / ((2 * j + 1) * Math.LN2));

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
 * 2^f − 1 = f·q(f) on [-½, ½]: q's coefficients in float32, fitted to the relative error of
 * 2^f (2.2e-9); evaluated in float32 the result is within 1.2 ulp, correctly rounded for 89% of
 * inputs — PyTorch's own float32 exp (SLEEF's u10 functions) is within 1 ulp.
 */
const EXP2F_Q = [0.6931471824645996, 0.24022647738456726, 0.05550329014658928, 0.009618373587727547, 0.0013399848248809576, 0.00015370704932138324];

/** float32 arithmetic on one value or on four lanes: one algorithm emits both forms, so they agree bit for bit. */
interface F32Ops {
  readonly local: ValType;
  readonly ilocal: ValType;
  cst(c: Code, v: number): void;
  icst(c: Code, v: number): void;
  add(c: Code): void;
  sub(c: Code): void;
  mul(c: Code): void;
  /** max/min with the value first: a NaN value stays NaN. */
  clamp(c: Code, lo: number, hi: number): void;
  nearest(c: Code): void;
  toInt(c: Code): void;
  iadd(c: Code): void;
  isub(c: Code): void;
  shl(c: Code, k: number): void;
  shrS(c: Code, k: number): void;
}

const F32_SCALAR: F32Ops = {
  local: F32,
  ilocal: I32,
  cst: (c, v) => c.f32(v),
  icst: (c, v) => c.i32(v),
  add: (c) => c.op(OP.f32_add),
  sub: (c) => c.op(OP.f32_sub),
  mul: (c) => c.op(OP.f32_mul),
  clamp: (c, lo, hi) => c.f32(lo).op(OP.f32_max).f32(hi).op(OP.f32_min),
  nearest: (c) => c.op(OP.f32_nearest),
  toInt: (c) => c.sat(SAT.i32_trunc_sat_f32_s),
  iadd: (c) => c.op(OP.i32_add),
  isub: (c) => c.op(OP.i32_sub),
  shl: (c, k) => c.i32(k).op(OP.i32_shl),
  shrS: (c, k) => c.i32(k).op(OP.i32_shr_s),
};

const F32_LANES: F32Ops = {
  local: V128,
  ilocal: V128,
  cst: (c, v) => c.f32x4(splat4(v)),
  icst: (c, v) => c.i32(v).simd(SIMD.i32x4_splat),
  add: (c) => c.simd(SIMD.f32x4_add),
  sub: (c) => c.simd(SIMD.f32x4_sub),
  mul: (c) => c.simd(SIMD.f32x4_mul),
  // pmax/pmin (one instruction each) with x first keep a NaN x, as f32.max/f32.min do
  clamp: (c, lo, hi) => c.f32x4(splat4(lo)).simd(SIMD.f32x4_pmax).f32x4(splat4(hi)).simd(SIMD.f32x4_pmin),
  nearest: (c) => c.simd(SIMD.f32x4_nearest),
  toInt: (c) => c.simd(SIMD.i32x4_trunc_sat_f32x4_s),
  iadd: (c) => c.simd(SIMD.i32x4_add),
  isub: (c) => c.simd(SIMD.i32x4_sub),
  shl: (c, k) => c.i32(k).simd(SIMD.i32x4_shl),
  shrS: (c, k) => c.i32(k).simd(SIMD.i32x4_shr_s),
};

/**
 * float32 2^x in float32 arithmetic: x clamped to [-151, 128] (past which the result is 0 or
 * inf), x = n + f with n = round(x), 2^f = 1 + f·q(f) (Horner: four lanes of it cost what one
 * lane does), and 2^n applied as 2^(n>>1)·2^(n−(n>>1)), both factors normal, so subnormal and
 * near-overflow results round once.
 */
function exp2f32(c: Code, ops: F32Ops, x: Push, natural: boolean): void {
  const xc = c.local(ops.local);
  const f = c.local(ops.local);
  const nf = c.local(ops.local);
  const n = c.local(ops.ilocal);
  const n1 = c.local(ops.ilocal);
  x();
  if (natural) {
    // e^y = 2^n · 2^f, n = round(y·log2 e), f = (y − n·ln 2)·log2 e with n·ln 2 subtracted in two
    // parts, the first exact (Cody and Waite): f is as exact as y, where 2^(fl(y·log2 e)) is off
    // by up to 50 ulp for |y| near 88
    const times = (k: number): void => (ops.cst(c, k), ops.mul(c));
    ops.clamp(c, -104, 89);
    c.tee(xc);
    times(LOG2E_F32);
    ops.nearest(c);
    c.set(nf);
    c.get(xc).get(nf);
    times(LN2_HI);
    ops.sub(c);
    c.get(nf);
    times(LN2_LO);
    ops.sub(c);
    times(LOG2E_F32);
    c.set(f);
  } else {
    ops.clamp(c, -151, 128);
    c.tee(xc);
    ops.nearest(c);
    c.set(nf);
    c.get(xc).get(nf);
    ops.sub(c);
    c.set(f);
  }
  // n as an integer, and its halves (a NaN x gives n = 0: the polynomial carries the NaN)
  c.get(nf);
  ops.toInt(c);
  c.set(n);
  c.get(n);
  ops.shrS(c, 1);
  c.set(n1);
  // q(f) by Horner, then 1 + f·q
  ops.cst(c, EXP2F_Q[EXP2F_Q.length - 1]!);
  for (let k = EXP2F_Q.length - 2; k >= 0; k--) {
    c.get(f);
    ops.mul(c);
    ops.cst(c, EXP2F_Q[k]!);
    ops.add(c);
  }
  c.get(f);
  ops.mul(c);
  ops.cst(c, 1);
  ops.add(c);
  const scale = (e: () => void): void => {
    e();
    ops.icst(c, 127);
    ops.iadd(c);
    ops.shl(c, 23);
    if (ops === F32_SCALAR) c.op(OP.f32_reinterpret_i32);
    ops.mul(c);
  };
  scale(() => c.get(n1));
  scale(() => {
    c.get(n).get(n1);
    ops.isub(c);
  });
}

/** ln 2 in two parts: the first with 9 significant bits, so n·LN2_HI is exact for |n| < 2^15. */
const LN2_HI = 0.693359375;
const LN2_LO = Math.fround(Math.LN2 - LN2_HI);
export const LOG2E_F32 = Math.fround(Math.LOG2E);

/** float32 2^x, scalar; `natural`: e^x (x is the argument the IR multiplied by log2 e). */
export function exp2f(c: Code, x: Push, natural = false): void {
  exp2f32(c, F32_SCALAR, x, natural);
}

/** float32 2^x (or e^x), four lanes: the same operations as `exp2f`. */
export function exp2f4(c: Code, x: Push, natural = false): void {
  exp2f32(c, F32_LANES, x, natural);
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
