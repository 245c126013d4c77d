/**
 * The reference interpreter: the executable definition of every IR op, evaluated op by op,
 * unfused, in float64 where it can. Backends are checked against it (differential fuzzing),
 * so each op's meaning is one small entry in a table below.
 */
import {
  contiguousStrides,
  DTYPES,
  prod,
  randUniform,
  type BinaryOp,
  type DType,
  type Node,
  type Op,
  type Pair,
  type ReduceKind,
  type Shape,
  type SortArg,
  type Scalar1,
  type Scalar2,
  type UnaryOp,
  BINARY_SCALAR as BINARY,
  UNARY_SCALAR,
} from '@fusor/ir';
import { reduceIdentity } from './lower.js';

export interface InterpretOptions {
  /** round float32 results after every op, as a float32 machine would (default false: float32 math runs in float64) */
  exactFloat32?: boolean;
}

export class InterpretError extends Error {
  override name = 'InterpretError';
}


// ---------------------------------------------------------------------------------------------
// Normalization: after every op, a value is brought into its node's dtype.

/** Integer wrap helpers; each maps NaN to 0 and truncates toward zero first (ToInt32 does both). */
const wrapBits = (bits: 8 | 16, signed: boolean): Scalar1 =>
  signed ? (x) => ((x << (32 - bits)) >> (32 - bits)) : (x) => x & ((1 << bits) - 1);

/** float16 and bfloat16 are held like float32 (rounded to float32 only under exactFloat32). */
const narrowFloat = (exactFloat32: boolean): Scalar1 | null => (exactFloat32 ? Math.fround : null);

/** Per dtype, the normalizer (null where values pass through unchanged). */
const NORMALIZE: Readonly<Record<DType, (exactFloat32: boolean) => Scalar1 | null>> = {
  bool: () => (x) => (x !== 0 ? 1 : 0), // NaN !== 0: NaN is true, as in PyTorch
  uint8: () => wrapBits(8, false),
  int8: () => wrapBits(8, true),
  int16: () => wrapBits(16, true),
  int32: () => (x) => x | 0,
  int64: () => (x) => (Number.isNaN(x) ? 0 : Math.trunc(x) + 0), // exact within ±2^53; + 0 turns -0 into 0
  float16: narrowFloat,
  bfloat16: narrowFloat,
  float32: narrowFloat,
  float64: () => null,
};

// ---------------------------------------------------------------------------------------------
// Elementwise scalar semantics.

const REDUCERS: Readonly<Record<ReduceKind, Scalar2>> = {
  add: (a, b) => a + b,
  mul: (a, b) => a * b,
  max: Math.max,
};

// ---------------------------------------------------------------------------------------------
// Bit-level encodings, for BITCAST (little-endian, as every target we run on).

interface Codec {
  get(v: DataView, at: number): number;
  set(v: DataView, at: number, x: number): void;
}

/** Round-half-to-even of a non-negative number. */
function roundEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function float16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a < 2 ** -14) return sign | roundEven(a * 2 ** 24); // subnormal (rounding up to 0x400 is the smallest normal)
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  let m = roundEven((a / 2 ** e - 1) * 1024);
  if (m === 1024) {
    m = 0;
    e++;
  }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | m;
}

export function float16FromBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

const scratch = new DataView(new ArrayBuffer(4));

export function bfloat16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7fc0;
  scratch.setFloat32(0, x, true);
  const bits = scratch.getUint32(0, true);
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bfloat16FromBits(h: number): number {
  scratch.setUint32(0, (h & 0xffff) << 16, true);
  return scratch.getFloat32(0, true);
}

const CODECS: Readonly<Record<DType, Codec>> = {
  bool: { get: (v, i) => (v.getUint8(i) ? 1 : 0), set: (v, i, x) => v.setUint8(i, x ? 1 : 0) },
  uint8: { get: (v, i) => v.getUint8(i), set: (v, i, x) => v.setUint8(i, x) },
  int8: { get: (v, i) => v.getInt8(i), set: (v, i, x) => v.setInt8(i, x) },
  int16: { get: (v, i) => v.getInt16(i, true), set: (v, i, x) => v.setInt16(i, x, true) },
  int32: { get: (v, i) => v.getInt32(i, true), set: (v, i, x) => v.setInt32(i, x, true) },
  int64: { get: (v, i) => Number(v.getBigInt64(i, true)), set: (v, i, x) => v.setBigInt64(i, BigInt(Math.trunc(x)), true) },
  float16: { get: (v, i) => float16FromBits(v.getUint16(i, true)), set: (v, i, x) => v.setUint16(i, float16Bits(x), true) },
  bfloat16: { get: (v, i) => bfloat16FromBits(v.getUint16(i, true)), set: (v, i, x) => v.setUint16(i, bfloat16Bits(x), true) },
  float32: { get: (v, i) => v.getFloat32(i, true), set: (v, i, x) => v.setFloat32(i, x, true) },
  float64: { get: (v, i) => v.getFloat64(i, true), set: (v, i, x) => v.setFloat64(i, x, true) },
};

