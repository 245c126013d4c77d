/** The WGSL renderer on its own: no adapter needed (kernels come from lowering cpu graphs). */
import { describe, expect, it } from 'vitest';
import { alu, gid, konst, load, local, lower, printKernel, ridx, type Kernel } from '@fusor/compiler';
import { planSchedule } from '@fusor/runtime';
import * as torch from '@fusor/tensor';
import { COOPERATIVE_MARK, DEFAULT_WGSL_OPTIONS, dispatchSize, isCooperative, reductionMode, renderWgsl, sizeClass, WgslRenderError } from '@fusor/backend-webgpu';

/** The kernels realizing `t` would launch (on cpu, so no device is needed). */
const kernelsOf = (t: torch.Tensor): Kernel[] => planSchedule([t.node]).filter((i) => i.kind !== 'copy').map((i) => lower(i).kernel);
const only = (t: torch.Tensor): Kernel => {
  const ks = kernelsOf(t);
  expect(ks).toHaveLength(1);
  return ks[0]!;
};
const f32 = (n: number): torch.Tensor => torch.arange(n, { dtype: torch.float32 });
/** A realized float32 buffer (an input of the kernels reading it). */
const buf = (n: number): torch.Tensor => torch.tensor(new Float32Array(n));

describe('renderWgsl', () => {
  it('binds the output read_write, each input read-only, and guards gid against the size', () => {
    const a = buf(6).reshape(2, 3);
    const b = buf(6).reshape(2, 3);
    const { code, layout } = renderWgsl(only(a.mul(2).add(b.exp())), { workgroupSize: 64, f16: false });
    expect(code).toMatch(/@binding\(0\) var<storage, read_write> b0: array<f32>;/);
    expect(code).toMatch(/@binding\(1\) var<storage, read> b1: array<f32>;/);
    expect(code).toContain('@compute @workgroup_size(64)');
    expect(code).toContain('let gid = i32((wid.y * nwg.x + wid.x) * 64u + lid);');
    expect(code).toContain('if (gid >= 6i) { return; }');
    expect(code).toMatch(/@binding\(2\) var<storage, read> b2: array<f32>;/);
    expect(layout).toEqual({ buffers: 3, varsBinding: null, overflowBinding: null });
  });

  it('passes random seeds and offsets as a uniform and implements the counter-based generator', () => {
    torch.manualSeed(3);
    const { code, layout } = renderWgsl(only(torch.rand(4, 5).mul(2)));
    expect(layout.varsBinding).toBe(1);
    expect(code).toContain('struct Vars { v0: i32, v1: i32, }');
    expect(code).toContain('var<uniform> vars: Vars;');
    expect(code).toContain('rand_uniform(vars.v0, (vars.v1 + gid))');
    expect(code).toContain('* 747796405u + 2891336453u');
  });

  it('holds bool and small integers in 32-bit words, wrapping int8 and uint8 to their width', () => {
    const x = torch.tensor([1, 2, 3], { dtype: torch.int8 });
    const { code } = renderWgsl(only(x.mul(100).gt(0)));
    expect(code).toContain('var<storage, read_write> b0: array<i32>;');
    expect(code).toContain('var<storage, read> b1: array<i32>;');
    expect(code).toMatch(/<< 24u\) >> 24u\)/);
    expect(code).toContain('select(0i, 1i,');
    const u = torch.tensor([250], { dtype: torch.uint8 });
    expect(renderWgsl(only(u.add(10))).code).toContain('& 255i)');
  });

  it('checks int64 arithmetic for int32 overflow through a flag binding, and only where int64 math happens', () => {
    const n = torch.tensor([1, 2, 3]);
    const { code, layout } = renderWgsl(only(n.mul(n).sum()));
    expect(layout.overflowBinding).toBe(2);
    expect(code).toContain('var<storage, read_write> fusor_overflow: array<atomic<u32>>;');
    expect(code).toMatch(/mul64\(|add64\(/);
    const plain = renderWgsl(only(f32(4).mul(2)));
    expect(plain.layout.overflowBinding).toBeNull();
    expect(plain.code).not.toContain('fusor_overflow');
  });

  it('refuses int64 constants outside int32, naming the value and the backend', () => {
    const big = torch.full([2], 2 ** 40, { dtype: torch.int64 }).add(torch.arange(2));
    expect(() => renderWgsl(only(big))).toThrow(WgslRenderError);
    expect(() => renderWgsl(only(big))).toThrow(/int64 value 1099511627776 is outside the range the webgpu backend holds int64 in/);
  });

  it('writes NaN and infinities from their bits and tests NaN by bits (compilers fold x != x)', () => {
    const x = f32(3);
    const { code } = renderWgsl(only(x.mul(-Infinity).isnan().logicalOr(x.isinf())));
    expect(code).toContain('f32_bits(0xff800000u)');
    expect(code).toMatch(/!isnan\(/);
    expect(code).toContain('> 0x7f800000u');
  });

  it('uses range-reduced sin and NaN-propagating max, exp2 and log2 instead of the built-ins', () => {
    const x = f32(4);
    const { code } = renderWgsl(only(x.sin().add(x.exp()).add(x.log()).maximum(x)));
    for (const fn of ['fn fsin', 'fn reduce_pio2', 'fn fexp2', 'fn flog2', 'fn fmax']) expect(code).toContain(fn);
    expect(code).not.toMatch(/[^f]sin\(x/);
  });

  it('refuses float16 without shader-f16 and enables it with', () => {
    const body = [{ k: 'store' as const, buf: 0, idx: gid(3), expr: alu('ADD', load(1, gid(3), 'float16', null), konst(1, 'float16')) }];
    const draft = { name: 'E_3', size: 3, buffers: [{ dtype: 'float16' as const, size: 3, output: true }, { dtype: 'float16' as const, size: 3, output: false }], vars: [], body };
    const k: Kernel = { ...draft, key: printKernel(draft) };
    expect(() => renderWgsl(k, { workgroupSize: 64, f16: false })).toThrow(/shader-f16/);
    const { code } = renderWgsl(k, { workgroupSize: 64, f16: true });
    expect(code).toContain('enable f16;');
    expect(code).toContain('array<f16>');
  });

  it('loops reductions with a typed accumulator', () => {
    const { code } = renderWgsl(only(f32(12).reshape(3, 4).amax(1)));
    expect(code).toMatch(/var acc\d+: f32 = f32_bits\(0xff800000u\);/);
    expect(code).toMatch(/for \(var r0: i32 = 0i; r0 < 4i; r0\+\+\) \{/);
    expect(code).toMatch(/acc\d+ = fmax\(acc\d+, /);
  });

  it('renders a long reduction with few outputs one workgroup per output, combined in a workgroup tree', () => {
    const k = only(buf(4096).reshape(2, 2048).amax(1));
    const { code } = renderWgsl(k);
    expect(code.startsWith(COOPERATIVE_MARK)).toBe(true);
    expect(code).toContain('var<workgroup> fusor_red: array<f32, 64>;');
    expect(code).toContain('let gid = i32(wid.y * nwg.x + wid.x);');
    expect(code).toMatch(/for \(var r0: i32 = i32\(lid\); r0 < 2048i; r0 \+= 64i\) \{/);
    expect(code).toContain('if (lid < s) { fusor_red[lid] = fmax(fusor_red[lid], fusor_red[lid + s]); }');
    expect(code).toMatch(/if \(lid == 0u\) \{\n +b0\[gid\] = /);
    // the fallback: one invocation per output
    const plain = renderWgsl(k, { workgroupSize: 64, f16: false, cooperative: false }).code;
    expect(plain).not.toContain('fusor_red');
    expect(plain).toMatch(/for \(var r0: i32 = 0i; r0 < 2048i; r0\+\+\) \{/);
    // many outputs, a short loop, or an integer accumulator: one invocation per output
    expect(isCooperative(only(buf(4096 * 64).reshape(64, 4096).sum(1)), DEFAULT_WGSL_OPTIONS)).toBe(false);
    expect(isCooperative(only(buf(200).reshape(2, 100).sum(1)), DEFAULT_WGSL_OPTIONS)).toBe(false);
    expect(isCooperative(only(torch.tensor(new Int32Array(4096)).sum()), DEFAULT_WGSL_OPTIONS)).toBe(false);
    expect(isCooperative(only(buf(4096).sum()), DEFAULT_WGSL_OPTIONS)).toBe(true);
  });

  it('keeps one invocation per output where a combine would change the meaning', () => {
    // acc = init; for r0 < 1024: acc += b1[r0]  (twice: the second loop updating the same acc)
    const kernel = (init: number, loops: number): Kernel => {
      const loop = { k: 'loop' as const, ridx: 0, n: 1024, body: [{ k: 'update' as const, name: 'acc0', op: 'add' as const, expr: load(1, ridx(0, 1024), 'float32', null) }] };
      const body = [{ k: 'acc' as const, name: 'acc0', dtype: 'float32' as const, init }, ...Array.from({ length: loops }, () => loop), { k: 'store' as const, buf: 0, idx: gid(1), expr: local('acc0', 'float32') }];
      const draft = { name: 'r', size: 1, buffers: [{ dtype: 'float32' as const, size: 1, output: true }, { dtype: 'float32' as const, size: 1024, output: false }], vars: [], body };
      return { ...draft, key: printKernel(draft) };
    };
    expect(reductionMode(kernel(0, 1), DEFAULT_WGSL_OPTIONS)).toBe('workgroup');
    // a start value that is not the identity would be counted once per lane
    expect(reductionMode(kernel(5, 1), DEFAULT_WGSL_OPTIONS)).toBe('invocation');
    expect(reductionMode(kernel(0, 2), DEFAULT_WGSL_OPTIONS)).toBe('invocation');
  });

  it('binds repeated index arithmetic once and divides by constants without the zero-divisor helper', () => {
    // replicate pad in 3-D: lowering spells the same quotients out in every tap's index and mask
    const k = only(torch.functional.pad(buf(12).reshape(1, 2, 2, 3), [1, 1, 2, 0, 1, 1], { mode: 'replicate' }));
    const { code } = renderWgsl(k);
    expect(code).toContain('let fusor_i0: i32 = (gid / 20i);');
    expect(code.match(/\(gid \/ 20i\)/g)).toHaveLength(1);
    expect(code).toMatch(/let fusor_i\d+: bool = /);
    expect(code).not.toContain('idiv(');
    expect(code).not.toContain('imod(');
    // unbound, the same kernel was 48,766 characters (15 s and GBs of memory for SwiftShader's compiler)
    expect(code.length).toBeLessThan(10_000);
    // a divisor only known at run time keeps the helper (x // 0 is 0 on webgpu, not a fault)
    const n = torch.tensor([7, -7, 3], { dtype: torch.int32 });
    const d = torch.tensor([2, 2, 0], { dtype: torch.int32 });
    expect(renderWgsl(only(n.floorDivide(d))).code).toMatch(/idiv\(/);
  });

  it('keeps x + 0 (−0 → +0) from being folded away: the zero is replaced by its bits', () => {
    const code = renderWgsl(only(buf(4).neg().add(0))).code;
    expect(code).toMatch(/bitcast<f32>\(select\(bitcast<u32>\((\w+)\), 0u, \1 == 0f\)\)/);
  });

  it('runs only the taken branch of a where() whose branch checks int64 arithmetic (an if/else, not a select)', () => {
    // cumprod's first step: select(prev · x, x, first) multiplied whatever the output held before
    const code = renderWgsl(only(torch.tensor([[2, 1, 0, 2]]).cumprod(1))).code;
    expect(code).not.toMatch(/select\(mul64\(/);
    expect(code).toMatch(/var (fusor_w\d+): i32;\n\s*if \(fusor_i\d+\) \{\n\s*\1 = \w+;\n\s*\} else \{\n\s*\1 = mul64\(/);
    // without checked int64 arithmetic in a branch (float32), where() stays a select
    const f = renderWgsl(only(torch.tensor([[2, 1, 0, 2]], { dtype: torch.float32 }).cumprod(1))).code;
    expect(f).toMatch(/= select\(\(\w+ \* \w+\), \w+, fusor_i\d+\);/);
    expect(f).not.toContain('fusor_w');
  });

  it('binds names inside the loop that needs them, and binds again in a later loop (a name never leaves its block)', () => {
    // two reductions over one permuted view: the same index arithmetic inside each loop
    const x = buf(24).reshape(2, 3, 4).permute(2, 0, 1);
    const code = renderWgsl(only(x.sum(-1).add(x.amax(-1)))).code;
    const base = '((gid / 2i) + ((gid % 2i) * 12i))';
    expect(code).toContain(`for (var r0: i32 = 0i; r0 < 3i; r0++) {\n    let fusor_i0: i32 = ${base};\n    let x1: f32 = b1[(fusor_i0 + (r0 * 4i))];`);
    expect(code).toContain(`for (var r1: i32 = 0i; r1 < 3i; r1++) {\n    let fusor_i1: i32 = ${base};\n    let x3: f32 = b1[(fusor_i1 + (r1 * 4i))];`);
    expect(code.match(/fusor_i0\b/g)).toHaveLength(2);
  });
});

describe('sizeClass', () => {
  it('rounds small requests to 256 bytes and larger ones to quarter steps of their power of two', () => {
    expect([4, 256, 257, 4096].map(sizeClass)).toEqual([256, 256, 512, 4096]);
    expect([4097, 5120, 5121, 7169, 1 << 20, (1 << 20) + 1].map(sizeClass)).toEqual([5120, 5120, 6144, 8192, 1 << 20, 1310720]);
  });
});

describe('dispatchSize', () => {
  it('launches a 1-D grid while it fits and a 2-D grid past maxComputeWorkgroupsPerDimension', () => {
    expect(dispatchSize(1, 64, 65535)).toEqual([1, 1]);
    expect(dispatchSize(65535 * 64, 64, 65535)).toEqual([65535, 1]);
    expect(dispatchSize(65535 * 64 + 1, 64, 65535)).toEqual([65535, 2]);
    expect(dispatchSize(10_000_000, 64, 65535)).toEqual([65535, 3]);
  });

  it('raises when even a 2-D grid cannot cover the kernel', () => {
    expect(() => dispatchSize(2 ** 31, 64, 1000)).toThrow(/more than this webgpu device can launch/);
  });
});
