/** The backend on a real adapter (SwiftShader in CI): values against cpu, dtypes, errors, devices. */
import { expect, it } from 'vitest';
import * as torch from '@fusor/tensor';
import { Int64RangeError, webgpuStats } from '@fusor/backend-webgpu';
import { adapter, describeWebGPU } from './adapter.js';

const GPU = 'webgpu';

/** Reads a tensor as plain numbers. */
async function values(t: torch.Tensor): Promise<number[]> {
  return Array.from(await t.data(), Number);
}

/** Runs `f` on cpu and on webgpu from the same inputs; the results agree within `rtol`/`atol`. */
async function sameOnBoth(inputs: readonly torch.Tensor[], f: (...xs: torch.Tensor[]) => torch.Tensor, rtol = 1e-5, atol = 1e-6): Promise<number[]> {
  const cpu = await values(f(...inputs));
  const gpu = await values(f(...inputs.map((x) => x.to(GPU))));
  expect(gpu).toHaveLength(cpu.length);
  cpu.forEach((c, i) => {
    const g = gpu[i]!;
    if (Number.isNaN(c)) expect(g, `[${i}]`).toBeNaN();
    else if (!Number.isFinite(c)) expect(g, `[${i}]`).toBe(c);
    else expect(Math.abs(g - c), `[${i}]: webgpu ${g}, cpu ${c}`).toBeLessThanOrEqual(atol + rtol * Math.abs(c));
  });
  return gpu;
}

const randn = (...shape: number[]): torch.Tensor => torch.randn(shape);

