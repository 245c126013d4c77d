/** The CUDA C renderer: literals, dtype rules, kernel shape, and the prelude's arithmetic. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { alu, cast, float16Bits, float16FromBits, bfloat16Bits, gid, konst, load, local, printKernel, lower, ridx, type Expr, type Kernel, type Stmt } from '@fusor/compiler';
import { planSchedule } from '@fusor/runtime';
import { randBits } from '@fusor/ir';
import * as torch from '@fusor/tensor';
import { CUDA_PRELUDE, CudaRenderError, launchShape, literal, planKernel, renderCuda, renderCudaBatch, renderKernel } from '../src/render-cuda.js';
import { emulatorUnavailable } from './emulator/emulator.js';

function kernelOf(t: torch.Tensor): Kernel {
  const items = planSchedule([t.node]);
  return lower(items[items.length - 1]!).kernel;
}

/** A kernel of 3 elements (fewer than one vector tile: rendered one thread per element). */
function single(dtype: 'float32' | 'int32' | 'float16', body: Stmt[]): Kernel {
  return { name: 'k', size: 3, buffers: [{ dtype, size: 3, output: true }, { dtype, size: 3, output: false }], vars: [], body, key: 'k' };
}

describe('literals', () => {
  it('writes floats as literals of their dtype, with the values C cannot spell as bit patterns', () => {
    expect(literal(1, 'float32')).toBe('1.0f');
    expect(literal(0.1, 'float32')).toBe('0.10000000149011612f');
    expect(literal(-0, 'float32')).toBe('-0.0f');
    expect(literal(1e-45, 'float32')).toBe('1.401298464324817e-45f');
    expect(literal(NaN, 'float32')).toBe('__int_as_float(0x7fc00000)');
    expect(literal(-Infinity, 'float32')).toBe('__int_as_float((int)0xff800000u)');
    expect(literal(0.1, 'float64')).toBe('0.1');
    expect(literal(Infinity, 'float64')).toBe('__longlong_as_double(0x7ff0000000000000LL)');
    expect(literal(2 ** 60, 'float64')).toBe('1152921504606847000.0'); // the shortest text that reads back as 2^60
  });

  it('rounds 16-bit float constants to their width (they compute in float)', () => {
    expect(literal(0.1, 'float16')).toBe(`${float16FromBits(float16Bits(0.1))}f`);
    expect(literal(1 / 3, 'bfloat16')).toBe('0.333984375f');
    expect(literal(70000, 'float16')).toBe('__int_as_float(0x7f800000)');
  });

  it('writes integers in range, with the minimum values C cannot write directly', () => {
    expect(literal(-2147483648, 'int32')).toBe('(-2147483647 - 1)');
    expect(literal(-5, 'int32')).toBe('(-5)');
    expect(literal(2 ** 53, 'int64')).toBe('9007199254740992LL');
    expect(literal(-(2 ** 63), 'int64')).toBe('(-9223372036854775807LL - 1)');
    expect(literal(1, 'bool')).toBe('((unsigned char)1)');
    expect(literal(-128, 'int8')).toBe('((signed char)-128)');
  });
});

