import { describe, expect, it } from 'vitest';
import {
  arangeNode,
  assignNode,
  binaryNode,
  bitcastNode,
  bufferNode,
  castNode,
  constNode,
  contiguousNode,
  copyNode,
  detachNode,
  expandNode,
  flipNode,
  padNode,
  permuteNode,
  randNode,
  reduceNode,
  reshapeNode,
  shrinkNode,
  unaryNode,
  whereNode,
  type BinaryOp,
  type DType,
  type Node,
  type Shape,
  type UnaryOp,
} from '@fusor/ir';
import {
  bfloat16Bits,
  bfloat16FromBits,
  float16Bits,
  float16FromBits,
  interpret,
  InterpretError,
  type InterpretOptions,
} from '../src/interpret.js';

const data = new Map<Node, readonly number[]>();
const load = (n: Node): readonly number[] | undefined => data.get(n);

/** A realized buffer holding `values`. */
function buf(values: readonly number[], dtype: DType = 'float32', shape: Shape = [values.length]): Node {
  const n = bufferNode(dtype, shape, 'cpu');
  data.set(n, values);
  return n;
}

const run = (n: Node, opts?: InterpretOptions): number[] => [...interpret(n, load, opts)];

const un = (op: UnaryOp, xs: readonly number[], dtype: DType = 'float64'): number[] => run(unaryNode(op, buf(xs, dtype)));
const bin = (op: BinaryOp, a: readonly number[], b: readonly number[], dtype: DType): number[] =>
  run(binaryNode(op, buf(a, dtype), buf(b, dtype)));
const cast = (xs: readonly number[], from: DType, to: DType): number[] => run(castNode(buf(xs, from), to));
const bitcast = (xs: readonly number[], from: DType, to: DType): number[] => run(bitcastNode(buf(xs, from), to));

/** arange(n) as a float32 node of `shape`. */
const iota = (shape: Shape): Node =>
  reshapeNode(
    arangeNode(0, 1, shape.reduce((a, b) => a * b, 1), 'float32', 'cpu'),
    shape,
  );

describe('source ops', () => {
  it('CONST fills its shape with the value, normalized to the dtype', () => {
    expect(run(constNode(2.5, 'float32', [2, 3], 'cpu'))).toEqual([2.5, 2.5, 2.5, 2.5, 2.5, 2.5]);
    expect(run(constNode(-1, 'uint8', [2], 'cpu'))).toEqual([255, 255]);
    expect(run(constNode(7, 'int32', [], 'cpu'))).toEqual([7]);
    expect(run(constNode(1, 'float32', [0, 3], 'cpu'))).toEqual([]);
  });

  it('ARANGE is start + i * step in the node dtype', () => {
    expect(run(arangeNode(1, 0.5, 4, 'float64', 'cpu'))).toEqual([1, 1.5, 2, 2.5]);
    expect(run(arangeNode(10, -3, 4, 'int32', 'cpu'))).toEqual([10, 7, 4, 1]);
    expect(run(arangeNode(0.5, 1, 3, 'int64', 'cpu'))).toEqual([0, 1, 2]);
  });

  it('BUFFER reads through load, normalized to its dtype', () => {
    expect(run(buf([1, 2, 3], 'int32', [3]))).toEqual([1, 2, 3]);
    expect(run(buf([0, 2, -0.5], 'bool'))).toEqual([0, 1, 1]);
    expect(run(buf([300], 'uint8'))).toEqual([44]);
  });

  it('a BUFFER with no data is an error', () => {
    const empty = bufferNode('float32', [2], 'cpu');
    expect(() => interpret(unaryNode('NEG', empty), load)).toThrow(InterpretError);
    expect(() => interpret(empty, load)).toThrow(/has no data/);
  });

  it('load returning the wrong length is an error', () => {
    const n = bufferNode('float32', [3], 'cpu');
    expect(() => interpret(n, () => [1, 2])).toThrow(/returned 2 values, expected 3/);
  });

  it('a loaded node cuts the graph: its sources are not evaluated', () => {
    const unrealized = bufferNode('float32', [2], 'cpu');
    const mid = unaryNode('NEG', unrealized);
    const out = binaryNode('ADD', mid, mid);
    const seen: Node[] = [];
    const r = interpret(out, (n) => {
      seen.push(n);
      return n === mid ? [1, 2] : undefined;
    });
    expect([...r]).toEqual([2, 4]);
    expect(seen).not.toContain(unrealized);
  });

  it('memoizes shared nodes: each distinct node is loaded or computed once', () => {
    const x = buf([1, 2]);
    const y = unaryNode('NEG', x);
    let z = y;
    for (let i = 0; i < 20; i++) z = binaryNode('ADD', z, z); // 2^20 paths, 21 distinct nodes
    const calls = new Map<Node, number>();
    const r = interpret(z, (n) => {
      calls.set(n, (calls.get(n) ?? 0) + 1);
      return load(n);
    });
    expect([...r]).toEqual([-(2 ** 20), -(2 ** 21)]);
    expect(Math.max(...calls.values())).toBe(1);
    expect(calls.size).toBe(22);
  });
});

