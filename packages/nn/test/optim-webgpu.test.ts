/** A subset of the optimizer golden cases on webgpu (SwiftShader in CI), plus a safetensors round trip. */
import { describe, expect, it } from 'vitest';
import * as torch from '@fusor/tensor';
import '@fusor/backend-webgpu';
import { safetensors } from '../src/index.js';
import { firstMismatch, optimCases, runCase } from './optim-golden.js';

const adapter = await torch.init('webgpu').then(
  () => ({ ok: true as const }),
  (e: Error) => ({ ok: false as const, reason: e.message }),
);
// without an adapter: skipped with the reason here, a failure in CI (which sets one up)
const describeWebGPU = adapter.ok || process.env['CI'] ? describe : describe.skip;
const reason = adapter.ok ? '' : ` — no WebGPU adapter here: ${adapter.reason}`;

const SUBSET = ['sgd_nesterov_maximize', 'sgd_groups', 'adam_wd_amsgrad', 'adam_missing_grad', 'adamw_amsgrad', 'rmsprop_centered_momentum_wd', 'adagrad_decay_wd_init'];

describeWebGPU(`optimizers on webgpu${reason}`, () => {
  for (const c of optimCases.filter((c) => SUBSET.includes(c.name))) {
    it(`${c.name}: PyTorch's trajectory`, async () => {
      const got = await runCase(c, 'webgpu');
      got.forEach((row, k) => row.forEach((p, i) => expect(firstMismatch(p, c.trajectory[k]![i]!), `${c.name} step ${k + 1} param ${i}`).toBeNull()));
    });
  }

  it('safetensors saves webgpu tensors (saveAsync) and loads onto webgpu', async () => {
    const cpu = { w: torch.tensor([[1.5, -2], [3, 4]], { dtype: torch.float32 }), n: torch.tensor([1, 2, 3], { dtype: torch.int32 }) };
    const bytes = await safetensors.saveAsync({ w: cpu.w.to('webgpu'), n: cpu.n.to('webgpu') });
    expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(safetensors.save(cpu)).toString('hex'));
    const back = safetensors.load(bytes, { device: 'webgpu' });
    expect([back['w']!.device, await back['w']!.tolist(), await back['n']!.tolist()]).toEqual(['webgpu:0', [[1.5, -2], [3, 4]], [1, 2, 3]]);
  });
});
