/**
 * Frontend ops as compositions of IR primitives, on nodes. Everything here lowers through the
 * same compiler path; none of it is a hand-written kernel.
 */
import {
  binaryNode,
  castNode,
  constNode,
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
export const sigmoid = (a: Node): Node => recip(add(c(1, a), exp(neg(a))));
export const tanh = (a: Node): Node => sub(mul(c(2, a), sigmoid(mul(c(2, a), a))), c(1, a));
export const isnan = (a: Node): Node => (isFloat(a.dtype) ? ne(a, a) : c(0, a, 'bool'));
/** NaN-propagating relu whose gradient at 0 is 0, as PyTorch's. */
export const relu = (a: Node): Node => where(lt(c(0, a), a), a, where(isnan(a), a, c(0, a)));
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
/** Round half to even, like PyTorch (nearbyint). */
export const round = (a: Node): Node => {
  if (!isFloat(a.dtype)) return a;
  const r = floor(add(a, c(0.5, a)));
  const tie = eq(sub(r, a), c(0.5, a));
  const odd = ne(binaryNode('MOD', r, c(2, a)), c(0, a));
  const big = c(a.dtype === 'float64' ? 2 ** 52 : 2 ** 23, a);
  return where(lt(max(a, neg(a)), big), where(and(tie, odd), sub(r, c(1, a)), r), a);
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
/** x^y for float tensors: exp2(y·log2|x|) with the sign and zero cases PyTorch has. */
export const powGeneral = (x: Node, y: Node): Node => {
  const zero = c(0, x);
  const one = c(1, x);
  const ax = max(x, neg(x));
  const mag = unaryNode('EXP2', mul(y, unaryNode('LOG2', ax)));
  const yInt = eq(trunc(y), y);
  const yOdd = and(yInt, ne(binaryNode('MOD', y, c(2, y)), c(0, y)));
  const negBase = where(yInt, where(yOdd, neg(mag), mag), c(NaN, x));
  return where(eq(y, zero), one, where(lt(x, zero), negBase, mag));
};
export const sumAxes = (a: Node, axes: readonly number[]): Node => reduceNode(a, 'add', axes);
export const maxAxes = (a: Node, axes: readonly number[]): Node => reduceNode(a, 'max', axes);
export const toDtype = castNode;
