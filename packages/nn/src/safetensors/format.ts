/**
 * The safetensors format, byte for byte as huggingface/safetensors writes it: an 8-byte
 * little-endian header length, a compact JSON header (`__metadata__` first, then each tensor's
 * dtype, shape and data_offsets), padded with spaces to a multiple of 8, then the tensors' bytes,
 * ordered by descending dtype (the reference's enum order) and then by name.
 */
import { Tensor, tensor, type DType } from '@fusor/tensor';

/** A file that is not valid safetensors, or tensors that cannot be written as one. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

/** The format's dtypes in the reference implementation's order (sorting is by this, descending). */
const ORDER = ['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64'] as const;
type FileDType = (typeof ORDER)[number];

/** fusor dtype ↔ file dtype, with the element size. */
const TO_FILE: Readonly<Record<DType, FileDType>> = {
  bool: 'BOOL',
  uint8: 'U8',
  int8: 'I8',
  int16: 'I16',
  float16: 'F16',
  bfloat16: 'BF16',
  int32: 'I32',
  float32: 'F32',
  float64: 'F64',
  int64: 'I64',
};
const FROM_FILE: Readonly<Partial<Record<string, DType>>> = Object.fromEntries(Object.entries(TO_FILE).map(([a, b]) => [b, a as DType]));
const SIZE: Readonly<Record<FileDType, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};

/** Header limit of the reference implementation (100 MB). */
const MAX_HEADER = 100_000_000;

const utf8 = new TextEncoder();

/** Compares names as Rust compares Strings: by their UTF-8 bytes. */
function compareBytes(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

// ------------------------------------------------------------------ element encoding

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float16 bits of a value (round to nearest even, as a cast to half does). */
function f16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && half & 1)) half++;
    return sign | half;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
  return sign | h;
}

function f16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** bfloat16 bits (round to nearest even). */
function bf16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

function bf16Value(b: number): number {
  u32[0] = b << 16;
  return f32[0]!;
}

/** @internal A tensor's elements as little-endian bytes of its file dtype. */
export function encode(values: ArrayLike<number | bigint>, dtype: DType): Uint8Array {
  const n = values.length;
  const fd = TO_FILE[dtype];
  const out = new Uint8Array(n * SIZE[fd]);
  const view = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    switch (fd) {
      case 'BOOL':
      case 'U8':
        out[i] = Number(v);
        break;
      case 'I8':
        view.setInt8(i, Number(v));
        break;
      case 'I16':
        view.setInt16(2 * i, Number(v), true);
        break;
      case 'F16':
        view.setUint16(2 * i, f16Bits(Number(v)), true);
        break;
      case 'BF16':
        view.setUint16(2 * i, bf16Bits(Number(v)), true);
        break;
      case 'I32':
        view.setInt32(4 * i, Number(v), true);
        break;
      case 'F32':
        view.setFloat32(4 * i, Number(v), true);
        break;
      case 'F64':
        view.setFloat64(8 * i, Number(v), true);
        break;
      case 'I64':
        view.setBigInt64(8 * i, typeof v === 'bigint' ? v : BigInt(v), true);
        break;
      default:
        throw new SafetensorsError(`cannot encode ${fd}`);
    }
  }
  return out;
}

/** Bytes of a file dtype → host values for `tensor()`. */
function decode(bytes: Uint8Array, fd: FileDType, n: number): ArrayLike<number | bigint> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (fd) {
    case 'BOOL':
    case 'U8':
      return Uint8Array.from(bytes);
    case 'I8':
      return Int8Array.from({ length: n }, (_, i) => view.getInt8(i));
    case 'I16':
      return Int16Array.from({ length: n }, (_, i) => view.getInt16(2 * i, true));
    case 'F16':
      return Float32Array.from({ length: n }, (_, i) => f16Value(view.getUint16(2 * i, true)));
    case 'BF16':
      return Float32Array.from({ length: n }, (_, i) => bf16Value(view.getUint16(2 * i, true)));
    case 'I32':
      return Int32Array.from({ length: n }, (_, i) => view.getInt32(4 * i, true));
    case 'F32':
      return Float32Array.from({ length: n }, (_, i) => view.getFloat32(4 * i, true));
    case 'F64':
      return Float64Array.from({ length: n }, (_, i) => view.getFloat64(8 * i, true));
    case 'I64':
      return BigInt64Array.from({ length: n }, (_, i) => view.getBigInt64(8 * i, true));
    default:
      throw new SafetensorsError(`cannot decode ${fd}`);
  }
}

