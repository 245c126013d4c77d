/**
 * Kernel IR → WGSL. One invocation per output index: `gid` comes from a 1-D or 2-D grid of
 * workgroups (`num_workgroups` says which), and every invocation past the end returns at once.
 *
 * Types: float32 is f32 (float16 is f16 where the device has `shader-f16`); every integer dtype
 * and bool is held in storage as a 32-bit word (`array<i32>`), in registers as i32 wrapped to
 * its width, and bool as WGSL's `bool`. int64 is held as int32: arithmetic that leaves the
 * int32 range sets the device's overflow flag, which the next read reports (see buffers.ts).
 * float64 never reaches storage (it is not in the capabilities); a float64 intermediate the
 * frontend creates (randint, integer pow, integer linspace) is computed in f32.
 *
 * Math is written out where the platform's is not good enough to match the cpu backend:
 * NaN tests use the bits (compilers fold `x != x`), max/log2/exp2 propagate NaN as IEEE says,
 * and sin reduces its argument first (built-in sin is only accurate on [-π, π]).
 */
import { isFloat, type DType } from '@fusor/ir';
import { C_LIKE, local, opTable, planGroups, spells, withFallbacks, type AluOp, type Expr, type GroupPlan, type Kernel, type PlanNumbers, type ReductionLoop, type RenderedKernel, type Stmt } from '@fusor/compiler';

/** Raised when a kernel cannot be expressed on this backend (an int64 constant past int32…). */
export class WgslRenderError extends RangeError {
  override name = 'WgslRenderError';
}

export interface WgslOptions {
  /** Invocations per workgroup (a power of two within the device's limits). */
  readonly workgroupSize: number;
  /** Whether the device has `shader-f16` (float16 kernels need it). */
  readonly f16: boolean;
  /**
   * Whether kernels with few outputs and long float reductions run one workgroup per output,
   * its invocations sharing each reduction loop and combining in a workgroup tree (default true).
   */
  readonly cooperative?: boolean;
  /**
   * The device's subgroup size, where it has the `subgroups` feature with one fixed size and
   * subgroups of consecutive invocations (device.ts checks): reductions with many outputs then
   * give each output one subgroup, combined with `subgroupShuffleXor`. Absent: one invocation per output.
   */
  readonly subgroupSize?: number;
}

export const DEFAULT_WGSL_OPTIONS: WgslOptions = { workgroupSize: 64, f16: false };

/** The first line of a kernel rendered one workgroup per output (the runtime launches one workgroup per output for it). */
export const COOPERATIVE_MARK = '// fusor: one workgroup per output';
/** The first line of a kernel rendered one subgroup per output, before the number of outputs per workgroup. */
export const SUBGROUP_MARK = '// fusor: one subgroup per output, outputs per workgroup: ';

/** How a kernel's reductions are spread: one invocation per output, a workgroup per output, or a subgroup per output. */
export type ReductionMode = 'invocation' | 'workgroup' | 'subgroup';

/**
 * The numbers this backend declares to the compiler's planning pass (reduce-plan.ts), which
 * decides the mode: a workgroup per output where there are few outputs (at most
 * `MAX_COOPERATIVE_OUTPUTS`) and a loop of at least 4 workgroups' worth of steps, else a subgroup
 * per output where the device has subgroups and the loop is at least 4 subgroups long. The combine
 * (a tree in workgroup memory of f32, or subgroupShuffleXor) takes float32 accumulators.
 */
export function wgslPlanning(opts: WgslOptions): PlanNumbers {
  return {
    vectorWidth: 1,
    maxVectorCopies: 1,
    maxReductionChains: 1,
    groupSize: opts.workgroupSize,
    ...(opts.subgroupSize ? { subgroupSize: opts.subgroupSize } : {}),
    // WebGPU's default maxComputeWorkgroupStorageSize
    sharedMemoryBytes: 16384,
    ...(opts.cooperative === false
      ? {}
      : {
          cooperative: {
            minIterationsPerThread: 4,
            threadsPerOutput: 'subgroup-or-group',
            maxWholeGroupOutputs: MAX_COOPERATIVE_OUTPUTS,
            maxRowOutputs: Infinity,
            combineDtypes: ['float32'],
            // a row kernel's output pass: each invocation stores the positions its iterations own
            ownStores: true,
            indexLimit: 2 ** 31 - 1,
          },
        }),
  };
}

/** The mode a kernel renders in, as the planning pass decided it for this device's numbers. */
export function reductionMode(k: Kernel, opts: WgslOptions): ReductionMode {
  return modeOf(planGroups(k, wgslPlanning(opts)));
}

const modeOf = (g: GroupPlan | null): ReductionMode => (g === null ? 'invocation' : g.combine === 'shared' ? 'workgroup' : 'subgroup');

/** Whether a kernel runs one workgroup per output (see reductionMode). */
export function isCooperative(k: Kernel, opts: WgslOptions): boolean {
  return reductionMode(k, opts) === 'workgroup';
}

/**
 * Most outputs a reduction kernel may have to be rendered cooperatively. Above it, one invocation
 * per output gives every core work, and a workgroup's barriers cost more than they save: on
 * SwiftShader (2 cores) a row sum of exp over 64×16384 took 79–132 ms cooperative against
 * 109–135 ms one invocation per row, but 256×4096 135–175 against 30–58, 1024×1024 296–371
 * against 35–51 and softmax over 4096×1024 ran 3× slower. A full reduction (one output) is
 * where it pays: the 1M-element chain's sum went from 331 to 105 ms.
 */
export const MAX_COOPERATIVE_OUTPUTS = 32;

/** Name of the binding every kernel with checked int64 arithmetic writes overflows to. */
export const OVERFLOW_BINDING = 'fusor_overflow';

