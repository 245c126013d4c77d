import { describe, expect, it } from 'vitest';
import {
  arangeNode,
  binaryNode,
  bitcastNode,
  castNode,
  constNode,
  expandNode,
  flipNode,
  padNode,
  permuteNode,
  randNode,
  reduceNode,
  reshapeNode,
  shrinkNode,
  UNARY,
  unaryNode,
  whereNode,
  type DType,
  type Node,
  type Op,
  type UnaryOp,
} from '@fusor/ir';
import { cpuBackend, layoutOf, memoryImport, renderWasm, renderWasmText } from '../src/index.js';
import { Unsupported } from '../src/render-wasm.js';
import { buf, kernelOf, reference, run, same, ulps } from './kernels.js';

// Kernels built from IR and run through the WebAssembly renderer (SIMD and scalar) against the
// reference interpreter, which defines every op.

const FLOATS = [0, -0, 1, -1, 0.5, -2.75, 3.3, 1e-3, -1e5, 123456.7, NaN, Infinity, -Infinity, 1e30, -1e-30, 7, -0.1, 2.5, -3.5, 0.25, 100, -7.75, 1.5, 42, 9.99, -6, 0.125, 64, 3, -1.25, 1e-7, 17.5, -0.75, 8, 2, 1e-40, -88.5];
const DIVISORS = [3, -2, 0, 0.5, 7, NaN, -1, 1e10, 2, 3, -0, 4, 5, -3, 1.5, 0.1, 9, 1, 11, -5, 6, 2, 7, 3, 4, 0.3, 2, -8, 3, 5, Infinity, 2, -2, 3, 1, 0.5, 3];
const INTS = [0, 1, -1, 2, -2, 7, -7, 2147483647, -2147483648, 65535, 1000, -1000, 3, 12345, -99, 127, -128, 255, 256, 32767, -32768, 5, -3, 100, 64, 9, -15, 1 << 30, 77, -77, 31, 8, 4, 6, -5, 11, 13];
const INT_DIVISORS = [3, -2, 0, 1, -1, 7, 5, -1, 2, 0, -3, 9, 4, 6, -7, 3, 2, 1, 5, -4, 8, 3, 2, 9, -5, 6, 7, 3, 11, 2, 4, 3, 0, 5, -2, 3, 4];

/** Values of a dtype, brought into its range (wrapped as a cast would). */
function valuesOf(base: readonly number[], dtype: DType): number[] {
  switch (dtype) {
    case 'bool':
      return base.map((v) => (v !== 0 ? 1 : 0));
    case 'uint8':
      return base.map((v) => v & 255);
    case 'int8':
      return base.map((v) => (v << 24) >> 24);
    case 'int16':
      return base.map((v) => (v << 16) >> 16);
    case 'int32':
      return base.map((v) => v | 0);
    case 'float32':
      return base.map(Math.fround);
    default:
      return [...base];
  }
}

/**
 * Whether `root` computes exp2, log2 or an op WebAssembly renders by its fallback (@fusor/ir
 * UNARY: expm1 …): accurate to a few ulps rather than correctly rounded.
 */
function approximate(root: Node): boolean {
  const seen = new Set<Node>();
  const walk = (n: Node): boolean => {
    if (seen.has(n)) return false;
    seen.add(n);
    return n.op === 'EXP2' || n.op === 'LOG2' || UNARY[n.op as UnaryOp]?.fallback !== undefined || n.src.some(walk);
  };
  return walk(root);
}

/** The kernel's output on both WebAssembly paths equals the interpreter's (within 2 ulp where approximate). */
function expectReference(root: Node): void {
  const want = reference(root);
  for (const simd of [true, false]) {
    const got = run(root, { renderer: 'wasm', simd, threads: 1 });
    if (!approximate(root)) {
      expect(same(got, want), `${root.op} ${root.dtype} simd=${simd}: ${got} vs ${want}`).toBe(true);
      continue;
    }
    got.forEach((g, i) => {
      const w = want[i]!;
      const err = root.dtype === 'float64' ? (w === g || (Number.isNaN(w) && Number.isNaN(g)) ? 0 : Math.abs(g - w) / Math.abs(w)) : ulps(g, w);
      expect(err, `${root.op} ${root.dtype} simd=${simd} at ${i}: ${g} vs ${w}`).toBeLessThanOrEqual(root.dtype === 'float64' ? 1e-14 : 2);
    });
  }
}

const c = (v: number, like: Node): Node => constNode(v, like.dtype, like.shape, like.device);

