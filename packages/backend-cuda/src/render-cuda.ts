/**
 * Kernel IR → CUDA C. Each kernel's work maps to threads in one of three modes (KernelPlan, chosen
 * from the kernel's shape): one thread per output element `gid` in a grid-stride loop; elementwise
 * kernels in 16-byte vector tiles; long reductions with few outputs by cooperating threads of a
 * block (and of several blocks). In every mode the statements for one `gid` are those of the
 * kernel IR, in the same order as the JavaScript renderer, with the same numeric rules:
 * - float32 values round after every op (C does this by itself); exp2, log2 and sin compute in
 *   double and round once; float32 accumulators run in double, as the cpu backend's do, and their
 *   value is rounded to float32 once the loop ends;
 * - float16 and bfloat16 are stored as 16-bit patterns and computed in float, rounded back to
 *   their width after every op (as PyTorch's eager kernels do); their accumulators stay in float;
 * - int32 and int64 wrap on overflow (computed in unsigned, never C's undefined signed overflow);
 *   integer division and remainder by zero give 0; float → int truncates, NaN and ±inf give 0;
 * - bool and uint8 are `unsigned char`.
 * Cooperative reductions change only the order in which partial accumulators are combined: integer
 * add and mul wrap (any order gives the same bits), max is order-free (NaN propagates), float sums
 * and products round differently only in their last bits (float32 partials are double).
 * The prelude needs no CUDA header: half conversions are PTX `cvt` instructions, so NVRTC from a
 * Python wheel (which ships no toolkit headers) compiles it. Without `__CUDA_ARCH__` the prelude
 * falls back to portable C++, which is what the host-emulation tests compile.
 */
import { isFloat, type DType, type ReduceKind } from '@fusor/ir';
import {
  bfloat16Bits,
  bfloat16FromBits,
  C_LIKE,
  cLike,
  fitsInt32,
  float16Bits,
  float16FromBits,
  opTable,
  type AluOp,
  type Expr,
  type Kernel,
  type OpText,
  planGroups,
  planSplit,
  planTiles,
  type PartialAcc,
  type PlanNumbers,
  type ReductionLoop,
  type RenderedKernel,
  type Stmt,
} from '@fusor/compiler';

/** Threads per block; kernels declare it as their launch bound. */
export const BLOCK_SIZE = 256;

/** How each dtype is stored in device memory. */
export const STORAGE_TYPE: Readonly<Record<DType, string>> = {
  bool: 'unsigned char',
  uint8: 'unsigned char',
  int8: 'signed char',
  int16: 'short',
  int32: 'int',
  int64: 'long long',
  float16: 'unsigned short',
  bfloat16: 'unsigned short',
  float32: 'float',
  float64: 'double',
};

/** How each dtype is held in registers (16-bit floats compute in float). */
const REG_TYPE: Readonly<Record<DType, string>> = { ...STORAGE_TYPE, float16: 'float', bfloat16: 'float' };

/** Accumulator register types: float32 sums run in double (as on the cpu backend). */
const ACC_TYPE: Readonly<Record<DType, string>> = { ...REG_TYPE, float32: 'double' };

/** Loads and stores of dtypes whose storage differs from their register type. */
const LOAD: Readonly<Partial<Record<DType, (s: string) => string>>> = {
  float16: (s) => `fu_h2f(${s})`,
  bfloat16: (s) => `fu_b2f(${s})`,
};
const STORE: Readonly<Partial<Record<DType, (s: string) => string>>> = {
  float16: (s) => `fu_f2h((float)(${s}))`,
  bfloat16: (s) => `fu_f2b((float)(${s}))`,
};

/** Brings a register value back to its dtype's width and range after an op. */
const FIX: Readonly<Partial<Record<DType, (s: string) => string>>> = {
  float16: (s) => `fu_rh(${s})`,
  bfloat16: (s) => `fu_rb(${s})`,
  int16: (s) => `((short)(${s}))`,
  int8: (s) => `((signed char)(${s}))`,
  uint8: (s) => `((unsigned char)(${s}))`,
  bool: (s) => `((unsigned char)((${s}) & 1))`,
};
const fix = (dtype: DType, s: string): string => (FIX[dtype] ?? ((x: string) => x))(s);

type Compute = 'float' | 'double';
/** C's math functions by the register type they compute in: sqrtf on float, sqrt on double. */
const C_MATH: Readonly<Record<Compute, ReturnType<typeof cLike>>> = { float: cLike((fn) => `${fn}f`), double: C_LIKE };

/** How each ALU op on floating-point operands (already converted to the compute type `t`) reads: C's, but for these. */
const FLOAT_ALU: Readonly<Record<AluOp, (a: readonly string[], t: Compute) => string>> = opTable<(a: readonly string[], t: Compute) => string>(
  {
    RECIP: ([a], t) => `(${t === 'float' ? '1.0f' : '1.0'} / ${a})`,
    IDIV: ([a, b], t) => `${t === 'float' ? 'fu_fidivf' : 'fu_fidiv'}(${a}, ${b})`,
    MOD: ([a, b], t) => `${t === 'float' ? 'fmodf' : 'fmod'}(${a}, ${b})`,
    MAX: ([a, b]) => `fu_max(${a}, ${b})`,
    AND: () => unsupported('AND on floating point'),
    OR: () => unsupported('OR on floating point'),
    XOR: () => unsupported('XOR on floating point'),
    SHL: () => unsupported('SHL on floating point'),
    SHR: () => unsupported('SHR on floating point'),
  },
  (_, op) => (a, t) => C_MATH[t][op](a),
);

/**
 * One entry per ALU op on integer and bool operands. `wide` is true for int32/int64, whose
 * overflow must wrap through the prelude's unsigned helpers; narrower types compute in int and
 * are narrowed by FIX afterwards.
 */
