/**
 * Reductions on webgpu against cpu, on both renderings: one workgroup per output (few outputs,
 * long rows: the workgroup-tree reduction) and one invocation per output (the fallback).
 */
import { expect, it } from 'vitest';
import * as torch from '@fusor/tensor';
import { lower } from '@fusor/compiler';
import { getBuffer, planSchedule } from '@fusor/runtime';
import { DEFAULT_WGSL_OPTIONS, isCooperative, reductionMode, renderWgsl, SUBGROUP_MARK, webgpuBackend, webgpuSubgroupSize, type WebGPUBuffer } from '@fusor/backend-webgpu';
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

  it('one subgroup per row (forced where the device has subgroups) matches cpu; without subgroups, one invocation per row', async () => {
    const sg = webgpuSubgroupSize();
    torch.manualSeed(9);
    const host = torch.randn(37, 129);
    const x = host.to('webgpu');
    await x._realizeAsync();
    const input = getBuffer(x.node)!.handle as WebGPUBuffer;
    const cases: [string, (t: torch.Tensor) => torch.Tensor][] = [
      ['sum of exp', (t) => t.exp().sum(1)],
      ['amax', (t) => t.amax(1)],
      ['mean of squares', (t) => t.mul(t).mean(1)],
    ];
    for (const [name, f] of cases) {
      const items = planSchedule([f(x).node]).filter((i) => i.kind === 'kernel');
      expect(items, name).toHaveLength(1);
      const { kernel, varValues } = lower(items[0]!);
      // the fallback: without a subgroup size the kernel keeps one invocation per row
      expect(reductionMode(kernel, DEFAULT_WGSL_OPTIONS), name).toBe('invocation');
      if (!sg) continue;
      const opts = { ...DEFAULT_WGSL_OPTIONS, subgroupSize: sg };
      expect(reductionMode(kernel, opts), name).toBe('subgroup');
      const code = renderWgsl(kernel, opts).code;
      expect(code.startsWith(`${SUBGROUP_MARK}${64 / sg}`)).toBe(true);
      expect(code).toContain('subgroupShuffleXor(');
      const out = webgpuBackend.alloc('float32', kernel.size, 0);
      webgpuBackend.launch(webgpuBackend.compile(renderWgsl(kernel, opts), kernel), [out, input], varValues);
      const got = (await webgpuBackend.read(out)) as Float32Array;
      webgpuBackend.free(out);
      close(got, (await f(host).data()) as Float32Array);
    }
  }, 120_000);
});
