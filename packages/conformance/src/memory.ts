/**
 * Memory that stays flat, on any device: a PyTorch-style MLP training loop (a new batch every
 * step, backward, SGD in place under noGrad, the loss read every step) must hold the same
 * buffers and bytes after its first steps — counted by torch.memory(), not timed. Reads are
 * asynchronous so devices without synchronous reads run the same loop.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import * as torch from '@fusor/tensor';
import type { Tensor } from '@fusor/tensor';

/** What the runtime holds apart from its bounded cache of recomputable results (the cache is checked against its budget). */
export function heldMemory(): [number, number] {
  const m = torch.memory();
  const budget = torch.getCacheBudget();
  if (m.cachedBuffers > budget.buffers || m.cachedBytes > budget.bytes) {
    throw new Error(`the runtime cache holds ${m.cachedBuffers} buffers / ${m.cachedBytes} bytes, over its budget ${budget.buffers} / ${budget.bytes}`);
  }
  return [m.buffers - m.cachedBuffers, m.bytes - m.cachedBytes];
}

/** One step of the loop on `device`; returns the loss. */
export function mlpStep(device: string, opts: { jit?: boolean } = {}): (s: number) => Promise<number> {
  torch.manualSeed(0);
  const [i, h, o, batch] = [12, 16, 4, 8];
  const params = [torch.randn(i, h).mul(0.3), torch.zeros(h), torch.randn(h, o).mul(0.3), torch.zeros(o)].map((p) => p.to(device).detach().requiresGrad_());
  const [w1, b1, w2, b2] = params as [Tensor, Tensor, Tensor, Tensor];
  const train = (x: Tensor, target: Tensor): Tensor => {
    const loss = x.matmul(w1).add(b1).relu().matmul(w2).add(b2).logSoftmax(1).mul(target).sum().neg().div(batch);
    loss.backward();
    torch.noGrad(() => {
      for (const p of params) {
        p.sub_(p.grad!.mul(0.05));
        p.grad!.zero_();
      }
    });
    return loss;
  };
  const step = opts.jit ? torch.jit(train) : train;
  return async (s: number) => {
    const x = torch.rand(batch, i, { device });
    const target = torch.tensor(Float32Array.from({ length: batch * o }, (_, k) => (k % o === (s + Math.floor(k / o)) % o ? 1 : 0)), { device }).reshape(batch, o);
    return (await step(x, target).item()) as number;
  };
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * Lets the collector free what is already garbage (tensors an earlier test or step dropped, whose
 * buffers FinalizationRegistry callbacks release) before a count: the loop's awaits let those
 * callbacks run whenever the collector happens to run, so without this a count taken after the
 * warm-up could include garbage the next collection frees, and the check would depend on its timing.
 */
export async function settle(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 0));
  }
}

/** Registers the flat-memory checks for `device`: the loop eagerly and under jit. */
export function runMemoryChecks(device: string, opts: { steps?: number; warmup?: number; timeout?: number } = {}): void {
  const steps = opts.steps ?? 1000;
  const warmup = opts.warmup ?? 100;
  describe(`memory on ${device}`, () => {
    for (const jit of [false, true]) {
      it(`the MLP training loop${jit ? ' under jit' : ''}: ${steps} steps hold the same buffers and bytes after ${warmup}`, async () => {
        await torch.init(device);
        const step = mlpStep(device, { jit });
        const losses: number[] = [];
        for (let s = 0; s < warmup; s++) losses.push(await step(s));
        await settle();
        const warm = heldMemory();
        for (let s = warmup; s < warmup + steps; s++) losses.push(await step(s));
        await settle();
        expect(heldMemory()).toEqual(warm);
        expect(losses.at(-1)!).toBeLessThan(losses[0]!);
      }, opts.timeout ?? 300_000);
    }
  });
}
