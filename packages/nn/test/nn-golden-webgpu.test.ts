/**
 * Every nn golden case on a real WebGPU adapter (SwiftShader in CI): every module (layers, norms,
 * embedding, convolution and pooling, attention, transformers, RNN/LSTM/GRU) and every loss. No case needs a
 * dtype webgpu lacks (float64), so nothing is skipped for dtype; without an adapter the suite is
 * skipped with the reason locally and fails in CI.
 */
import * as torch from '@fusor/tensor';
import '@fusor/backend-webgpu';
import { describe, it } from 'vitest';
import { LOSSES, MODULES, runFnCase, runModuleCase } from './nn-golden.js';

const adapter = await torch.init('webgpu').then(
  (d) => ({ ok: true as const, d }),
  (e: Error) => ({ ok: false as const, reason: e.message }),
);

// Every module case, recurrent ones included: with the index simplifier, the gather windows
// and the recurrent layers' step boundaries all of them (with the losses, 114 cases) take about 15 s on SwiftShader (they took
// minutes to compile each before).

const suite = (name: string, body: () => void): void => {
  if (adapter.ok) describe(name, body);
  else if (process.env['CI']) {
    describe(name, () => {
      it('has a WebGPU adapter (required in CI)', () => {
        throw new Error(`no WebGPU adapter in CI: ${(adapter as { reason: string }).reason}`);
      });
    });
  } else describe.skip(`${name} — no WebGPU adapter here: ${(adapter as { reason: string }).reason}`, body);
};

suite('nn modules match PyTorch 1.13 (webgpu)', () => {
  for (const c of MODULES.cases) it(c.name, { timeout: 120_000 }, () => runModuleCase(c, 'webgpu'));
});

suite('nn losses and functions match PyTorch 1.13 (webgpu)', () => {
  for (const c of LOSSES.cases) it(c.name, { timeout: 60_000 }, () => runFnCase(c, 'webgpu'));
});
