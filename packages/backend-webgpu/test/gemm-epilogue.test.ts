/**
 * Epilogues in the webgpu GEMM routine: the elementwise chain after a product (a bias, an
 * activation, a scale, a residual) computed at the tiled GEMM's store, in one launch. Each case is
 * checked against the cpu backend (whose routines fuse no epilogue: the unfused path), and by
 * explain() for whether it fused.
 */
import { expect, it } from 'vitest';
import * as torch from '@fusor/tensor';
import { compilerStats } from '@fusor/runtime';
import { describeWebGPU } from './adapter.js';

const COMPILE_TIMEOUT = 120_000;
const F = torch.functional;

/** Largest |got − want| / (1 + |want|) over two tensors' values. */
async function worst(got: torch.Tensor, want: torch.Tensor): Promise<number> {
  expect(got.shape).toEqual(want.shape);
  const g = (await got.data()) as Float32Array;
  const w = (await want.data()) as Float32Array;
  let bad = 0;
  for (let i = 0; i < w.length; i++) bad = Math.max(bad, Math.abs(g[i]! - w[i]!) / (1 + Math.abs(w[i]!)));
  return bad;
}

/** The gemm launches explain() reports for `t` on webgpu, with their epilogues ('' where none). */
const gemmLaunches = (t: torch.Tensor): string[] =>
  torch
    .explain(t, { ir: false })
    .kernels.filter((k) => k.routine === 'gemm')
    .map((k) => k.epilogue ?? '');

type Case = [name: string, fn: (...xs: torch.Tensor[]) => torch.Tensor, shapes: number[][], epilogue: string];

const CASES: Case[] = [
  ['Linear + bias [N] + relu', (x, w, b) => x.matmul(w!.t()).add(b!).relu(), [[96, 80], [72, 80], [72]], 'reading float32[72]'],
  ['bias [1, N] + gelu', (x, w, b) => F.gelu(x.matmul(w!).add(b!)), [[70, 64], [64, 68], [1, 68]], 'EXP2'],
  // expm1 has no WGSL spelling: the epilogue renders its fallback
  ['alpha · A@B + a per-row bias [M, 1], sigmoid, tanh, expm1', (x, w, b) => x.matmul(w!).mul(0.25).add(b!).sigmoid().tanh().expm1(), [[64, 64], [64, 80], [64, 1]], 'reading float32[64, 1]'],
  [
    'batched, both operands transposed, bias + relu',
    (x, w, b) => x.transpose(1, 2).matmul(w!.transpose(1, 2)).add(b!).relu(),
    [[3, 48, 40], [3, 52, 48], [52]],
    'reading float32[52]',
  ],
  [
    'a residual read transposed and a bias that is a column of a matrix (both non-contiguous)',
    (x, w, r, c) => x.matmul(w!).add(r!.t()).add(c!.select(1, 2)),
    [[64, 72], [72, 60], [60, 64], [60, 5]],
    'reading float32[60, 64], float32[60, 5]',
  ],
  ['the result transposed, plus a bias per row of it', (x, w, b) => x.matmul(w!).t().add(b!), [[64, 72], [72, 60], [64]], 'reading float32[64]'],
];

