/**
 * A small WebAssembly binary encoder: exactly what the kernel renderer needs (function types, an
 * imported shared memory, imported and defined functions, exports, locals, the core and SIMD128
 * instructions), written straight to bytes, so no toolchain is needed at run time.
 */

export const I32 = 0x7f;
export const I64 = 0x7e;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof I64 | typeof F32 | typeof F64 | typeof V128;

/** Core opcodes (one byte), by their text-format names with `.` written as `_`. */
export const OP = {
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  br_if: 0x0d,
  return: 0x0f,
  call: 0x10,
  drop: 0x1a,
  select: 0x1b,
  local_get: 0x20,
  local_set: 0x21,
  local_tee: 0x22,
  i32_load: 0x28,
  i64_load: 0x29,
  f32_load: 0x2a,
  f64_load: 0x2b,
  i32_load8_s: 0x2c,
  i32_load8_u: 0x2d,
  i32_load16_s: 0x2e,
  i32_load16_u: 0x2f,
  i32_store: 0x36,
  i64_store: 0x37,
  f32_store: 0x38,
  f64_store: 0x39,
  i32_store8: 0x3a,
  i32_store16: 0x3b,
  i32_const: 0x41,
  i64_const: 0x42,
  f32_const: 0x43,
  f64_const: 0x44,
  i32_eqz: 0x45,
  i32_eq: 0x46,
  i32_ne: 0x47,
  i32_lt_s: 0x48,
  i32_lt_u: 0x49,
  i32_gt_s: 0x4a,
  i32_gt_u: 0x4b,
  i32_le_s: 0x4c,
  i32_le_u: 0x4d,
  i32_ge_s: 0x4e,
  i32_ge_u: 0x4f,
  i64_eqz: 0x50,
  i64_eq: 0x51,
  i64_ne: 0x52,
  i64_lt_s: 0x53,
  i64_gt_s: 0x55,
  i64_ge_s: 0x59,
  f32_eq: 0x5b,
  f32_ne: 0x5c,
  f32_lt: 0x5d,
  f32_gt: 0x5e,
  f32_le: 0x5f,
  f32_ge: 0x60,
  f64_eq: 0x61,
  f64_ne: 0x62,
  f64_lt: 0x63,
  f64_gt: 0x64,
  f64_le: 0x65,
  f64_ge: 0x66,
  i32_add: 0x6a,
  i32_sub: 0x6b,
  i32_mul: 0x6c,
  i32_div_s: 0x6d,
  i32_div_u: 0x6e,
  i32_rem_s: 0x6f,
  i32_rem_u: 0x70,
  i32_and: 0x71,
  i32_or: 0x72,
  i32_xor: 0x73,
  i32_shl: 0x74,
  i32_shr_s: 0x75,
  i32_shr_u: 0x76,
  i64_add: 0x7c,
  i64_sub: 0x7d,
  i64_mul: 0x7e,
  i64_rem_s: 0x81,
  i64_and: 0x83,
  i64_or: 0x84,
  i64_xor: 0x85,
  i64_shl: 0x86,
  i64_shr_s: 0x87,
  i64_shr_u: 0x88,
  f32_abs: 0x8b,
  f32_neg: 0x8c,
  f32_floor: 0x8e,
  f32_trunc: 0x8f,
  f32_nearest: 0x90,
  f32_sqrt: 0x91,
  f32_add: 0x92,
  f32_sub: 0x93,
  f32_mul: 0x94,
  f32_div: 0x95,
  f32_min: 0x96,
  f32_max: 0x97,
  f64_abs: 0x99,
  f64_neg: 0x9a,
  f64_floor: 0x9c,
  f64_trunc: 0x9d,
  f64_nearest: 0x9e,
  f64_sqrt: 0x9f,
  f64_add: 0xa0,
  f64_sub: 0xa1,
  f64_mul: 0xa2,
  f64_div: 0xa3,
  f64_min: 0xa4,
  f64_max: 0xa5,
  i32_wrap_i64: 0xa7,
  i64_extend_i32_s: 0xac,
  i64_extend_i32_u: 0xad,
  f32_convert_i32_s: 0xb2,
  f32_convert_i32_u: 0xb3,
  f32_demote_f64: 0xb6,
  f64_convert_i32_s: 0xb7,
  f64_convert_i32_u: 0xb8,
  f64_convert_i64_s: 0xb9,
  f64_promote_f32: 0xbb,
  i32_reinterpret_f32: 0xbc,
  i64_reinterpret_f64: 0xbd,
  f32_reinterpret_i32: 0xbe,
  f64_reinterpret_i64: 0xbf,
  i32_extend8_s: 0xc0,
  i32_extend16_s: 0xc1,
} as const;

