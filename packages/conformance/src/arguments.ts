/**
 * Arguments are never misread, and the gradient cases PyTorch users rely on, on any device:
 * values from scripts/gen_arguments.py (PyTorch 1.13, programs/arguments.json), errors in
 * PyTorch's wording. Every read is asynchronous, so the same cases run where reads are not
 * synchronous (webgpu); most checks are the frontend's and cost no kernel.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getBackend } from '@fusor/runtime';
import * as torch from '@fusor/tensor';
import type { Tensor } from '@fusor/tensor';

const golden = JSON.parse(readFileSync(new URL('../programs/arguments.json', import.meta.url), 'utf8')).cases as Record<string, unknown>;

/** One case: `run` throws (vitest's expect) at the first difference from PyTorch on `device`. */
export interface ArgumentCase {
  readonly group: string;
  readonly name: string;
  readonly run: (device: string) => Promise<void>;
}

const list = (t: Tensor): Promise<unknown> => t.tolist();
const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [Number(v)]);
function close(got: unknown, want: unknown): void {
  const [g, w] = [flat(got), flat(want)];
  expect(g.length).toBe(w.length);
  g.forEach((v, i) => (Number.isNaN(w[i]!) ? expect(v).toBeNaN() : Number.isFinite(w[i]!) ? expect(v).toBeCloseTo(w[i]!, 5) : expect(v).toBe(w[i])));
}

/** The cases on one device: tensors made there, results read back asynchronously. */
function casesOn(device: string) {
  const x = (): Tensor =>
    torch.tensor(
      [
        [1, -2, 3],
        [4, 5, -6],
      ],
      { dtype: torch.float32, device },
    );
  const f32 = (v: unknown, opts: { requiresGrad?: boolean } = {}): Tensor => torch.tensor(v as number[], { dtype: torch.float32, device, ...opts });
  return { x, f32 };
}

const CASES: ArgumentCase[] = [];
const add = (group: string, name: string, run: (device: string) => Promise<void>): void => void CASES.push({ group, name, run });

const OPTIONS = 'options objects name positional parameters, and are never read as a value';
add(OPTIONS, 'sum / mean: keepdim given by name, dims as a list, an empty list reduces everything', async (device) => {
  const { x } = casesOn(device);
  expect(await list(x().sum(1, { keepdim: false }))).toEqual(golden['sum_keepdim_false']);
  expect(await list(x().sum({ dim: 1, keepdim: true }))).toEqual(golden['sum_keepdim_true']);
  expect(await x().sum([]).item()).toBe(golden['sum_empty_dims']);
  close(await list(x().mean([0, 1], { keepdim: true })), golden['mean_dim_list']);
  expect(await list(torch.sum(x(), 1, { keepdim: true }))).toEqual(golden['sum_keepdim_true']);
});
add(OPTIONS, 'max / min with a dim: keepdim by name', async (device) => {
  const { x } = casesOn(device);
  const [v, i] = x().max(1, { keepdim: false });
  expect([await list(v), await list(i)]).toEqual(golden['max_dim']);
  const m = x().min({ dim: 0, keepdim: true });
  expect([await list(m.values), await list(m.indices)]).toEqual(golden['min_dim_keep']);
});
add(OPTIONS, 'var / std: correction by name; softmax: dtype by name', async (device) => {
  const { x } = casesOn(device);
  close(await list(x().std(1, { correction: 0 })), golden['std_correction']);
  // float64 where the backend holds it (WGSL has no f64): the dtype argument is read either way
  const dtype = getBackend(device).capabilities.dtypes.includes('float64') ? torch.float64 : torch.float32;
  const s = x().softmax(1, { dtype });
  expect(s.dtype).toBe(dtype);
  close(await list(s), golden['softmax_dtype']);
});
add(OPTIONS, 'wrong types raise PyTorch’s error naming the argument', async (device) => {
  const { x } = casesOn(device);
  expect(() => x().sum(1, 'yes' as unknown as boolean)).toThrow("sum(): argument 'keepdim' (position 2) must be bool, not str");
  expect(() => x().sum(1.5)).toThrow("sum(): argument 'dim' (position 1) must be tuple of ints, not float");
  expect(() => x().max(1, { keepdims: true } as never)).toThrow("max() got an unexpected keyword argument 'keepdims'");
  expect(() => x().sum(1, true, { keepdim: false })).toThrow("sum() got multiple values for argument 'keepdim'");
  expect(() => x().clamp('0' as unknown as number)).toThrow("clamp(): argument 'min' (position 1) must be Tensor or Number, not str");
  expect(() => x().backward({ retainGraf: true } as never)).toThrow("backward() got an unexpected keyword argument 'retainGraf'");
});

