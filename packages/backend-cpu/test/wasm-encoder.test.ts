import { describe, expect, it } from 'vitest';
import { Code, F32, F64, I32, I64, ModuleBuilder, OP, SIMD, V128 } from '../src/wasm-encoder.js';

// The binary encoder: what it emits validates and runs with the meaning of each opcode.

type Exports = Record<string, (...args: number[]) => number | bigint>;

function instantiate(m: ModuleBuilder, imports: WebAssembly.Imports = {}): Exports {
  const bytes = m.bytes() as Uint8Array<ArrayBuffer>;
  expect(WebAssembly.validate(bytes)).toBe(true);
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), imports).exports as unknown as Exports;
}

/** A module with one exported function `f` built by `body`. */
function fn(params: (typeof I32 | typeof I64 | typeof F32 | typeof F64)[], result: typeof I32 | typeof I64 | typeof F32 | typeof F64, body: (c: Code) => void): Exports['f'] {
  const m = new ModuleBuilder();
  const c = new Code(params, [result]);
  body(c);
  m.func(c, 'f');
  return instantiate(m)['f']!;
}

describe('the wasm encoder', () => {
  it('encodes signed LEB128 constants at every width boundary', () => {
    for (const v of [0, 1, -1, 63, 64, -64, -65, 127, 128, 8191, 8192, -8193, 2 ** 20, 2147483647, -2147483648]) {
      expect(fn([], I32, (c) => c.i32(v))()).toBe(v);
    }
    for (const v of [0n, -1n, 2n ** 40n, -(2n ** 63n), 2n ** 63n - 1n]) expect(fn([], I64, (c) => c.i64(v))()).toBe(v);
  });

  it('encodes float constants bit for bit (NaN, ±0, ±inf, subnormals)', () => {
    for (const v of [0, -0, 1.5, -3.25e-40, Infinity, -Infinity, 3.4e38]) expect(Object.is(fn([], F32, (c) => c.f32(v))(), Math.fround(v))).toBe(true);
    expect(fn([], F32, (c) => c.f32(NaN))()).toBeNaN();
    for (const v of [0, -0, 0.1, 5e-324, 1.7976931348623157e308, -Infinity]) expect(Object.is(fn([], F64, (c) => c.f64(v))(), v)).toBe(true);
  });

  it('runs loops, blocks, branches, locals and calls', () => {
    // Σ i for i < n, by a helper called in a loop
    const m = new ModuleBuilder();
    const add = new Code([I32, I32], [I32]);
    add.get(0).get(1).op(OP.i32_add);
    const addIndex = m.func(add);
    const c = new Code([I32], [I32]);
    const i = c.local(I32);
    const s = c.local(I32);
    c.block().loop();
    c.get(i).get(0).op(OP.i32_ge_s).brIf(1);
    c.get(s).get(i).call(addIndex).set(s);
    c.get(i).i32(1).op(OP.i32_add).set(i).br(0).end().end();
    c.get(s);
    m.func(c, 'sum');
    expect(instantiate(m)['sum']!(100)).toBe(4950);
  });

  it('imports a shared memory and functions; a custom section round-trips', () => {
    const m = new ModuleBuilder();
    m.importMemory('env', 'memory', { initial: 1, maximum: 10, shared: true });
    const twice = m.importFunc('env', 'twice', [F64], [F64]);
    const c = new Code([I32]);
    c.get(0).get(0).mem(OP.f64_load, 8).call(twice).mem(OP.f64_store, 8);
    m.func(c, 'f');
    m.custom('meta', new TextEncoder().encode('{"a":1}'));
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 10, shared: true });
    const f = instantiate(m, { env: { memory, twice: (x: number) => 2 * x } })['f']!;
    new Float64Array(memory.buffer)[2] = 21;
    f(16);
    expect(new Float64Array(memory.buffer)[2]).toBe(42);
    const mod = new WebAssembly.Module(m.bytes() as Uint8Array<ArrayBuffer>);
    expect(new TextDecoder().decode(WebAssembly.Module.customSections(mod, 'meta')[0])).toBe('{"a":1}');
  });

  // Each SIMD binary op on constant vectors, against its definition per lane.
  const i32Ops: [keyof typeof SIMD, (a: number, b: number) => number][] = [
    ['i32x4_add', (a, b) => (a + b) | 0],
    ['i32x4_sub', (a, b) => (a - b) | 0],
    ['i32x4_mul', Math.imul],
    ['i32x4_min_s', Math.min],
    ['i32x4_max_s', Math.max],
    ['i32x4_eq', (a, b) => (a === b ? -1 : 0)],
    ['i32x4_ne', (a, b) => (a !== b ? -1 : 0)],
    ['i32x4_lt_s', (a, b) => (a < b ? -1 : 0)],
    ['i32x4_gt_s', (a, b) => (a > b ? -1 : 0)],
    ['v128_and', (a, b) => a & b],
    ['v128_or', (a, b) => a | b],
    ['v128_xor', (a, b) => a ^ b],
    ['v128_andnot', (a, b) => a & ~b],
  ];
  const f32Ops: [keyof typeof SIMD, (a: number, b: number) => number][] = [
    ['f32x4_add', (a, b) => a + b],
    ['f32x4_sub', (a, b) => a - b],
    ['f32x4_mul', (a, b) => a * b],
    ['f32x4_div', (a, b) => a / b],
    ['f32x4_min', Math.min],
    ['f32x4_max', Math.max],
  ];
  const f32Compare: [keyof typeof SIMD, (a: number, b: number) => boolean][] = [
    ['f32x4_eq', (a, b) => a === b],
    ['f32x4_ne', (a, b) => a !== b],
    ['f32x4_lt', (a, b) => a < b],
    ['f32x4_gt', (a, b) => a > b],
    ['f32x4_le', (a, b) => a <= b],
    ['f32x4_ge', (a, b) => a >= b],
  ];

  /** Runs `emit` (leaving one v128) and returns its 16 bytes. */
  function vector(emit: (c: Code) => void): Uint8Array {
    const m = new ModuleBuilder();
    m.importMemory('env', 'memory', { initial: 1, maximum: 1, shared: false });
    const c = new Code([]);
    c.i32(0);
    emit(c);
    c.simdMem(SIMD.v128_store);
    m.func(c, 'f');
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    instantiate(m, { env: { memory } })['f']!();
    return new Uint8Array(memory.buffer, 0, 16).slice();
  }

  it('SIMD integer and bitwise ops have their lane-wise meaning', () => {
    const a = [5, -7, 2147483647, 0];
    const b = [3, -7, 1, -2147483648];
    for (const [name, f] of i32Ops) {
      const out = new Int32Array(vector((c) => c.i32x4(a).i32x4(b).simd(SIMD[name])).buffer);
      expect(Array.from(out), name).toEqual(a.map((x, i) => f(x, b[i]!)));
    }
  });

  it('SIMD float ops and comparisons have their lane-wise meaning (NaN propagates)', () => {
    const a = [1.5, -2, NaN, 0];
    const b = [0.25, -2, 1, -0];
    for (const [name, f] of f32Ops) {
      const out = Array.from(new Float32Array(vector((c) => c.f32x4(a).f32x4(b).simd(SIMD[name])).buffer));
      expect(out, name).toEqual(a.map((x, i) => Math.fround(f(x, b[i]!))));
    }
    for (const [name, f] of f32Compare) {
      const out = Array.from(new Int32Array(vector((c) => c.f32x4(a).f32x4(b).simd(SIMD[name])).buffer));
      expect(out, name).toEqual(a.map((x, i) => (f(x, b[i]!) ? -1 : 0)));
    }
  });

  it('SIMD conversions, shuffles, lanes, splats and narrowing', () => {
    const f = (emit: (c: Code) => void): number[] => Array.from(new Float32Array(vector(emit).buffer));
    const i = (emit: (c: Code) => void): number[] => Array.from(new Int32Array(vector(emit).buffer));
    expect(i((c) => c.f32x4([1.7, -1.7, 3e9, NaN]).simd(SIMD.i32x4_trunc_sat_f32x4_s))).toEqual([1, -1, 2147483647, 0]);
    expect(f((c) => c.i32x4([1, -2, 16777217, 0]).simd(SIMD.f32x4_convert_i32x4_s))).toEqual([1, -2, 16777216, 0]);
    expect(f((c) => c.f32x4([1.5, -2.5, 0.5, -0.5]).simd(SIMD.f32x4_nearest))).toEqual([2, -2, 0, -0]);
    expect(f((c) => c.f32x4([1.5, -2.5, 4, 9]).simd(SIMD.f32x4_trunc))).toEqual([1, -2, 4, 9]);
    expect(f((c) => c.f32x4([4, 9, 16, 0.25]).simd(SIMD.f32x4_sqrt))).toEqual([2, 3, 4, 0.5]);
    expect(f((c) => c.f32x4([1, -2, 3, -4]).simd(SIMD.f32x4_neg))).toEqual([-1, 2, -3, 4]);
    expect(f((c) => c.f32(2.5).simd(SIMD.f32x4_splat))).toEqual([2.5, 2.5, 2.5, 2.5]);
    expect(i((c) => c.i32(-9).simd(SIMD.i32x4_splat).i32(1).simd(SIMD.i32x4_shr_s))).toEqual([-5, -5, -5, -5]);
    expect(i((c) => c.i32x4([1, 2, 3, 4]).i32(3).simd(SIMD.i32x4_shl))).toEqual([8, 16, 24, 32]);
    expect(i((c) => c.i32x4([1, 2, 3, 4]).i32(9).lane(SIMD.i32x4_replace_lane, 2))).toEqual([1, 2, 9, 4]);
    expect(i((c) => c.i32x4([1, 2, 3, 4]).i32x4([5, 6, 7, 8]).shuffle([12, 13, 14, 15, 16, 17, 18, 19, 0, 1, 2, 3, 28, 29, 30, 31]))).toEqual([4, 5, 1, 8]);
    expect(f((c) => c.f32x4([1, 2, 3, 4]).f32x4([0, 0, 0, 0]).i32x4([-1, 0, -1, 0]).simd(SIMD.v128_bitselect))).toEqual([1, 0, 3, 0]);
    expect(fn([], F32, (c) => c.f32x4([1, 2, 3, 4]).lane(SIMD.f32x4_extract_lane, 3))()).toBe(4);
    expect(fn([], I32, (c) => c.i32x4([1, 2, 3, 4]).lane(SIMD.i32x4_extract_lane, 1))()).toBe(2);
    // float64 pairs: promote, demote, convert, extract
    expect(fn([], F64, (c) => c.f32x4([0.1, 2, 3, 4]).simd(SIMD.f64x2_promote_low_f32x4).lane(SIMD.f64x2_extract_lane, 0))()).toBe(Math.fround(0.1));
    expect(f((c) => c.f64x2([0.1, -1e300]).simd(SIMD.f32x4_demote_f64x2_zero))).toEqual([Math.fround(0.1), -Infinity, 0, 0]);
    expect(fn([], F64, (c) => c.i32x4([-3, 7, 0, 0]).simd(SIMD.f64x2_convert_low_i32x4_s).lane(SIMD.f64x2_extract_lane, 1))()).toBe(7);
    expect(fn([], F64, (c) => c.f64x2([1, 2]).f64x2([3, 4]).simd(SIMD.f64x2_mul).lane(SIMD.f64x2_extract_lane, 1))()).toBe(8);
    // saturating narrowing to bytes
    const bytes = vector((c) => {
      const t = c.local(V128);
      c.i32x4([300, -5, 255, 7]).tee(t).get(t).simd(SIMD.i16x8_narrow_i32x4_u).tee(t).get(t).simd(SIMD.i8x16_narrow_i16x8_u);
    });
    expect(Array.from(bytes.slice(0, 4))).toEqual([255, 0, 255, 7]);
  });

  it('lists the instructions it emits, for reading generated kernels', () => {
    const c = new Code([I32], [I32], true);
    c.get(0).i32(2).op(OP.i32_mul).block().end();
    expect(c.listing).toEqual(['  local.get 0', '  i32.const 2', '  i32.mul', '  block', '  end']);
  });
});