const I32_MIN = -2147483648;
const I32_MAX = 2147483647;

/** Storage element type of a dtype: what `array<…>` holds. */
export function storageType(dtype: DType): 'f32' | 'f16' | 'i32' {
  if (dtype === 'float16') return 'f16';
  return isFloat(dtype) ? 'f32' : 'i32';
}

/** Register type of a dtype. */
function regType(dtype: DType): string {
  if (dtype === 'bool') return 'bool';
  if (dtype === 'float16') return 'f16';
  return isFloat(dtype) ? 'f32' : 'i32';
}

/** Wraps an i32 register to a narrower integer's width. */
const WRAP: Readonly<Partial<Record<DType, (s: string) => string>>> = {
  int16: (s) => `((${s} << 16u) >> 16u)`,
  int8: (s) => `((${s} << 24u) >> 24u)`,
  uint8: (s) => `(${s} & 255i)`,
};
const wrap = (dtype: DType, s: string): string => (WRAP[dtype] ?? ((x: string) => x))(s);

/** Helper functions, emitted only when a kernel uses them; `overflow` marks those that need the overflow binding. */
const HELPERS: Readonly<Record<string, { code: string; deps?: readonly string[]; overflow?: boolean }>> = {
  f32_bits: { code: 'fn f32_bits(b: u32) -> f32 { return bitcast<f32>(b); }' },
  isnan: { code: 'fn isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }' },
  fmax: {
    // NaN wins; max(-0, 0) is 0 (the bits of equal values are ANDed)
    code: [
      'fn fmax(a: f32, b: f32) -> f32 {',
      '  if (isnan(a) || isnan(b)) { return a + b; }',
      '  if (a == b) { return bitcast<f32>(bitcast<u32>(a) & bitcast<u32>(b)); }',
      '  return max(a, b);',
      '}',
    ].join('\n'),
    deps: ['isnan'],
  },
  fexp2: { code: 'fn fexp2(x: f32) -> f32 { if (isnan(x)) { return x; } return exp2(x); }', deps: ['isnan'] },
  flog2: {
    code: [
      'fn flog2(x: f32) -> f32 {',
      '  if (isnan(x) || x < 0.0f) { return f32_bits(0x7fc00000u); }',
      '  if (x == 0.0f) { return f32_bits(0xff800000u); }',
      '  return log2(x);',
      '}',
    ].join('\n'),
    deps: ['isnan', 'f32_bits'],
  },
  // sin: Cody–Waite reduction by π/2 below 8192, Payne–Hanek above (the built-in is only
  // accurate on [-π, π]), then cephes' minimax polynomials on [-π/4, π/4]: within 2 ulp
  two_over_pi: { code: 'var<private> two_over_pi: array<u32, 11> = array<u32, 11>(0u, 0u, 0xA2F9836Eu, 0x4E441529u, 0xFC2757D1u, 0xF534DDC0u, 0xDB629599u, 0x3C439041u, 0xFE5163ABu, 0xDEBBC561u, 0xB7246E3Au);' },
  pio2_window: {
    code: [
      'fn pio2_window(p: u32, t: u32) -> u32 {',
      '  let w = p / 32u + t;',
      '  let off = p % 32u;',
      '  if (off == 0u) { return two_over_pi[w]; }',
      '  return (two_over_pi[w] << off) | (two_over_pi[w + 1u] >> (32u - off));',
      '}',
    ].join('\n'),
    deps: ['two_over_pi'],
  },
  reduce_pio2: {
    code: [
      'fn reduce_pio2(a: f32) -> vec2<f32> {',
      '  let bits = bitcast<u32>(a);',
      '  let s = i32(bits >> 23u) - 150i;',
      '  let m = (bits & 0x7fffffu) | 0x800000u;',
      '  let p = u32(s + 62i);',
      '  let w0 = pio2_window(p, 0u);',
      '  let w1 = pio2_window(p, 1u);',
      '  let w2 = pio2_window(p, 2u);',
      '  let l = array<u32, 6>(w2 & 0xffffu, w2 >> 16u, w1 & 0xffffu, w1 >> 16u, w0 & 0xffffu, w0 >> 16u);',
      '  let m0 = m & 0xffffu;',
      '  let m1 = m >> 16u;',
      '  var r: array<u32, 6>;',
      '  var carry = 0u;',
      '  for (var k = 0u; k < 6u; k++) {',
      '    var acc = carry;',
      '    var next = 0u;',
      '    let t0 = m0 * l[k];',
      '    acc += t0 & 0xffffu;',
      '    next += t0 >> 16u;',
      '    if (k > 0u) {',
      '      let t1 = m1 * l[k - 1u];',
      '      acc += t1 & 0xffffu;',
      '      next += t1 >> 16u;',
      '    }',
      '    r[k] = acc & 0xffffu;',
      '    carry = next + (acc >> 16u);',
      '  }',
      '  var q = r[5] >> 14u;',
      '  var neg = false;',
      '  if ((r[5] & 0x2000u) != 0u) {',
      "    // fraction ≥ 1/2: use fraction − 1 (two's complement of the 94 bits) and the next quadrant",
      '    neg = true;',
      '    q += 1u;',
      '    var c = 1u;',
      '    for (var k = 0u; k < 6u; k++) {',
      '      let v = (r[k] ^ 0xffffu) + c;',
      '      r[k] = v & 0xffffu;',
      '      c = v >> 16u;',
      '    }',
      '  }',
      '  let hi = ((r[5] & 0x3fffu) << 16u) | r[4];',
      '  let f = f32(hi) * 9.313225746154785e-10f + f32(r[3]) * 1.4210854715202004e-14f + f32(r[2]) * 2.168404344971009e-19f;',
      '  let rr = f * 1.5707963267948966f;',
      '  return vec2<f32>(select(rr, -rr, neg), f32(q & 3u));',
      '}',
    ].join('\n'),
    deps: ['pio2_window'],
  },
  fsin: {
    code: [
      'fn fsin(x: f32) -> f32 {',
      '  if (isnan(x) || abs(x) == f32_bits(0x7f800000u)) { return f32_bits(0x7fc00000u); }',
      '  let a = abs(x);',
      '  var r: f32;',
      '  var q: i32;',
      '  if (a < 8192.0f) {',
      '    let j = round(a * 0.63661977236758134f);',
      '    r = ((a - j * 1.5703125f) - j * 4.837512969970703125e-4f) - j * 7.54978995489188216e-8f;',
      '    q = i32(j) & 3i;',
      '  } else {',
      '    let red = reduce_pio2(a);',
      '    r = red.x;',
      '    q = i32(red.y);',
      '  }',
      '  let z = r * r;',
      '  let s = ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f) * z * r + r;',
      '  let c = ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z + 4.166664568298827e-2f) * z * z - 0.5f * z + 1.0f;',
      '  var v = s;',
      '  if (q == 1i) { v = c; } else if (q == 2i) { v = -s; } else if (q == 3i) { v = -c; }',
      '  return select(v, -v, (bitcast<u32>(x) & 0x80000000u) != 0u);',
      '}',
    ].join('\n'),
    deps: ['isnan', 'f32_bits', 'reduce_pio2'],
  },
  // float → int truncates toward zero, NaN becomes 0 (WGSL leaves NaN unspecified)
  ftoi: { code: 'fn ftoi(x: f32) -> i32 { if (isnan(x)) { return 0i; } return i32(x); }', deps: ['isnan'] },
  idiv: { code: 'fn idiv(a: i32, b: i32) -> i32 { if (b == 0i) { return 0i; } return a / b; }' },
  imod: { code: 'fn imod(a: i32, b: i32) -> i32 { if (b == 0i) { return 0i; } return a % b; }' },
  pcg: {
    code: [
      'fn pcg(v: u32) -> u32 {',
      '  let s = v * 747796405u + 2891336453u;',
      '  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;',
      '  return (w >> 22u) ^ w;',
      '}',
    ].join('\n'),
  },
  rand_uniform: {
    code: 'fn rand_uniform(seed: i32, counter: i32) -> f32 { return f32(pcg(pcg(u32(counter)) ^ u32(seed)) >> 8u) * 5.9604644775390625e-8f; }',
    deps: ['pcg'],
  },
  // int64 held as int32: results outside the int32 range raise the overflow flag
  overflowed: { code: `fn overflowed() { atomicStore(&${OVERFLOW_BINDING}[0], 1u); }`, overflow: true },
  add64: {
    code: 'fn add64(a: i32, b: i32) -> i32 { let r = a + b; if (((a ^ r) & (b ^ r)) < 0i) { overflowed(); } return r; }',
    deps: ['overflowed'],
  },
  mul64: {
    code: [
      'fn mul64(a: i32, b: i32) -> i32 {',
      '  let r = a * b;',
      '  if (a != 0i && (r / a != b || (a == -1i && b == (-2147483647i - 1i)))) { overflowed(); }',
      '  return r;',
      '}',
    ].join('\n'),
    deps: ['overflowed'],
  },
  neg64: { code: 'fn neg64(a: i32) -> i32 { if (a == (-2147483647i - 1i)) { overflowed(); } return -a; }', deps: ['overflowed'] },
  shl64: {
    code: 'fn shl64(a: i32, b: i32) -> i32 { let r = a << u32(b); if (b < 0i || b > 31i || (r >> u32(b)) != a) { overflowed(); } return r; }',
    deps: ['overflowed'],
  },
  idiv64: {
    code: 'fn idiv64(a: i32, b: i32) -> i32 { if (a == (-2147483647i - 1i) && b == -1i) { overflowed(); } return idiv(a, b); }',
    deps: ['overflowed', 'idiv'],
  },
  ftoi64: {
    code: [
      'fn ftoi64(x: f32) -> i32 {',
      '  if (isnan(x)) { return 0i; }',
      '  if (x >= 2147483648.0f || x < -2147483648.0f) { overflowed(); }',
      '  return i32(x);',
      '}',
    ].join('\n'),
    deps: ['overflowed', 'isnan'],
  },
};