describe('RAND', () => {
  const seq = (seed: number, offset: number, n: number): number[] => run(randNode(seed, offset, [n], 'float32', 'cpu'));

  it('is deterministic for one (seed, offset) and counter-based across offsets', () => {
    const a = seq(42, 0, 64);
    expect(seq(42, 0, 64)).toEqual(a);
    expect(seq(42, 10, 54)).toEqual(a.slice(10));
    expect(seq(43, 0, 64)).not.toEqual(a);
    expect(new Set(a).size).toBe(64);
  });

  it('keeps its values in [0, 1) and exact in float32', () => {
    const xs = seq(7, 123, 1000);
    for (const x of xs) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      expect(Math.fround(x)).toBe(x);
    }
  });

  it('shapes fill row-major from the counter', () => {
    const flat = seq(5, 0, 6);
    expect(run(randNode(5, 0, [2, 3], 'float32', 'cpu'))).toEqual(flat);
  });

  it('is uniform: chi-square over 10 bins of 10k samples is plausible', () => {
    const xs = seq(1234, 0, 10_000);
    const bins = new Array<number>(10).fill(0);
    for (const x of xs) bins[Math.floor(x * 10)]!++;
    const chi2 = bins.reduce((acc, o) => acc + (o - 1000) ** 2 / 1000, 0);
    expect(chi2).toBeLessThan(27.88); // p = 0.001 at 9 degrees of freedom
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
  });
});

describe('unary ops', () => {
  it('NEG', () => {
    expect(un('NEG', [1, -2, 0.5])).toEqual([-1, 2, -0.5]);
    expect(un('NEG', [5, -(2 ** 31)], 'int32')).toEqual([-5, -(2 ** 31)]); // -INT_MIN wraps to itself
    expect(un('NEG', [1, 0], 'uint8')).toEqual([255, 0]);
  });
  it('EXP2', () => expect(un('EXP2', [0, 1, 3, -1, -Infinity])).toEqual([1, 2, 8, 0.5, 0]));
  it('LOG2', () => expect(un('LOG2', [1, 8, 0.5, 0, -1])).toEqual([0, 3, -1, -Infinity, NaN]));
  it('SIN', () => {
    const [a, b, c] = un('SIN', [0, Math.PI / 2, -Math.PI / 6]);
    expect(a).toBe(0);
    expect(b).toBe(1);
    expect(c).toBeCloseTo(-0.5, 15);
  });
  it('SQRT', () => expect(un('SQRT', [4, 9, 0, -1])).toEqual([2, 3, 0, NaN]));
  it('RECIP', () => expect(un('RECIP', [2, -4, 0, -0])).toEqual([0.5, -0.25, Infinity, -Infinity]));
  it('TRUNC', () => expect(un('TRUNC', [1.7, -1.7, 2, -0.2])).toEqual([1, -1, 2, -0]));
});

