/**
 * Fusion is the compiler's, not the backend's: the same programs give the same kernels on cpu
 * and webgpu, unless the adapter's storage-buffer limit forces a split, which explain() says.
 */
import { describe, expect, it } from 'vitest';
import { type Backend } from '@fusor/compiler';
import { getBackend, registerBackend } from '@fusor/runtime';
import * as torch from '@fusor/tensor';
import { webgpuBackend } from '@fusor/backend-webgpu';
import { describeWebGPU } from './adapter.js';

type Program = (device: string) => torch.Tensor;

const PROGRAMS: Record<string, Program> = {
  'elementwise chain': (d) => torch.rand(4, 3, { device: d }).mul(2).add(1).relu().sum(),
  softmax: (d) => torch.rand(5, 7, { device: d }).softmax(1),
  'linear + relu': (d) => torch.rand(8, 4, { device: d }).matmul(torch.rand(4, 16, { device: d })).add(torch.rand(16, { device: d })).relu(),
  'mean and variance': (d) => torch.rand(6, 10, { device: d }).var(1).add(torch.rand(6, 10, { device: d }).mean(1)),
  'log-softmax loss': (d) => torch.rand(8, 5, { device: d }).logSoftmax(1).mul(torch.rand(8, 5, { device: d })).sum(1).mean().neg(),
  'integer math': (d) => torch.arange(12, { device: d }).reshape(3, 4).mul(3).remainder(5).sum(0),
};

const kernelCount = (p: Program, device: string): number => {
  torch.manualSeed(0);
  return torch.explain(p(device)).kernels.length;
};

/** A two-layer MLP step's kernels, forward and backward, realized together as backward() does. */
function mlpStepKernels(device: string): number {
  torch.manualSeed(1);
  const w1 = torch.randn(4, 16, { device }).mul(0.5).requiresGrad_();
  const w2 = torch.randn(16, 3, { device }).mul(0.5).requiresGrad_();
  const x = torch.randn(8, 4, { device });
  const loss = x.matmul(w1).relu().matmul(w2).pow(2).mean();
  const [g1, g2] = torch.autograd.grad([loss], [w1, w2], { createGraph: false });
  return torch.explain([loss, g1!, g2!]).kernels.length;
}

describeWebGPU('kernel counts on webgpu', () => {
  for (const [name, program] of Object.entries(PROGRAMS)) {
    it(`${name}: as many kernels as on cpu`, () => {
      expect(kernelCount(program, 'webgpu')).toBe(kernelCount(program, 'cpu'));
    });
  }

  it('an MLP training step: as many kernels as on cpu', () => {
    expect(mlpStepKernels('webgpu')).toBe(mlpStepKernels('cpu'));
  });

  it('a kernel reading more buffers than the adapter binds is split, and explain() says why', async () => {
    const limit = webgpuBackend.capabilities.maxBuffers;
    // limit + 1 inputs and the output: one kernel on cpu, two on webgpu
    const inputs = (device: string): torch.Tensor[] => Array.from({ length: limit + 1 }, (_, i) => torch.tensor(new Float32Array(4).fill(i + 1), { device }));
    const total = (xs: torch.Tensor[]): torch.Tensor => xs.reduce((a, b) => a.add(b));
    const cpuPlan = torch.explain(total(inputs('cpu')));
    const gpuInputs = inputs('webgpu');
    const gpuPlan = torch.explain(total(gpuInputs));
    expect(cpuPlan.kernels).toHaveLength(1);
    expect(gpuPlan.kernels).toHaveLength(2);
    expect(gpuPlan.kernels[0]!.reason).toBe(`the kernel would bind ${limit + 2} buffers, more than webgpu allows (maxBuffers ${limit})`);
    expect(gpuPlan.kernels.every((k) => k.inputs.length + 1 <= limit)).toBe(true);
    const n = limit + 1;
    expect(await total(gpuInputs).tolist()).toEqual([0, 0, 0, 0].map(() => (n * (n + 1)) / 2));
  });
});

describe('the scheduler split, on a backend that binds 3 buffers', () => {
  const cpu = getBackend('cpu');
  const tiny: Backend = { ...cpu, name: 'tiny', capabilities: { ...cpu.capabilities, maxBuffers: 3 } };
  registerBackend(tiny);

  it('splits a 5-buffer kernel until every kernel binds at most 3, with the same values', () => {
    const xs = [1, 2, 3, 4].map((v) => torch.tensor([v, 10 * v], { dtype: torch.float32, device: 'tiny' }));
    const y = xs[0]!.mul(xs[1]!).add(xs[2]!.mul(xs[3]!)).abs();
    const plan = torch.explain(y);
    expect(plan.kernels.length).toBeGreaterThan(1);
    for (const k of plan.kernels) expect(k.inputs.length + 1).toBeLessThanOrEqual(3);
    expect(plan.kernels.some((k) => k.reason.includes('more than tiny allows (maxBuffers 3)'))).toBe(true);
    const got = y.tolistSync() as number[];
    [14, 1400].forEach((v, i) => expect(got[i]).toBeCloseTo(v, 3));
  });
});
