/**
 * How a flattened kernel is vectorized, and whether its reduction is split into chunks.
 *
 * Vectorizing runs four consecutive values of one loop variable (the lane variable) at once:
 * either gid (four outputs per step, each lane doing exactly what the scalar code does, so
 * results are bit-identical) or the ridx of an innermost reduction loop (four partial
 * accumulators per output, combined at the end: a different summation order, within float
 * rounding). Per value, the analysis says whether it is the same in every lane (uniform), an
 * integer `base + stride·lane` (affine: contiguous loads when the stride is 1), or varies
 * arbitrarily (vector). Only values held in 32-bit lanes vectorize (float32 and the narrow ints);
 * kernels computing in float64 or int64 stay scalar.
 */
import type { DType } from '@fusor/ir';
import { loopsOf, workPerGid, type Acc, type FlatKernel, type Instr, type Value } from './flatten.js';

export type Lane =
  /** The same in every lane; `align`: a known divisor of the value. */
  | { readonly k: 'U'; readonly align: number }
  /** lane l holds base + stride·l, with base a multiple of `align`. */
  | { readonly k: 'A'; readonly stride: number; readonly align: number }
  /** Anything else. */
  | { readonly k: 'V' };

export const WIDTH = 4;
/** Most vectors per step of gid vectorization (each copy four more outputs sharing the step's uniform loads). */
export const MAX_COPIES = 4;

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
export function classify(region: readonly Instr[], laneVar: Value, width = WIDTH): Map<Value, Lane> {
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
interface LoadCounts {
  contiguous: number;
  uniform: number;
  gathered: number;
}

function countLoads(region: readonly Instr[], lanes: ReadonlyMap<Value, Lane>): LoadCounts {
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

function accsOf(instrs: readonly Instr[]): Acc[] {
  const out: Acc[] = [];
  for (const i of instrs) {
    if (i.k === 'update') out.push(i.acc);
    else if (i.k === 'loop') out.push(...accsOf(i.body));
  }
  return out;
}

/** Whether every value of a region (operands, stored and accumulated values, accumulators) can live in 32-bit lanes. */
function laneable(region: readonly Instr[]): boolean {
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

export type Plan =
  | { readonly mode: 'scalar' }
  /** 4·copies gids per step. */
  | { readonly mode: 'gid'; readonly lanes: ReadonlyMap<Value, Lane>; readonly copies: number }
  /** Four iterations of each of `loops` per step, with partial accumulators: each loop's lanes. */
  | { readonly mode: 'inner'; readonly loops: ReadonlyMap<Extract<Instr, { k: 'loop' }>, ReadonlyMap<Value, Lane>> };

/** The vectorization of a kernel (scalar when `simd` is off or nothing qualifies). */
export function planSimd(flat: FlatKernel, simd: boolean): Plan {
  if (!simd) return { mode: 'scalar' };
  let gidPlan: { lanes: Map<Value, Lane>; loads: LoadCounts; copies: number } | undefined;
  if (flat.kernel.size >= WIDTH && laneable(flat.body)) {
    const lanes = classify(flat.body, flat.gid);
    gidPlan = { lanes, loads: countLoads(flat.body, lanes), copies: 1 };
    // a reduction per output: more outputs per step share each uniform load (a matmul's row of a)
    // and use whole cache lines of the contiguous ones, as long as the lanes classify the same
    if (flat.body.some((i) => i.k === 'loop')) {
      for (let copies = MAX_COPIES; copies > 1 && gidPlan.copies === 1; copies /= 2) {
        if (flat.kernel.size < WIDTH * copies) continue;
        const wide = classify(flat.body, flat.gid, WIDTH * copies);
        const loads = countLoads(flat.body, wide);
        if (JSON.stringify(loads) === JSON.stringify(gidPlan.loads)) gidPlan = { lanes: wide, loads, copies };
      }
    }
  }
  // innermost loops, four iterations at a time. A loop that stores may read back an earlier
  // iteration's store (a scan walking its fiber): it is vectorized only when it loads the output
  // at nothing but the positions it stores to, so its iterations are independent (a row
  // kernel's loop rewriting its row in place).
  const independent = (l: Extract<Instr, { k: 'loop' }>): boolean => {
    const stored = new Set(l.body.flatMap((i) => (i.k === 'store' ? [i.idx] : [])));
    if (stored.size === 0) return true;
    // each iteration stores to its own position (an index affine in the loop's, never a
    // loaded one: a scatter's repeated targets accumulate in order) and reads back only those
    const uniform = (v: Value): boolean => v.level < l.ridx.level;
    const affine = (v: Value): boolean =>
      uniform(v) || v === l.ridx || (v.kind === 'alu' && (v.op === 'ADD' || v.op === 'MUL') && v.args.every(affine));
    return (
      [...stored].every((i) => !uniform(i) && affine(i)) && valuesOf(l.body).every((v) => v.kind !== 'load' || v.n !== 0 || stored.has(v.args[0]!))
    );
  };
  const candidates = loopsOf(flat.body)
    .filter((l) => !l.body.some((i) => i.k === 'loop') && independent(l) && l.n >= 2 * WIDTH && laneable(l.body))
    .map((loop) => {
      const lanes = classify(loop.body, loop.ridx);
      return { loop, lanes, loads: countLoads(loop.body, lanes) };
    });
  const contiguous = candidates.filter((c) => c.loads.gathered === 0);
  // every loop that reads contiguously (a row kernel's passes), else the longest
  const inner = contiguous.length ? contiguous : candidates.sort((a, b) => b.loop.n - a.loop.n).slice(0, 1);
  const innerPlan = inner.length ? { loops: new Map(inner.map((c) => [c.loop, c.lanes] as const)), gathered: contiguous.length === 0 } : undefined;
  if (gidPlan && gidPlan.loads.gathered === 0) return { mode: 'gid', lanes: gidPlan.lanes, copies: gidPlan.copies };
  if (innerPlan && !innerPlan.gathered) return { mode: 'inner', loops: innerPlan.loops };
  if (gidPlan) return { mode: 'gid', lanes: gidPlan.lanes, copies: gidPlan.copies };
  if (innerPlan) return { mode: 'inner', loops: innerPlan.loops };
  return { mode: 'scalar' };
}

/**
 * A reduction with few outputs and a long loop is split into chunks of its outermost loop, each
 * computing partial accumulators, combined in chunk order by a second pass: that is what lets
 * `x.sum()` use every thread. The decision depends only on the kernel, never on the thread
 * count, so results do not change with the number of threads.
 */
export interface Split {
  /** Chunk c covers iterations [bounds[c], bounds[c + 1]) of the outer loop. */
  readonly bounds: readonly number[];
  readonly loop: Extract<Instr, { k: 'loop' }>;
}

const SPLIT_MAX_OUTPUTS = 32;
const SPLIT_MIN_WORK = 1 << 16;
const SPLIT_MAX_CHUNKS = 64;

export function planSplit(flat: FlatKernel): Split | undefined {
  const loops = flat.body.filter((i): i is Extract<Instr, { k: 'loop' }> => i.k === 'loop');
  if (loops.length !== 1 || flat.kernel.size >= SPLIT_MAX_OUTPUTS) return undefined;
  const loop = loops[0]!;
  if (flat.accs.length === 0 || flat.accs.some((a) => !accsOf(loop.body).includes(a))) return undefined;
  if (flat.kernel.size * workPerGid(flat.body) < SPLIT_MIN_WORK) return undefined;
  const chunks = Math.min(SPLIT_MAX_CHUNKS, Math.floor(loop.n / WIDTH));
  if (chunks < 2) return undefined;
  const bounds: number[] = [];
  // chunk starts are multiples of the vector width, so a vectorized outer loop stays aligned
  for (let c = 0; c < chunks; c++) bounds.push(Math.floor((c * loop.n) / chunks / WIDTH) * WIDTH);
  bounds.push(loop.n);
  return { bounds, loop };
}