describe('kernels', () => {
  it('renders a kernel smaller than a vector tile as a grid-stride loop over gid', () => {
    const x = torch.tensor([1, 2, 3], { dtype: torch.float32 });
    const src = renderKernel(kernelOf(x.mul(2).add(1)));
    expect(src).toContain('extern "C" __global__ void __launch_bounds__(256) E_3(float* b0, const float* b1) {');
    expect(src).toContain('for (long long fu_i = (long long)blockIdx.x * blockDim.x + threadIdx.x; fu_i < 3LL; fu_i += (long long)gridDim.x * blockDim.x) {');
    expect(src).toContain('const int gid = (int)fu_i;');
    expect(src).toMatch(/const float x\d+ = b1\[gid\];/);
    expect(src).toMatch(/b0\[gid\] = x\d+;/);
  });

  it('accumulates float32 sums in double and uses the sum rounded to float32', () => {
    const x = torch.tensor([[1, 2], [3, 4]], { dtype: torch.float32 });
    const src = renderKernel(kernelOf(x.sum(1).mul(3)));
    expect(src).toMatch(/double (acc\d+) = 0\.0;/);
    expect(src).toMatch(/acc\d+ = acc\d+ \+ \(double\)\(x\d+\);/);
    expect(src).toMatch(/\(\(float\)acc\d+\) \* 3\.0f/);
  });

  it('wraps int32 and int64 arithmetic and keeps index math plain', () => {
    const x = torch.tensor([[1, 2, 3], [4, 5, 6]], { dtype: torch.int32 });
    const src = renderKernel(kernelOf(x.t().add(x.t())));
    expect(src).toMatch(/fu_add\(x\d+, x\d+\)/);
    expect(src).toContain('b1[((gid / 2) + ((gid % 2) * 3))]');
  });

  it('stores 16-bit floats as bits and computes them in float, rounding after every op', () => {
    const k = single('float16', [
      { k: 'let', name: 'x0', expr: load(1, gid(3), 'float16', null) },
      { k: 'let', name: 'x1', expr: alu('ADD', load(1, gid(3), 'float16', null), konst(1, 'float16')) },
      { k: 'store', buf: 0, idx: gid(3), expr: alu('MUL', load(1, gid(3), 'float16', null), konst(3, 'float16')) },
    ]);
    const src = renderKernel(k);
    expect(src).toContain('unsigned short* b0, const unsigned short* b1');
    expect(src).toContain('const float x0 = fu_h2f(b1[gid]);');
    expect(src).toContain('const float x1 = fu_rh((fu_h2f(b1[gid]) + 1.0f));');
    expect(src).toContain('b0[gid] = fu_f2h((float)(fu_rh((fu_h2f(b1[gid]) * 3.0f))));');
  });

  it('truncates float → int casts through the ToInt32 helper and makes bool casts 0/1', () => {
    const k = single('int32', [{ k: 'store', buf: 0, idx: gid(3), expr: cast(cast(load(1, gid(3), 'int32', null), 'float32'), 'int32') }]);
    expect(renderKernel(k)).toContain('fu_toi32((double)(((float)(b1[gid]))))');
    expect(renderKernel(kernelOf(torch.tensor([0.5, 0], { dtype: torch.float32 }).bool()))).toMatch(/\(\(unsigned char\)\(\(x\d+\) != 0\)\)/);
  });

  it('refuses a bitcast it cannot express, naming it', () => {
    const k = single('int32', [{ k: 'store', buf: 0, idx: gid(3), expr: cast(load(1, gid(3), 'int32', null), 'float64', true) }]);
    expect(() => renderKernel(k)).toThrow(CudaRenderError);
    expect(() => renderKernel(k)).toThrow('the cuda renderer does not support bitcast int32 → float64');
  });

  it('puts the prelude once in front of a unit, and renames kernels in a batch', () => {
    const k = kernelOf(torch.ones(3).add(1));
    expect(renderCuda(k).startsWith(CUDA_PRELUDE)).toBe(true);
    const batch = renderCudaBatch([k, k]);
    expect(batch.split('fusor cuda prelude').length).toBe(2);
    expect(batch).toContain(' k0_E_3(');
    expect(batch).toContain(' k1_E_3(');
  });
});

/** A realized cpu tensor of uniform values (its kernels read it as a buffer). */
function input(shape: number[], dtype: torch.DType = 'float32'): torch.Tensor {
  const t = torch.rand(shape).mul(4).to(dtype);
  t.dataSync();
  return t;
}

/** Kernel IR for the reduction shapes the frontend cannot easily make: out[gid] = Σ_r in[r·stride + gid·width]. */
function reduction(size: number, n: number, body: (x: Expr) => Stmt[], stride = 1, width = n): Kernel {
  const idx = alu('ADD', alu('MUL', ridx(0, n), konst(stride, 'int32')), alu('MUL', gid(size), konst(width, 'int32')));
  const b: Omit<Kernel, 'key'> = {
    name: 'red',
    size,
    buffers: [{ dtype: 'float32', size, output: true }, { dtype: 'float32', size: size * n, output: false }],
    vars: [],
    body: body(load(1, idx, 'float32', null)),
  };
  return { ...b, key: printKernel(b) };
}

