/**
 * Kernel IR → CUDA C. One thread per output element in a grid-stride loop over `gid`; the
 * statement body is rendered once, in the same order as the JavaScript renderer, with the same
 * numeric rules:
 * - float32 values round after every op (C does this by itself); exp2, log2 and sin compute in
 *   double and round once; float32 accumulators run in double, as the cpu backend's do, and their
 *   value is rounded to float32 once the loop ends;
 * - float16 and bfloat16 are stored as 16-bit patterns and computed in float, rounded back to
 *   their width after every op (as PyTorch's eager kernels do); their accumulators stay in float;
 * - int32 and int64 wrap on overflow (computed in unsigned, never C's undefined signed overflow);
 *   integer division and remainder by zero give 0; float → int truncates, NaN and ±inf give 0;
 * - bool and uint8 are `unsigned char`.
 * The prelude needs no CUDA header: half conversions are PTX `cvt` instructions, so NVRTC from a
 * Python wheel (which ships no toolkit headers) compiles it. Without `__CUDA_ARCH__` the prelude
 * falls back to portable C++, which is what the host-emulation tests compile.
 */
import { isFloat, type DType } from '@fusor/ir';
import { bfloat16Bits, bfloat16FromBits, float16Bits, float16FromBits, type AluOp, type Expr, type Kernel, type Stmt } from '@fusor/compiler';

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

/** Math functions by the register type they compute in. */
const MATH: Readonly<Record<'float' | 'double', Readonly<Record<'EXP2' | 'LOG2' | 'SIN' | 'SQRT' | 'TRUNC' | 'MOD', string>>>> = {
  float: { EXP2: 'exp2f', LOG2: 'log2f', SIN: 'sinf', SQRT: 'sqrtf', TRUNC: 'truncf', MOD: 'fmodf' },
  double: { EXP2: 'exp2', LOG2: 'log2', SIN: 'sin', SQRT: 'sqrt', TRUNC: 'trunc', MOD: 'fmod' },
};

type Compute = 'float' | 'double';
/** One entry per ALU op on floating-point operands, already converted to the compute type `t`. */
const FLOAT_ALU: Readonly<Record<AluOp, (a: readonly string[], t: Compute) => string>> = {
  NEG: ([a]) => `(-${a})`,
  EXP2: ([a], t) => `${MATH[t].EXP2}(${a})`,
  LOG2: ([a], t) => `${MATH[t].LOG2}(${a})`,
  SIN: ([a], t) => `${MATH[t].SIN}(${a})`,
  SQRT: ([a], t) => `${MATH[t].SQRT}(${a})`,
  RECIP: ([a], t) => `(${t === 'float' ? '1.0f' : '1.0'} / ${a})`,
  TRUNC: ([a], t) => `${MATH[t].TRUNC}(${a})`,
  ADD: ([a, b]) => `(${a} + ${b})`,
  MUL: ([a, b]) => `(${a} * ${b})`,
  IDIV: ([a, b], t) => `${t === 'float' ? 'fu_fidivf' : 'fu_fidiv'}(${a}, ${b})`,
  MOD: ([a, b], t) => `${MATH[t].MOD}(${a}, ${b})`,
  MAX: ([a, b]) => `fu_max(${a}, ${b})`,
  CMPLT: ([a, b]) => `(${a} < ${b})`,
  CMPEQ: ([a, b]) => `(${a} == ${b})`,
  AND: () => unsupported('AND on floating point'),
  OR: () => unsupported('OR on floating point'),
  XOR: () => unsupported('XOR on floating point'),
  SHL: () => unsupported('SHL on floating point'),
  SHR: () => unsupported('SHR on floating point'),
  WHERE: ([c, a, b]) => `(${c} ? ${a} : ${b})`,
};

/**
 * One entry per ALU op on integer and bool operands. `wide` is true for int32/int64, whose
 * overflow must wrap through the prelude's unsigned helpers; narrower types compute in int and
 * are narrowed by FIX afterwards.
 */
const INT_ALU: Readonly<Record<AluOp, (a: readonly string[], wide: boolean, bits: number) => string>> = {
  NEG: ([a], wide) => (wide ? `fu_neg(${a})` : `(-${a})`),
  EXP2: ([a]) => `fu_toi64(exp2((double)(${a})))`,
  LOG2: ([a]) => `fu_toi64(log2((double)(${a})))`,
  SIN: ([a]) => `fu_toi64(sin((double)(${a})))`,
  SQRT: ([a]) => `fu_toi64(sqrt((double)(${a})))`,
  RECIP: ([a]) => `fu_toi64(1.0 / (double)(${a}))`,
  TRUNC: ([a]) => a,
  ADD: ([a, b], wide) => (wide ? `fu_add(${a}, ${b})` : `(${a} + ${b})`),
  MUL: ([a, b], wide) => (wide ? `fu_mul(${a}, ${b})` : `(${a} * ${b})`),
  IDIV: ([a, b], wide) => (wide ? `fu_idiv(${a}, ${b})` : `fu_idiv((int)(${a}), (int)(${b}))`),
  MOD: ([a, b], wide) => (wide ? `fu_mod(${a}, ${b})` : `fu_mod((int)(${a}), (int)(${b}))`),
  MAX: ([a, b]) => `(${a} > ${b} ? ${a} : ${b})`,
  CMPLT: ([a, b]) => `(${a} < ${b})`,
  CMPEQ: ([a, b]) => `(${a} == ${b})`,
  AND: ([a, b]) => `(${a} & ${b})`,
  OR: ([a, b]) => `(${a} | ${b})`,
  XOR: ([a, b]) => `(${a} ^ ${b})`,
  SHL: ([a, b], wide) => (wide ? `fu_shl(${a}, (int)(${b}))` : `fu_shl((int)(${a}), (int)(${b}))`),
  SHR: ([a, b], _wide, bits) => `(${a} >> ((int)(${b}) & ${bits === 64 ? 63 : 31}))`,
  WHERE: ([c, a, b]) => `(${c} ? ${a} : ${b})`,
};

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
const INDEX_OPS: Readonly<Partial<Record<AluOp, string>>> = { ADD: '+', MUL: '*', IDIV: '/', MOD: '%' };
const fitsInt32 = (e: Expr): boolean => e.dtype === 'int32' && e.min >= -(2 ** 31) && e.max < 2 ** 31;

