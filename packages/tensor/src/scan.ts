/**
 * Running reductions along a dim: cumsum, cumprod, cummax, cummin, logcumsumexp. Each is the
 * IR's SCAN (one thread per fiber walking it in order: O(n) work, the same summation order on
 * every backend), with gradients from its rule (a reverse cumsum, or a scatter-add to the
 * running maximum's positions).
 */
import {
  arangeNode,
  broadcastTo,
  castNode,
  constNode,
  detachNode,
  expandNode,
  gatherNode,
  isFloat,
  padNode,
  parseDType,
  reduceNode,
  reshapeNode,
  scanNode,
  shrinkNode,
  whereNode,
  type DType,
  type Node,
  type Pair,
  type ReduceKind,
} from '@fusor/ir';
import { cummaxIndices } from '@fusor/autograd';
import * as D from './decompose.js';
import { record, type Tensor } from './tensor.js';
import { normDim } from './views.js';
import type { ValuesIndices } from './reduce.js';

const valuesIndices = (values: Tensor, indices: Tensor): ValuesIndices => Object.assign([values, indices] as [Tensor, Tensor], { values, indices });

/** Fibers longer than twice this are scanned in two levels. */
const BLOCK = 1024;

/**
 * A scan along `axis`, in two levels for long fibers so that it runs in parallel: the fiber is
 * cut into blocks of BLOCK, each block scanned by its own thread, the blocks' totals scanned (the
 * same way, recursively), and each block combined with the running total of the blocks before it.
 * Padding goes at the end, where it only reaches discarded positions. The result is made of IR
 * ops with gradient rules, so autograd needs nothing special.
 */
export function blockedScan(n: Node, reduce: ReduceKind, axis: number): Node {
  const len = n.shape[axis]!;
  if (len <= 2 * BLOCK) return scanNode(n, reduce, axis);
  const blocks = Math.ceil(len / BLOCK);
  const pre = n.shape.slice(0, axis);
  const post = n.shape.slice(axis + 1);
  const padded = padNode(n, n.shape.map((_, i): Pair => (i === axis ? [0, blocks * BLOCK - len] : [0, 0])));
  const split = reshapeNode(padded, [...pre, blocks, BLOCK, ...post]);
  const local = scanNode(split, reduce, axis + 1);
  const totals = shrinkNode(local, local.shape.map((d, i): Pair => (i === axis + 1 ? [BLOCK - 1, BLOCK] : [0, d])));
  const running = blockedScan(totals, reduce, axis);
  // block b combines with the running total of blocks < b (block 0 with nothing)
  const before = padNode(shrinkNode(running, running.shape.map((d, i): Pair => (i === axis ? [0, blocks - 1] : [0, d]))), running.shape.map((_, i): Pair => (i === axis ? [1, 0] : [0, 0])));
  const carry = expandNode(before, local.shape);
  const b = expandNode(reshapeNode(arangeNode(0, 1, blocks, 'int32', n.device), local.shape.map((_, i) => (i === axis ? blocks : 1))), local.shape);
  const first = D.eq(b, constNode(0, 'int32', local.shape, n.device));
  const combined = reduce === 'add' ? D.add(local, carry) : reduce === 'mul' ? D.mul(local, carry) : D.max(local, carry);
  const out = reshapeNode(whereNode(first, local, combined), [...pre, blocks * BLOCK, ...post]);
  return shrinkNode(out, out.shape.map((d, i): Pair => (i === axis ? [0, len] : [0, d])));
}

/** The scan of `n` along `dim` of a tensor of `x`'s rank (0-d scans its one element). */
function scanOf(n: Node, reduce: ReduceKind, dim: number): Node {
  if (n.ndim === 0) return reshapeNode(scanNode(reshapeNode(n, [1]), reduce, 0), []);
  return blockedScan(n, reduce, dim);
}

function accumulateDtype(x: Tensor, opts: { dtype?: DType | string } | undefined, fn: string): DType {
  for (const k of Object.keys(opts ?? {})) if (k !== 'dtype') throw new TypeError(`${fn}() got an unexpected keyword argument '${k}'`);
  if (opts?.dtype !== undefined) return parseDType(opts.dtype);
  // integers and bools accumulate in int64, as PyTorch's
  return isFloat(x.dtype) ? x.dtype : 'int64';
}

export function cumsum(x: Tensor, dim: number, opts?: { dtype?: DType | string }): Tensor {
  const d = normDim(dim, Math.max(x.ndim, 1));
  const dt = accumulateDtype(x, opts, 'cumsum');
  return record('CumsumBackward0', scanOf(castNode(x.node, dt), 'add', d), [x], false);
}

export function cumprod(x: Tensor, dim: number, opts?: { dtype?: DType | string }): Tensor {
  const d = normDim(dim, Math.max(x.ndim, 1));
  const dt = accumulateDtype(x, opts, 'cumprod');
  return record('CumprodBackward0', scanOf(castNode(x.node, dt), 'mul', d), [x]);
}

function cumExtreme(x: Tensor, dim: number, fn: 'cummax' | 'cummin'): ValuesIndices {
  const d = normDim(dim, Math.max(x.ndim, 1));
  const n0 = x.ndim === 0 ? reshapeNode(x.node, [1]) : x.node;
  const flip = (n: Node): Node => (fn === 'cummax' ? n : n.dtype === 'bool' ? D.not(n) : D.neg(n));
  const src = detachNode(flip(n0));
  const run = blockedScan(src, 'max', d);
  const pos = cummaxIndices(src, run, d, blockedScan);
  // the values are read at the positions: the gradient goes to that one element, as PyTorch's
  const values = reshapeNode(gatherNode(n0, pos, d), x.shape);
  const indices = reshapeNode(castNode(pos, 'int64'), x.shape);
  return valuesIndices(record(fn === 'cummax' ? 'CummaxBackward0' : 'CumminBackward0', values, [x], false), record('', indices, [], false));
}

export const cummax = (x: Tensor, dim: number): ValuesIndices => cumExtreme(x, dim, 'cummax');
export const cummin = (x: Tensor, dim: number): ValuesIndices => cumExtreme(x, dim, 'cummin');

/**
 * log(cumsum(exp(x))) computed as m + log(cumsum(exp(x − m))) with m the fiber's maximum (held
 * constant for autograd), so large inputs do not overflow. Values more than ~88 (float32) below
 * the fiber's maximum underflow to −inf where PyTorch's running logaddexp keeps them finite.
 */
export function logcumsumexp(x: Tensor, dim: number): Tensor {
  if (!isFloat(x.dtype)) throw new TypeError(`logcumsumexp(): expected a floating point input, got ${x.dtype}`);
  const d = normDim(dim, Math.max(x.ndim, 1));
  const n = x.ndim === 0 ? reshapeNode(x.node, [1]) : x.node;
  const mx = detachNode(reduceNode(n, 'max', [d]));
  // an all −inf (or NaN-free infinite) fiber would give inf − inf: shift by 0 there
  const finite = D.eq(D.sub(mx, mx), constNode(0, mx.dtype, mx.shape, mx.device));
  const m = broadcastTo(D.where(finite, mx, D.c(0, mx)), n.shape);
  const out = D.add(D.log(blockedScan(D.exp(D.sub(n, m)), 'add', d)), m);
  return record('LogcumsumexpBackward0', reshapeNode(out, x.shape), [x]);
}
