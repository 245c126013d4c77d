/**
 * DataLoader: batches of a dataset in order or shuffled (from a seeded Generator, the same
 * order as PyTorch's), with the default or a custom collate; `for (const [x, y] of loader)` and
 * `for await (const [x, y] of loader)` (which prepares the next `prefetch` batches ahead).
 */
import { checkOptions, describe, type ParamSpec } from '../optim/options.js';
import { defaultCollate, type Collated } from './collate.js';
import { Dataset, type IterableDataset } from './dataset.js';
import { freshGenerator, Generator } from './generator.js';

export interface DataLoaderOptions<T, B> {
  batchSize?: number | null;
  shuffle?: boolean;
  generator?: Generator;
  dropLast?: boolean;
  collateFn?: (samples: T[]) => B;
  /** Batches prepared ahead in async iteration (default 2). */
  prefetch?: number;
}

const SPECS: readonly ParamSpec[] = [
  { name: 'batchSize', kind: 'any' },
  { name: 'shuffle', kind: 'boolean' },
  { name: 'generator', kind: 'any' },
  { name: 'dropLast', kind: 'boolean' },
  { name: 'collateFn', kind: 'any' },
  { name: 'prefetch', kind: 'number' },
];

type Source<T> = Dataset<T> | IterableDataset<T> | (Iterable<T> & { length?: number });

export class DataLoader<T = unknown, B = Collated<T>> implements Iterable<B>, AsyncIterable<B> {
  readonly dataset: Source<T>;
  readonly batchSize: number | null;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly generator: Generator | undefined;
  readonly prefetch: number;
  private readonly collate: (samples: T[]) => B;
  private readonly customCollate: boolean;

  /** `new DataLoader(dataset, batchSize = 1, shuffle = false, { generator, dropLast, collateFn, prefetch })`, any also by name. */
  constructor(dataset: Source<T>, batchSize?: number | DataLoaderOptions<T, B>, shuffle?: boolean | DataLoaderOptions<T, B>, opts?: DataLoaderOptions<T, B>) {
    let o: DataLoaderOptions<T, B> = {};
    const positional: Partial<DataLoaderOptions<T, B>> = {};
    for (const a of [batchSize, shuffle, opts]) {
      if (a !== undefined && typeof a === 'object' && a !== null) o = a;
    }
    if (typeof batchSize === 'number' || batchSize === null) positional.batchSize = batchSize;
    if (typeof shuffle === 'boolean') positional.shuffle = shuffle;
    const given = checkOptions('DataLoader', o, SPECS) as DataLoaderOptions<T, B>;
    for (const k of Object.keys(positional)) if (k in given) throw new TypeError(`DataLoader() got multiple values for argument '${k}'`);
    const all = { ...given, ...positional };
    const bs = all.batchSize === undefined ? 1 : all.batchSize;
    if (bs !== null && (typeof bs !== 'number' || !Number.isInteger(bs) || bs <= 0)) {
      throw new RangeError(`batch_size should be a positive integer value, but got batch_size=${String(bs)}`);
    }
    if (all.generator !== undefined && !(all.generator instanceof Generator)) throw new TypeError(`DataLoader(): generator must be a data.Generator, got ${describe(all.generator)}`);
    if (all.collateFn !== undefined && typeof all.collateFn !== 'function') throw new TypeError('DataLoader(): collateFn must be a function');
    const isMap = dataset instanceof Dataset;
    if (!isMap && all.shuffle) {
      throw new RangeError(`DataLoader with IterableDataset: expected unspecified shuffle option, but got shuffle=${all.shuffle}`);
    }
    if (!isMap && typeof (dataset as Iterable<T>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`DataLoader expects a Dataset, an IterableDataset or an iterable, got ${describe(dataset)}`);
    }
    this.dataset = dataset;
    this.batchSize = bs;
    this.shuffle = all.shuffle ?? false;
    this.dropLast = all.dropLast ?? false;
    this.generator = all.generator;
    this.prefetch = all.prefetch ?? 2;
    this.customCollate = all.collateFn !== undefined;
    this.collate = all.collateFn ?? (defaultCollate as (s: T[]) => B);
  }