/**
 * One render: the helpers it used, and the index subexpressions it names. Lowering hands over
 * expression trees whose index arithmetic repeats (a replicate pad's kernel spells `gid / 20` out
 * dozens of times, 48 KB of WGSL for 80 outputs); SwiftShader's LLVM then took 15 s and GBs of
 * memory, minutes for its gradient. Pure i32/bool subexpressions used more than once are bound
 * once to a `let` before the statement that first needs them, and reused while in scope.
 */
class Ctx {
  readonly used = new Set<string>();
  /** Occurrences of each expression key in the kernel (a shared subtree counted once per parent). */
  readonly uses = new Map<string, number>();
  private readonly pure = new Map<string, boolean>();
  /** Names bound in the enclosing blocks, by expression key. */
  scope = new Map<string, string>();
  /** `let` lines to emit before the statement being rendered. */
  pending: string[] = [];
  private names = 0;
  constructor(
    readonly opts: WgslOptions,
    /** Mutable locals (accumulators): expressions reading them are never bound. */
    private readonly mutable: ReadonlySet<string> = new Set(),
  ) {}

  count(e: Expr): void {
    const n = (this.uses.get(e.key) ?? 0) + 1;
    this.uses.set(e.key, n);
    if (n > 1) return;
    for (const c of children(e)) this.count(c);
  }

