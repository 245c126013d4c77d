import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { configureBlas, blasInfo } from '@fusor/backend-cpu';
import { getBuffer } from '@fusor/runtime';
import * as torch from '../src/index.js';

type T = torch.Tensor;

/** A two-layer MLP and its SGD step, as a user writes it. */
function model(seed: number, sizes = [12, 16, 5]) {
  torch.manualSeed(seed);
  const [i, h, o] = sizes as [number, number, number];
  const params = [torch.randn(i, h).mul(0.3), torch.zeros(h), torch.randn(h, o).mul(0.3), torch.zeros(o)].map((p) => p.requiresGrad_());
  const [w1, b1, w2, b2] = params as [T, T, T, T];
  const step = (zeroGrad: boolean) => (x: T, y: T): T => {
    const loss = x.matmul(w1).add(b1).relu().matmul(w2).add(b2).logSoftmax(1).mul(y).sum().neg().div(x.shape[0]!);
    loss.backward();
    torch.noGrad(() => {
      for (const p of params) {
        p.sub_(p.grad!.mul(0.1));
        if (zeroGrad) p.grad!.zero_();
        else p.grad = null;
      }
    });
    return loss;
  };
  return { params, step };
}

/** Batches made up front (realized), the same for every run. */
function batches(n: number, rows = 8, sizes = [12, 16, 5]): [T, T][] {
  torch.manualSeed(100);
  return Array.from({ length: n }, () => {
    const x = torch.randn(rows, sizes[0]!);
    const y = torch.rand(rows, sizes[2]!).softmax(1);
    x.dataSync();
    y.dataSync();
    return [x, y] as [T, T];
  });
}

const values = (t: T): number[] => Array.from(t.dataSync() as Float32Array);
const launches = <R>(f: () => R): { result: R; launched: number; compiled: number } => {
  const before = torch.compilerStats();
  const result = f();
  const after = torch.compilerStats();
  return { result, launched: after.launched - before.launched, compiled: after.compiled - before.compiled };
};

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collects garbage and lets FinalizationRegistry callbacks (which free buffers) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 0));
  }
}

afterEach(() => configureBlas({ enabled: true, minMultiplyAdds: 64 ** 3 }));

