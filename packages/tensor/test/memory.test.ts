import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { cpuHeap } from '@fusor/backend-cpu';
import * as torch from '../src/index.js';

// The collector, even when node was not started with --expose-gc.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

type T = torch.Tensor;

/**
 * These loops never yield to the event loop and never call gc(): a FinalizationRegistry callback
 * cannot run inside them, so whatever stays flat here is released by the runtime itself.
 */
/** What the runtime holds apart from its cache of recomputable results (bounded by its budget, checked too). */
const mem = (): [number, number] => {
  const m = torch.memory();
  const budget = torch.getCacheBudget();
  expect(m.cachedBuffers).toBeLessThanOrEqual(budget.buffers);
  expect(m.cachedBytes).toBeLessThanOrEqual(budget.bytes);
  return [m.buffers - m.cachedBuffers, m.bytes - m.cachedBytes];
};

/** Runs `step` `warmup` times, then `steps` more, and returns memory after the warm-up and at the end. */
function steady(step: (i: number) => void, warmup: number, steps: number): { warm: [number, number]; end: [number, number] } {
  for (let i = 0; i < warmup; i++) step(i);
  const warm = mem();
  for (let i = warmup; i < warmup + steps; i++) step(i);
  return { warm, end: mem() };
}

/** The loop of the runtime issue, as a PyTorch user writes it (smaller, so 10,000 steps fit a test). */
function mlpLoop(opts: { retainGraph?: boolean; setToNone?: boolean } = {}) {
  torch.manualSeed(0);
  const [i, h, o, batch] = [12, 16, 4, 8];
  const params = [torch.randn(i, h).mul(0.3), torch.zeros(h), torch.randn(h, o).mul(0.3), torch.zeros(o)].map((p) => p.requiresGrad_());
  const [w1, b1, w2, b2] = params as [T, T, T, T];
  const losses: number[] = [];
  const step = (s: number): void => {
    // a new batch every step: host data (labels as one-hot rows) and random inputs
    const x = torch.rand(batch, i);
    const target = torch.tensor(Float32Array.from({ length: batch * o }, (_, k) => (k % o === (s + Math.floor(k / o)) % o ? 1 : 0))).reshape(batch, o);
    const loss = x.matmul(w1).add(b1).relu().matmul(w2).add(b2).logSoftmax(1).mul(target).sum().neg().div(batch);
    loss.backward({ retainGraph: opts.retainGraph === true });
    torch.noGrad(() => {
      for (const p of params) {
        p.sub_(p.grad!.mul(0.05));
        if (opts.setToNone) p.grad = null;
        else p.grad!.zero_();
      }
    });
    losses.push(loss.itemSync() as number);
  };
  return { step, losses };
}

const STEPS = Number(process.env.FUSOR_MEMORY_STEPS ?? 10_000);

describe('memory stays flat in synchronous loops (no yield, no gc)', () => {
  it(`the MLP training loop: ${STEPS} steps hold the same buffers and bytes after the first ones`, () => {
    gc();
    const { step, losses } = mlpLoop();
    const { warm, end } = steady(step, 100, STEPS);
    expect(end).toEqual(warm);
    // and it trains
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
  }, 300_000);

  it('the same loop with retainGraph (graphs dropped after use) and with grad = null', () => {
    for (const opts of [{ retainGraph: true }, { setToNone: true }]) {
      const { step } = mlpLoop(opts);
      const { warm, end } = steady(step, 100, 1000);
      expect(end).toEqual(warm);
    }
  }, 120_000);

  it('the same loop under jit replays in flat memory', () => {
    torch.manualSeed(0);
    const params = [torch.randn(12, 16).mul(0.3), torch.zeros(16), torch.randn(16, 4).mul(0.3), torch.zeros(4)].map((p) => p.requiresGrad_());
    const [w1, b1, w2, b2] = params as [T, T, T, T];
    const step = torch.jit((x: T, target: T): T => {
      const loss = x.matmul(w1).add(b1).relu().matmul(w2).add(b2).logSoftmax(1).mul(target).sum().neg().div(8);
      loss.backward();
      torch.noGrad(() => {
        for (const p of params) {
          p.sub_(p.grad!.mul(0.05));
          p.grad!.zero_();
        }
      });
      return loss;
    });
    const { warm, end } = steady(
      (s) => {
        const target = torch.tensor(Float32Array.from({ length: 32 }, (_, k) => (k % 4 === s % 4 ? 1 : 0))).reshape(8, 4);
        step(torch.rand(8, 12), target).itemSync();
      },
      100,
      1000,
    );
    expect(end).toEqual(warm);
    expect(step.traces).toBe(2);
  }, 120_000);

  it('an in-place parameter loop w.add_(torch.rand(n)) stays flat', () => {
    const w = torch.zeros(1000);
    const { warm, end } = steady(() => void w.add_(torch.rand(1000)), 10, STEPS);
    expect(end).toEqual(warm);
    expect(w.sum().itemSync() as number).toBeGreaterThan(0);
  }, 120_000);

  it('x = x.add(1).mul(0.5), read every 10 steps, stays flat', () => {
    let x = torch.zeros(256);
    const { warm, end } = steady(
      (i) => {
        x = x.add(1).mul(0.5);
        if (i % 10 === 9) x.dataSync();
      },
      100,
      STEPS,
    );
    expect(end).toEqual(warm);
    // the fixed point of x ← (x + 1) / 2
    expect(x.dataSync()[0]).toBeCloseTo(1, 6);
  }, 120_000);

  it('reading a fresh result every iteration keeps at most the runtime cache (64 buffers)', () => {
    const base = mem();
    for (let i = 0; i < 500; i++) {
      const x = torch.tensor(Float32Array.from({ length: 256 }, (_, j) => (i + j) % 7));
      const y = x.mul(2).add(1).sum();
      expect(y.itemSync()).toBe([...Array(256).keys()].reduce((s, j) => s + 2 * ((i + j) % 7) + 1, 0));
    }
    expect(mem()[0] - base[0]).toBeLessThanOrEqual(64);
  });
});