type IntRender = (a: readonly string[], wide: boolean, bits: number) => string;
/** A transcendental of an integer: computed in double, truncated back (fu_toi64). */
const viaDouble = (text: OpText): IntRender => (a) => `fu_toi64(${text(a.map((x) => `(double)(${x})`))})`;
const INT_ALU: Readonly<Record<AluOp, IntRender>> = opTable<IntRender>(
  {
    NEG: (a, wide) => (wide ? `fu_neg(${a[0]})` : C_LIKE.NEG(a)),
    EXP2: viaDouble(C_LIKE.EXP2),
    LOG2: viaDouble(C_LIKE.LOG2),
    SIN: viaDouble(C_LIKE.SIN),
    SQRT: viaDouble(C_LIKE.SQRT),
    RECIP: ([a]) => `fu_toi64(1.0 / (double)(${a}))`,
    TRUNC: ([a]) => a!,
    ADD: (a, wide) => (wide ? `fu_add(${a[0]}, ${a[1]})` : C_LIKE.ADD(a)),
    MUL: (a, wide) => (wide ? `fu_mul(${a[0]}, ${a[1]})` : C_LIKE.MUL(a)),
    IDIV: ([a, b], wide) => (wide ? `fu_idiv(${a}, ${b})` : `fu_idiv((int)(${a}), (int)(${b}))`),
    MOD: ([a, b], wide) => (wide ? `fu_mod(${a}, ${b})` : `fu_mod((int)(${a}), (int)(${b}))`),
    MAX: ([a, b]) => `(${a} > ${b} ? ${a} : ${b})`,
    SHL: ([a, b], wide) => (wide ? `fu_shl(${a}, (int)(${b}))` : `fu_shl((int)(${a}), (int)(${b}))`),
    SHR: ([a, b], _wide, bits) => `(${a} >> ((int)(${b}) & ${bits === 64 ? 63 : 31}))`,
  },
  (base) => (a) => base(a),
);

/**
 * float32 transcendentals computed in double and rounded once, as the cpu backend computes them:
 * CUDA's float versions are off by up to 2 ulp, the double ones round to the same float32.
 */
const IN_DOUBLE: ReadonlySet<AluOp> = new Set(['EXP2', 'LOG2', 'SIN']);

/** Ops whose C result is already exact for the dtype (no rounding or narrowing needed). */
const EXACT: ReadonlySet<AluOp> = new Set(['CMPLT', 'CMPEQ', 'WHERE', 'MAX', 'TRUNC', 'AND', 'OR', 'XOR']);

const BITCAST: Readonly<Record<string, (s: string) => string>> = {
  'float32>int32': (s) => `__float_as_int(${s})`,
  'int32>float32': (s) => `__int_as_float(${s})`,
  'float64>int64': (s) => `__double_as_longlong(${s})`,
  'int64>float64': (s) => `__longlong_as_double(${s})`,
  'float16>int16': (s) => `((short)fu_f2h(${s}))`,
  'int16>float16': (s) => `fu_h2f((unsigned short)(${s}))`,
  'bfloat16>int16': (s) => `((short)fu_f2b(${s}))`,
  'int16>bfloat16': (s) => `fu_b2f((unsigned short)(${s}))`,
  'float16>bfloat16': (s) => `fu_b2f(fu_f2h(${s}))`,
  'bfloat16>float16': (s) => `fu_h2f(fu_f2b(${s}))`,
  'int8>uint8': (s) => `((unsigned char)(${s}))`,
  'uint8>int8': (s) => `((signed char)(${s}))`,
  'bool>uint8': (s) => `((unsigned char)(${s}))`,
  'bool>int8': (s) => `((signed char)(${s}))`,
};

export class CudaRenderError extends Error {
  override name = 'CudaRenderError';
}

function unsupported(what: string): never {
  throw new CudaRenderError(`the cuda renderer does not support ${what}`);
}

/** A finite-or-not number as a C literal of a register type ('float' or 'double'). */
function floatLiteral(v: number, t: Compute): string {
  const f = t === 'float';
  if (Number.isNaN(v)) return f ? '__int_as_float(0x7fc00000)' : '__longlong_as_double(0x7ff8000000000000LL)';
  if (v === Infinity) return f ? '__int_as_float(0x7f800000)' : '__longlong_as_double(0x7ff0000000000000LL)';
  if (v === -Infinity) return f ? '__int_as_float((int)0xff800000u)' : '__longlong_as_double((long long)0xfff0000000000000ULL)';
  const x = f ? Math.fround(v) : v;
  let s = Object.is(x, -0) ? '-0.0' : String(x);
  if (!/[.e]/.test(s)) s += '.0';
  return f ? `${s}f` : s;
}

const INT_RANGE: Readonly<Partial<Record<DType, [number, number]>>> = {
  bool: [0, 1],
  uint8: [0, 255],
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
};

function intLiteral(v: number, dtype: DType): string {
  if (dtype === 'int64') {
    const b = BigInt(Math.trunc(Number.isFinite(v) ? v : 0));
    const lo = -(1n << 63n);
    const hi = (1n << 63n) - 1n;
    const c = b < lo ? lo : b > hi ? hi : b;
    return c === lo ? '(-9223372036854775807LL - 1)' : `${c}LL`;
  }
  const [lo, hi] = INT_RANGE[dtype]!;
  const x = Math.min(Math.max(Math.trunc(v), lo), hi);
  if (dtype === 'int32') return x === -2147483648 ? '(-2147483647 - 1)' : x < 0 ? `(${x})` : String(x);
  return `((${STORAGE_TYPE[dtype]})${x})`;
}

/** A constant of a dtype as a C literal of its register type (16-bit floats rounded to their width). */
export function literal(v: number, dtype: DType): string {
  if (dtype === 'float16') return floatLiteral(Number.isNaN(v) ? v : float16FromBits(float16Bits(v)), 'float');
  if (dtype === 'bfloat16') return floatLiteral(Number.isNaN(v) ? v : bfloat16FromBits(bfloat16Bits(v)), 'float');
  if (dtype === 'float32') return floatLiteral(v, 'float');
  if (dtype === 'float64') return floatLiteral(v, 'double');
  return intLiteral(v, dtype);
}

function castTo(from: DType, to: DType, s: string): string {
  if (to === 'bool') return `((unsigned char)((${s}) != 0))`;
  if (to === 'float32') return `((float)(${s}))`;
  if (to === 'float64') return `((double)(${s}))`;
  if (to === 'float16') return `fu_rh((float)(${s}))`;
  if (to === 'bfloat16') return `fu_rb((float)(${s}))`;
  if (isFloat(from)) {
    if (to === 'int64') return `fu_toi64((double)(${s}))`;
    return fix(to, `fu_toi32((double)(${s}))`);
  }
  if (to === 'int64') return `((long long)(${s}))`;
  if (to === 'int32') return `((int)(${s}))`;
  return fix(to, s);
}