/** Renders expressions of one kernel; knows which locals are accumulators (they live in ACC_TYPE). */
class ExprRenderer {
  constructor(private readonly accs: ReadonlyMap<string, DType>) {}

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
        const l = (LOAD[e.dtype] ?? ((x: string) => x))(`b${e.buf}[${this.render(e.idx)}]`);
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
    const sym = INDEX_OPS[e.op];
    if (sym && fitsInt32(e) && e.src.every(fitsInt32)) {
      const nonNeg = e.src[0]!.min >= 0 && e.src[1]!.min > 0;
      if ((e.op !== 'IDIV' && e.op !== 'MOD') || nonNeg) {
        return `(${this.render(e.src[0]!)} ${sym} ${this.render(e.src[1]!)})`;
      }
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

function renderStmts(stmts: readonly Stmt[], r: ExprRenderer, accs: ReadonlyMap<string, DType>, ind: string, out: string[]): void {
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
        renderStmts(s.body, r, accs, `${ind}  `, out);
        out.push(`${ind}}`);
        break;
      case 'update':
        out.push(`${ind}${s.name} = ${update(s.name, accs.get(s.name)!, s.op, r.render(s.expr))};`);
        break;
      case 'store': {
        const v = r.render(s.expr);
        const dtype = s.expr.dtype;
        out.push(`${ind}b${s.buf}[${r.render(s.idx)}] = ${(STORE[dtype] ?? ((x: string) => x))(v)};`);
        break;
      }
    }
  }
}

function accLiteral(v: number, dtype: DType): string {
  if (isFloat(dtype)) return floatLiteral(v, ACC_TYPE[dtype] as Compute);
  return intLiteral(v, dtype);
}

/** An accumulator update in the accumulator's own type (float accumulators never round per step). */
function update(name: string, dtype: DType, op: 'add' | 'mul' | 'max', v: string): string {
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

/** A valid C identifier for a kernel (kernel IR names are already, but keep it safe). */
export const kernelSymbol = (name: string): string => name.replace(/[^A-Za-z0-9_]/g, '_');

/** The `extern "C" __global__` function for one kernel, without the prelude. */
export function renderKernel(k: Kernel, name = kernelSymbol(k.name)): string {
  const accs = collectAccs(k.body, new Map());
  const r = new ExprRenderer(accs);
  const params = [
    ...k.buffers.map((b, i) => `${b.output ? '' : 'const '}${STORAGE_TYPE[b.dtype]}* b${i}`),
    ...k.vars.map((v, i) => `${STORAGE_TYPE[v.dtype]} v${i}`),
  ];
  const out: string[] = [
    `// ${k.name}: ${k.size} threads of work`,
    `extern "C" __global__ void __launch_bounds__(${BLOCK_SIZE}) ${name}(${params.join(', ')}) {`,
    `  for (long long fu_i = (long long)blockIdx.x * blockDim.x + threadIdx.x; fu_i < ${k.size}LL; fu_i += (long long)gridDim.x * blockDim.x) {`,
    `    const int gid = (int)fu_i;`,
  ];
  renderStmts(k.body, r, accs, '    ', out);
  out.push('  }', '}');
  return out.join('\n');
}

/** A whole compilation unit: the prelude and one kernel. This is what the backend compiles. */
export function renderCuda(k: Kernel): string {
  return `${CUDA_PRELUDE}\n${renderKernel(k)}\n`;
}

/** Many kernels in one unit (for batch compiles), renamed k0, k1, … so names never collide. */
export function renderCudaBatch(kernels: readonly Kernel[]): string {
  return [CUDA_PRELUDE, ...kernels.map((k, i) => renderKernel(k, `k${i}_${kernelSymbol(k.name)}`))].join('\n\n') + '\n';
}

/** Helpers every kernel may call. Host fallbacks (no __CUDA_ARCH__) are for emulation tests only. */
export const CUDA_PRELUDE = String.raw`// fusor cuda prelude
#define FU_D __device__ __forceinline__

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