describe('binary ops', () => {
  it('ADD with int wraparound per dtype', () => {
    expect(bin('ADD', [1.5, -2], [2, 0.25], 'float64')).toEqual([3.5, -1.75]);
    expect(bin('ADD', [2 ** 31 - 1, -(2 ** 31)], [1, -1], 'int32')).toEqual([-(2 ** 31), 2 ** 31 - 1]);
    expect(bin('ADD', [127, -128], [1, -1], 'int8')).toEqual([-128, 127]);
    expect(bin('ADD', [32767], [1], 'int16')).toEqual([-32768]);
    expect(bin('ADD', [255, 0], [1, 255], 'uint8')).toEqual([0, 255]);
    expect(bin('ADD', [2 ** 52], [1], 'int64')).toEqual([2 ** 52 + 1]);
    expect(bin('ADD', [1, 1, 0], [1, 0, 0], 'bool')).toEqual([1, 1, 0]);
  });

  it('MUL wraps int32 like a 32-bit multiply', () => {
    expect(bin('MUL', [1.5, -2], [2, 3], 'float32')).toEqual([3, -6]);
    expect(bin('MUL', [65536, 123456789, -3], [65536, 987654321, 7], 'int32')).toEqual([0, Math.imul(123456789, 987654321), -21]);
    expect(bin('MUL', [16], [16], 'uint8')).toEqual([0]);
    expect(bin('MUL', [100], [3], 'int8')).toEqual([44]);
    expect(bin('MUL', [2 ** 26], [2 ** 26], 'int64')).toEqual([2 ** 52]);
  });

  it('IDIV truncates toward zero; x / 0 is 0', () => {
    expect(bin('IDIV', [7, -7, 7, -7, 5, 0], [2, 2, -2, -2, 0, 3], 'int32')).toEqual([3, -3, -3, 3, 0, 0]);
    expect(bin('IDIV', [2 ** 53 - 1, -9], [2, 4], 'int64')).toEqual([2 ** 52 - 1, -2]);
    expect(bin('IDIV', [200], [3], 'uint8')).toEqual([66]);
  });

  it('MOD is the truncated remainder with the sign of the dividend', () => {
    expect(bin('MOD', [5.5, -5.5, 5.5, -0], [2, 2, -2, 3], 'float64')).toEqual([1.5, -1.5, 1.5, -0]);
    expect(bin('MOD', [7, -7, 7, -7, 3], [3, 3, -3, -3, 0], 'int32')).toEqual([1, -1, 1, -1, 0]);
    expect(bin('MOD', [1], [0], 'float64')).toEqual([NaN]);
  });

  it('MAX propagates NaN', () => {
    expect(bin('MAX', [1, -3, NaN, 2], [2, -4, 1, NaN], 'float32')).toEqual([2, -3, NaN, NaN]);
    expect(bin('MAX', [-5], [3], 'int8')).toEqual([3]);
  });

  it('CMPLT and CMPEQ give bool 0/1; NaN compares false', () => {
    const lt = binaryNode('CMPLT', buf([1, 2, NaN, 3]), buf([2, 2, 1, NaN]));
    expect(lt.dtype).toBe('bool');
    expect(run(lt)).toEqual([1, 0, 0, 0]);
    expect(bin('CMPEQ', [1, 2, NaN, -0], [1, 3, NaN, 0], 'float32')).toEqual([1, 0, 0, 1]);
    expect(bin('CMPLT', [-1], [1], 'int64')).toEqual([1]);
  });

  it('AND, OR, XOR are bitwise; int64 beyond 32 bits via BigInt', () => {
    expect(bin('AND', [12, -1], [10, 6], 'int32')).toEqual([8, 6]);
    expect(bin('OR', [12, -8], [10, 3], 'int32')).toEqual([14, -5]);
    expect(bin('XOR', [12, -1], [10, 0], 'int32')).toEqual([6, -1]);
    expect(bin('AND', [2 ** 40 + 3, -1], [2 ** 40 + 5, 2 ** 45], 'int64')).toEqual([2 ** 40 + 1, 2 ** 45]);
    expect(bin('OR', [2 ** 40], [2 ** 33], 'int64')).toEqual([2 ** 40 + 2 ** 33]);
    expect(bin('XOR', [2 ** 40 + 1], [-1], 'int64')).toEqual([-(2 ** 40) - 2]);
    expect(bin('XOR', [1, 1, 0], [1, 0, 0], 'bool')).toEqual([0, 1, 0]);
    expect(bin('AND', [200], [100], 'uint8')).toEqual([64]);
  });

  it('SHL and SHR are arithmetic and wrap to the dtype', () => {
    expect(bin('SHL', [1, 3, 1, -1], [4, 30, 31, 1], 'int32')).toEqual([16, -(2 ** 30), -(2 ** 31), -2]);
    expect(bin('SHR', [-8, 16, -1, -(2 ** 31)], [1, 2, 5, 31], 'int32')).toEqual([-4, 4, -1, -1]);
    expect(bin('SHL', [64, 1], [1, 7], 'int8')).toEqual([-128, -128]);
    expect(bin('SHR', [200], [3], 'uint8')).toEqual([25]);
    expect(bin('SHL', [3, 1], [40, 63], 'int64')).toEqual([3 * 2 ** 40, -(2 ** 63)]);
    expect(bin('SHR', [-(2 ** 40)], [38], 'int64')).toEqual([-4]);
  });

  it('out-of-range shift amounts: SHL gives 0, SHR the sign fill (as PyTorch)', () => {
    expect(bin('SHL', [1, 5, 5], [32, 40, -1], 'int32')).toEqual([0, 0, 0]);
    expect(bin('SHR', [-5, 5, -5], [32, 40, -1], 'int32')).toEqual([-1, 0, -1]);
    expect(bin('SHL', [1], [64], 'int64')).toEqual([0]);
  });
});

