/**
 * sort, argsort, topk, kthvalue. One IR op, SORT, gives the positions that order each row (the
 * last axis; another dim is moved last and back): the first k of them for topk and kthvalue, so a
 * backend's routine selects instead of sorting all (cpu: a radix sort and a radix select), and a
 * backend without one gets a bitonic network (the compiler's sort-network.ts). The order is stable
 * (equal values keep their original order, as PyTorch's stable sort) and NaN sorts as the largest
 * value, as PyTorch's. The values are then read from the input at the sorted positions (a GATHER),
 * so the gradient is the GATHER's: a scatter back to where each value came from.
 */
import {
  arangeNode,
  binaryNode,
  broadcastTo,
  castNode,
  constNode,
  detachNode,
  gatherNode,
  isFloat,
  permuteNode,
  reduceNode,
  reshapeNode,
  shrinkNode,
  sortNode,
  unaryNode,
  whereNode,
  type Node,
  type Pair,
} from '@fusor/ir';
import { IndexError } from './index-checks.js';
import { parseArgs, type Param } from './args.js';
import { record, type Tensor } from './tensor.js';
import { normDim } from './views.js';
import type { ValuesIndices } from './reduce.js';

const valuesIndices = (values: Tensor, indices: Tensor): ValuesIndices => Object.assign([values, indices] as [Tensor, Tensor], { values, indices });

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
  const pos = alongLast(x, d, (n) => sortNode(n, desc, n.shape[n.ndim - 1]!));
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
  // the first k positions of the order: a selection where the backend's routine selects
  const pos = alongLast(x, d, (n) => sortNode(n, big, k));
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
  // the k smallest (a selection), of which the last
  const [values, indices] = topk(x, k, d, false);
  const pick = (t: Tensor): Tensor => {
    if (x.ndim === 0) return t;
    const s = t.narrow(d, k - 1, 1);
    return keepdim ? s : s.squeeze(d);
  };
  return valuesIndices(renamed(pick(values), 'KthvalueBackward0', x), pick(indices));
}

/** The same values recorded as one op of x (so grad_fn names the user's op, not narrow's). */
const renamed = (t: Tensor, name: string, x: Tensor): Tensor => record(name, t.node, [x], false);

/** torch.msort: sort along dim 0, the values only. */
export function msort(x: Tensor): Tensor {
  return sort(x, 0).values;
}

/**
 * Positions (int32, last dim kept as 1) of each row's lower median, as torch.median picks it: the
 * element at (n−1)/2 of the ascending order, found by selecting the first (n−1)/2 + 1; a row
 * holding NaN gives its first NaN instead.
 */
function medianPositions(x: Node): Node {
  const last = x.ndim - 1;
  const n = x.shape[last]!;
  const h = (n - 1) >> 1;
  const sel = sortNode(x, false, h + 1);
  const pos = shrinkNode(sel, sel.shape.map((d, i): Pair => (i === last ? [h, h + 1] : [0, d])));
  if (!isFloat(x.dtype)) return pos;
  // the first NaN: the largest n − i over the NaN positions i (0 where there is none)
  const ar = broadcastTo(reshapeNode(arangeNode(0, 1, n, 'int32', x.device), [...x.shape.slice(0, -1).map(() => 1), n]), x.shape);
  const nan = binaryNode('XOR', binaryNode('CMPEQ', x, x), constNode(1, 'bool', x.shape, x.device));
  const score = whereNode(nan, binaryNode('ADD', constNode(n, 'int32', x.shape, x.device), binaryNode('MUL', ar, constNode(-1, 'int32', x.shape, x.device))), constNode(0, 'int32', x.shape, x.device));
  const best = reduceNode(score, 'max', [last]);
  const firstNan = binaryNode('ADD', constNode(n, 'int32', best.shape, x.device), binaryNode('MUL', best, constNode(-1, 'int32', best.shape, x.device)));
  return whereNode(binaryNode('CMPLT', constNode(0, 'int32', best.shape, x.device), best), firstNan, pos);
}

/**
 * Positions (int32, last dim kept as 1) of each row's lower median of its non-NaN values, as
 * torch.nanmedian picks it: the element at (c−1)/2 of the ascending order, c the row's non-NaN
 * count (NaN sorts last); a row of NaN gives its first position of the order.
 */
