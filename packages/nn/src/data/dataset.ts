/** Datasets, PyTorch's torch.utils.data vocabulary: Dataset, IterableDataset, TensorDataset, Subset, randomSplit. */
import { Tensor, tensor } from '@fusor/tensor';
import { Generator } from './generator.js';

/**
 * A map-style dataset: `getItem(i)` (PyTorch's `__getitem__`) and `len()`. A dataset may also
 * offer `getBatch(indices)`, a whole batch already collated (DataLoader uses it with the
 * default collate: one gather per tensor instead of one select per sample plus a stack).
 */
export abstract class Dataset<T = unknown> {
  abstract getItem(index: number): T | Promise<T>;
  abstract len(): number;
  getBatch?(indices: readonly number[]): unknown;

  get length(): number {
    return this.len();
  }
}

/** A stream of samples (PyTorch's IterableDataset): sync or async iteration, no indexing. */
export abstract class IterableDataset<T = unknown> {
  abstract [Symbol.iterator](): Iterator<T>;
}

/** Wraps tensors that share their first dimension; sample i is `[t[i] for t in tensors]`. */
export class TensorDataset extends Dataset<Tensor[]> {
  readonly tensors: Tensor[];
  constructor(...tensors: Tensor[]) {
    super();
    if (tensors.length === 0) throw new RangeError('TensorDataset needs at least one tensor');
    for (const t of tensors) if (!(t instanceof Tensor)) throw new TypeError(`TensorDataset expects tensors, got ${typeof t}`);
    if (tensors.some((t) => t.ndim === 0 || t.shape[0] !== tensors[0]!.shape[0])) throw new RangeError('Size mismatch between tensors');
    this.tensors = tensors;
  }
  getItem(index: number): Tensor[] {
    const i = checkIndex(index, this.len());
    return this.tensors.map((t) => t.select(0, i));
  }
  len(): number {
    return this.tensors[0]!.shape[0]!;
  }
  /** A batch: rows copied on the host for cpu tensors (one upload per tensor), one indexSelect elsewhere. */
  getBatch(indices: readonly number[]): Tensor[] {
    return this.tensors.map((t) => {
      if (t.device === 'cpu') return gatherRows(hostRows(t), indices);
      return t.indexSelect(0, tensor(Int32Array.from(indices), { device: t.device }));
    });
  }
}

/** A cpu tensor's contents by rows, read once (again only if the tensor was changed in place). */
export interface HostRows {
  dtype: Tensor['dtype'];
  shape: number[];
  values: ArrayLike<number | bigint> & { subarray(a: number, b: number): ArrayLike<number | bigint> };
}
const hostCache = new WeakMap<Tensor, { node: object; rows: HostRows }>();

function hostRows(t: Tensor): HostRows {
  const hit = hostCache.get(t);
  if (hit && hit.node === t.node) return hit.rows;
  const rows = { dtype: t.dtype, shape: t.shape, values: t.dataSync() as HostRows['values'] };
  hostCache.set(t, { node: t.node, rows });
  return rows;
}

/** Rows `indices` of host data as a new cpu tensor. */
export function gatherRows(src: HostRows, indices: readonly number[], device = 'cpu'): Tensor {
  const n = src.shape[0]!;
  const row = src.shape.slice(1).reduce((a, b) => a * b, 1);
  const Ctor = (src.values as unknown as { constructor: new (n: number) => { set(a: ArrayLike<unknown>, at: number): void } }).constructor;
  const out = new Ctor(indices.length * row);
  indices.forEach((i, k) => {
    const r = checkIndex(i, n);
    out.set(src.values.subarray(r * row, (r + 1) * row), k * row);
  });
  return tensor(out as unknown as Uint8Array, { dtype: src.dtype, device }).reshape([indices.length, ...src.shape.slice(1)]);
}

/** The samples of `dataset` at `indices`. */
export class Subset<T> extends Dataset<T> {
  constructor(
    readonly dataset: Dataset<T>,
    readonly indices: readonly number[],
  ) {
    super();
    if (dataset.getBatch) this.getBatch = (ix: readonly number[]) => dataset.getBatch!(ix.map((i) => this.indices[checkIndex(i, this.indices.length)]!));
  }
  getItem(index: number): T | Promise<T> {
    return this.dataset.getItem(this.indices[checkIndex(index, this.indices.length)]!);
  }
  len(): number {
    return this.indices.length;
  }
}

function checkIndex(index: number, n: number): number {
  if (!Number.isInteger(index)) throw new TypeError(`dataset indices must be integers, got ${String(index)}`);
  const i = index < 0 ? index + n : index;
  if (i < 0 || i >= n) throw new RangeError(`index ${index} is out of range for a dataset of length ${n}`);
  return i;
}

/** Splits a dataset into non-overlapping random subsets of the given lengths (or fractions summing to 1). */
export function randomSplit<T>(dataset: Dataset<T>, lengths: readonly number[], opts: { generator?: Generator } = {}): Subset<T>[] {
  for (const k of Object.keys(opts)) if (k !== 'generator') throw new TypeError(`random_split() got an unexpected keyword argument '${k}'`);
  const n = dataset.len();
  let sizes = [...lengths];
  const total = sizes.reduce((a, b) => a + b, 0);
  if (Math.abs(total - 1) <= 1e-9 && total <= 1) {
    sizes = sizes.map((f, i) => {
      if (f < 0 || f > 1) throw new RangeError(`Fraction at index ${i} is not between 0 and 1`);
      return Math.floor(n * f);
    });
    const remainder = n - sizes.reduce((a, b) => a + b, 0);
    for (let i = 0; i < remainder; i++) sizes[i % sizes.length]!++;
  }
  if (sizes.reduce((a, b) => a + b, 0) !== n) throw new RangeError('Sum of input lengths does not equal the length of the input dataset!');
  const perm = (opts.generator ?? new Generator().manualSeed(Date.now())).randperm(n);
  const out: Subset<T>[] = [];
  let at = 0;
  for (const s of sizes) {
    out.push(new Subset(dataset, perm.slice(at, at + s)));
    at += s;
  }
  return out;
}