const sumBody = (x: Expr): Stmt[] => [
  { k: 'acc', name: 'acc0', dtype: 'float32', init: 0 },
  { k: 'loop', ridx: 0, n: 0, body: [{ k: 'update', name: 'acc0', op: 'add', expr: x }] },
  { k: 'store', buf: 0, idx: gid(1), expr: local('acc0', 'float32') },
];
/** sumBody with the loop's trip count filled in. */
const sumOf = (n: number) => (x: Expr): Stmt[] => sumBody(x).map((st) => (st.k === 'loop' ? { ...st, n } : st));

describe('launch modes', () => {
  it('renders contiguous elementwise kernels in 16-byte tiles, 4 tiles in flight per thread, without a tail when the size divides', () => {
    const x = input([1024, 64]);
    const k = kernelOf(x.mul(1.5).add(0.5).relu().mul(x).sub(0.25));
    expect(planKernel(k)).toEqual({ mode: 'vector', blocks: 16, width: 4, unroll: 4, loads: [1] });
    const src = renderKernel(k);
    expect(src).toContain('for (unsigned fu_t = blockIdx.x * 1024u + threadIdx.x; fu_t < 16384u; fu_t += gridDim.x * 1024u) {');
    expect(src).toContain('fu_vec<float, 4> fu_in1[4];');
    expect(src).toContain('fu_in1[fu_u] = ((const fu_vec<float, 4>*)b1)[fu_k];');
    expect(src).toContain('const int gid = (int)(fu_k * 4u) + fu_e;');
    expect(src).toMatch(/const float x\d+ = fu_in1\[fu_u\]\.v\[fu_e\];/);
    expect(src).toMatch(/fu_out0\.v\[fu_e\] = x\d+;/);
    expect(src).toContain('((fu_vec<float, 4>*)b0)[fu_k] = fu_out0;');
    expect(src).not.toContain('long long fu_i');
    expect(src).not.toContain('threadIdx.x < ');
  });

  it('runs the last size % width elements one per thread, with the same statements', () => {
    const x = input([1027]);
    const src = renderKernel(kernelOf(x.mul(3)));
    expect(src).toContain('fu_t < 256u;');
    expect(src).toContain('  if (blockIdx.x == 0 && threadIdx.x < 3u) {\n    const int gid = 1024 + (int)threadIdx.x;');
    expect(src).toMatch(/const float x\d+ = b1\[gid\];\n\s+const float x\d+ = \(x\d+ \* 3\.0f\);\n\s+b0\[gid\] = x\d+;\n {2}\}/);
  });

  it('sizes tiles by the widest dtype a tile moves, and loads other indices one element at a time', () => {
    const width = (t: torch.Tensor) => planKernel(kernelOf(t));
    expect(width(input([64], 'float64').mul(2))).toMatchObject({ width: 2 });
    expect(width(input([64], 'uint8').add(1))).toMatchObject({ width: 16 });
    expect(width(input([64], 'bool').logicalNot())).toMatchObject({ width: 16 });
    expect(width(input([64], 'float32').gt(1))).toMatchObject({ width: 4 });
    expect(renderKernel(kernelOf(input([64], 'float32').gt(1)))).toContain('fu_vec<unsigned char, 4> fu_out0;');
    const x = input([65]);
    const offset = kernelOf(x.narrow(0, 1, 64).mul(2));
    expect(planKernel(offset)).toMatchObject({ mode: 'vector', loads: [] });
    expect(renderKernel(offset)).toMatch(/const float x\d+ = b1\[\(gid \+ 1\)\];/);
    const m = input([8, 8]);
    expect(planKernel(kernelOf(m.t().add(m)))).toMatchObject({ mode: 'vector', loads: [1] });
  });

  it('keeps fewer tiles in flight as more buffers are loaded', () => {
    const [a, b, c] = [input([256]), input([256]), input([256])];
    expect(planKernel(kernelOf(a.add(b).mul(c)))).toMatchObject({ mode: 'vector', unroll: 2, loads: [1, 2, 3] });
    const many = Array.from({ length: 9 }, () => input([256]));
    expect(planKernel(kernelOf(many.reduce((s, t) => s.add(t))))).toMatchObject({ mode: 'vector', unroll: 1 });
  });

  it('keeps one thread per element when the store is not at gid', () => {
    const b: Omit<Kernel, 'key'> = {
      name: 'scatter',
      size: 64,
      buffers: [{ dtype: 'float32', size: 128, output: true }],
      vars: [],
      body: [{ k: 'store', buf: 0, idx: alu('MUL', gid(64), konst(2, 'int32')), expr: konst(1, 'float32') }],
    };
    expect(planKernel({ ...b, key: printKernel(b) }).mode).toBe('thread');
  });

  it('gives a long reduction with one output a block whose threads stride over the loop and combine through shuffles and shared memory', () => {
    const k = kernelOf(input([1000]).sum());
    expect(planKernel(k)).toMatchObject({ mode: 'block', layout: 'rows', outputs: 1, threads: 256, parts: 1, workspace: 0, blocks: 1 });
    const src = renderKernel(k);
    expect(src).toContain('__shared__ double fu_sh_acc0[8];');
    expect(src).toContain('for (int r0 = fu_s; r0 < 1000; r0 += 256) {');
    for (const d of [16, 8, 4, 2, 1]) expect(src).toContain(`{ const double fu_v = __shfl_xor_sync(0xffffffffu, acc0, ${d}); acc0 = acc0 + (double)(fu_v); }`);
    expect(src).toContain('if ((threadIdx.x & 31) == 0) {\n      fu_sh_acc0[threadIdx.x >> 5] = acc0;');
    expect(src.match(/__syncthreads\(\);/g)).toHaveLength(2);
    expect(src).toContain('if (fu_s == 0) b0[gid] = ((float)acc0);');
  });

  it('flattens perfectly nested loops so neighbouring threads read neighbouring elements', () => {
    const src = renderKernel(kernelOf(input([40, 300]).sum()));
    expect(src).toContain('for (int fu_f = fu_s; fu_f < 12000; fu_f += 256) {\n      const int r0 = fu_f / 300;\n      const int r1 = fu_f % 300;');
  });

  it('puts several short rows in one block (a warp each, no barrier) and lets threads past the last output redo it without storing', () => {
    const k = kernelOf(input([10, 200]).amax(1));
    expect(planKernel(k)).toMatchObject({ mode: 'block', layout: 'rows', outputs: 8, threads: 32, blocks: 2 });
    const src = renderKernel(k);
    expect(src).toContain('const int gid = fu_out < 10 ? fu_out : 9;');
    expect(src).toContain('if (fu_s == 0 && fu_out < 10) b0[gid]');
    expect(src).toContain('fu_max(acc0, (double)(fu_v))');
    expect(src).not.toContain('__syncthreads');
    expect(src).not.toContain('__shared__');
  });

  it('puts consecutive outputs side by side when they read consecutive elements (sums over a leading axis)', () => {
    const k = kernelOf(input([1000, 40]).sum(0));
    expect(planKernel(k)).toMatchObject({ mode: 'block', layout: 'cols', outputs: 32, threads: 8, parts: 3, blocks: 6 });
    const src = renderKernel(k);
    expect(src).toContain('const int fu_o = threadIdx.x % 32;\n  const int fu_s = threadIdx.x / 32;');
    expect(src).toContain('fu_sh_acc0[threadIdx.x] = acc0;');
    expect(src).not.toContain('__shfl');
  });

  it('splits a long loop with few outputs across blocks, the last to finish combining the partials', () => {
    const k = kernelOf(input([1_000_000]).sum());
    const plan = planKernel(k);
    // the workspace: the counter area every split kernel shares (512 groups at most), then the partials
    expect(plan).toMatchObject({ mode: 'block', parts: 122, blocks: 122, workspace: 2048 + 122 * 8 });
    expect(launchShape(plan, 132)).toEqual({ grid: 122, block: 256 });
    expect(launchShape(plan, 2)).toEqual({ grid: 64, block: 256 });
    const src = renderKernel(k);
    expect(src).toContain('r_scalar(float* b0, const float* b1, unsigned char* fu_ws) {');
    expect(src).toContain('for (int r0 = fu_p * 256 + fu_s; r0 < 1000000; r0 += 31232) {');
    expect(src).toContain('fu_part_acc0[fu_g * 122 + fu_p] = acc0;');
    expect(src).toContain('if (threadIdx.x == 0) fu_last = atomicAdd(&fu_cnt[fu_g], 1u) == 121u;');
    expect(src).toContain('((volatile double*)fu_part_acc0)[fu_g * 122 + fu_q]');
    expect(src).toContain('if (threadIdx.x == 0) fu_cnt[fu_g] = 0u;');
    expect(renderCudaBatch([k, kernelOf(input([4]).add(1))])).toContain(' k0_r_scalar(float* b0, const float* b1, unsigned char* fu_ws)');
  });

  it('shuffles 8- and 16-bit accumulators as int', () => {
    const src = renderKernel(kernelOf(input([3000], 'bool').any()));
    expect(src).toContain('const unsigned char fu_v = (unsigned char)__shfl_xor_sync(0xffffffffu, (int)acc0, 16);');
  });

  it('keeps one thread per output for short loops, many column outputs, and loops it cannot split', () => {
    expect(planKernel(kernelOf(input([1024, 64]).sum(1))).mode).toBe('thread');
    expect(planKernel(reduction(70_000, 200, (x) => sumOf(200)(x).map((st) => (st.k === 'store' ? { ...st, idx: gid(70_000) } : st)), 70_000, 1)).mode).toBe('thread');
    expect(planKernel(reduction(60_000, 200, (x) => sumOf(200)(x).map((st) => (st.k === 'store' ? { ...st, idx: gid(60_000) } : st)), 60_000, 1))).toMatchObject({ layout: 'cols' });
    const manyRows = (size: number) => planKernel(reduction(size, 200, (x) => sumOf(200)(x).map((st) => (st.k === 'store' ? { ...st, idx: gid(size) } : st)))).mode;
    expect(manyRows(2 ** 20)).toBe('block');
    expect(manyRows(2 ** 20 + 1)).toBe('thread');
    const rows = (body: (x: Expr) => Stmt[]) => planKernel(reduction(1, 500, body)).mode;
    expect(rows(sumOf(500))).toBe('block');
    // a store inside the loop
    expect(rows((x) => sumOf(500)(x).map((st) => (st.k === 'loop' ? { ...st, body: [...st.body, { k: 'store', buf: 0, idx: gid(1), expr: x }] } : st)))).toBe('thread');
    // the accumulator read inside its own loop (its value there would be a partial)
    expect(rows((x) => sumOf(500)(x).map((st) => (st.k === 'loop' ? { ...st, body: [{ k: 'update', name: 'acc0', op: 'add', expr: alu('ADD', x, local('acc0', 'float32')) }] } : st)))).toBe('thread');
    // a sum that does not start from zero
    expect(rows((x) => sumOf(500)(x).map((st) => (st.k === 'acc' ? { ...st, init: 5 } : st)))).toBe('thread');
    // an accumulator updated before its loop
    expect(rows((x) => [sumOf(500)(x)[0]!, { k: 'update', name: 'acc0', op: 'add', expr: x }, ...sumOf(500)(x).slice(1)])).toBe('thread');
  });

  it('launches one thread per element in the thread mode, at most 32 blocks per multiprocessor', () => {
    const plan = planKernel(kernelOf(input([1_000_000, 2]).sum(1)));
    expect(plan).toEqual({ mode: 'thread', blocks: 3907 });
    expect(launchShape(plan, 132)).toEqual({ grid: 3907, block: 256 });
    expect(launchShape(plan, 100)).toEqual({ grid: 3200, block: 256 });
  });
});

