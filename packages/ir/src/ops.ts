/**
 * The primitive op set. Every frontend op (sub, div, exp, softmax, matmul…) decomposes into
 * these; backends and autograd only ever see this table.
 */
import type { DType } from './dtype.js';

export type SourceOp = 'BUFFER' | 'CONST' | 'RAND' | 'ARANGE';
export type UnaryOp = 'NEG' | 'EXP2' | 'LOG2' | 'SIN' | 'SQRT' | 'RECIP' | 'TRUNC' | 'EXPM1';
export type BinaryOp =
  | 'ADD'
  | 'MUL'
  | 'IDIV'
  | 'MOD'
  | 'MAX'
  | 'CMPLT'
  | 'CMPEQ'
  | 'AND'
  | 'OR'
  | 'XOR'
  | 'SHL'
  | 'SHR';
export type TernaryOp = 'WHERE';
export type CastOp = 'CAST' | 'BITCAST';
export type ReduceOp = 'REDUCE';
export type MovementOp = 'RESHAPE' | 'PERMUTE' | 'EXPAND' | 'PAD' | 'SHRINK' | 'FLIP';
export type EffectOp = 'CONTIGUOUS' | 'COPY' | 'ASSIGN' | 'DETACH' | 'DATA';
/**
 * Indexed memory access. GATHER is a load at a computed index (fuses into its consumer like an
 * elementwise op); SCATTER and SCAN each make a kernel of their own that walks one fiber (all
 * elements along the op's axis) per thread, in order, so their sums are deterministic. SORT gives
 * the int32 positions that order each row of its source (along the last axis): a backend's sort
 * routine computes it, or the compiler writes it out as a sorting network of the ops above.
 */
export type IndexOp = 'GATHER' | 'SCATTER' | 'SCAN' | 'SORT';

export type Op = SourceOp | UnaryOp | BinaryOp | TernaryOp | CastOp | ReduceOp | MovementOp | EffectOp | IndexOp;

export type OpKind = 'source' | 'unary' | 'binary' | 'ternary' | 'cast' | 'reduce' | 'movement' | 'effect' | 'index';

export type ReduceKind = 'add' | 'mul' | 'max';
/** How SCATTER combines a written value with what is there: 'none' overwrites. */
export type ScatterReduce = 'none' | 'add' | 'mul';

export interface OpInfo {
  readonly kind: OpKind;
  /** Number of sources. */
  readonly arity: number;
  /** Result is bool regardless of the input dtype. */
  readonly boolResult?: boolean;
  /** Accepts only integer/bool inputs. */
  readonly intOnly?: boolean;
  /** Accepts only floating inputs. */
  readonly floatOnly?: boolean;
}

/**
 * Arithmetic on values of some kind `T`, in which a unary primitive's gradient and fallback are
 * written once: autograd runs them on graph nodes, the renderers' fallback on kernel expressions.
 */
export interface Arith<T> {
  /** The constant `v`, of the dtype (and shape) of `like`. */
  c(v: number, like: T): T;
  unary(op: UnaryOp, a: T): T;
  binary(op: BinaryOp, a: T, b: T): T;
  where(cond: T, a: T, b: T): T;
  dtype(a: T): DType;
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  neg(a: T): T;
  recip(a: T): T;
  lt(a: T, b: T): T;
  /** max(a, −a): NaN stays NaN. */
  abs(a: T): T;
}

/** An `Arith` from its five basic operations. */
export function arith<T>(base: Pick<Arith<T>, 'c' | 'unary' | 'binary' | 'where' | 'dtype'>): Arith<T> {
  const { binary, unary } = base;
  const neg = (a: T): T => unary('NEG', a);
  return {
    ...base,
    add: (a, b) => binary('ADD', a, b),
    sub: (a, b) => binary('ADD', a, neg(b)),
    mul: (a, b) => binary('MUL', a, b),
    neg,
    recip: (a) => unary('RECIP', a),
    lt: (a, b) => binary('CMPLT', a, b),
    abs: (a) => binary('MAX', a, neg(a)),
  };
}

