/**
 * Kernel IR: what one kernel does for each element of its output. A kernel is a body of
 * statements run once per output index `gid` in [0, size): index arithmetic from views, loads,
 * ALU ops, reduction loops with accumulators, and one store. Backends render it to source.
 *
 * Expressions are built through the functions below, which fold constants and simplify index
 * arithmetic using each expression's known value range.
 */
import {
  BINARY_SCALAR,
  isFloat,
  UNARY_SCALAR,
  OPS,
  type BinaryOp,
  type DType,
  type Op,
  type OpKind,
  type ReduceKind,
  type TernaryOp,
  type UnaryOp,
} from '@fusor/ir';

/** The kernel's ALU ops are the IR's elementwise primitives, by the same names. */
export type AluOp = UnaryOp | BinaryOp | TernaryOp;
const ALU_KINDS: ReadonlySet<OpKind> = new Set(['unary', 'binary', 'ternary']);
export const isAluOp = (op: Op): op is AluOp => ALU_KINDS.has(OPS[op].kind);

/** Index arithmetic is done in this dtype. */
export const INDEX: DType = 'int32';

interface Base {
  readonly dtype: DType;
  /** Structural key: equal keys mean equal expressions. */
  readonly key: string;
  /** Known value range (for index simplification); ±Infinity when unknown. */
  readonly min: number;
  readonly max: number;
}

export type Expr =
  | (Base & { readonly k: 'const'; readonly value: number })
  | (Base & { readonly k: 'gid' })
  | (Base & { readonly k: 'ridx'; readonly i: number })
  | (Base & { readonly k: 'var'; readonly i: number })
  | (Base & { readonly k: 'local'; readonly name: string })
  | (Base & { readonly k: 'load'; readonly buf: number; readonly idx: Expr; readonly valid: Expr | null })
  | (Base & { readonly k: 'alu'; readonly op: AluOp; readonly src: readonly Expr[] })
  | (Base & { readonly k: 'cast'; readonly src: Expr; readonly bitcast: boolean })
  /** Uniform [0, 1) float from the counter-based generator (see @fusor/ir random.ts). */
  | (Base & { readonly k: 'rand'; readonly seed: Expr; readonly counter: Expr });

export type Stmt =
  | { readonly k: 'let'; readonly name: string; readonly expr: Expr }
  | { readonly k: 'acc'; readonly name: string; readonly dtype: DType; readonly init: number }
  | { readonly k: 'loop'; readonly ridx: number; readonly n: number; readonly body: readonly Stmt[] }
  | { readonly k: 'update'; readonly name: string; readonly op: ReduceKind; readonly expr: Expr }
  | { readonly k: 'store'; readonly buf: number; readonly idx: Expr; readonly expr: Expr };

export interface KernelBuffer {
  readonly dtype: DType;
  readonly size: number;
  readonly output: boolean;
}

export interface KernelVar {
  readonly name: string;
  readonly dtype: DType;
}

export interface Kernel {
  readonly name: string;
  /** Number of output elements: the body runs for gid in [0, size). */
  readonly size: number;
  /** Buffer parameters: index 0 is the output. */
  readonly buffers: readonly KernelBuffer[];
  /** Scalar parameters passed at launch (random seeds and offsets), so new values need no recompile. */
  readonly vars: readonly KernelVar[];
  readonly body: readonly Stmt[];
  /** Cache key: the whole kernel, structurally. */
  readonly key: string;
}

const U = Infinity;

type Draft = { readonly k: Expr['k']; readonly dtype: DType; readonly key: string; min?: number; max?: number } & Record<string, unknown>;

function mk(e: Draft): Expr {
  return { min: -U, max: U, ...e } as unknown as Expr;
}

/** A constant of `dtype`: the value is brought into the dtype first (0.3 in float32 is fround(0.3)). */
export function konst(value: number, dtype: DType): Expr {
  const v = castValue(value, dtype);
  const text = Object.is(v, -0) ? '-0' : String(v);
  return mk({ k: 'const', value: v, dtype, key: `c${dtype}:${text}`, min: v, max: v });
}

export const gid = (size: number): Expr => mk({ k: 'gid', dtype: INDEX, key: 'gid', min: 0, max: Math.max(size - 1, 0) });
export const ridx = (i: number, n: number): Expr => mk({ k: 'ridx', i, dtype: INDEX, key: `r${i}`, min: 0, max: Math.max(n - 1, 0) });
export const kvar = (i: number, dtype: DType): Expr => mk({ k: 'var', i, dtype, key: `v${i}` });
export const local = (name: string, dtype: DType, min = -U, max = U): Expr => mk({ k: 'local', name, dtype, key: name, min, max });