/** Saturating float → int truncations (prefix 0xfc). */
export const SAT = {
  i32_trunc_sat_f32_s: 0,
  i32_trunc_sat_f32_u: 1,
  i32_trunc_sat_f64_s: 2,
  i32_trunc_sat_f64_u: 3,
  i64_trunc_sat_f32_s: 4,
  i64_trunc_sat_f64_s: 6,
} as const;

/** SIMD128 opcodes (prefix 0xfd). */
export const SIMD = {
  v128_load: 0,
  i32x4_load16x4_s: 3,
  i32x4_load16x4_u: 4,
  v128_load32_splat: 9,
  v128_store: 11,
  v128_const: 12,
  i8x16_shuffle: 13,
  i8x16_splat: 15,
  i32x4_splat: 17,
  i64x2_splat: 18,
  f32x4_splat: 19,
  f64x2_splat: 20,
  i32x4_extract_lane: 27,
  i32x4_replace_lane: 28,
  i64x2_extract_lane: 29,
  f32x4_extract_lane: 31,
  f32x4_replace_lane: 32,
  f64x2_extract_lane: 33,
  f64x2_replace_lane: 34,
  i32x4_eq: 55,
  i32x4_ne: 56,
  i32x4_lt_s: 57,
  i32x4_gt_s: 59,
  f32x4_eq: 65,
  f32x4_ne: 66,
  f32x4_lt: 67,
  f32x4_gt: 68,
  f32x4_le: 69,
  f32x4_ge: 70,
  f64x2_eq: 71,
  f64x2_ne: 72,
  f64x2_lt: 73,
  f64x2_gt: 74,
  v128_not: 77,
  v128_and: 78,
  v128_andnot: 79,
  v128_or: 80,
  v128_xor: 81,
  v128_bitselect: 82,
  v128_any_true: 83,
  v128_load32_lane: 86,
  v128_store32_lane: 90,
  v128_store64_lane: 91,
  v128_load32_zero: 92,
  f32x4_demote_f64x2_zero: 94,
  f64x2_promote_low_f32x4: 95,
  i8x16_narrow_i16x8_s: 101,
  i8x16_narrow_i16x8_u: 102,
  f32x4_trunc: 105,
  f32x4_nearest: 106,
  f64x2_trunc: 122,
  i16x8_narrow_i32x4_s: 133,
  i16x8_narrow_i32x4_u: 134,
  i16x8_extend_low_i8x16_s: 135,
  i16x8_extend_low_i8x16_u: 137,
  f64x2_nearest: 148,
  i32x4_extend_low_i16x8_s: 167,
  i32x4_extend_low_i16x8_u: 169,
  i32x4_shl: 171,
  i32x4_shr_s: 172,
  i32x4_shr_u: 173,
  i32x4_add: 174,
  i32x4_sub: 177,
  i32x4_mul: 181,
  i32x4_min_s: 182,
  i32x4_max_s: 184,
  i64x2_extend_low_i32x4_s: 199,
  i64x2_shl: 203,
  i64x2_shr_s: 204,
  i64x2_shr_u: 205,
  i64x2_add: 206,
  i64x2_sub: 209,
  f32x4_abs: 224,
  f32x4_neg: 225,
  f32x4_sqrt: 227,
  f32x4_add: 228,
  f32x4_sub: 229,
  f32x4_mul: 230,
  f32x4_div: 231,
  f32x4_min: 232,
  f32x4_max: 233,
  f32x4_pmin: 234,
  f32x4_pmax: 235,
  f64x2_abs: 236,
  f64x2_neg: 237,
  f64x2_sqrt: 239,
  f64x2_add: 240,
  f64x2_sub: 241,
  f64x2_mul: 242,
  f64x2_div: 243,
  f64x2_min: 244,
  f64x2_max: 245,
  i32x4_trunc_sat_f32x4_s: 248,
  i32x4_trunc_sat_f64x2_s_zero: 252,
  f32x4_convert_i32x4_s: 250,
  f64x2_convert_low_i32x4_s: 254,
} as const;

const OP_NAMES = new Map<number, string>(Object.entries(OP).map(([k, v]) => [v, k.replace('_', '.')]));
const SAT_NAMES = new Map<number, string>(Object.entries(SAT).map(([k, v]) => [v, k.replace('_', '.')]));
const SIMD_NAMES = new Map<number, string>(Object.entries(SIMD).map(([k, v]) => [v, k.replace('_', '.')]));

