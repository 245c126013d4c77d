/**
 * Matrix helpers built from masks, movement ops and the existing products: triu, tril, diag,
 * outer, addmm, addmv, baddbmm.
 */
import { arangeNode, broadcastShapes, constNode, expandNode, padNode, reshapeNode, ShapeError, shrinkNode, type Node } from '@fusor/ir';
import * as D from './decompose.js';
import * as E from './elementwise.js';
import * as L from './linalg.js';
import { record, type Tensor } from './tensor.js';

/** (col − row) over the last two dims of `shape`, as an int32 node broadcast to it. */
function colMinusRow(shape: readonly number[], device: string): Node {
  const [n, m] = shape.slice(-2) as [number, number];
  const rows = expandNode(reshapeNode(arangeNode(0, 1, n, 'int32', device), [n, 1]), [n, m]);
  const cols = expandNode(reshapeNode(arangeNode(0, 1, m, 'int32', device), [1, m]), [n, m]);
  const d = D.sub(cols, rows);
  return expandNode(reshapeNode(d, [...shape.slice(0, -2).map(() => 1), n, m]), shape);
}

function triangle(x: Tensor, diagonal: number, upper: boolean, name: string): Tensor {
  if (x.ndim < 2) throw new ShapeError(`${upper ? 'triu' : 'tril'}: input tensor must have at least 2 dimensions`);
  const d = colMinusRow(x.shape, x.device);
  const k = D.c(diagonal, d);
  // triu keeps col − row ≥ diagonal, tril keeps col − row ≤ diagonal
  const keep = upper ? D.not(D.lt(d, k)) : D.not(D.lt(k, d));
  return record(name, D.where(keep, x.node, constNode(0, x.dtype, x.shape, x.device)), [x], false);
}

export const triu = (x: Tensor, diagonal = 0): Tensor => triangle(x, diagonal, true, 'TriuBackward0');
export const tril = (x: Tensor, diagonal = 0): Tensor => triangle(x, diagonal, false, 'TrilBackward0');

/** diag(vector) is the square matrix with it on the `diagonal`-th diagonal; diag(matrix) is that diagonal. */
export function diag(x: Tensor, diagonal = 0): Tensor {
  if (x.ndim === 1) {
    const n = x.shape[0]! + Math.abs(diagonal);
    const shape = [n, n];
    const d = colMinusRow(shape, x.device);
    // row i of the result holds x[i] (diagonal ≥ 0) or x[i + diagonal]: pad x into place along rows
    const v = padNode(x.node, diagonal >= 0 ? [[0, diagonal]] : [[-diagonal, 0]]);
    const ve = expandNode(reshapeNode(v, [n, 1]), shape);
    return record('DiagEmbedBackward0', D.where(D.eq(d, D.c(diagonal, d)), ve, constNode(0, x.dtype, shape, x.device)), [x], false);
  }
  if (x.ndim !== 2) throw new ShapeError('diag(): Supports 1D or 2D tensors. Got ' + `${x.ndim}D`);
  const [n, m] = x.shape as [number, number];
  const len = Math.max(0, diagonal >= 0 ? Math.min(n, m - diagonal) : Math.min(n + diagonal, m));
  const start = diagonal >= 0 ? diagonal : -diagonal * m;
  // element i sits at start + i·(m + 1) of the flat matrix: a strided view through pad + reshape
  const flat = reshapeNode(x.node, [n * m]);
  const span = len * (m + 1);
  const padded = padNode(flat, [[0, Math.max(0, start + span - n * m)]]);
  const rows = reshapeNode(shrinkNode(padded, [[start, start + span]]), [len, m + 1]);
  return record('DiagonalBackward0', reshapeNode(shrinkNode(rows, [[0, len], [0, 1]]), [len]), [x], false);
}

export function outer(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 1 || b.ndim !== 1) throw new ShapeError(`outer: expected 1D tensors, but got ${a.ndim}D and ${b.ndim}D tensors`);
  return E.mul(a.reshape(a.shape[0]!, 1), b.reshape(1, b.shape[0]!));
}

export interface ScaleOptions {
  beta?: number;
  alpha?: number;
}

function checkScale(fn: string, opts: ScaleOptions): { beta: number; alpha: number } {
  for (const k of Object.keys(opts)) if (k !== 'beta' && k !== 'alpha') throw new TypeError(`${fn}() got an unexpected keyword argument '${k}'`);
  return { beta: opts.beta ?? 1, alpha: opts.alpha ?? 1 };
}

/** beta·input + alpha·product; beta = 0 ignores input entirely (its NaN and inf too), as in PyTorch. */
function scaled(input: Tensor, product: Tensor, beta: number, alpha: number): Tensor {
  const p = alpha === 1 ? product : E.mul(product, alpha);
  if (beta === 0) return p.expand(broadcastShapes(input.shape, p.shape));
  return E.add(beta === 1 ? input : E.mul(input, beta), p);
}

export function addmm(input: Tensor, mat1: Tensor, mat2: Tensor, opts: ScaleOptions = {}): Tensor {
  const { beta, alpha } = checkScale('addmm', opts);
  return scaled(input, L.mm(mat1, mat2), beta, alpha);
}

export function addmv(input: Tensor, mat: Tensor, vec: Tensor, opts: ScaleOptions = {}): Tensor {
  const { beta, alpha } = checkScale('addmv', opts);
  return scaled(input, L.mv(mat, vec), beta, alpha);
}

export function baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, opts: ScaleOptions = {}): Tensor {
  const { beta, alpha } = checkScale('baddbmm', opts);
  return scaled(input, L.bmm(batch1, batch2), beta, alpha);
}
