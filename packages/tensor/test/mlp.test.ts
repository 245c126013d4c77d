import { describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';

/** A two-layer MLP, forward + backward + SGD, as a user would write it. */
function makeStep(zeroGrad: 'none' | 'zero_') {
  torch.manualSeed(1);
  const params = [torch.randn(4, 16).mul(0.5), torch.zeros(16), torch.randn(16, 3).mul(0.5), torch.zeros(3)].map((p) => p.requiresGrad_());
  const [w1, b1, w2, b2] = params as [torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor];
  const x = torch.randn(8, 4);
  const y = torch.randn(8, 3);
  return () => {
    const loss = x.matmul(w1).add(b1).relu().matmul(w2).add(b2).sub(y).pow(2).mean();
    loss.backward();
    torch.noGrad(() => {
      for (const p of params) {
        p.sub_(p.grad!.mul(0.1));
        if (zeroGrad === 'none') p.grad = null;
        else p.grad!.zero_();
      }
    });
    return loss.itemSync() as number;
  };
}

function measure(step: () => number): { launched: number; compiled: number; loss: number } {
  const before = torch.compilerStats();
  const loss = step();
  const after = torch.compilerStats();
  return { launched: after.launched - before.launched, compiled: after.compiled - before.compiled, loss };
}

describe('a two-layer MLP training step', () => {
  it('runs forward+backward in 8 kernels plus one per parameter update, and a second step compiles none', () => {
    const step = makeStep('none');
    const first = measure(step);
    // the first step also draws the lazily created random data (x and y: two uniform streams
    // each) into buffers once, because several kernels read them; later steps reuse them
    expect(first.launched).toBe(16);
    // x and y are drawn once more (an intermediate computed a second time is kept from then on)
    const second = measure(step);
    expect(second.launched).toBe(16);
    expect(second.compiled).toBe(0);
    // backward realizes the loss and the four gradients together (8 kernels); then 4 SGD updates
    const third = measure(step);
    expect(third.launched).toBe(12);
    expect(third.compiled).toBe(0);
    expect(second.loss).toBeLessThan(first.loss);
    expect(third.loss).toBeLessThan(second.loss);
  });

  it('with grad.zero_() between steps, the accumulating graph settles after one extra step', () => {
    const step = makeStep('zero_');
    measure(step);
    measure(step); // gradients now accumulate into zeroed buffers: a new graph shape, compiled once
    expect(measure(step).compiled).toBe(0);
  });
});