/** Index arithmetic whose range is known to fit in int32 needs no wrapping: render it plainly. */
/** Ops that index math within int32 writes as plain C. */
const INDEX_OPS: ReadonlySet<AluOp> = new Set(['ADD', 'MUL', 'IDIV', 'MOD']);

/**
 * Renders expressions of one kernel; knows which locals are accumulators (they live in ACC_TYPE),
 * and, in the vector mode, which buffers' loads at `gid` read the element from a register tile.
 */
class ExprRenderer {
  constructor(
    private readonly accs: ReadonlyMap<string, DType>,
    private readonly tiles: ReadonlySet<number> = new Set(),
  ) {}

  /** The C type an expression's rendered text has. */
  regType(e: Expr): string {
    return REG_TYPE[e.dtype];
  }

  render(e: Expr): string {
    switch (e.k) {
      case 'const':
        return literal(e.value, e.dtype);
      case 'gid':
        return 'gid';
      case 'ridx':
        return `r${e.i}`;
      case 'var':
        return `v${e.i}`;
      case 'local': {
        // accumulators run wider than their dtype; once the loop is done the value is rounded to it
        const acc = this.accs.get(e.name);
        return acc === undefined ? e.name : acc === 'float32' ? `((float)${e.name})` : fix(acc, e.name);
      }
      case 'load': {
        const at = isTileAccess(e) && this.tiles.has(e.buf) ? `fu_in${e.buf}[fu_u].v[fu_e]` : `b${e.buf}[${this.render(e.idx)}]`;
        const l = (LOAD[e.dtype] ?? ((x: string) => x))(at);
        return e.valid ? `(${this.render(e.valid)} ? ${l} : (${REG_TYPE[e.dtype]})0)` : l;
      }
      case 'rand':
        return castTo('float32', e.dtype, `fu_uniform((unsigned)(${this.render(e.seed)}), (unsigned)(${this.render(e.counter)}))`);
      case 'cast': {
        const src = this.render(e.src);
        if (e.bitcast) {
          const f = BITCAST[`${e.src.dtype}>${e.dtype}`];
          if (!f) unsupported(`bitcast ${e.src.dtype} → ${e.dtype}`);
          return f(src);
        }
        return castTo(e.src.dtype, e.dtype, src);
      }
      case 'alu':
        return this.alu(e);
    }
  }

  private alu(e: Extract<Expr, { k: 'alu' }>): string {
    if (INDEX_OPS.has(e.op) && fitsInt32(e) && e.src.every(fitsInt32)) {
      const nonNeg = e.src[0]!.min >= 0 && e.src[1]!.min > 0;
      if ((e.op !== 'IDIV' && e.op !== 'MOD') || nonNeg) return C_LIKE[e.op](e.src.map((s) => this.render(s)));
    }
    // operands decide how the op computes; WHERE's are its two branches
    const operands = e.op === 'WHERE' ? e.src.slice(1) : e.src;
    const srcDtype = operands[0]!.dtype;
    if (isFloat(srcDtype)) {
      const t: Compute = srcDtype === 'float64' || (srcDtype === 'float32' && IN_DOUBLE.has(e.op)) ? 'double' : 'float';
      const args = e.src.map((s, i) => {
        const r = this.render(s);
        return e.op === 'WHERE' && i === 0 ? r : this.regType(s) === t ? r : `((${t})(${r}))`;
      });
      const c = FLOAT_ALU[e.op](args, t);
      if (!isFloat(e.dtype)) return `((unsigned char)${c})`;
      // the result's dtype is the operands' dtype: round a double computation back down
      const narrowed = t === 'double' && e.dtype !== 'float64' ? `((float)${c})` : c;
      return EXACT.has(e.op) && t === REG_TYPE[e.dtype] ? narrowed : fix(e.dtype, narrowed);
    }
    const wide = srcDtype === 'int32' || srcDtype === 'int64';
    const c = INT_ALU[e.op](e.src.map((s) => this.render(s)), wide, srcDtype === 'int64' ? 64 : 32);
    if (e.dtype === 'bool' && (e.op === 'CMPLT' || e.op === 'CMPEQ')) return `((unsigned char)${c})`;
    return EXACT.has(e.op) || wide ? c : fix(e.dtype, c);
  }
}

function collectAccs(stmts: readonly Stmt[], out: Map<string, DType>): Map<string, DType> {
  for (const s of stmts) {
    if (s.k === 'acc') out.set(s.name, s.dtype);
    else if (s.k === 'loop') collectAccs(s.body, out);
  }
  return out;
}

type StoreStmt = Extract<Stmt, { k: 'store' }>;

/** What a kernel's statements render with; `store` turns a store's target and value into a statement. */
interface StmtContext {
  readonly r: ExprRenderer;
  readonly accs: ReadonlyMap<string, DType>;
  readonly store: (s: StoreStmt, value: string) => string;
}

function plainStore(r: ExprRenderer): (s: StoreStmt, value: string) => string {
  return (s, v) => `b${s.buf}[${r.render(s.idx)}] = ${v};`;
}

function renderStmts(stmts: readonly Stmt[], c: StmtContext, ind: string, out: string[]): void {
  const { r, accs } = c;
  for (const s of stmts) {
    switch (s.k) {
      case 'let':
        out.push(`${ind}const ${r.regType(s.expr)} ${s.name} = ${r.render(s.expr)};`);
        break;
      case 'acc':
        out.push(`${ind}${ACC_TYPE[s.dtype]} ${s.name} = ${accLiteral(s.init, s.dtype)};`);
        break;
      case 'loop':
        out.push(`${ind}for (int r${s.ridx} = 0; r${s.ridx} < ${s.n}; r${s.ridx}++) {`);
        renderStmts(s.body, c, `${ind}  `, out);
        out.push(`${ind}}`);
        break;
      case 'update':
        out.push(`${ind}${s.name} = ${update(s.name, accs.get(s.name)!, s.op, r.render(s.expr))};`);
        break;
      case 'store':
        out.push(`${ind}${c.store(s, (STORE[s.expr.dtype] ?? ((x: string) => x))(r.render(s.expr)))}`);
        break;
    }
  }
}