add('clamp with tensor bounds', 'broadcasts the bounds, in values and gradients', async (device) => {
  const { x, f32 } = casesOn(device);
  const lo = f32([0, -1, 2.5]);
  const hi = f32([[2], [4.5]]);
  expect(await list(x().clamp(lo, hi))).toEqual(golden['clamp_tensor']);
  expect(await list(x().clamp({ min: lo }))).toEqual(golden['clamp_min_tensor']);
  expect(await list(x().clamp(null, hi))).toEqual(golden['clamp_max_tensor']);
  const [xg, lg, hg] = [x().requiresGrad_(), lo.clone().requiresGrad_(), hi.clone().requiresGrad_()];
  xg.clamp(lg, hg)
    .mul(torch.arange(6, { device }).float().reshape(2, 3))
    .sum()
    .backward();
  expect([await list(xg.grad!), await list(lg.grad!), await list(hg.grad!)]).toEqual(golden['clamp_tensor_grads']);
});

const GRADS = 'gradients where fusor used to differ from PyTorch';
add(GRADS, 'pow: the exponent’s gradient is NaN at a negative base', async (device) => {
  const { f32 } = casesOn(device);
  const want = golden['pow_grads'] as { base: string[]; exponent: string[] };
  const b = f32([-2, 0, 3, -1.5, 0], { requiresGrad: true });
  const e = f32([2, 3, 0.5, 3, -1], { requiresGrad: true });
  b.pow(e).sum().backward();
  const num = (v: string): number => (v === 'inf' ? Infinity : v === '-inf' ? -Infinity : Number(v));
  close(await list(b.grad!), want.base.map(num));
  close(await list(e.grad!), want.exponent.map(num));
});
add(GRADS, 'detach() and noGrad cut the graph, in first and second order', async (device) => {
  const { f32 } = casesOn(device);
  let a = f32([1, 2, 3], { requiresGrad: true });
  a.detach().mul(a).sum().backward();
  expect(await list(a.grad!)).toEqual(golden['detach_grad']);
  a = f32([1, 2, 3], { requiresGrad: true });
  const n = torch.noGrad(() => a.mul(2));
  expect(n.requiresGrad).toBe(false);
  n.mul(a).sum().backward();
  expect(await list(a.grad!)).toEqual(golden['nograd_grad']);
  a = f32([1, 2, 3], { requiresGrad: true });
  const [g] = torch.autograd.grad(a.detach().mul(a.pow(3)).sum(), [a], { createGraph: true });
  const [gg] = torch.autograd.grad(g!.sum(), [a]);
  expect([await list(g!), await list(gg!)]).toEqual(golden['detach_second_order']);
});

add('storage', 'views report PyTorch’s strides, offsets and contiguity, and share storage', async (device) => {
  const a = torch.arange(24, { device }).float().reshape(2, 3, 4).clone();
  expect(a.stride()).toEqual([12, 4, 1]);
  const t = a.transpose(0, 2);
  expect([t.stride(), t.isContiguous(), t.sharesStorage(a), t.base === a]).toEqual([[1, 4, 12], false, true, true]);
  const s = a.index(1, ':', '1::2');
  expect([s.shape, s.stride(), s.storageOffset()]).toEqual([[3, 2], [4, 2], 13]);
  expect(() => a.transpose(1, 2).view(24)).toThrow(
    "view size is not compatible with input tensor's size and stride (at least one dimension spans across two contiguous subspaces). Use .reshape(...) instead.",
  );
  const r = a.transpose(1, 2).reshape(24);
  expect(r.sharesStorage(a)).toBe(false);
});
add('storage', 'diagonal and unfold are views with PyTorch’s layouts; writes through them reach the base', async (device) => {
  const base = torch.arange(24, { device }).float().reshape(2, 3, 4).clone();
  const views = [base.diagonal(), base.diagonal(1, 1, 2), base.diagonal(-1, 2, 0), base.diagonal(5), base.unfold(2, 2, 1), base.unfold(1, 2, 2)];
  expect(views.map((v) => [v.shape, v.stride(), v.storageOffset()])).toEqual(golden['view_layouts']);
  expect(views.every((v) => v.sharesStorage(base))).toBe(true);
  const w = torch.arange(12, { device }).float().reshape(3, 4).clone();
  w.diagonal(1).mul_(10);
  w.unfold(0, 1, 2).add_(100);
  expect(await list(w)).toEqual(golden['view_writes']);
  expect(() => base.diagonal(0, 1, -2)).toThrow(golden['diagonal_same_dims'] as string);
});
add('storage', 'in-place ops bump the shared version counter', async (device) => {
  const a = torch.zeros(3, { device });
  const v = a.narrow(0, 1, 2);
  expect([a.version, v.version]).toEqual([0, 0]);
  v.add_(1);
  a.mul_(2);
  expect([a.version, v.version]).toEqual([2, 2]);
  expect(await list(a)).toEqual([0, 2, 2]);
});

