/** Reductions with PyTorch's `dim` / `keepdim` conventions, built on the REDUCE primitive. */
import {
  arangeNode,
  castNode,
  detachNode,
  expandNode,
  isFloat,
  prod as product,
  reduceNode,
  reshapeNode,
  parseDType,
  type DType,
  type Node,
} from '@fusor/ir';
import * as D from './decompose.js';
import { DTYPE_TITLE } from './elementwise.js';
import { record, type Tensor } from './tensor.js';
import { normDim } from './views.js';

/** `(values, indices)`, indexable like PyTorch's named tuple. */
export type ValuesIndices = [Tensor, Tensor] & { readonly values: Tensor; readonly indices: Tensor };

export interface VarOptions {
  readonly correction?: number;
  readonly unbiased?: boolean;
}

/** The dims a reduction runs over: all of them when `dim` is null/undefined. */
export function reduceDims(x: Tensor, dim: number | readonly number[] | null | undefined): number[] {
  if (dim === null || dim === undefined) return x.shape.map((_, i) => i);
  const list = typeof dim === 'number' ? [dim] : [...dim];
  const dims = list.map((d) => normDim(d, x.ndim));
  const seen = new Set<number>();
  for (const d of dims) {
    if (seen.has(d)) throw new RangeError(`dim ${d} appears multiple times in the list of dims`);
    seen.add(d);
  }
  return dims.filter((d) => d < x.ndim);
}

/** Drops the reduced (size-1) dims unless keepdim. */
function finish(n: Node, dims: readonly number[], keepdim: boolean): Node {
  if (keepdim) return n;
  return reshapeNode(n, n.shape.filter((_, i) => !dims.includes(i)));
}

const accumulateDtype = (d: DType): DType => (isFloat(d) ? d : 'int64');

export function sum(x: Tensor, dim: number | readonly number[] | null | undefined, keepdim: boolean, opts: { dtype?: DType | string } = {}): Tensor {
  const dims = reduceDims(x, dim);
  const dt = opts.dtype !== undefined ? parseDType(opts.dtype) : accumulateDtype(x.dtype);
  const n = finish(D.sumAxes(castNode(x.node, dt), dims), dims, keepdim);
  return record(dim === null || dim === undefined ? 'SumBackward0' : 'SumBackward1', n, [x], false);
}

export function mean(x: Tensor, dim: number | readonly number[] | null | undefined, keepdim: boolean): Tensor {
  if (!isFloat(x.dtype)) {
    throw new TypeError(
      `mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: ${DTYPE_TITLE[x.dtype]}`,
    );
  }
  const dims = reduceDims(x, dim);
  const count = product(dims.map((d) => x.shape[d]!));
  const s = D.sumAxes(x.node, dims);
  const n = finish(D.mul(s, D.c(1 / count, s)), dims, keepdim);
  return record(dim === null || dim === undefined ? 'MeanBackward0' : 'MeanBackward1', n, [x], false);
}

export function prod(x: Tensor, dim: number | null | undefined, keepdim: boolean): Tensor {
  const dims = reduceDims(x, dim);
  const n = finish(reduceNode(castNode(x.node, accumulateDtype(x.dtype)), 'mul', dims), dims, keepdim);
  return record(dim === null || dim === undefined ? 'ProdBackward0' : 'ProdBackward1', n, [x]);
}

function checkNonEmpty(x: Tensor, fn: string): void {
  if (x.numel() === 0) {
    throw new RangeError(
      `${fn}(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.`,
    );
  }
}

function checkDimNonEmpty(x: Tensor, dims: readonly number[], fn: string): void {
  for (const d of dims) {
    if (x.shape[d] === 0) {
      throw new RangeError(`${fn}(): Expected reduction dim ${d} to have non-zero size.`);
    }
  }
}

/** max over dims (NaN propagates); min is max of the negation (logical not for bool). */
function maxNode(n: Node, dims: readonly number[]): Node {
  return D.maxAxes(n, dims);
}
function minNode(n: Node, dims: readonly number[]): Node {
  return n.dtype === 'bool' ? D.not(D.maxAxes(D.not(n), dims)) : D.neg(D.maxAxes(D.neg(n), dims));
}

