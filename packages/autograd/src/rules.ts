/**
 * One vector-Jacobian rule per IR primitive. A rule gets the node, its upstream gradient `g`
 * (same shape and dtype as the node) and returns one gradient per source (null where the
 * source gets none). Results are lazy IR: backward passes fuse and compile like forward ones.
 */
import {
  arith,
  binaryNode,
  castNode,
  constNode,
  copyNode,
  expandNode,
  flipNode,
  gatherNode,
  isFloat,
  scanNode,
  scatterNode,
  arangeNode,
  padNode,
  permuteNode,
  reduceNode,
  reshapeNode,
  shrinkNode,
  unaryNode,
  whereNode,
  UNARY,
  type Node,
  type Op,
  type Pair,
  type ReduceKind,
  type ScatterReduce,
  type UnaryOp,
} from '@fusor/ir';

const c = (v: number, like: Node): Node => constNode(v, like.dtype, like.shape, like.device);
const add = (a: Node, b: Node): Node => binaryNode('ADD', a, b);
const mul = (a: Node, b: Node): Node => binaryNode('MUL', a, b);
const neg = (a: Node): Node => unaryNode('NEG', a);
const recip = (a: Node): Node => unaryNode('RECIP', a);
const zerosLike = (a: Node): Node => c(0, a);

export type GradRule = (n: Node, g: Node) => readonly (Node | null)[];

/** Graph arithmetic, in which the unary primitives' gradients are written (@fusor/ir ops.ts UNARY). */
const GRAPH = arith<Node>({ c, unary: unaryNode, binary: binaryNode, where: whereNode, dtype: (a) => a.dtype });
const UNARY_RULES = Object.fromEntries(
  Object.entries(UNARY).map(([op, u]): [string, GradRule] => [op, (n, g) => [u.grad(GRAPH, g, n.src[0]!, n)]]),
) as Record<UnaryOp, GradRule>;

/**
 * d max(a, b): the larger side gets g; ties split it evenly; a side gets nothing only where it is
 * smaller, so a NaN sends g to both (PyTorch's maximum_backward).
 */
function maxGrad(n: Node, g: Node): (Node | null)[] {
  const [a, b] = n.src as [Node, Node];
  const half = mul(g, c(0.5, g));
  const tie = binaryNode('CMPEQ', a, b);
  const aLoses = binaryNode('CMPLT', a, b);
  const bLoses = binaryNode('CMPLT', b, a);
  return [whereNode(tie, half, whereNode(aLoses, zerosLike(g), g)), whereNode(tie, half, whereNode(bLoses, zerosLike(g), g))];
}

const isNan = (a: Node): Node => binaryNode('XOR', binaryNode('CMPEQ', a, a), constNode(1, 'bool', a.shape, a.device));

/** d prod / dx_i: the product of the others, without dividing by a zero x_i (PyTorch's prod_backward). */
function prodGrad(x: Node, axes: readonly number[]): Node {
  const zero = c(0, x);
  const isZero = binaryNode('CMPEQ', x, zero);
  const nonZero = whereNode(isZero, c(1, x), x);
  const prodNonZero = expandNode(reduceNode(nonZero, 'mul', axes), x.shape);
  const zeros = expandNode(reduceNode(castNode(isZero, x.dtype), 'add', axes), x.shape);
  const onlyZero = binaryNode('AND', binaryNode('CMPEQ', zeros, c(1, x)), isZero);
  // no zero: P / x_i; x_i the only zero: the product of the rest; otherwise 0
  return whereNode(binaryNode('CMPEQ', zeros, zero), mul(prodNonZero, recip(nonZero)), whereNode(onlyZero, prodNonZero, zero));
}

/** Gradient of a reduction: broadcast g back; for max, only to the elements equal to the max, split among ties. */
function reduceGrad(n: Node, g: Node): (Node | null)[] {
  const x = n.src[0]!;
  const { reduce } = n.arg as { reduce: ReduceKind; axes: readonly number[] };
  const { axes } = n.arg as { axes: readonly number[] };
  const gx = expandNode(g, x.shape);
  if (reduce === 'add') return [gx];
  if (!isFloat(x.dtype)) return [null]; // integer products and maxima carry no gradient
  if (reduce === 'mul') return [mul(gx, prodGrad(x, axes))];
  // the elements equal to the max, or the NaNs where the max is NaN (PyTorch's evenly_distribute_backward)
  const m = expandNode(n, x.shape);
  const hit = binaryNode('OR', binaryNode('CMPEQ', x, m), binaryNode('AND', isNan(x), isNan(m)));
  const isMax = castNode(hit, x.dtype);
  const count = expandNode(reduceNode(isMax, 'add', axes), x.shape);
  return [mul(gx, mul(isMax, recip(count)))];
}

function invertPermutation(order: readonly number[]): number[] {
  const inv = new Array<number>(order.length);
  order.forEach((o, i) => (inv[o] = i));
  return inv;
}

const NONE: GradRule = (n) => n.src.map(() => null);

/** `x` zero-padded at the end of each dim up to `shape`. */
const padTo = (x: Node, shape: readonly number[]): Node => padNode(x, x.shape.map((d, i): Pair => [0, shape[i]! - d]));