  /** Whether `e` is i32/bool arithmetic over gid, loop indices, parameters and immutable locals. */
  private isPure(e: Expr): boolean {
    let p = this.pure.get(e.key);
    if (p === undefined) {
      const dt = e.dtype === 'int32' || e.dtype === 'bool';
      if (e.k === 'const' || e.k === 'gid' || e.k === 'ridx' || e.k === 'var') p = dt;
      else if (e.k === 'local') p = dt && !this.mutable.has(e.name);
      else if (e.k === 'alu') p = dt && e.src.every((c) => this.isPure(c));
      else p = false;
      this.pure.set(e.key, p);
    }
    return p;
  }

  /** The text of alu expression `e` (rendered as `text`): a bound name where it repeats. */
  bind(e: Expr, text: string): string {
    if ((this.uses.get(e.key) ?? 0) < 2 || !this.isPure(e)) return text;
    const name = `fusor_i${this.names++}`;
    this.pending.push(`let ${name}: ${regType(e.dtype)} = ${text};`);
    this.scope.set(e.key, name);
    return name;
  }

  /** Renders a nested block with its own scope (names bound inside stay inside). */
  block(fn: () => void): void {
    const outer = this.scope;
    this.scope = new Map(outer);
    try {
      fn();
    } finally {
      this.scope = outer;
    }
  }

  /** A new local name. */
  fresh(prefix: string): string {
    return `${prefix}${this.names++}`;
  }

  /** The pending `let` lines at indentation `ind` (and clears them). */
  take(ind: string): string[] {
    const lines = this.pending.map((l) => ind + l);
    this.pending = [];
    return lines;
  }

  call(name: string, ...args: string[]): string {
    this.need(name);
    return `${name}(${args.join(', ')})`;
  }
  need(name: string): void {
    if (this.used.has(name)) return;
    this.used.add(name);
    for (const d of HELPERS[name]!.deps ?? []) this.need(d);
  }
  get overflow(): boolean {
    return [...this.used].some((h) => HELPERS[h]!.overflow);
  }
}

const isF16 = (d: DType): boolean => d === 'float16';

/** A float expression of a dtype computed by an f32 helper. */
function viaF32(ctx: Ctx, dtype: DType, helper: string, ...args: string[]): string {
  if (!isF16(dtype)) return ctx.call(helper, ...args);
  return `f16(${ctx.call(helper, ...args.map((a) => `f32(${a})`))})`;
}

function renderConst(ctx: Ctx, value: number, dtype: DType): string {
  if (dtype === 'bool') return value ? 'true' : 'false';
  if (!isFloat(dtype)) {
    const v = value;
    if (!Number.isInteger(v) || v < I32_MIN || v > I32_MAX) {
      throw new WgslRenderError(
        `${dtype} value ${value} is outside the range the webgpu backend holds ${dtype} in (int32: ${I32_MIN} to ${I32_MAX})`,
      );
    }
    if (v === I32_MIN) return '(-2147483647i - 1i)';
    return v < 0 ? `(${v}i)` : `${v}i`;
  }
  const f16 = isF16(dtype);
  let f = Math.fround(value);
  if (f16 && Math.abs(f) > 65504) f = f > 0 ? Infinity : -Infinity;
  // values WGSL has no literal for (and subnormals, which some compilers reject) come from their bits
  let text: string;
  if (Number.isNaN(f)) text = ctx.call('f32_bits', '0x7fc00000u');
  else if (f === Infinity) text = ctx.call('f32_bits', '0x7f800000u');
  else if (f === -Infinity) text = ctx.call('f32_bits', '0xff800000u');
  else if (Object.is(f, -0)) text = ctx.call('f32_bits', '0x80000000u');
  else if (f !== 0 && Math.abs(f) < 1.1754943508222875e-38) {
    const bits = new Uint32Array(new Float32Array([f]).buffer)[0]!;
    text = ctx.call('f32_bits', `0x${bits.toString(16)}u`);
  } else {
    text = f < 0 ? `(${String(f)}f)` : `${String(f)}f`;
  }
  return f16 ? `f16(${text})` : text;
}

type AluRender = (ctx: Ctx, a: readonly string[], dtype: DType, src: readonly Expr[]) => string;

const floatOrInt =
  (float: AluRender, int: AluRender, bool?: AluRender): AluRender =>
  (ctx, a, dtype, src) => {
    const d = src[0]!.dtype;
    if (d === 'bool' && bool) return bool(ctx, a, dtype, src);
    return isFloat(d) ? float(ctx, a, dtype, src) : int(ctx, a, dtype, src);
  };

