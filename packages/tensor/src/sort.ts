/**
 * sort, argsort, topk, kthvalue. The order comes from a bitonic sorting network decomposed into
 * IR: each of its log₂P·(log₂P+1)/2 passes (P: the fiber length rounded up to a power of two) is
 * one elementwise kernel that reads each element and its partner (a GATHER at position i xor j)
 * and keeps one of them. Work is O(N log² N), fully parallel on every backend, with no kernel of
 * its own per backend. The network sorts (value, original position) pairs, so equal values keep
 * their original order (PyTorch's stable sort) and NaN sorts as the largest value, as PyTorch's.
 * The values are then read from the input at the sorted positions (a GATHER), so the gradient is
 * the GATHER's: a scatter back to where each value came from.
 */
import {
  arangeNode,
  binaryNode,
  bitcastNode,
  broadcastTo,
  castNode,
  constNode,
  detachNode,
  gatherNode,
  isFloat,
  padNode,
  permuteNode,
  reshapeNode,
  shrinkNode,
  whereNode,
  type Node,
  type Pair,
} from '@fusor/ir';
import * as D from './decompose.js';
import { parseArgs, type Param } from './args.js';
import { record, type Tensor } from './tensor.js';
import { normDim } from './views.js';
import type { ValuesIndices } from './reduce.js';

const valuesIndices = (values: Tensor, indices: Tensor): ValuesIndices => Object.assign([values, indices] as [Tensor, Tensor], { values, indices });

const i32 = (v: number, like: Node): Node => constNode(v, 'int32', like.shape, like.device);

/**
 * An int32 key whose integer order is the sort order, for dtypes that fit: floats by their bits
 * (negatives flipped so that integer order is numeric order, -0 as 0, every NaN the largest),
 * narrow integers as they are; descending flips every bit. Undefined for int64 and float64.
 */
function sortKey(x: Node, descending: boolean): Node | undefined {
  let k: Node;
  if (x.dtype === 'float32' || x.dtype === 'float16' || x.dtype === 'bfloat16') {
    const f = castNode(x, 'float32');
    const zero = constNode(0, 'float32', f.shape, f.device);
    const bits = bitcastNode(whereNode(D.eq(f, zero), zero, f), 'int32');
    // negative floats: flip every bit but the sign, so that integer order is numeric order
    const mono = binaryNode('XOR', bits, whereNode(D.lt(bits, i32(0, bits)), i32(0x7fffffff, bits), i32(0, bits)));
    k = whereNode(D.ne(f, f), i32(0x7fffffff, bits), mono);
  } else if (x.dtype === 'int64' || x.dtype === 'float64') {
    return undefined;
  } else {
    k = castNode(x, 'int32');
  }
  return descending ? binaryNode('XOR', k, i32(-1, k)) : k;
}

/** The order of (value, position) pairs for any dtype: NaN largest, padding (positions >= n) last. */
function generalBefore(n: number, descending: boolean, float: boolean): (a: Node, ia: Node, b: Node, ib: Node) => Node {
  /** 0: a value, 1: NaN, 2: padding (ascending); descending puts NaN first: NaN 0, value 1, padding 2. */
  const classOf = (val: Node, pos: Node): Node => {
    const nan = float ? D.ne(val, val) : constNode(0, 'bool', val.shape, val.device);
    const pad = D.lt(i32(n - 1, pos), pos);
    return whereNode(pad, i32(2, pos), whereNode(nan, i32(descending ? 0 : 1, pos), i32(descending ? 1 : 0, pos)));
  };
  return (a, ia, b, ib) => {
    const ca = classOf(a, ia);
    const cb = classOf(b, ib);
    const valueClass = i32(descending ? 1 : 0, ia);
    const strictly = descending ? D.lt(b, a) : D.lt(a, b);
    const byValue = D.or(strictly, D.and(D.eq(a, b), D.lt(ia, ib)));
    const sameClass = whereNode(D.eq(ca, valueClass), byValue, D.lt(ia, ib));
    return D.or(D.lt(ca, cb), D.and(D.eq(ca, cb), sameClass));
  };
}