// ------------------------------------------------------------------ writing

export type Metadata = Record<string, string>;

/** Checks the arguments and returns the entries in file order. */
function prepare(tensors: Record<string, Tensor>, metadata: Metadata | null | undefined): [string, Tensor][] {
  if (typeof tensors !== 'object' || tensors === null || tensors instanceof Tensor) {
    throw new TypeError(`save() expects an object of name → Tensor, got ${tensors instanceof Tensor ? 'a Tensor' : typeof tensors}`);
  }
  if (metadata !== undefined && metadata !== null) {
    if (typeof metadata !== 'object') throw new TypeError(`metadata must be an object of strings, got ${typeof metadata}`);
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new TypeError(`metadata '${k}': values must be strings, got ${typeof v}`);
    }
  }
  const entries = Object.entries(tensors);
  for (const [name, t] of entries) {
    if (!(t instanceof Tensor)) throw new TypeError(`'${name}': expected a Tensor, got ${typeof t}`);
    if (name === '__metadata__') throw new SafetensorsError("'__metadata__' is reserved for the header's metadata and cannot name a tensor");
  }
  return entries.sort(([a, x], [b, y]) => ORDER.indexOf(TO_FILE[y.dtype]) - ORDER.indexOf(TO_FILE[x.dtype]) || compareBytes(a, b));
}

function assemble(entries: [string, Tensor][], values: ArrayLike<number | bigint>[], metadata: Metadata | null | undefined): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header['__metadata__'] = metadata;
  const blobs = entries.map(([, t], i) => encode(values[i]!, t.dtype));
  let offset = 0;
  entries.forEach(([name, t], i) => {
    const len = blobs[i]!.length;
    header[name] = { dtype: TO_FILE[t.dtype], shape: t.shape, data_offsets: [offset, offset + len] };
    offset += len;
  });
  const json = utf8.encode(JSON.stringify(header));
  const padded = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let at = 8 + padded;
  for (const b of blobs) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/** Serializes tensors (read synchronously: cpu) to safetensors bytes. */
export function save(tensors: Record<string, Tensor>, metadata?: Metadata | null): Uint8Array {
  const entries = prepare(tensors, metadata);
  return assemble(entries, entries.map(([, t]) => t.dataSync() as ArrayLike<number | bigint>), metadata);
}

/** As `save`, reading tensors asynchronously (any device). */
export async function saveAsync(tensors: Record<string, Tensor>, metadata?: Metadata | null): Promise<Uint8Array> {
  const entries = prepare(tensors, metadata);
  const values = await Promise.all(entries.map(async ([, t]) => (await t.data()) as ArrayLike<number | bigint>));
  return assemble(entries, values, metadata);
}

// ------------------------------------------------------------------ reading

export interface LoadOptions {
  /** Where the tensors go (default 'cpu'). */
  device?: string;
  /** Converts every floating-point tensor to this dtype (e.g. float16 weights for the cpu backend, which has no 16-bit floats). */
  dtype?: DType;
}