const C = C_LIKE;
/** Where WGSL differs from C: these ops' operands become WGSL here, already wrapped to the result's width. */
const OWN: Readonly<Partial<Record<AluOp, AluRender>>> = {
  NEG: floatOrInt(
    (_c, a) => C.NEG(a),
    (c, a, d) => (d === 'int64' ? c.call('neg64', a[0]!) : wrap(d, C.NEG(a))),
  ),
  EXP2: (c, [a], d) => viaF32(c, d, 'fexp2', a!),
  LOG2: (c, [a], d) => viaF32(c, d, 'flog2', a!),
  SIN: (c, [a], d) => viaF32(c, d, 'fsin', a!),
  RECIP: (_c, [a], d) => `(${isF16(d) ? '1.0h' : '1.0f'} / ${a})`,
  TRUNC: floatOrInt(
    (_c, a) => C.TRUNC(a),
    (_c, [a]) => a!,
  ),
  ADD: floatOrInt(
    (_c, a) => C.ADD(a),
    (c, a, d) => (d === 'int64' ? c.call('add64', a[0]!, a[1]!) : wrap(d, C.ADD(a))),
    (_c, [a, b]) => `(${a} || ${b})`,
  ),
  MUL: floatOrInt(
    (_c, a) => C.MUL(a),
    (c, a, d) => (d === 'int64' ? c.call('mul64', a[0]!, a[1]!) : wrap(d, C.MUL(a))),
    (_c, [a, b]) => `(${a} && ${b})`,
  ),
  IDIV: floatOrInt(
    (_c, [a, b]) => `trunc(${a} / ${b})`,
    (c, [a, b], d) => (d === 'int64' ? c.call('idiv64', a!, b!) : wrap(d, c.call('idiv', a!, b!))),
  ),
  MOD: floatOrInt(
    (_c, a) => C.MOD(a),
    (c, [a, b], d) => wrap(d, c.call('imod', a!, b!)),
  ),
  MAX: floatOrInt(
    (c, [a, b], d) => viaF32(c, d, 'fmax', a!, b!),
    (_c, a) => C.MAX(a),
    (_c, [a, b]) => `(${a} || ${b})`,
  ),
  CMPLT: (_c, a, _d, src) => (src[0]!.dtype === 'bool' ? `(!${a[0]} && ${a[1]})` : C.CMPLT(a)),
  // x == x is how the frontend asks "not NaN"; compilers fold it to true, so ask the bits
  CMPEQ: floatOrInt(
    (c, a, _d, src) => (src[0]!.key === src[1]!.key ? `!${c.call('isnan', isF16(src[0]!.dtype) ? `f32(${a[0]})` : a[0]!)}` : C.CMPEQ(a)),
    (_c, a) => C.CMPEQ(a),
  ),
  AND: (_c, a, d) => (d === 'bool' ? `(${a[0]} && ${a[1]})` : C.AND(a)),
  OR: (_c, a, d) => (d === 'bool' ? `(${a[0]} || ${a[1]})` : C.OR(a)),
  XOR: (_c, a, d) => (d === 'bool' ? `(${a[0]} != ${a[1]})` : wrap(d, C.XOR(a))),
  // shift amounts are u32 in WGSL
  SHL: (c, [a, b], d) => (d === 'int64' ? c.call('shl64', a!, b!) : wrap(d, C.SHL([a!, `u32(${b})`]))),
  SHR: (_c, [a, b]) => C.SHR([a!, `u32(${b})`]),
  WHERE: (_c, [cond, a, b]) => `select(${b}, ${a}, ${cond})`,
};
/** Every ALU op: C-like but for OWN. */
const ALU: Readonly<Record<AluOp, AluRender>> = opTable<AluRender>(OWN, (base) => (_c, a) => base(a));

/** WGSL's built-in scalar math functions; a primitive spelled with another (expm1) is rendered by its fallback. */
const WGSL_FUNCTIONS: ReadonlySet<string> = new Set(
  'abs acos acosh asin asinh atan atanh atan2 ceil clamp cos cosh exp exp2 floor fma fract inverseSqrt ldexp log log2 max min pow round sign sin sinh sqrt tan tanh trunc'.split(' '),
);
const NATIVE = spells(OWN, (fn) => WGSL_FUNCTIONS.has(fn));

function renderCast(ctx: Ctx, from: DType, to: DType, s: string): string {
  if (to === 'bool') {
    if (from === 'bool') return s;
    // NaN is true; some compilers make != ordered, so ask the bits
    if (isFloat(from)) return `(${s} != ${isF16(from) ? '0.0h' : '0.0f'} || ${ctx.call('isnan', isF16(from) ? `f32(${s})` : s)})`;
    return `(${s} != 0i)`;
  }
  if (isFloat(to)) {
    const t = regType(to);
    if (from === 'bool') return `select(${t}(0), ${t}(1), ${s})`;
    return regType(from) === t ? s : `${t}(${s})`;
  }
  // to an integer
  if (from === 'bool') return `select(0i, 1i, ${s})`;
  if (isFloat(from)) {
    const f = isF16(from) ? `f32(${s})` : s;
    return to === 'int64' ? ctx.call('ftoi64', f) : wrap(to, ctx.call('ftoi', f));
  }
  return wrap(to, s);
}

const BITCAST: Readonly<Record<string, string>> = {
  'float32>int32': 'i32',
  'int32>float32': 'f32',
};

function renderExpr(ctx: Ctx, e: Expr): string {
  switch (e.k) {
    case 'const':
      return renderConst(ctx, e.value, e.dtype);
    case 'gid':
      return 'gid';
    case 'ridx':
      return `r${e.i}`;
    case 'var':
      return `vars.v${e.i}`;
    case 'local':
      return e.name;
    case 'load': {
      const raw = `b${e.buf}[${renderExpr(ctx, e.idx)}]`;
      const v = e.dtype === 'bool' ? `(${raw} != 0i)` : raw;
      if (!e.valid) return v;
      const zero = e.dtype === 'bool' ? 'false' : `${regType(e.dtype)}(0)`;
      return `select(${zero}, ${v}, ${renderExpr(ctx, e.valid)})`;
    }
    case 'rand': {
      const u = ctx.call('rand_uniform', renderExpr(ctx, e.seed), renderExpr(ctx, e.counter));
      return isF16(e.dtype) ? `f16(${u})` : u;
    }
    case 'cast': {
      const src = renderExpr(ctx, e.src);
      if (e.bitcast) {
        const t = BITCAST[`${e.src.dtype}>${e.dtype}`];
        if (!t) throw new WgslRenderError(`bitcast ${e.src.dtype} → ${e.dtype} is not supported by the webgpu backend`);
        return `bitcast<${t}>(${src})`;
      }
      return renderCast(ctx, e.src.dtype, e.dtype, src);
    }
    case 'alu': {
      const bound = ctx.scope.get(e.key);
      if (bound) return bound;
      if (e.op === 'WHERE' && (flagsOverflow(e.src[1]!) || flagsOverflow(e.src[2]!))) return guardedWhere(ctx, e);
      const args = e.src.map((s) => renderExpr(ctx, s));
      return ctx.bind(e, constantDivision(e, args) ?? plusZero(e, args) ?? ALU[e.op](ctx, args, e.dtype, e.src));
    }
  }
}

