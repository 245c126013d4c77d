/**
 * SORT written out as a bitonic sorting network of primitive ops, for a backend without a sort
 * routine (webgpu, cuda): each of its log₂P·(log₂P+1)/2 passes (P: the row length rounded up to
 * a power of two) is one elementwise kernel that reads each element and its partner (a GATHER at
 * position i xor j) and keeps one of them. Work is O(N log² N), fully parallel, with no kernel of
 * its own per backend. The network sorts (value, original position) pairs, so equal values keep
 * their original order (a stable sort) and NaN sorts as the largest value, as SORT says.
 */
import {
  arangeNode,
  binaryNode,
  bitcastNode,
  broadcastTo,
  castNode,
  constNode,
  gatherNode,
  isFloat,
  padNode,
  reshapeNode,
  shrinkNode,
  whereNode,
  type Node,
  type Pair,
  type Rule,
  type SortArg,
} from '@fusor/ir';
import type { SortShape } from './backend.js';
import type { BackendLookup } from './schedule.js';

const i32 = (v: number, like: Node): Node => constNode(v, 'int32', like.shape, like.device);
const lt = (a: Node, b: Node): Node => binaryNode('CMPLT', a, b);
const eq = (a: Node, b: Node): Node => binaryNode('CMPEQ', a, b);
const and = (a: Node, b: Node): Node => binaryNode('AND', a, b);
const or = (a: Node, b: Node): Node => binaryNode('OR', a, b);
const ne = (a: Node, b: Node): Node => binaryNode('XOR', eq(a, b), constNode(1, 'bool', a.shape, a.device));

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
    const bits = bitcastNode(whereNode(eq(f, zero), zero, f), 'int32');
    // negative floats: flip every bit but the sign, so that integer order is numeric order
    const mono = binaryNode('XOR', bits, whereNode(lt(bits, i32(0, bits)), i32(0x7fffffff, bits), i32(0, bits)));
    k = whereNode(ne(f, f), i32(0x7fffffff, bits), mono);
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
    const nan = float ? ne(val, val) : constNode(0, 'bool', val.shape, val.device);
    const pad = lt(i32(n - 1, pos), pos);
    return whereNode(pad, i32(2, pos), whereNode(nan, i32(descending ? 0 : 1, pos), i32(descending ? 1 : 0, pos)));
  };
  return (a, ia, b, ib) => {
    const ca = classOf(a, ia);
    const cb = classOf(b, ib);
    const valueClass = i32(descending ? 1 : 0, ia);
    const strictly = descending ? lt(b, a) : lt(a, b);
    const byValue = or(strictly, and(eq(a, b), lt(ia, ib)));
    const sameClass = whereNode(eq(ca, valueClass), byValue, lt(ia, ib));
    return or(lt(ca, cb), and(eq(ca, cb), sameClass));
  };
}

/**
 * Positions (int32, along the last dim) that order `x`'s last dim, the first `top` of them: blocks
 * of a power of two ≥ top are sorted, then pairs of blocks are halved (each position keeps the
 * earlier of itself and its mirror in the neighbouring block, which keeps the best `top` of the
 * pair as a bitonic run) and re-sorted, until one block remains.
 */
export function sortNetwork(x: Node, descending: boolean, top: number): Node {
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
  const key = sortKey(x, descending);
  if (key) {
    // one int32 key per element: order by (key, position); padding gets the largest key and the largest positions
    v = whereNode(lt(i32(n - 1, ix), ix), i32(2147483647, ix), padded(key));
    before = (a, ia, b, ib) => or(lt(a, b), and(eq(a, b), lt(ia, ib)));
  } else {
    v = padded(x);
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
    const lower = lt(ar, partner);
    const ascending = eq(binaryNode('AND', ar, i32(k, ar)), i32(0, ar));
    const keep = eq(selfFirst, eq(lower, ascending));
    v = whereNode(keep, v, vp);
    ix = whereNode(keep, ix, ixp);
  };
  let block = 1;
  while (block < top) block *= 2;
  const full = top === n || 4 * block > p;
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
  return shrinkNode(ix, ix.shape.map((d, i): Pair => (i === last ? [0, top] : [0, d])));
}

/** The routine's view of a SORT node: rows of the last axis. */
export function sortShape(n: Node): SortShape {
  const x = n.src[0]!;
  const len = x.shape[x.ndim - 1]!;
  const { descending, k } = n.arg as SortArg;
  return { dtype: x.dtype, rows: len === 0 ? 0 : x.size / len, n: len, k, descending };
}

/**
 * The rule that writes a SORT out as a sorting network where its device's backend has no sort
 * routine that takes it (the rest are left for the routine).
 */
export function sortWithoutRoutine(backendFor: BackendLookup): Rule {
  return {
    name: 'sort without a routine',
    pattern: { op: 'SORT', name: 's', where: (n) => !backendFor(n.device)?.routines?.sort?.supports(sortShape(n)) },
    build: (b) => sortNetwork(b.s!.src[0]!, (b.s!.arg as SortArg).descending, (b.s!.arg as SortArg).k),
  };
}
