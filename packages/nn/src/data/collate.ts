/** PyTorch's default_collate: a list of samples → one batch, recursing into arrays and objects. */
import { stack, Tensor, tensor } from '@fusor/tensor';

export type Collate<T, B> = (samples: T[]) => B;

/** What the default collate makes of a batch of `T`s. */
export type Collated<T> = T extends Tensor
  ? Tensor
  : T extends number | boolean | bigint
    ? Tensor
    : T extends string
      ? string[]
      : T extends readonly unknown[]
        ? { [K in keyof T]: Collated<T[K]> }
        : T extends object
          ? { [K in keyof T]: Collated<T[K]> }
          : unknown;

/**
 * Tensors stack along a new first dimension; numbers become a tensor (int64 when all are
 * integers, else float64, as PyTorch collates Python ints and floats); booleans a bool tensor;
 * strings stay a list; arrays (tuples) and plain objects collate position by position / key by key.
 */
export function defaultCollate(samples: unknown[]): unknown {
  if (samples.length === 0) throw new RangeError('default_collate: got an empty batch');
  const first = samples[0];
  if (first instanceof Tensor) {
    if (samples.some((s) => !(s instanceof Tensor))) throw new TypeError('default_collate: a batch mixes tensors and other values');
    return stack(samples as Tensor[], 0);
  }
  if (typeof first === 'number') {
    const nums = samples as number[];
    return tensor(nums, { dtype: nums.every((v) => Number.isInteger(v)) ? 'int64' : 'float64' });
  }
  if (typeof first === 'bigint') return tensor(BigInt64Array.from(samples as bigint[]), { dtype: 'int64' });
  if (typeof first === 'boolean') return tensor(samples as boolean[], { dtype: 'bool' });
  if (typeof first === 'string') return samples;
  if (Array.isArray(first)) {
    const n = first.length;
    if (samples.some((s) => !Array.isArray(s) || s.length !== n)) throw new RangeError('each element in list of batch should be of equal size');
    return Array.from({ length: n }, (_, i) => defaultCollate((samples as unknown[][]).map((s) => s[i])));
  }
  if (first !== null && typeof first === 'object' && Object.getPrototypeOf(first) === Object.prototype) {
    return Object.fromEntries(Object.keys(first).map((k) => [k, defaultCollate(samples.map((s) => (s as Record<string, unknown>)[k]))]));
  }
  throw new TypeError(`default_collate: batch must contain tensors, numbers, booleans, strings, arrays or objects; found ${first === null ? 'null' : typeof first}`);
}