/** d gather: the gradient scatter-added back to the rows it was read from (in index order: deterministic). */
const gatherGrad: GradRule = (n, g) => {
  const [x, index] = n.src as [Node, Node];
  if (!isFloat(n.dtype)) return [null, null];
  return [scatterNode(zerosLike(x), index, g, n.arg as number, 'add'), null];
};

/** d scatter: written positions pass g to src (read back with a gather); overwritten ones give base none. */
const scatterGrad: GradRule = (n, g) => {
  const [, index, src] = n.src as [Node, Node, Node];
  if (!isFloat(n.dtype)) return [null, null, null];
  const { axis, reduce } = n.arg as { axis: number; reduce: ScatterReduce };
  const back = (v: Node): Node => padTo(gatherNode(v, index, axis), src.shape);
  if (reduce === 'add') return [g, null, back(g)];
  if (reduce === 'none') return [scatterNode(g, index, constNode(0, src.dtype, index.shape, src.device), axis, 'none'), null, back(g)];
  // out = base·Π src: d/d base = g·Π src, d/d src_i = g·out / src_i
  return [scatterNode(g, index, src, axis, 'mul'), null, mul(back(mul(g, n)), recip(src))];
};

/** Positions of the running max along `axis` (the latest one on ties, a NaN once one is seen), as PyTorch's cummax. */
export function cummaxIndices(x: Node, out: Node, axis: number, scan: (n: Node, r: ReduceKind, axis: number) => Node = scanNode): Node {
  const k = x.shape[axis]!;
  const ar = expandNode(reshapeNode(arangeNode(0, 1, k, 'int32', x.device), x.shape.map((_, i) => (i === axis ? k : 1))), x.shape);
  const hit = binaryNode('OR', binaryNode('CMPEQ', x, out), isFloat(x.dtype) ? isNan(x) : constNode(0, 'bool', x.shape, x.device));
  return scan(whereNode(hit, ar, constNode(-1, 'int32', x.shape, x.device)), 'max', axis);
}

/** d scan: a reverse cumsum for sums; products divide it out (x ≠ 0); maxima route g to each running max's position. */
const scanGrad: GradRule = (n, g) => {
  const x = n.src[0]!;
  if (!isFloat(n.dtype)) return [null];
  const { axis, reduce } = n.arg as { axis: number; reduce: ReduceKind };
  const revsum = (v: Node): Node => flipNode(scanNode(flipNode(v, [axis]), 'add', axis), [axis]);
  if (reduce === 'add') return [revsum(g)];
  if (reduce === 'mul') return [mul(revsum(mul(g, n)), recip(x))];
  return [scatterNode(zerosLike(x), cummaxIndices(x, n, axis), g, axis, 'add')];
};

export const GRAD_RULES: Readonly<Record<Op, GradRule>> = {
  BUFFER: NONE,
  CONST: NONE,
  RAND: NONE,
  ARANGE: NONE,
  ...UNARY_RULES,
  ADD: (_, g) => [g, g],
  MUL: (n, g) => [mul(g, n.src[1]!), mul(g, n.src[0]!)],
  IDIV: NONE,
  MOD: (n, g) => (isFloat(n.dtype) ? [g, neg(mul(g, unaryNode('TRUNC', mul(n.src[0]!, recip(n.src[1]!)))))] : [null, null]),
  MAX: maxGrad,
  CMPLT: NONE,
  CMPEQ: NONE,
  AND: NONE,
  OR: NONE,
  XOR: NONE,
  SHL: NONE,
  SHR: NONE,
  WHERE: (n, g) => [null, whereNode(n.src[0]!, g, zerosLike(g)), whereNode(n.src[0]!, zerosLike(g), g)],
  CAST: (n, g) => [isFloat(n.src[0]!.dtype) ? castNode(g, n.src[0]!.dtype) : null],
  BITCAST: NONE,
  REDUCE: reduceGrad,
  RESHAPE: (n, g) => [reshapeNode(g, n.src[0]!.shape)],
  PERMUTE: (n, g) => [permuteNode(g, invertPermutation(n.arg as readonly number[]))],
  EXPAND: (n, g) => {
    const x = n.src[0]!;
    const axes = x.shape.flatMap((d, i) => (d === 1 && n.shape[i] !== 1 ? [i] : []));
    return [reduceNode(g, 'add', axes)];
  },
  PAD: (n, g) => [shrinkNode(g, (n.arg as readonly Pair[]).map(([b], i): Pair => [b, b + n.src[0]!.shape[i]!]))],
  SHRINK: (n, g) => [padNode(g, (n.arg as readonly Pair[]).map(([s, e], i): Pair => [s, n.src[0]!.shape[i]! - e]))],
  FLIP: (n, g) => [flipNode(g, n.arg as readonly number[])],
  CONTIGUOUS: (_, g) => [g],
  COPY: (n, g) => [copyNode(g, n.src[0]!.device)],
  ASSIGN: (_, g) => [null, g],
  DETACH: NONE,
  DATA: (_, g) => [null, g],
  GATHER: gatherGrad,
  SCATTER: scatterGrad,
  SCAN: scanGrad,
  // positions: no gradient (the values are a GATHER at them, which carries it)
  SORT: NONE,
};