const SWEEP = 'argument sweep: every options object of the public API refuses what it does not know';
const unknownKey: [string, (t: () => Tensor, device: string, o: Record<string, unknown>) => unknown][] = [
  ['sum', (t, _, o) => t().sum(1, o)],
  ['mean', (t, _, o) => t().mean(1, o)],
  ['prod', (t, _, o) => t().prod(1, o)],
  ['max', (t, _, o) => t().max(1, o)],
  ['min', (t, _, o) => t().min(1, o)],
  ['amax', (t, _, o) => t().amax(1, o)],
  ['amin', (t, _, o) => t().amin(1, o)],
  ['argmax', (t, _, o) => t().argmax(1, o)],
  ['argmin', (t, _, o) => t().argmin(1, o)],
  ['var', (t, _, o) => t().var(1, o)],
  ['std', (t, _, o) => t().std(1, o)],
  ['logsumexp', (t, _, o) => t().logsumexp(1, o)],
  ['all', (t, _, o) => t().all(1, o)],
  ['any', (t, _, o) => t().any(1, o)],
  ['softmax', (t, _, o) => t().softmax(1, o)],
  ['log_softmax', (t, _, o) => t().logSoftmax(1, o)],
  ['clamp', (t, _, o) => t().clamp(o)],
  ['add', (t, _, o) => t().add(1, o)],
  ['sub', (t, _, o) => t().sub(1, o)],
  ['div', (t, _, o) => t().div(1, o)],
  ['zeros', (_, device, o) => torch.zeros(2, { device, ...o })],
  ['ones', (_, device, o) => torch.ones([2], { device, ...o })],
  ['tensor', (_, device, o) => torch.tensor([1, 2], { device, ...o })],
  ['full', (_, device, o) => torch.full([2], 1, { device, ...o })],
  ['backward', (t, _, o) => t().requiresGrad_().sum().backward(o)],
];
for (const [name, call] of unknownKey) {
  add(SWEEP, `${name}: an unknown key raises`, async (device) => {
    const { x } = casesOn(device);
    expect(() => call(x, device, { notAnOption: 1 })).toThrow(`${name}() got an unexpected keyword argument 'notAnOption'`);
  });
}
const typed: [string, string, (t: Tensor, v: unknown) => unknown, string][] = [
  ['sum', 'keepdim', (t, v) => t.sum(1, { keepdim: v as boolean }), 'bool'],
  ['max', 'keepdim', (t, v) => t.max(1, { keepdim: v as boolean }), 'bool'],
  ['mean', 'dim', (t, v) => t.mean({ dim: v as number }), 'tuple of ints'],
  ['argmax', 'dim', (t, v) => t.argmax({ dim: v as number }), 'int'],
  ['softmax', 'dim', (t, v) => t.softmax({ dim: v as number }), 'int'],
  ['var', 'unbiased', (t, v) => t.var(1, { unbiased: v as boolean }), 'bool'],
  ['clamp', 'min', (t, v) => t.clamp({ min: v as number }), 'Tensor or Number'],
];
for (const [fn, arg, call, kind] of typed) {
  add(SWEEP, `${fn}: '${arg}' of the wrong type raises`, async (device) => {
    const { x } = casesOn(device);
    expect(() => call(x(), '1')).toThrow(`${fn}(): argument '${arg}' must be ${kind}, not str`);
    expect(() => call(x(), [[1]])).toThrow(`${fn}(): argument '${arg}'`);
  });
}

export const ARGUMENT_CASES: readonly ArgumentCase[] = CASES;

/** Registers every argument case as a vitest test on `device`. */
export function runArguments(device: string): void {
  describe(`arguments and gradients on ${device} (PyTorch answers)`, () => {
    for (const group of [...new Set(CASES.map((c) => c.group))]) {
      describe(group, () => {
        for (const c of CASES.filter((k) => k.group === group)) it(c.name, () => c.run(device));
      });
    }
  });
}