/**
 * `x + 0` on f32, which turns −0 into +0 (how the frontend asks for PyTorch's signed zeros, e.g.
 * gelu's far tail): SwiftShader's compiler folds it to `x`, so the zero is replaced by its bits.
 */
function plusZero(e: Extract<Expr, { k: 'alu' }>, args: readonly string[]): string | undefined {
  if (e.op !== 'ADD' || e.dtype !== 'float32') return undefined;
  const z = e.src.findIndex((s) => s.k === 'const' && Object.is(s.value, 0));
  if (z < 0) return undefined;
  const x = args[1 - z]!;
  return `bitcast<f32>(select(bitcast<u32>(${x}), 0u, ${x} == 0f))`;
}

/** Whether evaluating `e` runs an int64 overflow check (which raises the flag as a side effect). */
function flagsOverflow(e: Expr): boolean {
  if (e.k === 'alu') return (e.dtype === 'int64' && CHECKED_INT64.has(e.op)) || e.src.some(flagsOverflow);
  if (e.k === 'cast') return (e.dtype === 'int64' && isFloat(e.src.dtype)) || flagsOverflow(e.src);
  if (e.k === 'load') return flagsOverflow(e.idx) || (e.valid !== null && flagsOverflow(e.valid));
  return false;
}
const CHECKED_INT64: ReadonlySet<AluOp> = new Set(['NEG', 'ADD', 'MUL', 'IDIV', 'SHL']);

/**
 * A where() whose branch checks int64 arithmetic: WGSL's select evaluates both branches, so the
 * branch not taken could raise the overflow flag on values it never produces (a cumprod's first
 * step multiplies whatever the output held). An if/else runs only the branch taken.
 */
function guardedWhere(ctx: Ctx, e: Extract<Expr, { k: 'alu' }>): string {
  const cond = renderExpr(ctx, e.src[0]!);
  const name = ctx.fresh('fusor_w');
  const branch = (x: Expr): string[] => {
    const outer = ctx.pending;
    ctx.pending = [];
    let lines: string[] = [];
    // names bound inside a branch stay there
    ctx.block(() => {
      const v = renderExpr(ctx, x);
      lines = [...ctx.pending, `${name} = ${v};`].map((l) => `  ${l}`);
    });
    ctx.pending = outer;
    return lines;
  };
  const then = branch(e.src[1]!);
  const other = branch(e.src[2]!);
  ctx.pending.push(`var ${name}: ${regType(e.dtype)};`, `if (${cond}) {`, ...then, '} else {', ...other, '}');
  return name;
}

/**
 * An i32 quotient or remainder by a nonzero constant, as WGSL's own `/` and `%` (the same
 * answer as the idiv/imod helpers, whose only difference is the zero divisor): no call, no
 * branch, which is most of an index expression's cost to SwiftShader's compiler.
 */
function constantDivision(e: Extract<Expr, { k: 'alu' }>, [a, b]: readonly string[]): string | undefined {
  if ((e.op !== 'IDIV' && e.op !== 'MOD') || e.dtype !== 'int32') return undefined;
  const d = e.src[1]!;
  if (d.k !== 'const' || d.value === 0 || d.dtype !== 'int32') return undefined;
  return `(${a} ${e.op === 'IDIV' ? '/' : '%'} ${b})`;
}

/** The subexpressions of an expression. */
function children(e: Expr): readonly Expr[] {
  switch (e.k) {
    case 'load':
      return e.valid ? [e.idx, e.valid] : [e.idx];
    case 'alu':
      return e.src;
    case 'cast':
      return [e.src];
    case 'rand':
      return [e.seed, e.counter];
    default:
      return [];
  }
}

/** Every expression of a statement list (for counting repeats). */
function stmtExprs(stmts: readonly Stmt[], out: Expr[]): Expr[] {
  for (const s of stmts) {
    if (s.k === 'let' || s.k === 'update') out.push(s.expr);
    else if (s.k === 'store') out.push(s.idx, s.expr);
    else if (s.k === 'loop') stmtExprs(s.body, out);
  }
  return out;
}

/** Names of the accumulators a statement list declares. */
function accumulators(stmts: readonly Stmt[], out: Set<string>): Set<string> {
  for (const s of stmts) {
    if (s.k === 'acc') out.add(s.name);
    else if (s.k === 'loop') accumulators(s.body, out);
  }
  return out;
}

function renderUpdate(ctx: Ctx, s: Extract<Stmt, { k: 'update' }>): string {
  const d = s.expr.dtype;
  const v = renderExpr(ctx, s.expr);
  const op: AluOp = s.op === 'add' ? 'ADD' : s.op === 'mul' ? 'MUL' : 'MAX';
  const acc = { ...s.expr, k: 'local', name: s.name, key: s.name } as Expr;
  return `${s.name} = ${ALU[op](ctx, [s.name, v], d, [acc, s.expr])};`;
}