function uleb(out: number[], v: number): void {
  do {
    let b = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
}

function sleb(out: number[], v: bigint): void {
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0);
    out.push(done ? b : b | 0x80);
    if (done) return;
  }
}

const scratch = new DataView(new ArrayBuffer(16));
const scratchBytes = new Uint8Array(scratch.buffer);
const scratchWords = new Int32Array(scratch.buffer);

/** Natural alignment (log2 bytes) of a memory access of `bytes`. */
const alignOf = (bytes: number): number => Math.log2(bytes);

/** One function body under construction. Instructions are appended; locals are allocated on demand. */
export class Code {
  readonly body: number[] = [];
  private readonly locals: ValType[] = [];
  /** Code run at function entry (vector constants into locals), before `body`. */
  private readonly entry: number[] = [];
  private readonly constants = new Map<string, number>();
  /** A text listing of the instructions, when asked for (debugging: `renderWasmText`). */
  readonly listing: string[] | undefined;
  private depth = 1;

  constructor(
    readonly params: readonly ValType[],
    readonly results: readonly ValType[] = [],
    listing = false,
  ) {
    this.listing = listing ? [] : undefined;
  }

  private note(text: string): void {
    if (!this.listing) return;
    if (text === 'end' || text === 'else') this.depth--;
    this.listing.push(`${'  '.repeat(Math.max(this.depth, 0))}${text}`);
    if (text === 'block' || text === 'loop' || text === 'if' || text === 'else') this.depth++;
  }

  /** Locals declared so far (parameters not counted). */
  get localCount(): number {
    return this.locals.length;
  }

  /** A fresh local of type `t`; its index. */
  local(t: ValType): number {
    this.locals.push(t);
    return this.params.length + this.locals.length - 1;
  }

  /** One core instruction without immediates. */
  op(opcode: number): this {
    this.body.push(opcode);
    this.note(OP_NAMES.get(opcode) ?? `0x${opcode.toString(16)}`);
    return this;
  }

  /** A saturating truncation (0xfc prefix). */
  sat(sub: number): this {
    this.body.push(0xfc);
    uleb(this.body, sub);
    this.note(SAT_NAMES.get(sub) ?? `sat ${sub}`);
    return this;
  }

  simd(sub: number): this {
    this.body.push(0xfd);
    uleb(this.body, sub);
    this.note(SIMD_NAMES.get(sub) ?? `simd ${sub}`);
    return this;
  }

  /** A core load or store of `bytes` bytes at constant `offset`. */
  mem(opcode: number, bytes: number, offset = 0): this {
    this.note(`${OP_NAMES.get(opcode)} offset=${offset}`);
    this.body.push(opcode);
    uleb(this.body, alignOf(bytes));
    uleb(this.body, offset);
    return this;
  }

  /**
   * i32.atomic.rmw.add at constant `offset` (threads proposal, 0xfe prefix): [address, delta] →
   * the old value. Valid on shared and unshared memories; the address must be 4-byte aligned.
   */
  atomicAddI32(offset = 0): this {
    this.note(`i32.atomic.rmw.add offset=${offset}`);
    this.body.push(0xfe, 0x1e);
    uleb(this.body, 2);
    uleb(this.body, offset);
    return this;
  }

  /** A SIMD load or store (alignment hint: 1 byte; wasm does not require alignment). */
  simdMem(sub: number, offset = 0): this {
    this.simd(sub);
    if (offset) this.note(`  offset=${offset}`);
    uleb(this.body, 0);
    uleb(this.body, offset);
    return this;
  }

  /** A SIMD lane load or store: memarg then lane index. */
  simdMemLane(sub: number, bytes: number, lane: number, offset = 0): this {
    this.simd(sub);
    uleb(this.body, alignOf(bytes));
    uleb(this.body, offset);
    this.body.push(lane);
    return this;
  }

  /** extract_lane / replace_lane. */
  lane(sub: number, lane: number): this {
    this.simd(sub);
    this.note(`  lane ${lane}`);
    this.body.push(lane);
    return this;
  }

  /** i8x16.shuffle with 16 byte indices. */
  shuffle(bytes: readonly number[]): this {
    this.simd(SIMD.i8x16_shuffle);
    this.note(`  ${bytes.join(' ')}`);
    this.body.push(...bytes);
    return this;
  }

  i32(v: number): this {
    this.note(`i32.const ${v | 0}`);
    this.body.push(OP.i32_const);
    sleb(this.body, BigInt(v | 0));
    return this;
  }

