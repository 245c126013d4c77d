/**
 * Host arrays ↔ the words a webgpu buffer holds. float32 is f32, float16 is f16 (two bytes);
 * every integer dtype and bool is one 32-bit word per element. int64 is held as int32: uploads
 * outside the int32 range raise here, and arithmetic that leaves it is caught in the kernels.
 */
import { hostArray, type DType, type HostArray } from '@fusor/ir';

export const INT64_RANGE_HINT =
  'the webgpu backend holds int64 as int32 (WGSL has no 64-bit integers): values must lie in [-2147483648, 2147483647]';

/** An int64 value that does not fit the int32 words webgpu holds int64 in. */
export class Int64RangeError extends RangeError {
  override name = 'Int64RangeError';
}

/** Bytes per element in device memory. */
export const bytesPerElement = (dtype: DType): number => (dtype === 'float16' ? 2 : 4);

/** Device bytes of a buffer: whole 4-byte words, never zero (WebGPU binds no empty buffers). */
export const deviceBytes = (dtype: DType, size: number): number => Math.max(4, Math.ceil((size * bytesPerElement(dtype)) / 4) * 4);

/** Host data → the bytes to upload. */
export function toDevice(dtype: DType, data: HostArray): ArrayBufferView {
  switch (dtype) {
    case 'float32':
      return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
    case 'float16': {
      const words = new Uint16Array(Math.ceil(data.length / 2) * 2);
      words.set(data as Uint16Array);
      return words;
    }
    case 'int64': {
      const out = new Int32Array(data.length);
      for (let i = 0; i < data.length; i++) {
        const v = data[i]!;
        const n = typeof v === 'bigint' ? v : BigInt(Math.trunc(v));
        if (n < -2147483648n || n > 2147483647n) throw new Int64RangeError(`int64 value ${n} cannot be stored on webgpu: ${INT64_RANGE_HINT}`);
        out[i] = Number(n);
      }
      return out;
    }
    default: {
      if (data instanceof Int32Array) return data;
      const out = new Int32Array(data.length);
      for (let i = 0; i < data.length; i++) out[i] = Number(data[i]!);
      return out;
    }
  }
}

/** Downloaded bytes (a copy the caller hands over) → a host array of the dtype (int64 as BigInt64Array). */
export function fromDevice(dtype: DType, size: number, bytes: ArrayBuffer): HostArray {
  // `bytes` is the caller's own copy of the buffer's bytes: viewed, not copied again, where it is exactly the array
  if (dtype === 'float32') return bytes.byteLength === size * 4 ? new Float32Array(bytes) : new Float32Array(bytes, 0, size).slice();
  if (dtype === 'float16') return bytes.byteLength === size * 2 ? new Uint16Array(bytes) : new Uint16Array(bytes, 0, size).slice();
  const words = new Int32Array(bytes, 0, size);
  const out = hostArray(dtype, size);
  if (out instanceof BigInt64Array) {
    for (let i = 0; i < size; i++) out[i] = BigInt(words[i]!);
  } else {
    (out as Int32Array).set(words);
  }
  return out;
}