function renderStmts(ctx: Ctx, stmts: readonly Stmt[], ind: string, out: string[]): void {
  // each statement's line follows the `let`s its expressions bound
  const line = (text: string): void => void out.push(...ctx.take(ind), `${ind}${text}`);
  for (const s of stmts) {
    switch (s.k) {
      case 'let':
        line(`let ${s.name}: ${regType(s.expr.dtype)} = ${renderExpr(ctx, s.expr)};`);
        break;
      case 'acc': {
        // a reduction's start value (the lowest int64) is the lowest value the register holds
        const init = regType(s.dtype) === 'i32' ? Math.min(Math.max(s.init, I32_MIN), I32_MAX) : s.init;
        line(`var ${s.name}: ${regType(s.dtype)} = ${renderConst(ctx, init, s.dtype)};`);
        break;
      }
      case 'loop':
        out.push(`${ind}for (var r${s.ridx}: i32 = 0i; r${s.ridx} < ${s.n}i; r${s.ridx}++) {`);
        ctx.block(() => renderStmts(ctx, s.body, `${ind}  `, out));
        out.push(`${ind}}`);
        break;
      case 'update':
        line(renderUpdate(ctx, s));
        break;
      case 'store': {
        const v = renderExpr(ctx, s.expr);
        line(`b${s.buf}[${renderExpr(ctx, s.idx)}] = ${s.expr.dtype === 'bool' ? `select(0i, 1i, ${v})` : v};`);
        break;
      }
    }
  }
}

/**
 * The top level of a cooperative kernel: each top-level loop strides over its range by the
 * workgroup size, then each accumulator it updated is combined across the workgroup (a tree in
 * workgroup memory) and every invocation continues with the total; only invocation 0 stores.
 */
function renderCooperative(ctx: Ctx, k: Kernel, out: string[], group: GroupPlan): void {
  // the stride of the loops, and this invocation's place among those sharing an output
  const wg = group.threadsPerOutput;
  const mode = modeOf(group);
  const lane = mode === 'workgroup' ? 'lid' : 'fusor_lane';
  const shared = new Map<Stmt, ReductionLoop>(group.loops.map((l) => [l.loop, l]));
  for (const s of k.body) {
    const red = shared.get(s);
    if (red) {
      const { nest: loops, n: total, body } = red;
      if (loops.length === 1) {
        out.push(`  for (var r${red.loop.ridx}: i32 = i32(${lane}); r${red.loop.ridx} < ${red.loop.n}i; r${red.loop.ridx} += ${wg}i) {`);
      } else {
        // one flat index over the nest, split back into each loop's index
        out.push(`  for (var fusor_f: i32 = i32(${lane}); fusor_f < ${total}i; fusor_f += ${wg}i) {`);
        let inner = 1;
        for (let i = loops.length - 1; i >= 0; i--) {
          const l = loops[i]!;
          const q = inner === 1 ? 'fusor_f' : `(fusor_f / ${inner}i)`;
          out.push(`    let r${l.ridx}: i32 = ${i === 0 ? q : `${q} % ${l.n}i`};`);
          inner *= l.n;
        }
      }
      ctx.block(() => renderStmts(ctx, body, '    ', out));
      out.push('  }');
      for (const a of red.accs) {
        const name = a.name;
        const op: AluOp = a.op === 'add' ? 'ADD' : a.op === 'mul' ? 'MUL' : 'MAX';
        const acc = (n: string): Expr => local(n, a.dtype);
        if (mode === 'subgroup') {
          // a butterfly: after it every lane holds the combination of all (no barrier, no workgroup memory)
          for (let o = wg / 2; o >= 1; o /= 2) {
            out.push(`  ${name} = ${ALU[op](ctx, [name, `subgroupShuffleXor(${name}, ${o}u)`], a.dtype, [acc('a'), acc('b')])};`);
          }
          continue;
        }
        out.push(`  fusor_red[lid] = ${name};`);
        out.push('  workgroupBarrier();');
        out.push(`  for (var s: u32 = ${wg / 2}u; s > 0u; s >>= 1u) {`);
        out.push(`    if (lid < s) { fusor_red[lid] = ${ALU[op](ctx, ['fusor_red[lid]', 'fusor_red[lid + s]'], a.dtype, [acc('a'), acc('b')])}; }`);
        out.push('    workgroupBarrier();');
        out.push('  }');
        out.push(`  ${name} = fusor_red[0];`);
        out.push('  workgroupBarrier();');
      }
    } else if (s.k === 'store') {
      const body: string[] = [];
      ctx.block(() => renderStmts(ctx, [s], '    ', body));
      out.push(`  if (${lane} == 0u) {`, ...body, '  }');
    } else {
      renderStmts(ctx, [s], '  ', out);
    }
  }
}

/** The binding slots of a rendered kernel: buffers first, then the scalar parameters, then the overflow flag. */
export interface WgslLayout {
  readonly buffers: number;
  readonly varsBinding: number | null;
  readonly overflowBinding: number | null;
}

export interface RenderedWgsl extends RenderedKernel {
  readonly source: string;
  /** The same text as `source`. */
  readonly code: string;
  readonly layout: WgslLayout;
}

/** Renders a kernel to a WGSL compute shader with entry point `main`. */
export function renderWgsl(k: Kernel, opts: WgslOptions = DEFAULT_WGSL_OPTIONS): RenderedWgsl {
  return renderKernel(withFallbacks(k, NATIVE, (why) => new WgslRenderError(why)), opts);
}

