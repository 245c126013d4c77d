import { describe, expect, it } from 'vitest';
import {
  assignNode,
  binaryNode,
  bufferNode,
  constNode,
  contiguousNode,
  copyNode,
  expandNode,
  flipNode,
  padNode,
  permuteNode,
  reduceNode,
  reshapeNode,
  unaryNode,
  whereNode,
  type DType,
  type Node,
  type Shape,
} from '@fusor/ir';
import { alu, cast, gid, isConst, konst, local, lower, ridx, schedule, type Expr, type ScheduleItem, type Stmt } from '../src/index.js';

// Scheduling and lowering only: nothing here runs a kernel, so no backend is needed.
const buf = (shape: Shape, dtype: DType = 'float32', device = 'cpu'): Node => bufferNode(dtype, shape, device);
const c = (v: number, like: Node): Node => constNode(v, like.dtype, like.shape, like.device);
const isBuffer = (n: Node): boolean => n.op === 'BUFFER';
const plan = (roots: Node | Node[], realized: (n: Node) => boolean = isBuffer): ScheduleItem[] =>
  schedule(Array.isArray(roots) ? roots : [roots], realized);
const reductions = (items: readonly ScheduleItem[]): number => items.reduce((n, i) => n + i.reduces.length, 0);
/** The single kernel's IR, as text. */
const ir = (root: Node): string => {
  const items = plan(root);
  expect(items).toHaveLength(1);
  return lower(items[0]!).kernel.key;
};
/** Every load expression in a kernel body. */
function loads(stmts: readonly Stmt[]): Extract<Expr, { k: 'load' }>[] {
  const out: Extract<Expr, { k: 'load' }>[] = [];
  const visit = (e: Expr): void => {
    if (e.k === 'load') out.push(e);
    if (e.k === 'alu') e.src.forEach(visit);
    if (e.k === 'cast') visit(e.src);
  };
  for (const s of stmts) {
    if (s.k === 'let' || s.k === 'update' || s.k === 'store') visit(s.expr);
    if (s.k === 'loop') out.push(...loads(s.body));
  }
  return out;
}

