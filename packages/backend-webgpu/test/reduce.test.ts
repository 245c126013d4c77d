/**
 * Reductions on webgpu against cpu, on both renderings: one workgroup per output (few outputs,
 * long rows: the workgroup-tree reduction) and one invocation per output (the fallback).
 */
import { expect, it } from 'vitest';
import * as torch from '@fusor/tensor';
import { planSchedule, lower } from '@fusor/compiler';
import { DEFAULT_WGSL_OPTIONS, isCooperative } from '@fusor/backend-webgpu';
import { describeWebGPU } from './adapter.js';

const close = (got: ArrayLike<number>, want: ArrayLike<number>, rtol = 1e-5): void => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    if (Number.isNaN(w)) expect(got[i], `element ${i}`).toBeNaN();
    else if (!Number.isFinite(w)) expect(got[i], `element ${i}`).toBe(w);
    else expect(Math.abs(got[i]! - w), `element ${i}: ${got[i]} vs ${w}`).toBeLessThanOrEqual(rtol * (1 + Math.abs(w)));
  }
};

/** Whether realizing `t` (built on cpu) would render its reduction cooperatively. */
const cooperative = (t: torch.Tensor): boolean[] =>
  planSchedule([t.node])
    .filter((i) => i.kind === 'kernel')
    .map((i) => isCooperative(lower(i).kernel, DEFAULT_WGSL_OPTIONS));

describeWebGPU('reductions on webgpu', () => {
  it('full and few-row reductions (workgroup tree) and many-row ones (one invocation per row) match cpu', async () => {
    torch.manualSeed(5);
    const x = torch.randn(3, 5000);
    const cases: [string, (t: torch.Tensor) => torch.Tensor, boolean][] = [
      ['sum of all', (t) => t.sum(), true],
      ['mean of rows', (t) => t.mean(1), true],
      ['amax of rows', (t) => t.amax(1), true],
      ['logsumexp of rows', (t) => t.logsumexp(1), true],
      ['softmax of rows', (t) => t.softmax(1), true],
      ['sum of exp over all, a fused chain', (t) => t.mul(0.5).add(1).relu().exp().sum(), true],
      ['sum of columns (5000 outputs)', (t) => t.sum(0), false],
    ];
    for (const [name, f, coop] of cases) {
      expect(cooperative(f(x)).some(Boolean), name).toBe(coop);
      close((await f(x.to('webgpu')).data()) as Float32Array, (await f(x).data()) as Float32Array);
    }
  }, 120_000);

  it('NaN and infinities propagate through the workgroup tree as on cpu', async () => {
    const v = new Float32Array(4096).map((_, i) => Math.sin(i));
    v[3001] = NaN;
    const w = new Float32Array(4096).map((_, i) => Math.cos(i));
    w[17] = Infinity;
    for (const host of [v, w]) {
      const t = torch.tensor(host).reshape(2, 2048);
      for (const f of [(x: torch.Tensor) => x.amax(1), (x: torch.Tensor) => x.sum(1), (x: torch.Tensor) => x.amin(1)]) {
        close((await f(t.to('webgpu')).data()) as Float32Array, (await f(t).data()) as Float32Array);
      }
    }
  }, 120_000);
});