/**
 * Everything about one unary primitive: the only place a new one is declared (its name also goes
 * in `UnaryOp`). Every layer reads it from here: node construction (`floatOnly`), the reference
 * interpreter and constant folding (`scalar`), autograd (`grad`), the C-like renderers (`source`)
 * and, where a target language lacks `source`'s function, every renderer (`fallback`).
 */
export interface UnaryPrimitive {
  /** Accepts only floating inputs (the frontend promotes integers first). */
  readonly floatOnly?: boolean;
  /** Its value on one number, in float64: the caller brings the result into the dtype. */
  readonly scalar: (x: number) => number;
  /**
   * How it reads in C-like source: a C math function's name (rendered `Math.expm1` in
   * JavaScript, `expm1f` on CUDA floats, `expm1` in WGSL), or a template over the operand `$0`.
   */
  readonly source: string;
  /** The gradient of x from the upstream gradient `g`, the input `x` and the output `y`. */
  readonly grad: <T>(A: Arith<T>, g: T, x: T, y: T) => T;
  /**
   * The op written with other primitives, for a target whose language has no `source` function
   * (WGSL and WebAssembly have no expm1). Absent: such a target cannot run the op.
   */
  readonly fallback?: <T>(A: Arith<T>, x: T) => T;
}

/** Horner's rule: c[0] + x·(c[1] + x·(c[2] + …)). */
export function horner<T>(A: Arith<T>, x: T, coef: readonly number[]): T {
  let p = A.c(coef[coef.length - 1]!, x);
  for (let i = coef.length - 2; i >= 0; i--) p = A.add(A.mul(p, x), A.c(coef[i]!, x));
  return p;
}

/** 1/k!, k = 0 … n − 1: the Taylor coefficients of exp. */
const invFactorials = (n: number): number[] => Array.from({ length: n }, (_, k) => 1 / Array.from({ length: k }, (_, i) => i + 1).reduce((a, b) => a * b, 1));

export const UNARY: Readonly<Record<UnaryOp, UnaryPrimitive>> = {
  NEG: { scalar: (x) => -x, source: '(-$0)', grad: (A, g) => A.neg(g) },
  EXP2: { floatOnly: true, scalar: (x) => 2 ** x, source: 'exp2', grad: (A, g, _x, y) => A.mul(g, A.mul(y, A.c(Math.LN2, y))) },
  LOG2: { floatOnly: true, scalar: Math.log2, source: 'log2', grad: (A, g, x) => A.mul(g, A.recip(A.mul(x, A.c(Math.LN2, x)))) },
  SIN: {
    floatOnly: true,
    scalar: Math.sin,
    source: 'sin',
    // cos x = 1 − 2 sin²(x/2): halving is exact, so large x stays accurate (sin(x + π/2) rounds x + π/2)
    grad: (A, g, x) => {
      const s = A.unary('SIN', A.mul(x, A.c(0.5, x)));
      return A.mul(g, A.add(A.c(1, x), A.mul(A.c(-2, x), A.mul(s, s))));
    },
  },
  SQRT: { floatOnly: true, scalar: Math.sqrt, source: 'sqrt', grad: (A, g, _x, y) => A.mul(g, A.recip(A.mul(y, A.c(2, y)))) },
  // (g·r)·r, not g·(r·r): r² overflows where g·r·r does not (d(a/b)/db with tiny b)
  RECIP: { floatOnly: true, scalar: (x) => 1 / x, source: '(1 / $0)', grad: (A, g, _x, y) => A.neg(A.mul(A.mul(g, y), y)) },
  TRUNC: { floatOnly: true, scalar: Math.trunc, source: 'trunc', grad: (A, g) => A.c(0, g) },
  EXPM1: {
    floatOnly: true,
    scalar: Math.expm1,
    source: 'expm1',
    grad: (A, g, _x, y) => A.mul(g, A.add(y, A.c(1, y))),
    // |x| < 0.5: the Taylor series (to float64's or float32's precision), where exp(x) − 1 would
    // cancel. Beyond: 2^n·exp(r) − 1 with n = trunc(x·log2 e) and r = x − n·ln 2 by Cody and Waite's
    // split of ln 2 (n·hi is exact), so the rounding of x·log2 e is not magnified by n; x is
    // clamped first so that ±∞ gives ∞ and −1, not ∞ − ∞
    fallback: (A, x) => {
      const f64 = A.dtype(x) === 'float64';
      const series = A.mul(x, horner(A, x, invFactorials(f64 ? 17 : 10).slice(1)));
      const [hi, lo, limit] = f64 ? [0.6931471803691238, 1.9082149292705877e-10, 1500] : [0.693145751953125, 1.4286068203094173e-6, 200];
      const xc = A.neg(A.binary('MAX', A.neg(A.binary('MAX', x, A.c(-limit, x))), A.c(-limit, x)));
      const n = A.unary('TRUNC', A.mul(xc, A.c(Math.LOG2E, x)));
      const r = A.sub(A.sub(xc, A.mul(n, A.c(hi, x))), A.mul(n, A.c(lo, x)));
      const big = A.sub(A.mul(A.unary('EXP2', n), A.unary('EXP2', A.mul(r, A.c(Math.LOG2E, x)))), A.c(1, x));
      return A.where(A.lt(A.abs(x), A.c(0.5, x)), series, big);
    },
  },
};

