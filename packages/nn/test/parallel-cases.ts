/**
 * The three ways of parallelism of the primer (and autograd across devices under them), as one
 * suite run on a pair of devices: cpu + webgpu (SwiftShader), the cuda emulator's cuda:0 + cuda:1,
 * cpu + cuda. Every result is compared with the same model on the cpu alone.
 */
import { expect, it } from 'vitest';
import * as torch from '@fusor/tensor';
import type { Tensor } from '@fusor/tensor';
import { planSchedule } from '@fusor/runtime';
import { nn, optim } from '../src/index.js';

const F = nn.functional;

/** A tensor's values on the host (webgpu has only the asynchronous read). */
export const vals = async (t: Tensor): Promise<number[]> => [...(await t.to('cpu').data())].map(Number);

export async function expectClose(got: Tensor | number[], want: Tensor | number[], what: string, tol = 1e-5): Promise<void> {
  const g = Array.isArray(got) ? got : await vals(got);
  const w = Array.isArray(want) ? want : await vals(want);
  expect(g.length, `${what}: length`).toBe(w.length);
  g.forEach((v, i) => expect(Math.abs(v - w[i]!), `${what}[${i}]: ${v} vs ${w[i]}`).toBeLessThanOrEqual(tol * (1 + Math.abs(w[i]!))));
}

/** Gradients of a functional two-layer net, its layers on d1 and d2, the leaves made on their layer's device. */
async function twoLayer(seed: number, d1: string, d2: string, how: 'backward' | 'grad' = 'backward'): Promise<{ loss: number[]; grads: number[][] }> {
  torch.manualSeed(seed);
  const [x, w1, b1, w2, b2] = [torch.randn(8, 6), torch.randn(8, 6), torch.randn(8), torch.randn(3, 8), torch.randn(3)];
  const on = (t: Tensor, d: string): Tensor => t.to(d).requiresGrad_();
  const ps = [on(w1, d1), on(b1, d1), on(w2, d2), on(b2, d2)];
  const h = F.linear(x.to(d1), ps[0]!, ps[1]!).tanh();
  const loss = F.linear(h.to(d2), ps[2]!, ps[3]!).pow(2).mean();
  if (how === 'grad') {
    // torch.autograd.grad: returned lazy where realizing needs a read out of webgpu, awaited by data()
    const gs = torch.autograd.grad(loss, ps) as Tensor[];
    gs.forEach((g, i) => expect(g.device).toBe(ps[i]!.device));
    expect(ps.every((p) => p.grad === null)).toBe(true);
    return { loss: await vals(loss), grads: await Promise.all(gs.map(vals)) };
  }
  await loss.backward();
  for (const p of ps) expect(p.grad!.device).toBe(p.device);
  return { loss: await vals(loss), grads: await Promise.all(ps.map((p) => vals(p.grad!))) };
}

/** The primer's model-parallel example: two submodules placed with .to(device), forward moving the activation between them. */
class TwoDeviceNet extends nn.Module {
  declare seq1: nn.Sequential;
  declare seq2: nn.Sequential;
  constructor(
    readonly d0: string,
    readonly d1: string,
    init?: nn.StateDict,
  ) {
    super();
    this.seq1 = new nn.Sequential(new nn.Linear(6, 8), new nn.ReLU(), new nn.Linear(8, 8));
    this.seq2 = new nn.Sequential(new nn.Tanh(), new nn.Linear(8, 3));
    if (init) this.loadStateDict(init);
    this.seq1.to(d0);
    this.seq2.to(d1);
  }
  override forward(x: Tensor): Tensor {
    return this.seq2.forward(this.seq1.forward(x.to(this.d0)).to(this.d1));
  }
}

/** Trains `model` `steps` SGD steps (momentum) on fixed batches; returns the losses. */
async function train(model: nn.Module, steps: number): Promise<number[]> {
  const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  const losses: number[] = [];
  torch.manualSeed(100);
  const batches = Array.from({ length: steps }, () => [torch.randn(8, 6), torch.randint(0, 3, [8])] as const);
  for (const [x, y] of batches) {
    opt.zeroGrad();
    const out = model.forward(x);
    const loss = F.crossEntropy(out, y.to(out.device));
    await loss.backward();
    opt.step();
    losses.push(Number(await loss.item()));
  }
  return losses;
}

const gradsOf = (m: nn.Module): Promise<number[][]> => Promise.all([...m.parameters()].map((p) => vals(p.grad!)));

export type Part = 'autograd' | 'model' | 'pipe' | 'tensor' | 'data';
const ALL: readonly Part[] = ['autograd', 'model', 'pipe', 'tensor', 'data'];