describe('the WebAssembly renderer', () => {
  it('emits a module the engine validates, exporting run(start, end, args)', () => {
    const x = buf(FLOATS);
    const { kernel } = kernelOf(binaryNode('MUL', x, c(2, x)));
    const bytes = renderWasm(kernel, memoryImport());
    expect(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)).toBe(true);
    const mod = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
    expect(WebAssembly.Module.exports(mod).map((e) => e.name)).toEqual(['run']);
    expect(WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}:${i.kind}`)).toEqual(['env.sin:function', 'env.fmod:function', 'env.memory:memory']);
    expect(layoutOf(mod).mode).toBe('gid');
  });

  it('vectorizes a contiguous elementwise kernel with f32x4 and keeps a scalar tail', () => {
    const x = buf(FLOATS);
    const { kernel } = kernelOf(binaryNode('ADD', binaryNode('MUL', x, c(2, x)), c(1, x)));
    const simd = renderWasmText(kernel, { simd: true });
    expect(simd).toContain('v128.load');
    expect(simd).toContain('f32x4.mul');
    expect(simd).toContain('f32x4.add');
    expect(simd).toContain('v128.store');
    expect(simd).toContain('f32.mul'); // the tail
    const scalar = renderWasmText(kernel, { simd: false });
    expect(scalar).not.toContain('f32x4');
  });

  // every unary primitive, the ones rendered by their fallback too
  const unary = Object.keys(UNARY) as UnaryOp[];
  for (const dtype of ['float32', 'float64'] as const) {
    it(`computes every unary op on ${dtype} as the interpreter does`, () => {
      const x = buf(valuesOf(FLOATS, dtype), dtype);
      for (const op of unary) expectReference(unaryNode(op, x));
    });
  }

  const binary: readonly Op[] = ['ADD', 'MUL', 'MOD', 'MAX', 'CMPLT', 'CMPEQ'];
  for (const dtype of ['float32', 'float64'] as const) {
    it(`computes every binary op on ${dtype} as the interpreter does (x % 0, NaN, ±inf, −0)`, () => {
      const a = buf(valuesOf(FLOATS, dtype), dtype);
      const b = buf(valuesOf(DIVISORS, dtype), dtype);
      for (const op of binary) expectReference(binaryNode(op, a, b));
      expectReference(whereNode(binaryNode('CMPLT', a, b), a, b));
    });
  }

  for (const dtype of ['int32', 'int16', 'int8', 'uint8', 'int64'] as const) {
    it(`computes integer ops on ${dtype}, wrapping to its width; x / 0 and x % 0 are 0, INT_MIN / -1 wraps`, () => {
      const a = buf(valuesOf(INTS, dtype), dtype);
      const b = buf(valuesOf(INT_DIVISORS, dtype), dtype);
      for (const op of [...binary, 'IDIV', 'AND', 'OR', 'XOR'] as Op[]) expectReference(binaryNode(op, a, b));
      expectReference(unaryNode('NEG', a));
      expectReference(whereNode(binaryNode('CMPLT', a, b), a, b));
      const width = dtype === 'int64' ? 63 : dtype === 'int32' ? 31 : dtype === 'int16' ? 15 : 7;
      const shifts = buf(INTS.map((_, i) => i % (width + 1)), dtype);
      expectReference(binaryNode('SHL', a, shifts));
      expectReference(binaryNode('SHR', a, shifts));
    });
  }

  it('computes bool logic with lane masks', () => {
    const a = buf(valuesOf(INTS, 'bool'), 'bool');
    const b = buf(valuesOf(INT_DIVISORS, 'bool'), 'bool');
    for (const op of ['AND', 'OR', 'XOR', 'CMPEQ', 'CMPLT', 'MAX'] as Op[]) expectReference(binaryNode(op, a, b));
    expectReference(whereNode(a, b, binaryNode('XOR', b, c(1, b))));
  });

  it('casts between every pair of dtypes as the interpreter does (truncation, modular wrap, NaN → 0, NaN is true)', () => {
    const dtypes: DType[] = ['bool', 'uint8', 'int8', 'int16', 'int32', 'int64', 'float32', 'float64'];
    const edge = [...FLOATS.slice(0, 30), 3e9, -3e9, 2 ** 40 + 0.5, 300.7, -129.9, 65537, 2 ** 31];
    // int64 reads back as BigInt64Array: no infinities, and wrapped past ±2^63
    const toInt64 = edge.filter((v) => Math.abs(v) < 2 ** 62);
    for (const from of dtypes) {
      for (const to of dtypes) {
        if (to === from) continue;
        const vals = from.startsWith('float') ? (to === 'int64' ? toInt64 : edge) : INTS;
        expectReference(castNode(buf(valuesOf(vals, from), from), to));
      }
    }
  });

  it('bitcasts float32 ↔ int32 and float64 ↔ int64', () => {
    expectReference(bitcastNode(buf(valuesOf(FLOATS, 'float32')), 'int32'));
    expectReference(bitcastNode(buf(valuesOf(INTS, 'int32'), 'int32'), 'float32'));
    expectReference(bitcastNode(buf([1, -2, 0.5, 1e300, -0], 'float64'), 'int64'));
    expectReference(bitcastNode(buf([0, 1, -1, 4607182418800017408, 2 ** 52], 'int64'), 'float64'));
  });

  it('draws the counter-based random numbers bit for bit, and arange', () => {
    expectReference(randNode(7, 100, [37], 'float32', 'cpu'));
    expectReference(randNode(-3, 2 ** 31 - 5, [9], 'float64', 'cpu'));
    expectReference(unaryNode('NEG', arangeNode(-3, 0.1, 37, 'float32', 'cpu')));
    expectReference(arangeNode(5, -2, 37, 'int32', 'cpu'));
  });

  it('reads views: permuted and strided (gathered), expanded (uniform), padded and flipped (masked)', () => {
    const x = buf(valuesOf(FLOATS.slice(0, 36), 'float32'), 'float32', [6, 6]);
    const views: Node[] = [
      permuteNode(x, [1, 0]),
      expandNode(reshapeNode(shrinkNode(x, [[0, 1], [0, 6]]), [1, 6]), [6, 6]),
      expandNode(reshapeNode(shrinkNode(x, [[0, 6], [2, 3]]), [6, 1]), [6, 6]),
      padNode(x, [[1, 2], [3, 0]]),
      flipNode(x, [0, 1]),
      shrinkNode(flipNode(padNode(x, [[0, 0], [5, 5]]), [1]), [[1, 5], [2, 14]]),
    ];
    for (const v of views) expectReference(binaryNode('ADD', v, c(1, v)));
    const i = buf(valuesOf(INTS.slice(0, 36), 'int8'), 'int8', [6, 6]);
    expectReference(binaryNode('MUL', padNode(permuteNode(i, [1, 0]), [[2, 2], [1, 1]]), c(3, padNode(permuteNode(i, [1, 0]), [[2, 2], [1, 1]]))));
  });

  it('reduces over the contiguous axis (inner loop vectorized), over the outer axis (four outputs per step), and over several axes', () => {
    const vals = Array.from({ length: 24 * 40 }, (_, k) => Math.fround(Math.sin(k) * 10));
    const x = buf(vals, 'float32', [24, 40]);
    const inner = reduceNode(x, 'add', [1]);
    const outer = reduceNode(x, 'add', [0]);
    expect(layoutOf(new WebAssembly.Module(renderWasm(kernelOf(inner).kernel, memoryImport()) as Uint8Array<ArrayBuffer>)).mode).toBe('inner');
    expect(layoutOf(new WebAssembly.Module(renderWasm(kernelOf(outer).kernel, memoryImport()) as Uint8Array<ArrayBuffer>)).mode).toBe('gid');
    // four partial sums combined at the end: a different order, still within a float32 rounding
    const want = reference(inner);
    run(inner, { simd: true }).forEach((g, i) => expect(ulps(g, want[i]!)).toBeLessThanOrEqual(1));
    expect(run(inner, { simd: false })).toEqual(want);
    expectReference(outer);
    for (const op of ['max', 'mul'] as const) {
      expectReference(reduceNode(x, op, [1]));
      expectReference(reduceNode(x, op, [0]));
    }
    const x3 = buf(vals, 'float32', [4, 6, 40]);
    expectReference(reduceNode(x3, 'add', [0, 2]));
    expectReference(reduceNode(x3, 'max', [0, 1]));
  });

  it('computes a matmul through the reduction kernel, 16 outputs per step where the row index stays uniform', () => {
    const cases: [number, number, number, number][] = [
      [6, 40, 32, 4], // n = 32: IDIV(gid, 32) is the same over 16 consecutive outputs
      [5, 7, 20, 1], // n = 20: only over 4
      [3, 9, 8, 2],
    ];
    for (const [m, k, n, copies] of cases) {
      const a = buf(Array.from({ length: m * k }, (_, i) => Math.fround(Math.sin(i))), 'float32', [m, k]);
      const b = buf(Array.from({ length: k * n }, (_, i) => Math.fround(Math.cos(i))), 'float32', [k, n]);
      const prod = binaryNode('MUL', expandNode(reshapeNode(a, [m, 1, k]), [m, n, k]), expandNode(reshapeNode(permuteNode(b, [1, 0]), [1, n, k]), [m, n, k]));
      const mm = reshapeNode(reduceNode(prod, 'add', [2]), [m, n]);
      const layout = layoutOf(new WebAssembly.Module(renderWasm(kernelOf(mm).kernel, memoryImport()) as Uint8Array<ArrayBuffer>));
      expect(layout).toMatchObject({ mode: 'gid', copies });
      expectReference(mm);
    }
  });

  it('reduces ints with wrapping accumulators, bools with any/all, and float64/int64 in float64', () => {
    for (const dtype of ['int32', 'int8', 'uint8', 'int16', 'int64', 'float64', 'bool'] as const) {
      // int64 products stay inside ±2^63 (it reads back as BigInt64Array)
      const base = dtype === 'int64' ? [...INTS, ...INTS, ...INTS.slice(0, 6)].map((v) => (v % 50) - 1) : [...INTS, ...INTS, ...INTS.slice(0, 6)];
      const x = buf(valuesOf(base, dtype), dtype, [8, 10]);
      for (const op of ['add', 'max', 'mul'] as const) {
        expectReference(reduceNode(x, op, [1]));
        expectReference(reduceNode(x, op, [0]));
      }
    }
  });

  it('reduces padded views and empty axes', () => {
    const x = buf(valuesOf(FLOATS.slice(0, 30), 'float32'), 'float32', [5, 6]);
    expectReference(reduceNode(padNode(x, [[1, 1], [3, 4]]), 'add', [1]));
    expectReference(reduceNode(padNode(x, [[1, 1], [3, 4]]), 'max', [0]));
    const empty = buf([], 'float32', [4, 0]);
    expectReference(reduceNode(empty, 'add', [1]));
    expectReference(reduceNode(empty, 'max', [1]));
  });

  it('fuses an elementwise prologue and epilogue around a reduction, and reads a broadcast row (softmax-like)', () => {
    const x = buf(Array.from({ length: 12 * 33 }, (_, k) => Math.fround(Math.cos(k) * 5)), 'float32', [12, 33]);
    const e = unaryNode('EXP2', binaryNode('MUL', x, c(1.5, x)));
    expectReference(unaryNode('RECIP', reduceNode(e, 'add', [1])));
    const m = buf(Array.from({ length: 12 }, (_, k) => k / 3), 'float32', [12, 1]);
    expectReference(unaryNode('EXP2', binaryNode('ADD', x, unaryNode('NEG', expandNode(m, [12, 33])))));
  });

  it('splits a long reduction into chunks combined in a fixed order (partial, finish)', () => {
    const n = 300_000;
    const vals = Array.from({ length: n }, (_, k) => Math.fround(((k * 7919) % 1000) / 1000 - 0.5));
    const x = buf(vals);
    const sum = reduceNode(x, 'add', [0]);
    const layout = layoutOf(new WebAssembly.Module(renderWasm(kernelOf(sum).kernel, memoryImport()) as Uint8Array<ArrayBuffer>));
    expect(layout.split?.bounds.length).toBe(65);
    expect(layout.split?.bounds.every((b, i, all) => b % 4 === 0 || i === all.length - 1)).toBe(true);
    const want = reference(sum)[0]!;
    for (const simd of [true, false]) expect(Math.abs(run(sum, { simd })[0]! - want)).toBeLessThanOrEqual(Math.abs(want) * 1e-6);
    const i = buf(vals.map((v) => Math.round(v * 1000)), 'int32');
    expectReference(reduceNode(i, 'add', [0]));
    // few outputs, each a long column: split, and vectorized over 16 outputs per step
    const cols = buf(vals.slice(0, 24 * 5000), 'float32', [5000, 24]);
    const colSums = reduceNode(cols, 'add', [0]);
    expect(layoutOf(new WebAssembly.Module(renderWasm(kernelOf(colSums).kernel, memoryImport()) as Uint8Array<ArrayBuffer>))).toMatchObject({ mode: 'gid', copies: 4, split: {} });
    const wantCols = reference(colSums);
    for (const simd of [true, false]) run(colSums, { simd }).forEach((g, j) => expect(ulps(g, wantCols[j]!)).toBeLessThanOrEqual(1));
    expectReference(reduceNode(i, 'max', [0]));
    expectReference(reduceNode(x, 'max', [0]));
  });

  it('runs the same program under either renderer, switched between launches', () => {
    const x = buf(valuesOf(FLOATS, 'float32'));
    const root = unaryNode('SQRT', binaryNode('MUL', x, x));
    const { kernel, inputs } = kernelOf(root);
    const program = cpuBackend.compile(cpuBackend.render(kernel), kernel);
    const out = cpuBackend.alloc('float32', root.size, 0);
    const inp = cpuBackend.alloc('float32', x.size, 0);
    cpuBackend.write(inp, Float32Array.from(valuesOf(FLOATS, 'float32')));
    expect(inputs).toHaveLength(1);
    const results = (['js', 'wasm'] as const).map((renderer) => run(root, { renderer }));
    expect(same(results[0]!, results[1]!)).toBe(true);
    cpuBackend.launch(program, [out, inp], []);
    expect(same(Array.from(out.data), results[0]!)).toBe(true);
  });

  it('leaves to the JavaScript renderer what WebAssembly does not hold', () => {
    const h = buf([1, 2], 'float16');
    const { kernel } = kernelOf(unaryNode('NEG', h));
    expect(() => renderWasm(kernel, memoryImport())).toThrow(Unsupported);
    expect(typeof cpuBackend.render(kernel).source).toBe('string');
  });
});

describe('exp2 and log2 in WebAssembly', () => {
  const grid = (lo: number, hi: number, n: number): number[] => Array.from({ length: n }, (_, k) => lo + ((hi - lo) * k) / (n - 1));

  it('float32 exp2 is within 1 ulp of the correctly rounded result, overflows to inf and underflows to 0', () => {
    const xs = [...grid(-160, 140, 4001), ...grid(-1, 1, 2001), 127.99, 128, -149, -150, -126.5, NaN, Infinity, -Infinity].map(Math.fround);
    const got = run(unaryNode('EXP2', buf(xs)), { simd: true });
    const scalar = run(unaryNode('EXP2', buf(xs)), { simd: false });
    expect(same(got, scalar)).toBe(true);
    xs.forEach((x, i) => expect(ulps(got[i]!, Math.fround(2 ** x)), `exp2(${x})`).toBeLessThanOrEqual(1));
    // past the float32 range: exact 0 and inf, never a wrapped exponent
    for (const [x, want] of [[-151, 0], [-160, 0], [128, Infinity], [140, Infinity]] as const) expect(got[xs.indexOf(x)], `exp2(${x})`).toBe(want);
    expect(Number.isFinite(got[xs.indexOf(Math.fround(127.99))])).toBe(true);
  });

  it('float32 exp (EXP2 of x·log2 e) reduces its argument exactly: within 1 ulp of e^x where 2^fl(x·log2 e) is 50 ulp off', () => {
    const xs = [...grid(-110, 95, 8001), ...grid(-1, 1, 2001), 88.72, 88.73, -103.9, NaN, Infinity, -Infinity].map(Math.fround);
    const x = buf(xs);
    const e = unaryNode('EXP2', binaryNode('MUL', x, c(Math.LOG2E, x)));
    const got = run(e, { simd: true });
    expect(same(got, run(e, { simd: false }))).toBe(true);
    xs.forEach((v, i) => expect(ulps(got[i]!, Math.fround(Math.exp(v))), `exp(${v})`).toBeLessThanOrEqual(1));
  });

  it('float32 log2 is the correctly rounded result, with log2(0) = -inf, log2(x < 0) = NaN, log2(inf) = inf', () => {
    const xs = [...grid(1e-6, 4, 4001), ...grid(0.5, 2, 2001), 1e-40, 3e38, 0, -0, -1, NaN, Infinity, 1].map(Math.fround);
    const got = run(unaryNode('LOG2', buf(xs)), { simd: true });
    expect(same(got, run(unaryNode('LOG2', buf(xs)), { simd: false }))).toBe(true);
    xs.forEach((x, i) => expect(ulps(got[i]!, Math.fround(Math.log2(x))), `log2(${x})`).toBe(0));
  });

  it('float64 exp2 and log2 are within 4e-15 relative', () => {
    const xs = [...grid(-1070, 1023, 3001), ...grid(-1, 1, 1001)];
    const e = run(unaryNode('EXP2', buf(xs, 'float64')));
    xs.forEach((x, i) => expect(Math.abs(e[i]! - 2 ** x) / 2 ** x, `exp2(${x})`).toBeLessThanOrEqual(4e-15));
    const ys = [...grid(1e-300, 1e300, 3001), ...grid(0.5, 2, 1001), 5e-324, 2.2e-308];
    const l = run(unaryNode('LOG2', buf(ys, 'float64')));
    ys.forEach((y, i) => expect(Math.abs(l[i]! - Math.log2(y)), `log2(${y})`).toBeLessThanOrEqual(Math.max(1e-15 * Math.abs(Math.log2(y)), 1e-16)));
  });
});
