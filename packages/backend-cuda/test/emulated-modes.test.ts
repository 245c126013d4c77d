/**
 * The renderer's launch modes on the emulator, against the cpu backend: the vector mode
 * (elementwise kernels in 16-byte tiles with a scalar tail) over sizes around the vector width
 * and every dtype, with and without views; the block mode (cooperative reductions, split across
 * blocks when outputs are few) over sizes large enough to trigger it — the conformance cases are
 * too small to. Float reductions may differ from cpu in summation order only.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { alu, cast, gid, konst, load, local, lower, printKernel, ridx, type Backend, type Expr, type Kernel, type Stmt } from '@fusor/compiler';
import { getBackend, planSchedule } from '@fusor/runtime';
import { bfloat16Bits, bfloat16FromBits, float16Bits, float16FromBits } from '@fusor/compiler';
import { hostArray, itemsize, type DType, type HostArray } from '@fusor/ir';
import * as torch from '@fusor/tensor';
import { planKernel, type KernelPlan } from '../src/render-cuda.js';
import { emulatorUnavailable, installEmulator } from './emulator/emulator.js';

const why = emulatorUnavailable();
const emu = why ? null : installEmulator({ MOCK_CUDA_MEMORY: String(1 << 30) });
const cuda = await import('../src/index.js');
// products stay in generated kernels: this file checks what the renderer makes of them
cuda.configureCuda({ diskCache: null, cublas: false });

/** The grid and block of the emulator's last launch. */
function lastLaunch(): { grid: number; block: number } {
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const f = koffi.load(emu!.library).func('void mock_last_launch(_Out_ unsigned int *grid, _Out_ unsigned int *block, _Out_ unsigned int *count)');
  const grid = [0];
  const block = [0];
  const count = [0];
  f(grid, block, count);
  return { grid: grid[0]!, block: block[0]! };
}

/** Deterministic values in [-1, 1) (no random kernels involved). */
function values(n: number, seed = 1): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

const list = (t: torch.Tensor): number[] => Array.from(t.dataSync() as ArrayLike<number | bigint>, Number);

/** Elementwise equal, NaN equal to NaN, within a relative tolerance (0: exactly, -0 and +0 alike). */
function expectClose(got: readonly number[], want: readonly number[], rel = 0, what = ''): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i]!, want[i]!];
    if (Number.isNaN(w)) expect(g, `${what}[${i}]`).toBeNaN();
    else if (rel === 0) expect(g, `${what}[${i}]`).toBe(w === 0 ? g && w : w);
    else expect(Math.abs(g - w), `${what}[${i}]: ${g} vs ${w}`).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(w)));
  }
}

/** The last kernel realizing `t` would run (call before `t` is realized). */
function lastKernel(t: torch.Tensor): Kernel {
  const items = planSchedule([t.node]);
  return lower(items[items.length - 1]!).kernel;
}

/** The mode the cuda backend renders the last kernel of `t` with. */
const modeOf = (t: torch.Tensor): KernelPlan['mode'] => planKernel(lastKernel(t)).mode;

/** Runs one kernel on a backend with host inputs for buffers 1…n; returns buffer 0. */
function runKernel(b: Backend, k: Kernel, inputs: readonly HostArray[]): HostArray {
  const bufs = k.buffers.map((kb) => b.alloc(kb.dtype, kb.size, 0));
  inputs.forEach((data, i) => b.write(bufs[i + 1]!, data));
  b.launch(b.compile(b.render(k), k), bufs, []);
  const out = b.readSync!(bufs[0]!);
  for (const x of bufs) b.free(x);
  return out;
}

function kernel(name: string, size: number, buffers: { dtype: DType; size: number }[], body: Stmt[]): Kernel {
  const k = { name, size, buffers: buffers.map((x, i) => ({ ...x, output: i === 0 })), vars: [], body };
  return { ...k, key: printKernel(k) };
}

const i32 = (v: number): Expr => konst(v, 'int32');