function accLiteral(v: number, dtype: DType): string {
  if (isFloat(dtype)) return floatLiteral(v, ACC_TYPE[dtype] as Compute);
  return intLiteral(v, dtype);
}

/** An accumulator update in the accumulator's own type (float accumulators never round per step). */
function update(name: string, dtype: DType, op: ReduceKind, v: string): string {
  const t = ACC_TYPE[dtype];
  if (isFloat(dtype)) {
    const x = `(${t})(${v})`;
    return op === 'add' ? `${name} + ${x}` : op === 'mul' ? `${name} * ${x}` : `fu_max(${name}, ${x})`;
  }
  if (op === 'max') return `(${v} > ${name} ? (${t})(${v}) : ${name})`;
  const wide = dtype === 'int32' || dtype === 'int64';
  const raw = op === 'add' ? (wide ? `fu_add(${name}, (${t})(${v}))` : `${name} + ${v}`) : wide ? `fu_mul(${name}, (${t})(${v}))` : `${name} * ${v}`;
  return wide ? raw : fix(dtype, raw);
}

// ---------------------------------------------------------------- how a kernel's work maps to threads

/** Bytes of one vector load or store: 128-bit accesses (`ld.global.v4`). */
const VECTOR_BYTES = 16;
/** Vector steps a thread has in flight at once, at most … */
const MAX_UNROLL = 4;
/** … and no more loaded bytes than this per thread (registers stay within the launch bound). */
const LOAD_BYTES_IN_FLIGHT = 128;
/** Threads of a warp: they combine partials by shuffles, without a barrier. */
const WARP = 32;
/** Each thread sharing a reduction loop gets at least this many iterations (a block-mode loop is ≥ 4 warps' worth: 128). */
const MIN_ITERATIONS_PER_THREAD = 4;
/** The block mode needs a reduction of at least this many iterations to pay for its combine. */
export const BLOCK_MIN_REDUCTION = MIN_ITERATIONS_PER_THREAD * WARP;
/**
 * Column-shaped reductions (consecutive outputs read consecutive elements) with more outputs than
 * this keep one thread per output: those threads already read coalesced and fill a large GPU
 * (an H200 holds 132 SMs × 2048 threads; this is a quarter of that).
 */
export const BLOCK_MAX_COLUMNS = 65536;
/**
 * Row-shaped reductions with more outputs than this keep one thread per output too: the GPU is
 * full many times over, and a generated matrix product (A·Bᵀ reads both operands along its loop)
 * would otherwise pay a block's combine for every output.
 */
export const BLOCK_MAX_ROWS = 1 << 20;
/**
 * A block-mode kernel whose outputs give fewer blocks than this also splits each output's loop
 * across blocks (an H200 holds 132 SMs × 8 blocks of 256 threads) …
 */
export const SPLIT_TARGET_BLOCKS = 1024;
/** … as long as every thread still gets this many iterations of the loop. */
export const SPLIT_MIN_ITERATIONS = 32;
/** Warps in a block. */
const WARPS = BLOCK_SIZE / WARP;
/** Blocks launched per multiprocessor at most; larger work is grid-strided. */
const BLOCKS_PER_SM = 32;
/** Largest size for 32-bit index arithmetic (gid is an int; tile and group counters must not wrap). */
const INT32_WORK = 2 ** 31 - 1 - 16 * BLOCK_SIZE * MAX_UNROLL;

/**
 * How a kernel is rendered and launched (blocks are always BLOCK_SIZE threads):
 * - `thread`: one thread per output in a grid-stride loop; reductions run serially in the thread.
 * - `vector`: elementwise kernels whose store is at `gid`: each thread step covers `width`
 *   consecutive elements, buffers accessed at `gid` move as one 16-byte vector per step (`width`
 *   is 16 bytes over the widest such dtype), `unroll` steps are loaded before any is computed;
 *   the `size % width` last elements run one per thread after the loop.
 * - `block`: reductions with a long loop and few outputs: `outputs` outputs per block, `threads`
 *   threads per output striding over each top-level loop's iterations, partial accumulators
 *   combined with the accumulator's own op through warp shuffles and shared memory. `rows`
 *   puts an output's threads side by side (the loop reads consecutive elements), `cols` puts
 *   consecutive outputs side by side (consecutive outputs read consecutive elements). With few
 *   outputs and one long loop, the loop is also split across `parts` blocks: each writes its
 *   partials to a workspace and the last block of a group to finish (a counter per group, reset
 *   by that block) combines them in a fixed order, runs the statements after the loop and stores.
 * `blocks` is how many blocks cover the work; a launch caps it per device and grid-strides.
 */
export type KernelPlan =
  | { readonly mode: 'thread'; readonly blocks: number }
  | { readonly mode: 'vector'; readonly blocks: number; readonly width: number; readonly unroll: number; readonly loads: readonly number[] }
  | {
      readonly mode: 'block';
      readonly blocks: number;
      readonly layout: 'rows' | 'cols';
      readonly outputs: number;
      readonly threads: number;
      readonly splits: ReadonlyMap<Stmt, ReductionLoop>;
      /** Blocks each output group's loop is split across (1: one block per group). */
      readonly parts: number;
      /** Bytes of zeroed scratch memory the kernel takes as its last parameter (0: none). */
      readonly workspace: number;
    };

export interface LaunchShape {
  readonly grid: number;
  readonly block: number;
}

/** The grid and block a kernel rendered by this module is launched with on a device. */
export function launchShape(plan: KernelPlan, multiprocessors: number): LaunchShape {
  return { grid: Math.max(1, Math.min(plan.blocks, multiprocessors * BLOCKS_PER_SM)), block: BLOCK_SIZE };
}

/** Chooses the rendering of a kernel from its shape (see KernelPlan). */
export function planKernel(k: Kernel): KernelPlan {
  return vectorPlan(k) ?? blockPlan(k) ?? { mode: 'thread', blocks: Math.ceil(k.size / BLOCK_SIZE) };
}

const isTileAccess = (e: Extract<Expr, { k: 'load' }>): boolean => e.idx.k === 'gid' && e.valid === null;

/** Vector tiles, as the planning pass decided them (null: not an elementwise kernel it tiles). */
function vectorPlan(k: Kernel): KernelPlan | null {
  const v = planTiles(k, CUDA_PLANNING);
  if (v.lanes !== 'tiles') return null;
  const tiles = Math.floor(k.size / v.width);
  return { mode: 'vector', blocks: Math.ceil(tiles / (BLOCK_SIZE * v.copies)), width: v.width, unroll: v.copies, loads: v.loads };
}

