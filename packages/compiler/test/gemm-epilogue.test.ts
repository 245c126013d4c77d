import { describe, expect, it } from 'vitest';
import { binaryNode, bufferNode, constNode, expandNode, permuteNode, reduceNode, reshapeNode, unaryNode, whereNode, type Node } from '@fusor/ir';
import { EPILOGUE_ACC, printKernel, schedule, type Backend, type GemmShape, type ScheduleItem } from '../src/index.js';

// Epilogue fusion, scheduling only (nothing runs): the elementwise chain after a product the
// backend's GEMM routine takes goes into that routine's launch where the routine declares
// epilogues, and stays a kernel of its own otherwise. Values are checked on webgpu
// (backend-webgpu/test/gemm-epilogue.test.ts).
const DEVICE = 'epitest';
const PLAIN = 'plaingemm';
const offered: GemmShape[] = [];
const backend = (name: string, epilogues: boolean): Backend =>
  ({
    name,
    capabilities: { dtypes: ['float32'], maxBuffers: Infinity, syncRead: true, fp16: false },
    routines: {
      gemm: {
        supports: (g: GemmShape) => g.epilogue === undefined,
        run: () => {},
        ...(epilogues ? { supportsEpilogue: (g: GemmShape) => (offered.push(g), true) } : {}),
      },
    },
  }) as unknown as Backend;
const BACKENDS: Record<string, Backend> = { [DEVICE]: backend(DEVICE, true), [PLAIN]: backend(PLAIN, false) };
const backendFor = (device: string): Backend | undefined => BACKENDS[device];

const buf = (shape: readonly number[], device = DEVICE): Node => bufferNode('float32', shape, device);
const isBuffer = (n: Node): boolean => n.op === 'BUFFER';
const konst = (v: number, like: Node): Node => constNode(v, 'float32', like.shape, like.device);

/** [n, k] · [k, m] as linalg.ts's contract() writes it, reshaped to [n, m]. */
function matmul(a: Node, b: Node): Node {
  const [n, k] = a.shape as [number, number];
  const m = b.shape[1]!;
  const ae = expandNode(reshapeNode(a, [n, 1, k]), [n, m, k]);
  const be = expandNode(reshapeNode(permuteNode(b, [1, 0]), [1, m, k]), [n, m, k]);
  return reshapeNode(reduceNode(binaryNode('MUL', ae, be), 'add', [2]), [n, m]);
}
/** A bias of shape [m] (or [n, 1] per row) broadcast over y. */
const bias = (y: Node, b: Node): Node => binaryNode('ADD', y, expandNode(b.shape.length === 1 ? reshapeNode(b, [1, b.shape[0]!]) : b, y.shape));
const relu = (y: Node): Node => whereNode(binaryNode('CMPLT', y, konst(0, y)), konst(0, y), y);

const gemms = (items: readonly ScheduleItem[]): ScheduleItem[] => items.filter((i) => i.gemm);

