/**
 * Deep graphs on cuda, on the emulator (mock driver + NVRTC, kernels compiled for the host): the
 * CUDA C rendered for a 2,000-step recurrence, forward and backward, compiles and gives the same
 * recurrence's float64 values; every kernel is one `let`-style statement per op, never a nested
 * expression as deep as the chain.
 */
import { describe, expect, it } from 'vitest';
import type { Kernel } from '@fusor/compiler';
import { observeKernels } from '@fusor/runtime';
import { excessOver, SINE_CHAIN, sineChainReference } from '@fusor/conformance';
import * as torch from '@fusor/tensor';
import { renderCuda } from '../src/render-cuda.js';
import { emulatorUnavailable, installEmulator } from './emulator/emulator.js';

type T = torch.Tensor;
const why = emulatorUnavailable();
if (!why) installEmulator({ MOCK_CUDA_MEMORY: String(256 << 20) });
const cuda = await import('../src/index.js');
cuda.configureCuda({ diskCache: null });

/** The deepest nesting of parentheses in a source text. */
function nesting(source: string): number {
  let depth = 0;
  let most = 0;
  for (const ch of source) {
    if (ch === '(') most = Math.max(most, ++depth);
    else if (ch === ')') depth--;
  }
  return most;
}

describe.skipIf(why !== null)(`deep graphs on cuda (emulated)${why ? ` (skipped: ${why})` : ''}`, () => {
  it('forward and backward through a chain of 2,000 steps render, compile and give the float64 gradients', async () => {
    await torch.init('cuda');
    const kernels = new Map<string, Kernel>();
    const stop = observeKernels((k) => void kernels.set(k.key, k));
    torch.manualSeed(2);
    const w0 = torch.randn(50);
    const w = w0.cuda().detach().requiresGrad_();
    let x: T = w;
    for (let i = 0; i < 2000; i++) x = x.mul(SINE_CHAIN.a).add(x.sin().mul(SINE_CHAIN.b));
    const loss = x.pow(2).sum();
    loss.backward();
    const gotX = x.dataSync();
    const gotG = w.grad!.dataSync();
    stop();
    const want = sineChainReference(w0.dataSync() as Float32Array, 2000);
    expect(excessOver(gotX, want.values, 1e-4)).toBeLessThanOrEqual(1e-5);
    expect(excessOver(gotG, want.grads, 1e-4)).toBeLessThanOrEqual(1e-5);
    // the chain's kernels: cut at 256 ops a path, each op its own statement
    expect(kernels.size).toBeGreaterThan(1);
    for (const k of kernels.values()) {
      const source = renderCuda(k);
      expect(nesting(source)).toBeLessThan(12);
      expect(source.length).toBeLessThan(20_000 + 200 * k.key.split('\n').length);
    }
  }, 120_000);
});
