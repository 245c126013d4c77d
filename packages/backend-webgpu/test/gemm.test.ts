/**
 * The webgpu GEMM routine: called directly on shapes the compiler never hands it (sizes 1 and 7,
 * strides, offsets, negative strides, batches in the grid and on the host), and through matmul on
 * odd sizes against the cpu backend, every orientation of the operands.
 */
import { expect, it } from 'vitest';
import * as torch from '@fusor/tensor';
import { type GemmShape } from '@fusor/compiler';
import { compilerStats } from '@fusor/runtime';
import { chooseTiling, planGemm, renderGemm, webgpuBackend } from '@fusor/backend-webgpu';
import { describeWebGPU } from './adapter.js';

/** Deterministic data: small integers over 8, so float32 sums are exact whatever the order. */
const data = (n: number, seed: number): Float32Array => Float32Array.from({ length: n }, (_, i) => (((i * 7919 + seed * 104729) % 17) - 8) / 8);

type Layout = { offset: number; rowStride: number; colStride: number };
type Loop = { size: number; a: number; b: number; c: number };

/** The product `g` computed in float64 over host arrays: c updated in place. */
function reference(g: GemmShape, a: Float32Array, b: Float32Array, c: Float32Array): void {
  const loops = g.batch;
  const idx = loops.map(() => 0);
  const count = loops.reduce((p, d) => p * d.size, 1);
  for (let z = 0; z < count; z++) {
    let rem = z;
    for (let d = loops.length - 1; d >= 0; d--) {
      idx[d] = rem % loops[d]!.size;
      rem = Math.floor(rem / loops[d]!.size);
    }
    const off = (k: 'a' | 'b' | 'c'): number => loops.reduce((s, d, i) => s + d[k] * idx[i]!, 0);
    for (let i = 0; i < g.m; i++) {
      for (let j = 0; j < g.n; j++) {
        let s = 0;
        for (let p = 0; p < g.k; p++) {
          s += a[g.a.offset + off('a') + i * g.a.rowStride + p * g.a.colStride]! * b[g.b.offset + off('b') + p * g.b.rowStride + j * g.b.colStride]!;
        }
        c[g.c.offset + off('c') + i * g.c.rowStride + j * g.c.colStride] = s;
      }
    }
  }
}

/** Runs `g` on webgpu over buffers of the given sizes and compares every element of c with the reference. */
async function check(g: GemmShape, sizes: { a: number; b: number; c: number }): Promise<void> {
  const host = { a: data(sizes.a, 1), b: data(sizes.b, 2), c: new Float32Array(sizes.c).fill(-99) };
  const buf = { a: webgpuBackend.alloc('float32', sizes.a, 0), b: webgpuBackend.alloc('float32', sizes.b, 0), c: webgpuBackend.alloc('float32', sizes.c, 0) };
  webgpuBackend.write(buf.a, host.a);
  webgpuBackend.write(buf.b, host.b);
  webgpuBackend.write(buf.c, host.c);
  webgpuBackend.routines!.gemm!.run(g, buf.a, buf.b, buf.c);
  const got = (await webgpuBackend.read(buf.c)) as Float32Array;
  for (const b of Object.values(buf)) webgpuBackend.free(b);
  reference(g, host.a, host.b, host.c);
  // every element, including those c's layout never touches (they keep -99)
  let bad = -1;
  for (let i = 0; i < sizes.c && bad < 0; i++) if (Math.abs(got[i]! - host.c[i]!) > 1e-4 * (1 + Math.abs(host.c[i]!))) bad = i;
  expect(bad, bad >= 0 ? `c[${bad}] = ${got[bad]}, expected ${host.c[bad]}` : '').toBe(-1);
}

/** Row-major layouts for a contiguous m×k A, k×n B, m×n C (transposed: the other orientation in memory). */
const rowMajor = (rows: number, cols: number, offset = 0, transposed = false): Layout =>
  transposed ? { offset, rowStride: 1, colStride: rows } : { offset, rowStride: cols, colStride: 1 };

function shape(m: number, n: number, k: number, opts: { ta?: boolean; tb?: boolean; offsets?: [number, number, number]; batch?: Loop[] } = {}): GemmShape {
  const [oa, ob, oc] = opts.offsets ?? [0, 0, 0];
  return { dtype: 'float32', m, n, k, batch: opts.batch ?? [], a: rowMajor(m, k, oa, opts.ta), b: rowMajor(k, n, ob, opts.tb), c: rowMajor(m, n, oc) };
}

/** Each new variant is a pipeline SwiftShader compiles (seconds on a loaded machine). */
const COMPILE_TIMEOUT = 60_000;

