import { describe, expect, it } from 'vitest';
import {
  arangeNode,
  binaryNode,
  bitcastNode,
  bufferNode,
  castNode,
  constNode,
  expandNode,
  hostArray,
  padNode,
  permuteNode,
  randNode,
  reduceNode,
  reshapeNode,
  unaryNode,
  type DType,
  type HostArray,
  type Node,
  type Shape,
} from '@fusor/ir';
import { interpret, konst, local, lower, schedule, type Kernel } from '@fusor/compiler';
import { getBackend } from '@fusor/runtime';
import { cpuBackend, renderExpr, renderJs } from '../src/index.js';

// Kernels built from IR, lowered, rendered to JavaScript and run on the cpu backend.
const host = new Map<Node, number[]>();

function buf(values: readonly number[], dtype: DType = 'float32', shape: Shape = [values.length]): Node {
  const n = bufferNode(dtype, shape, 'cpu');
  host.set(n, [...values]);
  return n;
}
const c = (v: number, like: Node): Node => constNode(v, like.dtype, like.shape, like.device);

function hostOf(values: readonly number[], dtype: DType): HostArray {
  const h = hostArray(dtype, values.length);
  values.forEach((v, i) => {
    if (h instanceof BigInt64Array) h[i] = BigInt(v);
    else h[i] = v;
  });
  return h;
}

/** The one kernel computing `root`, rendered, compiled and launched; its output as numbers. */
function run(root: Node): { out: number[]; source: string; kernel: Kernel } {
  const items = schedule([root], (n) => host.has(n));
  expect(items).toHaveLength(1);
  const { kernel, inputs, varValues } = lower(items[0]!);
  const source = renderJs(kernel);
  const program = cpuBackend.compile({ source, entry: 'kernel', groupSize: 1, outputsPerGroup: 1, bindings: {}, workspace: 0 }, kernel);
  const out = cpuBackend.alloc(root.dtype, root.size, 0);
  const ins = inputs.map((n) => {
    const b = cpuBackend.alloc(n.dtype, n.size, 0);
    cpuBackend.write(b, hostOf(host.get(n)!, n.dtype));
    return b;
  });
  cpuBackend.launch(program, [out, ...ins], varValues);
  const data = cpuBackend.readSync!(out);
  return { out: Array.from(data as ArrayLike<number | bigint>, Number), source, kernel };
}

/** The reference interpreter's answer, float32 rounded after every op as a float32 machine does. */
const reference = (root: Node): number[] => Array.from(interpret(root, (n) => host.get(n), { exactFloat32: true }));