export function maxAll(x: Tensor): Tensor {
  checkNonEmpty(x, 'max');
  const dims = reduceDims(x, null);
  return record('MaxBackward1', finish(maxNode(x.node, dims), dims, false), [x]);
}

export function minAll(x: Tensor): Tensor {
  checkNonEmpty(x, 'min');
  const dims = reduceDims(x, null);
  return record('MinBackward1', finish(minNode(x.node, dims), dims, false), [x]);
}

function valuesIndices(values: Tensor, indices: Tensor): ValuesIndices {
  return Object.assign([values, indices] as [Tensor, Tensor], { values, indices });
}

/**
 * max/min along a dim: the values are read at the returned indices (a one-hot sum), so the
 * gradient goes to that one element, as PyTorch's does — not split among ties like amax's.
 */
function valuesAndIndices(x: Tensor, dim: number, keepdim: boolean, fn: 'max' | 'min'): ValuesIndices {
  const dims = reduceDims(x, dim);
  checkDimNonEmpty(x, dims, fn);
  const name = fn === 'max' ? 'MaxBackward0' : 'MinBackward0';
  if (x.ndim === 0) return valuesIndices(record(name, x.node, [x]), record('', D.c(0, x.node, 'int64'), [], false));
  const axis = dims[0]!;
  const n = x.node;
  const idx = argmaxNode(fn === 'max' ? n : n.dtype === 'bool' ? D.not(n) : D.neg(n), axis);
  const hit = D.eq(axisIndex(n, axis), expandNode(idx, n.shape));
  const picked = D.where(hit, n, D.c(0, n));
  const values = n.dtype === 'bool' ? D.maxAxes(picked, [axis]) : D.sumAxes(picked, [axis]);
  return valuesIndices(record(name, finish(values, dims, keepdim), [x]), record('', finish(idx, dims, keepdim), [], false));
}

export const maxDim = (x: Tensor, dim: number, keepdim: boolean): ValuesIndices => valuesAndIndices(x, dim, keepdim, 'max');
export const minDim = (x: Tensor, dim: number, keepdim: boolean): ValuesIndices => valuesAndIndices(x, dim, keepdim, 'min');

export function amax(x: Tensor, dim: number | readonly number[] | undefined, keepdim: boolean): Tensor {
  const dims = reduceDims(x, dim ?? []);
  const all = dims.length === 0 ? reduceDims(x, null) : dims;
  checkDimNonEmpty(x, all, 'amax');
  return record('AmaxBackward0', finish(maxNode(x.node, all), all, keepdim), [x]);
}

export function amin(x: Tensor, dim: number | readonly number[] | undefined, keepdim: boolean): Tensor {
  const dims = reduceDims(x, dim ?? []);
  const all = dims.length === 0 ? reduceDims(x, null) : dims;
  checkDimNonEmpty(x, all, 'amin');
  return record('AminBackward0', finish(minNode(x.node, all), all, keepdim), [x]);
}

/**
 * Index of the first maximum along `axis` (the first NaN if any, as PyTorch): the largest
 * `n − i` over positions equal to the maximum, subtracted from n.
 */
function argmaxNode(n: Node, axis: number): Node {
  const len = n.shape[axis]!;
  const m = expandNode(D.maxAxes(n, [axis]), n.shape);
  const hit = D.or(D.eq(n, m), D.isnan(n));
  const i = axisIndex(n, axis);
  const score = D.where(hit, D.sub(D.c(len, i), i), D.c(0, i));
  const best = D.maxAxes(score, [axis]);
  return D.sub(D.c(len, best), best);
}

/** The int64 index along `axis`, broadcast to `n`'s shape. */
function axisIndex(n: Node, axis: number): Node {
  const idxShape = n.shape.map((d, i) => (i === axis ? d : 1));
  return expandNode(reshapeNode(arangeNode(0, 1, n.shape[axis]!, 'int64', n.device), idxShape), n.shape);
}