/** Registers the suite's tests (all, or the `parts` named) for devices d0 and d1. */
export function parallelSuite(d0: string, d1: string, timeout = 60_000, parts: readonly Part[] = ALL): void {
  // parts left out are not registered at all (not reported as skipped)
  const it_ = (part: Part): typeof it => (parts.includes(part) ? it : ((() => undefined) as unknown as typeof it));
  it_('autograd')(`backward across ${d0} → ${d1} and ${d1} → ${d0} gives the single-device gradients`, async () => {
    const ref = await twoLayer(7, 'cpu', 'cpu');
    for (const [a, b] of [
      [d0, d1],
      [d1, d0],
    ] as const) {
      const got = await twoLayer(7, a, b);
      await expectClose(got.loss, ref.loss, `loss ${a}→${b}`);
      for (const [i, g] of got.grads.entries()) await expectClose(g, ref.grads[i]!, `grad ${i} ${a}→${b}`);
    }
  }, timeout);

  it_('autograd')(`torch.autograd.grad across ${d0} → ${d1} and ${d1} → ${d0} gives the single-device gradients`, async () => {
    const ref = await twoLayer(8, 'cpu', 'cpu', 'grad');
    for (const [a, b] of [
      [d0, d1],
      [d1, d0],
    ] as const) {
      const got = await twoLayer(8, a, b, 'grad');
      await expectClose(got.loss, ref.loss, `loss ${a}→${b}`);
      for (const [i, g] of got.grads.entries()) await expectClose(g, ref.grads[i]!, `grad ${i} ${a}→${b}`);
    }
  }, timeout);

  it_('model')(`model parallel (${d0} | ${d1}): the primer's example trains with the single-device losses`, async () => {
    torch.manualSeed(1);
    const single = new TwoDeviceNet('cpu', 'cpu');
    const split = new TwoDeviceNet(d0, d1, single.stateDict());
    expect([...split.seq1.parameters()].every((p) => p.device === d0)).toBe(true);
    expect([...split.seq2.parameters()].every((p) => p.device === d1)).toBe(true);
    const got = await train(split, 4);
    const want = await train(single, 4);
    await expectClose(got, want, 'losses');
    const gs = await gradsOf(split);
    const ws = await gradsOf(single);
    for (const [i, g] of gs.entries()) await expectClose(g, ws[i]!, `final grad ${i}`);
  }, timeout);

  it_('pipe')(`Pipe over ${d0} and ${d1} (GPipe, 3 micro-batches of 3, 3, 2): the unpipelined output and gradients`, async () => {
    torch.manualSeed(2);
    const layers = (): nn.Sequential => new nn.Sequential(new nn.Linear(6, 8), new nn.Tanh(), new nn.Linear(8, 8), new nn.ReLU(), new nn.Linear(8, 3));
    const ref = layers();
    const seq = layers();
    seq.loadStateDict(ref.stateDict());
    const pipe = new nn.parallel.Pipe(seq, { chunks: 3, balance: [2, 3], devices: [d0, d1] });
    expect(pipe.devices).toEqual([d0, d1]);
    expect([...(pipe.partitions.get(1) as nn.Module).parameters()].every((p) => p.device === d1)).toBe(true);
    const x = torch.randn(8, 6);
    const out = pipe.forward(x);
    expect(out.device).toBe(d1);
    expect(out.shape).toEqual([8, 3]);
    const want = ref.forward(x);
    await expectClose(out, want, 'output');
    await out.pow(2).sum().backward();
    await want.pow(2).sum().backward();
    const [gs, ws] = [await gradsOf(seq), await gradsOf(ref)];
    for (const [i, g] of gs.entries()) await expectClose(g, ws[i]!, `grad ${i}`);
    // stages found from where the modules already are
    const placed = new nn.Sequential(new nn.Linear(6, 8).to(d0), new nn.ReLU(), new nn.Linear(8, 3).to(d1));
    expect(new nn.parallel.Pipe(placed, { chunks: 2 }).devices).toEqual([d0, d1]);
  }, timeout);

  it_('tensor')(`ColumnParallelLinear, RowParallelLinear and the parallel MLP over ${d0} and ${d1}: the unsplit layers' values and gradients`, async () => {
    torch.manualSeed(3);
    const fc1 = new nn.Linear(6, 9);
    const fc2 = new nn.Linear(9, 3);
    const x = torch.randn(8, 6);
    // the reference: the unsplit layers on the cpu
    const h = F.gelu(fc1.forward(x));
    const want = fc2.forward(h);
    await want.pow(2).sum().backward();
    const mlp = nn.parallel.ParallelMLP.fromSequential(fc1, new nn.GELU(), fc2, { devices: [d0, d1] });
    const shards1 = [...mlp.fc1.shards.children()] as nn.parallel.LinearShard[];
    expect(shards1.map((s) => [s.weight.device, s.weight.shape])).toEqual([
      [d0, [5, 6]],
      [d1, [4, 6]],
    ]);
    const shards2 = [...mlp.fc2.shards.children()] as nn.parallel.LinearShard[];
    expect(shards2.map((s) => [s.weight.device, s.weight.shape])).toEqual([
      [d0, [3, 5]],
      [d1, [3, 4]],
    ]);
    const got = mlp.forward(x);
    expect(got.device).toBe(d0);
    await expectClose(got, want, 'MLP output');
    await got.pow(2).sum().backward();
    // the shards' gradients are the slices of the unsplit gradients
    await expectClose(torch.cat(await Promise.all(shards1.map(async (s) => s.weight.grad!.to('cpu'))), 0), fc1.weight.grad!, 'fc1 weight grad');
    await expectClose(torch.cat(shards1.map((s) => s.bias!.grad!.to('cpu')), 0), fc1.bias!.grad!, 'fc1 bias grad');
    await expectClose(torch.cat(shards2.map((s) => s.weight.grad!.to('cpu')), 1), fc2.weight.grad!, 'fc2 weight grad');
    await expectClose(mlp.fc2.bias!.grad!, fc2.bias!.grad!, 'fc2 bias grad');
    // each layer alone, gathered (column) and summed (row)
    const col = nn.parallel.ColumnParallelLinear.fromLinear(fc1, { devices: [d0, d1], outputDevice: d1 });
    const y = col.forward(x);
    expect([y.device, y.shape]).toEqual([d1, [8, 9]]);
    await expectClose(y, fc1.forward(x), 'column output');
    const row = nn.parallel.RowParallelLinear.fromLinear(fc2, { devices: [d0, d1] });
    await expectClose(row.forward(h.detach()), fc2.forward(h.detach()), 'row output');
  }, timeout);

  it_('data')(`DataParallel over [${d0}, ${d1}]: one device's output and gradients, summed into the module's parameters`, async () => {
    torch.manualSeed(4);
    const make = (): nn.Sequential => new nn.Sequential(new nn.Linear(6, 8), new nn.ReLU(), new nn.Linear(8, 3));
    const ref = make();
    const model = make();
    model.loadStateDict(ref.stateDict());
    model.to(d0);
    const dp = new nn.DataParallel(model, { deviceIds: [d0, d1] });
    expect(dp.module).toBe(model);
    expect([...dp.parameters()].length).toBe(4);
    const x = torch.randn(7, 6);
    const y = torch.randint(0, 3, [7]);
    const out = dp.forward(x);
    expect([out.device, out.shape]).toEqual([d0, [7, 3]]);
    // the replica on d1 (webgpu, cuda: its own queue) was issued by forward, to run while the
    // replica on d0 computes: nothing of it is left to compute but the gather's copy
    if (d1 !== 'cpu' && !d0.startsWith('webgpu')) {
      expect(planSchedule([out.node]).filter((it) => it.kind !== 'copy' && it.root.device === d1).map((it) => it.kind)).toEqual([]);
    }
    const want = ref.forward(x);
    await expectClose(out, want, 'output');
    await F.crossEntropy(out, y.to(d0)).backward();
    await F.crossEntropy(want, y).backward();
    for (const p of model.parameters()) expect(p.device).toBe(d0);
    const [gs, ws] = [await gradsOf(model), await gradsOf(ref)];
    for (const [i, g] of gs.entries()) await expectClose(g, ws[i]!, `grad ${i}`);
    // outputs gathered elsewhere; the module is left as it was (no replica parameters stay in it)
    const other = new nn.DataParallel(model, { deviceIds: [d0, d1], outputDevice: d1 });
    expect(other.forward(x).device).toBe(d1);
    expect([...model.parameters()].every((p) => p.device === d0 && p instanceof nn.Parameter)).toBe(true);
    expect((model.get(0) as nn.Linear).weight.device).toBe(d0);
    expect(() => new nn.DataParallel(model, { deviceIds: [d1, d0] }).forward(x)).toThrow(
      `module must have its parameters and buffers on device ${d1} (device_ids[0]) but found one of them on device: ${d0}`,
    );
  }, timeout);
}
