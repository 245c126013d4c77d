/**
 * The counter-based generator every backend implements bit for bit: element i of a RAND node
 * with (seed, offset) is `uniform(seed, offset + i)`, so `rand` fuses into any kernel and gives
 * the same numbers on every backend. Two rounds of the PCG output hash (32-bit integer ops only,
 * which WGSL and CUDA have natively).
 */

/** One PCG-RXS-M-XS round on a 32-bit unsigned value. */
export function pcgHash(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> (((state >>> 28) + 4) >>> 0)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** 32 random bits for (seed, counter). The counter wraps at 2^32. */
export function randBits(seed: number, counter: number): number {
  return pcgHash((pcgHash(counter >>> 0) ^ (seed >>> 0)) >>> 0);
}

/** A float in [0, 1) with 24 random bits (exact in float32). */
export function randUniform(seed: number, counter: number): number {
  return (randBits(seed, counter) >>> 8) * 5.960464477539063e-8;
}