/**
 * The numbers this backend declares to the compiler's planning pass (reduce-plan.ts), which
 * decides the vector tiles (16-byte accesses, up to 4 steps and 128 loaded bytes in flight per
 * thread) and the block mode: warps of 32, blocks of BLOCK_SIZE threads, 48 KiB of shared memory; an
 * output's threads in a row or, where loads coalesce across outputs, outputs side by side; a long
 * loop with few outputs also split across blocks.
 */
export const CUDA_PLANNING: PlanNumbers = {
  vectorWidth: VECTOR_BYTES / 4,
  maxVectorCopies: MAX_UNROLL,
  maxReductionChains: 1,
  groupSize: BLOCK_SIZE,
  tileLoadBytes: LOAD_BYTES_IN_FLIGHT,
  subgroupSize: WARP,
  sharedMemoryBytes: 48 * 1024,
  cooperative: {
    minIterationsPerThread: MIN_ITERATIONS_PER_THREAD,
    threadsPerOutput: 'pow2',
    maxWholeGroupOutputs: Infinity,
    maxRowOutputs: BLOCK_MAX_ROWS,
    maxColumnOutputs: BLOCK_MAX_COLUMNS,
    indexLimit: INT32_WORK,
  },
  split: { targetParts: SPLIT_TARGET_BLOCKS, minIterationsPerThread: SPLIT_MIN_ITERATIONS, outputsBelow: Infinity, minWork: 0, align: 1 },
};

/** The block mode, as the planning pass decided it (null: one thread per output). */
function blockPlan(k: Kernel): KernelPlan | null {
  const group = planGroups(k, CUDA_PLANNING);
  if (!group) return null;
  const split = planSplit(k, CUDA_PLANNING, group);
  const parts = split?.parts ?? 1;
  const workspace = split && parts > 1 ? workspaceLayout(group.groups, parts, group.outputsPerGroup, split.loop.accs).bytes : 0;
  const splits = new Map<Stmt, ReductionLoop>(group.loops.map((l) => [l.loop, l]));
  return { mode: 'block', blocks: group.groups * parts, layout: group.layout, outputs: group.outputsPerGroup, threads: group.threadsPerOutput, splits, parts, workspace };
}

/**
 * The counters at the start of every split kernel's workspace: one per group, and a split kernel
 * has at most SPLIT_TARGET_BLOCKS / 2 groups (it splits into ≥ 2 parts). Kernels share the
 * workspace and each leaves its counters at zero; partials, which they leave behind, must never
 * lie where another kernel's counters do — so the counter area has the same size for all.
 */
const COUNTER_BYTES = (SPLIT_TARGET_BLOCKS / 2) * 4;

/** Where a split kernel keeps things in its workspace: the counters (one per group), then each accumulator's partials (8-byte slots). */
function workspaceLayout(groups: number, parts: number, outputs: number, accs: readonly PartialAcc[]): { offsets: number[]; bytes: number } {
  if (groups * 4 > COUNTER_BYTES) throw new CudaRenderError(`internal: a split reduction of ${groups} groups (at most ${COUNTER_BYTES / 4})`);
  let at = COUNTER_BYTES;
  const offsets = accs.map(() => {
    const o = at;
    at += groups * parts * outputs * 8;
    return o;
  });
  return { offsets, bytes: at };
}

// ---------------------------------------------------------------- kernels

/** A valid C identifier for a kernel (kernel IR names are already, but keep it safe). */
export const kernelSymbol = (name: string): string => name.replace(/[^A-Za-z0-9_]/g, '_');

/** The `extern "C" __global__` function for one kernel, without the prelude. */
export function renderKernel(k: Kernel, name = kernelSymbol(k.name), plan = planKernel(k)): string {
  const params = [
    ...k.buffers.map((b, i) => `${b.output ? '' : 'const '}${STORAGE_TYPE[b.dtype]}* b${i}`),
    ...k.vars.map((v, i) => `${STORAGE_TYPE[v.dtype]} v${i}`),
    ...(plan.mode === 'block' && plan.workspace > 0 ? ['unsigned char* fu_ws'] : []),
  ];
  const out: string[] = [`// ${k.name}: ${describe(k, plan)}`, `extern "C" __global__ void __launch_bounds__(${BLOCK_SIZE}) ${name}(${params.join(', ')}) {`];
  if (plan.mode === 'vector') renderVector(k, plan, out);
  else if (plan.mode === 'block') renderBlock(k, plan, out);
  else renderThread(k, out);
  out.push('}');
  return out.join('\n');
}

function describe(k: Kernel, plan: KernelPlan): string {
  switch (plan.mode) {
    case 'thread':
      return `${k.size} threads of work`;
    case 'vector':
      return `${k.size} elements, ${plan.width} per thread step as vectors, ${plan.unroll} steps in flight`;
    case 'block':
      return `${k.size} outputs, ${plan.outputs} per block (${plan.layout}), ${plan.threads} threads each${plan.parts > 1 ? `, loop split across ${plan.parts} blocks` : ''}`;
  }
}

function renderThread(k: Kernel, out: string[]): void {
  const accs = collectAccs(k.body, new Map());
  const r = new ExprRenderer(accs);
  out.push(
    `  for (long long fu_i = (long long)blockIdx.x * blockDim.x + threadIdx.x; fu_i < ${k.size}LL; fu_i += (long long)gridDim.x * blockDim.x) {`,
    `    const int gid = (int)fu_i;`,
  );
  renderStmts(k.body, { r, accs, store: plainStore(r) }, '    ', out);
  out.push('  }');
}

/**
 * Tiles of `width` elements: the loads of `unroll` tiles first (16-byte vectors into registers),
 * then each element's statements exactly as in the thread mode, with loads and stores at `gid`
 * reading and writing the register tiles; then the vector stores. Then the scalar tail.
 */
