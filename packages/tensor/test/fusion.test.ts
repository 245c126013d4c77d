import { describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';

/** A realized float32 tensor of `shape` holding (i - n/3) * k for i = 0, 1, 2, … */
function data(shape: number[], k = 1): torch.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const flat = Float32Array.from({ length: n }, (_, i) => (i - n / 3) * k);
  const nest = (dim: number, offset: number): unknown =>
    dim === shape.length ? flat[offset] : [...Array(shape[dim]).keys()].map((i) => nest(dim + 1, offset * shape[dim]! + i));
  const t = torch.tensor(nest(0, 0) as number[], { dtype: torch.float32 });
  expect(t.shape).toEqual(shape);
  return t;
}

/** Relative closeness for float32 results computed in another order. */
const close = (got: number, want: number): void => expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want)));

const kernels = (t: torch.Tensor | torch.Tensor[]) => torch.explain(t).kernels;
const values = (t: torch.Tensor): number[] => Array.from(t.dataSync() as Float32Array);

describe('fusion: exact kernel counts through explain()', () => {
  it('an elementwise chain and its reduction are one kernel', () => {
    const x = data([4, 3]);
    const y = x.mul(2).add(1).relu().sum();
    const ks = kernels(y);
    expect(ks).toHaveLength(1);
    expect(ks[0]!.reductions).toBe(1);
    expect(ks[0]!.reason).toBe('output');
    expect(ks[0]!.inputs).toEqual(['float32[4, 3]']);
    expect(ks[0]!.output).toBe('float32[]');
    expect(ks[0]!.ops).toEqual(expect.arrayContaining(['MUL', 'ADD', 'WHERE', 'REDUCE']));
    // explain does not run anything; the value is right when read
    const expected = values(x).reduce((a, v) => a + Math.max(2 * v + 1, 0), 0);
    close(y.itemSync() as number, expected);
  });

  it('the smoke program from the README is one kernel', () => {
    const e = torch.explain(torch.arange(6).float().mul(2).add(1).relu().sum());
    expect(e.kernels).toHaveLength(1);
    expect(e.toString().split('\n')[0]).toBe('1 kernel');
  });

  it('an elementwise chain over a transposed view is one kernel', () => {
    const x = data([4, 3]);
    const y = x.t().mul(2).add(1).exp();
    const ks = kernels(y);
    expect(ks).toHaveLength(1);
    expect(ks[0]!.ops).toContain('PERMUTE');
    expect(ks[0]!.reductions).toBe(0);
    expect(y.shape).toEqual([3, 4]);
    const xv = values(x);
    const want = [0, 1, 2].flatMap((j) => [0, 1, 2, 3].map((i) => Math.exp(2 * xv[i * 3 + j]! + 1)));
    values(y).forEach((v, i) => close(v, want[i]!));
  });

  it('an elementwise chain over a broadcast view is one kernel', () => {
    const x = data([4, 3]);
    const b = data([3], 0.5);
    const y = x.mul(b).add(b.expand(4, 3)).sub(1);
    const ks = kernels(y);
    expect(ks).toHaveLength(1);
    expect([...ks[0]!.inputs].sort()).toEqual(['float32[3]', 'float32[4, 3]']);
    expect(ks[0]!.ops).toContain('EXPAND');
    const xv = values(x);
    const bv = values(b);
    expect(values(y)).toEqual(xv.map((v, i) => Math.fround(Math.fround(Math.fround(v * bv[i % 3]!) + bv[i % 3]!) - 1)));
  });

  it('softmax over a dim is one row kernel on cpu: the row max, the sum of exps, then the outputs', () => {
    const x = data([4, 5]);
    for (const dim of [0, 1, -1]) {
      const ks = kernels(x.softmax(dim));
      expect(ks).toHaveLength(1);
      expect(ks[0]!.reductions).toBe(2);
      expect(ks[0]!.reason).toBe('output');
      expect(ks[0]!.output).toBe('float32[4, 5]');
      // one thread per row: the max loop, the sum loop (keeping each exp in the output), the store loop
      expect(ks[0]!.ir!.match(/ {2}for r\d+ < \d+:/g)).toHaveLength(3);
      expect(ks[0]!.ir!.match(/EXP2/g)).toHaveLength(1);
    }
    const rows = x.softmax(1).sum(1);
    values(rows).forEach((v) => expect(v).toBeCloseTo(1, 6));
    const xv = values(x);
    const want = [0, 1, 2, 3].flatMap((i) => {
      const row = xv.slice(5 * i, 5 * i + 5);
      const m = Math.max(...row);
      const e = row.map((v) => Math.exp(v - m));
      const s = e.reduce((a, b) => a + b);
      return e.map((v) => v / s);
    });
    values(x.softmax(1)).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 6));
  });

  it('explain().toString() says why each kernel is its own', () => {
    // a transposed result leaves the row path: the reduction is computed first, into its own buffer
    const text = torch.explain(data([2, 3]).sub(data([2, 3]).amax(1, true)).t(), { ir: false }).toString();
    expect(text.split('\n')[0]).toBe('2 kernels');
    expect(text.match(/why a kernel of its own: reduction result broadcast back/g)).toHaveLength(1);
    expect(text).toContain('why a kernel of its own: output');
  });

  it('matmul is one kernel, and a relu epilogue fuses into it', () => {
    const a = data([4, 3]);
    const b = data([3, 5], 0.25);
    const mm = kernels(a.matmul(b));
    expect(mm).toHaveLength(1);
    expect(mm[0]!.reductions).toBe(1);
    expect(mm[0]!.output).toBe('float32[4, 5]');
    const fused = kernels(a.matmul(b).relu());
    expect(fused).toHaveLength(1);
    expect(fused[0]!.reductions).toBe(1);
    expect(fused[0]!.ops).toContain('WHERE');
    const av = values(a);
    const bv = values(b);
    const want = [...Array(20).keys()].map((g) => {
      const [i, j] = [Math.floor(g / 5), g % 5];
      return Math.max([0, 1, 2].reduce((s, k) => s + av[i * 3 + k]! * bv[k * 5 + j]!, 0), 0);
    });
    values(a.matmul(b).relu()).forEach((v, i) => close(v, want[i]!));
  });

  it('sum over a dim, with or without keepdim, is one kernel; so is its epilogue', () => {
    const x = data([4, 3]);
    expect(kernels(x.sum(1))).toHaveLength(1);
    expect(kernels(x.sum(1, true))).toHaveLength(1);
    // the epilogue reads the sum several times at the same index: still one kernel
    expect(kernels(x.sum(1).relu())).toHaveLength(1);
    expect(kernels(x.sum(1, true).relu())).toHaveLength(1);
    expect(kernels(x.sum(1, true).mul(2).add(x.sum(1, true).mul(3)))).toHaveLength(1);
    expect(x.sum(1).shape).toEqual([4]);
    expect(x.sum(1, true).shape).toEqual([4, 1]);
  });

  it('a reduction used by two outputs is computed once, into its own buffer', () => {
    for (const keepdim of [false, true]) {
      const x = data([4, 3], keepdim ? 2 : 3);
      const s = x.sum(1, keepdim);
      const a = s.mul(2);
      const b = s.add(1);
      const ks = kernels([a, b]);
      expect(ks).toHaveLength(3);
      expect(ks.reduce((n, k) => n + k.reductions, 0)).toBe(1);
      expect(ks[0]!.reductions).toBe(1);
      expect(ks[0]!.reason).toBe('reduction result read by 2 kernels: computed once into a buffer');
      expect(ks.slice(1).map((k) => k.inputs)).toEqual([['float32[4, 1]'], ['float32[4, 1]']]);
      const sums = [0, 1, 2, 3].map((i) => values(x).slice(i * 3, i * 3 + 3).reduce((p, v) => p + v, 0));
      expect(values(a)).toEqual(sums.map((v) => Math.fround(v * 2)));
      expect(values(b)).toEqual(sums.map((v) => Math.fround(v + 1)));
    }
  });

  it('a reduction read at two indices in one kernel is computed once', () => {
    const x = data([4, 3]);
    const s = x.sum(1);
    const ks = kernels(s.add(s.flip(0)));
    expect(ks).toHaveLength(2);
    expect(ks.reduce((n, k) => n + k.reductions, 0)).toBe(1);
    expect(ks[0]!.reason).toBe('reduction result read at 2 different indices: computed once into a buffer');
    const sv = values(s);
    expect(values(s.add(s.flip(0)))).toEqual(sv.map((v, i) => Math.fround(v + sv[3 - i]!)));
  });

  it('a tensor that is also an output is read, not recomputed', () => {
    const x = data([4, 3]);
    const s = x.sum(1);
    const ks = kernels([s, s.mul(2)]);
    expect(ks).toHaveLength(2);
    expect(ks.map((k) => k.reductions)).toEqual([1, 0]);
    expect(ks[1]!.inputs).toEqual(['float32[4]']);
  });

  it('fused and unfused results agree bit for bit in float32', () => {
    // float32 constants and reduction results are float32 values inside fused kernels too
    const x = torch.tensor([0.1, 0.2]);
    expect(x.sum().eq(0.3).itemSync()).toBe(true); // as torch: tensor(0.1+0.2, float32) == 0.3
    const s = x.sum();
    s.itemSync();
    expect(s.eq(0.3).itemSync()).toBe(true);
    const y = torch.tensor([[0.1, 0.2], [0.3, 0.4]]);
    expect(y.sum(1, true).eq(torch.tensor([[0.3], [0.7]])).tolistSync()).toEqual([[true], [false]]);
    expect(torch.tensor([1, 2]).float().mul(0.1).tolistSync()).toEqual([Math.fround(0.1), Math.fround(Math.fround(0.1) * 2)]);
  });
});

