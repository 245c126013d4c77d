import { describe, expect, it } from 'vitest';
import * as fusorNn from '@fusor/nn';
import * as distributed from '@fusor/distributed';
import * as tensorApi from '@fusor/tensor';
import * as torch from '../src/index.js';

describe("import * as torch from 'fusor'", () => {
  it('gives the tensor API with the cpu backend registered', async () => {
    expect(torch.registeredBackends()).toContain('cpu');
    const a = torch.ones(2, 2, { requiresGrad: true });
    const out = a.pow(2).mul(3).mean();
    out.backward();
    expect(out.itemSync()).toBe(3);
    expect(await a.grad!.tolist()).toEqual([
      [1.5, 1.5],
      [1.5, 1.5],
    ]);
    // the same objects as @fusor/tensor's, so instanceof holds across both imports
    expect(torch.Tensor).toBe(tensorApi.Tensor);
    expect(torch.device('cuda:1').toString()).toBe('cuda:1');
  });

  it('re-exports every name of @fusor/tensor', () => {
    const missing = Object.keys(tensorApi).filter((k) => !(k in torch));
    expect(missing).toEqual([]);
  });

  it('has torch.nn, torch.optim, torch.utils.data, torch.safetensors, torch.distributed from their packages', () => {
    expect(torch.nn).toBe(fusorNn.nn);
    expect(torch.optim).toBe(fusorNn.optim);
    expect(torch.safetensors).toBe(fusorNn.safetensors);
    expect(torch.utils.data).toBe(fusorNn.data);
    // a namespace object: fills in as @fusor/distributed lands
    expect(Object.keys(torch.distributed)).toEqual(Object.keys(distributed));
  });

  it("registers webgpu and cuda on 'fusor/webgpu' and 'fusor/cuda'", async () => {
    expect(torch.registeredBackends()).not.toContain('webgpu');
    await import('../src/webgpu.js');
    expect(torch.registeredBackends()).toContain('webgpu');
    await import('../src/cuda.js');
    expect(torch.registeredBackends()).toContain('cuda');
    // registered is not available: tensors on cuda resolve the device, the backend says why it cannot run
    expect(torch.zeros(2, { device: torch.device('cuda') }).device).toBe('cuda:0');
  });
});
