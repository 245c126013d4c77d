/** The training loop in flat memory on a real WebGPU adapter (reads are asynchronous: the loop awaits the loss). */
import { runMemoryChecks } from '@fusor/conformance';
import * as torch from '@fusor/tensor';
import { describe, expect, it } from 'vitest';
import { adapter, describeWebGPU } from './adapter.js';

if (adapter.ok) {
  runMemoryChecks('webgpu', { steps: 1000 });
  describe('asynchronous reads and the runtime cache', () => {
    it('concurrent reads under an empty cache budget each get their own values', async () => {
      const budget = torch.getCacheBudget();
      torch.setCacheBudget({ buffers: 0, bytes: 0 });
      try {
        const base = torch.arange(64, { device: 'webgpu' }).float();
        const outs = Array.from({ length: 24 }, (_, i) => base.mul(i).add(1).softmax(0).mul(64));
        const read = await Promise.all(outs.map((t) => t.data()));
        const want = await Promise.all(Array.from({ length: 24 }, (_, i) => torch.arange(64).float().mul(i).add(1).softmax(0).mul(64).data()));
        read.forEach((r, i) => Array.from(r as Float32Array).forEach((v, j) => expect(v).toBeCloseTo((want[i] as Float32Array)[j]!, 4)));
      } finally {
        torch.setCacheBudget(budget);
      }
    });
  });
} else describeWebGPU('memory on webgpu', () => it('keeps the training loop flat', () => {}));