describe('integer results wrap inside fused kernels as they do in torch', () => {
  it('a narrowing cast of an arange wraps before it is compared', () => {
    expect(torch.arange(300).to(torch.int8).lt(0).sum().itemSync()).toBe(128);
    expect(torch.arange(250, 260).to(torch.uint8).lt(5).tolistSync()).toEqual([false, false, false, false, false, false, true, true, true, true]);
    expect(torch.arange(2147483640, 2147483650).to(torch.int32).lt(0).sum().itemSync()).toBe(2);
  });

  it('int32 and int8 arithmetic overflow wraps', () => {
    expect(torch.arange(10, { dtype: torch.int32 }).add(2147483640).lt(0).sum().itemSync()).toBe(2);
    expect(torch.arange(10, { dtype: torch.int8 }).mul(20).lt(0).tolistSync()).toEqual([
      false, false, false, false, false, false, false, true, true, true,
    ]);
  });
});

describe('compile cache', () => {
  const f = (x: torch.Tensor): torch.Tensor => x.mul(2).add(1).relu().sum(0);

  it('the same graph with new data compiles nothing new; a new shape compiles one kernel', () => {
    f(torch.tensor([[1, 2], [3, 4.5]])).dataSync();
    const s0 = torch.compilerStats();
    for (let i = 0; i < 3; i++) {
      const out = f(torch.tensor([[5 + i, 6], [7, 8.5]]));
      expect(out.tolistSync()).toEqual([Math.max(2 * (5 + i) + 1, 0) + 15, 13 + 18]);
    }
    const s1 = torch.compilerStats();
    expect(s1.compiled).toBe(s0.compiled);
    expect(s1.cacheHits).toBe(s0.cacheHits + 3);
    expect(s1.launched).toBe(s0.launched + 3);
    f(torch.tensor([[1, 2, 3], [4, 5, 6.5]])).dataSync();
    const s2 = torch.compilerStats();
    expect(s2.compiled).toBe(s1.compiled + 1);
    expect(s2.launched).toBe(s1.launched + 1);
  });

  it('new random numbers reuse the kernel: seeds and offsets are launch arguments', () => {
    torch.manualSeed(3);
    const a = torch.rand(5).mul(2);
    a.dataSync();
    const s0 = torch.compilerStats();
    const b = torch.rand(5).mul(2);
    torch.manualSeed(4);
    const c = torch.rand(5).mul(2);
    expect(b.tolistSync()).not.toEqual(a.tolistSync());
    expect(c.tolistSync()).not.toEqual(b.tolistSync());
    const s1 = torch.compilerStats();
    expect(s1.compiled).toBe(s0.compiled);
    expect(s1.launched).toBe(s0.launched + 2);
  });

  it('a realized tensor is not recomputed when read again', () => {
    const y = f(torch.tensor([[1, 2], [3, 4.5]]));
    y.dataSync();
    const s0 = torch.compilerStats();
    y.dataSync();
    y.toString();
    expect(torch.compilerStats().launched).toBe(s0.launched);
  });
});
