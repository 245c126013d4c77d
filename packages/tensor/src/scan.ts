/**
 * Running reductions along a dim: cumsum, cumprod, cummax, cummin, logcumsumexp. Each is the
 * IR's SCAN (one thread per fiber walking it in order: O(n) work, the same summation order on
 * every backend), with gradients from its rule (a reverse cumsum, or a scatter-add to the
 * running maximum's positions).
 */
import { castNode, constNode, detachNode, isFloat, parseDType, reduceNode, reshapeNode, scanNode, broadcastTo, type DType, type Node, type ReduceKind } from '@fusor/ir';
import { cummaxIndices } from '@fusor/autograd';
import * as D from './decompose.js';
import { record, type Tensor } from './tensor.js';
import { normDim } from './views.js';
import type { ValuesIndices } from './reduce.js';

const valuesIndices = (values: Tensor, indices: Tensor): ValuesIndices => Object.assign([values, indices] as [Tensor, Tensor], { values, indices });

/** The scan of `n` along `dim` of a tensor of `x`'s rank (0-d scans its one element). */
function scanOf(n: Node, reduce: ReduceKind, dim: number): Node {
  if (n.ndim === 0) return reshapeNode(scanNode(reshapeNode(n, [1]), reduce, 0), []);
  return scanNode(n, reduce, dim);
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
  return record('CumsumBackward0', scanOf(castNode(x.node, dt), 'add', d), [x]);
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
  const src = flip(n0);
  const run = scanNode(src, 'max', d);
  const values = reshapeNode(flip(run), x.shape);
  const indices = reshapeNode(castNode(cummaxIndices(src, run, d), 'int64'), x.shape);
  return valuesIndices(record(fn === 'cummax' ? 'CummaxBackward0' : 'CumminBackward0', values, [x]), record('', indices, [], false));
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
  const out = D.add(D.log(scanNode(D.exp(D.sub(n, m)), 'add', d)), m);
  return record('LogcumsumexpBackward0', reshapeNode(out, x.shape), [x]);
}
