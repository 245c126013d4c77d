/**
 * What each elementwise primitive computes on one value: the single definition used by the
 * reference interpreter (@fusor/compiler interpret.ts) and by constant folding (kernel-ir.ts).
 * Values are JS numbers (float64); the caller brings a result into its dtype afterwards (wrap,
 * truncate, round), so these may return values outside the dtype (int32 2^31 + 1, a NaN from x % 0).
 */
import { DTYPES, type DType } from './dtype.js';
import { UNARY, type BinaryOp, type UnaryOp } from './ops.js';

export type Scalar1 = (x: number) => number;
export type Scalar2 = (a: number, b: number) => number;

/** Unary ops: each primitive's `scalar` (ops.ts UNARY, where a unary primitive is declared). */
export const UNARY_SCALAR: Readonly<Record<UnaryOp, Scalar1>> = Object.fromEntries(
  Object.entries(UNARY).map(([op, u]) => [op, u.scalar]),
) as Record<UnaryOp, Scalar1>;

const bitWidth = (d: DType): number => (d === 'bool' ? 1 : DTYPES[d].itemsize * 8);
const big = (x: number): bigint => BigInt(Math.trunc(x));
const int64 = (f: (a: bigint, b: bigint) => bigint): Scalar2 => (a, b) => Number(BigInt.asIntN(64, f(big(a), big(b))));

/** Out-of-range shift amounts (negative or ≥ width) give 0 for SHL and the sign fill for SHR, as PyTorch does. */
function shl(d: DType): Scalar2 {
  const w = bitWidth(d);
  if (d === 'int64') return int64((a, b) => (b < 0n || b >= 64n ? 0n : a << b));
  return (a, b) => (b < 0 || b >= w ? 0 : a * 2 ** b); // exact; the caller wraps
}

function shr(d: DType): Scalar2 {
  const w = bitWidth(d);
  return (a, b) => (b < 0 || b >= w ? (a < 0 ? -1 : 0) : Math.floor(a / 2 ** b));
}

/** Bitwise ops: 32-bit JS operators for narrow ints (the caller re-wraps), BigInt for int64. */
const bitwise = (f32: Scalar2, f64: (a: bigint, b: bigint) => bigint) => (d: DType): Scalar2 =>
  d === 'int64' ? int64(f64) : f32;

/** Binary ops, specialised by the dtype of their inputs. */
export const BINARY_SCALAR: Readonly<Record<BinaryOp, (inputDType: DType) => Scalar2>> = {
  ADD: () => (a, b) => a + b,
  MUL: (d) => (d === 'int32' ? Math.imul : (a, b) => a * b),
  IDIV: (d) =>
    d === 'int64'
      ? (a, b) => (b === 0 ? 0 : Number(big(a) / big(b)))
      : (a, b) => (b === 0 ? 0 : Math.trunc(a / b)),
  MOD: () => (a, b) => a % b, // truncated, sign of the dividend (C's % and fmod); int x % 0 is NaN → 0
  MAX: () => Math.max,
  CMPLT: () => (a, b) => (a < b ? 1 : 0),
  CMPEQ: () => (a, b) => (a === b ? 1 : 0),
  AND: bitwise((a, b) => a & b, (a, b) => a & b),
  OR: bitwise((a, b) => a | b, (a, b) => a | b),
  XOR: bitwise((a, b) => a ^ b, (a, b) => a ^ b),
  SHL: shl,
  SHR: shr,
};