function renderVector(k: Kernel, plan: Extract<KernelPlan, { mode: 'vector' }>, out: string[]): void {
  const { width, unroll, loads } = plan;
  const tiles = Math.floor(k.size / width);
  const step = BLOCK_SIZE * unroll;
  const vec = (b: number): string => `fu_vec<${STORAGE_TYPE[k.buffers[b]!.dtype]}, ${width}>`;
  const stores = [...new Set(k.body.flatMap((s) => (s.k === 'store' ? [s.buf] : [])))].sort((a, b) => a - b);
  const accs = new Map<string, DType>();
  const tileR = new ExprRenderer(accs, new Set(loads));
  const each = (body: string[], ind: string): void => {
    out.push('#pragma unroll', `${ind}for (int fu_u = 0; fu_u < ${unroll}; fu_u++) {`, `${ind}  const unsigned fu_k = fu_t + fu_u * ${BLOCK_SIZE}u;`);
    out.push(`${ind}  if (fu_k < ${tiles}u) {`, ...body.map((l) => (l.startsWith('#') ? l : `${ind}    ${l}`)), `${ind}  }`, `${ind}}`);
  };
  out.push(`  for (unsigned fu_t = blockIdx.x * ${step}u + threadIdx.x; fu_t < ${tiles}u; fu_t += gridDim.x * ${step}u) {`);
  if (loads.length > 0) {
    for (const b of loads) out.push(`    ${vec(b)} fu_in${b}[${unroll}];`);
    each(
      loads.map((b) => `fu_in${b}[fu_u] = ((const ${vec(b)}*)b${b})[fu_k];`),
      '    ',
    );
  }
  const element: string[] = [];
  renderStmts(k.body, { r: tileR, accs, store: (s, v) => `fu_out${s.buf}.v[fu_e] = ${v};` }, '  ', element);
  each(
    [
      ...stores.map((b) => `${vec(b)} fu_out${b};`),
      '#pragma unroll',
      `for (int fu_e = 0; fu_e < ${width}; fu_e++) {`,
      `  const int gid = (int)(fu_k * ${width}u) + fu_e;`,
      ...element,
      '}',
      ...stores.map((b) => `((${vec(b)}*)b${b})[fu_k] = fu_out${b};`),
    ],
    '    ',
  );
  out.push('  }');
  const rest = k.size - tiles * width;
  if (rest > 0) {
    const r = new ExprRenderer(accs);
    out.push(`  if (blockIdx.x == 0 && threadIdx.x < ${rest}u) {`, `    const int gid = ${tiles * width} + (int)threadIdx.x;`);
    renderStmts(k.body, { r, accs, store: plainStore(r) }, '    ', out);
    out.push('  }');
  }
}

/** A warp shuffle of an accumulator; 8- and 16-bit values travel as int (shuffles move 32 or 64 bits). */
function shuffleXor(dtype: DType, v: string, lanes: number): string {
  const t = ACC_TYPE[dtype];
  const narrow = t === 'unsigned char' || t === 'signed char' || t === 'short';
  return narrow ? `(${t})__shfl_xor_sync(0xffffffffu, (int)${v}, ${lanes})` : `__shfl_xor_sync(0xffffffffu, ${v}, ${lanes})`;
}

/**
 * Groups of `outputs` outputs per block in a grid-stride loop over groups. Every thread runs the
 * kernel's statements for its output (threads past the last output redo the last one and store
 * nothing, so all reach every barrier); a split loop's iterations are dealt out over the
 * output's threads, and its accumulators are combined right after it: butterfly shuffles within a
 * warp, then (when an output spans warps or a warp holds several outputs) one slot per warp in
 * shared memory, read back in a fixed order by every thread, so all hold the same combined value
 * before the next statement. Only the output's first thread stores.
 */
function renderBlock(k: Kernel, plan: Extract<KernelPlan, { mode: 'block' }>, out: string[]): void {
  const { layout, outputs: G, threads: S, splits, parts: P } = plan;
  const accs = collectAccs(k.body, new Map());
  const r = new ExprRenderer(accs);
  const groups = Math.ceil(k.size / G);
  const ragged = k.size % G !== 0;
  if (layout === 'cols' || S > 32) {
    for (const l of splits.values()) {
      for (const a of l.accs) out.push(`  __shared__ ${ACC_TYPE[a.dtype]} fu_sh_${a.name}[${layout === 'rows' ? WARPS : WARPS * G}];`);
    }
  }
  const [only] = splits.values();
  if (P > 1) {
    const { offsets } = workspaceLayout(groups, P, G, only!.accs);
    out.push('  __shared__ unsigned fu_last;', '  unsigned* fu_cnt = (unsigned*)fu_ws;');
    only!.accs.forEach((a, i) => out.push(`  ${ACC_TYPE[a.dtype]}* fu_part_${a.name} = (${ACC_TYPE[a.dtype]}*)(fu_ws + ${offsets[i]});`));
  }
  if (layout === 'rows') {
    if (G > 1) out.push(`  const int fu_o = threadIdx.x / ${S};`);
    out.push(`  const int fu_s = threadIdx.x${G > 1 ? ` % ${S}` : ''};`);
  } else {
    out.push(`  const int fu_o = threadIdx.x % ${G};`, `  const int fu_s = threadIdx.x / ${G};`);
  }
  if (P > 1) {
    out.push(`  for (int fu_u = blockIdx.x; fu_u < ${groups * P}; fu_u += gridDim.x) {`, `    const int fu_g = fu_u / ${P};`, `    const int fu_p = fu_u % ${P};`);
  } else out.push(`  for (int fu_g = blockIdx.x; fu_g < ${groups}; fu_g += gridDim.x) {`);
  if (G === 1) out.push('    const int gid = fu_g;');
  else {
    out.push(`    const int fu_out = fu_g * ${G} + fu_o;`);
    out.push(ragged ? `    const int gid = fu_out < ${k.size} ? fu_out : ${k.size - 1};` : '    const int gid = fu_out;');
  }
  const guard = `fu_s == 0${ragged ? ` && fu_out < ${k.size}` : ''}`;
  const c: StmtContext = { r, accs, store: (s, v) => `if (${guard}) b${s.buf}[${r.render(s.idx)}] = ${v};` };
  let ind = '    ';
  for (const s of k.body) {
    const split = splits.get(s);
    if (!split) {
      renderStmts([s], c, ind, out);
      continue;
    }
    const { nest, n } = split;
    const start = P > 1 ? `fu_p * ${S} + fu_s` : 'fu_s';
    if (nest.length === 1) out.push(`${ind}for (int r${nest[0]!.ridx} = ${start}; r${nest[0]!.ridx} < ${n}; r${nest[0]!.ridx} += ${S * P}) {`);
    else {
      out.push(`${ind}for (int fu_f = ${start}; fu_f < ${n}; fu_f += ${S * P}) {`);
      let inner = n;
      for (const [i, l] of nest.entries()) {
        inner /= l.n;
        const q = inner > 1 ? `fu_f / ${inner}` : 'fu_f';
        out.push(`${ind}  const int r${l.ridx} = ${i === 0 ? q : inner > 1 ? `(${q}) % ${l.n}` : `${q} % ${l.n}`};`);
      }
    }
    renderStmts(split.body, c, `${ind}  `, out);
    out.push(`${ind}}`);
    renderCombine(split, plan, out, ind);
    if (P > 1) {
      // this block's partials out, then the group's last block to arrive combines all of them
      const slot = (part: string): string => (G > 1 ? `(fu_g * ${P} + ${part}) * ${G} + fu_o` : `fu_g * ${P} + ${part}`);
      out.push(`${ind}if (fu_s == 0) {`);
      for (const a of split.accs) out.push(`${ind}  fu_part_${a.name}[${slot('fu_p')}] = ${a.name};`);
      out.push(`${ind}}`, `${ind}__threadfence();`, `${ind}__syncthreads();`);
      out.push(`${ind}if (threadIdx.x == 0) fu_last = atomicAdd(&fu_cnt[fu_g], 1u) == ${P - 1}u;`, `${ind}__syncthreads();`);
      out.push(`${ind}if (fu_last) {`);
      ind += '  ';
      out.push(`${ind}__threadfence();`);
      for (const a of split.accs) out.push(`${ind}${a.name} = ${accLiteral(a.init, a.dtype)};`);
      out.push(`${ind}for (int fu_q = fu_s; fu_q < ${P}; fu_q += ${S}) {`);
      for (const a of split.accs) {
        out.push(`${ind}  ${combine(a, `((volatile ${ACC_TYPE[a.dtype]}*)fu_part_${a.name})[${slot('fu_q')}]`)}`);
      }
      out.push(`${ind}}`);
      renderCombine(split, plan, out, ind);
      out.push(`${ind}if (threadIdx.x == 0) fu_cnt[fu_g] = 0u;`);
    }
  }
  if (P > 1) out.push('    }');
  out.push('  }');
}

