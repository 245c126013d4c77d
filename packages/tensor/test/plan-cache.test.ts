import { afterAll, describe, expect, it } from 'vitest';
import { configureBlas, configureWasmGemm } from '@fusor/backend-cpu';
import * as torch from '../src/index.js';

// The runtime's structural plan cache: a realize of a graph equal in structure to one realized
// before (new data, same ops, shapes, dtypes, constants and sharing) launches the stored plan
// without simplifying, scheduling or lowering. These tests hold it to what planning computes.

type T = torch.Tensor;

/** A float tensor's values as numbers. */
const vals = (t: T): number[] => Array.from(t.dataSync() as Float32Array);

/** Values from a tensor of small integers (exact in float32 through every op used here). */
function ints(shape: number[], seed: number): T {
  const n = shape.reduce((a, b) => a * b, 1);
  return torch.tensor(Array.from({ length: n }, (_, i) => ((i * 7 + seed * 13) % 9) - 4), { dtype: torch.float32 }).reshape(shape);
}

/** Runs `f` with the plan cache on (twice: planned, then replayed) and off, and returns the replays counted. */
function compare(f: (seed: number) => T): { planned: number[]; replayed: number[]; fresh: number[]; replays: number } {
  const planned = vals(f(1));
  const before = torch.compilerStats().replayed;
  const replayed = vals(f(2));
  const replays = torch.compilerStats().replayed - before;
  torch.setPlanCacheCapacity(0);
  try {
    return { planned, replayed, fresh: vals(f(2)), replays };
  } finally {
    torch.setPlanCacheCapacity(256);
  }
}

afterAll(() => torch.setPlanCacheCapacity(256));

describe('structural plan cache', () => {
  it('a chain of small ops on new data replays the stored plan and computes what planning computes', () => {
    const chain = (seed: number): T => {
      let v = ints([64], seed);
      for (let i = 0; i < 50; i++) v = i % 2 === 0 ? v.add(1) : v.mul(2).sub(3);
      return v;
    };
    const r = compare(chain);
    expect(r.replays).toBe(1);
    expect(r.replayed).toEqual(r.fresh);
    expect(r.planned).not.toEqual(r.replayed);
  });

  it('sharing is structure: x + x and x + y are different plans', () => {
    const x = ints([8], 1);
    const y = ints([8], 2);
    const xx = vals(x.add(x));
    const xy = vals(x.add(y));
    expect(xx).toEqual(vals(x).map((v) => v * 2));
    expect(xy).toEqual(vals(x).map((v, i) => v + vals(y)[i]!));
  });

  it('constants are structure: the same ops with another scalar are planned again', () => {
    const x = ints([8], 3);
    const a = vals(x.mul(2));
    const b = vals(x.mul(3));
    expect(b).toEqual(vals(x).map((v) => v * 3));
    expect(a).toEqual(vals(x).map((v) => v * 2));
  });

  it('a training step (matmul, softmax, backward, in-place update) replays with the same values', () => {
    const step = (seed: number): T => {
      const w = ints([6, 4], 5).div(8).requiresGrad_();
      const x = ints([3, 6], seed).div(4);
      const loss = x.matmul(w).logSoftmax(1).mean().neg();
      loss.backward();
      torch.noGrad(() => w.sub_(w.grad!.mul(0.5)));
      return w.detach().clone();
    };
    const r = compare(step);
    expect(r.replays).toBeGreaterThan(0);
    expect(r.replayed).toEqual(r.fresh);
  });

  it('a weight updated lazily each step is kept as planning keeps it (no ever-deeper recomputation)', () => {
    /** Steps of SGD on a weight nobody reads but the next step; returns replays and what the weight still needs. */
    const loop = (): { replays: number; pending: number[]; values: number[] } => {
      torch.manualSeed(0);
      const w = ints([8, 4], 1).div(10).requiresGrad_();
      const before = torch.compilerStats().replayed;
      const pending: number[] = [];
      for (let i = 0; i < 30; i++) {
        const x = ints([5, 8], i).div(5);
        x.matmul(w).tanh().sum().backward();
        torch.noGrad(() => {
          w.sub_(w.grad!.mul(0.1));
          w.grad!.zero_();
        });
        pending.push(torch.explain(w).kernels.length);
      }
      return { replays: torch.compilerStats().replayed - before, pending, values: vals(w.detach()) };
    };
    const cached = loop();
    torch.setPlanCacheCapacity(0);
    const planned = loop();
    torch.setPlanCacheCapacity(256);
    expect(cached.replays).toBeGreaterThan(20);
    expect(planned.replays).toBe(0);
    expect(cached.pending).toEqual(planned.pending);
    expect(cached.values).toEqual(planned.values);
  });

  it('a lazy value read by every step is cached after its second computation, replayed or planned', () => {
    /** Launches per step of a loop reading one lazy value (y) with new inputs each step. */
    const loop = (): number[] => {
      const base = ints([64], 7);
      // a kernel of its own (a reduction broadcast back), held and never read itself: computed inside each step's realize
      const y = base.sub(base.max());
      const launches: number[] = [];
      for (let i = 0; i < 6; i++) {
        const before = torch.compilerStats().launched;
        ints([64], i).add(y).sum().itemSync();
        launches.push(torch.compilerStats().launched - before);
      }
      return launches;
    };
    const replayed = loop();
    torch.setPlanCacheCapacity(0);
    const planned = loop();
    torch.setPlanCacheCapacity(256);
    // the second computation of y keeps it: later steps launch only the sum
    expect(planned.slice(2)).toEqual([1, 1, 1, 1]);
    expect(replayed).toEqual(planned);
  });

  it('in-place writes through views on new storage replay with the new storage', () => {
    const f = (seed: number): T => {
      const base = ints([4, 5], seed);
      base.select(0, 1).mul_(10);
      base.narrow(1, 0, 2).add_(1);
      return base.add(0);
    };
    const r = compare(f);
    expect(r.replayed).toEqual(r.fresh);
  });

  it('graphs that draw random numbers replay with the new draws (dropout, rand, randn)', () => {
    const f = (seed: number): T => {
      torch.manualSeed(seed);
      const x = ints([6, 7], seed);
      const mask = torch.rand(6, 7).lt(0.5);
      return x.mul(mask).add(torch.randn(6, 7)).relu();
    };
    const r = compare(f);
    expect(r.replays).toBe(1);
    expect(r.replayed).toEqual(r.fresh);
    expect(r.planned).not.toEqual(r.replayed);
  });

  it('a backend configuration change (the GEMM routines on or off) drops the stored plans', () => {
    const mm = (seed: number): T => ints([70, 70], seed).matmul(ints([70, 70], seed + 1));
    /** Routine calls of one realize of mm, and its values. */
    const routed = (seed: number): [number, number[]] => {
      const before = torch.compilerStats().routines;
      const v = vals(mm(seed));
      return [torch.compilerStats().routines - before, v];
    };
    /** The same with planning from scratch. */
    const planned = (seed: number): [number, number[]] => {
      torch.setPlanCacheCapacity(0);
      try {
        return routed(seed);
      } finally {
        torch.setPlanCacheCapacity(256);
      }
    };
    try {
      const counts: number[] = [];
      for (const enabled of [true, false, true]) {
        routed(1);
        configureBlas({ enabled });
        configureWasmGemm({ enabled });
        const replay = routed(2);
        expect(replay).toEqual(planned(2));
        counts.push(replay[0]);
      }
      expect(counts).toEqual([1, 0, 1]);
    } finally {
      configureBlas({ enabled: true });
      configureWasmGemm({ enabled: true });
    }
  });

  it('a replay keeps memory flat: 1,000 steps of the same chain hold the same buffers', () => {
    const f = (i: number): number => {
      const x = torch.tensor([i, i + 1, i + 2], { dtype: torch.float32 });
      return x.mul(2).add(1).sum().itemSync() as number;
    };
    for (let i = 0; i < 50; i++) f(i);
    const warm = torch.memory().buffers;
    for (let i = 0; i < 1000; i++) expect(f(i)).toBe(6 * i + 9);
    expect(torch.memory().buffers).toBe(warm);
  });

  it('rejects a bad capacity', () => {
    expect(() => torch.setPlanCacheCapacity(-1)).toThrow('plan cache capacity must be a non-negative integer, got -1');
  });
});