describeWebGPU('the webgpu backend', () => {
  it('init resolves with the adapter description', async () => {
    expect(adapter.ok && adapter.description).toMatch(/^webgpu: .+ storage buffers per kernel/);
    await expect(torch.init('webgpu')).resolves.toBe(adapter.ok ? adapter.description : '');
  });

  it('computes elementwise chains as cpu does, edge values included', async () => {
    torch.manualSeed(0);
    const x = torch.tensor(new Float32Array([-3.5, -1, -0.25, -0, 0, 0.3, 1, 2.5, 10, 1e30, -1e30, NaN, Infinity, -Infinity]));
    await sameOnBoth([x], (a) => a.mul(2).add(1).relu());
    await sameOnBoth([x], (a) => a.sin().add(a.cos()));
    await sameOnBoth([x], (a) => a.exp().log(), 1e-5, 1e-5);
    await sameOnBoth([x], (a) => a.tanh().add(a.sigmoid()));
    await sameOnBoth([x], (a) => a.abs().sqrt().add(a.floor()).add(a.round()).add(a.ceil()));
    await sameOnBoth([x], (a) => a.clamp(-1, 1).sign());
    await sameOnBoth([x], (a) => a.isnan().logicalOr(a.isinf()).logicalOr(a.gt(0)));
    await sameOnBoth([x], (a) => a.bool().int());
    const y = randn(5, 7);
    await sameOnBoth([y, randn(7)], (a, b) => a.div(b).sub(a.pow(2)).maximum(b.neg()));
  });

  it('computes integer arithmetic as cpu does', async () => {
    const a = torch.tensor([-7, -3, -1, 0, 2, 5, 9, 100], { dtype: torch.int32 });
    const b = torch.tensor([2, -3, 4, 7, -2, 3, 1, 7], { dtype: torch.int32 });
    await sameOnBoth([a, b], (x, y) => x.mul(y).add(x));
    await sameOnBoth([a, b], (x, y) => x.div(y, { roundingMode: 'floor' }).add(x.remainder(y)));
    await sameOnBoth([a, b], (x, y) => x.div(y, { roundingMode: 'trunc' }).add(x.fmod(y)));
    await sameOnBoth([a, b], (x, y) => x.bitwiseAnd(y).bitwiseXor(x.bitwiseOr(y)).bitwiseNot());
    const u = torch.tensor([0, 1, 200, 255], { dtype: torch.uint8 });
    expect(await sameOnBoth([u], (x) => x.add(100))).toEqual([100, 101, 44, 99]);
    const i8 = torch.tensor([-128, -1, 1, 127], { dtype: torch.int8 });
    expect(await sameOnBoth([i8], (x) => x.mul(3))).toEqual([-128, -3, 3, 125]);
  });

  it('computes reductions as cpu does', async () => {
    torch.manualSeed(1);
    const x = randn(6, 33);
    await sameOnBoth([x], (a) => a.sum(1));
    await sameOnBoth([x], (a) => a.mean(), 1e-5, 1e-6);
    await sameOnBoth([x], (a) => a.amax(0).add(a.amin(1).sum()));
    await sameOnBoth([x], (a) => a.std(1).add(a.logsumexp(1)));
    await sameOnBoth([x], (a) => a.argmax(1));
    await sameOnBoth([x], (a) => a.gt(0).all(1).logicalOr(a.lt(-2).any(1)));
    await sameOnBoth([x.index(':', ':8')], (a) => a.prod(1), 1e-5, 1e-6);
    await sameOnBoth([torch.arange(1000)], (a) => a.mul(a).sum());
  });

  it('multiplies matrices and computes softmax as cpu does', async () => {
    torch.manualSeed(2);
    const a = randn(33, 47);
    const b = randn(47, 21);
    await sameOnBoth([a, b], (x, y) => x.matmul(y), 1e-5, 1e-5);
    await sameOnBoth([randn(4, 5, 6), randn(4, 6, 3)], (x, y) => x.bmm(y), 1e-5, 1e-5);
    const s = await sameOnBoth([randn(7, 10).mul(5)], (x) => x.softmax(1), 1e-5, 1e-7);
    expect(s.reduce((p, v) => p + v, 0)).toBeCloseTo(7, 5);
    await sameOnBoth([randn(7, 10)], (x) => x.logSoftmax(0), 1e-5, 1e-6);
  });

  it('draws the same random numbers as cpu for the same seed', async () => {
    const draw = (device: string): torch.Tensor[] => {
      torch.manualSeed(1234);
      return [torch.rand(3, 50, { device }), torch.randn(100, { device }), torch.randint(0, 10, [64], { device }), torch.rand(5, { device }).uniform_(-2, 2)];
    };
    const cpu = draw('cpu');
    const gpu = draw(GPU);
    expect(await values(gpu[0]!)).toEqual(await values(cpu[0]!)); // bit for bit
    const zc = await values(cpu[1]!);
    (await values(gpu[1]!)).forEach((z, i) => expect(Math.abs(z - zc[i]!)).toBeLessThan(1e-5));
    expect(await values(gpu[2]!)).toEqual(await values(cpu[2]!));
    expect(await values(gpu[3]!)).toEqual(await values(cpu[3]!));
  });

  it('holds int64 as int32: arange, sums and argmax work; values past int32 raise Int64RangeError', async () => {
    expect(await torch.arange(10, { device: GPU }).sum().item()).toBe(45);
    expect(await torch.tensor([3, 9, 2], { device: GPU }).argmax().item()).toBe(1);
    expect((await torch.tensor([-5, 7], { device: GPU }).data()) instanceof BigInt64Array).toBe(true);
    // at upload
    expect(() => torch.tensor([2 ** 40], { device: GPU })).toThrow(Int64RangeError);
    await expect(torch.tensor([2 ** 40]).to(GPU).data()).rejects.toThrow(/int64 value 1099511627776 cannot be stored on webgpu/);
    // computed in a kernel: reported by the next read, which raises; later reads are fine again
    const big = torch.tensor([2 ** 30, 1], { device: GPU }).mul(4);
    await expect(big.data()).rejects.toThrow(/an int64 result computed on webgpu overflowed.*int32/);
    expect(await torch.tensor([2 ** 30, 1], { device: GPU }).mul(1).tolist()).toEqual([2 ** 30, 1]);
  });

  it('refuses float64 before any kernel, naming the dtype and the backend', () => {
    expect(() => torch.zeros(2, { dtype: torch.float64, device: GPU })).toThrow(/float64 is not supported by the webgpu backend/);
    expect(() => torch.ones(2, { device: GPU }).double()).toThrow(/float64 is not supported by the webgpu backend/);
    expect(() => torch.ones(2, { dtype: torch.float64 }).to(GPU)).toThrow(/float64 is not supported by the webgpu backend/);
  });

  it('reads only asynchronously: the sync forms name the async one, printing says how to read', async () => {
    const x = torch.tensor([1.5, 2], { dtype: torch.float32, device: GPU });
    expect(() => x.dataSync()).toThrow(/cannot be read synchronously: use the async form, await tensor.data\(\)/);
    expect(() => x.sum().itemSync()).toThrow(/await tensor.data\(\)/);
    expect(() => x.tolistSync()).toThrow(/await tensor.data\(\)/);
    expect(x.toString()).toMatch(/not on the host: await tensor.toStringAsync\(\) or tensor.data\(\)/);
    expect(await x.toStringAsync()).toBe("tensor([1.5000, 2.0000], device='webgpu:0')");
    expect(await x.tolist()).toEqual([1.5, 2]);
  });

  it("moves tensors of every dtype with to('webgpu') and .cpu()", async () => {
    const cases: [torch.DType, number[]][] = [
      ['float32', [1.5, -2, 0]],
      ['int32', [-2147483648, 7, 2147483647]],
      ['int64', [-2147483648, 7, 2147483647]],
      ['int16', [-32768, 5, 32767]],
      ['int8', [-128, 5, 127]],
      ['uint8', [0, 5, 255]],
      ['bool', [1, 0, 1]],
    ];
    for (const [dtype, data] of cases) {
      const x = torch.tensor(data, { dtype });
      const g = x.to('webgpu');
      expect(g.device).toBe('webgpu:0');
      expect(g.dtype).toBe(dtype);
      const back = g.cpu();
      expect(back.device).toBe('cpu');
      expect(await back.tolist(), dtype).toEqual(x.tolistSync());
    }
  });

  it('raises PyTorch\'s error for ops across devices; a 0-d cpu tensor may join', async () => {
    const a = torch.ones(2);
    const b = torch.ones(2, { device: GPU });
    expect(() => a.add(b)).toThrow('Expected all tensors to be on the same device, but found at least two devices, cpu and webgpu:0!');
    expect(() => b.mul(a)).toThrow('Expected all tensors to be on the same device, but found at least two devices, webgpu:0 and cpu!');
    expect(await b.add(torch.tensor(2, { dtype: torch.float32 })).tolist()).toEqual([3, 3]);
  });

  it('runs in-place ops, also when the target is read at other indices (x.copy_(x.t().clone()))', async () => {
    const x = torch.tensor([[1, 2], [3, 4]], { dtype: torch.float32, device: GPU });
    x.add_(1);
    expect(await x.tolist()).toEqual([[2, 3], [4, 5]]);
    // x.t() is a view of x's storage: PyTorch refuses the partial overlap, and so does fusor
    expect(() => x.copy_(x.t())).toThrow('some elements of the input tensor and the written-to tensor refer to a single memory location');
    x.copy_(x.t().clone());
    expect(await x.tolist()).toEqual([[2, 4], [3, 5]]);
  });

  it('computes gradients as cpu does', async () => {
    torch.manualSeed(5);
    const w0 = randn(4, 3);
    const grads = async (device: string): Promise<number[]> => {
      const w = w0.to(device).detach().requiresGrad_();
      w.sigmoid().matmul(w.t()).pow(2).mean().backward();
      return values(w.grad!);
    };
    const cpu = await grads('cpu');
    (await grads(GPU)).forEach((g, i) => expect(Math.abs(g - cpu[i]!)).toBeLessThan(1e-5 + 1e-5 * Math.abs(cpu[i]!)));
  });

  it('launches a 2-D grid past 65535 workgroups', async () => {
    const n = 65535 * 64 + 1000;
    const x = torch.arange(n, { dtype: torch.int32, device: GPU }).add(1);
    const v = (await x.data()) as Int32Array;
    expect(v.length).toBe(n);
    expect([v[0], v[65535 * 64], v[n - 1]]).toEqual([1, 65535 * 64 + 1, n]);
  });

  it('submits the kernels of one realize together and reads once', async () => {
    torch.manualSeed(0);
    const x = torch.randn(8, 16, { device: GPU });
    await x.data();
    const before = webgpuStats();
    const y = x.softmax(1).matmul(x.t()).sum();
    const kernels = torch.explain(y).kernels.length;
    expect(kernels).toBeGreaterThan(2);
    await y.item();
    const after = webgpuStats();
    expect(after.launches - before.launches).toBe(kernels);
    // one submission holds every kernel of the realize; the read's copy may follow in a second
    expect(after.lastBatch).toBe(kernels);
    expect(after.submits - before.submits).toBeLessThanOrEqual(2);
    expect(after.reads - before.reads).toBe(1);
  });

  it('compiles a program once: running it on new data hits the pipeline cache', async () => {
    const step = (v: number): torch.Tensor => torch.tensor(new Float32Array(9).fill(v), { device: GPU }).reshape(3, 3).exp().sum(0);
    await step(1).data();
    const before = torch.compilerStats();
    expect(await values(step(0))).toEqual([3, 3, 3]);
    expect(torch.compilerStats().compiled - before.compiled).toBe(0);
  });
});