/** One step of combining partials: the accumulator's own update with another partial (read once). */
function combine(a: PartialAcc, other: string): string {
  return `{ const ${ACC_TYPE[a.dtype]} fu_v = ${other}; ${a.name} = ${update(a.name, a.dtype, a.op, 'fu_v')}; }`;
}

function renderCombine(split: ReductionLoop, plan: Extract<KernelPlan, { mode: 'block' }>, out: string[], ind: string): void {
  const { layout, outputs: G, threads: S } = plan;
  if (split.accs.length === 0) return;
  const comb = (a: PartialAcc, v: string): string => `${ind}${combine(a, v)}`;
  // butterfly over the lanes of one output: all of them end with the warp's value
  const lanes = layout === 'rows' ? Math.min(S, 32) : 32;
  for (let d = lanes / 2; d >= (layout === 'rows' ? 1 : G); d /= 2) {
    for (const a of split.accs) out.push(comb(a, shuffleXor(a.dtype, a.name, d)));
  }
  if (layout === 'rows' && S <= 32) return;
  const warpsPerOutput = layout === 'rows' ? S / 32 : WARPS;
  const slot = layout === 'rows' ? 'threadIdx.x >> 5' : G === 32 ? 'threadIdx.x' : `(threadIdx.x >> 5) * ${G} + (threadIdx.x & 31)`;
  const writer = layout === 'rows' ? '(threadIdx.x & 31) == 0' : G === 32 ? null : `(threadIdx.x & 31) < ${G}`;
  const writes = split.accs.map((a) => `fu_sh_${a.name}[${slot}] = ${a.name};`);
  if (writer) out.push(`${ind}if (${writer}) {`, ...writes.map((w) => `${ind}  ${w}`), `${ind}}`);
  else out.push(...writes.map((w) => `${ind}${w}`));
  out.push(`${ind}__syncthreads();`);
  const at = (w: string): string => (layout === 'rows' ? (G > 1 ? `fu_o * ${warpsPerOutput} + ${w}` : w) : G > 1 ? `${w} * ${G} + fu_o` : w);
  const first = layout === 'rows' ? (G > 1 ? `fu_o * ${warpsPerOutput}` : '0') : G > 1 ? 'fu_o' : '0';
  for (const a of split.accs) out.push(`${ind}${a.name} = fu_sh_${a.name}[${first}];`);
  out.push(`${ind}for (int fu_w = 1; fu_w < ${warpsPerOutput}; fu_w++) {`);
  for (const a of split.accs) out.push(`  ${comb(a, `fu_sh_${a.name}[${at('fu_w')}]`)}`);
  out.push(`${ind}}`, `${ind}__syncthreads();`);
}

/** A whole compilation unit: the prelude and one kernel. This is what the backend compiles. */
export function renderCuda(k: Kernel): string {
  return renderCudaProgram(k).source;
}

/** A rendered kernel with the plan its launch follows: planned once, here, for both. */
export interface RenderedCuda extends RenderedKernel {
  readonly source: string;
  readonly plan: KernelPlan;
}

export function renderCudaProgram(k: Kernel): RenderedCuda {
  const plan = planKernel(k);
  const entry = kernelSymbol(k.name);
  return {
    source: `${CUDA_PRELUDE}\n${renderKernel(k, entry, plan)}\n`,
    entry,
    groupSize: BLOCK_SIZE,
    outputsPerGroup: plan.mode === 'block' ? plan.outputs : BLOCK_SIZE,
    bindings: plan.mode === 'block' && plan.workspace > 0 ? { workspace: k.buffers.length + k.vars.length } : {},
    workspace: plan.mode === 'block' ? plan.workspace : 0,
    plan,
  };
}

/** Many kernels in one unit (for batch compiles), renamed k0, k1, … so names never collide. */
export function renderCudaBatch(kernels: readonly Kernel[]): string {
  return [CUDA_PRELUDE, ...kernels.map((k, i) => renderKernel(k, `k${i}_${kernelSymbol(k.name)}`))].join('\n\n') + '\n';
}