function argReduce(x: Tensor, dim: number | null | undefined, keepdim: boolean, fn: string, flip: boolean): Tensor {
  let n = x.node;
  if (flip) n = n.dtype === 'bool' ? D.not(n) : D.neg(n);
  if (dim === null || dim === undefined) {
    checkNonEmpty(x, fn);
    const flat = reshapeNode(n, [x.numel()]);
    return record('', reshapeNode(argmaxNode(flat, 0), []), [], false);
  }
  const axis = normDim(dim, x.ndim);
  if (x.ndim === 0) return record('', D.c(0, n, 'int64'), [], false);
  checkDimNonEmpty(x, [axis], fn);
  return record('', finish(argmaxNode(n, axis), [axis], keepdim), [], false);
}

export const argmax = (x: Tensor, dim: number | null | undefined, keepdim: boolean): Tensor => argReduce(x, dim, keepdim, 'argmax', false);
export const argmin = (x: Tensor, dim: number | null | undefined, keepdim: boolean): Tensor => argReduce(x, dim, keepdim, 'argmin', true);

function correctionOf(unbiased: boolean | VarOptions): number {
  if (typeof unbiased === 'boolean') return unbiased ? 1 : 0;
  if (unbiased.correction !== undefined) return unbiased.correction;
  return unbiased.unbiased === false ? 0 : 1;
}

function varianceNode(x: Tensor, dims: readonly number[], correction: number): Node {
  if (!isFloat(x.dtype)) {
    throw new TypeError(`std and var only support floating point and complex dtypes`);
  }
  const count = product(dims.map((d) => x.shape[d]!));
  const n = x.node;
  const s = D.sumAxes(n, dims);
  const m = expandNode(D.mul(s, D.c(1 / count, s)), n.shape);
  const d = D.sub(n, m);
  const ss = D.sumAxes(D.mul(d, d), dims);
  return D.mul(ss, D.c(1 / Math.max(count - correction, 0), ss));
}

export function variance(
  x: Tensor,
  dim: number | readonly number[] | null | undefined | boolean,
  unbiased: boolean | VarOptions,
  keepdim: boolean,
): Tensor {
  if (typeof dim === 'boolean') return variance(x, null, dim, keepdim);
  const dims = reduceDims(x, dim);
  return record('VarBackward0', finish(varianceNode(x, dims, correctionOf(unbiased)), dims, keepdim), [x]);
}

export function std(
  x: Tensor,
  dim: number | readonly number[] | null | undefined | boolean,
  unbiased: boolean | VarOptions,
  keepdim: boolean,
): Tensor {
  if (typeof dim === 'boolean') return std(x, null, dim, keepdim);
  const dims = reduceDims(x, dim);
  const v = varianceNode(x, dims, correctionOf(unbiased));
  // where the variance is 0 the gradient is 0, as PyTorch's (not 0·∞): sqrt never sees that 0
  const zero = D.eq(v, D.c(0, v));
  const s = D.where(zero, D.c(0, v), D.sqrt(D.where(zero, D.c(1, v), v)));
  return record('StdBackward0', finish(s, dims, keepdim), [x]);
}

export function logsumexp(x: Tensor, dim: number | readonly number[], keepdim: boolean): Tensor {
  const dims = reduceDims(x, dim);
  const n = castNode(x.node, isFloat(x.dtype) ? x.dtype : 'float32');
  // the max only shifts for stability; its gradient contribution cancels, so it is detached
  const m = detachNode(D.maxAxes(n, dims));
  const safe = D.where(D.eq(D.max(m, D.neg(m)), D.c(Infinity, m)), D.c(0, m), m);
  const shifted = D.sub(n, expandNode(safe, n.shape));
  const out = D.add(D.log(D.sumAxes(D.exp(shifted), dims)), safe);
  return record('LogsumexpBackward0', finish(out, dims, keepdim), [x]);
}

export function all(x: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  const dims = reduceDims(x, dim);
  return record('', finish(D.not(D.maxAxes(D.not(castNode(x.node, 'bool')), dims)), dims, keepdim), [], false);
}

export function any(x: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  const dims = reduceDims(x, dim);
  return record('', finish(D.maxAxes(castNode(x.node, 'bool'), dims), dims, keepdim), [], false);
}
