import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';

// The seed walkthrough (PyTorch's autograd tutorial), printed exactly as torch 1.13 prints it.
describe('the seed walkthrough', () => {
  it('prints an int64 zeros tensor without a dtype suffix', () => {
    const z = torch.zeros(4, 3, { dtype: torch.long });
    expect(z.dtype).toBe('int64');
    expect(z.toString()).toBe('tensor([[0, 0, 0],\n        [0, 0, 0],\n        [0, 0, 0],\n        [0, 0, 0]])');
  });

  it('runs forward, backward, accumulation and zeroing with PyTorch printouts', () => {
    const x = torch.ones(2, 2, { requiresGrad: true });
    expect(x.toString()).toBe('tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)');
    expect(x.isLeaf).toBe(true);

    const y = x.pow(2);
    expect(y.toString()).toBe('tensor([[1., 1.],\n        [1., 1.]], grad_fn=<PowBackward0>)');
    expect(y.gradFn?.name).toBe('PowBackward0');

    const z = y.mul(y).mul(3);
    expect(z.toString()).toBe('tensor([[3., 3.],\n        [3., 3.]], grad_fn=<MulBackward0>)');

    const out = z.mean();
    expect(out.toString()).toBe('tensor(3., grad_fn=<MeanBackward0>)');

    out.backward();
    // d(mean(3 x^4))/dx = 12 x^3 / 4 = 3 at x = 1
    expect(x.grad!.toString()).toBe('tensor([[3., 3.],\n        [3., 3.]])');
    expect(x.grad!.requiresGrad).toBe(false);

    x.sum().backward();
    expect(x.grad!.toString()).toBe('tensor([[4., 4.],\n        [4., 4.]])');

    x.grad!.data.zero_();
    expect(x.grad!.toString()).toBe('tensor([[0., 0.],\n        [0., 0.]])');

    x.sum().backward();
    expect(x.grad!.toString()).toBe('tensor([[1., 1.],\n        [1., 1.]])');
    // x itself was never touched
    expect(x.toString()).toBe('tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)');
  });

  it('reports sizes as arrays: size(), size(dim), shape', () => {
    const x = torch.ones(2, 3, 4);
    expect(x.size()).toEqual([2, 3, 4]);
    expect(x.shape).toEqual([2, 3, 4]);
    expect(x.size(1)).toBe(3);
    expect(x.size(-1)).toBe(4);
    expect(x.dim()).toBe(3);
    expect(x.numel()).toBe(24);
    // the returned arrays are copies: mutating them does not reshape the tensor
    x.shape.push(9);
    x.size()[0] = 7;
    expect(x.shape).toEqual([2, 3, 4]);
    expect(torch.zeros([4, 3]).shape).toEqual([4, 3]);
    expect(torch.tensor(5).shape).toEqual([]);
  });

  it('console.log shows what toString returns (util.inspect)', () => {
    const x = torch.ones(2, 2, { requiresGrad: true });
    expect(inspect(x)).toBe(x.toString());
    expect(inspect(x.mul(2))).toBe('tensor([[2., 2.],\n        [2., 2.]], grad_fn=<MulBackward0>)');
    expect(inspect(torch.tensor([1, 2, 3]))).toBe('tensor([1, 2, 3])');
  });

  it('rand gives the same numbers for the same manualSeed, and new ones after', () => {
    torch.manualSeed(0);
    const a = torch.rand(4, 3);
    const b = torch.rand(4, 3);
    torch.manualSeed(0);
    const c = torch.rand(4, 3);
    expect(a.shape).toEqual([4, 3]);
    expect(a.dtype).toBe('float32');
    const av = Array.from(a.dataSync() as Float32Array);
    expect(Array.from(c.dataSync() as Float32Array)).toEqual(av);
    expect(a.toString()).toBe(c.toString());
    expect(Array.from(b.dataSync() as Float32Array)).not.toEqual(av);
    expect(av.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(new Set(av).size).toBe(12);
    torch.manualSeed(1);
    expect(Array.from(torch.rand(4, 3).dataSync() as Float32Array)).not.toEqual(av);
  });

  it('reads data in every form: dataSync, data(), tolist, item', async () => {
    const x = torch.tensor([[1.5, 2], [3, 4]]);
    const sync = x.dataSync();
    expect(sync).toBeInstanceOf(Float32Array);
    expect(Array.from(sync as Float32Array)).toEqual([1.5, 2, 3, 4]);
    const async = await x.data();
    expect(async).toBeInstanceOf(Float32Array);
    expect(Array.from(async as Float32Array)).toEqual([1.5, 2, 3, 4]);
    expect(x.tolistSync()).toEqual([[1.5, 2], [3, 4]]);
    expect(await x.tolist()).toEqual([[1.5, 2], [3, 4]]);
    const s = x.sum();
    expect(s.itemSync()).toBe(10.5);
    expect(await s.item()).toBe(10.5);

    const l = torch.tensor([[1, 2], [3, 4]]);
    expect(l.dtype).toBe('int64');
    expect(l.dataSync()).toEqual(new BigInt64Array([1n, 2n, 3n, 4n]));
    expect(l.tolistSync()).toEqual([[1, 2], [3, 4]]);
    expect(l.sum().itemSync()).toBe(10);

    const b = torch.tensor([true, false]);
    expect(b.tolistSync()).toEqual([true, false]);
    expect(b.sum().itemSync()).toBe(1);
    expect(torch.tensor(true).itemSync()).toBe(true);
    expect(torch.tensor(2.5).tolistSync()).toBe(2.5);
  });

  it('`.data` is an alias outside autograd that also reads when called', async () => {
    const x = torch.ones(2, { requiresGrad: true });
    const d = x.data;
    expect(d.requiresGrad).toBe(false);
    expect(d.toString()).toBe('tensor([1., 1.])');
    expect(Array.from((await x.data()) as Float32Array)).toEqual([1, 1]);
    // in-place through the alias shows through the original
    d.mul_(5);
    expect(x.toString()).toBe('tensor([5., 5.], requires_grad=True)');
  });
});
