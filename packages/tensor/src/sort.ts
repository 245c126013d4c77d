/**
 * sort, argsort, topk, kthvalue. One IR op, SORT, gives the positions that order each row (the
 * last axis; another dim is moved last and back): the first k of them for topk and kthvalue, so a
 * backend's routine selects instead of sorting all (cpu: a radix sort and a radix select), and a
 * backend without one gets a bitonic network (the compiler's sort-network.ts). The order is stable
 * (equal values keep their original order, as PyTorch's stable sort) and NaN sorts as the largest
 * value, as PyTorch's. The values are then read from the input at the sorted positions (a GATHER),
 * so the gradient is the GATHER's: a scatter back to where each value came from.
 */
import { castNode, gatherNode, permuteNode, reshapeNode, sortNode, type Node } from '@fusor/ir';
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