describe('Tensor.realize()', () => {
  it('computes on the device without a read, keeps the value, and returns the tensor', () => {
    const x = ints([4], 1);
    const y = x.mul(3).add(1);
    const launched = torch.compilerStats().launched;
    expect(y.realize()).toBe(y);
    expect(torch.compilerStats().launched).toBe(launched + 1);
    // computed once: reading it launches nothing more
    expect(vals(y)).toEqual(vals(x).map((v) => v * 3 + 1));
    expect(torch.compilerStats().launched).toBe(launched + 1);
  });

  it('keeps autograd history (a realized intermediate still takes gradients)', () => {
    const w = ints([3], 2).requiresGrad_();
    const h = w.mul(2).realize();
    h.sum().backward();
    expect(vals(w.grad!)).toEqual([2, 2, 2]);
  });

  it('realizeAsync() resolves to the tensor', async () => {
    const y = ints([2], 3).add(1);
    expect(await y.realizeAsync()).toBe(y);
  });
});

describe('the cache trim at the end of a realize', () => {
  it('keeps the roots it was asked for, host-backed buffers included, under any budget', () => {
    const budget = torch.getCacheBudget();
    torch.setCacheBudget({ buffers: 0, bytes: 0 });
    try {
      const hosts = [1, 2, 3].map((k) => torch.tensor([k, k + 1, k + 2], { dtype: torch.float32 }));
      for (let round = 0; round < 3; round++) {
        for (const [k, h] of hosts.entries()) {
          // reading a host-backed tensor uploads it in this realize: the trim must not drop it
          expect(vals(h.mul(1))).toEqual([k + 1, k + 2, k + 3]);
          expect(vals(h)).toEqual([k + 1, k + 2, k + 3]);
        }
      }
    } finally {
      torch.setCacheBudget(budget);
    }
  });
});