/** The prelude's arithmetic, compiled for the host by g++, against fusor's JavaScript definitions. */
describe.skipIf(emulatorUnavailable() !== null)('prelude semantics (host build)', () => {
  const exe = ((): string => {
    const dir = mkdtempSync(join(tmpdir(), 'fusor-prelude-'));
    const main = `#include "${fileURLToPath(new URL('./emulator/shim.h', import.meta.url))}"
#include <stdio.h>
#include <stdlib.h>
${CUDA_PRELUDE}
int main(int argc, char** argv) {
  char op = argv[1][0];
  double x = strtod(argv[2], NULL), y = argc > 3 ? strtod(argv[3], NULL) : 0;
  switch (op) {
    case 'p': printf("%u\\n", fu_pcg(fu_pcg((unsigned)(long long)y) ^ (unsigned)(long long)x)); break;
    case 'h': printf("%u\\n", (unsigned)fu_f2h((float)x)); break;
    case 'H': printf("%.17g\\n", (double)fu_h2f((unsigned short)x)); break;
    case 'b': printf("%u\\n", (unsigned)fu_f2b((float)x)); break;
    case 'i': printf("%d\\n", fu_toi32(x)); break;
    case 'm': printf("%.17g\\n", fu_max(x, y)); break;
    case 'd': printf("%d %d %lld\\n", fu_idiv((int)x, (int)y), fu_mod((int)x, (int)y), fu_idiv((long long)x, (long long)y)); break;
  }
}`;
    writeFileSync(join(dir, 'p.cpp'), main);
    execFileSync('g++', ['-O1', '-o', join(dir, 'p'), join(dir, 'p.cpp')]);
    return join(dir, 'p');
  })();
  const text = (v: string | number): string => (Object.is(v, -0) ? '-0' : String(v));
  const call = (...args: (string | number)[]): string => execFileSync(exe, args.map(text)).toString().trim();

  it('hashes like @fusor/ir random.ts', () => {
    for (const [seed, counter] of [[0, 0], [42, 7], [4294967295, 123456789], [7, 4294967295]] as const) {
      expect(Number(call('p', seed, counter))).toBe(randBits(seed, counter));
    }
  });

  it('converts to and from float16 and bfloat16 with round-to-nearest-even', () => {
    for (const v of [0, -0, 1, 0.1, 65504, 65520, 1e-8, 5.96e-8, 2.98e-8, -3.5, 1e10, 6.1e-5, NaN]) {
      expect(Number(call('h', v)), `f16 ${v}`).toBe(float16Bits(Math.fround(v)));
      expect(Number(call('b', v)), `bf16 ${v}`).toBe(bfloat16Bits(v));
    }
    const num = (t: string): number => ({ inf: Infinity, '-inf': -Infinity, nan: NaN, '-0': -0 })[t] ?? Number(t);
    for (const bits of [0x0001, 0x03ff, 0x3c00, 0x7bff, 0x7c00, 0xfc00, 0x8000, 0x7e00]) expect(num(call('H', bits))).toBe(float16FromBits(bits));
  });

  it('casts float → int32 as JavaScript ToInt32 does, NaN and infinities to 0', () => {
    for (const v of [1.9, -1.9, 2147483648.5, -2147483649, 4294967301, 1e20, NaN, Infinity]) expect(Number(call('i', v)), String(v)).toBe(v | 0);
  });

  it('takes the NaN-propagating max and prefers +0', () => {
    expect(call('m', 'nan', 1)).toBe('nan');
    expect(call('m', 1, 'nan')).toBe('nan');
    expect(call('m', '-0', '0')).toBe('0');
    expect(call('m', '0', '-0')).toBe('0');
  });

  it('divides integers by zero and -1 without trapping', () => {
    expect(call('d', 7, 0)).toBe('0 0 0');
    expect(call('d', -2147483648, -1)).toBe('-2147483648 0 2147483648');
    expect(call('d', -7, 2)).toBe('-3 -1 -3');
  });
});
