/**
 * DistributedSampler: each rank iterates over its own 1/numReplicas of a dataset's indices, the
 * same partition on every rank for one (seed, epoch). As PyTorch's: without dropLast the indices
 * are padded by repeating the first ones so every rank gets the same count; with dropLast the
 * tail is dropped. Call setEpoch(e) at each epoch for a new shuffle.
 *
 * The shuffle is a seeded Fisher–Yates of its own (not torch.randperm): it must not draw from,
 * or depend on, the global generator, which ranks may have advanced differently. Its order is
 * deterministic in (seed, epoch) but is not PyTorch's.
 */
import { DistError } from './errors.js';
import { maybeGroup } from './process-group.js';

/** Anything with a size: an array, a Dataset with `length`, or one with `len()`. */
export type Sized = { readonly length: number } | { len(): number };

export interface DistributedSamplerOptions {
  readonly numReplicas?: number;
  readonly rank?: number;
  readonly shuffle?: boolean;
  readonly seed?: number;
  readonly dropLast?: boolean;
}

const KEYS: Readonly<Record<keyof DistributedSamplerOptions, string>> = {
  numReplicas: 'number',
  rank: 'number',
  shuffle: 'boolean',
  seed: 'number',
  dropLast: 'boolean',
};

function sizeOf(d: Sized): number {
  const n = 'len' in d && typeof d.len === 'function' ? d.len() : (d as { length: number }).length;
  if (!Number.isInteger(n) || n < 0) throw new TypeError(`DistributedSampler(): the dataset must have a length (a length property or len()), got ${String(n)}`);
  return n;
}

/** splitmix32 → a uniform index below n; small and seedable, for the shuffle. */
function* uniform(seed: number): Generator<number, never> {
  let s = seed >>> 0;
  for (;;) {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    yield ((z ^ (z >>> 16)) >>> 0) / 2 ** 32;
  }
}

export class DistributedSampler implements Iterable<number> {
  readonly numReplicas: number;
  readonly rank: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  /** Indices this rank gets per epoch. */
  readonly numSamples: number;
  readonly totalSize: number;
  epoch = 0;

  constructor(
    readonly dataset: Sized,
    opts: DistributedSamplerOptions = {},
  ) {
    for (const [k, v] of Object.entries(opts)) {
      const want = KEYS[k as keyof DistributedSamplerOptions];
      if (!want) throw new TypeError(`DistributedSampler() got an unexpected keyword argument '${k}'`);
      if (v !== undefined && typeof v !== want) throw new TypeError(`DistributedSampler(): argument '${k}' must be a ${want}, got ${typeof v}`);
    }
    const g = maybeGroup();
    if ((opts.numReplicas === undefined || opts.rank === undefined) && !g) {
      throw new DistError('DistributedSampler(): Default process group has not been initialized, please make sure to call initProcessGroup (or pass numReplicas and rank).');
    }
    this.numReplicas = opts.numReplicas ?? g!.size;
    this.rank = opts.rank ?? g!.rank;
    if (!Number.isInteger(this.numReplicas) || this.numReplicas < 1) throw new RangeError(`DistributedSampler(): numReplicas must be a positive integer, got ${this.numReplicas}`);
    if (!Number.isInteger(this.rank) || this.rank < 0 || this.rank >= this.numReplicas) {
      throw new RangeError(`Invalid rank ${this.rank}, rank should be in the interval [0, ${this.numReplicas - 1}]`);
    }
    this.shuffle = opts.shuffle ?? true;
    this.seed = opts.seed ?? 0;
    this.dropLast = opts.dropLast ?? false;
    const n = sizeOf(dataset);
    this.numSamples =
      this.dropLast && n % this.numReplicas !== 0 ? Math.ceil((n - this.numReplicas) / this.numReplicas) : Math.ceil(n / this.numReplicas);
    this.totalSize = this.numSamples * this.numReplicas;
  }

  /** A new shuffle for epoch `epoch` (the same on every rank). */
  setEpoch(epoch: number): void {
    if (!Number.isInteger(epoch)) throw new TypeError(`setEpoch(): epoch must be an integer, got ${epoch}`);
    this.epoch = epoch;
  }

  get length(): number {
    return this.numSamples;
  }

  /** This rank's indices for the current epoch. */
  indices(): number[] {
    const n = sizeOf(this.dataset);
    let idx = Array.from({ length: n }, (_, i) => i);
    if (this.shuffle) {
      const u = uniform(this.seed * 1000003 + this.epoch);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(u.next().value * (i + 1));
        [idx[i], idx[j]] = [idx[j]!, idx[i]!];
      }
    }
    if (!this.dropLast) {
      const pad = this.totalSize - idx.length;
      for (let i = 0; i < pad; i++) idx.push(idx[i % n]!);
    } else {
      idx = idx.slice(0, this.totalSize);
    }
    const mine: number[] = [];
    for (let i = this.rank; i < this.totalSize; i += this.numReplicas) mine.push(idx[i]!);
    return mine;
  }

  [Symbol.iterator](): Iterator<number> {
    return this.indices()[Symbol.iterator]();
  }
}