describe('jit: trace once, replay the recorded launches', () => {
  for (const zeroGrad of [false, true]) {
    it(`an MLP training step replays exactly the numbers of eager steps (${zeroGrad ? 'grad.zero_()' : 'grad = null'})`, () => {
      const data = batches(5);
      const eager = model(7);
      const eagerStep = eager.step(zeroGrad);
      const eagerLosses = data.map(([x, y]) => eagerStep(x, y).itemSync() as number);

      const traced = model(7);
      let calls = 0;
      const inner = traced.step(zeroGrad);
      const step = torch.jit((x: T, y: T) => {
        calls++;
        return inner(x, y);
      });
      const losses = data.map(([x, y]) => step(x, y).itemSync() as number);
      expect(losses).toEqual(eagerLosses);
      traced.params.forEach((p, i) => expect(values(p)).toEqual(values(eager.params[i]!)));
      // grad = null: one trace; zero_(): the first step sets .grad, later ones accumulate into it
      expect(step.traces).toBe(zeroGrad ? 2 : 1);
      expect(calls).toBe(zeroGrad ? 2 : 1);
      if (zeroGrad) traced.params.forEach((p) => expect(values(p.grad!).every((v) => v === 0)).toBe(true));
      else traced.params.forEach((p) => expect(p.grad).toBeNull());
    });
  }

  it('a replay launches what the traced call launched, compiles nothing, and updates parameters in their own buffers', () => {
    const data = batches(4);
    const { params, step: inner } = model(3);
    const step = torch.jit(inner(false));
    const traced = launches(() => step(...data[0]!));
    const replayed = launches(() => step(...data[1]!));
    expect(replayed.launched).toBe(traced.launched);
    expect(replayed.compiled).toBe(0);
    // the first replay computes parameters into buffers of their own (the traced ones are shared
    // with the traced graph); from then on they are updated in place
    const buffers = params.map((p) => getBuffer(p.node));
    const again = launches(() => step(...data[2]!));
    expect(again.launched).toBe(traced.launched);
    params.forEach((p, i) => expect(getBuffer(p.node)).toBe(buffers[i]));
    expect(params[0]!.requiresGrad).toBe(true);
    expect(params[0]!.isLeaf).toBe(true);
    // outputs are new tensors every call, without autograd history
    const a = step(...data[3]!);
    const b = step(...data[3]!);
    expect(a).not.toBe(b);
    expect(a.gradFn).toBeNull();
    expect(a.itemSync()).not.toBe(b.itemSync());
  });

  it('a jitted training loop runs in bounded memory: replays allocate only their outputs', async () => {
    const data = batches(2);
    const { step: inner } = model(4);
    const step = torch.jit(inner(false));
    // past the runtime's cache of recent results (64 buffers), memory is steady
    for (let i = 0; i < 80; i++) step(...data[i % 2]!).itemSync();
    await settle();
    const before = torch.memory();
    for (let i = 0; i < 50; i++) step(...data[i % 2]!).itemSync();
    await settle();
    const after = torch.memory();
    expect(after.buffers - before.buffers).toBeLessThanOrEqual(1);
    expect(after.bytes - before.bytes).toBeLessThanOrEqual(4);
  });

  it('gradients left by a replay and dropped outside it (zeroGrad({ setToNone: true })) are freed at the next replay, in a synchronous loop', () => {
    torch.manualSeed(7);
    const w = torch.randn(12, 5).requiresGrad_();
    const b = torch.zeros(5).requiresGrad_();
    const forwardBackward = torch.jit((x: T, y: T) => {
      const loss = x.matmul(w).add(b).logSoftmax(1).mul(y).sum().neg();
      loss.backward();
      return loss;
    });
    const data = batches(2);
    const stepOnce = (i: number): void => {
      w.grad = null;
      b.grad = null;
      forwardBackward(...data[i % 2]!).itemSync();
      torch.noGrad(() => {
        w.sub_(w.grad!.mul(0.01));
        b.sub_(b.grad!.mul(0.01));
      });
    };
    for (let i = 0; i < 80; i++) stepOnce(i);
    // no await: the collector's finalizers never run in this loop
    const before = torch.memory();
    for (let i = 0; i < 2000; i++) stepOnce(i);
    const after = torch.memory();
    expect(after.buffers).toBe(before.buffers);
    expect(after.bytes).toBe(before.bytes);
    // a gradient kept across steps without clone() raises, saying why; a clone is kept
    const held = w.grad!;
    const copy = held.clone();
    const want = values(copy);
    stepOnce(0);
    expect(() => held.dataSync()).toThrow(/made by a torch\.jit replay and freed at the next replay.*clone\(\) it to keep it/);
    expect(values(copy)).toEqual(want);
    // a gradient still held as .grad is never freed
    const kept = w.grad!;
    forwardBackward(...data[1]!).itemSync();
    expect(() => kept.dataSync()).not.toThrow();
  });

  it('a new input shape is traced anew; each shape then replays', () => {
    const { step: inner } = model(5);
    const eager = model(5);
    const step = torch.jit(inner(false));
    const eagerStep = eager.step(false);
    const big = batches(2, 8);
    const small = batches(2, 3);
    const order = [big[0]!, small[0]!, big[1]!, small[1]!];
    const got = order.map(([x, y]) => step(x, y).itemSync());
    const want = order.map(([x, y]) => eagerStep(x, y).itemSync());
    expect(got).toEqual(want);
    expect(step.traces).toBe(2);
  });

  it('random numbers drawn inside the step are drawn anew on every replay, as eager draws them', () => {
    const f = (x: T): T => x.mul(torch.rand(x.shape).gt(0.5).float()).add(torch.randn(x.shape).mul(0.01));
    const x = torch.ones(64);
    x.dataSync();
    torch.manualSeed(9);
    const eager = [f(x), f(x), f(x)].map(values);
    const nextEager = torch.rand(1).itemSync();
    torch.manualSeed(9);
    const step = torch.jit(f);
    const jitted = [step(x), step(x), step(x)].map(values);
    expect(jitted).toEqual(eager);
    expect(jitted[1]).not.toEqual(jitted[0]);
    // the generator moved on as far as eager calls move it
    expect(torch.rand(1).itemSync()).toBe(nextEager);
  });

  it('inputs and outputs may be arrays and objects; non-tensor arguments are part of the signature', () => {
    const step = torch.jit((xs: T[], opts: { scale: number }) => ({ sum: xs[0]!.add(xs[1]!).mul(opts.scale), first: xs[0]! }));
    const a = torch.tensor([1, 2, 3]);
    const b = torch.tensor([10, 20, 30]);
    const r1 = step([a, b], { scale: 2 });
    const r2 = step([b, a], { scale: 2 });
    const r3 = step([a, b], { scale: 3 });
    expect(r1.sum.tolistSync()).toEqual([22, 44, 66]);
    expect(r2.sum.tolistSync()).toEqual([22, 44, 66]);
    expect(r2.first).toBe(b);
    expect(r3.sum.tolistSync()).toEqual([33, 66, 99]);
    expect(step.traces).toBe(2);
  });

  it.skipIf(!blasInfo().available)('products computed by the gemm routine replay too', () => {
    configureBlas({ enabled: true, minMultiplyAdds: 0 });
    const data = batches(3);
    const eager = model(11);
    const eagerStep = eager.step(false);
    const want = data.map(([x, y]) => eagerStep(x, y).itemSync());
    const traced = model(11);
    const step = torch.jit(traced.step(false));
    const before = torch.compilerStats().routines;
    const got = data.map(([x, y]) => step(x, y).itemSync());
    expect(got).toEqual(want);
    // five products per step (two forward, three backward), in the trace and in both replays
    expect(torch.compilerStats().routines - before).toBe(15);
    traced.params.forEach((p, i) => expect(values(p)).toEqual(values(eager.params[i]!)));
  });
});

