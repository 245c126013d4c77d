/** The CUDA C renderer: literals, dtype rules, kernel shape, and the prelude's arithmetic. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { alu, cast, float16Bits, float16FromBits, bfloat16Bits, gid, konst, load, planSchedule, lower, type Kernel, type Stmt } from '@fusor/compiler';
import { randBits } from '@fusor/ir';
import * as torch from '@fusor/tensor';
import { CUDA_PRELUDE, CudaRenderError, literal, renderCuda, renderCudaBatch, renderKernel } from '../src/render-cuda.js';
import { emulatorUnavailable } from './emulator/emulator.js';

function kernelOf(t: torch.Tensor): Kernel {
  const items = planSchedule([t.node]);
  return lower(items[items.length - 1]!).kernel;
}

function single(dtype: 'float32' | 'int32' | 'float16', body: Stmt[]): Kernel {
  return { name: 'k', size: 8, buffers: [{ dtype, size: 8, output: true }, { dtype, size: 8, output: false }], vars: [], body, key: 'k' };
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
  it('renders an elementwise kernel as a grid-stride loop over gid', () => {
    const x = torch.tensor([1, 2, 3, 4], { dtype: torch.float32 });
    const src = renderKernel(kernelOf(x.mul(2).add(1)));
    expect(src).toContain('extern "C" __global__ void __launch_bounds__(256) E_4(float* b0, const float* b1) {');
    expect(src).toContain('for (long long fu_i = (long long)blockIdx.x * blockDim.x + threadIdx.x; fu_i < 4LL; fu_i += (long long)gridDim.x * blockDim.x) {');
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
      { k: 'let', name: 'x0', expr: load(1, gid(8), 'float16', null) },
      { k: 'let', name: 'x1', expr: alu('ADD', load(1, gid(8), 'float16', null), konst(1, 'float16')) },
      { k: 'store', buf: 0, idx: gid(8), expr: alu('MUL', load(1, gid(8), 'float16', null), konst(3, 'float16')) },
    ]);
    const src = renderKernel(k);
    expect(src).toContain('unsigned short* b0, const unsigned short* b1');
    expect(src).toContain('const float x0 = fu_h2f(b1[gid]);');
    expect(src).toContain('const float x1 = fu_rh((fu_h2f(b1[gid]) + 1.0f));');
    expect(src).toContain('b0[gid] = fu_f2h((float)(fu_rh((fu_h2f(b1[gid]) * 3.0f))));');
  });

  it('truncates float → int casts through the ToInt32 helper and makes bool casts 0/1', () => {
    const k = single('int32', [{ k: 'store', buf: 0, idx: gid(8), expr: cast(cast(load(1, gid(8), 'int32', null), 'float32'), 'int32') }]);
    expect(renderKernel(k)).toContain('fu_toi32((double)(((float)(b1[gid]))))');
    expect(renderKernel(kernelOf(torch.tensor([0.5, 0], { dtype: torch.float32 }).bool()))).toMatch(/\(\(unsigned char\)\(\(x\d+\) != 0\)\)/);
  });

  it('refuses a bitcast it cannot express, naming it', () => {
    const k = single('int32', [{ k: 'store', buf: 0, idx: gid(8), expr: cast(load(1, gid(8), 'int32', null), 'float64', true) }]);
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
