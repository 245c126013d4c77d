/**
 * Autograd across devices, cpu ↔ webgpu (SwiftShader in CI): backward through `.to()` gives the
 * gradients of the same graph on one device. webgpu has no synchronous read, so a backward whose
 * gradients cross from webgpu to the cpu returns a promise (`await loss.backward()`).
 */
import { describe, expect, it } from 'vitest';
import * as torch from '@fusor/tensor';
import '@fusor/backend-webgpu';
import { nn } from '../src/index.js';

const F = nn.functional;

const adapter = await torch.init('webgpu').then(
  () => ({ ok: true as const }),
  (e: Error) => ({ ok: false as const, reason: e.message }),
);
// without an adapter: skipped with the reason here, a failure in CI (which sets one up)
const describeWebGPU = adapter.ok || process.env['CI'] ? describe : describe.skip;
const reason = adapter.ok ? '' : ` — no WebGPU adapter here: ${adapter.reason}`;

/** A two-layer net's leaves on the cpu (fresh values each call). */
function leaves(seed: number): { x: torch.Tensor; w1: torch.Tensor; b1: torch.Tensor; w2: torch.Tensor; b2: torch.Tensor } {
  torch.manualSeed(seed);
  return {
    x: torch.randn(5, 4),
    w1: torch.randn(6, 4),
    b1: torch.randn(6),
    w2: torch.randn(3, 6),
    b2: torch.randn(3),
  };
}

/** x → linear → tanh on `d1`, → linear → squared mean on `d2`; each layer's leaves made on its device. */
async function run(seed: number, d1: string, d2: string): Promise<{ loss: number; grads: number[][] }> {
  const l = leaves(seed);
  const on = (t: torch.Tensor, d: string): torch.Tensor => t.to(d).requiresGrad_();
  const [w1, b1, w2, b2] = [on(l.w1, d1), on(l.b1, d1), on(l.w2, d2), on(l.b2, d2)];
  const h = F.linear(l.x.to(d1), w1, b1).tanh();
  const y = F.linear(h.to(d2), w2, b2);
  const loss = y.pow(2).mean();
  await loss.backward();
  const grads = await Promise.all([w1, b1, w2, b2].map(async (p) => {
    expect(p.grad!.device).toBe(p.device);
    return [...(await p.grad!.to('cpu').data())].map(Number);
  }));
  return { loss: Number((await loss.to('cpu').data())[0]), grads };
}

function expectClose(a: { loss: number; grads: number[][] }, b: { loss: number; grads: number[][] }): void {
  expect(a.loss).toBeCloseTo(b.loss, 5);
  a.grads.forEach((g, i) => g.forEach((v, j) => expect(Math.abs(v - b.grads[i]![j]!), `grad ${i}[${j}]: ${v} vs ${b.grads[i]![j]}`).toBeLessThan(1e-5)));
}

describeWebGPU(`autograd across cpu and webgpu${reason}`, () => {
  it('cpu → webgpu: the loss on webgpu, gradients of the cpu layer cross back; equal to cpu only', async () => {
    expectClose(await run(1, 'cpu', 'webgpu'), await run(1, 'cpu', 'cpu'));
  });

  it('webgpu → cpu: the loss on the cpu, gradients cross to webgpu; equal to cpu only', async () => {
    expectClose(await run(2, 'webgpu', 'cpu'), await run(2, 'cpu', 'cpu'));
  });

  it('webgpu → cpu → webgpu and back: a round trip through both devices', async () => {
    torch.manualSeed(3);
    const w = torch.randn(4, 4).requiresGrad_();
    const x = torch.randn(2, 4);
    const ref = x.matmul(w).sin().matmul(w).sum();
    await ref.backward();
    const want = [...(await w.grad!.data())];
    const wg = w.detach().to('webgpu').requiresGrad_();
    const mid = x.to('webgpu').matmul(wg).to('cpu').sin().to('webgpu');
    const loss = mid.matmul(wg).sum();
    await loss.backward();
    const got = [...(await wg.grad!.data())];
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
  });

  it('returns a promise only when a gradient must cross out of webgpu; undefined otherwise, as on one device', async () => {
    const w = torch.ones(3).requiresGrad_();
    expect(w.mul(2).sum().backward()).toBeUndefined();
    const wg = torch.ones(3, { device: 'webgpu' }).requiresGrad_();
    expect(wg.mul(2).sum().backward()).toBeUndefined();
    const p = w.to('webgpu').mul(2).sum().backward();
    expect(p).toBeInstanceOf(Promise);
    await p;
    expect([...w.grad!.dataSync()]).toEqual([4, 4, 4]);
  });

  it('a synchronous read before the gradients land says how to wait for them', async () => {
    const w = torch.ones(2).requiresGrad_();
    const p = w.to('webgpu').mul(3).sum().backward();
    expect(() => w.grad!.dataSync()).toThrow('copying from webgpu:0 needs an asynchronous read: use the async form (await tensor.data(), await loss.backward())');
    await p;
    expect([...w.grad!.dataSync()]).toEqual([3, 3]);
  });

  it('accumulates over two backward calls across devices, as on one device', async () => {
    const w = torch.tensor([1, 2, 3], { dtype: torch.float32 }).requiresGrad_();
    await w.to('webgpu').pow(2).sum().backward();
    await w.to('webgpu').mul(5).sum().backward();
    expect([...w.grad!.dataSync()]).toEqual([7, 9, 11]);
  });
});