export function load(buf: number, idx: Expr, dtype: DType, valid: Expr | null): Expr {
  const v = valid && isConst(valid) ? (valid.value ? null : valid) : valid;
  return mk({ k: 'load', buf, idx, valid: v, dtype, key: `ld${buf}[${idx.key}${v ? `|${v.key}` : ''}]` });
}

export function rand(seed: Expr, counter: Expr, dtype: DType): Expr {
  return mk({ k: 'rand', seed, counter, dtype, key: `rand(${seed.key},${counter.key})`, min: 0, max: 1 });
}

export function cast(src: Expr, dtype: DType, bitcast = false): Expr {
  if (src.dtype === dtype) return src;
  if (!bitcast && isConst(src)) return konst(castValue(src.value, dtype), dtype);
  // int → int keeps the range, unless the value may wrap in the new width
  const [min, max] = !bitcast && !isFloat(dtype) && !isFloat(src.dtype) ? unwrapped(dtype, src.min, src.max) : [-U, U];
  return mk({ k: 'cast', src, bitcast, dtype, key: `${bitcast ? 'bitcast' : 'cast'}<${dtype}>(${src.key})`, min, max });
}

/** What each integer dtype holds: a value outside it wraps. */
const INT_BOUNDS: Readonly<Partial<Record<DType, readonly [number, number]>>> = {
  bool: [0, 1],
  uint8: [0, 255],
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int64: [-(2 ** 63), 2 ** 63 - 1],
};

/** A range of integer math, or unknown where the value may have wrapped (its range would be a lie). */
function unwrapped(dtype: DType, min: number, max: number): [number, number] {
  const b = INT_BOUNDS[dtype];
  return b && (min < b[0] || max > b[1]) ? [-U, U] : [min, max];
}

/** Casting semantics shared by constant folding and the reference interpreter. */
export function castValue(v: number, dtype: DType): number {
  switch (dtype) {
    case 'bool':
      return v !== 0 ? 1 : 0;
    case 'float32':
    case 'float16':
    case 'bfloat16':
      return Math.fround(v);
    case 'float64':
      return v;
    case 'int32':
      return Number.isNaN(v) ? 0 : Math.trunc(v) | 0;
    case 'int64':
      return Number.isNaN(v) ? 0 : Math.trunc(v);
    case 'int16':
      return ((Number.isNaN(v) ? 0 : Math.trunc(v)) << 16) >> 16;
    case 'int8':
      return ((Number.isNaN(v) ? 0 : Math.trunc(v)) << 24) >> 24;
    case 'uint8':
      return (Number.isNaN(v) ? 0 : Math.trunc(v)) & 255;
  }
}

export const isConst = (e: Expr): e is Extract<Expr, { k: 'const' }> => e.k === 'const';
const isC = (e: Expr, v: number): boolean => e.k === 'const' && e.value === v;

const RESULT_BOOL: ReadonlySet<AluOp> = new Set(['CMPLT', 'CMPEQ']);

