/**
 * Indexed loads and stores, scans and sorting on cpu: how they fuse (kernel counts), that the
 * work is linear (a lookup is a load, not a compare-and-sum over the table), PyTorch's semantics
 * beyond the golden cases, and that the JS and wasm renderers agree. Values against PyTorch are
 * in the conformance suite (fixtures/indexing.json).
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';

const kernels = (t: torch.Tensor | torch.Tensor[]) => torch.explain(t).kernels;
const list = (t: torch.Tensor): unknown => t.tolistSync();
const f32 = { dtype: torch.float32 };

afterEach(() => torch.configureCpu({ renderer: 'wasm' }));

describe('indexed loads (GATHER)', () => {
  it('an embedding lookup is one kernel of loads fused into its consumer, with no reduction over the table', () => {
    const table = torch.randn(1000, 16);
    const idx = torch.tensor([3, 999, 3, 0]);
    table.dataSync();
    const out = table.indexSelect(0, idx).mul(2).add(1);
    const ks = kernels(out);
    expect(ks).toHaveLength(1);
    expect(ks[0]!.reductions).toBe(0);
    expect(ks[0]!.ops).toEqual(expect.arrayContaining(['GATHER', 'MUL', 'ADD']));
    expect(ks[0]!.output).toBe('float32[4, 16]');
    const t = table.dataSync() as Float32Array;
    const o = out.dataSync() as Float32Array;
    expect(o[16 + 5]).toBe(Math.fround(Math.fround(t[999 * 16 + 5]! * 2) + 1));
  });

  it('the gradient of a lookup is a scatter-add, summing repeated rows in index order', () => {
    const w = torch.randn(6, 3, { requiresGrad: true });
    const idx = torch.tensor([5, 1, 5, 5]);
    const g = torch.tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]], f32);
    w.indexSelect(0, idx).mul(g).sum().backward();
    expect(list(w.grad!)).toEqual([[0, 0, 0], [4, 5, 6], [0, 0, 0], [0, 0, 0], [0, 0, 0], [18, 21, 24]]);
  });

  it('a gather reads a computed tensor from its own buffer, then fuses', () => {
    const x = torch.randn(5, 4);
    const ks = kernels(x.exp().gather(1, torch.tensor([[0], [3], [1], [2], [0]])).neg());
    expect(ks).toHaveLength(2);
    expect(ks[0]!.reason).toBe('read at data-dependent indices by a gather');
  });

  it('under jit the bounds check is part of the step: a replay with a bad index raises', () => {
    const w = torch.randn(10, 4);
    const step = torch.jit((idx: torch.Tensor) => w.indexSelect(0, idx).sum());
    expect(typeof step(torch.tensor([1, 2])).itemSync()).toBe('number');
    expect(typeof step(torch.tensor([9, 0])).itemSync()).toBe('number');
    expect(step.traces).toBe(1);
    expect(() => step(torch.tensor([10, 0]))).toThrow('index out of range in self');
  });

  it('out-of-range indices raise at the call on cpu, with PyTorch messages', () => {
    const a = torch.zeros(3, 4);
    expect(() => a.gather(1, torch.tensor([[4]]))).toThrow('index 4 is out of bounds for dimension 1 with size 4');
    expect(() => a.index(torch.tensor([0, -4]))).toThrow(torch.IndexError);
    expect(() => a.index(torch.tensor([0, -4]))).toThrow('index -4 is out of bounds for dimension 0 with size 3');
    expect(() => a.indexSelect(1, torch.tensor([-1]))).toThrow('index out of range in self');
  });
});

describe('advanced indexing as PyTorch', () => {
  const a = torch.arange(12).reshape(3, 4);
  it('pairs index tensors element-wise and broadcasts them', () => {
    expect(list(a.index(torch.tensor([0, 2]), torch.tensor([1, 3])))).toEqual([1, 11]);
    expect(list(a.index(torch.tensor([[0], [2]]), torch.tensor([1, 3])))).toEqual([[1, 3], [9, 11]]);
  });
  it('a 2-D index tensor keeps its shape; separated index tensors put their dims first', () => {
    expect(a.index(':', torch.tensor([[0, 1], [2, 3]])).shape).toEqual([3, 2, 2]);
    const b = torch.zeros(3, 4, 5);
    expect(b.index(torch.tensor([0, 1]), ':', torch.tensor([0, 1])).shape).toEqual([2, 4]);
    expect(b.index(':', torch.tensor([0, 1]), torch.tensor([0, 1])).shape).toEqual([3, 2]);
    expect(b.index(0, ':', torch.tensor([0, 1])).shape).toEqual([4, 2]);
  });
  it('negative indices wrap for x.index but not for gather', () => {
    expect(list(a.index(torch.tensor([-1]), -1))).toEqual([11]);
    expect(() => a.gather(0, torch.tensor([[-1, 0, 0, 0]]))).toThrow('index -1 is out of bounds for dimension 0 with size 3');
  });
  it('boolean masks select in row-major order; the async form works too', async () => {
    expect(list(a.index(a.remainder(5).eq(0)))).toEqual([0, 5, 10]);
    expect(list(await a.indexAsync(':', torch.tensor([true, false, false, true])))).toEqual([[0, 3], [4, 7], [8, 11]]);
    expect(list(a.gt(9).nonzero())).toEqual([[2, 2], [2, 3]]);
  });
});

describe('stores', () => {
  it('x.set writes through any index with broadcasting, in place', () => {
    const x = torch.zeros(3, 4, f32);
    const same = x.set([':', torch.tensor([1, 3])], torch.tensor([7, 8], f32));
    expect(same).toBe(x);
    expect(list(x)).toEqual([[0, 7, 0, 8], [0, 7, 0, 8], [0, 7, 0, 8]]);
    x.set([x.gt(7)], -1);
    expect(list(x)).toEqual([[0, 7, 0, -1], [0, 7, 0, -1], [0, 7, 0, -1]]);
    // PyTorch expands the value to x[0] (its message); with index tensors index_put_ says 'shape mismatch'
    expect(() => x.set([0], torch.ones(3))).toThrow('The expanded size of the tensor (4) must match the existing size (3) at non-singleton dimension 0.  Target sizes: [4].  Tensor sizes: [3]');
    expect(() => x.set([torch.tensor([0])], torch.ones(2))).toThrow('shape mismatch: value tensor of shape [2] cannot be broadcast to indexing result of shape [1, 4]');
  });
  it('indexPut_ with accumulate sums repeated positions; gradients reach x and the values', () => {
    const x = torch.zeros(4, { requiresGrad: true });
    const v = torch.tensor([1, 2, 3], { dtype: torch.float32, requiresGrad: true });
    const y = x.mul(1).indexPut([torch.tensor([2, 0, 2])], v, true);
    expect(list(y)).toEqual([2, 0, 4, 0]);
    y.mul(torch.tensor([1, 10, 100, 1000], f32)).sum().backward();
    expect(list(x.grad!)).toEqual([1, 10, 100, 1000]);
    expect(list(v.grad!)).toEqual([100, 1, 100]);
  });
  it('scatter with reduce and grad raises as PyTorch', () => {
    const x = torch.ones(3, { requiresGrad: true });
    expect(() => x.scatter(0, torch.tensor([1]), x.mul(2), { reduce: 'multiply' })).toThrow('derivative for aten::scatter is not implemented');
    expect(() => torch.zeros(3).scatter(0, torch.tensor([1]), 1, { reduce: 'max' } as unknown as torch.ScatterOptions)).toThrow('reduce argument must be either add or multiply.');
  });
});

describe('scans and sorting', () => {
  it('cumsum and cummax agree on the JS and wasm renderers (a scan walks its fiber in order)', () => {
    const x = torch.randn(3, 37);
    const run = () => [x.cumsum(1).dataSync(), x.cummax(1).indices.dataSync(), x.sort(1).indices.dataSync()].map((d) => Array.from(d as ArrayLike<number | bigint>, Number));
    const wasm = run();
    torch.configureCpu({ renderer: 'js' });
    const js = run();
    expect(js).toEqual(wasm);
  });
  it('a scan is one kernel per fiber walk; sort and topk are one call of the cpu sort routine', () => {
    const x = torch.randn(4, 1000);
    const ks = kernels(x.cumsum(1));
    expect(ks).toHaveLength(1);
    expect(ks[0]!.ops).toEqual(expect.arrayContaining(['SCAN']));
    // the draw, the routine (on the rows, moved last and made contiguous), the values read at the positions
    const sk = kernels(torch.randn(8, 3).sort(0).values);
    expect(sk.map((k) => k.routine ?? k.kind)).toEqual(['kernel', 'kernel', 'sort', 'kernel']);
    expect(sk[2]!).toMatchObject({ name: 'sort_3x8', inputs: ['float32[3, 8]'], output: 'int32[3, 8]', launch: 'radix sort of 3 rows of 8' });
    const tk = kernels(torch.randn(1000).topk(5).indices);
    expect(tk.map((k) => k.routine ?? k.kind)).toEqual(['kernel', 'sort', 'kernel']);
    expect(tk[1]!).toMatchObject({ name: 'sort_1x1000_top5', output: 'int32[5]', launch: 'radix select of 5 in 1 rows of 1000' });
  });
  it('values and indices read one after the other sort once', () => {
    const x = torch.randn(100).mul(2);
    const before = torch.compilerStats().routines;
    const [v, i] = x.sort(0, true);
    v.dataSync();
    i.dataSync();
    expect(torch.compilerStats().routines - before).toBe(1);
    const vs = Array.from(v.dataSync() as Float32Array);
    expect(vs).toEqual([...vs].sort((a, b) => b - a));
  });
  it('a jit replay and a replayed plan call the sort routine on the new data', () => {
    const step = torch.jit((x: torch.Tensor) => {
      const [v, i] = x.mul(2).topk(3);
      return [v, i] as [torch.Tensor, torch.Tensor];
    });
    for (const data of [
      [5, 1, 4, 2, 3, 0],
      [0, 9, 8, 1, 7, 2],
    ]) {
      const [v, i] = step(torch.tensor(data, f32));
      expect(list(v)).toEqual([...data].sort((a, b) => b - a).slice(0, 3).map((q) => 2 * q));
      expect(list(i)).toEqual([...data].map((q, p) => [q, p]).sort((a, b) => b[0]! - a[0]!).slice(0, 3).map((q) => q[1]));
    }
    expect(step.traces).toBe(1);
    // the same structure realized again: the stored plan's steps, the routine among them
    const sorted = (data: number[]) => list(torch.tensor(data, f32).neg().argsort(0, true));
    sorted([3, 1, 2]);
    const before = torch.compilerStats();
    expect(sorted([1, 3, 2])).toEqual([0, 2, 1]);
    expect(torch.compilerStats().replayed - before.replayed).toBe(1);
    expect(torch.compilerStats().routines - before.routines).toBe(1);
  });
  it('topk and kthvalue validate k', () => {
    expect(() => torch.zeros(3).topk(4)).toThrow('selected index k out of range');
    expect(() => torch.zeros(3).kthvalue(0)).toThrow('kthvalue(): selected number k out of range for dimension 0');
    expect(() => torch.zeros(3).sort(0, { stabel: true } as unknown as torch.SortOptions)).toThrow("sort() got an unexpected keyword argument 'stabel'");
  });
});
