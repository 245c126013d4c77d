/**
 * Parallelism across cpu and webgpu (SwiftShader in CI): the shared suite (parallel-cases.ts),
 * and webgpu's own side of autograd across devices: backward through `.to()` gives the
 * gradients of the same graph on one device. webgpu has no synchronous read, so a backward whose
 * gradients cross from webgpu to the cpu returns a promise (`await loss.backward()`).
 */
import { describe, expect, it } from 'vitest';
import * as torch from '@fusor/tensor';
import '@fusor/backend-webgpu';
import { nn } from '../src/index.js';
import { expectClose, parallelSuite, vals } from './parallel-cases.js';

const adapter = await torch.init('webgpu').then(
  () => ({ ok: true as const }),
  (e: Error) => ({ ok: false as const, reason: e.message }),
);
// without an adapter: skipped with the reason here, a failure in CI (which sets one up)
const describeWebGPU = adapter.ok || process.env['CI'] ? describe : describe.skip;
const reason = adapter.ok ? '' : ` — no WebGPU adapter here: ${adapter.reason}`;

describeWebGPU(`parallelism across cpu and webgpu: autograd, model parallel, Pipe, tensor parallel, DataParallel${reason}`, () => {
  parallelSuite('cpu', 'webgpu:0');

  it('webgpu → cpu → webgpu and back: a round trip through both devices', async () => {
    torch.manualSeed(3);
    const w = torch.randn(4, 4).requiresGrad_();
    const x = torch.randn(2, 4);
    const ref = x.matmul(w).sin().matmul(w).sum();
    await ref.backward();
    const want = await vals(w.grad!);
    const wg = w.detach().to('webgpu').requiresGrad_();
    const mid = x.to('webgpu').matmul(wg).to('cpu').sin().to('webgpu');
    const loss = mid.matmul(wg).sum();
    await loss.backward();
    expect(wg.grad!.device).toBe('webgpu:0');
    await expectClose(wg.grad!, want, 'grad');
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

  it('DataParallel with a batch smaller than its devices runs fewer replicas (as torch.chunk splits)', async () => {
    torch.manualSeed(9);
    const lin = new nn.Linear(3, 2);
    const dp = new nn.DataParallel(lin, { deviceIds: ['cpu', 'webgpu:0'], outputDevice: 'webgpu:0' });
    const x = torch.randn(1, 3);
    const out = dp.forward(x);
    expect([out.device, out.shape]).toEqual(['webgpu:0', [1, 2]]);
    await expectClose(out, lin.forward(x), 'output');
    const p = out.sum().backward();
    expect(p).toBeInstanceOf(Promise);
    await p;
    expect([...lin.weight.grad!.dataSync()]).toEqual([...x.dataSync(), ...x.dataSync()]);
  });

  it('accumulates over two backward calls across devices, as on one device', async () => {
    const w = torch.tensor([1, 2, 3], { dtype: torch.float32 }).requiresGrad_();
    await w.to('webgpu').pow(2).sum().backward();
    await w.to('webgpu').mul(5).sum().backward();
    expect([...w.grad!.dataSync()]).toEqual([7, 9, 11]);
  });
});
