/**
 * Define-by-run loops build graphs as long as they run: a recurrence unrolled 10,000 times, an
 * RNN over 500 steps. Each must compute (and differentiate) like the same recurrence in float64,
 * written out in plain JS here, within float32 tolerance.
 */
import { describe, expect, it } from 'vitest';
import { compilerStats } from '@fusor/runtime';
import * as torch from '../src/index.js';

type T = torch.Tensor;
const f32 = Math.fround;

/** Every element of `got` within atol + rtol·|want| of `want`. */
function expectClose(got: ArrayLike<number | bigint>, want: ArrayLike<number>, rtol: number, atol: number): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(Number(got[i]!) - want[i]!) - rtol * Math.abs(want[i]!));
  expect(worst).toBeLessThanOrEqual(atol);
}

describe('deep graphs on cpu', () => {
  it('a forward chain of 10,000 lazy ops reads the float64 recurrence', () => {
    torch.manualSeed(1);
    const x0 = torch.randn(100);
    const init = Array.from(x0.dataSync() as Float32Array);
    let x = x0;
    for (let i = 0; i < 10000; i++) x = x.mul(0.9999).add(1e-4).relu();
    const kernels = torch.explain(x).kernels.length;
    const before = compilerStats().launched;
    const got = x.dataSync();
    expect(compilerStats().launched - before).toBe(kernels);
    // cut into kernels of at most 256 ops on a path (MAX_FUSED_DEPTH), each still many steps long
    expect(kernels).toBeGreaterThan(30000 / 256);
    expect(kernels).toBeLessThan(10000 / 8);
    // the scalars are float32 in a float32 op, as in PyTorch
    const [a, b] = [f32(0.9999), f32(1e-4)];
    const want = init.map((v) => {
      for (let i = 0; i < 10000; i++) v = Math.max(v * a + b, 0);
      return v;
    });
    // float32's rounding, once per op, adds up over 20,000 ops: n·ε relative
    expectClose(got, want, 20000 * 2 ** -24, 1e-6);
    // the same recurrence rounded to float32 after every op, as each kernel computes it
    const want32 = init.map((v) => {
      v = f32(v);
      for (let i = 0; i < 10000; i++) v = Math.max(f32(f32(v * a) + b), 0);
      return v;
    });
    expectClose(got, want32, 1e-6, 1e-7);
    // negative inputs were cut to 0 at the first step; the rest still remember where they began
    expect(new Set(Array.from(got as Float32Array, (v) => v.toFixed(3))).size).toBeGreaterThan(40);
    expect(x.sum().itemSync()).toBeCloseTo(want.reduce((s, v) => s + v, 0), 2);
  });

  it('forward and backward through a chain of 2,000 steps give the float64 gradients', () => {
    torch.manualSeed(2);
    const w = torch.randn(50).requiresGrad_();
    let x: T = w;
    for (let i = 0; i < 2000; i++) x = x.mul(0.999).add(x.sin().mul(0.001));
    const loss = x.pow(2).sum();
    loss.backward();
    const [a, b] = [f32(0.999), f32(0.001)];
    const wantX: number[] = [];
    const wantG: number[] = [];
    for (const v0 of (w.dataSync() as Float32Array)) {
      let v = v0;
      let d = 1; // d x_k / d w
      for (let i = 0; i < 2000; i++) {
        d *= a + b * Math.cos(v);
        v = v * a + Math.sin(v) * b;
      }
      wantX.push(v);
      wantG.push(2 * v * d);
    }
    expectClose(x.dataSync(), wantX, 1e-4, 1e-5);
    expectClose(w.grad!.dataSync(), wantG, 1e-4, 1e-5);
    expect(loss.itemSync()).toBeCloseTo(wantX.reduce((s, v) => s + v * v, 0), 2);
  });

  it('a chain of views that do not merge (a rotation by repeat and narrow, 2,000 times) reads right', () => {
    let x = torch.arange(7, { dtype: torch.float32 });
    for (let i = 0; i < 2000; i++) x = x.repeat(2).narrow(0, 1, 7).mul(1.0001);
    const scale = (() => {
      let s = 1;
      for (let i = 0; i < 2000; i++) s *= f32(1.0001);
      return s;
    })();
    expectClose(x.dataSync(), [0, 1, 2, 3, 4, 5, 6].map((i) => ((i + 2000) % 7) * scale), 1e-4, 1e-6);
  });
});

