/**
 * Contractions and the softmax family. A matmul is a broadcast multiply and a sum over the
 * shared dim: the compiler fuses it into one reduction kernel (and backends may route it to a
 * GEMM), so there is no hand-written matmul here.
 */
import {
  broadcastShapes,
  detachNode,
  expandNode,
  isFloat,
  permuteNode,
  reshapeNode,
  ShapeError,
  type Node,
} from '@fusor/ir';
import * as D from './decompose.js';
import { DTYPE_TITLE } from './elementwise.js';
import { record, type Tensor } from './tensor.js';
import { normDim } from './views.js';

function sameDtype(a: Tensor, b: Tensor, fn?: 'dot'): void {
  if (a.dtype !== b.dtype) {
    // PyTorch 1.13's words for mm, bmm, mv and matmul; dot has its own
    if (fn === 'dot') throw new TypeError(`dot : expected both vectors to have same dtype, but found ${DTYPE_TITLE[a.dtype]} and ${DTYPE_TITLE[b.dtype]}`);
    throw new TypeError(`expected scalar type ${DTYPE_TITLE[a.dtype]} but found ${DTYPE_TITLE[b.dtype]}`);
  }
  if (a.device !== b.device) {
    throw new Error(`Expected all tensors to be on the same device, but found at least two devices, ${a.device} and ${b.device}!`);
  }
  if (a.dtype === 'bool') throw new TypeError(`"addmm_impl_cpu_" not implemented for '${DTYPE_TITLE.bool}'`);
}

/** [..., n, k] × [..., k, m] → [..., n, m], batch dims already equal. */
function contract(a: Node, b: Node): Node {
  const nd = a.ndim;
  const batch = a.shape.slice(0, nd - 2);
  const [n, k] = a.shape.slice(nd - 2) as [number, number];
  const m = b.shape[nd - 1]!;
  const full = [...batch, n, m, k];
  const ae = expandNode(reshapeNode(a, [...batch, n, 1, k]), full);
  const order = [...batch.map((_, i) => i), nd - 1, nd - 2];
  const be = expandNode(reshapeNode(permuteNode(b, order), [...batch, 1, m, k]), full);
  return reshapeNode(D.sumAxes(D.mul(ae, be), [nd]), [...batch, n, m]);
}

export function mm(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 2) throw new ShapeError(`self must be a matrix`);
  if (b.ndim !== 2) throw new ShapeError(`mat2 must be a matrix`);
  if (a.shape[1] !== b.shape[0]) {
    throw new ShapeError(`mat1 and mat2 shapes cannot be multiplied (${a.shape[0]}x${a.shape[1]} and ${b.shape[0]}x${b.shape[1]})`);
  }
  sameDtype(a, b);
  return record('MmBackward0', contract(a.node, b.node), [a, b]);
}

export function bmm(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 3) throw new ShapeError(`batch1 must be a 3D tensor`);
  if (b.ndim !== 3) throw new ShapeError(`batch2 must be a 3D tensor`);
  if (b.shape[0] !== a.shape[0] || b.shape[1] !== a.shape[2]) {
    throw new ShapeError(
      `Expected size for first two dimensions of batch2 tensor to be: [${a.shape[0]}, ${a.shape[2]}] but got: [${b.shape[0]}, ${b.shape[1]}].`,
    );
  }
  sameDtype(a, b);
  return record('BmmBackward0', contract(a.node, b.node), [a, b]);
}

export function mv(a: Tensor, v: Tensor): Tensor {
  if (a.ndim !== 2 || v.ndim !== 1) throw new ShapeError('vector + matrix @ vector expected, got ' + `${a.ndim}, ${v.ndim}`);
  if (a.shape[1] !== v.shape[0]) throw new ShapeError(`size mismatch, got ${a.shape[0]}, ${a.shape[0]}x${a.shape[1]},${v.shape[0]}`);
  sameDtype(a, v);
  return record('MvBackward0', reshapeNode(contract(a.node, reshapeNode(v.node, [v.shape[0]!, 1])), [a.shape[0]!]), [a, v]);
}

export function dot(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 1 || b.ndim !== 1) {
    throw new ShapeError(`1D tensors expected, but got ${a.ndim}D and ${b.ndim}D tensors`);
  }
  if (a.shape[0] !== b.shape[0]) {
    throw new ShapeError(
      `inconsistent tensor size, expected tensor [${a.shape[0]}] and src [${b.shape[0]}] to have the same number of elements, but got ${a.shape[0]} and ${b.shape[0]} elements respectively`,
    );
  }
  sameDtype(a, b, 'dot');
  return record('DotBackward0', reshapeNode(D.sumAxes(D.mul(a.node, b.node), [0]), []), [a, b]);
}