export const OPS: Readonly<Record<Op, OpInfo>> = {
  BUFFER: { kind: 'source', arity: 0 },
  CONST: { kind: 'source', arity: 0 },
  RAND: { kind: 'source', arity: 0 },
  ARANGE: { kind: 'source', arity: 0 },
  ...(Object.fromEntries(
    Object.entries(UNARY).map(([op, u]) => [op, { kind: 'unary', arity: 1, ...(u.floatOnly ? { floatOnly: true } : {}) }]),
  ) as Record<UnaryOp, OpInfo>),
  ADD: { kind: 'binary', arity: 2 },
  MUL: { kind: 'binary', arity: 2 },
  IDIV: { kind: 'binary', arity: 2, intOnly: true },
  MOD: { kind: 'binary', arity: 2 },
  MAX: { kind: 'binary', arity: 2 },
  CMPLT: { kind: 'binary', arity: 2, boolResult: true },
  CMPEQ: { kind: 'binary', arity: 2, boolResult: true },
  AND: { kind: 'binary', arity: 2, intOnly: true },
  OR: { kind: 'binary', arity: 2, intOnly: true },
  XOR: { kind: 'binary', arity: 2, intOnly: true },
  SHL: { kind: 'binary', arity: 2, intOnly: true },
  SHR: { kind: 'binary', arity: 2, intOnly: true },
  WHERE: { kind: 'ternary', arity: 3 },
  CAST: { kind: 'cast', arity: 1 },
  BITCAST: { kind: 'cast', arity: 1 },
  REDUCE: { kind: 'reduce', arity: 1 },
  RESHAPE: { kind: 'movement', arity: 1 },
  PERMUTE: { kind: 'movement', arity: 1 },
  EXPAND: { kind: 'movement', arity: 1 },
  PAD: { kind: 'movement', arity: 1 },
  SHRINK: { kind: 'movement', arity: 1 },
  FLIP: { kind: 'movement', arity: 1 },
  CONTIGUOUS: { kind: 'effect', arity: 1 },
  COPY: { kind: 'effect', arity: 1 },
  ASSIGN: { kind: 'effect', arity: 2 },
  DETACH: { kind: 'effect', arity: 1 },
  GATHER: { kind: 'index', arity: 2 },
  SCATTER: { kind: 'index', arity: 3 },
  SCAN: { kind: 'index', arity: 1 },
  SORT: { kind: 'index', arity: 1 },
  /** The value of src[0], the gradient of src[1]: contents changed outside autograd (through `.data` or a detached alias). */
  DATA: { kind: 'effect', arity: 2 },
};

export const opKind = (op: Op): OpKind => OPS[op].kind;
export const isElementwise = (op: Op): boolean => {
  const k = OPS[op].kind;
  return k === 'unary' || k === 'binary' || k === 'ternary' || k === 'cast';
};
export const isMovement = (op: Op): boolean => OPS[op].kind === 'movement';

/** The identity element each reduction starts from. */
export const REDUCE_IDENTITY: Readonly<Record<ReduceKind, number>> = {
  add: 0,
  mul: 1,
  max: -Infinity,
};