function nanmedianPositions(x: Node): Node {
  if (!isFloat(x.dtype)) return medianPositions(x);
  const last = x.ndim - 1;
  const order = sortNode(x, false, x.shape[last]!);
  const c = reduceNode(castNode(binaryNode('CMPEQ', x, x), 'int32'), 'add', [last]);
  const i32 = (v: number): Node => constNode(v, 'int32', c.shape, x.device);
  const at = whereNode(binaryNode('CMPLT', i32(0), c), binaryNode('IDIV', binaryNode('ADD', c, i32(-1)), i32(2)), i32(0));
  return gatherNode(order, at, last);
}

/**
 * `v` (a median of all of `x`) with PyTorch's gradient for it: shared evenly by every element equal
 * to it (every NaN when it is NaN), not sent to the one position it was read from. The value stays
 * `v` exactly: the shared part is added as (t − detach(t)). An infinite median's gradient is 0
 * (PyTorch shares it among the infinities).
 */
function evenly(x: Node, v: Node): Node {
  if (!isFloat(x.dtype)) return v;
  const like = (c: number, n: Node): Node => constNode(c, n.dtype, n.shape, n.device);
  const nanX = binaryNode('XOR', binaryNode('CMPEQ', x, x), like(1, binaryNode('CMPEQ', x, x)));
  const vx = broadcastTo(reshapeNode(v, [1]), x.shape);
  const nanV = binaryNode('XOR', binaryNode('CMPEQ', vx, vx), like(1, binaryNode('CMPEQ', vx, vx)));
  const mask = whereNode(nanV, nanX, binaryNode('CMPEQ', x, vx));
  // the infinities stay out of the sum (inf − inf would make the value NaN); NaNs go in (the value is NaN then)
  const finite = binaryNode('OR', binaryNode('CMPLT', binaryNode('MAX', x, unaryNode('NEG', x)), like(Number.POSITIVE_INFINITY, x)), nanX);
  const count = reduceNode(castNode(mask, x.dtype), 'add', [0]);
  const sum = reduceNode(whereNode(binaryNode('AND', mask, finite), x, like(0, x)), 'add', [0]);
  const t = reshapeNode(binaryNode('MUL', sum, unaryNode('RECIP', count)), []);
  return binaryNode('ADD', detachNode(v), binaryNode('ADD', t, unaryNode('NEG', detachNode(t))));
}

/** median and nanmedian: the value at each row's chosen position, and the position, or over every element. */
function medianBy(x: Tensor, positions: (x: Node) => Node, name: string, dim: number | undefined, keepdim: boolean): Tensor | ValuesIndices {
  if (dim === undefined) {
    const flat = x.reshape(-1);
    if (flat.numel() === 0) {
      // NaN, recorded on x (its gradient: nothing to receive it)
      const none = reshapeNode(reduceNode(flat.node, 'add', [0]), []);
      return record(`${name}Backward0`, binaryNode('ADD', none, constNode(Number.NaN, x.dtype, [], x.device)), [x], false);
    }
    const pos = positions(flat.node);
    return record(`${name}Backward0`, evenly(flat.node, reshapeNode(gatherNode(flat.node, pos, 0), [])), [x], false);
  }
  const d = normDim(dim, Math.max(x.ndim, 1));
  // nanmedian's message names median too, as PyTorch's does
  if (x.ndim > 0 && x.shape[d] === 0) throw new IndexError(`median(): Expected reduction dim ${d} to have non-zero size.`);
  const pos = alongLast(x, d, positions);
  const xn = x.ndim === 0 ? reshapeNode(x.node, [1]) : x.node;
  const kept = gatherNode(xn, x.ndim === 0 ? reshapeNode(pos, [1]) : pos, d);
  const outShape = x.ndim === 0 ? [] : keepdim ? x.shape.map((s, i) => (i === d ? 1 : s)) : x.shape.filter((_, i) => i !== d);
  const values = record(`${name}Backward1`, reshapeNode(kept, outShape), [x], false);
  return valuesIndices(values, record('', castNode(reshapeNode(pos, outShape), 'int64'), [], false));
}

/**
 * torch.median: with no dim, the lower median of every element (NaN if any is NaN; NaN for no
 * elements); with a dim, each row's lower median and its position (a row holding NaN: NaN and the
 * first NaN's position).
 */
export function median(x: Tensor): Tensor;
export function median(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function median(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  return medianBy(x, medianPositions, 'Median', dim, keepdim);
}

/** torch.nanmedian: median of the values that are not NaN (NaN where there are none). */
export function nanmedian(x: Tensor): Tensor;
export function nanmedian(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function nanmedian(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  return medianBy(x, nanmedianPositions, 'Nanmedian', dim, keepdim);
}
