/** A small MLP trained on cpu and on webgpu from the same start gives the same losses. */
import { expect, it } from 'vitest';
import * as torch from '@fusor/tensor';
import { describeWebGPU } from './adapter.js';

/** Trains a 4-16-3 MLP with SGD for `steps` steps on `device`; returns each step's loss. */
async function train(device: string, steps: number): Promise<number[]> {
  torch.manualSeed(7);
  // created on cpu and moved, so both devices start from identical bits
  const params = [torch.randn(4, 16).mul(0.5), torch.zeros(16), torch.randn(16, 3).mul(0.5), torch.zeros(3)].map((p) =>
    p.to(device).detach().requiresGrad_(),
  );
  const [w1, b1, w2, b2] = params as [torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor];
  const x = torch.randn(32, 4).to(device);
  const y = torch.randn(32, 3).to(device);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const loss = x.matmul(w1).add(b1).tanh().matmul(w2).add(b2).sub(y).pow(2).mean();
    loss.backward();
    torch.noGrad(() => {
      for (const p of params) {
        p.sub_(p.grad!.mul(0.2));
        p.grad = null;
      }
    });
    losses.push((await loss.item()) as number);
  }
  return losses;
}

describeWebGPU('training on webgpu', () => {
  it('an MLP gives the same losses on cpu and webgpu, within float32 tolerance', async () => {
    const cpu = await train('cpu', 8);
    const gpu = await train('webgpu', 8);
    expect(gpu[7]!).toBeLessThan(gpu[0]!);
    gpu.forEach((l, i) => expect(Math.abs(l - cpu[i]!), `step ${i}: webgpu ${l}, cpu ${cpu[i]}`).toBeLessThan(1e-5 * Math.abs(cpu[i]!) + 1e-6));
  });
});