  i64(v: bigint): this {
    this.note(`i64.const ${v}`);
    this.body.push(OP.i64_const);
    sleb(this.body, BigInt.asIntN(64, v));
    return this;
  }

  f32(v: number): this {
    this.note(`f32.const ${v}`);
    scratch.setFloat32(0, v, true);
    this.body.push(OP.f32_const, scratchBytes[0]!, scratchBytes[1]!, scratchBytes[2]!, scratchBytes[3]!);
    return this;
  }

  f64(v: number): this {
    this.note(`f64.const ${v}`);
    scratch.setFloat64(0, v, true);
    this.body.push(OP.f64_const);
    for (let i = 0; i < 8; i++) this.body.push(scratchBytes[i]!);
    return this;
  }

  /**
   * The 16 bytes in `scratch` as a vector constant. Engines rebuild a v128.const wherever it
   * appears (a loop pays for it every iteration), so each distinct constant is made once, at
   * function entry, into a local.
   */
  private v128Const(text: string): void {
    const key = `${scratchWords[0]},${scratchWords[1]},${scratchWords[2]},${scratchWords[3]}`;
    let l = this.constants.get(key);
    if (l === undefined) {
      l = this.local(V128);
      this.constants.set(key, l);
      this.entry.push(0xfd, SIMD.v128_const);
      for (let i = 0; i < 16; i++) this.entry.push(scratchBytes[i]!);
      this.entry.push(OP.local_set);
      uleb(this.entry, l);
    }
    this.note(`local.get ${l} (v128.const ${text})`);
    this.body.push(OP.local_get);
    uleb(this.body, l);
  }

  /** v128.const from four float32 lanes. */
  f32x4(lanes: readonly number[]): this {
    for (let i = 0; i < 4; i++) scratch.setFloat32(i * 4, lanes[i]!, true);
    this.v128Const(`f32x4 ${lanes.join(' ')}`);
    return this;
  }

  /** v128.const from four int32 lanes. */
  i32x4(lanes: readonly number[]): this {
    for (let i = 0; i < 4; i++) scratch.setInt32(i * 4, lanes[i]!, true);
    this.v128Const(`i32x4 ${lanes.join(' ')}`);
    return this;
  }

  /** v128.const with one int64 value in both lanes. */
  i64x2Splat(v: bigint): this {
    scratch.setBigInt64(0, v, true);
    scratch.setBigInt64(8, v, true);
    this.v128Const(`i64x2 ${v} ${v}`);
    return this;
  }

  /** v128.const from two float64 lanes. */
  f64x2(lanes: readonly number[]): this {
    for (let i = 0; i < 2; i++) scratch.setFloat64(i * 8, lanes[i]!, true);
    this.v128Const(`f64x2 ${lanes.join(' ')}`);
    return this;
  }

  get(i: number): this {
    this.note(`local.get ${i}`);
    this.body.push(OP.local_get);
    uleb(this.body, i);
    return this;
  }

  set(i: number): this {
    this.note(`local.set ${i}`);
    this.body.push(OP.local_set);
    uleb(this.body, i);
    return this;
  }

  tee(i: number): this {
    this.note(`local.tee ${i}`);
    this.body.push(OP.local_tee);
    uleb(this.body, i);
    return this;
  }

  call(fn: number): this {
    this.note(`call ${fn}`);
    this.body.push(OP.call);
    uleb(this.body, fn);
    return this;
  }

  /** block / loop / if with no result; close with `end()`. */
  block(): this {
    this.op(OP.block).body.push(0x40);
    return this;
  }
  loop(): this {
    this.op(OP.loop).body.push(0x40);
    return this;
  }
  if(): this {
    this.op(OP.if).body.push(0x40);
    return this;
  }
  end(): this {
    return this.op(OP.end);
  }
  br(depth: number): this {
    this.note(`br ${depth}`);
    this.body.push(OP.br);
    uleb(this.body, depth);
    return this;
  }
  brIf(depth: number): this {
    this.note(`br_if ${depth}`);
    this.body.push(OP.br_if);
    uleb(this.body, depth);
    return this;
  }

