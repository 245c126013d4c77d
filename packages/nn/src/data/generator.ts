/**
 * torch.Generator for data loading: the same mt19937 engine and the same randperm walk as
 * PyTorch's cpu generator, so a seeded shuffle or split picks the same indices as PyTorch's.
 */
import { randint } from '@fusor/tensor';

const N = 624;
const M = 397;

export class Generator {
  private readonly mt = new Uint32Array(N);
  private index = N + 1;
  private seed = 67280421310721;

  constructor() {
    this.manualSeed(67280421310721);
  }

  /** Seeds the engine (PyTorch keeps the low 32 bits for mt19937); returns this, as PyTorch. */
  manualSeed(seed: number | bigint): this {
    if (typeof seed !== 'bigint' && !Number.isInteger(seed)) throw new TypeError(`manual_seed expected an integer, got ${String(seed)}`);
    this.seed = Number(seed);
    const mt = this.mt;
    mt[0] = Number(BigInt.asUintN(32, BigInt(seed)));
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      // 1812433253 * prev + i in 32-bit arithmetic
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.index = N;
    return this;
  }

  initialSeed(): number {
    return this.seed;
  }

  /** The next 32-bit output of the engine. */
  random(): number {
    const mt = this.mt;
    if (this.index >= N) {
      for (let i = 0; i < N; i++) {
        const y = (mt[i]! & 0x80000000) | (mt[(i + 1) % N]! & 0x7fffffff);
        mt[i] = mt[(i + M) % N]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.index = 0;
    }
    let y = mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A random permutation of 0…n-1, as `torch.randperm(n, generator=g)` on cpu. */
  randperm(n: number): number[] {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be non-negative, got ${n}`);
    const r = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < n - 1; i++) {
      const z = this.random() % (n - i);
      const t = r[i]!;
      r[i] = r[z + i]!;
      r[z + i] = t;
    }
    return r;
  }
}

/** A generator seeded from fusor's global random state (so `torch.manualSeed` makes shuffles reproducible). */
export function freshGenerator(): Generator {
  return new Generator().manualSeed(Number(randint(0, 2 ** 31 - 1, [1]).itemSync()));
}