describe('schedule: kernel boundaries and their reasons', () => {
  it('an elementwise chain over a buffer is one kernel reading that buffer', () => {
    const x = buf([4, 3]);
    const y = unaryNode('NEG', binaryNode('ADD', binaryNode('MUL', x, c(2, x)), c(1, x)));
    const items = plan(y);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ kind: 'kernel', root: y, inputs: [x], reason: 'output', reduces: [] });
    expect(items[0]!.ops).toEqual(['NEG', 'ADD', 'CONST', 'MUL']);
  });

  it('elementwise producers fuse into a reduction and epilogues after it', () => {
    const x = buf([4, 3]);
    const r = reduceNode(binaryNode('MUL', x, x), 'add', [1]);
    const y = unaryNode('SQRT', reshapeNode(r, [4]));
    const items = plan(y);
    expect(items).toHaveLength(1);
    expect(items[0]!.reduces).toEqual([r]);
    expect(items[0]!.inputs).toEqual([x]);
  });

  it('a reduction broadcast back over its axes gets its own kernel', () => {
    const x = buf([4, 3]);
    const m = reduceNode(x, 'max', [1]);
    const y = binaryNode('ADD', x, unaryNode('NEG', expandNode(m, [4, 3])));
    const items = plan(y);
    expect(items.map((i) => i.root)).toEqual([m, y]);
    expect(items[0]!.reason).toBe('reduction result broadcast back over its reduced axes: the consumer needs all of it first');
    expect(items[1]!.inputs).toEqual(expect.arrayContaining([x, m]));
    expect(items[1]!.reduces).toEqual([]);
  });

  it('a reduction inside the source of another reduction gets its own kernel', () => {
    const x = buf([4, 3]);
    const inner = reduceNode(x, 'add', [1]);
    const outer = reduceNode(unaryNode('EXP2', inner), 'max', [0]);
    const items = plan(outer);
    expect(items.map((i) => i.root)).toEqual([inner, outer]);
    expect(items[0]!.reason).toBe('reduction inside the source of another reduction');
  });

  it('explicit contiguous is a boundary', () => {
    const x = buf([4, 3]);
    const t = contiguousNode(unaryNode('NEG', permuteNode(x, [1, 0])));
    const y = binaryNode('MUL', t, t);
    const items = plan(y);
    expect(items.map((i) => i.root)).toEqual([t, y]);
    expect(items[0]!.reason).toBe('explicit contiguous()');
    expect(items[1]!.inputs).toEqual([t]);
  });

  it('a copy to another device is an item of its own, after the kernel making its source', () => {
    const x = buf([3]);
    const src = unaryNode('NEG', x);
    const moved = copyNode(src, 'spare:0');
    const y = binaryNode('ADD', moved, c(1, moved));
    const items = plan(y);
    expect(items.map((i) => i.kind)).toEqual(['kernel', 'copy', 'kernel']);
    expect(items[0]!.root).toBe(src);
    expect(items[0]!.reason).toBe('source of a copy to spare:0');
    expect(items[1]!.root).toBe(moved);
    expect(items[1]!.reason).toBe('copy to spare:0');
    expect(items[2]!.root.device).toBe('spare:0');
  });

  it('an in-place assign writes its value into the target buffer', () => {
    const target = buf([3]);
    const a = assignNode(target, binaryNode('ADD', target, c(1, target)));
    const items = plan(a);
    expect(items).toHaveLength(1);
    expect(items[0]!.kind).toBe('assign');
    expect(items[0]!.inputs).toEqual([target]);
  });

  it('realized nodes are read, never recomputed', () => {
    const x = buf([4]);
    const mid = unaryNode('EXP2', x);
    const y = binaryNode('MUL', mid, mid);
    const items = plan(y, (n) => n === mid || isBuffer(n));
    expect(items).toHaveLength(1);
    expect(items[0]!.inputs).toEqual([mid]);
    expect(items[0]!.ops).toEqual(['MUL']);
    expect(plan(y, (n) => n === y)).toEqual([]);
  });

  it('a reduction read several times at one index stays fused', () => {
    const x = buf([4, 3]);
    const r = reduceNode(x, 'add', [1]);
    // relu-like epilogue: r used by CMPLT, WHERE and MUL at the same index
    const y = whereNode(binaryNode('CMPLT', c(0, r), r), r, binaryNode('MUL', r, c(0.5, r)));
    const items = plan(y);
    expect(items).toHaveLength(1);
    expect(items[0]!.reduces).toEqual([r]);
  });

  it('a reduction read by two kernels is computed once, with the reason', () => {
    const x = buf([4, 3]);
    const r = reduceNode(x, 'add', [1]);
    const s = reshapeNode(r, [4]);
    const a = binaryNode('MUL', s, c(2, s));
    const b = binaryNode('ADD', s, c(1, s));
    const items = plan([a, b]);
    expect(items.map((i) => i.root)).toEqual([r, a, b]);
    expect(items[0]!.reason).toBe('reduction result read by 2 kernels: computed once into a buffer');
    expect(reductions(items)).toBe(1);
    expect(items[1]!.inputs).toEqual([r]);
    expect(items[2]!.inputs).toEqual([r]);
  });

  it('a reduction read at two indices of one kernel is computed once', () => {
    const x = buf([4, 3]);
    const s = reshapeNode(reduceNode(x, 'add', [1]), [4]);
    const y = binaryNode('ADD', s, flipNode(s, [0]));
    const items = plan(y);
    expect(items).toHaveLength(2);
    expect(items[0]!.reason).toBe('reduction result read at 2 different indices: computed once into a buffer');
    expect(reductions(items)).toBe(1);
  });

  it('a reduction that is also an output is computed once and read by its consumers', () => {
    const x = buf([4, 3]);
    const r = reduceNode(x, 'add', [1]);
    const y = binaryNode('MUL', r, r);
    const items = plan([y, r]);
    expect(reductions(items)).toBe(1);
    expect(items.map((i) => i.root)).toEqual([r, y]);
    expect(items[0]!.reason).toBe('output');
    expect(items[1]!.inputs).toEqual([r]);
  });

  it('every item comes after the items that produce its inputs', () => {
    const x = buf([8, 4]);
    const m = reduceNode(x, 'max', [1]);
    const e = unaryNode('EXP2', binaryNode('ADD', x, unaryNode('NEG', expandNode(m, [8, 4]))));
    const s = reduceNode(e, 'add', [1]);
    const y = binaryNode('MUL', e, unaryNode('RECIP', expandNode(s, [8, 4])));
    const items = plan([y, s]);
    expect(items).toHaveLength(3); // the softmax shape: max, sum, output
    const done = new Set<Node>();
    for (const it of items) {
      for (const i of it.inputs) expect(isBuffer(i) || done.has(i)).toBe(true);
      done.add(it.root);
    }
  });
});

