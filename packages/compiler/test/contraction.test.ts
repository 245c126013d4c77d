import { describe, expect, it } from 'vitest';
import { binaryNode, bufferNode, expandNode, permuteNode, reduceNode, reshapeNode, unaryNode, type Node } from '@fusor/ir';
import { contractionOperands, gemmShape, schedule, type Backend } from '../src/index.js';

// Recognising contractions and handing them to a backend's GEMM routine: scheduling only, on a
// device whose backend takes every product (nothing here runs).
const DEVICE = 'gemmtest';
const GEMM_BACKEND = {
  name: DEVICE,
  capabilities: { dtypes: ['float32'], maxBuffers: Infinity, syncRead: true, fp16: false },
  routines: { gemm: { supports: () => true, run: () => {} } },
} as unknown as Backend;
// scheduling is pure: the backend is passed in, not registered globally
const backendFor = (device: string): Backend | undefined => (device === DEVICE ? GEMM_BACKEND : undefined);

const buf = (...shape: number[]): Node => bufferNode('float32', shape, DEVICE);
const isBuffer = (n: Node): boolean => n.op === 'BUFFER';

/** [n, k] · [k, m] as linalg.ts's contract() writes it: a sum over k of broadcast operands. */
function contract(a: Node, b: Node): Node {
  const [n, k] = a.shape as [number, number];
  const m = b.shape[1]!;
  const ae = expandNode(reshapeNode(a, [n, 1, k]), [n, m, k]);
  const be = expandNode(reshapeNode(permuteNode(b, [1, 0]), [1, m, k]), [n, m, k]);
  return reduceNode(binaryNode('MUL', ae, be), 'add', [2]);
}

const contiguous = (shape: readonly number[]): { strides: number[]; offset: number } => {
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((p, d) => p * d, 1));
  return { strides, offset: 0 };
};

describe('contractions: a sum over the product of two views is a GEMM', () => {
  it('a matmul: m, n, k and row-major operands', () => {
    const r = contract(buf(6, 4), buf(4, 5));
    const ops = contractionOperands(r, isBuffer)!;
    expect(gemmShape(ops, contiguous(r.shape))).toEqual({
      dtype: 'float32',
      m: 6,
      n: 5,
      k: 4,
      batch: [],
      a: { offset: 0, rowStride: 4, colStride: 1 },
      b: { offset: 0, rowStride: 5, colStride: 1 },
      c: { offset: 0, rowStride: 5, colStride: 1 },
    });
  });

  it("a weight gradient (autograd's sum over the batch dim) reads the activations transposed", () => {
    // dW[k, m] = sum_n x[n, k] · g[n, m], written [1, m, k] as the gradient of contract()'s expand
    const x = buf(8, 3);
    const g = buf(8, 2);
    const xe = expandNode(reshapeNode(x, [8, 1, 3]), [8, 2, 3]);
    const ge = expandNode(reshapeNode(g, [8, 2, 1]), [8, 2, 3]);
    const r = reduceNode(binaryNode('MUL', ge, xe), 'add', [0]);
    const shape = gemmShape(contractionOperands(r, isBuffer)!, contiguous(r.shape))!;
    expect(shape).toMatchObject({ m: 2, n: 3, k: 8, batch: [] });
    expect(shape.a).toEqual({ offset: 0, rowStride: 1, colStride: 2 }); // gᵀ
    expect(shape.b).toEqual({ offset: 0, rowStride: 3, colStride: 1 });
  });

  it('batch dims become loops; a broadcast operand steps 0 along them', () => {
    const a = buf(3, 6, 4);
    const b = buf(4, 5);
    const ae = expandNode(reshapeNode(a, [3, 6, 1, 4]), [3, 6, 5, 4]);
    const be = expandNode(reshapeNode(permuteNode(b, [1, 0]), [1, 1, 5, 4]), [3, 6, 5, 4]);
    const r = reduceNode(binaryNode('MUL', ae, be), 'add', [3]);
    const shape = gemmShape(contractionOperands(r, isBuffer)!, contiguous(r.shape))!;
    // a's batch and row dims merge into one m of 18: a single product
    expect(shape).toMatchObject({ m: 18, n: 5, k: 4, batch: [] });
  });

  it('sums that are not products of two operands are not contractions', () => {
    const x = buf(4, 5);
    expect(contractionOperands(reduceNode(x, 'add', [1]), isBuffer)).toBeUndefined();
    expect(contractionOperands(reduceNode(binaryNode('MUL', x, x), 'max', [1]), isBuffer)).toBeUndefined();
    // a sum over a broadcast operand scales it: not a GEMM
    const y = expandNode(reshapeNode(buf(4), [4, 1]), [4, 5]);
    const ops = contractionOperands(reduceNode(binaryNode('MUL', x, y), 'add', [1]), isBuffer)!;
    expect(gemmShape(ops, contiguous([4, 1]))).toBeUndefined();
  });
});

describe('scheduling contractions onto a GEMM routine', () => {
  it('the product is one item; an elementwise prologue and epilogue are kernels of their own', () => {
    const b = buf(4, 5);
    const r = contract(unaryNode('NEG', buf(6, 4)), b);
    const out = unaryNode('SQRT', reshapeNode(r, [6, 5]));
    const items = schedule([out], isBuffer, backendFor);
    expect(items.map((i) => [i.gemm ? 'gemm' : 'kernel', i.reason])).toEqual([
      ['kernel', 'operand of a matrix product computed by the gemm routine'],
      ['gemm', 'matrix product computed by the gemm routine'],
      ['kernel', 'output'],
    ]);
    // the routine reads -a from the prologue's buffer and b from its own
    expect(items[1]!.inputs).toEqual([items[0]!.root, b]);
  });

  it('a product read transposed is written transposed by the routine itself (no copy kernel)', () => {
    const r = contract(buf(6, 4), buf(4, 5));
    const t = permuteNode(reshapeNode(r, [6, 5]), [1, 0]);
    const items = schedule([t], isBuffer, backendFor);
    expect(items).toHaveLength(1);
    expect(items[0]!.gemm!.shape.c).toEqual({ offset: 0, rowStride: 1, colStride: 6 });
  });
});