// ---------------------------------------------------------------------------------------------
// Index helpers.

/** Calls `f(idx, flat)` for every index of `shape` in row-major order (`idx` is reused). */
function forEachIndex(shape: Shape, f: (idx: readonly number[], flat: number) => void): void {
  const n = prod(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < n; flat++) {
    f(idx, flat);
    for (let k = shape.length - 1; k >= 0; k--) {
      if (++idx[k]! < shape[k]!) break;
      idx[k] = 0;
    }
  }
}

/**
 * A movement op as an index map: fills `src` with the source index that output index `out`
 * reads, or returns false where it reads the implicit zero (padding).
 */
type IndexMap = (out: readonly number[], src: number[]) => boolean;

function gather(values: Float64Array, srcShape: Shape, outShape: Shape, map: IndexMap): Float64Array {
  const strides = contiguousStrides(srcShape);
  const out = new Float64Array(prod(outShape));
  const src = new Array<number>(srcShape.length).fill(0);
  forEachIndex(outShape, (idx, flat) => {
    if (!map(idx, src)) return;
    let at = 0;
    for (let k = 0; k < src.length; k++) at += src[k]! * strides[k]!;
    out[flat] = values[at]!;
  });
  return out;
}

const MOVEMENT_MAPS = {
  PERMUTE: (n: Node): IndexMap => {
    const order = n.arg as readonly number[];
    return (out, src) => {
      for (let k = 0; k < order.length; k++) src[order[k]!] = out[k]!;
      return true;
    };
  },
  EXPAND: (n: Node): IndexMap => {
    const from = n.src[0]!.shape;
    return (out, src) => {
      for (let k = 0; k < out.length; k++) src[k] = from[k] === 1 ? 0 : out[k]!;
      return true;
    };
  },
  PAD: (n: Node): IndexMap => {
    const pads = n.arg as readonly Pair[];
    const from = n.src[0]!.shape;
    return (out, src) => {
      for (let k = 0; k < out.length; k++) {
        const i = out[k]! - pads[k]![0];
        if (i < 0 || i >= from[k]!) return false;
        src[k] = i;
      }
      return true;
    };
  },
  SHRINK: (n: Node): IndexMap => {
    const ranges = n.arg as readonly Pair[];
    return (out, src) => {
      for (let k = 0; k < out.length; k++) src[k] = out[k]! + ranges[k]![0];
      return true;
    };
  },
  FLIP: (n: Node): IndexMap => {
    const axes = n.arg as readonly number[];
    return (out, src) => {
      for (let k = 0; k < out.length; k++) src[k] = axes.includes(k) ? n.shape[k]! - 1 - out[k]! : out[k]!;
      return true;
    };
  },
} as const;

// ---------------------------------------------------------------------------------------------
// The op table.

/** Computes a node's values from its sources' values (before normalization to its dtype). */
type Impl = (n: Node, src: readonly Float64Array[]) => Float64Array;

const fill = (n: Node, f: (i: number) => number): Float64Array => {
  const out = new Float64Array(n.size);
  for (let i = 0; i < out.length; i++) out[i] = f(i);
  return out;
};

const unary = (f: Scalar1): Impl => (n, [x]) => x!.map(f);

const binary = (op: BinaryOp): Impl => (n, [a, b]) => {
  const f = BINARY[op](n.src[0]!.dtype);
  return fill(n, (i) => f(a![i]!, b![i]!));
};

/** Every unary and binary primitive, from the scalar tables of @fusor/ir (scalar.ts). */
const elementwise = (): Readonly<Record<UnaryOp | BinaryOp, Impl>> =>
  Object.fromEntries([
    ...Object.entries(UNARY_SCALAR).map(([op, f]) => [op, unary(f)]),
    ...Object.keys(BINARY).map((op) => [op, binary(op as BinaryOp)]),
  ]) as Record<UnaryOp | BinaryOp, Impl>;

const movement = (make: (n: Node) => IndexMap): Impl => (n, [x]) => gather(x!, n.src[0]!.shape, n.shape, make(n));

const identity: Impl = (n, [x]) => x!;