describe('lowering: kernel IR and index simplification', () => {
  it('a contiguous elementwise kernel loads and stores at gid directly', () => {
    const x = buf([4, 3]);
    const items = plan(binaryNode('MUL', x, c(2, x)));
    const { kernel, inputs } = lower(items[0]!);
    expect(inputs).toEqual([x]);
    expect(kernel.size).toBe(12);
    expect(kernel.buffers).toEqual([
      { dtype: 'float32', size: 12, output: true },
      { dtype: 'float32', size: 12, output: false },
    ]);
    const ls = loads(kernel.body);
    expect(ls).toHaveLength(1);
    expect(ls[0]!.idx.k).toBe('gid');
    expect(ls[0]!.valid).toBeNull();
    expect(kernel.key).toBe(
      'kernel E_4_3(b0: out float32[12], b1: float32[12]) for gid < 12\n  x0: float32 = ld1[gid]\n  x1: float32 = MUL(x0,cfloat32:2)\n  b0[gid] = x1',
    );
  });

  it('size-1 dims simplify away: a permute that only moves them is contiguous', () => {
    const x = buf([1, 4, 1, 3]);
    expect(ir(unaryNode('NEG', permuteNode(x, [2, 0, 1, 3])))).toContain('x0: float32 = ld1[gid]');
    expect(ir(unaryNode('NEG', reshapeNode(x, [4, 3])))).toContain('x0: float32 = ld1[gid]');
  });

  it('a broadcast reads its source by division only (the modulo is proven redundant)', () => {
    const x = buf([4, 1]);
    expect(ir(unaryNode('NEG', expandNode(x, [4, 3])))).toContain('ld1[IDIV(gid,cint32:3)]');
    const row = buf([1, 3]);
    expect(ir(unaryNode('NEG', expandNode(row, [4, 3])))).toContain('ld1[MOD(gid,cint32:3)]');
  });

  it('a transpose reads with the swapped strides', () => {
    const x = buf([4, 3]);
    expect(ir(unaryNode('NEG', permuteNode(x, [1, 0])))).toContain('ld1[ADD(IDIV(gid,cint32:4),MUL(MOD(gid,cint32:4),cint32:3))]');
  });

  it('a reduction is a loop with an accumulator', () => {
    const x = buf([4, 3]);
    expect(ir(reduceNode(x, 'add', [1]))).toBe(
      'kernel r_4_1(b0: out float32[4], b1: float32[12]) for gid < 4\n' +
        '  acc0: float32 = acc(0)\n' +
        '  for r0 < 3:\n' +
        '    x1: float32 = ld1[ADD(MUL(gid,cint32:3),r0)]\n' +
        '    acc0 add= x1\n' +
        '  b0[gid] = acc0',
    );
    expect(ir(reduceNode(buf([4, 3], 'int32'), 'max', [0]))).toContain('acc0: int32 = acc(-2147483648)');
  });

  it('padding masks its loads', () => {
    const x = buf([4, 3]);
    const k = lower(plan(unaryNode('NEG', padNode(x, [[1, 0], [0, 1]])))[0]!).kernel;
    const ls = loads(k.body);
    expect(ls).toHaveLength(1);
    expect(ls[0]!.valid).not.toBeNull();
    // the condition is computed once, in a let, for every load and select it guards
    const v = ls[0]!.valid!;
    const def = k.body.find((s) => s.k === 'let' && s.name === v.key);
    expect(def && def.k === 'let' && def.expr.key).toBe('AND(CMPLT(cint32:0,IDIV(gid,cint32:4)),CMPLT(MOD(gid,cint32:4),cint32:3))');
  });

  it('a value used twice is computed once (CSE) and equal graphs give equal keys', () => {
    const x = buf([6]);
    const e = unaryNode('EXP2', x);
    const k = lower(plan(binaryNode('MUL', e, e))[0]!).kernel;
    expect(k.key.match(/EXP2/g)).toHaveLength(1);
    const y = buf([6]);
    const e2 = unaryNode('EXP2', y);
    expect(lower(plan(binaryNode('MUL', e2, e2))[0]!).kernel.key).toBe(k.key);
  });

  it('float constants are values of their dtype', () => {
    const x = buf([2]);
    expect(ir(binaryNode('MUL', x, c(0.1, x)))).toContain(`cfloat32:${Math.fround(0.1)}`);
    const d = buf([2], 'float64');
    expect(ir(binaryNode('MUL', d, c(0.1, d)))).toContain('cfloat64:0.1');
  });
});

