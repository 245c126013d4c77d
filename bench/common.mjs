// Shared by every JavaScript runner of `pnpm bench`: timing and the case sizes.

export const MATMUL_SIZES = [256, 512, 1024, 2048];
export const CHAIN_SIZE = 16 * 1024 * 1024;
export const MLP = { batch: 256, input: 784, hidden: 512, classes: 10, lr: 0.01 };
export const TINY = { size: 16, ops: 1000 };

/**
 * Median time of `fn` in ms after `warmup` runs: at most `reps` runs, stopping early once
 * `budgetMs` is spent (at least 3 runs). The first call's time (compiles included) is `firstMs`.
 */
export async function measure(fn, { reps = 10, warmup = 2, budgetMs = 2000 } = {}) {
  let first;
  for (let i = 0; i < warmup; i++) {
    const t = performance.now();
    await fn();
    if (i === 0) first = performance.now() - t;
  }
  const times = [];
  const start = performance.now();
  while (times.length < reps && (times.length < 3 || performance.now() - start < budgetMs)) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { median_ms: times[times.length >> 1], min_ms: times[0], first_ms: first, reps: times.length };
}

/** Matmul sizes in ascending order, skipping a size once the last one predicts more than `limitMs` a run. */
export async function matmulSweep(run, limitMs = 3000) {
  const out = {};
  let last;
  for (const n of MATMUL_SIZES) {
    if (last && last.median_ms * (n / last.n) ** 3 > limitMs) {
      out[n] = { skipped: `predicted ${Math.round(last.median_ms * (n / last.n) ** 3)} ms per run from size ${last.n}` };
      continue;
    }
    const r = await run(n);
    out[n] = r;
    last = { ...r, n };
  }
  return out;
}

/** Prints the runner's result for run.mjs (the last line of stdout). */
export function emit(result) {
  process.stdout.write(`\n${JSON.stringify(result)}\n`);
}