describeWebGPU('gemm epilogues on webgpu', () => {
  for (const [name, fn, shapes, epilogue] of CASES) {
    it(
      `${name}: fused into the routine, equal to the unfused path`,
      async () => {
        torch.manualSeed(shapes.flat().length);
        const cpu = shapes.map((s) => torch.randn(s));
        const gpu = cpu.map((t) => t.to('webgpu'));
        for (const t of gpu) await t.data();
        const out = fn(...gpu);
        const launches = gemmLaunches(out);
        expect(launches).toHaveLength(1);
        expect(launches[0]).toContain(epilogue);
        expect(torch.explain(out).kernels).toHaveLength(1);
        const want = fn(...cpu);
        await want.data();
        const before = compilerStats().routines;
        expect(await worst(out, want)).toBeLessThan(1e-4);
        expect(compilerStats().routines).toBe(before + 1);
      },
      COMPILE_TIMEOUT,
    );
  }

  it('does not fuse when the product is also an output, or is reduced', async () => {
    torch.manualSeed(7);
    const [x, w, b] = [torch.randn(64, 72), torch.randn(72, 64), torch.randn(64)];
    const [xg, wg, bg] = [x, w, b].map((t) => t.to('webgpu')) as [torch.Tensor, torch.Tensor, torch.Tensor];
    for (const t of [xg, wg, bg]) await t.data();
    const y = xg.matmul(wg);
    const act = y.add(bg).relu();
    const plan = torch.explain([act, y], { ir: false }).kernels;
    expect(plan.map((k) => [k.routine ?? 'kernel', k.epilogue])).toEqual([
      ['gemm', undefined],
      ['kernel', undefined],
    ]);
    expect(await worst(act, x.matmul(w).add(b).relu())).toBeLessThan(1e-4);
    expect(await worst(y, x.matmul(w))).toBeLessThan(1e-4);
    const total = xg.matmul(wg).add(bg).sum(1);
    expect(gemmLaunches(total)).toEqual(['']);
    expect(await worst(total, x.matmul(w).add(b).sum(1))).toBeLessThan(1e-4);
  }, COMPILE_TIMEOUT);

  it('backward through a fused Linear + bias + relu gives the unfused gradients', async () => {
    torch.manualSeed(11);
    const host = [torch.randn(64, 72), torch.randn(64, 72), torch.randn(64)];
    const grads = async (device: string): Promise<torch.Tensor[]> => {
      const [x, w, b] = host.map((t) => t.to(device).detach().requiresGrad_()) as [torch.Tensor, torch.Tensor, torch.Tensor];
      x.matmul(w.t()).add(b).relu().mul(torch.arange(64).to(device)).sum().backward();
      return [x.grad!, w.grad!, b.grad!];
    };
    const want = await grads('cpu');
    const got = await grads('webgpu');
    for (let i = 0; i < 3; i++) expect(await worst(got[i]!, want[i]!)).toBeLessThan(1e-4);
  }, COMPILE_TIMEOUT);

  it('repeated steps with fresh inputs (a cached plan replays the fused launch with its bias)', async () => {
    torch.manualSeed(13);
    for (let step = 0; step < 3; step++) {
      const host = [torch.randn(64, 80), torch.randn(80, 64), torch.randn(64)];
      const [x, w, b] = host.map((t) => t.to('webgpu')) as [torch.Tensor, torch.Tensor, torch.Tensor];
      const want = host[0]!.matmul(host[1]!).add(host[2]!).relu();
      await want.data();
      for (const t of [x, w, b]) await t.data();
      const got = x.matmul(w).add(b).relu();
      const replayed = compilerStats().replayed;
      const routines = compilerStats().routines;
      got.realize(); // a synchronous realize plans and stores its plan (or replays one)
      expect(compilerStats().routines - routines).toBe(1);
      expect(await worst(got, want), `step ${step}`).toBeLessThan(1e-4);
      // the first step plans (and stores the plan); the others replay it with the new buffers
      expect(compilerStats().replayed - replayed, `step ${step}`).toBe(step === 0 ? 0 : 1);
    }
  }, COMPILE_TIMEOUT);

  it('jit replays a traced fused launch with new inputs', async () => {
    torch.manualSeed(17);
    const w = torch.randn(80, 64);
    const b = torch.randn(64);
    const [wg, bg] = [w.to('webgpu'), b.to('webgpu')];
    await Promise.all([wg.data(), bg.data()]);
    const layer = torch.jit((x: torch.Tensor) => x.matmul(wg).add(bg).relu());
    for (let step = 0; step < 3; step++) {
      const x = torch.randn(64, 80);
      const xg = x.to('webgpu');
      await xg.data();
      const got = layer(xg);
      expect(await worst(got, x.matmul(w).add(b).relu()), `step ${step}`).toBeLessThan(1e-4);
    }
  }, COMPILE_TIMEOUT);
});
