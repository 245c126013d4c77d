/**
 * Deep graphs on webgpu: a 2,000-step recurrence forward and backward, and a 10,000-op forward
 * chain, against the same recurrence in float64 (plain JS). Kernels are cut at the backend's
 * maxFusedDepth, so no shader is deeper than that.
 */
import { expect, it } from 'vitest';
import { excessOver, SINE_CHAIN, sineChainReference } from '@fusor/conformance';
import * as torch from '@fusor/tensor';
import { describeWebGPU } from './adapter.js';

type T = torch.Tensor;
const f32 = Math.fround;

describeWebGPU('deep graphs on webgpu', () => {
  it('forward and backward through a chain of 2,000 steps give the float64 gradients', async () => {
    torch.manualSeed(2);
    const w0 = torch.randn(50);
    const w = w0.to('webgpu').detach().requiresGrad_();
    let x: T = w;
    for (let i = 0; i < 2000; i++) x = x.mul(SINE_CHAIN.a).add(x.sin().mul(SINE_CHAIN.b));
    const loss = x.pow(2).sum();
    await loss.backward();
    const want = sineChainReference(w0.dataSync() as Float32Array, 2000);
    expect(excessOver(await x.data(), want.values, 1e-4)).toBeLessThanOrEqual(1e-5);
    expect(excessOver(await w.grad!.data(), want.grads, 1e-4)).toBeLessThanOrEqual(1e-5);
  }, 120_000);

  it('a forward chain of 10,000 lazy ops reads the float64 recurrence', async () => {
    torch.manualSeed(1);
    const x0 = torch.randn(100);
    const init = Array.from(x0.dataSync() as Float32Array);
    let x = x0.to('webgpu');
    for (let i = 0; i < 10000; i++) x = x.mul(0.9999).add(1e-4).relu();
    const kernels = torch.explain(x).kernels;
    // the device copy, then kernels at most 64 ops deep (each one still many steps)
    expect(kernels.length).toBeGreaterThan(30000 / 64);
    expect(kernels.length).toBeLessThan(10000 / 4);
    const [a, b] = [f32(0.9999), f32(1e-4)];
    const want = init.map((v) => {
      for (let i = 0; i < 10000; i++) v = Math.max(v * a + b, 0);
      return v;
    });
    expect(excessOver(await x.data(), want, 20000 * 2 ** -24)).toBeLessThanOrEqual(1e-6);
  }, 120_000);
});