describe('kernel IR expression simplifier', () => {
  const i = gid(12); // 0 ≤ gid ≤ 11
  const n = (v: number): Expr => konst(v, 'int32');
  const f = (v: number): Expr => konst(v, 'float32');

  it('folds constants in the result dtype', () => {
    expect(alu('ADD', n(2), n(3))).toMatchObject({ k: 'const', value: 5 });
    expect(alu('ADD', n(2147483647), n(1))).toMatchObject({ k: 'const', value: -2147483648 });
    expect(alu('MUL', f(0.1), f(3))).toMatchObject({ k: 'const', value: Math.fround(Math.fround(0.1) * 3) });
    expect(alu('IDIV', n(-7), n(2))).toMatchObject({ value: -3 });
    expect(alu('CMPLT', n(1), n(2))).toMatchObject({ k: 'const', dtype: 'bool', value: 1 });
    expect(konst(0.1, 'float32')).toMatchObject({ value: Math.fround(0.1), key: `cfloat32:${Math.fround(0.1)}` });
    expect(konst(2.7, 'int32')).toMatchObject({ value: 2 });
    expect(konst(5, 'bool')).toMatchObject({ value: 1 });
  });

  it('casts of constants follow the casting rules (NaN → 0 for ints)', () => {
    expect(cast(f(NaN), 'int32')).toMatchObject({ k: 'const', value: 0 });
    expect(cast(f(-2.7), 'int32')).toMatchObject({ value: -2 });
    expect(cast(f(300.5), 'uint8')).toMatchObject({ value: 44 });
    expect(cast(f(NaN), 'bool')).toMatchObject({ value: 1 });
    expect(cast(konst(200, 'int32'), 'int8')).toMatchObject({ value: -56 });
  });

  it('drops identities: int x+0, x*1, int x*0', () => {
    expect(alu('ADD', i, n(0))).toBe(i);
    expect(alu('ADD', n(0), i)).toBe(i);
    expect(alu('MUL', i, n(1))).toBe(i);
    expect(alu('MUL', i, n(0))).toMatchObject({ k: 'const', value: 0 });
    // float x + 0 is not x (-0 + 0 is +0), so it stays
    const x = local('x', 'float32');
    expect(alu('ADD', x, f(0)).k).toBe('alu');
    expect(alu('MUL', x, f(1))).toBe(x);
  });

  it('uses value ranges: mod and div by a larger bound vanish, comparisons fold', () => {
    expect(alu('MOD', i, n(12))).toBe(i);
    expect(alu('MOD', i, n(5)).k).toBe('alu');
    expect(alu('IDIV', i, n(12))).toMatchObject({ k: 'const', value: 0 });
    expect(alu('CMPLT', i, n(12))).toMatchObject({ k: 'const', value: 1 });
    expect(alu('CMPLT', i, n(0))).toMatchObject({ k: 'const', value: 0 });
    expect(alu('CMPLT', i, n(6)).k).toBe('alu');
    const r = ridx(0, 3);
    expect(alu('MOD', r, n(3))).toBe(r);
    expect(alu('MOD', alu('IDIV', i, n(4)), n(3))).toEqual(alu('IDIV', i, n(4)));
  });

  it('merges chained divisions and divides multiples', () => {
    expect(alu('IDIV', alu('IDIV', i, n(2)), n(3)).key).toBe('IDIV(gid,cint32:6)');
    expect(alu('IDIV', alu('MUL', i, n(6)), n(3)).key).toBe('MUL(gid,cint32:2)');
    expect(alu('MOD', alu('MUL', i, n(6)), n(3))).toMatchObject({ k: 'const', value: 0 });
    expect(alu('ADD', alu('ADD', i, n(2)), n(3)).key).toBe('ADD(gid,cint32:5)');
  });

  it('forgets a range when the value may wrap, so comparisons are not folded wrongly', () => {
    const g = gid(300);
    // 200 cast to int8 is -56: the cast must not claim a range of [0, 299]
    const narrow = cast(g, 'int8');
    expect([narrow.min, narrow.max]).toEqual([-Infinity, Infinity]);
    expect(alu('CMPLT', narrow, konst(0, 'int8')).k).toBe('alu');
    // a widening cast, or one that fits, keeps it
    expect([cast(g, 'int64').min, cast(g, 'int64').max]).toEqual([0, 299]);
    expect([cast(gid(100), 'int8').min, cast(gid(100), 'int8').max]).toEqual([0, 99]);
    // int32 addition past 2^31 wraps to negative values
    const sum = alu('ADD', cast(gid(10), 'int32'), n(2147483640));
    expect([sum.min, sum.max]).toEqual([-Infinity, Infinity]);
    expect(alu('CMPLT', sum, n(0)).k).toBe('alu');
    const fits = alu('ADD', cast(gid(7), 'int32'), n(2147483640));
    expect([fits.min, fits.max]).toEqual([2147483640, 2147483646]);
    expect(alu('CMPLT', fits, n(0))).toMatchObject({ k: 'const', value: 0 });
  });

  it('tracks ranges through index arithmetic', () => {
    const e = alu('ADD', alu('MUL', alu('IDIV', i, n(4)), n(3)), n(1));
    expect([e.min, e.max]).toEqual([1, 7]);
    expect(isConst(alu('AND', konst(1, 'bool'), konst(0, 'bool')))).toBe(true);
    expect(alu('WHERE', konst(1, 'bool'), i, n(3))).toBe(i);
  });
});