/**
 * Positions (int32, along the last dim) that order `x`'s last dim: ascending or descending, equal
 * values in their original position order, NaN as the largest value. With `top`, only the first
 * `top` of that order: blocks of a power of two ≥ top are sorted, then pairs of blocks are halved
 * (each position keeps the earlier of itself and its mirror in the neighbouring block, which keeps
 * the best `top` of the pair as a bitonic run) and re-sorted, until one block remains.
 */
function sortedPositions(x: Node, descending: boolean, top?: number): Node {
  const n = x.shape[x.ndim - 1]!;
  const lead = x.shape.slice(0, -1);
  let p = 1;
  while (p < n) p *= 2;
  const last = x.ndim - 1;
  const dev = x.device;
  const arange = (len: number): Node => broadcastTo(reshapeNode(arangeNode(0, 1, len, 'int32', dev), [...lead.map(() => 1), len]), [...lead, len]);
  const padded = (n0: Node): Node => padNode(n0, n0.shape.map((_, i): Pair => (i === last ? [0, p - n] : [0, 0])));
  let ix = arange(p);
  let v: Node;
  let before: (a: Node, ia: Node, b: Node, ib: Node) => Node;
  const key = sortKey(detachNode(x), descending);
  if (key) {
    // one int32 key per element: order by (key, position); padding gets the largest key and the largest positions
    v = whereNode(D.lt(i32(n - 1, ix), ix), i32(2147483647, ix), padded(key));
    before = (a, ia, b, ib) => D.or(D.lt(a, b), D.and(D.eq(a, b), D.lt(ia, ib)));
  } else {
    v = padded(detachNode(x));
    before = generalBefore(n, descending, isFloat(x.dtype));
  }
  /** One compare-exchange pass at distance j; blocks of `k` alternate direction. */
  const pass = (len: number, k: number, j: number): void => {
    const ar = arange(len);
    const partner = binaryNode('XOR', ar, i32(j, ar));
    const vp = gatherNode(v, partner, last);
    const ixp = gatherNode(ix, partner, last);
    const selfFirst = before(v, ix, vp, ixp);
    // the lower position of a pair keeps the first element in an ascending block, the other the second
    const lower = D.lt(ar, partner);
    const ascending = D.eq(binaryNode('AND', ar, i32(k, ar)), i32(0, ar));
    const keep = D.eq(selfFirst, D.eq(lower, ascending));
    v = whereNode(keep, v, vp);
    ix = whereNode(keep, ix, ixp);
  };
  let block = 1;
  while (top !== undefined && block < top) block *= 2;
  const full = top === undefined || 4 * block > p;
  const sortUpTo = full ? p : block;
  for (let k = 2; k <= sortUpTo; k *= 2) for (let j = k / 2; j >= 1; j /= 2) pass(p, k, j);
  let len = p;
  if (!full) {
    while (len > block) {
      // pair (2b, 2b+1) of blocks: an ascending and a descending run; keep the earlier of i and i + block
      len /= 2;
      const ar = arange(len);
      const at = binaryNode('ADD', binaryNode('MUL', binaryNode('IDIV', ar, i32(block, ar)), i32(2 * block, ar)), binaryNode('MOD', ar, i32(block, ar)));
      const other = binaryNode('ADD', at, i32(block, at));
      const [va, ia, vb, ib] = [gatherNode(v, at, last), gatherNode(ix, at, last), gatherNode(v, other, last), gatherNode(ix, other, last)];
      const first = before(va, ia, vb, ib);
      v = whereNode(first, va, vb);
      ix = whereNode(first, ia, ib);
      for (let j = block / 2; j >= 1; j /= 2) pass(len, block, j);
    }
  }
  const keepN = top ?? n;
  return shrinkNode(ix, ix.shape.map((d, i): Pair => (i === last ? [0, keepN] : [0, d])));
}

/** `f` applied with `dim` moved last, the result moved back. */
function alongLast(x: Tensor, dim: number, f: (n: Node) => Node): Node {
  const n0 = x.ndim === 0 ? reshapeNode(x.node, [1]) : x.node;
  const d = normDim(dim, Math.max(x.ndim, 1));
  const order = n0.shape.map((_, i) => i).filter((i) => i !== d);
  order.push(d);
  const inv = order.map((_, i) => order.indexOf(i));
  const moved = permuteNode(n0, order);
  const out = permuteNode(f(moved), inv);
  return x.ndim === 0 ? reshapeNode(out, []) : out;
}