/** torch.matmul: dot, mv, mm, or a batched product with broadcast batch dims. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0) {
    throw new ShapeError(`both arguments to matmul need to be at least 1D, but they are ${a.ndim}D and ${b.ndim}D`);
  }
  if (a.ndim === 1 && b.ndim === 1) return dot(a, b);
  if (a.ndim === 2 && b.ndim === 2) return mm(a, b);
  if (a.ndim === 2 && b.ndim === 1) return mv(a, b);
  sameDtype(a, b);
  // promote 1-D operands to matrices, broadcast batch dims, contract, then drop the added dims
  const an = a.ndim === 1 ? reshapeNode(a.node, [1, a.shape[0]!]) : a.node;
  const bn = b.ndim === 1 ? reshapeNode(b.node, [b.shape[0]!, 1]) : b.node;
  const k1 = an.shape[an.ndim - 1]!;
  const k2 = bn.shape[bn.ndim - 2]!;
  if (k1 !== k2) {
    const fmt = (n: Node): string => (n.ndim === 2 ? `${n.shape[0]}x${n.shape[1]}` : `[${n.shape.join(', ')}]`);
    // PyTorch folds a batched first operand into rows when the second is a matrix
    const rows = an.shape.slice(0, -1).reduce((x, y) => x * y, 1);
    const batches = broadcastShapes(an.shape.slice(0, -2), bn.shape.slice(0, -2)).reduce((x, y) => x * y, 1);
    const bRows = bn.shape.slice(0, -2).reduce((x, y) => x * y, 1) * bn.shape[bn.ndim - 1]!;
    if (b.ndim === 1) throw new ShapeError(`size mismatch, got ${rows}, ${rows}x${k1},${k2}`);
    if (a.ndim === 1 && bn.ndim > 2) throw new ShapeError(`size mismatch, got ${bRows}, ${bRows}x${k2},${k1}`);
    throw new ShapeError(
      bn.ndim <= 2
        ? `mat1 and mat2 shapes cannot be multiplied (${rows}x${k1} and ${fmt(bn)})`
        : an.ndim <= 2
          ? `mat1 and mat2 shapes cannot be multiplied (${bRows}x${k2} and ${k1}x${an.shape[an.ndim - 2]})`
        : `Expected size for first two dimensions of batch2 tensor to be: [${batches}, ${k1}] but got: [${batches}, ${k2}].`,
    );
  }
  const batch = broadcastShapes(an.shape.slice(0, -2), bn.shape.slice(0, -2));
  const ae = expandNode(reshapeNode(an, [...new Array<number>(batch.length + 2 - an.ndim).fill(1), ...an.shape]), [...batch, ...an.shape.slice(-2)]);
  const be = expandNode(reshapeNode(bn, [...new Array<number>(batch.length + 2 - bn.ndim).fill(1), ...bn.shape]), [...batch, ...bn.shape.slice(-2)]);
  let out = contract(ae, be);
  const shape = [...batch, ...(a.ndim === 1 ? [] : [an.shape[an.ndim - 2]!]), ...(b.ndim === 1 ? [] : [bn.shape[bn.ndim - 1]!])];
  out = reshapeNode(out, shape);
  return record(a.ndim === 1 || b.ndim === 1 ? 'ViewBackward0' : 'UnsafeViewBackward0', out, [a, b]);
}

function softmaxParts(x: Tensor, dim: number, fn: string): { shifted: Node; sum: Node } {
  if (!isFloat(x.dtype)) throw new TypeError(`"${fn}_lastdim_kernel_impl" not implemented for '${DTYPE_TITLE[x.dtype]}'`);
  const d = x.ndim === 0 ? 0 : normDim(dim, x.ndim);
  const n = x.ndim === 0 ? reshapeNode(x.node, [1]) : x.node;
  // subtracting the max only keeps exp in range; its gradient cancels, so it is detached
  const m = detachNode(D.maxAxes(n, [d]));
  const shifted = D.sub(n, expandNode(m, n.shape));
  const sum = expandNode(D.sumAxes(D.exp(shifted), [d]), n.shape);
  return { shifted, sum };
}

export function softmax(x: Tensor, dim: number): Tensor {
  const { shifted, sum } = softmaxParts(x, dim, 'softmax');
  return record('SoftmaxBackward0', reshapeNode(D.div(D.exp(shifted), sum), x.shape), [x]);
}

export function logSoftmax(x: Tensor, dim: number): Tensor {
  const { shifted, sum } = softmaxParts(x, dim, 'log_softmax');
  return record('LogSoftmaxBackward0', reshapeNode(D.sub(shifted, D.log(sum)), x.shape), [x]);
}
