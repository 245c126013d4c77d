/**
 * Moving values between the host, devices and dtypes: the building blocks creation functions and
 * `Tensor.to` share. Internal to @fusor/tensor (not re-exported from index.ts): `fromHost` hands
 * back an IR node, not a Tensor.
 */
import { castNode, copyNode, DTypeError, hostArray, bufferNode, type DType, type HostArray, type Node } from '@fusor/ir';
import { bfloat16Bits, float16Bits } from '@fusor/compiler';
import { getBackend, upload } from '@fusor/runtime';
import { record, type Tensor } from './tensor.js';

/** Checks a backend can hold a dtype, before any kernel is made. */
export function checkDtype(device: string, dtype: DType): void {
  const b = getBackend(device);
  if (!b.capabilities.dtypes.includes(dtype)) {
    throw new DTypeError(`${dtype} is not supported by the ${b.name} backend (supported: ${b.capabilities.dtypes.join(', ')})`);
  }
}

/** Host values → a host array of `dtype` (conversions follow casting rules). */
function toHost(values: ArrayLike<number | boolean | bigint>, dtype: DType): HostArray {
  const out = hostArray(dtype, values.length);
  if (out instanceof BigInt64Array) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      out[i] = typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v)) || 0);
    }
  } else if (dtype === 'bool') {
    for (let i = 0; i < values.length; i++) out[i] = Number(values[i]) !== 0 ? 1 : 0;
  } else if (dtype === 'float16' || dtype === 'bfloat16') {
    // 16-bit floats travel as their bit patterns
    const encode = dtype === 'float16' ? float16Bits : bfloat16Bits;
    for (let i = 0; i < values.length; i++) out[i] = encode(Number(values[i]));
  } else {
    for (let i = 0; i < values.length; i++) (out as Float64Array)[i] = Number(values[i]);
  }
  return out;
}

/** A realized tensor holding host data. */
export function fromHost(values: ArrayLike<number | boolean | bigint>, shape: readonly number[], dtype: DType, device: string): Node {
  checkDtype(device, dtype);
  const n = bufferNode(dtype, shape, device);
  upload(n, toHost(values, dtype));
  return n;
}

/** `.to(device)`: a copy on another device (the same tensor when already there). */
export function copyTo(t: Tensor, device: string): Tensor {
  if (t.device === device) return t;
  checkDtype(device, t.dtype);
  return record('ToCopyBackward0', copyNode(t.node, device), [t], false);
}

/** `.to(dtype)`: a converted copy (the same tensor when already of that dtype). */
export function castTo(t: Tensor, dtype: DType): Tensor {
  if (t.dtype === dtype) return t;
  checkDtype(t.device, dtype);
  return record('ToCopyBackward0', castNode(t.node, dtype), [t], false);
}