describe('the JS renderer', () => {
  it('is the registered cpu backend', () => {
    expect(getBackend('cpu')).toBe(cpuBackend);
    expect(cpuBackend.capabilities.syncRead).toBe(true);
  });

  it('renders one loop over the output with the kernel IR as statements', () => {
    const x = buf([1, 2, 3]);
    const { source } = run(binaryNode('MUL', x, c(2, x)));
    expect(source).toBe(
      '// E_3\nfor (let gid = 0; gid < 3; gid++) {\n  const x0 = b1[gid];\n  const x1 = Math.fround((x0 * 2));\n  b0[gid] = x1;\n}',
    );
  });

  it('rounds every float32 result with Math.fround, and leaves float64 alone', () => {
    const a = buf([0.1], 'float32');
    const b = buf([0.2], 'float32');
    const r32 = run(binaryNode('ADD', a, b));
    expect(r32.source).toContain('Math.fround(');
    // float32 0.1 + float32 0.2, rounded to float32 (not the float64 sum of the float32 inputs)
    expect(r32.out).toEqual([Math.fround(Math.fround(0.1) + Math.fround(0.2))]);
    expect(r32.out[0]).toBe(0.30000001192092896);
    const d = buf([0.1], 'float64');
    const e = buf([0.2], 'float64');
    const r64 = run(binaryNode('ADD', d, e));
    expect(r64.source).not.toContain('Math.fround');
    expect(r64.out).toEqual([0.30000000000000004]);
  });

  it('rounds a float32 intermediate before it is used again', () => {
    // (x * 3) computed in float32 first, then compared: the unrounded float64 product would differ
    const x = buf([0.1]);
    const prod = binaryNode('MUL', x, c(3, x));
    const { out } = run(binaryNode('CMPEQ', prod, c(Math.fround(Math.fround(0.1) * 3), x)));
    expect(out).toEqual([1]);
  });

  it('wraps int32 arithmetic to 32 bits', () => {
    const a = buf([2147483647, 65536, -2147483648, 7], 'int32');
    const b = buf([1, 65536, 0, -2], 'int32');
    expect(run(binaryNode('ADD', a, b)).out).toEqual([-2147483648, 131072, -2147483648, 5]);
    expect(run(binaryNode('MUL', a, b)).out).toEqual([2147483647, 0, 0, -14]);
    expect(run(unaryNode('NEG', a)).out).toEqual([-2147483647, -65536, -2147483648, -7]);
    // integer division truncates toward zero; division by zero gives 0 rather than a trap
    expect(run(binaryNode('IDIV', a, b)).out).toEqual([2147483647, 1, 0, -3]);
    expect(run(binaryNode('MOD', a, b)).out).toEqual([0, 0, 0, 1]);
  });

  it('wraps int8 / uint8 / int16 results to their width', () => {
    const a = buf([100, -100], 'int8');
    expect(run(binaryNode('ADD', a, a)).out).toEqual([-56, 56]);
    const u = buf([200, 3], 'uint8');
    expect(run(binaryNode('ADD', u, u)).out).toEqual([144, 6]);
    const s = buf([30000, -30000], 'int16');
    expect(run(binaryNode('ADD', s, s)).out).toEqual([-5536, 5536]);
  });

  it('casts float to int by truncation, NaN and infinities to 0', () => {
    const x = buf([NaN, 2.7, -2.7, 300.5, Infinity, -0.5]);
    expect(run(castNode(x, 'int32')).out).toEqual([0, 2, -2, 300, 0, 0]);
    expect(run(castNode(x, 'int64')).out).toEqual([0, 2, -2, 300, 0, 0]);
    expect(run(castNode(x, 'uint8')).out).toEqual([0, 2, 254, 44, 0, 0]);
    expect(run(castNode(x, 'int8')).out).toEqual([0, 2, -2, 44, 0, 0]);
    // any non-zero, NaN included, is true
    expect(run(castNode(x, 'bool')).out).toEqual([1, 1, 1, 1, 1, 1]);
    const big = buf([3e9, -3e9], 'float64');
    expect(run(castNode(big, 'int64')).out).toEqual([3e9, -3e9]);
  });

  it('casts int to narrower ints by wrapping and to float32 by rounding', () => {
    const x = buf([200, 70000, -1], 'int32');
    expect(run(castNode(x, 'int8')).out).toEqual([-56, 112, -1]);
    expect(run(castNode(x, 'uint8')).out).toEqual([200, 112, 255]);
    const l = buf([16777217, 3], 'int64');
    expect(run(castNode(l, 'float32')).out).toEqual([16777216, 3]);
  });

  it('bitcasts float32 <-> int32', () => {
    expect(run(bitcastNode(buf([1, -2]), 'int32')).out).toEqual([1065353216, -1073741824]);
    expect(run(bitcastNode(buf([1065353216], 'int32'), 'float32')).out).toEqual([1]);
  });

  it('renders special constants as valid JavaScript', () => {
    expect(renderExpr(konst(NaN, 'float32'))).toBe('NaN');
    expect(renderExpr(konst(-0, 'float32'))).toBe('-0');
    expect(renderExpr(konst(Infinity, 'float64'))).toBe('Infinity');
    expect(renderExpr(konst(-Infinity, 'float64'))).toBe('-Infinity');
    expect(renderExpr(konst(0.1, 'float32'))).toBe(String(Math.fround(0.1)));
    const x = buf([1, 2]);
    expect(run(binaryNode('MAX', x, c(-Infinity, x))).out).toEqual([1, 2]);
    expect(run(binaryNode('MUL', x, c(-0, x))).out.map((v) => Object.is(v, -0))).toEqual([true, true]);
    expect(renderExpr(local('x0', 'float32'))).toBe('x0');
  });

  it('accumulates float32 sums in float64 and rounds once the loop ends', () => {
    const x = buf([0.1, 0.2, 0.3, 0.4], 'float32', [2, 2]);
    const s = reduceNode(x, 'add', [1]);
    const { out, source } = run(binaryNode('CMPEQ', s, constNode(0, 'float32', [2, 1], 'cpu')));
    expect(out).toEqual([0, 0]);
    expect(source).toContain('acc0 = Math.fround(acc0);');
    // compared with float32 constants inside the same kernel, as torch compares float32 values
    const want = buf([0.3, 0.7], 'float32', [2, 1]);
    expect(run(binaryNode('CMPEQ', s, want)).out).toEqual([1, 0]);
    expect(run(s).out).toEqual([Math.fround(0.30000001192092896), Math.fround(Math.fround(0.3) + Math.fround(0.4))]);
  });

  it('wraps int32 accumulators and keeps int identities exact', () => {
    const x = buf([2147483647, 1, -5, 3], 'int32', [2, 2]);
    expect(run(reduceNode(x, 'add', [1])).out).toEqual([-2147483648, -2]);
    expect(run(reduceNode(x, 'max', [1])).out).toEqual([2147483647, 3]);
    expect(run(reduceNode(x, 'mul', [0])).out).toEqual([-2147483643, 3]);
  });

  it('wraps int32 products at every step (the reference interpreter too)', () => {
    const x = buf([2147483640, 2147483641, 2147483642, 2147483643, 7], 'int32', [5, 1]);
    const p = reduceNode(x, 'mul', [0]);
    const exact = Number(BigInt.asIntN(32, 2147483640n * 2147483641n * 2147483642n * 2147483643n * 7n));
    expect(run(p).out).toEqual([exact]);
    expect(reference(p)).toEqual([exact]);
  });

  it('an int64 max starts below every int64, not at -2^53', () => {
    const x = buf([-(2 ** 62), -3 * 2 ** 61], 'int64', [2, 1]);
    expect(run(reduceNode(x, 'max', [0])).out).toEqual([-(2 ** 62)]);
  });

  it('runs kernels with no inputs, with masks, views and reductions; they match the reference interpreter', () => {
    const cases: Node[] = [];
    const ar = arangeNode(0, 0.1, 30, 'float32', 'cpu');
    cases.push(ar);
    cases.push(castNode(arangeNode(-3, 2, 6, 'int64', 'cpu'), 'float32'));
    const x = buf([1, -2, 3.5, 4, -5, 6.25], 'float32', [2, 3]);
    cases.push(unaryNode('NEG', padNode(x, [[1, 0], [0, 2]])));
    cases.push(binaryNode('MUL', permuteNode(x, [1, 0]), c(3, permuteNode(x, [1, 0]))));
    cases.push(reduceNode(unaryNode('EXP2', permuteNode(x, [1, 0])), 'add', [1]));
    const col = buf([0.5, 2], 'float32', [2, 1]);
    cases.push(binaryNode('MUL', x, expandNode(col, [2, 3])));
    cases.push(reshapeNode(reduceNode(buf([1, 2, 3, 4, 5, 6, 7, 8], 'float32', [2, 2, 2]), 'add', [0, 2]), [2]));
    cases.push(unaryNode('SQRT', unaryNode('RECIP', binaryNode('ADD', x, c(10, x)))));
    for (const n of cases) expect(run(n).out).toEqual(reference(n));
    expect(run(ar).out.slice(0, 4)).toEqual([0, 0.1, 0.2, Math.fround(0.30000000000000004)].map(Math.fround));
  });

  it('passes random seeds and offsets as launch arguments, so new draws reuse the program', () => {
    const k1 = lower(schedule([unaryNode('NEG', randLike(1, 0))], () => false)[0]!);
    const k2 = lower(schedule([unaryNode('NEG', randLike(2, 40))], () => false)[0]!);
    expect(k1.kernel.key).toBe(k2.kernel.key);
    expect(k1.varValues).toEqual([1, 0]);
    expect(k2.varValues).toEqual([2, 40]);
  });
});

function randLike(seed: number, offset: number): Node {
  return randNode(seed, offset, [8], 'float32', 'cpu');
}
