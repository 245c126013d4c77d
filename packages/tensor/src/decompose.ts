/**
 * Frontend ops as compositions of IR primitives, on nodes. Everything here lowers through the
 * same compiler path; none of it is a hand-written kernel.
 */
import {
  binaryNode,
  castNode,
  constNode,
  dataNode,
  detachNode,
  isFloat,
  reduceNode,
  unaryNode,
  whereNode,
  type DType,
  type Node,
} from '@fusor/ir';

export const c = (v: number, like: Node, dtype: DType = like.dtype): Node => constNode(v, dtype, like.shape, like.device);
export const add = (a: Node, b: Node): Node => binaryNode('ADD', a, b);
export const mul = (a: Node, b: Node): Node => binaryNode('MUL', a, b);
export const neg = (a: Node): Node => unaryNode('NEG', a);
export const sub = (a: Node, b: Node): Node => add(a, neg(b));
export const recip = (a: Node): Node => unaryNode('RECIP', a);
export const div = (a: Node, b: Node): Node => mul(a, recip(b));
export const lt = (a: Node, b: Node): Node => binaryNode('CMPLT', a, b);
export const eq = (a: Node, b: Node): Node => binaryNode('CMPEQ', a, b);
export const not = (a: Node): Node => binaryNode('XOR', a, c(1, a));
export const ne = (a: Node, b: Node): Node => not(eq(a, b));
export const and = (a: Node, b: Node): Node => binaryNode('AND', a, b);
export const or = (a: Node, b: Node): Node => binaryNode('OR', a, b);
export const max = (a: Node, b: Node): Node => binaryNode('MAX', a, b);
export const where = whereNode;
export const trunc = (a: Node): Node => (isFloat(a.dtype) ? unaryNode('TRUNC', a) : a);
export const exp = (a: Node): Node => unaryNode('EXP2', mul(a, c(Math.LOG2E, a)));
export const log = (a: Node): Node => mul(unaryNode('LOG2', a), c(Math.LN2, a));
export const sqrt = (a: Node): Node => unaryNode('SQRT', a);
export const sin = (a: Node): Node => unaryNode('SIN', a);
/** cos x = 1 − 2 sin²(x/2): halving is exact, so large arguments stay accurate. */
export const cos = (a: Node): Node => {
  const s = sin(mul(a, c(0.5, a)));
  return sub(c(1, a), mul(c(2, a), mul(s, s)));
};
/** |a| whose gradient at 0 is +1 (the right derivative), for the odd functions below. */
const absRight = (a: Node): Node => where(lt(a, c(0, a)), neg(a), a);
/**
 * σ(a) from e = exp(−|a|) ≤ 1: 1/(1+e) for a ≥ 0, e/(1+e) below. exp never overflows, so the
 * gradient stays finite (0, not 0·∞ = NaN) for large |a| and ±∞.
 */
export const sigmoid = (a: Node): Node => {
  const e = exp(neg(absRight(a)));
  const r = recip(add(c(1, a), e));
  return where(lt(a, c(0, a)), mul(e, r), r);
};
/** tanh(a) = ±(1−e)/(1+e), e = exp(−2|a|) (finite gradients, like sigmoid); ±0 passes through with its sign. */
export const tanh = (a: Node): Node => {
  const e = exp(mul(c(-2, a), absRight(a)));
  const t = mul(sub(c(1, a), e), recip(add(c(1, a), e)));
  return where(eq(a, c(0, a)), a, where(lt(a, c(0, a)), neg(t), t));
};
export const isnan = (a: Node): Node => (isFloat(a.dtype) ? ne(a, a) : c(0, a, 'bool'));
/** relu as PyTorch's: NaN and −0 pass through; the gradient is 0 for a ≤ 0 (at ±0 the detached value, not its slope) and flows for NaN. */
export const relu = (a: Node): Node => where(lt(a, c(0, a)), c(0, a), where(eq(a, c(0, a)), detachNode(a), a));
export const floor = (a: Node): Node => {
  if (!isFloat(a.dtype)) return a;
  const t = trunc(a);
  return where(lt(a, t), sub(t, c(1, a)), t);
};
export const ceil = (a: Node): Node => {
  if (!isFloat(a.dtype)) return a;
  const t = trunc(a);
  return where(lt(t, a), add(t, c(1, a)), t);
};
/**
 * Round half to even, like PyTorch (nearbyint), from the exact split a = t + f (t = trunc a):
 * no a + 0.5 that could round up, the sign of zero kept (round(−0.4) = −0), zero gradient.
 */