  /** The number of batches per epoch. */
  len(): number {
    const n = this.datasetLength();
    if (this.batchSize === null) return n;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  get length(): number {
    return this.len();
  }

  private datasetLength(): number {
    const d = this.dataset;
    if (d instanceof Dataset) return d.len();
    if (typeof (d as { length?: unknown }).length === 'number') return (d as { length: number }).length;
    throw new TypeError(`object of type '${d.constructor?.name ?? 'IterableDataset'}' has no len()`);
  }

  /** One epoch's index batches (map-style datasets). */
  private indexBatches(): number[][] {
    const n = (this.dataset as Dataset<T>).len();
    // PyTorch's iterator first draws a 64-bit base seed (for workers) from the loader's generator,
    // then the sampler draws its permutation: two engine outputs, then randperm
    if (this.generator) {
      this.generator.random();
      this.generator.random();
    }
    const order = this.shuffle ? (this.generator ?? freshGenerator()).randperm(n) : Array.from({ length: n }, (_, i) => i);
    if (this.batchSize === null) return order.map((i) => [i]);
    const out: number[][] = [];
    for (let i = 0; i < n; i += this.batchSize) {
      const b = order.slice(i, i + this.batchSize);
      if (b.length < this.batchSize && this.dropLast) break;
      out.push(b);
    }
    return out;
  }

  /**
   * PyTorch's RandomSampler, run to its end, draws one more permutation (sliced to nothing)
   * after the epoch's: drawn here too, so the next epoch's order stays PyTorch's.
   */
  private epochEnd(): void {
    if (this.shuffle && this.generator) this.generator.randperm((this.dataset as Dataset<T>).len());
  }

  /** A batch from indices, the dataset's own `getBatch` when the default collate would stack anyway. */
  private batchOf(indices: number[]): B | Promise<B> {
    const d = this.dataset as Dataset<T>;
    if (this.batchSize !== null && !this.customCollate && d.getBatch) return d.getBatch(indices) as B;
    const items = indices.map((i) => d.getItem(i));
    if (items.some((x) => x instanceof Promise)) return Promise.all(items).then((xs) => this.finish(xs));
    return this.finish(items as T[]);
  }

  private finish(items: T[]): B {
    return this.batchSize === null ? (this.customCollate ? this.collate(items) : (items[0] as unknown as B)) : this.collate(items);
  }

  *[Symbol.iterator](): Iterator<B> {
    if (this.dataset instanceof Dataset) {
      for (const idx of this.indexBatches()) {
        const b = this.batchOf(idx);
        if (b instanceof Promise) throw new TypeError('this dataset returns promises from getItem: iterate the DataLoader with for await');
        yield b;
      }
      this.epochEnd();
      return;
    }
    yield* this.streamBatches(this.dataset as Iterable<T>);
  }

  private *streamBatches(source: Iterable<T>): IterableIterator<B> {
    if (this.batchSize === null) {
      for (const x of source) yield this.finish([x]);
      return;
    }
    let buf: T[] = [];
    for (const x of source) {
      buf.push(x);
      if (buf.length === this.batchSize) {
        yield this.collate(buf);
        buf = [];
      }
    }
    if (buf.length > 0 && !this.dropLast) yield this.collate(buf);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<B> {
    if (!(this.dataset instanceof Dataset)) {
      const src = this.dataset as Iterable<T> & Partial<AsyncIterable<T>>;
      if (typeof src[Symbol.asyncIterator] === 'function') {
        let buf: T[] = [];
        for await (const x of src as AsyncIterable<T>) {
          buf.push(x);
          if (this.batchSize === null || buf.length === this.batchSize) {
            yield this.finish(buf);
            buf = [];
          }
        }
        if (buf.length > 0 && !this.dropLast) yield this.finish(buf);
        return;
      }
      yield* this.streamBatches(src);
      return;
    }
    const batches = this.indexBatches();
    // up to `prefetch` batches in flight: their getItem calls (file reads, decoding) overlap the consumer's work
    const queue: Promise<B>[] = [];
    let next = 0;
    const fill = (): void => {
      while (queue.length < Math.max(1, this.prefetch) && next < batches.length) queue.push(Promise.resolve(this.batchOf(batches[next++]!)));
    };
    fill();
    while (queue.length > 0) {
      const b = await queue.shift()!;
      fill();
      yield b;
    }
    this.epochEnd();
  }
}
