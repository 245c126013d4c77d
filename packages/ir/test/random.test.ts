import { describe, expect, it } from 'vitest';
import { pcgHash, randBits, randUniform } from '../src/index.js';

const M32 = (1n << 32n) - 1n;

/** PCG-RXS-M-XS written directly from the C reference with 64-bit BigInt math, masked to 32 bits. */
function pcgHashRef(v: number): number {
  const state = (BigInt(v >>> 0) * 747796405n + 2891336453n) & M32;
  const word = (((state >> ((state >> 28n) + 4n)) ^ state) * 277803737n) & M32;
  return Number((word >> 22n) ^ word);
}

describe('counter-based random numbers', () => {
  it('pcgHash matches the 32-bit C reference', () => {
    const inputs = [0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff, 123456789, 2891336453];
    for (let k = 0; k < 2000; k++) inputs.push((k * 2654435761) >>> 0);
    for (const v of inputs) expect(pcgHash(v)).toBe(pcgHashRef(v));
  });

  it('randBits hashes the counter, mixes the seed, and wraps the counter at 2^32', () => {
    expect(randBits(7, 5)).toBe(pcgHashRef((pcgHashRef(5) ^ 7) >>> 0));
    expect(randBits(7, 2 ** 32 + 5)).toBe(randBits(7, 5));
    expect(randBits(-1, 3)).toBe(randBits(0xffffffff, 3));
    expect(randBits(1, 0)).not.toBe(randBits(2, 0));
  });

  it('randUniform has 24 random bits in [0, 1), exact in float32', () => {
    for (let i = 0; i < 1000; i++) {
      const u = randUniform(99, i);
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      expect(Number.isInteger(u * 2 ** 24)).toBe(true);
      expect(Math.fround(u)).toBe(u);
      expect(u * 2 ** 24).toBe(randBits(99, i) >>> 8);
    }
  });
});