/** The header of a safetensors file: metadata and each tensor's entry, validated against the file. */
export interface Header {
  metadata: Metadata | null;
  tensors: { name: string; dtype: DType; fileDtype: string; shape: number[]; begin: number; end: number }[];
  /** Where the data section starts in the file. */
  dataStart: number;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Parses and checks a file's header; errors name the tensor and the problem. */
export function readHeader(bytes: Uint8Array): Header {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`load() expects a Uint8Array, got ${typeof bytes}`);
  if (bytes.length < 8) throw new SafetensorsError(`file is truncated: ${bytes.length} bytes, fewer than the 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) throw new SafetensorsError(`header length ${n} is larger than the 100 MB limit (not a safetensors file?)`);
  const len = Number(n);
  if (8 + len > bytes.length) throw new SafetensorsError(`file is truncated: the header needs ${len} bytes but only ${bytes.length - 8} follow the length`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + len));
  } catch {
    throw new SafetensorsError('header is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new SafetensorsError('header must be a JSON object');
  const dataStart = 8 + len;
  const dataLen = bytes.length - dataStart;
  let metadata: Metadata | null = null;
  const tensors: Header['tensors'] = [];
  for (const [name, info] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null || Array.isArray(info) || Object.values(info).some((v) => typeof v !== 'string')) {
        throw new SafetensorsError("'__metadata__' must be an object of strings");
      }
      metadata = info as Metadata;
      continue;
    }
    if (typeof info !== 'object' || info === null) throw new SafetensorsError(`tensor '${name}': entry must be an object with dtype, shape and data_offsets`);
    const { dtype: fd, shape, data_offsets: off } = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof fd !== 'string' || !(ORDER as readonly string[]).includes(fd)) throw new SafetensorsError(`tensor '${name}': unknown dtype ${JSON.stringify(fd)}`);
    const dtype = FROM_FILE[fd];
    if (!dtype) throw new SafetensorsError(`tensor '${name}': dtype ${fd} is not supported by fusor`);
    if (!Array.isArray(shape) || !shape.every(isInt)) throw new SafetensorsError(`tensor '${name}': shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isInt)) {
      throw new SafetensorsError(`tensor '${name}': data_offsets must be [begin, end], got ${JSON.stringify(off)}`);
    }
    const [begin, end] = off as [number, number];
    if (end < begin || end > dataLen) {
      throw new SafetensorsError(`tensor '${name}': data_offsets [${begin}, ${end}] are out of range of the ${dataLen}-byte data section`);
    }
    const need = (shape as number[]).reduce((a, b) => a * b, 1) * SIZE[fd as FileDType];
    if (end - begin !== need) {
      throw new SafetensorsError(`tensor '${name}': data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but shape [${(shape as number[]).join(', ')}] of ${fd} needs ${need}`);
    }
    tensors.push({ name, dtype, fileDtype: fd, shape: shape as number[], begin, end });
  }
  // as the reference: tensors packed in offset order, no gaps or overlaps, covering the data
  const byOffset = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const t of byOffset) {
    if (t.begin !== at) {
      throw new SafetensorsError(`tensor '${t.name}': data_offsets start at ${t.begin}, expected ${at} (tensors must be packed without gaps or overlaps)`);
    }
    at = t.end;
  }
  if (at !== dataLen) throw new SafetensorsError(`the data section is ${dataLen} bytes but the tensors cover ${at} (trailing bytes or a truncated file)`);
  return { metadata, tensors, dataStart };
}

/** Tensors from safetensors bytes, in the header's order. */
export function load(bytes: Uint8Array, opts: LoadOptions = {}): Record<string, Tensor> {
  if (typeof opts !== 'object' || opts === null) throw new TypeError('load(): options must be an object');
  for (const k of Object.keys(opts)) if (k !== 'device' && k !== 'dtype') throw new TypeError(`load() got an unexpected keyword argument '${k}'`);
  const header = readHeader(bytes);
  const device = opts.device ?? 'cpu';
  const out: Record<string, Tensor> = {};
  for (const t of header.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const raw = bytes.subarray(header.dataStart + t.begin, header.dataStart + t.end);
    const values = decode(raw, t.fileDtype as FileDType, n);
    const isFloatDtype = t.fileDtype.startsWith('F') || t.fileDtype === 'BF16';
    const dtype = opts.dtype !== undefined && isFloatDtype ? opts.dtype : t.dtype;
    try {
      out[t.name] = tensor(values, { dtype, device }).reshape(t.shape);
    } catch (e) {
      const hint = isFloatDtype ? ` (pass { dtype: 'float32' } to load it converted)` : '';
      throw new SafetensorsError(`tensor '${t.name}': ${(e as Error).message}${hint}`);
    }
  }
  return out;
}

/** The `__metadata__` of safetensors bytes (null when absent). */
export const metadata = (bytes: Uint8Array): Metadata | null => readHeader(bytes).metadata;