// each new kernel is compiled for the host by g++ (about a second)
describe.skipIf(why !== null)(`renderer modes on the emulator${why ? ` (skipped: ${why})` : ''}`, { timeout: 300_000 }, () => {
  describe('vector mode (elementwise)', () => {
    const chain = (t: torch.Tensor): torch.Tensor => t.mul(1.5).add(0.5).relu().mul(t).sub(0.25);

    it('computes a float32 chain like cpu for sizes around the vector width and past one grid', () => {
      for (const n of [1, 3, 4, 5, 1023, 4097, 600_001]) {
        const x = torch.tensor(values(n, n), { dtype: torch.float32 });
        const g = chain(x.to('cuda'));
        if (n >= 4) expect(modeOf(g), `n=${n}`).toBe('vector');
        expectClose(list(g), list(chain(x)), 0, `n=${n}`);
      }
      // 600 001 elements: 150 000 tiles over 1024 per block → 147 blocks, capped at 4 SMs × 32
      expect(lastLaunch()).toEqual({ grid: 128, block: 256 });
    });

    it('computes every dtype like cpu, with 16-, 8-, 4- and 2-element tiles', () => {
      const cases: [DType, (t: torch.Tensor) => torch.Tensor, number[]][] = [
        ['float64', chain, values(4097, 7)],
        ['int64', (t) => t.mul(t).add(-3), values(4097, 8).map((v) => Math.round(v * 3e4))],
        ['int32', (t) => t.mul(65537).add(7), values(4097, 9).map((v) => Math.round(v * 2 ** 30))],
        ['int16', (t) => t.add(30000), values(4097, 10).map((v) => Math.round(v * 32000))],
        ['int8', (t) => t.mul(3), values(4099, 11).map((v) => Math.round(v * 127))],
        ['uint8', (t) => t.add(200), values(4099, 12).map((v) => Math.round((v + 1) * 127))],
        ['bool', (t) => t.logicalNot(), values(4099, 13).map((v) => (v > 0 ? 1 : 0))],
      ];
      for (const [dtype, f, data] of cases) {
        for (const n of [5, data.length]) {
          const x = torch.tensor(data.slice(0, n), { dtype });
          const g = f(x.to('cuda'));
          // 5 elements are fewer than one tile of 8 or 16: one thread each
          expect(modeOf(g), `${dtype} n=${n}`).toBe(n >= 16 / itemsize(dtype) ? 'vector' : 'thread');
          expectClose(list(g), list(f(x)), 0, `${dtype} n=${n}`);
        }
      }
    });

    it('mixes widths: float64 → bool, float32 → float16, bool → float64', () => {
      const x = torch.tensor(values(1027, 3), { dtype: torch.float64 });
      expectClose(list(x.to('cuda').gt(0)), list(x.gt(0)), 0, 'gt');
      const b = x.gt(0);
      expectClose(list(b.to('cuda').double().mul(2)), list(b.double().mul(2)), 0, 'bool → float64');
      const f = torch.tensor(values(1027, 4), { dtype: torch.float32 });
      const h = f.to('cuda').half().mul(3).add(1);
      const round = (v: number): number => float16FromBits(float16Bits(v));
      expectClose(list(h), values(1027, 4).map((v) => round(round(round(Math.fround(v)) * 3) + 1)), 0, 'float32 → float16');
    });

    it('computes float16 and bfloat16 in 8-element tiles, rounding after every op', () => {
      const data = values(4101, 5);
      const cases: [DType, (v: number) => number][] = [
        ['float16', (v) => float16FromBits(float16Bits(v))],
        ['bfloat16', (v) => bfloat16FromBits(bfloat16Bits(v))],
      ];
      for (const [dtype, round] of cases) {
        const h = torch.tensor(data, { dtype: torch.float32, device: 'cuda' }).to(dtype);
        const y = h.mul(h).sub(2);
        expect(modeOf(y), dtype).toBe('vector');
        expectClose(list(y), data.map((v) => round(round(round(Math.fround(v)) ** 2) - 2)), 0, dtype);
      }
    });

    it('reads views (offset, transposed, broadcast) element by element inside the tiles', () => {
      const x = torch.tensor(values(4097, 6), { dtype: torch.float32 });
      const g = x.to('cuda');
      expectClose(list(g.narrow(0, 1, 4096).mul(2)), list(x.narrow(0, 1, 4096).mul(2)), 0, 'offset');
      const m = x.narrow(0, 0, 4096).reshape([64, 64]);
      const gm = g.narrow(0, 0, 4096).reshape([64, 64]);
      expectClose(list(gm.t().add(gm)), list(m.t().add(m)), 0, 'transposed');
      const bias = torch.tensor(values(64, 2), { dtype: torch.float32 });
      expectClose(list(gm.add(bias.to('cuda'))), list(m.add(bias)), 0, 'broadcast');
      const odd = x.narrow(0, 3, 1023);
      expectClose(list(g.narrow(0, 3, 1023).add(odd.to('cuda'))), list(odd.add(odd)), 0, 'offset and copy');
    });
  });

  describe('block mode (cooperative reductions)', () => {
    it('sums, means and takes norms like cpu over large and odd sizes, split across blocks when outputs are few', () => {
      for (const n of [128, 1000, 100_003, 3_000_001]) {
        const x = torch.tensor(values(n, n), { dtype: torch.float32 });
        const g = x.to('cuda');
        expect(modeOf(g.sum()), `n=${n}`).toBe('block');
        expectClose(list(g.sum()), list(x.sum()), 1e-6, `sum n=${n}`);
        expectClose(list(g.mean()), list(x.mean()), 1e-6, `mean n=${n}`);
        expectClose(list(g.var()), list(x.var()), 1e-5, `var n=${n}`);
      }
      // 3 000 001 elements in blocks of 256 threads, 32 iterations each at least: 366 parts, 4 SMs × 32 launched
      expect(lastLaunch()).toEqual({ grid: 128, block: 256 });
    });

    it('gives the same result launch after launch (the split counters are left at zero)', () => {
      const x = torch.tensor(values(500_000, 3), { dtype: torch.float64 }).to('cuda');
      const first = list(x.sum());
      const small = torch.tensor(values(300_000, 4), { dtype: torch.float32 });
      expectClose(list(small.to('cuda').sum()), list(small.sum()), 1e-6, 'another split kernel between');
      expect(list(x.mul(1).sum())).toEqual(first);
      expect(list(x.sum(0, true).sum())).toEqual(first);
    });

    it("keeps one split kernel's leftover partials out of another's counters", () => {
      // 2 groups of 32 columns leave partials where a kernel of 80 groups keeps counters, if the
      // counter area followed each kernel's own group count
      const cols = torch.tensor(values(40_097 * 33, 5), { dtype: torch.float32 }).reshape([40_097, 33]);
      expectClose(list(cols.to('cuda').sum(0)), list(cols.sum(0)), 1e-5, 'columns');
      const h = torch.tensor(values(256 * 512, 6), { dtype: torch.float32 }).reshape([256, 512]);
      const w = torch.tensor(values(512 * 10, 7), { dtype: torch.float32 }).reshape([512, 10]);
      expectClose(list(h.to('cuda').relu().matmul(w.to('cuda'))), list(h.relu().matmul(w)), 1e-5, 'a product of 2560 outputs in 80 groups');
    });

    it('takes max, min, argmax and argmin like cpu, NaN propagating and ties to the first index', () => {
      const data = values(70_001, 9);
      data[1234] = 5;
      data[60_000] = 5;
      data[555] = -7;
      const x = torch.tensor(data, { dtype: torch.float32 });
      const g = x.to('cuda');
      for (const [name, f] of [
        ['amax', (t: torch.Tensor) => t.amax()],
        ['amin', (t: torch.Tensor) => t.amin()],
        ['argmax', (t: torch.Tensor) => t.argmax()],
        ['argmin', (t: torch.Tensor) => t.argmin()],
      ] as const) {
        expect(modeOf(f(g)), name).toBe('block');
        expectClose(list(f(g)), list(f(x)), 0, name);
      }
      data[40_000] = NaN;
      const xn = torch.tensor(data, { dtype: torch.float32 });
      expect(list(xn.to('cuda').amax())[0]).toBeNaN();
      expectClose(list(xn.to('cuda').argmax()), list(xn.argmax()), 0, 'argmax with NaN');
      expectClose(list(xn.to('cuda').amin()), list(xn.amin()), 0, 'amin with NaN');
    });

    it('reduces rows (several outputs per block, ragged) and columns (outputs side by side) like cpu', () => {
      const a = torch.tensor(values(10 * 200, 1), { dtype: torch.float32 }).reshape([10, 200]);
      const b = torch.tensor(values(37 * 3000, 2), { dtype: torch.float32 }).reshape([37, 3000]);
      const c = torch.tensor(values(1000 * 40, 3), { dtype: torch.float32 }).reshape([1000, 40]);
      const d = torch.tensor(values(4096 * 3, 4), { dtype: torch.float32 }).reshape([4096, 3]);
      const e = torch.tensor(values(128 * 5000, 5), { dtype: torch.float32 }).reshape([128, 5000]);
      const cases: [string, torch.Tensor, (t: torch.Tensor) => torch.Tensor, number][] = [
        ['rows amax', a, (t) => t.amax(1), 0],
        ['rows argmax', b, (t) => t.argmax(1), 0],
        ['rows logsumexp', b, (t) => t.logsumexp(1), 1e-6],
        ['rows softmax', b, (t) => t.softmax(1), 1e-6],
        ['rows logSoftmax', a, (t) => t.logSoftmax(1), 1e-6],
        ['columns sum', c, (t) => t.sum(0), 1e-6],
        ['3 columns sum', d, (t) => t.sum(0), 1e-6],
        ['5000 columns mean (groups grid-strided)', e, (t) => t.mean(0), 1e-6],
        ['columns amax', c, (t) => t.amax(0), 0],
        ['std of rows', b, (t) => t.std(1), 1e-5],
      ];
      expect(planKernel(lastKernel(a.to('cuda').amax(1)))).toMatchObject({ mode: 'block', layout: 'rows', outputs: 8 });
      expect(planKernel(lastKernel(c.to('cuda').sum(0)))).toMatchObject({ mode: 'block', layout: 'cols', outputs: 32, parts: 3 });
      expect(planKernel(lastKernel(e.to('cuda').mean(0)))).toMatchObject({ mode: 'block', layout: 'cols', outputs: 32, parts: 1 });
      for (const [name, x, f, rel] of cases) expectClose(list(f(x.to('cuda'))), list(f(x)), rel, name);
    });

    it('sums and multiplies integers exactly, wrapping like int64 does', () => {
      const x = torch.tensor(values(5000, 6).map((v) => Math.round(v * 2 ** 30)), { dtype: torch.int32 });
      expectClose(list(x.to('cuda').sum()), list(x.sum()), 0, 'int32 sum');
      const big = torch.full([5000], 2 ** 62, { dtype: torch.int64, device: 'cuda' });
      expect((big.sum().dataSync() as BigInt64Array)[0]).toBe(BigInt.asIntN(64, 5000n * 2n ** 62n));
      const threes = torch.full([1000], 3, { dtype: torch.int64, device: 'cuda' });
      expect((threes.prod().dataSync() as BigInt64Array)[0]).toBe(BigInt.asIntN(64, 3n ** 1000n));
      const bools = torch.tensor(values(5001, 7).map((v) => (v > -0.9999 ? 1 : 0)), { dtype: torch.bool });
      for (const f of [(t: torch.Tensor) => t.any(), (t: torch.Tensor) => t.all(), (t: torch.Tensor) => t.sum()]) {
        expectClose(list(f(bools.to('cuda'))), list(f(bools)), 0, 'bool');
      }
    });

    it('combines narrow integer accumulators (shuffled as int) with their own wrapping op', () => {
      const rows = 2;
      const n = 600;
      for (const [dtype, op] of [
        ['int8', 'add'],
        ['uint8', 'max'],
        ['int16', 'mul'],
        ['int32', 'add'],
        ['bool', 'max'],
      ] as const) {
        const init = op === 'mul' ? 1 : 0;
        const k = kernel(`narrow_${dtype}_${op}`, rows, [{ dtype, size: rows }, { dtype, size: rows * n }], [
          { k: 'acc', name: 'acc0', dtype, init },
          { k: 'loop', ridx: 0, n, body: [{ k: 'update', name: 'acc0', op, expr: load(1, alu('ADD', alu('MUL', gid(rows), i32(n)), ridx(0, n)), dtype, null) }] },
          { k: 'store', buf: 0, idx: gid(rows), expr: local('acc0', dtype) },
        ]);
        expect(planKernel(k).mode).toBe('block');
        const input = hostArray(dtype, rows * n);
        const v = values(rows * n, 11);
        for (let i = 0; i < input.length; i++) (input as Int32Array)[i] = dtype === 'bool' ? (i === 777 ? 1 : 0) : Math.round(v[i]! * (dtype === 'int32' ? 2 ** 31 - 1 : 100));
        const want = runKernel(getBackend('cpu'), k, [input]);
        expect(runKernel(cuda.cudaBackend, k, [input]), `${dtype} ${op}`).toEqual(want);
      }
    });

    it('runs loops in sequence whose later loop reads the combined value of the earlier one', () => {
      // per row: m = max(x); s = Σ (x − m); out = s + m  (softmax's two passes, in one kernel)
      const rows = 3;
      const n = 1000;
      const at = (r: number): Expr => alu('ADD', alu('MUL', gid(rows), i32(n)), ridx(r, n));
      const k = kernel('two_loops', rows, [{ dtype: 'float32', size: rows }, { dtype: 'float32', size: rows * n }], [
        { k: 'let', name: 'x0', expr: load(1, alu('MUL', gid(rows), i32(n)), 'float32', null) },
        { k: 'acc', name: 'acc0', dtype: 'float32', init: -Infinity },
        { k: 'loop', ridx: 0, n, body: [{ k: 'update', name: 'acc0', op: 'max', expr: load(1, at(0), 'float32', null) }] },
        { k: 'acc', name: 'acc1', dtype: 'float32', init: 0 },
        {
          k: 'loop',
          ridx: 1,
          n,
          body: [{ k: 'update', name: 'acc1', op: 'add', expr: alu('ADD', load(1, at(1), 'float32', null), alu('NEG', local('acc0', 'float32'))) }],
        },
        { k: 'store', buf: 0, idx: gid(rows), expr: alu('ADD', alu('ADD', local('acc1', 'float32'), local('acc0', 'float32')), cast(local('x0', 'float32'), 'float32')) },
      ]);
      const plan = planKernel(k);
      expect(plan).toMatchObject({ mode: 'block', parts: 1 });
      const input = Float32Array.from(values(rows * n, 12));
      input[1500] = 9;
      const want = Array.from(runKernel(getBackend('cpu'), k, [input]) as Float32Array);
      expectClose(Array.from(runKernel(cuda.cudaBackend, k, [input]) as Float32Array), want, 1e-6, 'two loops');
    });

    it('sums float16 and float64 (float16 accumulates in float)', () => {
      const data = values(20_000, 13);
      const x64 = torch.tensor(data, { dtype: torch.float64 });
      expectClose(list(x64.to('cuda').sum()), list(x64.sum()), 1e-12, 'float64');
      const h = torch.tensor(data, { dtype: torch.float32, device: 'cuda' }).half();
      const round = (v: number): number => float16FromBits(float16Bits(v));
      const want = round(data.reduce((s, v) => s + round(Math.fround(v)), 0));
      expectClose(list(h.sum()), [want], 1e-3, 'float16');
    });
  });
});