describe('deterministic release', () => {
  it('dispose() frees the buffer now, and the next allocation of its size reuses its memory', () => {
    const heap = cpuHeap();
    const before = mem();
    // contents updated in place are the only copy of their value: only dispose() (or the collector) frees them
    const b = torch.zeros(4096);
    b.add_(1);
    expect(mem()).toEqual([before[0] + 1, before[1] + 4096 * 4]);
    const reserved = heap.stats().reserved;
    b.dispose();
    expect(mem()).toEqual(before);
    const pooled = heap.stats().pooled;
    const c = torch.zeros(4096);
    c.add_(2);
    // the block came from the pool: the heap did not grow, and its pool gave up that block
    expect(heap.stats().reserved).toBe(reserved);
    expect(heap.stats().pooled).toBe(pooled - 4096 * 4);
    expect(() => b.dataSync()).toThrow(torch.DisposedError);
    expect(() => b.add(1)).toThrow('this tensor was disposed');
    expect(b.isDisposed).toBe(true);
    c.dispose();
  });

  it('`using` disposes at the end of the block, and so do views and aliases of the storage', () => {
    let kept: T;
    {
      using t = torch.ones(3, 3).add(1);
      kept = t.select(0, 1);
      expect(kept.tolistSync()).toEqual([2, 2, 2]);
    }
    expect(() => kept.tolistSync()).toThrow(torch.DisposedError);
  });

  it('torch.scope disposes what its function made, except what it returns', () => {
    const before = mem()[0];
    const kept = torch.scope(() => {
      const a = torch.rand(1000).add(1);
      const b = a.mul(2);
      a.dataSync();
      b.dataSync();
      return b.sum();
    });
    expect(typeof kept.itemSync()).toBe('number');
    expect(mem()[0]).toBeLessThanOrEqual(before + 2);
    // nested results: arrays and objects of tensors are kept too
    // views and aliases of tensors from outside are not the scope's to free
    const outer = torch.ones(4).add(1);
    torch.scope(() => {
      outer.detach().mul(2).dataSync();
      outer.narrow(0, 1, 2).dataSync();
      outer.data.add_(1);
    });
    expect(outer.tolistSync()).toEqual([3, 3, 3, 3]);
    const { u, v } = torch.scope(() => ({ u: torch.ones(2), v: [torch.zeros(2)] }));
    expect(u.tolistSync()).toEqual([1, 1]);
    expect(v[0]!.tolistSync()).toEqual([0, 0]);
  });
});

describe('out of memory', () => {
  it('an allocation over the heap limit raises an error naming the device and size; earlier tensors still read', () => {
    const kept = torch.arange(10).mul(2);
    kept.dataSync();
    const huge = torch.rand(2 ** 38); // 1 TiB of float32
    expect(() => huge.add(1).dataSync()).toThrow(torch.OutOfMemoryError);
    expect(() => huge.add(1).dataSync()).toThrow(/^CPU out of memory\. Tried to allocate 1024\.00 GiB/);
    expect(kept.tolistSync()).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(torch.ones(3).add(kept.narrow(0, 0, 3)).tolistSync()).toEqual([1, 3, 5]);
  }, 60_000);
});