export interface SortOptions {
  dim?: number;
  descending?: boolean;
  stable?: boolean;
}

/** The parameters of sort/argsort and topk, as PyTorch's signatures name them (dim, then flags). */
const SORT_PARAMS: readonly Param[] = [
  { name: 'dim', kind: 'int' },
  { name: 'descending', kind: 'bool' },
];
const TOPK_PARAMS: readonly Param[] = [
  { name: 'dim', kind: 'int' },
  { name: 'largest', kind: 'bool' },
  { name: 'sorted', kind: 'bool' },
];

/** torch.sort(x, dim=-1, descending=False, *, stable): always stable here (a stable sort is a valid unstable one). */
export function sort(x: Tensor, dim?: number | SortOptions, descending?: boolean | SortOptions, opts?: SortOptions): ValuesIndices {
  const a = parseArgs('sort', [dim, descending, opts], SORT_PARAMS, [{ name: 'stable', kind: 'bool' }]);
  const d = (a.dim as number | undefined) ?? -1;
  const desc = (a.descending as boolean | undefined) ?? false;
  const pos = alongLast(x, d, (n) => sortedPositions(n, desc));
  const dd = normDim(d, Math.max(x.ndim, 1));
  const xn = x.ndim === 0 ? reshapeNode(x.node, [1]) : x.node;
  const values = reshapeNode(gatherNode(xn, x.ndim === 0 ? reshapeNode(pos, [1]) : pos, dd), x.shape);
  return valuesIndices(record('SortBackward0', values, [x], false), record('', castNode(pos, 'int64'), [], false));
}

export function argsort(x: Tensor, dim?: number | SortOptions, descending?: boolean | SortOptions, opts?: SortOptions): Tensor {
  return sort(x, dim, descending, opts).indices;
}

export interface TopkOptions {
  dim?: number;
  largest?: boolean;
  sorted?: boolean;
}

/** torch.topk: the k largest (or smallest) along dim, in sorted order. */
export function topk(x: Tensor, k: number, dim?: number | TopkOptions, largest?: boolean | TopkOptions, sorted?: boolean | TopkOptions, opts?: TopkOptions): ValuesIndices {
  const a = parseArgs('topk', [dim, largest, sorted, opts], TOPK_PARAMS);
  const d = normDim((a.dim as number | undefined) ?? -1, Math.max(x.ndim, 1));
  const big = (a.largest as boolean | undefined) ?? true;
  const size = x.ndim === 0 ? 1 : x.shape[d]!;
  if (!Number.isInteger(k) || k < 0 || k > size) throw new RangeError('selected index k out of range');
  // the first k positions of the order, from a network that halves the candidates instead of sorting all
  const pos = alongLast(x, d, (n) => sortedPositions(n, big, Math.min(k, n.shape[n.ndim - 1]!)));
  const xn = x.ndim === 0 ? reshapeNode(x.node, [1]) : x.node;
  const outShape = x.ndim === 0 ? [] : x.shape.map((s, i) => (i === d ? k : s));
  const values = reshapeNode(gatherNode(xn, x.ndim === 0 ? reshapeNode(pos, [1]) : pos, d), outShape);
  return valuesIndices(record('TopkBackward0', values, [x], false), record('', castNode(pos, 'int64'), [], false));
}

/** torch.kthvalue: the k-th smallest (1-based) along dim, and its position. */
export function kthvalue(x: Tensor, k: number, dim = -1, keepdim = false): ValuesIndices {
  const d = normDim(dim, Math.max(x.ndim, 1));
  const size = x.ndim === 0 ? 1 : x.shape[d]!;
  if (!Number.isInteger(k) || k < 1 || k > size) throw new RangeError(`kthvalue(): selected number k out of range for dimension ${d}`);
  const [values, indices] = sort(x, d, false);
  const pick = (t: Tensor): Tensor => {
    if (x.ndim === 0) return t;
    const s = t.narrow(d, k - 1, 1);
    return keepdim ? s : s.squeeze(d);
  };
  return valuesIndices(renamed(pick(values), 'KthvalueBackward0', x), pick(indices));
}

/** The same values recorded as one op of x (so grad_fn names the user's op, not narrow's). */
const renamed = (t: Tensor, name: string, x: Tensor): Tensor => record(name, t.node, [x], false);