/** hidden ← tanh(hidden @ W + x_t @ U) over the steps of `xs` ([steps, batch, in]); loss = mean over steps of Σ hidden². */
function rnnLoss(xs: T, W: T, U: T): T {
  const [steps, batch] = xs.shape as [number, number, number];
  let h = torch.zeros(batch, W.shape[0]!);
  let loss = torch.zeros([]);
  for (let t = 0; t < steps; t++) {
    h = h.matmul(W).add(xs.select(0, t).matmul(U)).tanh();
    loss = loss.add(h.pow(2).sum());
  }
  return loss.div(steps);
}

/** The same RNN, its loss and gradients by backpropagation through time, in float64. */
function rnnReference(xs: Float32Array, W: Float32Array, U: Float32Array, steps: number, batch: number, nIn: number, nH: number) {
  const hs: Float64Array[] = [new Float64Array(batch * nH)];
  let loss = 0;
  for (let t = 0; t < steps; t++) {
    const prev = hs[t]!;
    const h = new Float64Array(batch * nH);
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < nH; j++) {
        let s = 0;
        for (let k = 0; k < nH; k++) s += prev[b * nH + k]! * W[k * nH + j]!;
        for (let k = 0; k < nIn; k++) s += xs[(t * batch + b) * nIn + k]! * U[k * nH + j]!;
        h[b * nH + j] = Math.tanh(s);
        loss += h[b * nH + j]! ** 2 / steps;
      }
    }
    hs.push(h);
  }
  const dW = new Float64Array(nH * nH);
  const dU = new Float64Array(nIn * nH);
  let dNext = new Float64Array(batch * nH); // d loss / d pre-activation of step t + 1
  for (let t = steps; t >= 1; t--) {
    const h = hs[t]!;
    const prev = hs[t - 1]!;
    const da = new Float64Array(batch * nH);
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < nH; j++) {
        let dh = (2 * h[b * nH + j]!) / steps;
        for (let k = 0; k < nH; k++) dh += dNext[b * nH + k]! * W[j * nH + k]!;
        da[b * nH + j] = dh * (1 - h[b * nH + j]! ** 2);
      }
    }
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < nH; j++) {
        for (let k = 0; k < nH; k++) dW[k * nH + j] += prev[b * nH + k]! * da[b * nH + j]!;
        for (let k = 0; k < nIn; k++) dU[k * nH + j] += xs[((t - 1) * batch + b) * nIn + k]! * da[b * nH + j]!;
      }
    }
    dNext = da;
  }
  return { loss, dW, dU };
}

describe('an RNN unrolled over 500 steps', () => {
  const [steps, batch, nIn, nH] = [500, 2, 3, 4];
  const setup = () => {
    torch.manualSeed(3);
    const W = torch.randn(nH, nH).mul(0.4).detach().requiresGrad_();
    const U = torch.randn(nIn, nH).mul(0.4).detach().requiresGrad_();
    return { W, U };
  };
  const inputs = (seed: number): T => {
    torch.manualSeed(seed);
    const xs = torch.randn(steps, batch, nIn);
    xs.dataSync();
    return xs;
  };

  it('gives the loss and gradients of backpropagation through time in float64', () => {
    const { W, U } = setup();
    const xs = inputs(4);
    const loss = rnnLoss(xs, W, U);
    loss.backward();
    const ref = rnnReference(xs.dataSync() as Float32Array, W.dataSync() as Float32Array, U.dataSync() as Float32Array, steps, batch, nIn, nH);
    expect(loss.itemSync()).toBeCloseTo(ref.loss, 4);
    expectClose(W.grad!.dataSync(), ref.dW, 1e-4, 1e-5);
    expectClose(U.grad!.dataSync(), ref.dU, 1e-4, 1e-5);
    expect(W.grad!.abs().max().itemSync()).toBeGreaterThan(0.01);
  }, 60_000);

  it('traced by jit, replays with new inputs and the reference gradients', () => {
    const { W, U } = setup();
    const step = torch.jit((xs: T): T => {
      const loss = rnnLoss(xs, W, U);
      loss.backward();
      return loss;
    });
    for (const seed of [5, 6]) {
      W.grad = null;
      U.grad = null;
      const xs = inputs(seed);
      const loss = step(xs);
      const ref = rnnReference(xs.dataSync() as Float32Array, W.dataSync() as Float32Array, U.dataSync() as Float32Array, steps, batch, nIn, nH);
      expect(loss.itemSync()).toBeCloseTo(ref.loss, 4);
      expectClose(W.grad!.dataSync(), ref.dW, 1e-4, 1e-5);
      expectClose(U.grad!.dataSync(), ref.dU, 1e-4, 1e-5);
    }
    // the second call replayed the first one's trace
    expect(step.traces).toBe(1);
  }, 60_000);
});
