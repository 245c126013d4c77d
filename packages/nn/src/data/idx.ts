/**
 * The IDX file format (MNIST, Fashion-MNIST): a big-endian header — two zero bytes, a type
 * code, the number of dimensions, each dimension as a uint32 — then the values, big-endian.
 */
import { tensor, type DType, type Tensor } from '@fusor/tensor';

/** IDX type code (0x08 ubyte, 0x09 byte, 0x0b short, 0x0c int, 0x0d float, 0x0e double) → element size and fusor dtype. */
const TYPES: Readonly<Record<number, { size: number; dtype: DType; read: (v: DataView, at: number) => number }>> = {
  8: { size: 1, dtype: 'uint8', read: (v, at) => v.getUint8(at) },
  9: { size: 1, dtype: 'int8', read: (v, at) => v.getInt8(at) },
  11: { size: 2, dtype: 'int16', read: (v, at) => v.getInt16(at) },
  12: { size: 4, dtype: 'int32', read: (v, at) => v.getInt32(at) },
  13: { size: 4, dtype: 'float32', read: (v, at) => v.getFloat32(at) },
  14: { size: 8, dtype: 'float64', read: (v, at) => v.getFloat64(at) },
};

export class IdxError extends Error {
  override name = 'IdxError';
}

/** An IDX file's contents on the host. */
export interface IdxArray {
  dtype: DType;
  shape: number[];
  values: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

/** Parses an (uncompressed) IDX file into a tensor. */
export function readIdx(bytes: Uint8Array, opts: { device?: string } = {}): Tensor {
  const a = parseIdx(bytes);
  return tensor(a.values, { dtype: a.dtype, device: opts.device ?? 'cpu' }).reshape(a.shape);
}

/** Parses an (uncompressed) IDX file into host values. */
export function parseIdx(bytes: Uint8Array): IdxArray {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) throw new IdxError('IDX data is gzip-compressed: decompress it first (loadIdxFile does)');
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw new IdxError('not an IDX file: it must start with two zero bytes');
  const type = TYPES[bytes[2]!];
  if (!type) throw new IdxError(`IDX type code 0x${bytes[2]!.toString(16).padStart(2, '0')} is not one of ubyte, byte, short, int, float, double`);
  const ndim = bytes[3]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 + 4 * ndim) throw new IdxError(`IDX header is truncated: ${ndim} dimensions need ${4 + 4 * ndim} bytes, the file has ${bytes.length}`);
  const shape = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i));
  const n = shape.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * ndim;
  if (bytes.length !== start + n * type.size) {
    throw new IdxError(`IDX data has ${bytes.length - start} bytes, but shape [${shape.join(', ')}] of ${type.dtype} needs ${n * type.size}`);
  }
  let values: IdxArray['values'];
  if (type.dtype === 'uint8') values = bytes.slice(start, start + n);
  else {
    const Ctor = { int8: Int8Array, int16: Int16Array, int32: Int32Array, float32: Float32Array, float64: Float64Array }[type.dtype as 'int8'];
    values = new Ctor(n);
    for (let i = 0; i < n; i++) values[i] = type.read(view, start + i * type.size);
  }
  return { dtype: type.dtype, shape, values };
}

/** Reads an IDX file (gzip-compressed or not) in Node. */
export async function loadIdxFile(path: string, opts: { device?: string } = {}): Promise<Tensor> {
  const a = await loadIdxArray(path);
  return tensor(a.values, { dtype: a.dtype, device: opts.device ?? 'cpu' }).reshape(a.shape);
}

/** Reads an IDX file (gzip-compressed or not) in Node, into host values. */
export async function loadIdxArray(path: string): Promise<IdxArray> {
  const { readFile } = await import('node:fs/promises');
  let bytes: Uint8Array = new Uint8Array(await readFile(path));
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    const { gunzipSync } = await import('node:zlib');
    bytes = new Uint8Array(gunzipSync(bytes));
  }
  try {
    return parseIdx(bytes);
  } catch (e) {
    if (e instanceof IdxError) throw new IdxError(`${path}: ${e.message}`);
    throw e;
  }
}
