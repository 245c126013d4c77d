import { describe, expect, it } from 'vitest';
import { arith, BINARY_SCALAR, OPS, UNARY, UNARY_SCALAR, type Arith, type DType, type UnaryOp } from '@fusor/ir';

/** Arithmetic on plain numbers, rounded to `dtype` after every op as a float32 or float64 machine does. */
function numbers(dtype: 'float32' | 'float64'): Arith<number> {
  const r = dtype === 'float32' ? Math.fround : (v: number) => v;
  return arith<number>({
    c: (v) => r(v),
    unary: (op, a) => r(UNARY_SCALAR[op](a)),
    binary: (op, a, b) => r(BINARY_SCALAR[op](dtype)(a, b)),
    where: (c, a, b) => (c ? a : b),
    dtype: (): DType => dtype,
  });
}

/** Distance in units in the last place of `want` (subnormals: of the smallest normal's exponent). */
function ulps(got: number, want: number, dtype: 'float32' | 'float64'): number {
  if (Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want))) return 0;
  if (!Number.isFinite(want) || !Number.isFinite(got)) return Infinity;
  const [bits, minExp] = dtype === 'float32' ? [23, -126] : [52, -1022];
  const e = want === 0 ? minExp : Math.max(Math.floor(Math.log2(Math.abs(want))), minExp);
  return Math.abs(got - want) / 2 ** (e - bits);
}

/** A deterministic spread of magnitudes from 1e-30 to 1e3, both signs, and the special values. */
function samples(dtype: 'float32' | 'float64'): number[] {
  const r = dtype === 'float32' ? Math.fround : (v: number) => v;
  const out = [0, -0, Infinity, -Infinity, NaN, 0.5, -0.5, 1, -1, 88.7, -103, 709.7, -745];
  let s = 12345;
  for (let i = 0; i < 6000; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const m = 10 ** ((s / 2 ** 32) * 33 - 30);
    out.push(r(i % 2 ? m : -m));
  }
  return out.map(r);
}

describe('the unary primitive table (UNARY)', () => {
  it('gives OPS its unary entries, with the dtype rule', () => {
    for (const [op, u] of Object.entries(UNARY)) {
      expect(OPS[op as UnaryOp]).toEqual({ kind: 'unary', arity: 1, ...(u.floatOnly ? { floatOnly: true } : {}) });
    }
  });

  // a fallback stands in for the op on targets without its function: computed in the dtype's own
  // arithmetic (exp2 and log2 correctly rounded) it must stay within 2 ulp of the rounded true value
  for (const [op, u] of Object.entries(UNARY).filter(([, u]) => u.fallback)) {
    for (const dtype of ['float32', 'float64'] as const) {
      it(`${op}'s fallback in ${dtype} is within 2 ulp of its scalar meaning, ±∞, NaN and −0 included`, () => {
        const A = numbers(dtype);
        const r = dtype === 'float32' ? Math.fround : (v: number) => v;
        for (const x of samples(dtype)) {
          const got = u.fallback!(A, x);
          const want = r(u.scalar(x));
          expect(ulps(got, want, dtype), `${op}(${x}) in ${dtype}: ${got}, expected ${want}`).toBeLessThanOrEqual(2);
        }
      });
    }
  }

  it("EXPM1's fallback keeps tiny inputs that exp(x) − 1 would cancel", () => {
    const A = numbers('float32');
    for (const x of [1e-10, -3e-8, 1e-30].map(Math.fround)) {
      expect(UNARY.EXPM1.fallback!(A, x)).toBe(Math.fround(Math.expm1(x)));
      expect(Math.fround(Math.fround(Math.exp(x)) - 1)).not.toBe(Math.fround(Math.expm1(x)));
    }
  });
});
