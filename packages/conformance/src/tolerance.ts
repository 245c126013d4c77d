/**
 * How close is close enough: the one place tolerances are decided. A float value passes when
 * |actual − expected| ≤ atol + rtol·|expected|; NaN must meet NaN, ±inf must be exact, and a
 * forward −0 must stay −0. Integer and bool values are exact.
 */
import { isFloat, type DType, type Node } from '@fusor/ir';

export interface Tolerance {
  readonly rtol: number;
  readonly atol: number;
}

const EXACT: Tolerance = { rtol: 0, atol: 0 };

/**
 * Per dtype: a few ulps of the format, since fusor decomposes ops (exp = exp2(x·log2 e), cos by
 * a half-angle sine…) and so rounds differently from PyTorch's kernels, and may sum in another
 * order.
 */
export const TOLERANCE: Readonly<Record<DType, Tolerance>> = {
  float32: { rtol: 1e-5, atol: 1e-6 },
  float64: { rtol: 1e-10, atol: 1e-12 },
  float16: { rtol: 1e-3, atol: 1e-5 },
  bfloat16: { rtol: 1e-2, atol: 1e-4 },
  int64: EXACT,
  int32: EXACT,
  int16: EXACT,
  int8: EXACT,
  uint8: EXACT,
  bool: EXACT,
};

/**
 * Op-specific loosening, as a factor on the dtype's tolerance, only where a decomposition
 * amplifies rounding by a known amount. Each entry says why.
 */
export const LOOSER: Readonly<Record<string, { readonly factor: number; readonly why: string }>> = {
  cumsum: {
    factor: 10,
    why: 'a running float32 sum rounds at every step (PyTorch accumulates in float64 on the cpu): the error grows with the fiber length',
  },
  logcumsumexp: { factor: 10, why: 'a running float32 sum of exponentials, as cumsum' },
};

/** The tolerance a case's value of `dtype` is held to. */
export function toleranceFor(op: string, dtype: DType): Tolerance {
  const base = TOLERANCE[dtype];
  const f = LOOSER[op]?.factor ?? 1;
  return { rtol: base.rtol * f, atol: base.atol * f };
}

/**
 * The tolerance of a gradient: that of the loosest dtype the case computes in, since a float64
 * leaf's gradient that flowed through float32 arithmetic (a float64 0-d tensor in a float32 op)
 * carries float32's rounding.
 */
export function gradToleranceFor(op: string, dtypes: Iterable<DType>): Tolerance {
  let tol: Tolerance = EXACT;
  for (const d of dtypes) {
    const t = toleranceFor(op, d);
    if (t.rtol > tol.rtol) tol = t;
  }
  return tol;
}

export interface Mismatch {
  readonly index: number;
  readonly actual: number;
  readonly expected: number;
}

const show = (v: number): string => (Object.is(v, -0) ? '-0' : String(v));

export function describeMismatch(m: Mismatch, shape: readonly number[], tol: Tolerance): string {
  const err = Math.abs(m.actual - m.expected);
  const where = unravel(m.index, shape);
  return `at [${where.join(', ')}]: got ${show(m.actual)}, expected ${show(m.expected)} (|diff| ${err.toPrecision(3)}; rtol ${tol.rtol}, atol ${tol.atol})`;
}

function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = shape.length - 1, r = flat; k >= 0; k--) {
    idx[k] = r % shape[k]!;
    r = Math.floor(r / shape[k]!);
  }
  return idx;
}

/** The first element out of tolerance, or undefined. `signedZero`: a −0 expected must be −0 (and 0 must be +0). */
export function firstMismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, signedZero: boolean): Mismatch | undefined {
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!close(a, e, tol, signedZero)) return { index: i, actual: a, expected: e };
  }
  return undefined;
}

function close(a: number, e: number, tol: Tolerance, signedZero: boolean): boolean {
  if (Number.isNaN(e)) return Number.isNaN(a);
  if (Number.isNaN(a)) return false;
  if (!Number.isFinite(e) || !Number.isFinite(a)) return a === e;
  if (e === 0 && a === 0) return !signedZero || Object.is(a, -0) === Object.is(e, -0);
  return Math.abs(a - e) <= tol.atol + tol.rtol * Math.abs(e);
}

/**
 * The tolerance of a value compared with the reference interpreter: that of the loosest float
 * dtype its graph computes in. A float64 result read from a float32 exp carries float32's
 * rounding (the kernels' float32 exp is within about 1 ulp, as PyTorch's own; the interpreter
 * rounds the exact value), as gradients do (`gradToleranceFor`).
 */
export function graphToleranceFor(op: string, node: Node): Tolerance {
  const dtypes = new Set<DType>([node.dtype]);
  const seen = new Set<Node>();
  const stack = [node];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    if (isFloat(n.dtype)) dtypes.add(n.dtype);
    stack.push(...n.src);
  }
  return isFloat(node.dtype) ? gradToleranceFor(op, [...dtypes].filter(isFloat)) : toleranceFor(op, node.dtype);
}