describe('WHERE', () => {
  it('picks from the second source where the bool condition holds', () => {
    const cond = buf([1, 0, 1, 0], 'bool');
    expect(run(whereNode(cond, buf([1, 2, 3, 4]), buf([-1, -2, -3, -4])))).toEqual([1, -2, 3, -4]);
  });
});

describe('CAST', () => {
  it('float → int truncates toward zero, NaN → 0, then wraps', () => {
    expect(cast([1.9, -1.9, NaN, 2 ** 31 + 5, -0.5], 'float32', 'int32')).toEqual([1, -1, 0, -(2 ** 31) + 5, 0]);
    expect(cast([-1, 256.5, 300, 255.9], 'float32', 'uint8')).toEqual([255, 0, 44, 255]);
    expect(cast([127.9, 128, -129], 'float64', 'int8')).toEqual([127, -128, 127]);
    expect(cast([40000.7], 'float64', 'int16')).toEqual([-25536]);
    expect(cast([NaN, -2.5, 2 ** 40 + 0.5], 'float64', 'int64')).toEqual([0, -2, 2 ** 40]);
  });

  it('anything → bool is x != 0, so NaN is true', () => {
    expect(cast([0, -0, 0.1, NaN, -3, Infinity], 'float32', 'bool')).toEqual([0, 0, 1, 1, 1, 1]);
    expect(cast([0, 5, -7], 'int32', 'bool')).toEqual([0, 1, 1]);
  });

  it('bool → number is 0/1', () => {
    expect(cast([1, 0], 'bool', 'float32')).toEqual([1, 0]);
    expect(cast([1, 0], 'bool', 'int64')).toEqual([1, 0]);
  });

  it('int → float keeps the value; int widening and narrowing wraps', () => {
    expect(cast([-(2 ** 31), 7], 'int32', 'float64')).toEqual([-(2 ** 31), 7]);
    expect(cast([-1, 255], 'int32', 'uint8')).toEqual([255, 255]);
    expect(cast([255], 'uint8', 'int8')).toEqual([-1]);
    expect(cast([2 ** 32 + 3], 'int64', 'int32')).toEqual([3]);
  });

  it('float64 → float32 rounds only under exactFloat32', () => {
    const n = castNode(buf([0.1], 'float64'), 'float32');
    expect(run(n)).toEqual([0.1]);
    expect(run(n, { exactFloat32: true })).toEqual([Math.fround(0.1)]);
  });
});