/** Builds an ALU expression, folding constants and simplifying non-negative index math by range. */
export function alu(op: AluOp, ...src: Expr[]): Expr {
  const dtype: DType = RESULT_BOOL.has(op) ? 'bool' : op === 'WHERE' ? src[1]!.dtype : src[0]!.dtype;
  const int = !isFloat(dtype);
  const [a, b, c] = src as [Expr, Expr, Expr];
  // constant folding, by the meanings the reference interpreter uses (@fusor/ir scalar.ts)
  if (src.every(isConst)) {
    const vals = src.map((s) => (s as { value: number }).value);
    if (op === 'WHERE') return vals[0] ? b : c;
    const v = src.length === 1 ? UNARY_SCALAR[op as UnaryOp](vals[0]!) : BINARY_SCALAR[op as BinaryOp](a.dtype)(vals[0]!, vals[1]!);
    return konst(castValue(v, dtype), dtype);
  }
  switch (op) {
    case 'ADD':
      if (isC(b, 0) && int) return a;
      if (isC(a, 0) && int) return b;
      if (isConst(a) && !isConst(b)) return alu('ADD', b, a);
      // (x + c1) + c2 → x + (c1 + c2)
      if (int && isConst(b) && a.k === 'alu' && a.op === 'ADD' && isConst(a.src[1]!)) {
        return alu('ADD', a.src[0]!, konst(castValue(a.src[1].value + b.value, dtype), dtype));
      }
      break;
    case 'MUL':
      if (isC(b, 1)) return a;
      if (isC(a, 1)) return b;
      if (int && (isC(a, 0) || isC(b, 0))) return konst(0, dtype);
      if (isConst(a) && !isConst(b)) return alu('MUL', b, a);
      break;
    case 'IDIV':
      if (isC(b, 1)) return a;
      if (isConst(b) && b.value > 0 && a.min >= 0) {
        if (a.max < b.value) return konst(0, dtype);
        // (x / c1) / c2 → x / (c1 * c2)
        if (a.k === 'alu' && a.op === 'IDIV' && isConst(a.src[1]!) && a.src[1].value > 0) {
          return alu('IDIV', a.src[0]!, konst(a.src[1].value * b.value, dtype));
        }
        // (x * c1) / c2 → x * (c1 / c2) when c2 divides c1
        if (a.k === 'alu' && a.op === 'MUL' && isConst(a.src[1]!) && a.src[1].value % b.value === 0) {
          return alu('MUL', a.src[0]!, konst(a.src[1].value / b.value, dtype));
        }
      }
      break;
    case 'MOD':
      if (isC(b, 1) && int) return konst(0, dtype);
      if (isConst(b) && b.value > 0 && a.min >= 0 && a.max < b.value) return a;
      // (x * c1) % c2 → 0 when c2 divides c1
      if (isConst(b) && a.k === 'alu' && a.op === 'MUL' && isConst(a.src[1]!) && a.src[1].value % b.value === 0 && int) {
        return konst(0, dtype);
      }
      break;
    case 'CMPLT':
      if (isConst(b) && a.max < b.value) return konst(1, 'bool');
      if (isConst(b) && a.min >= b.value) return konst(0, 'bool');
      if (isConst(a) && b.min > a.value) return konst(1, 'bool');
      if (isConst(a) && b.max <= a.value) return konst(0, 'bool');
      break;
    case 'AND':
      if (dtype === 'bool') {
        if (isC(a, 1)) return b;
        if (isC(b, 1)) return a;
        if (isC(a, 0) || isC(b, 0)) return konst(0, 'bool');
      }
      break;
    case 'WHERE':
      if (isConst(a)) return a.value ? b : c;
      if (b.key === c.key) return b;
      break;
  }
  const [min, max] = int ? unwrapped(dtype, ...range(op, src)) : range(op, src);
  return mk({ k: 'alu', op, src, dtype, key: `${op}(${src.map((s) => s.key).join(',')})`, min, max });
}

function range(op: AluOp, src: readonly Expr[]): [number, number] {
  const [a, b] = src as [Expr, Expr];
  switch (op) {
    case 'ADD':
      return [a.min + b.min, a.max + b.max];
    case 'MUL':
      if (a.min >= 0 && b.min >= 0) return [a.min * b.min, a.max * b.max];
      if (b.k === 'const') return b.value >= 0 ? [a.min * b.value, a.max * b.value] : [a.max * b.value, a.min * b.value];
      return [-U, U];
    case 'IDIV':
      if (b.k === 'const' && b.value > 0 && a.min >= 0) return [Math.floor(a.min / b.value), Math.floor(a.max / b.value)];
      return [-U, U];
    case 'MOD':
      if (b.k === 'const' && b.value > 0 && a.min >= 0) return [0, Math.min(b.value - 1, a.max)];
      return [-U, U];
    case 'CMPLT':
    case 'CMPEQ':
      return [0, 1];
    case 'AND':
      return src.every((s) => s.dtype === 'bool') ? [0, 1] : [-U, U];
    case 'MAX':
      return [Math.max(a.min, b.min), Math.max(a.max, b.max)];
    case 'WHERE':
      return [Math.min(src[1]!.min, src[2]!.min), Math.max(src[1]!.max, src[2]!.max)];
    default:
      return [-U, U];
  }
}

/** Stable text of a kernel body, for cache keys and for `explain()`. */
export function printKernel(k: Omit<Kernel, 'key'>): string {
  const lines: string[] = [];
  const bufs = k.buffers.map((b, i) => `b${i}: ${b.output ? 'out ' : ''}${b.dtype}[${b.size}]`).join(', ');
  const vars = k.vars.map((v, i) => `v${i}: ${v.dtype} ${v.name}`).join(', ');
  lines.push(`kernel ${k.name}(${bufs}${vars ? `; ${vars}` : ''}) for gid < ${k.size}`);
  const walk = (stmts: readonly Stmt[], ind: string): void => {
    for (const s of stmts) {
      switch (s.k) {
        case 'let':
          lines.push(`${ind}${s.name}: ${s.expr.dtype} = ${s.expr.key}`);
          break;
        case 'acc':
          lines.push(`${ind}${s.name}: ${s.dtype} = acc(${s.init})`);
          break;
        case 'loop':
          lines.push(`${ind}for r${s.ridx} < ${s.n}:`);
          walk(s.body, `${ind}  `);
          break;
        case 'update':
          lines.push(`${ind}${s.name} ${s.op}= ${s.expr.key}`);
          break;
        case 'store':
          lines.push(`${ind}b${s.buf}[${s.idx.key}] = ${s.expr.key}`);
          break;
      }
    }
  };
  walk(k.body, '  ');
  return lines.join('\n');
}
