/**
 * Arguments are never misread, and the gradient cases PyTorch users rely on: values from
 * scripts/gen_semantics_fixtures.py (PyTorch 1.13), errors in PyTorch's wording.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';

const golden = JSON.parse(readFileSync(new URL('./fixtures/arguments.json', import.meta.url), 'utf8')).cases as Record<string, unknown>;
const x = (): torch.Tensor =>
  torch.tensor(
    [
      [1, -2, 3],
      [4, 5, -6],
    ],
    { dtype: torch.float32 },
  );
const f32 = (v: unknown, opts: { requiresGrad?: boolean } = {}): torch.Tensor => torch.tensor(v as number[], { dtype: torch.float32, ...opts });
const list = (t: torch.Tensor): unknown => t.tolistSync();
const close = (got: unknown, want: unknown): void => {
  const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [Number(v)]);
  const [g, w] = [flat(got), flat(want)];
  expect(g.length).toBe(w.length);
  g.forEach((v, i) => (Number.isNaN(w[i]!) ? expect(v).toBeNaN() : Number.isFinite(w[i]!) ? expect(v).toBeCloseTo(w[i]!, 5) : expect(v).toBe(w[i])));
};

describe('options objects name positional parameters, and are never read as a value', () => {
  it('sum / mean: keepdim given by name, dims as a list, an empty list reduces everything', () => {
    expect(list(x().sum(1, { keepdim: false }))).toEqual(golden['sum_keepdim_false']);
    expect(list(x().sum({ dim: 1, keepdim: true }))).toEqual(golden['sum_keepdim_true']);
    expect(x().sum([]).itemSync()).toBe(golden['sum_empty_dims']);
    close(list(x().mean([0, 1], { keepdim: true })), golden['mean_dim_list']);
    expect(list(torch.sum(x(), 1, { keepdim: true }))).toEqual(golden['sum_keepdim_true']);
  });

  it('max / min with a dim: keepdim by name', () => {
    const [v, i] = x().max(1, { keepdim: false });
    expect([list(v), list(i)]).toEqual(golden['max_dim']);
    const m = x().min({ dim: 0, keepdim: true });
    expect([list(m.values), list(m.indices)]).toEqual(golden['min_dim_keep']);
  });

  it('var / std: correction by name; softmax: dtype by name', () => {
    close(list(x().std(1, { correction: 0 })), golden['std_correction']);
    const s = x().softmax(1, { dtype: torch.float64 });
    expect(s.dtype).toBe('float64');
    close(list(s), golden['softmax_dtype']);
  });

  it('wrong types raise PyTorch’s error naming the argument', () => {
    expect(() => x().sum(1, 'yes' as unknown as boolean)).toThrow("sum(): argument 'keepdim' (position 2) must be bool, not str");
    expect(() => x().sum(1.5)).toThrow("sum(): argument 'dim' (position 1) must be tuple of ints, not float");
    expect(() => x().max(1, { keepdims: true } as never)).toThrow("max() got an unexpected keyword argument 'keepdims'");
    expect(() => x().sum(1, true, { keepdim: false })).toThrow("sum() got multiple values for argument 'keepdim'");
    expect(() => x().clamp('0' as unknown as number)).toThrow("clamp(): argument 'min' (position 1) must be Tensor or Number, not str");
    expect(() => x().backward({ retainGraf: true } as never)).toThrow("backward() got an unexpected keyword argument 'retainGraf'");
  });
});

describe('clamp with tensor bounds', () => {
  it('broadcasts the bounds, in values and gradients', () => {
    const lo = f32([0, -1, 2.5]);
    const hi = f32([[2], [4.5]]);
    expect(list(x().clamp(lo, hi))).toEqual(golden['clamp_tensor']);
    expect(list(x().clamp({ min: lo }))).toEqual(golden['clamp_min_tensor']);
    expect(list(x().clamp(null, hi))).toEqual(golden['clamp_max_tensor']);
    const [xg, lg, hg] = [x().requiresGrad_(), lo.clone().requiresGrad_(), hi.clone().requiresGrad_()];
    xg.clamp(lg, hg).mul(torch.arange(6).float().reshape(2, 3)).sum().backward();
    expect([list(xg.grad!), list(lg.grad!), list(hg.grad!)]).toEqual(golden['clamp_tensor_grads']);
  });
});

describe('gradients where fusor used to differ from PyTorch', () => {
  it('pow: the exponent’s gradient is NaN at a negative base', () => {
    const want = golden['pow_grads'] as { base: string[]; exponent: string[] };
    const b = f32([-2, 0, 3, -1.5, 0], { requiresGrad: true });
    const e = f32([2, 3, 0.5, 3, -1], { requiresGrad: true });
    b.pow(e).sum().backward();
    const num = (v: string): number => (v === 'inf' ? Infinity : v === '-inf' ? -Infinity : Number(v));
    close(list(b.grad!), want.base.map(num));
    close(list(e.grad!), want.exponent.map(num));
  });

  it('detach() and noGrad cut the graph, in first and second order', () => {
    let a = f32([1, 2, 3], { requiresGrad: true });
    a.detach().mul(a).sum().backward();
    expect(list(a.grad!)).toEqual(golden['detach_grad']);
    a = f32([1, 2, 3], { requiresGrad: true });
    const n = torch.noGrad(() => a.mul(2));
    expect(n.requiresGrad).toBe(false);
    n.mul(a).sum().backward();
    expect(list(a.grad!)).toEqual(golden['nograd_grad']);
    a = f32([1, 2, 3], { requiresGrad: true });
    const [g] = torch.autograd.grad(a.detach().mul(a.pow(3)).sum(), [a], { createGraph: true });
    const [gg] = torch.autograd.grad(g!.sum(), [a]);
    expect([list(g!), list(gg!)]).toEqual(golden['detach_second_order']);
  });
});

describe('storage', () => {
  it('views report PyTorch’s strides, offsets and contiguity, and share storage', () => {
    const a = torch.arange(24).float().reshape(2, 3, 4).clone();
    expect(a.stride()).toEqual([12, 4, 1]);
    const t = a.transpose(0, 2);
    expect([t.stride(), t.isContiguous(), t.sharesStorage(a), t.base === a]).toEqual([[1, 4, 12], false, true, true]);
    const s = a.index(1, ':', '1::2');
    expect([s.shape, s.stride(), s.storageOffset()]).toEqual([[3, 2], [4, 2], 13]);
    expect(() => a.t === undefined || a.transpose(1, 2).view(24)).toThrow(
      "view size is not compatible with input tensor's size and stride (at least one dimension spans across two contiguous subspaces). Use .reshape(...) instead.",
    );
    const r = a.transpose(1, 2).reshape(24);
    expect(r.sharesStorage(a)).toBe(false);
  });

  it('in-place ops bump the shared version counter', () => {
    const a = torch.zeros(3);
    const v = a.narrow(0, 1, 2);
    expect([a.version, v.version]).toEqual([0, 0]);
    v.add_(1);
    a.mul_(2);
    expect([a.version, v.version]).toEqual([2, 2]);
    expect(list(a)).toEqual([0, 2, 2]);
  });
});

describe('argument sweep: every options object of the public API refuses what it does not know', () => {
  const t = (): torch.Tensor => x();
  const calls: [string, (o: Record<string, unknown>) => unknown][] = [
    ['sum', (o) => t().sum(1, o)],
    ['mean', (o) => t().mean(1, o)],
    ['prod', (o) => t().prod(1, o)],
    ['max', (o) => t().max(1, o)],
    ['min', (o) => t().min(1, o)],
    ['amax', (o) => t().amax(1, o)],
    ['amin', (o) => t().amin(1, o)],
    ['argmax', (o) => t().argmax(1, o)],
    ['argmin', (o) => t().argmin(1, o)],
    ['var', (o) => t().var(1, o)],
    ['std', (o) => t().std(1, o)],
    ['logsumexp', (o) => t().logsumexp(1, o)],
    ['all', (o) => t().all(1, o)],
    ['any', (o) => t().any(1, o)],
    ['softmax', (o) => t().softmax(1, o)],
    ['log_softmax', (o) => t().logSoftmax(1, o)],
    ['clamp', (o) => t().clamp(o)],
    ['add', (o) => t().add(1, o)],
    ['sub', (o) => t().sub(1, o)],
    ['div', (o) => t().div(1, o)],
    ['zeros', (o) => torch.zeros(2, o)],
    ['ones', (o) => torch.ones([2], o)],
    ['tensor', (o) => torch.tensor([1, 2], o)],
    ['full', (o) => torch.full([2], 1, o)],
    ['backward', (o) => t().requiresGrad_().sum().backward(o)],
  ];
  for (const [name, call] of calls) {
    it(`${name}: an unknown key raises`, () => {
      expect(() => call({ notAnOption: 1 })).toThrow(`${name}() got an unexpected keyword argument 'notAnOption'`);
    });
  }
  const typed: [string, string, (v: unknown) => unknown, string][] = [
    ['sum', 'keepdim', (v) => t().sum(1, { keepdim: v as boolean }), 'bool'],
    ['max', 'keepdim', (v) => t().max(1, { keepdim: v as boolean }), 'bool'],
    ['mean', 'dim', (v) => t().mean({ dim: v as number }), 'tuple of ints'],
    ['argmax', 'dim', (v) => t().argmax({ dim: v as number }), 'int'],
    ['softmax', 'dim', (v) => t().softmax({ dim: v as number }), 'int'],
    ['var', 'unbiased', (v) => t().var(1, { unbiased: v as boolean }), 'bool'],
    ['clamp', 'min', (v) => t().clamp({ min: v as number }), 'Tensor or Number'],
  ];
  for (const [fn, arg, call, kind] of typed) {
    it(`${fn}: '${arg}' of the wrong type raises`, () => {
      expect(() => call('1')).toThrow(`${fn}(): argument '${arg}' must be ${kind}, not str`);
      expect(() => call([[1]])).toThrow(`${fn}(): argument '${arg}'`);
    });
  }
});