/** Helpers every kernel may call. Host fallbacks (no __CUDA_ARCH__) are for emulation tests only. */
export const CUDA_PRELUDE = String.raw`// fusor cuda prelude
#define FU_D __device__ __forceinline__

// N consecutive values moved by one aligned access (16 bytes: ld.global.v4 / st.global.v4)
template <typename T, int N> struct alignas(sizeof(T) * N) fu_vec { T v[N]; };

FU_D float fu_h2f(unsigned short h) {
#ifdef __CUDA_ARCH__
  float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h)); return f;
#else
  unsigned s = (unsigned)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 31u) return __int_as_float((int)(s | 0x7f800000u | (m << 13)));
  if (e == 0u) { float v = (float)m * 5.9604644775390625e-8f; return s ? -v : v; }
  return __int_as_float((int)(s | ((e + 112u) << 23) | (m << 13)));
#endif
}
FU_D unsigned short fu_f2h(float f) {
#ifdef __CUDA_ARCH__
  unsigned short h; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f)); return h;
#else
  unsigned u = (unsigned)__float_as_int(f), s = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return (unsigned short)(s | 0x7e00u);
  if (a >= 0x477ff000u) return (unsigned short)(s | 0x7c00u);
  if (a < 0x38800000u) {
    float v = __int_as_float((int)a) * 16777216.0f; // subnormal: units of 2^-24, rounded to even
    float r = rintf(v);
    return (unsigned short)(s | (unsigned)r);
  }
  unsigned m = a + 0xc8000fffu + ((a >> 13) & 1u);
  return (unsigned short)(s | (m >> 13));
#endif
}
FU_D float fu_b2f(unsigned short h) { return __int_as_float((int)((unsigned)h << 16)); }
FU_D unsigned short fu_f2b(float f) {
  if (f != f) return (unsigned short)0x7fc0u;
  unsigned u = (unsigned)__float_as_int(f);
  return (unsigned short)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
FU_D float fu_rh(float x) { return fu_h2f(fu_f2h(x)); }
FU_D float fu_rb(float x) { return fu_b2f(fu_f2b(x)); }

FU_D int fu_add(int a, int b) { return (int)((unsigned)a + (unsigned)b); }
FU_D long long fu_add(long long a, long long b) { return (long long)((unsigned long long)a + (unsigned long long)b); }
FU_D int fu_mul(int a, int b) { return (int)((unsigned)a * (unsigned)b); }
FU_D long long fu_mul(long long a, long long b) { return (long long)((unsigned long long)a * (unsigned long long)b); }
FU_D int fu_neg(int a) { return (int)(0u - (unsigned)a); }
FU_D long long fu_neg(long long a) { return (long long)(0ull - (unsigned long long)a); }
FU_D int fu_shl(int a, int b) { return (int)((unsigned)a << (b & 31)); }
FU_D long long fu_shl(long long a, int b) { return (long long)((unsigned long long)a << (b & 63)); }
FU_D int fu_idiv(int a, int b) { return b == 0 ? 0 : b == -1 ? fu_neg(a) : a / b; }
FU_D long long fu_idiv(long long a, long long b) { return b == 0 ? 0 : b == -1 ? fu_neg(a) : a / b; }
FU_D int fu_mod(int a, int b) { return (b == 0 || b == -1) ? 0 : a % b; }
FU_D long long fu_mod(long long a, long long b) { return (b == 0 || b == -1) ? 0 : a % b; }
FU_D float fu_fidivf(float a, float b) { return b == 0.0f ? 0.0f : truncf(a / b); }
FU_D double fu_fidiv(double a, double b) { return b == 0.0 ? 0.0 : trunc(a / b); }

// NaN-propagating max that prefers +0 over -0 (JavaScript's Math.max, PyTorch's maximum)
FU_D float fu_max(float a, float b) { return (a != a || a > b || (a == b && __float_as_int(a) >= 0)) ? a : b; }
FU_D double fu_max(double a, double b) { return (a != a || a > b || (a == b && __double_as_longlong(a) >= 0)) ? a : b; }

// float → int truncates toward zero, wraps modulo 2^32 like JavaScript's ToInt32; NaN and ±inf give 0
FU_D int fu_toi32(double x) {
  if (!(x - x == 0.0)) return 0;
  double m = fmod(trunc(x), 4294967296.0);
  return (int)(unsigned)(long long)m;
}
FU_D long long fu_toi64(double x) { return (x - x == 0.0) ? (long long)x : 0; }

// the counter-based generator of @fusor/ir random.ts, bit for bit
FU_D unsigned fu_pcg(unsigned v) {
  unsigned state = v * 747796405u + 2891336453u;
  unsigned word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}
FU_D float fu_uniform(unsigned seed, unsigned counter) {
  return (float)(fu_pcg(fu_pcg(counter) ^ seed) >> 8) * 5.960464477539063e-8f;
}
`;

/**
 * A GEMM epilogue (compiler backend.ts `GemmEpilogue`) as a device function
 * `name(gid, acc, b1, …)` returning the value to store for the product `acc` at C's offset `gid`,
 * rendered as the thread mode renders a kernel's statements (gemm-kernels.ts calls it at its store).
 */
export function renderCudaEpilogue(k: Kernel, name: string): string {
  const store = k.body[k.body.length - 1];
  if (store?.k !== 'store' || k.body.slice(0, -1).some((s) => s.k !== 'let')) unsupported('a gemm epilogue other than lets and one store');
  const r = new ExprRenderer(new Map());
  const dtype = store.expr.dtype;
  const params = ['long long fu_g', `${REG_TYPE[dtype]} acc`, ...k.buffers.slice(1).map((b, i) => `const ${STORAGE_TYPE[b.dtype]}* b${i + 1}`)];
  const out = [`FU_D ${STORAGE_TYPE[dtype]} ${name}(${params.join(', ')}) {`, '  const int gid = (int)fu_g;'];
  renderStmts(k.body.slice(0, -1), { r, accs: new Map(), store: plainStore(r) }, '  ', out);
  out.push(`  return ${(STORE[dtype] ?? ((x: string) => x))(r.render(store.expr))};`, '}');
  return out.join('\n');
}