/** WebGPU's default limits. */
const STANDARD = chooseTiling({ maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupSizeY: 256, maxComputeWorkgroupStorageSize: 16384 });

describeWebGPU('webgpu GEMM routine', () => {
  it('picks a tiling the device allows, and renders it', () => {
    const t = STANDARD;
    expect(t).toEqual({ tx: 8, ty: 8, tm: 8, tn: 8, bm: 64, bn: 64, bk: 32 });
    // less workgroup memory: shorter steps along k
    expect(chooseTiling({ maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupSizeY: 256, maxComputeWorkgroupStorageSize: 8192 }).bk).toBe(16);
    const p = planGemm(shape(65, 33, 7), t, 65535)!;
    expect(p.variant).toMatchObject({ aMajor: 'k', bMajor: 'n', aVector: false, bVector: false, cVector: false });
    expect(p.groups).toEqual([1, 2, 1]);
    const v = planGemm(shape(64, 32, 16, { ta: true }), t, 65535)!.variant;
    expect(v).toMatchObject({ aMajor: 'm', bMajor: 'n', aVector: true, bVector: true, cVector: true });
    expect(renderGemm(v)).toContain('@workgroup_size(8, 8)');
    expect(renderGemm(v)).toContain('var<storage, read> A: array<vec4<f32>>');
  });

  for (const [m, n, k] of [
    [1, 1, 1],
    [7, 1, 7],
    [1, 33, 7],
    [33, 7, 65],
    [65, 65, 33],
    [8, 12, 20],
  ] as const) {
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      it(`${m}×${k} · ${k}×${n}${ta ? ', A transposed' : ''}${tb ? ', B transposed' : ''}`, async () => {
        await check(shape(m, n, k, { ta, tb }), { a: m * k, b: k * n, c: m * n });
      }, COMPILE_TIMEOUT);
    }
  }

  it('reads operands at offsets and writes C at an offset, strided, leaving the rest', async () => {
    // A: rows 2 apart inside a wider matrix; C: transposed into a bigger buffer
    const g: GemmShape = {
      dtype: 'float32',
      m: 33,
      n: 7,
      k: 65,
      batch: [],
      a: { offset: 5, rowStride: 70, colStride: 1 },
      b: { offset: 3, rowStride: 7, colStride: 1 },
      c: { offset: 2, rowStride: 1, colStride: 40 },
    };
    await check(g, { a: 5 + 32 * 70 + 65, b: 3 + 65 * 7, c: 2 + 6 * 40 + 33 });
  }, COMPILE_TIMEOUT);

  it('a flipped operand (negative stride)', async () => {
    const g: GemmShape = { dtype: 'float32', m: 7, n: 9, k: 33, batch: [], a: { offset: 32, rowStride: 33, colStride: -1 }, b: rowMajor(33, 9), c: rowMajor(7, 9) };
    await check(g, { a: 7 * 33, b: 33 * 9, c: 63 });
  }, COMPILE_TIMEOUT);

  it('vec4 operands with batch dims in the grid, a broadcast B and an outer batch on the host', async () => {
    // 3 × 2 batch of 16×20 · 20×12, B shared across the outer dim (stride 0)
    const [m, n, k] = [16, 12, 20];
    const batch: Loop[] = [
      { size: 3, a: 2 * m * k, b: 0, c: 2 * m * n },
      { size: 2, a: m * k, b: k * n, c: m * n },
    ];
    await check(shape(m, n, k, { batch }), { a: 6 * m * k, b: 2 * k * n, c: 6 * m * n });
    // three batch dims: the outermost becomes launches
    const three: Loop[] = [
      { size: 2, a: 4 * m * k, b: 0, c: 4 * m * n },
      { size: 2, a: 2 * m * k, b: 0, c: 2 * m * n },
      { size: 2, a: m * k, b: k * n, c: m * n },
    ];
    expect(planGemm(shape(m, n, k, { batch: three }), STANDARD, 65535)!.params.length).toBe(2);
    await check(shape(m, n, k, { batch: three }), { a: 8 * m * k, b: 2 * k * n, c: 8 * m * n });
  }, COMPILE_TIMEOUT);

  it('float16 products: f16 in memory and f32 sums with shader-f16; without it the routine declines them', async () => {
    const g16: GemmShape = { ...shape(64, 64, 64, { ta: true }), dtype: 'float16' };
    const v = planGemm(g16, STANDARD, 65535)!.variant;
    expect(v).toMatchObject({ dtype: 'float16', aMajor: 'm', aVector: true, bVector: true, cVector: true });
    const code = renderGemm(v);
    expect(code).toContain('gemm_f16_mn_vvv_64x64x32_8x8');
    expect(code.split('\n')[1]).toBe('enable f16;');
    expect(code).toContain('var<storage, read_write> C: array<vec4<f16>>;');
    expect(code).toContain('var<storage, read> A: array<vec4<f16>>;');
    // widened on the way into workgroup memory (f32 tiles), narrowed at the store
    expect(code).toContain('let av = select(vec4<f32>(0.0), vec4<f32>(A[');
    expect(code).toContain('var<workgroup> As: array<f32, 2048>;');
    expect(code).toMatch(/C\[\(oc \+ row0 \* p\.cm \+ col \+ 0\) \/ 4\] = vec4<f16>\(acc\[0\]\);/);
    const scalarC = renderGemm(planGemm({ ...shape(33, 7, 65), dtype: 'float16' }, STANDARD, 65535)!.variant);
    expect(scalarC).toContain('= select(0.0, f32(A[');
    expect(scalarC).toMatch(/C\[oc \+ row0 \* p\.cm \+ \(col \+ 0 \+ 0\) \* p\.cn\] = f16\(acc\[0\]\[0\]\);/);
    // the float32 kernel has none of it
    expect(renderGemm(planGemm(shape(64, 32, 16, { ta: true }), STANDARD, 65535)!.variant)).not.toMatch(/f16/);
    const routine = webgpuBackend.routines!.gemm!;
    const f16 = webgpuBackend.capabilities.fp16;
    expect(routine.supports(g16)).toBe(f16);
    if (!f16) {
      // the fallback: no float16 on this device at all (SwiftShader has no shader-f16), and float32 still taken
      expect(webgpuBackend.capabilities.dtypes).not.toContain('float16');
      expect(routine.supports(shape(64, 64, 64))).toBe(true);
      return;
    }
    // a device with shader-f16: a float16 matmul takes the routine and matches float32 sums of the same halves
    torch.manualSeed(5);
    const a = torch.randn(65, 48).half();
    const b = torch.randn(48, 40).half();
    const want = (await a.float().matmul(b.float()).data()) as Float32Array;
    const before = compilerStats().routines;
    const got = (await a.to('webgpu').matmul(b.to('webgpu')).float().data()) as Float32Array;
    expect(compilerStats().routines).toBeGreaterThan(before);
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(2e-3 * (1 + Math.abs(want[i]!)));
  }, COMPILE_TIMEOUT);

  it('explain() names the tiling a product gets and the workgroup each kernel gets', () => {
    const a = torch.randn(128, 96).to('webgpu');
    const b = torch.randn(96, 64).to('webgpu');
    const text = torch.explain(a.matmul(b).relu().sum()).toString();
    expect(text).toContain('launch: gemm_f32_kn_vvv_64x64x32_8x8: workgroup 8×8, tile 64×64×32, 8×8 per invocation, A k-major vec4, B n-major vec4, C vec4; grid 1×2×1');
    expect(text).toContain('launch: workgroup 64, one workgroup per output (1): its invocations share each reduction loop and combine in a workgroup tree');
    expect(torch.explain(a.relu()).toString()).toContain('launch: workgroup 64, one invocation per output: grid 192');
  });

  it('matmul on odd sizes takes the routine and matches cpu: 257, 65, 33, transposed and batched', async () => {
    const cases: [string, () => [torch.Tensor, torch.Tensor]][] = [
      ['257×65 · 65×33', () => [torch.randn(257, 65), torch.randn(65, 33)]],
      ['65×257 · 257×65, A transposed', () => [torch.randn(257, 65).t(), torch.randn(257, 65)]],
      ['33×65 · 65×257, B transposed', () => [torch.randn(33, 65), torch.randn(257, 65).t()]],
      ['batched 3×65×33 · 3×33×65', () => [torch.randn(3, 65, 33), torch.randn(3, 33, 65)]],
      ['broadcast 2×3×33×64 · 64×36', () => [torch.randn(2, 3, 33, 64), torch.randn(64, 36)]],
      ['a slice: rows 1…64 of 66×64 · 64×64', () => [torch.randn(66, 64).narrow(0, 1, 64), torch.randn(64, 64)]],
    ];
    torch.manualSeed(3);
    for (const [name, make] of cases) {
      const [a, b] = make();
      const want = (await a.matmul(b).data()) as Float32Array;
      const before = compilerStats().routines;
      const got = (await a.to('webgpu').matmul(b.to('webgpu')).data()) as Float32Array;
      expect(compilerStats().routines, name).toBeGreaterThan(before);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
      expect(worst, name).toBeLessThan(1e-4);
    }
  }, COMPILE_TIMEOUT);
});

