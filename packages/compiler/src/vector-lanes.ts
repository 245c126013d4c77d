/**
 * The lane analysis behind vectorization (reduce-plan.ts decides with it which loop is vectorized).
 *
 * Vectorizing runs `width` consecutive values of one loop variable (the lane variable) at once:
 * either gid (`width` outputs per step, each lane doing exactly what the scalar code does, so
 * results are bit-identical) or the ridx of an innermost reduction loop (`width` partial
 * accumulators per output, combined at the end: a different summation order, within float
 * rounding, except for order-free combines: max, integer add and mul). Per value, the analysis says whether it is the same in every lane (uniform), an
 * integer `base + stride·lane` (affine: contiguous loads when the stride is 1), or varies
 * arbitrarily (vector). Only values held in 32-bit lanes vectorize (float32 and the narrow ints);
 * kernels computing in float64 or int64 stay scalar.
 */
import type { DType } from '@fusor/ir';
import type { Acc, Instr, Value } from './flatten.js';

export type Lane =
  /** The same in every lane; `align`: a known divisor of the value. */
  | { readonly k: 'U'; readonly align: number }
  /** lane l holds base + stride·l, with base a multiple of `align`. */
  | { readonly k: 'A'; readonly stride: number; readonly align: number }
  /** Anything else. */
  | { readonly k: 'V' };

const LANE_DTYPES: ReadonlySet<DType> = new Set(['float32', 'int32', 'int16', 'int8', 'uint8', 'bool']);

const gcd = (a: number, b: number): number => {
  a = Math.abs(a);
  b = Math.abs(b);
  while (b) [a, b] = [b, a % b];
  return a;
};

/** A large power of two standing for "divisible by anything" (the constant 0). */
const ANY = 2 ** 30;

function uniformAlign(v: Value): number {
  if (v.kind === 'const' && Number.isInteger(v.n)) return v.n === 0 ? ANY : Math.min(Math.abs(v.n), ANY);
  return 1;
}

/**
 * Lane classes for the values of `region` (values outside it are uniform), varying with
 * `laneVar` over `width` lanes (a step starts at a multiple of `width`).
 */
export function classify(region: readonly Instr[], laneVar: Value, width: number): Map<Value, Lane> {
  const lanes = new Map<Value, Lane>();
  lanes.set(laneVar, { k: 'A', stride: 1, align: width });
  const of = (v: Value): Lane => lanes.get(v) ?? { k: 'U', align: uniformAlign(v) };
  const walk = (instrs: readonly Instr[]): void => {
    for (const i of instrs) {
      if (i.k === 'loop') walk(i.body);
      else if (i.k === 'value') lanes.set(i.v, laneOf(i.v, i.v.args.map(of), width));
      // an accumulator finished inside the region holds one value per lane
      else if (i.k === 'round' && i.acc.read) lanes.set(i.acc.read, { k: 'V' });
    }
  };
  walk(region);
  return lanes;
}

function laneOf(v: Value, args: readonly Lane[], width: number): Lane {
  if (args.every((a) => a.k === 'U')) {
    if (v.kind === 'alu' && v.op === 'MUL' && args.length === 2) {
      return { k: 'U', align: Math.min(ANY, (args[0] as { align: number }).align * (args[1] as { align: number }).align) };
    }
    if (v.kind === 'alu' && v.op === 'ADD') return { k: 'U', align: gcd((args[0] as { align: number }).align, (args[1] as { align: number }).align) };
    return { k: 'U', align: 1 };
  }
  if (v.kind !== 'alu' || v.dtype !== 'int32' || args.some((a) => a.k === 'V')) return { k: 'V' };
  const [a, b] = args as [Lane, Lane];
  const strideOf = (l: Lane): number => (l.k === 'A' ? l.stride : 0);
  const alignOf = (l: Lane): number => (l.k === 'V' ? 1 : l.align);
  const c = v.args[1]?.kind === 'const' ? v.args[1].n : undefined;
  switch (v.op) {
    case 'ADD':
      return { k: 'A', stride: strideOf(a) + strideOf(b), align: gcd(alignOf(a), alignOf(b)) };
    case 'NEG':
      return { k: 'A', stride: -strideOf(a), align: alignOf(a) };
    case 'MUL': {
      // affine × constant only (an affine times an unknown uniform has no compile-time stride)
      const k = v.args[0]!.kind === 'const' ? v.args[0]!.n : c;
      if (k === undefined || !Number.isInteger(k)) return { k: 'V' };
      const x = a.k === 'A' ? a : b;
      return { k: 'A', stride: strideOf(x) * k, align: Math.min(ANY, alignOf(x) * Math.abs(k) || ANY) };
    }
    case 'IDIV':
    case 'MOD': {
      // lanes stay inside one multiple of c: base % c is a multiple of gcd(align, c), at most c - gcd
      if (c === undefined || c <= 0 || !Number.isInteger(c) || v.args[0]!.min < 0 || a.k !== 'A' || a.stride < 0) return { k: 'V' };
      const g = gcd(a.align, c);
      if ((width - 1) * a.stride >= g) return { k: 'V' };
      return v.op === 'IDIV' ? { k: 'U', align: 1 } : { k: 'A', stride: a.stride, align: g };
    }
    default:
      return { k: 'V' };
  }
}

/** Loads by how they read lanes. */
export interface LoadCounts {
  contiguous: number;
  uniform: number;
  gathered: number;
}

export function countLoads(region: readonly Instr[], lanes: ReadonlyMap<Value, Lane>): LoadCounts {
  const n: LoadCounts = { contiguous: 0, uniform: 0, gathered: 0 };
  for (const v of valuesOf(region)) {
    if (v.kind !== 'load') continue;
    const idx = lanes.get(v.args[0]!) ?? { k: 'U', align: 1 };
    const valid = v.args[1] ? (lanes.get(v.args[1]) ?? { k: 'U', align: 1 }) : undefined;
    if (idx.k === 'U' && (!valid || valid.k === 'U')) n.uniform++;
    else if (idx.k === 'A' && idx.stride === 1 && (!valid || valid.k === 'U')) n.contiguous++;
    else n.gathered++;
  }
  return n;
}

export function valuesOf(instrs: readonly Instr[]): Value[] {
  const out: Value[] = [];
  for (const i of instrs) {
    if (i.k === 'value') out.push(i.v);
    else if (i.k === 'loop') out.push(...valuesOf(i.body));
  }
  return out;
}

export function accsOf(instrs: readonly Instr[]): Acc[] {
  const out: Acc[] = [];
  for (const i of instrs) {
    if (i.k === 'update') out.push(i.acc);
    else if (i.k === 'loop') out.push(...accsOf(i.body));
  }
  return out;
}

/** Whether every value of a region (operands, stored and accumulated values, accumulators) can live in 32-bit lanes. */
export function laneable(region: readonly Instr[]): boolean {
  // values form a DAG (shared subexpressions): each is checked once, or the walk is exponential
  const checked = new Set<Value>();
  const ok = (v: Value): boolean => {
    if (checked.has(v)) return true;
    if (!(LANE_DTYPES.has(v.dtype) && v.args.every(ok))) return false;
    checked.add(v);
    return true;
  };
  return region.every((i) => {
    switch (i.k) {
      case 'value':
        return ok(i.v);
      case 'loop':
        return laneable(i.body);
      case 'update':
        return ok(i.v) && LANE_DTYPES.has(i.acc.dtype);
      case 'store':
        return ok(i.v) && ok(i.idx);
      case 'acc':
      case 'round':
        return LANE_DTYPES.has(i.acc.dtype);
    }
  });
}

