/**
 * Indexing on webgpu, where reads are asynchronous: an out-of-range index raises PyTorch's error
 * at the next read (queued checks run in one launch with that read, no round trip per op), the
 * async forms of data-dependent ops, and the sync forms naming them.
 */
import { expect, it } from 'vitest';
import * as torch from '@fusor/tensor';
import { describeWebGPU } from './adapter.js';

const dev = { device: 'webgpu' };

describeWebGPU('indexing on webgpu', () => {
  it('an out-of-range gather raises at the next read, once; later reads work', async () => {
    const a = torch.arange(12, dev).reshape(3, 4).float();
    const bad = a.gather(1, torch.tensor([[5]], dev));
    const other = a.add(1);
    await expect(other.data()).rejects.toThrow('index 5 is out of bounds for dimension 1 with size 4');
    expect(Array.from((await other.data()) as Float32Array).slice(0, 3)).toEqual([1, 2, 3]);
    // the kernel itself clamped: reading the bad result gives 0, never memory outside the buffer
    expect(Array.from((await bad.data()) as Float32Array)).toEqual([0]);
  });

  it('negative indices wrap for x.index and raise for indexSelect', async () => {
    const a = torch.arange(6, dev).reshape(3, 2);
    expect(await a.index(torch.tensor([-1, 0], dev)).tolist()).toEqual([[4, 5], [0, 1]]);
    const bad = a.indexSelect(0, torch.tensor([-1], dev));
    await expect(bad.data()).rejects.toThrow('index out of range in self');
  });

  it('masks and nonzero: the async forms; the sync forms name them', async () => {
    const a = torch.arange(6, dev).reshape(2, 3);
    expect(await (await a.indexAsync(a.gt(3))).tolist()).toEqual([4, 5]);
    expect(await (await a.gt(3).nonzeroAsync()).tolist()).toEqual([[1, 1], [1, 2]]);
    expect(() => a.index(a.gt(3))).toThrow('await x.indexAsync(...)');
    expect(() => a.nonzero()).toThrow('await x.nonzeroAsync(...)');
  });

  it('embedding backward: a deterministic scatter-add on the device', async () => {
    const w = torch.randn(50, 8, { requiresGrad: true, device: 'webgpu' });
    const idx = torch.tensor([7, 3, 7, 7, 49], dev);
    w.indexSelect(0, idx).sum().backward();
    const g = (await w.grad!.tolist()) as number[][];
    expect(g[7]).toEqual(new Array(8).fill(3));
    expect(g[49]).toEqual(new Array(8).fill(1));
    expect(g[0]).toEqual(new Array(8).fill(0));
  });

  it('the sort routine (tiles in workgroup memory, long stages in global passes) gives the cpu routine\'s positions', async () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
    const values = (n: number) => Array.from({ length: n }, () => (next() % 13 === 0 ? Number.NaN : next() % 13 === 1 ? -0 : (next() % 41) - 20));
    const cases: [number[], string, (t: torch.Tensor) => torch.Tensor][] = [
      [[3, 3000], 'float32', (t) => t.argsort(1)],
      [[3, 3000], 'float32', (t) => t.argsort(1, true)],
      [[700, 5], 'float32', (t) => t.argsort(1, true)],
      [[2, 1500], 'int32', (t) => t.topk(7, 1).indices],
      [[1200, 2], 'float32', (t) => t.sort(0).indices],
    ];
    for (const [shape, dtype, f] of cases) {
      const data = values(shape[0]! * shape[1]!).map((v) => (dtype === 'int32' && Number.isNaN(v) ? 99 : v));
      const cpu = torch.tensor(data, { dtype: dtype as torch.DType }).reshape(shape);
      const gpu = cpu.to('webgpu');
      expect(torch.explain(f(gpu)).kernels.some((k) => k.routine === 'sort'), `${shape} ${dtype}`).toBe(true);
      expect(await f(gpu).tolist(), `${shape} ${dtype}`).toEqual(f(cpu).tolistSync());
    }
  });
});
