import { describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';

/**
 * Row kernels (a reduction broadcast back over the axes it reduced, computed once per row in the
 * kernel that reads it): values against the same arithmetic written out in JavaScript, for the
 * shapes the scheduler's rule must get right or refuse — several reduced axes, a non-last axis,
 * reductions nested in reductions, a reduction that is also an output, float64.
 */

/** A deterministic float32 (or float64) tensor of `shape` with values in about [-3, 3]. */
function data(shape: number[], dtype: torch.DType = torch.float32, seed = 1): torch.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  let s = seed;
  const flat = Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return (s / 2 ** 31) * 6 - 3;
  });
  return torch.tensor(flat, { dtype }).reshape(shape);
}

const values = (t: torch.Tensor): number[] => Array.from(t.dataSync() as ArrayLike<number>);
const kernels = (t: torch.Tensor): number => torch.explain(t).kernels.length;

/** x as nested index → value, for writing references over any axes. */
function at(t: torch.Tensor): (idx: number[]) => number {
  const v = values(t);
  const shape = t.shape;
  return (idx) => v[idx.reduce((o, i, d) => o * shape[d]! + i, 0)]!;
}

/** Every index of `shape`, in row-major order. */
function indices(shape: readonly number[]): number[][] {
  const out: number[][] = [[]];
  for (const d of shape) {
    const next: number[][] = [];
    for (const p of out) for (let i = 0; i < d; i++) next.push([...p, i]);
    out.splice(0, out.length, ...next);
  }
  return out;
}

/** f over the elements of `x`'s row through `idx` along `axes` (the other coordinates fixed). */
function row(shape: readonly number[], idx: readonly number[], axes: readonly number[]): number[][] {
  return indices(axes.map((a) => shape[a]!)).map((r) => idx.map((v, d) => (axes.includes(d) ? r[axes.indexOf(d)]! : v)));
}

function expectClose(got: number[], want: number[], tol = 2e-5): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i]!), `at ${i}: ${g} vs ${want[i]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want[i]!))));
}

describe('row kernels on cpu', () => {
  it('x − mean over two axes of a 3-d tensor: one kernel, one thread per remaining index', () => {
    const x = data([3, 5, 4]);
    const y = x.sub(x.mean([0, 2], true));
    expect(kernels(y)).toBe(1);
    const get = at(x);
    const want = indices(x.shape).map((idx) => {
      const r = row(x.shape, idx, [0, 2]).map(get);
      return get(idx) - r.reduce((a, b) => a + b) / r.length;
    });
    expectClose(values(y), want);
  });

  it('softmax over the middle axis of a 3-d tensor, and log-softmax over the first', () => {
    const x = data([3, 7, 4], torch.float32, 2);
    const get = at(x);
    const soft = (axis: number, log: boolean) =>
      indices(x.shape).map((idx) => {
        const r = row(x.shape, idx, [axis]).map(get);
        const m = Math.max(...r);
        const s = r.reduce((a, v) => a + Math.exp(v - m), 0);
        return log ? get(idx) - m - Math.log(s) : Math.exp(get(idx) - m) / s;
      });
    expect(kernels(x.softmax(1))).toBe(1);
    expectClose(values(x.softmax(1)), soft(1, false));
    expect(kernels(x.logSoftmax(0))).toBe(1);
    expectClose(values(x.logSoftmax(0)), soft(0, true));
  });

  it('layer-norm statistics: the variance reads the mean inside its own loop (nested, hoisted), one kernel', () => {
    const x = data([6, 10], torch.float32, 3);
    const mean = x.mean(1, true);
    const centered = x.sub(mean);
    const y = centered.div(centered.mul(centered).mean(1, true).add(1e-5).sqrt());
    expect(kernels(y)).toBe(1);
    const get = at(x);
    const want = indices(x.shape).map((idx) => {
      const r = row(x.shape, idx, [1]).map(get);
      const mu = r.reduce((a, b) => a + b) / r.length;
      const v = r.reduce((a, b) => a + (b - mu) ** 2, 0) / r.length;
      return (get(idx) - mu) / Math.sqrt(v + 1e-5);
    });
    expectClose(values(y), want, 5e-5);
  });

  it('logsumexp-shaped: a reduction whose source reads another reduction of the same row is one kernel', () => {
    const x = data([5, 9], torch.float32, 4);
    const m = x.amax(1, true);
    const y = x.sub(m).exp().sum(1, true).log().add(m);
    expect(kernels(y)).toBe(1);
    const get = at(x);
    const want = [0, 1, 2, 3, 4].map((i) => {
      const r = row(x.shape, [i, 0], [1]).map(get);
      const mx = Math.max(...r);
      return Math.log(r.reduce((a, v) => a + Math.exp(v - mx), 0)) + mx;
    });
    expectClose(values(y), want);
  });

  it('a row reduction that is also an output gets its own buffer, and both results are right', () => {
    const x = data([4, 6], torch.float32, 5);
    const s = x.sum(1, true);
    const y = x.div(s);
    const ex = torch.explain([y, s]);
    expect(ex.kernels.length).toBe(2);
    const get = at(x);
    const sums = [0, 1, 2, 3].map((i) => row(x.shape, [i, 0], [1]).map(get).reduce((a, b) => a + b));
    expectClose(values(s), sums);
    expectClose(
      values(y),
      indices(x.shape).map((idx) => get(idx) / sums[idx[0]!]!),
    );
  });

  it('float64 softmax keeps float64 throughout (the spilled exponentials are float64)', () => {
    const x = data([3, 12], torch.float64, 6);
    const y = x.softmax(1);
    expect(y.dtype).toBe('float64');
    expect(kernels(y)).toBe(1);
    const get = at(x);
    const want = indices(x.shape).map((idx) => {
      const r = row(x.shape, idx, [1]).map(get);
      const m = Math.max(...r);
      return Math.exp(get(idx) - m) / r.reduce((a, v) => a + Math.exp(v - m), 0);
    });
    expectClose(values(y), want, 1e-12);
  });

  it('a row long enough to vectorize, with a length that leaves a scalar tail', () => {
    const x = data([5, 1027], torch.float32, 7);
    const get = at(x);
    const want = indices(x.shape).map((idx) => {
      const r = row(x.shape, idx, [1]).map(get);
      const m = Math.max(...r);
      return Math.exp(get(idx) - m) / r.reduce((a, v) => a + Math.exp(v - m), 0);
    });
    expectClose(values(x.softmax(1)), want);
    // the same values with one thread and with the JavaScript renderer
    for (const opts of [{ threads: 1 }, { renderer: 'js' as const }]) {
      const before = torch.cpuConfig();
      torch.configureCpu(opts);
      try {
        expectClose(values(data([5, 1027], torch.float32, 7).softmax(1)), want);
      } finally {
        torch.configureCpu({ renderer: before.renderer, threads: before.threads });
      }
    }
  });

  it('a transposed result leaves the row path: the reductions get buffers and the values still agree', () => {
    const x = data([4, 5], torch.float32, 8);
    const y = x.sub(x.amax(1, true)).t();
    expect(kernels(y)).toBe(2);
    const get = at(x);
    const want = indices([5, 4]).map(([j, i]) => get([i!, j!]) - Math.max(...row(x.shape, [i!, 0], [1]).map(get)));
    expectClose(values(y.contiguous()), want);
  });
});