  /** The function's code entry: locals (run-length grouped), body, end. */
  encode(): number[] {
    const out: number[] = [];
    const groups: [number, ValType][] = [];
    for (const t of this.locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    uleb(out, groups.length);
    for (const [n, t] of groups) {
      uleb(out, n);
      out.push(t);
    }
    append(out, this.entry);
    append(out, this.body);
    out.push(OP.end);
    return out;
  }
}

interface FuncImport {
  readonly module: string;
  readonly name: string;
  readonly type: number;
}

export interface MemoryLimits {
  readonly initial: number;
  readonly maximum: number;
  readonly shared: boolean;
}

function utf8(out: number[], s: string): void {
  const b = new TextEncoder().encode(s);
  uleb(out, b.length);
  out.push(...b);
}

/** Appends without spreading (bodies may be longer than the engine's argument limit). */
function append(out: number[], src: readonly number[]): void {
  for (let i = 0; i < src.length; i++) out.push(src[i]!);
}

function section(out: number[], id: number, content: number[]): void {
  out.push(id);
  uleb(out, content.length);
  append(out, content);
}

/** A module under construction: imports first, then functions; `bytes()` encodes it. */
export class ModuleBuilder {
  private readonly types: string[] = [];
  private readonly typeSigs: [readonly ValType[], readonly ValType[]][] = [];
  private readonly funcImports: FuncImport[] = [];
  private memory: { module: string; name: string; limits: MemoryLimits } | undefined;
  private readonly funcs: { type: number; code: Code }[] = [];
  private readonly exports: { name: string; index: number }[] = [];
  private readonly customs: { name: string; data: Uint8Array }[] = [];

  private typeIndex(params: readonly ValType[], results: readonly ValType[]): number {
    const key = `${params.join(',')}>${results.join(',')}`;
    let i = this.types.indexOf(key);
    if (i < 0) {
      i = this.types.push(key) - 1;
      this.typeSigs.push([params, results]);
    }
    return i;
  }

  importMemory(module: string, name: string, limits: MemoryLimits): void {
    this.memory = { module, name, limits };
  }

  /** Imports a function; its index in the function space. Call before `func`. */
  importFunc(module: string, name: string, params: readonly ValType[], results: readonly ValType[]): number {
    if (this.funcs.length) throw new Error('wasm-encoder: imports must come before defined functions');
    this.funcImports.push({ module, name, type: this.typeIndex(params, results) });
    return this.funcImports.length - 1;
  }

  /** The index the next defined function will get (for calls to functions defined later). */
  nextFuncIndex(): number {
    return this.funcImports.length + this.funcs.length;
  }

  /** Adds a function (exported under `exportName` if given); its index. */
  func(code: Code, exportName?: string): number {
    const index = this.nextFuncIndex();
    this.funcs.push({ type: this.typeIndex(code.params, code.results), code });
    if (exportName !== undefined) this.exports.push({ name: exportName, index });
    return index;
  }

  /** A custom section (metadata engines ignore; readable with WebAssembly.Module.customSections). */
  custom(name: string, data: Uint8Array): void {
    this.customs.push({ name, data });
  }

  bytes(): Uint8Array {
    const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const types: number[] = [];
    uleb(types, this.typeSigs.length);
    for (const [params, results] of this.typeSigs) {
      types.push(0x60);
      uleb(types, params.length);
      types.push(...params);
      uleb(types, results.length);
      types.push(...results);
    }
    section(out, 1, types);

    const imports: number[] = [];
    uleb(imports, this.funcImports.length + (this.memory ? 1 : 0));
    for (const f of this.funcImports) {
      utf8(imports, f.module);
      utf8(imports, f.name);
      imports.push(0x00);
      uleb(imports, f.type);
    }
    if (this.memory) {
      const { module, name, limits } = this.memory;
      utf8(imports, module);
      utf8(imports, name);
      imports.push(0x02, limits.shared ? 0x03 : 0x01);
      uleb(imports, limits.initial);
      uleb(imports, limits.maximum);
    }
    section(out, 2, imports);

    const funcs: number[] = [];
    uleb(funcs, this.funcs.length);
    for (const f of this.funcs) uleb(funcs, f.type);
    section(out, 3, funcs);

    const exports: number[] = [];
    uleb(exports, this.exports.length);
    for (const e of this.exports) {
      utf8(exports, e.name);
      exports.push(0x00);
      uleb(exports, e.index);
    }
    section(out, 7, exports);

    const code: number[] = [];
    uleb(code, this.funcs.length);
    for (const f of this.funcs) {
      const body = f.code.encode();
      uleb(code, body.length);
      append(code, body);
    }
    section(out, 10, code);
    for (const cs of this.customs) {
      const content: number[] = [];
      utf8(content, cs.name);
      append(content, Array.from(cs.data));
      section(out, 0, content);
    }
    return Uint8Array.from(out);
  }
}