function renderKernel(k: Kernel, opts: WgslOptions): RenderedWgsl {
  const ctx = new Ctx(opts, accumulators(k.body, new Set()));
  for (const e of stmtExprs(k.body, [])) ctx.count(e);
  const body: string[] = [];
  const group = planGroups(k, wgslPlanning(opts));
  const mode = modeOf(group);
  const cooperative = mode === 'workgroup';
  if (group) renderCooperative(ctx, k, body, group);
  else renderStmts(ctx, k.body, '  ', body);
  const sg = group?.threadsPerOutput ?? 1;
  const rows = group?.outputsPerGroup ?? opts.workgroupSize; // outputs per workgroup in subgroup mode
  const usesF16 = k.key.includes('float16');
  if (usesF16 && !opts.f16) throw new WgslRenderError('float16 kernels need the shader-f16 feature, which this webgpu device lacks');

  const head: string[] =
    mode === 'workgroup'
      ? [COOPERATIVE_MARK, `// ${k.name}`]
      : mode === 'subgroup'
        ? [`${SUBGROUP_MARK}${rows}`, `// ${k.name}`, 'enable subgroups;', 'diagnostic(off, subgroup_uniformity);']
        : [`// ${k.name}`];
  if (usesF16) head.push('enable f16;');
  // declarations after every directive
  if (cooperative) head.push(`var<workgroup> fusor_red: array<f32, ${opts.workgroupSize}>;`);
  k.buffers.forEach((b, i) => {
    head.push(`@group(0) @binding(${i}) var<storage, ${b.output ? 'read_write' : 'read'}> b${i}: array<${storageType(b.dtype)}>;`);
  });
  let next = k.buffers.length;
  let varsBinding: number | null = null;
  if (k.vars.length) {
    varsBinding = next++;
    head.push(`struct Vars { ${k.vars.map((v, i) => `v${i}: ${regType(v.dtype)},`).join(' ')} }`);
    head.push(`@group(0) @binding(${varsBinding}) var<uniform> vars: Vars;`);
  }
  let overflowBinding: number | null = null;
  if (ctx.overflow) {
    overflowBinding = next++;
    head.push(`@group(0) @binding(${overflowBinding}) var<storage, read_write> ${OVERFLOW_BINDING}: array<atomic<u32>>;`);
  }
  // WGSL declarations may come in any order
  const helpers = [...ctx.used].map((h) => HELPERS[h]!.code);
  const wg = opts.workgroupSize;
  const code = [
    ...head,
    ...helpers,
    `@compute @workgroup_size(${wg})`,
    'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {',
    cooperative
      ? '  let gid = i32(wid.y * nwg.x + wid.x);'
      : mode === 'subgroup'
        ? `  let gid = i32((wid.y * nwg.x + wid.x) * ${rows}u + lid / ${sg}u);\n  let fusor_lane = lid % ${sg}u;`
        : `  let gid = i32((wid.y * nwg.x + wid.x) * ${wg}u + lid);`,
    `  if (gid >= ${k.size}i) { return; }`,
    ...body,
    '}',
    '',
  ].join('\n');
  const bindings = { ...(varsBinding === null ? {} : { vars: varsBinding }), ...(overflowBinding === null ? {} : { overflow: overflowBinding }) };
  return {
    source: code,
    code,
    entry: 'main',
    groupSize: wg,
    outputsPerGroup: cooperative ? 1 : mode === 'subgroup' ? rows : wg,
    bindings,
    workspace: 0,
    layout: { buffers: k.buffers.length, varsBinding, overflowBinding },
  };
}

/** Workgroups to launch for `size` invocations: 1-D when it fits, else 2-D. */
export function dispatchSize(size: number, workgroupSize: number, maxPerDim: number): [number, number] {
  const groups = Math.ceil(size / workgroupSize);
  if (groups <= maxPerDim) return [groups, 1];
  const x = maxPerDim;
  const y = Math.ceil(groups / x);
  if (y > maxPerDim) {
    throw new RangeError(`a kernel over ${size} elements needs ${groups} workgroups, more than this webgpu device can launch (${maxPerDim}² )`);
  }
  return [x, y];
}

/** A GEMM epilogue as WGSL: its buffer declarations and helpers, and a function applying it to one element. */
export interface WgslEpilogue {
  /** Module-scope declarations: the extra operands (`b1`…, read-only storage at bindings `first`…) and helpers. */
  readonly declarations: string;
  /** `fn fusor_epilogue(gid: i32, acc: T) -> T`: the value to store for the product `acc` at C's offset `gid`. */
  readonly fn: string;
}

/**
 * Renders a GEMM epilogue (compiler backend.ts `GemmEpilogue`) with this renderer's expressions,
 * for the tiled GEMM (gemm.ts) to call at its store. `first` is the binding of buffer 1.
 */
export function renderEpilogue(epilogue: Kernel, opts: WgslOptions, first: number): WgslEpilogue {
  // ops WGSL has no spelling for become their fallbacks (more lets before the store)
  const k = withFallbacks(epilogue, NATIVE, (why) => new WgslRenderError(why));
  const store = k.body[k.body.length - 1];
  if (store?.k !== 'store' || k.body.slice(0, -1).some((s) => s.k !== 'let')) throw new WgslRenderError('internal: a gemm epilogue is a list of lets and one store');
  const ctx = new Ctx(opts);
  for (const e of stmtExprs(k.body, [])) ctx.count(e);
  const body: string[] = [];
  renderStmts(ctx, k.body.slice(0, -1), '  ', body);
  const value = renderExpr(ctx, store.expr);
  body.push(...ctx.take('  '), `  return ${value};`);
  if (ctx.overflow) throw new WgslRenderError('internal: a gemm epilogue cannot flag int64 overflow');
  // the product and the stored value have one dtype (the routine checks): C's element type
  const acc = regType(store.expr.dtype);
  const decls = k.buffers.slice(1).map((b, i) => `@group(0) @binding(${first + i}) var<storage, read> b${i + 1}: array<${storageType(b.dtype)}>;`);
  const helpers = [...ctx.used].map((h) => HELPERS[h]!.code);
  return {
    declarations: [...decls, ...helpers].join('\n'),
    fn: [`fn fusor_epilogue(gid: i32, acc: ${acc}) -> ${acc} {`, ...body, '}'].join('\n'),
  };
}