export const round = (a: Node): Node => {
  if (!isFloat(a.dtype)) return a;
  const t = trunc(a);
  const f = sub(a, t);
  const af = max(f, neg(f));
  const half = c(0.5, a);
  const odd = ne(binaryNode('MOD', t, c(2, a)), c(0, a));
  const away = or(lt(half, af), and(eq(af, half), odd));
  return where(away, where(lt(a, c(0, a)), sub(t, c(1, a)), add(t, c(1, a))), t);
};
/** Python's %: the remainder takes the divisor's sign. */
export const remainder = (a: Node, b: Node): Node => {
  const r = binaryNode('MOD', a, b);
  const zero = c(0, r);
  const fix = and(ne(r, zero), binaryNode('XOR', lt(r, zero), lt(b, c(0, b))));
  return where(fix, add(r, b), r);
};
/** Integer division rounding toward −∞. */
export const floorDivInt = (a: Node, b: Node): Node => {
  const q = binaryNode('IDIV', a, b);
  const r = binaryNode('MOD', a, b);
  const zero = c(0, r);
  const fix = and(ne(r, zero), binaryNode('XOR', lt(r, zero), lt(b, c(0, b))));
  return where(fix, sub(q, c(1, q)), q);
};
/** x^n for an integer n by repeated squaring (exact in integers, like PyTorch's int pow). */
export const powInt = (x: Node, n: number): Node => {
  if (n === 0) return c(1, x);
  let result: Node | undefined;
  let base = x;
  for (let e = n; e > 0; e = Math.floor(e / 2)) {
    if (e % 2 === 1) result = result ? mul(result, base) : base;
    if (e > 1) base = mul(base, base);
  }
  return result!;
};
/**
 * x^y for float tensors: exp2(y·log2|x|) with the sign and special cases of C's pow. The log only
 * sees x ≠ 0 (0^y is chosen separately), so at x = 0 the gradient is 0 rather than 0·∞.
 */
export const powGeneral = (x: Node, y: Node): Node => {
  const zero = c(0, x);
  const one = c(1, x);
  const isZero = eq(x, zero);
  const finite = (v: Node): Node => eq(sub(v, v), c(0, v));
  const ax = where(isZero, one, max(x, neg(x)));
  const mag = unaryNode('EXP2', mul(y, unaryNode('LOG2', ax)));
  const yInt = eq(trunc(y), y);
  const yOdd = and(yInt, ne(binaryNode('MOD', y, c(2, y)), c(0, y)));
  // a negative base to a fractional power: NaN, with a NaN gradient as PyTorch's (the mask is NaN only there)
  const nanMask = where(and(lt(x, zero), not(yInt)), c(NaN, x), one);
  const negBase = where(yInt, where(yOdd, neg(mag), mag), mul(mag, nanMask));
  // 0^y: 0 for y > 0 (x itself for y = 1, so the slope is 1), 1 for y = 0, ∞ below; (−0)^odd keeps the sign
  const zeroPow = where(lt(zero, y), zero, where(eq(y, zero), one, c(Infinity, x)));
  const atZero = where(eq(y, one), x, where(and(yOdd, lt(recip(x), zero)), neg(zeroPow), zeroPow));
  // C's pow: x^±0 = 1 and 1^y = 1 even where exp2(y·log2|x|) would be 0·∞ (x or y infinite or NaN)
  const isOne = or(and(eq(y, zero), not(finite(x))), and(eq(x, one), not(finite(y))));
  return where(isOne, one, where(isZero, atZero, where(lt(x, zero), negBase, mag)));
};
export const sumAxes = (a: Node, axes: readonly number[]): Node => reduceNode(a, 'add', axes);
export const maxAxes = (a: Node, axes: readonly number[]): Node => reduceNode(a, 'max', axes);
export const toDtype = castNode;

/**
 * A value computed by an approximation, with the exact slope: detach(value) + (x − detach(x))·slope.
 * The backward graph then holds the one slope, not the approximation's long chain of ops (and
 * not its less accurate derivative). Second derivatives through it are 0.
 */
export function withSlope(value: Node, x: Node, slope: Node): Node {
  // only a finite x carries the slope (x − x is NaN at ±∞, where the slope is 0 anyway)
  const finite = where(eq(sub(x, x), c(0, x)), x, c(0, x));
  return add(detachNode(value), mul(sub(finite, detachNode(finite)), detachNode(slope)));
}

/**
 * `value`, with the gradient `slope` with respect to `x` everywhere (at NaN and ±∞ too, where
 * withSlope passes none): PyTorch's formula for an op whose value is computed another way.
 */
export function withGradient(value: Node, x: Node, slope: Node): Node {
  return dataNode(value, mul(sub(x, detachNode(x)), detachNode(slope)));
}

/** log(1 + u) without losing small u: log(w)·u/(w − 1), w = 1 + u (Goldberg); u where w rounds to 1, ∞ at ∞. */
export function log1p(u: Node): Node {
  const w = add(c(1, u), u);
  const one = eq(w, c(1, u));
  const wSafe = where(one, c(2, u), w);
  const r = where(one, u, mul(log(wSafe), mul(u, recip(sub(wSafe, c(1, u))))));
  return where(eq(w, c(Infinity, u)), w, r);
}
