/** `jit` on webgpu: a traced training step replays the recorded launches with the eager numbers. */
import { expect, it } from 'vitest';
import * as torch from '@fusor/tensor';
import { describeWebGPU } from './adapter.js';

type T = torch.Tensor;

function model(device: string) {
  torch.manualSeed(11);
  const params = [torch.randn(6, 12).mul(0.3), torch.zeros(12), torch.randn(12, 3).mul(0.3), torch.zeros(3)].map((p) => p.to(device).detach().requiresGrad_());
  const [w1, b1, w2, b2] = params as [T, T, T, T];
  const step = (x: T, y: T): T => {
    const loss = x.matmul(w1).add(b1).relu().matmul(w2).add(b2).sub(y).pow(2).mean();
    loss.backward();
    torch.noGrad(() => {
      for (const p of params) {
        p.sub_(p.grad!.mul(0.1));
        p.grad = null;
      }
    });
    return loss;
  };
  return { params, step };
}

describeWebGPU('jit on webgpu', () => {
  it('a traced MLP step replays with the losses of eager steps and compiles nothing new', async () => {
    torch.manualSeed(50);
    const data = Array.from({ length: 4 }, () => [torch.randn(8, 6).to('webgpu'), torch.randn(8, 3).to('webgpu')] as [T, T]);
    for (const [x, y] of data) await Promise.all([x.data(), y.data()]);
    const eager = model('webgpu');
    const eagerLosses: number[] = [];
    for (const [x, y] of data) eagerLosses.push((await eager.step(x, y).item()) as number);

    const traced = model('webgpu');
    const step = torch.jit(traced.step);
    const losses: number[] = [];
    let compiledAfterTrace = 0;
    for (const [i, [x, y]] of data.entries()) {
      const before = torch.compilerStats().compiled;
      losses.push((await step(x, y).item()) as number);
      if (i > 0) compiledAfterTrace += torch.compilerStats().compiled - before;
    }
    expect(step.traces).toBe(1);
    expect(compiledAfterTrace).toBe(0);
    losses.forEach((l, i) => expect(Math.abs(l - eagerLosses[i]!)).toBeLessThan(1e-6 * Math.abs(eagerLosses[i]!) + 1e-7));
    for (const [i, p] of traced.params.entries()) expect(await p.tolist()).toEqual(await eager.params[i]!.tolist());
  });
});