function reduce(n: Node, [x]: readonly Float64Array[]): Float64Array {
  const { reduce: kind, axes } = n.arg as { reduce: ReduceKind; axes: readonly number[] };
  // integer products wrap at every step, as on a machine: a float64 running product would lose the low bits
  const f = kind === 'mul' ? BINARY.MUL(n.dtype) : REDUCERS[kind];
  const wrap = DTYPES[n.dtype].category === 'float' ? null : NORMALIZE[n.dtype](false);
  const out = new Float64Array(n.size).fill(reduceIdentity(kind, n.dtype));
  const outStrides = contiguousStrides(n.shape).map((s, k) => (axes.includes(k) ? 0 : s));
  forEachIndex(n.src[0]!.shape, (idx, flat) => {
    let at = 0;
    for (let k = 0; k < idx.length; k++) at += idx[k]! * outStrides[k]!;
    const v = f(out[at]!, x![flat]!);
    out[at] = wrap ? wrap(v) : v;
  });
  return out;
}

function bitcast(n: Node, [x]: readonly Float64Array[]): Float64Array {
  const from = CODECS[n.src[0]!.dtype];
  const to = CODECS[n.dtype];
  const size = DTYPES[n.dtype].itemsize;
  const view = new DataView(new ArrayBuffer(size));
  return x!.map((v) => {
    from.set(view, 0, v);
    return to.get(view, 0);
  });
}

/** Row-major position of `idx` in `shape` with dim `axis` replaced by `at`. */
function offsetWith(shape: Shape, idx: readonly number[], axis: number, at: number): number {
  let off = 0;
  for (let k = 0; k < shape.length; k++) off = off * shape[k]! + (k === axis ? at : idx[k]!);
  return off;
}

function gatherImpl(n: Node, [x, index]: readonly Float64Array[]): Float64Array {
  const axis = n.arg as number;
  const xs = n.src[0]!.shape;
  const out = new Float64Array(n.size);
  forEachIndex(n.shape, (idx, flat) => {
    const k = index![flat]!;
    out[flat] = k >= 0 && k < xs[axis]! ? x![offsetWith(xs, idx, axis, k)]! : 0;
  });
  return out;
}

/** In row-major order of the index, so with repeated indices the last write (or the ordered sum) wins. */
function scatterImpl(n: Node, [base, index, src]: readonly Float64Array[]): Float64Array {
  const { axis, reduce } = n.arg as { axis: number; reduce: 'none' | 'add' | 'mul' };
  const out = Float64Array.from(base!);
  const is = n.src[1]!.shape;
  const ss = n.src[2]!.shape;
  const mul = BINARY.MUL(n.dtype);
  forEachIndex(is, (idx, flat) => {
    const k = index![flat]!;
    if (!(k >= 0 && k < n.shape[axis]!)) return;
    const at = offsetWith(n.shape, idx, axis, k);
    const v = src![offsetWith(ss, idx, axis, idx[axis]!)]!;
    out[at] = reduce === 'none' ? v : reduce === 'add' ? out[at]! + v : mul(out[at]!, v);
  });
  return out;
}

function scanImpl(n: Node, [x]: readonly Float64Array[]): Float64Array {
  const { axis, reduce } = n.arg as { axis: number; reduce: ReduceKind };
  const f = reduce === 'mul' ? BINARY.MUL(n.dtype) : REDUCERS[reduce];
  const wrap = DTYPES[n.dtype].category === 'float' ? null : NORMALIZE[n.dtype](false);
  const out = new Float64Array(n.size);
  const stride = contiguousStrides(n.shape)[axis]!;
  forEachIndex(n.shape, (idx, flat) => {
    const v = idx[axis] === 0 ? x![flat]! : f(out[flat - stride]!, x![flat]!);
    out[flat] = wrap ? wrap(v) : v;
  });
  return out;
}

/**
 * Per row (the last axis), the first `k` positions in sorted order: a stable sort with NaN the
 * largest value (-0 equal to 0), descending flipping the order of values but not of equal ones.
 */
function sortImpl(n: Node, [x]: readonly Float64Array[]): Float64Array {
  const { descending, k } = n.arg as SortArg;
  const src = n.src[0]!;
  const len = src.shape[src.ndim - 1]!;
  const rows = len === 0 ? 0 : src.size / len;
  const out = new Float64Array(n.size);
  const sign = descending ? -1 : 1;
  for (let r = 0; r < rows; r++) {
    const at = (i: number): number => x![r * len + i]!;
    const order = Array.from({ length: len }, (_, i) => i);
    order.sort((a, b) => {
      const va = at(a);
      const vb = at(b);
      const na = Number.isNaN(va);
      const nb = Number.isNaN(vb);
      if (na || nb) return na === nb ? a - b : (na ? 1 : -1) * sign;
      return va === vb ? a - b : (va < vb ? -1 : 1) * sign;
    });
    for (let i = 0; i < k; i++) out[r * k + i] = order[i]!;
  }
  return out;
}