describe('exactFloat32', () => {
  it('rounds every float32 op result, and leaves float64 alone', () => {
    const f32 = binaryNode('ADD', buf([0.1]), buf([0.2]));
    expect(run(f32)).toEqual([0.1 + 0.2]);
    expect(run(f32, { exactFloat32: true })).toEqual([Math.fround(Math.fround(0.1) + Math.fround(0.2))]);
    const f64 = binaryNode('ADD', buf([0.1], 'float64'), buf([0.2], 'float64'));
    expect(run(f64, { exactFloat32: true })).toEqual([0.1 + 0.2]);
  });

  it('treats float16 and bfloat16 like float32', () => {
    const h = unaryNode('SQRT', buf([2], 'float16'));
    expect(run(h, { exactFloat32: true })).toEqual([Math.fround(Math.SQRT2)]);
    expect(run(h)).toEqual([Math.SQRT2]);
  });
});

describe('BITCAST', () => {
  it('reinterprets float32 and int32 bits', () => {
    expect(bitcast([1, -2, 0], 'float32', 'int32')).toEqual([0x3f800000, -0x40000000, 0]);
    expect(bitcast([0x40490fdb], 'int32', 'float32')).toEqual([Math.fround(Math.PI)]);
    expect(bitcast([-1], 'int32', 'float32')).toEqual([NaN]);
  });

  it('reinterprets 1-, 2- and 8-byte types', () => {
    expect(bitcast([255, 128, 1], 'uint8', 'int8')).toEqual([-1, -128, 1]);
    expect(bitcast([1, -2, 65504], 'float16', 'int16')).toEqual([0x3c00, -16384, 0x7bff]);
    expect(bitcast([1, -2], 'bfloat16', 'int16')).toEqual([0x3f80, -16384]);
    expect(bitcast([0x3c00, 0x0001], 'int16', 'float16')).toEqual([1, 2 ** -24]);
    expect(bitcast([1, -0], 'float64', 'int64')).toEqual([0x3ff0000000000000, -(2 ** 63)]);
    expect(bitcast([0x4000000000000000], 'int64', 'float64')).toEqual([2]);
    expect(bitcast([1, 0], 'bool', 'uint8')).toEqual([1, 0]);
  });

  it('float16 encoding rounds to nearest even and saturates to infinity', () => {
    expect(float16Bits(1 + 2 ** -11)).toBe(0x3c00); // halfway: ties to even
    expect(float16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(float16Bits(65519)).toBe(0x7bff);
    expect(float16Bits(65520)).toBe(0x7c00);
    expect(float16Bits(-Infinity)).toBe(0xfc00);
    expect(float16Bits(2 ** -25)).toBe(0); // halfway to the smallest subnormal: ties to even
    expect(float16Bits(2 ** -14 - 2 ** -26)).toBe(0x0400); // rounds up into the normals
    expect(float16FromBits(float16Bits(NaN))).toBeNaN();
    for (const x of [0.5, -3.25, 1000, 6.103515625e-5, 2 ** -20]) expect(float16FromBits(float16Bits(x))).toBe(x);
  });

  it('bfloat16 encoding rounds to nearest even', () => {
    expect(bfloat16Bits(1)).toBe(0x3f80);
    expect(bfloat16Bits(1 + 2 ** -8)).toBe(0x3f80); // halfway: ties to even
    expect(bfloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(bfloat16FromBits(0xc040)).toBe(-3);
    expect(bfloat16FromBits(bfloat16Bits(NaN))).toBeNaN();
  });
});

describe('REDUCE', () => {
  const x = iota([2, 3, 4]); // x[i][j][k] = 12i + 4j + k

  it('adds over several axes, keeping them as size 1', () => {
    const r = reduceNode(x, 'add', [0, 2]);
    expect(r.shape).toEqual([1, 3, 1]);
    expect(run(r)).toEqual([60, 92, 124]);
    const all = reduceNode(x, 'add', [0, 1, 2]);
    expect(all.shape).toEqual([1, 1, 1]);
    expect(run(all)).toEqual([276]);
  });

  it('takes the max over the middle axis', () => {
    const r = reduceNode(x, 'max', [1]);
    expect(r.shape).toEqual([2, 1, 4]);
    expect(run(r)).toEqual([8, 9, 10, 11, 20, 21, 22, 23]);
  });

  it('multiplies over the last axis', () => {
    const r = reduceNode(buf([1, 2, 3, 4, 5, 6], 'float32', [2, 3]), 'mul', [1]);
    expect(r.shape).toEqual([2, 1]);
    expect(run(r)).toEqual([6, 120]);
  });

  it('max propagates NaN; empty reductions give the identity', () => {
    expect(run(reduceNode(buf([1, NaN, 3]), 'max', [0]))).toEqual([NaN]);
    const empty = buf([], 'float32', [0, 2]);
    expect(run(reduceNode(empty, 'add', [0]))).toEqual([0, 0]);
    expect(run(reduceNode(empty, 'mul', [0]))).toEqual([1, 1]);
    expect(run(reduceNode(empty, 'max', [0]))).toEqual([-Infinity, -Infinity]);
  });

  it('accumulates in float64 and normalizes the result to the dtype', () => {
    expect(run(reduceNode(buf([2 ** 30, 2 ** 30, 2 ** 30], 'int32'), 'add', [0]))).toEqual([-(2 ** 30)]);
    expect(run(reduceNode(buf([1e8, 1, -1e8]), 'add', [0]), { exactFloat32: true })).toEqual([1]);
  });
});

describe('movement ops', () => {
  it('RESHAPE reinterprets row-major', () => {
    const r = reshapeNode(iota([2, 3]), [3, 2]);
    expect(r.shape).toEqual([3, 2]);
    expect(run(r)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('PERMUTE: output dim i is input dim order[i]', () => {
    const p = permuteNode(iota([2, 3]), [1, 0]);
    expect(p.shape).toEqual([3, 2]);
    expect(run(p)).toEqual([0, 3, 1, 4, 2, 5]);
    const q = permuteNode(iota([2, 3, 4]), [2, 0, 1]); // q[k][i][j] = 12i + 4j + k
    expect(q.shape).toEqual([4, 2, 3]);
    expect(run(q).slice(0, 8)).toEqual([0, 4, 8, 12, 16, 20, 1, 5]);
  });

  it('EXPAND broadcasts size-1 dims', () => {
    const e = expandNode(buf([1, 2, 3], 'float32', [3, 1]), [3, 2]);
    expect(run(e)).toEqual([1, 1, 2, 2, 3, 3]);
    const f = expandNode(buf([1, 2], 'float32', [1, 2]), [3, 2]);
    expect(run(f)).toEqual([1, 2, 1, 2, 1, 2]);
  });

  it('PAD puts zeros outside', () => {
    const p = padNode(buf([1, 2, 3, 4], 'float32', [2, 2]), [
      [1, 0],
      [0, 2],
    ]);
    expect(p.shape).toEqual([3, 4]);
    expect(run(p)).toEqual([0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0]);
  });

  it('SHRINK keeps [start, end) per dim', () => {
    const s = shrinkNode(iota([3, 4]), [
      [1, 3],
      [1, 4],
    ]);
    expect(s.shape).toEqual([2, 3]);
    expect(run(s)).toEqual([5, 6, 7, 9, 10, 11]);
  });

  it('FLIP reverses the listed axes', () => {
    expect(run(flipNode(iota([2, 3]), [1]))).toEqual([2, 1, 0, 5, 4, 3]);
    expect(run(flipNode(iota([2, 3]), [0, 1]))).toEqual([5, 4, 3, 2, 1, 0]);
  });

  it('composes permute, shrink, flip, pad', () => {
    const a = iota([2, 3, 4]); // a[i][j][k] = 12i + 4j + k
    const p = permuteNode(a, [2, 0, 1]); // [4,2,3]: p[x][y][z] = 12y + 4z + x
    const s = shrinkNode(p, [
      [1, 3],
      [0, 2],
      [1, 3],
    ]); // [2,2,2]: 12y + 4z + x + 5
    const f = flipNode(s, [0, 2]); // 12y - 4z - x + 10
    const q = padNode(f, [
      [0, 1],
      [1, 0],
      [0, 0],
    ]); // [3,3,2]
    expect(q.shape).toEqual([3, 3, 2]);
    expect(run(q)).toEqual([0, 0, 10, 6, 22, 18, 0, 0, 9, 5, 21, 17, 0, 0, 0, 0, 0, 0]);
    const r = reshapeNode(q, [2, 9]);
    expect(run(shrinkNode(r, [
      [0, 2],
      [2, 5],
    ]))).toEqual([10, 6, 22, 17, 0, 0]);
  });

  it('composes reshape, expand, permute, flip, pad, shrink', () => {
    const e = expandNode(reshapeNode(arangeNode(0, 1, 3, 'float32', 'cpu'), [3, 1]), [3, 4]); // rows [i,i,i,i]
    const t = permuteNode(e, [1, 0]); // [4,3], rows [0,1,2]
    expect(run(t)).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
    const fl = flipNode(t, [1]); // rows [2,1,0]
    const pd = padNode(fl, [
      [0, 0],
      [2, 1],
    ]); // [4,6], rows [0,0,2,1,0,0]
    const sh = shrinkNode(pd, [
      [1, 3],
      [1, 5],
    ]); // [2,4], rows [0,2,1,0]
    expect(sh.shape).toEqual([2, 4]);
    expect(run(sh)).toEqual([0, 2, 1, 0, 0, 2, 1, 0]);
    const fused = reshapeNode(sh, [8]);
    expect(run(binaryNode('ADD', fused, arangeNode(0, 10, 8, 'float32', 'cpu')))).toEqual([0, 12, 21, 30, 40, 52, 61, 70]);
  });
});

describe('effect ops', () => {
  it('CONTIGUOUS, DETACH and COPY are the identity on values', () => {
    const x = permuteNode(iota([2, 2]), [1, 0]);
    expect(run(contiguousNode(x))).toEqual([0, 2, 1, 3]);
    expect(run(detachNode(x))).toEqual([0, 2, 1, 3]);
    expect(run(copyNode(x, 'webgpu'))).toEqual([0, 2, 1, 3]);
  });

  it('ASSIGN reads as its value and does not read the target', () => {
    const target = bufferNode('float32', [2], 'cpu'); // never written: no data
    expect(run(assignNode(target, buf([4, 5])))).toEqual([4, 5]);
  });
});

describe('deep graphs', () => {
  it('evaluates a 5000-node elementwise chain without overflowing the stack', () => {
    let x = buf([0, 1], 'int32');
    const one = constNode(1, 'int32', [2], 'cpu');
    for (let i = 0; i < 5000; i++) x = binaryNode('ADD', x, one);
    expect(run(x)).toEqual([5000, 5001]);
  });

  it('evaluates a 5000-deep alternating unary/movement chain', () => {
    let x = iota([2, 3]);
    for (let i = 0; i < 2500; i++) x = unaryNode('NEG', permuteNode(x, [1, 0]));
    expect(x.shape).toEqual([2, 3]);
    expect(run(x)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