describe('jit: errors', () => {
  it('a new signature past maxTraces raises PyTorch-style, naming what changed', () => {
    const step = torch.jit((x: T) => x.mul(2), { maxTraces: 1, name: 'double' });
    step(torch.ones(8, 4));
    step(torch.ones(8, 4));
    expect(() => step(torch.ones(3, 4))).toThrow(
      'jit(double) hit maxTraces (1): argument 0 size mismatch at index 0. expected 8, actual 3. Each new input signature is traced anew; keep shapes, dtypes and non-tensor arguments fixed, or raise maxTraces.',
    );
    expect(() => step(torch.ones(8, 4, { dtype: torch.float64 }))).toThrow('argument 0 dtype mismatch. expected float32, actual float64');
    expect(() => step(torch.ones(8))).toThrow('argument 0 dimensionality mismatch. expected 2, actual 1');
    const loose = step as unknown as (...args: unknown[]) => T;
    expect(() => loose(torch.ones(8, 4), 3)).toThrow('expected 1 argument values, got 2');
    expect(() => step(torch.ones(8, 4))).not.toThrow();
    expect(step.traces).toBe(1);
  });

  it('reading a tensor to the host while tracing raises, naming the way out', () => {
    const step = torch.jit((x: T) => torch.tensor(x.sum().itemSync() as number), { name: 'peek' });
    expect(() => step(torch.ones(3))).toThrow(
      new torch.JitError(
        'jit(peek): dataSync() reads a tensor to the host while tracing; a replay would repeat the value read now. Return the tensor from the jitted function and read it outside.',
      ),
    );
    // nothing is left half-traced: the next call traces again (and raises again)
    expect(() => step(torch.ones(3))).toThrow(torch.JitError);
    expect(torch.ones(2).sum().itemSync()).toBe(2);
  });

  it('returning something a replay cannot recompute raises', () => {
    const step = torch.jit((x: T) => x.shape[0]!, { name: 'size' });
    expect(() => step(torch.ones(3))).toThrow(
      'jit(size): the function returned a number; a replay cannot recompute it. Return tensors (or arrays and objects of tensors).',
    );
  });

  it('a replay never overwrites a buffer another value holds; a lazy value reading one it overwrote raises', () => {
    const { params, step: inner } = model(2);
    const step = torch.jit(inner(false));
    const data = batches(6);
    for (const d of data.slice(0, 3)) step(...d);
    const w1 = params[0]!;
    const lazy = torch.noGrad(() => w1.mul(2)); // reads w1 as it is now, when realized
    step(...data[3]!);
    expect(() => lazy.dataSync()).toThrow(
      'a tensor this lazy value reads was updated in place by a jit replay after the value was recorded, so its old contents are gone; realize such values (dataSync(), item()) before calling the jitted function',
    );
    // w1.mul(1) is w1 itself, so it shares w1's buffer: the next replay leaves that buffer alone
    const alias = torch.noGrad(() => w1.mul(1));
    const kept = values(alias);
    const shared = getBuffer(w1.node);
    step(...data[4]!);
    expect(getBuffer(w1.node)).not.toBe(shared);
    expect(values(alias)).toEqual(kept);
    expect(values(w1)).not.toEqual(kept);
    const own = getBuffer(w1.node);
    step(...data[5]!);
    expect(getBuffer(w1.node)).toBe(own);
  });
});
