/**
 * References for deep define-by-run chains (each backend's deep-graph tests): the recurrence
 * written out in float64 in plain JS, with its constants rounded to float32 as a float32 tensor
 * rounds a Python float it is multiplied by.
 */

/** The deepest a chain in these tests goes: `x ← a·x + b·sin x`, a = 0.999, b = 0.001. */
export const SINE_CHAIN = { a: 0.999, b: 0.001 } as const;

/**
 * The sine chain from each of `init` after `steps` steps, and the gradient of Σ x² with respect
 * to the start (the chain rule along the recurrence).
 */
export function sineChainReference(init: ArrayLike<number>, steps: number): { values: number[]; grads: number[] } {
  const a = Math.fround(SINE_CHAIN.a);
  const b = Math.fround(SINE_CHAIN.b);
  const values: number[] = [];
  const grads: number[] = [];
  for (let j = 0; j < init.length; j++) {
    let v = init[j]!;
    let d = 1;
    for (let i = 0; i < steps; i++) {
      d *= a + b * Math.cos(v);
      v = v * a + Math.sin(v) * b;
    }
    values.push(v);
    grads.push(2 * v * d);
  }
  return { values, grads };
}

/**
 * How far `got` is from `want` beyond a relative tolerance: the largest |got − want| − rtol·|want|
 * (an absolute tolerance atol passes when this is ≤ atol). Infinity when the lengths differ.
 */
export function excessOver(got: ArrayLike<number | bigint>, want: ArrayLike<number>, rtol: number): number {
  if (got.length !== want.length) return Number.POSITIVE_INFINITY;
  let worst = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(Number(got[i]!) - want[i]!) - rtol * Math.abs(want[i]!));
  return worst;
}