describe('gemm epilogues: the chain after a routed product fuses into the routine', () => {
  it('Linear + bias + relu: one launch, the bias its extra operand, the product the local acc', () => {
    const x = buf([8, 6]);
    const w = buf([6, 5]);
    const b = buf([5]);
    const out = relu(bias(matmul(x, w), b));
    offered.length = 0;
    const items = schedule([out], isBuffer, backendFor);
    expect(items).toHaveLength(1);
    const g = items[0]!.gemm!;
    expect(items[0]!.root).toBe(out);
    expect(items[0]!.inputs).toEqual([x, w, b]);
    expect(g.epilogue).toEqual([b]);
    expect(g.shape).toMatchObject({ m: 8, n: 5, k: 6, c: { offset: 0, rowStride: 5, colStride: 1 } });
    expect(offered).toHaveLength(1);
    expect(printKernel(g.shape.epilogue!.kernel)).toBe(
      [
        'kernel epilogue_8_5(b0: out float32[40], b1: float32[5]) for gid < 40',
        `  x0: float32 = ${EPILOGUE_ACC}`,
        '  x1: float32 = ld1[MOD(gid,cint32:5)]',
        '  x2: float32 = ADD(x0,x1)',
        '  x3: bool = CMPLT(x2,cfloat32:0)',
        '  x4: float32 = WHERE(x3,cfloat32:0,x2)',
        '  b0[gid] = x4',
      ].join('\n'),
    );
  });

  it('a scale (alpha · A@B) and a per-row bias [n, 1]; a transposed result lands through C’s strides', () => {
    const a = buf([8, 6]);
    const w = buf([6, 5]);
    const scaled = binaryNode('MUL', matmul(a, w), konst(0.5, matmul(a, w)));
    const [s] = schedule([scaled], isBuffer, backendFor);
    expect(s!.gemm!.epilogue).toEqual([]);
    expect(printKernel(s!.gemm!.shape.epilogue!.kernel)).toContain('MUL(x0,cfloat32:0.5)');
    const rows = buf([8, 1]);
    const [r] = schedule([bias(matmul(a, w), rows)], isBuffer, backendFor);
    expect(printKernel(r!.gemm!.shape.epilogue!.kernel)).toContain('ld1[IDIV(gid,cint32:5)]');
    // (A@B)ᵀ + b: C is written transposed (row stride 1), the epilogue indexes the output as stored
    const t = permuteNode(matmul(a, w), [1, 0]);
    const [tt] = schedule([bias(t, buf([8]))], isBuffer, backendFor);
    expect(tt!.gemm!.shape.c).toEqual({ offset: 0, rowStride: 1, colStride: 8 });
    expect(printKernel(tt!.gemm!.shape.epilogue!.kernel)).toContain('ld1[MOD(gid,cint32:8)]');
  });

  it('does not fuse when the product is also read elsewhere, or transposed, or by a reduction', () => {
    const a = buf([8, 8]);
    const w = buf([8, 8]);
    const b = buf([8]);
    const y = matmul(a, w);
    // the product itself is also an output: computed once into its buffer, the chain a kernel of its own
    const both = schedule([relu(bias(y, b)), y], isBuffer, backendFor);
    expect(both).toHaveLength(2);
    expect(gemms(both).map((i) => [i.root, i.gemm!.shape.epilogue])).toEqual([[y, undefined]]);
    // y + yᵀ reads the product at two places of each element
    const sym = schedule([binaryNode('ADD', y, permuteNode(y, [1, 0]))], isBuffer, backendFor);
    expect(sym).toHaveLength(2);
    expect(gemms(sym)[0]!.gemm!.shape.epilogue).toBeUndefined();
    // a reduction of the chain: the sum is generated code reading the bare product
    const summed = schedule([reduceNode(relu(bias(y, b)), 'add', [1])], isBuffer, backendFor);
    expect(summed).toHaveLength(2);
    expect(gemms(summed)[0]!.gemm!.shape.epilogue).toBeUndefined();
    expect(summed[1]!.gemm).toBeUndefined();
    // a chain with a second reduction in it (y + rowsum(a)): the row sum, the bare product, then the sum of both
    const mixed = schedule([binaryNode('ADD', y, expandNode(reduceNode(a, 'add', [1]), [8, 8]))], isBuffer, backendFor);
    expect(mixed).toHaveLength(3);
    expect(gemms(mixed).map((i) => i.gemm!.shape.epilogue)).toEqual([undefined]);
  });

  it('a routine that declares no epilogues keeps the chain a kernel of its own', () => {
    const y = matmul(buf([8, 6], PLAIN), buf([6, 5], PLAIN));
    const items = schedule([unaryNode('EXP2', bias(y, buf([5], PLAIN)))], isBuffer, backendFor);
    expect(items).toHaveLength(2);
    expect(items[0]!.gemm!.shape.epilogue).toBeUndefined();
    expect(items[1]!.gemm).toBeUndefined();
    expect(items[1]!.inputs).toContain(items[0]!.root);
  });
});
