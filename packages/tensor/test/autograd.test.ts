import { describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';

const f64 = (data: number[] | number[][], requiresGrad = true) => torch.tensor(data, { dtype: torch.float64, requiresGrad });
const list = (t: torch.Tensor | null) => t!.tolistSync();

describe('autograd semantics', () => {
  it('second order: the gradient of the squared gradient of x³ is 36x³', () => {
    const x = f64([1, 2, -3]);
    const [g] = torch.autograd.grad(x.pow(3).sum(), [x], { createGraph: true });
    expect(list(g!)).toEqual([3, 12, 27]);
    const [gg] = torch.autograd.grad(g!.pow(2).sum(), [x]);
    expect(list(gg!)).toEqual([36, 288, -972]);
  });

  it('backward(gradient) for non-scalars, and PyTorch’s errors without one', () => {
    const x = f64([1, 2]);
    const y = x.mul(3);
    expect(() => y.backward()).toThrow('grad can be implicitly created only for scalar outputs');
    y.backward(torch.tensor([1, 10], { dtype: torch.float64 }));
    expect(list(x.grad)).toEqual([3, 30]);
    expect(() => y.backward(torch.ones(3, { dtype: torch.float64 }))).toThrow(
      'Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([2]).',
    );
  });

  it('a second backward through saved values needs retainGraph; without saved values it is allowed', () => {
    const x = f64([1, 2]);
    const saved = x.mul(x).sum();
    saved.backward(undefined, { retainGraph: true });
    saved.backward();
    expect(() => saved.backward()).toThrow('Trying to backward through the graph a second time');
    const plain = x.sum();
    plain.backward();
    expect(() => plain.backward()).not.toThrow();
  });

  it('noGrad (also async), enableGrad, isLeaf, detach and requiresGrad flags', async () => {
    const x = f64([1, 2]);
    const y = torch.noGrad(() => x.mul(2));
    expect(y.requiresGrad).toBe(false);
    expect(y.isLeaf).toBe(true);
    const z = await torch.noGrad(async () => {
      await Promise.resolve();
      return x.mul(2);
    });
    expect(z.requiresGrad).toBe(false);
    expect(torch.isGradEnabled()).toBe(true);
    const w = torch.noGrad(() => torch.enableGrad(() => x.mul(2)));
    expect(w.requiresGrad).toBe(true);
    expect(w.isLeaf).toBe(false);
    expect(x.mul(2).detach().requiresGrad).toBe(false);
  });

  it('x.detach().requiresGrad_() is a leaf of its own: its views take gradients into it, none reach x', () => {
    const w = torch.tensor([[1, 2, 3], [4, 5, 6]], { dtype: torch.float32 }).requiresGrad_();
    const d = w.detach().requiresGrad_();
    expect([d.isLeaf, d.requiresGrad, d.t().requiresGrad, d.reshape(6).requiresGrad, d.narrow(1, 0, 2).requiresGrad]).toEqual([true, true, true, true, true]);
    d.t()
      .mul(torch.tensor([[1, 2], [3, 4], [5, 6]], { dtype: torch.float32 }))
      .sum()
      .backward();
    // PyTorch 1.13: d.grad = [[1, 3, 5], [2, 4, 6]], w.grad = None
    expect(d.grad!.tolistSync()).toEqual([
      [1, 3, 5],
      [2, 4, 6],
    ]);
    expect(w.grad).toBeNull();
    // still one storage with w
    torch.noGrad(() => d.mul_(2));
    expect(w.detach().tolistSync()).toEqual([
      [2, 4, 6],
      [8, 10, 12],
    ]);
  });

  it('retainGrad keeps a non-leaf gradient; hooks transform gradients flowing through a tensor', () => {
    const x = f64([1, 2, 3]);
    const h = x.mul(2);
    h.retainGrad();
    h.registerHook((g) => g.mul(10));
    h.pow(2).sum().backward();
    expect(list(h.grad)).toEqual([40, 80, 120]);
    expect(list(x.grad)).toEqual([80, 160, 240]);
    const leaf = f64([1, 1]);
    leaf.registerHook((g) => g.add(1));
    leaf.sum().backward();
    expect(list(leaf.grad)).toEqual([2, 2]);
  });

  it('grad_fn names and nextFunctions walk the graph', () => {
    const x = f64([1, 2]);
    const y = x.mul(2).add(1).sum();
    expect(y.gradFn!.name).toBe('SumBackward0');
    const [[add]] = y.gradFn!.nextFunctions as [[torch.GradFn, number]];
    expect(add.name).toBe('AddBackward0');
    const [[mul]] = add.nextFunctions as [[torch.GradFn, number]];
    expect(mul.name).toBe('MulBackward0');
    const [[acc]] = mul.nextFunctions as [[{ name: string; variable: torch.Tensor }, number]];
    expect(acc.name).toBe('AccumulateGrad');
    expect(acc.variable).toBe(x);
    expect(x.mm === undefined).toBe(false);
    const names = [
      [torch.ones(2, 2, { requiresGrad: true }).mm(torch.ones(2, 2)), 'MmBackward0'],
      [torch.ones(2, 2, { requiresGrad: true }).softmax(1), 'SoftmaxBackward0'],
      [torch.ones(2, 2, { requiresGrad: true }).sum(1), 'SumBackward1'],
      [torch.ones(2, 2, { requiresGrad: true }).mean(), 'MeanBackward0'],
      [torch.ones(2, 2, { requiresGrad: true }).pow(2), 'PowBackward0'],
      [torch.ones(2, 2, { requiresGrad: true }).t(), 'TBackward0'],
    ] as const;
    for (const [t, name] of names) expect(t.gradFn!.name).toBe(name);
  });

  it('in-place ops: an error on a leaf that requires grad, allowed under noGrad, and on modified saved values', () => {
    const x = f64([1, 2]);
    expect(() => x.add_(1)).toThrow('a leaf Variable that requires grad is being used in an in-place operation.');
    expect(list(x)).toEqual([1, 2]);
    torch.noGrad(() => x.add_(1));
    expect(list(x)).toEqual([2, 3]);
    const y = x.mul(2);
    const z = y.mul(y);
    y.add_(1);
    expect(() => z.sum().backward()).toThrow(/modified by an inplace operation: \[torch.DoubleTensor \[2\]\], which is output 0 of AddBackward0, is at version 1; expected version 0/);
    // in-place on a non-leaf records its own grad_fn and keeps history
    const a = f64([1, 2]);
    const b = a.mul(3);
    b.mul_(2);
    expect(b.gradFn!.name).toBe('MulBackward0');
    b.sum().backward();
    expect(list(a.grad)).toEqual([6, 6]);
  });

  it('edge conventions: relu and abs at 0, sqrt at 0, amax ties split evenly, max(dim) picks one, where masks NaN', () => {
    const x = f64([-1, 0, 2]);
    x.relu().sum().backward();
    expect(list(x.grad)).toEqual([0, 0, 1]);
    const y = f64([-1, 0, 2]);
    y.abs().sum().backward();
    expect(list(y.grad)).toEqual([-1, 0, 1]);
    const s = f64([0, 4]);
    s.sqrt().sum().backward();
    expect(list(s.grad)).toEqual([Infinity, 0.25]);
    const t = f64([3, 1, 3]);
    t.amax().backward();
    expect(list(t.grad)).toEqual([0.5, 0, 0.5]);
    const m = f64([[3, 1, 3]]);
    m.max(1).values.sum().backward();
    expect(list(m.grad)).toEqual([[1, 0, 0]]);
    const w = f64([0, 1]);
    torch.where(w.gt(0), w.log(), torch.zeros(2, { dtype: torch.float64 })).sum().backward();
    // as in PyTorch: where passes 0 to the masked branch, and log's slope at 0 turns 0 into NaN
    expect(list(w.grad)).toEqual([NaN, 1]);
  });
});

describe('gradcheck passes in float64 for every differentiable op', () => {
  torch.manualSeed(3);
  const r = (...s: number[]) => torch.rand(s, { dtype: torch.float64 }).add(0.5).requiresGrad_();
  const cases: [string, () => torch.Tensor[], (...t: torch.Tensor[]) => torch.Tensor][] = [
    ['add/sub/mul/div with broadcasting', () => [r(2, 3), r(3)], (a, b) => a.add(b).sub(b.mul(2)).mul(a).div(b)],
    ['pow scalar and tensor', () => [r(2, 3), r(2, 3)], (a, b) => a.pow(3).add(a.pow(b)).add(a.pow(0.5))],
    ['exp log log2 exp2 sqrt rsqrt reciprocal', () => [r(4)], (a) => a.exp().add(a.log()).add(a.log2()).add(a.exp2()).add(a.sqrt()).add(a.rsqrt()).add(a.reciprocal())],
    ['sin cos tanh sigmoid', () => [r(5)], (a) => a.sin().mul(a.cos()).add(a.tanh()).add(a.sigmoid())],
    ['abs neg relu clamp away from kinks', () => [r(4)], (a) => a.sub(1).abs().add(a.neg()).add(a.sub(0.2).relu()).add(a.clamp(0.2, 2))],
    ['maximum minimum where', () => [r(4), r(4)], (a, b) => a.maximum(b.add(0.01)).add(a.minimum(b.sub(0.01))).add(torch.where(a.gt(1), a, b))],
    ['remainder fmod', () => [r(3)], (a) => a.mul(3).remainder(0.7).add(a.mul(3).fmod(0.7))],
    ['sum mean prod', () => [r(2, 3)], (a) => a.sum(0).add(a.mean(0)).add(a.prod(0))],
    ['max min amax amin (distinct values)', () => [torch.tensor([[1, 5, 3], [7, 2, 9]], { dtype: torch.float64, requiresGrad: true })], (a) => a.max(1).values.add(a.min(1).values).add(a.amax(1)).add(a.amin(1))],
    ['var std logsumexp', () => [r(3, 4)], (a) => a.var(1).add(a.std(1)).add(a.logsumexp(1))],
    ['softmax logSoftmax', () => [r(3, 4)], (a) => a.softmax(1).add(a.logSoftmax(0))],
    ['matmul mm bmm mv dot', () => [r(2, 3, 4), r(2, 4, 2)], (a, b) => a.matmul(b).sum(0).add(a.index(0).mm(b.index(0))).add(a.bmm(b).sum(0)).sum(1).add(a.index(0, 0).dot(b.index(0, ':', 0)))],
    ['reshape permute transpose t flatten squeeze unsqueeze expand repeat flip', () => [r(2, 3)], (a) => a.reshape(3, 2).t().transpose(0, 1).permute(1, 0).flatten().unsqueeze(0).expand(2, 6).repeat(1, 2).flip(1).squeeze()],
    ['cat stack split chunk narrow select index', () => [r(4, 3), r(2, 3)], (a, b) => torch.cat([a, b], 0).add(torch.stack([a.index('1:', ':'), a.index('::2', ':').repeat(2, 1).narrow(0, 0, 3)], 0).sum(0).repeat(2, 1).narrow(0, 0, 6)).split(3, 0)[1]!.add(a.chunk(2, 0)[0]!.select(0, 1))],
    ['indexSelect gather', () => [r(3, 4)], (a) => a.indexSelect(1, torch.tensor([3, 0, 3])).add(a.gather(1, torch.tensor([[0, 1, 1], [2, 2, 3], [1, 0, 0]])))],
  ];
  for (const [name, make, fn] of cases) {
    it(name, () => {
      expect(torch.autograd.gradcheck(fn, make())).toBe(true);
    });
  }

  it('reports a wrong gradient', () => {
    const x = torch.tensor([1, 2], { dtype: torch.float64, requiresGrad: true });
    // a hook that doubles the gradient makes the analytical Jacobian wrong
    const broken = (a: torch.Tensor) => {
      const y = a.mul(3);
      if (y.requiresGrad) y.registerHook((g) => g.mul(2));
      return y;
    };
    expect(torch.autograd.gradcheck(broken, [x], { raiseException: false })).toBe(false);
    expect(() => torch.autograd.gradcheck(broken, [x])).toThrow(/Jacobian mismatch/);
  });
});
