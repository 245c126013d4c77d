import { describe, expect, it } from 'vitest';
import { binaryNode, constNode, expandNode, reduceNode, unaryNode, type DType, type Node } from '@fusor/ir';
import { explainSchedule, lower, planKernel, schedule, type ScheduleItem, type VectorPlan } from '@fusor/compiler';
import { CPU_PLANNING, cpuBackend, layoutOf, memoryImport, renderWasm } from '../src/index.js';
import { buf, host, kernelOf, reference, run, same } from './kernels.js';

// The cpu renders what the compiler's planning pass decides from CPU_PLANNING. A reduction whose
// combine is order-free (max, integer sums) takes eight vector chains along its loop; its bits
// must be those of the scalar code and the JavaScript renderer, NaN and signed zeros included.

/** Values with NaN, ±0, ±Infinity and ties sprinkled at positions that fall in every lane, chain and the scalar tail. */
function awkward(n: number, dtype: DType): number[] {
  return Array.from({ length: n }, (_, k) => {
    const v = Math.sin(k * 12.9898) * 437.5;
    if (!dtype.startsWith('float')) return Math.trunc(v);
    if (k % 997 === 13) return Number.NaN;
    if (k % 101 === 7) return -0;
    if (k % 103 === 5) return 0;
    if (k % 1999 === 3) return Number.POSITIVE_INFINITY;
    return k % 89 === 1 ? -Number.MAX_VALUE : v;
  });
}

/** A vector plan with each vectorized loop's chains listed (for matching). */
const lanesOf = (v: VectorPlan): object => (v.lanes === 'loop' ? { lanes: v.lanes, width: v.width, copies: [...v.loops.values()].map((l) => l.copies) } : v);
const lowerItem = (item: ScheduleItem) => lower(item).kernel;
const planOf = (root: Node) => planKernel(kernelOf(root).kernel, CPU_PLANNING);

describe('the planning pass on the cpu', () => {
  it('row max: eight vector chains along each row, the same bits as scalar wasm, JavaScript and the reference', () => {
    for (const [rows, cols] of [
      [37, 1000],
      [5, 67],
      [9, 50],
      [3, 4099],
    ] as const) {
      const x = buf(awkward(rows * cols, 'float32'), 'float32', [rows, cols]);
      const root = reduceNode(x, 'max', [1]);
      expect(lanesOf(planOf(root).vector)).toMatchObject({ lanes: 'loop', width: 4, copies: [cols >= 64 ? 8 : 4] });
      const simd = run(root, { simd: true });
      expect(same(simd, run(root, { simd: false }))).toBe(true);
      expect(same(simd, run(root, { renderer: 'js' }))).toBe(true);
      expect(same(simd, reference(root))).toBe(true);
    }
  });

  it('row sums of int32 take eight chains and stay exact (wrapping)', () => {
    const x = buf(
      awkward(33 * 999, 'int32').map((v) => v * 6_000_000),
      'int32',
      [33, 999],
    );
    const root = reduceNode(x, 'add', [1]);
    expect(lanesOf(planOf(root).vector)).toMatchObject({ lanes: 'loop', copies: [8] });
    expect(run(root)).toEqual(reference(root));
  });

  it('a float32 row sum keeps one chain: more chains would change its rounding', () => {
    const root = reduceNode(buf(awkward(8 * 512, 'float32'), 'float32', [8, 512]), 'add', [1]);
    expect(lanesOf(planOf(root).vector)).toMatchObject({ lanes: 'loop', copies: [1] });
  });

  it('a full max is split into chunks on 32-element bounds, eight chains each, and matches the reference', () => {
    const n = (1 << 20) + 3;
    const root = reduceNode(buf(awkward(n, 'float32')), 'max', [0]);
    const { split } = planOf(root);
    expect(split?.parts).toBe(64);
    const layout = layoutOf(new WebAssembly.Module(renderWasm(kernelOf(root).kernel, memoryImport()) as Uint8Array<ArrayBuffer>));
    expect(layout.split?.bounds).toEqual(split?.bounds);
    expect(layout.split?.bounds.slice(0, -1).every((b) => b % 32 === 0)).toBe(true);
    expect(same(run(root, { parallelThreshold: 0 }), reference(root))).toBe(true);
    // one largest value, in each of the eight chains of some chunk's vector loop: every chain is combined
    const finite = awkward(n, 'float32').map((v) => (Number.isFinite(v) ? v : 1));
    for (const at of [0, 1, 2, 3, 4, 5, 6, 7].map((chain) => 32 * 4001 * (chain + 1) + 4 * chain + (chain % 4))) {
      const values = [...finite];
      values[at] = 1e30;
      const m = reduceNode(buf(values), 'max', [0]);
      expect(run(m)).toEqual(reference(m));
    }
  });

  it("a row kernel (softmax) vectorizes each of its contiguous passes: the max pass eight chains, the sum and the stores one", () => {
    const x = buf(awkward(16 * 1000, 'float32').map((v) => (Number.isFinite(v) ? v / 100 : 0)), 'float32', [16, 1000]);
    const m = expandNode(reduceNode(x, 'max', [1]), x.shape);
    const e = unaryNode('EXP2', binaryNode('ADD', x, unaryNode('NEG', m)));
    const root = binaryNode('MUL', e, unaryNode('RECIP', expandNode(reduceNode(e, 'add', [1]), x.shape)));
    const items = schedule([root], (n) => host.has(n), () => cpuBackend);
    expect(items).toHaveLength(1);
    const kernel = lowerItem(items[0]!);
    const v = planKernel(kernel, CPU_PLANNING).vector;
    expect(v.lanes === 'loop' && [...v.loops.values()].map((l) => l.copies)).toEqual([8, 1, 1]);
    const plan = explainSchedule(items, () => cpuBackend).kernels[0]!.plan;
    expect(plan).toMatch(/^vector 4 iterations per step of loops r\d+ \(×8\), r\d+, r\d+$/);
  });

  it("explain() shows each kernel's plan", () => {
    const x = buf(awkward(64 * 4096, 'float32'), 'float32', [64, 4096]);
    const roots = [reduceNode(x, 'max', [1]), reduceNode(x, 'add', [0]), binaryNode('ADD', x, constNode(1, 'float32', x.shape, 'cpu'))];
    const plans = roots.map((r) => explainSchedule(schedule([r], (n) => host.has(n)), () => cpuBackend).kernels[0]!.plan);
    expect(plans).toEqual(['vector 4×8 iterations of loop r0 per step', 'vector 4×4 outputs per step', 'vector 4 outputs per step']);
    const text = explainSchedule(schedule([reduceNode(buf(awkward(1 << 18, 'float32')), 'add', [0])], (n) => host.has(n)), () => cpuBackend).toString();
    expect(text).toContain('    plan: vector 4 iterations of loop r0 per step; reduction split into 64 chunks of loop r0, combined in chunk order');
  });
});