/** Reached only when `load` had nothing for the BUFFER. */
function unloaded(n: Node): Float64Array {
  throw new InterpretError(`interpret: ${n.toString()} has no data (a BUFFER must be realized before it is read)`);
}

const IMPLS: Readonly<Record<Op, Impl>> = {
  BUFFER: unloaded,
  CONST: (n) => new Float64Array(n.size).fill(n.arg as number),
  ARANGE: (n) => {
    const { start, step } = n.arg as { start: number; step: number };
    return fill(n, (i) => start + i * step);
  },
  RAND: (n) => {
    const { seed, offset } = n.arg as { seed: number; offset: number };
    return fill(n, (i) => randUniform(seed, offset + i));
  },
  ...elementwise(),
  WHERE: (n, [c, a, b]) => fill(n, (i) => (c![i] ? a![i]! : b![i]!)),
  // value-preserving; the normalizer of the target dtype does the conversion (trunc, NaN → 0, wrap, x != 0)
  CAST: (n, [x]) => Float64Array.from(x!),
  BITCAST: bitcast,
  REDUCE: reduce,
  RESHAPE: identity, // row-major data is the same under any shape of the same size
  PERMUTE: movement(MOVEMENT_MAPS.PERMUTE),
  EXPAND: movement(MOVEMENT_MAPS.EXPAND),
  PAD: movement(MOVEMENT_MAPS.PAD),
  SHRINK: movement(MOVEMENT_MAPS.SHRINK),
  FLIP: movement(MOVEMENT_MAPS.FLIP),
  CONTIGUOUS: identity,
  DETACH: identity,
  DATA: (_, [value]) => value!,
  COPY: identity,
  ASSIGN: (n, [, value]) => value!,
  GATHER: gatherImpl,
  SCATTER: scatterImpl,
  SCAN: scanImpl,
  SORT: sortImpl,
};

/** Sources an op reads; the rest are not evaluated (ASSIGN's target may be an unwritten buffer). */
const READS: Partial<Record<Op, readonly number[]>> = { ASSIGN: [1] };

const UNREAD = new Float64Array(0);
const reads = (n: Node): readonly number[] => READS[n.op] ?? n.src.map((_, i) => i);

/**
 * Evaluates `root`. `load(n)` returns the contents of a realized node (row-major, length n.size,
 * numbers; int64 as numbers) or undefined to evaluate it from its sources. A BUFFER node with
 * no data is an error.
 */
export function interpret(
  root: Node,
  load: (n: Node) => ArrayLike<number> | undefined,
  opts: InterpretOptions = {},
): Float64Array {
  const exact = opts.exactFloat32 ?? false;
  const memo = new Map<Node, Float64Array>();
  const normalizers = new Map<DType, Scalar1 | null>();
  const normalize = (n: Node, values: Float64Array): Float64Array => {
    let f = normalizers.get(n.dtype);
    if (f === undefined) normalizers.set(n.dtype, (f = NORMALIZE[n.dtype](exact)));
    if (f) for (let i = 0; i < values.length; i++) values[i] = f(values[i]!);
    return values;
  };

  // Iterative post-order (long elementwise chains would overflow the JS stack). A node is loaded,
  // if it can be, before its sources are visited: realized nodes cut the graph there.
  const stack: [Node, boolean][] = [[root, false]];
  while (stack.length) {
    const [n, expanded] = stack.pop()!;
    if (memo.has(n)) continue;
    if (!expanded) {
      const data = load(n);
      if (data !== undefined) {
        if (data.length !== n.size) {
          throw new InterpretError(`interpret: load(${n.toString()}) returned ${data.length} values, expected ${n.size}`);
        }
        memo.set(n, normalize(n, Float64Array.from(data)));
        continue;
      }
      stack.push([n, true]);
      for (const i of reads(n)) if (!memo.has(n.src[i]!)) stack.push([n.src[i]!, false]);
      continue;
    }
    const src = n.src.map((s) => memo.get(s) ?? UNREAD);
    const values = IMPLS[n.op](n, src);
    if (values.length !== n.size) throw new InterpretError(`interpret: ${n.op} produced ${values.length} values for ${n.toString()}`);
    // identity ops share their source's array; normalizing again is a no-op there (same dtype)
    memo.set(n, normalize(n, values));
  }
  return memo.get(root)!;
}
