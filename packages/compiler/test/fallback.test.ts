import { describe, expect, it } from 'vitest';
import { alu, gid, konst, load, local, withFallbacks, type AluOp, type Expr, type Kernel, type Stmt } from '../src/index.js';

const kernel = (body: Stmt[]): Kernel => ({
  name: 'k',
  size: 8,
  buffers: [
    { dtype: 'float32', size: 8, output: true },
    { dtype: 'float32', size: 8, output: false },
  ],
  vars: [],
  body,
  key: 'k',
});

const ops = (e: Expr, out = new Set<AluOp>()): Set<AluOp> => {
  if (e.k === 'alu') {
    out.add(e.op);
    for (const s of e.src) ops(s, out);
  }
  if (e.k === 'load') ops(e.idx, out);
  return out;
};

const x = load(1, gid(8), 'float32', null);
const noExpm1 = (op: AluOp): boolean => op !== 'EXPM1';

describe('withFallbacks', () => {
  it('returns the kernel itself when its target spells every op', () => {
    const k = kernel([{ k: 'store', buf: 0, idx: gid(8), expr: alu('EXPM1', x) }]);
    expect(withFallbacks(k, () => true)).toBe(k);
    expect(withFallbacks(k, (op) => op !== 'SIN')).toBe(k);
  });

  it('writes an op the target lacks with its fallback, the operand bound to a local first', () => {
    const k = kernel([{ k: 'store', buf: 0, idx: gid(8), expr: alu('EXPM1', alu('MUL', x, konst(2, 'float32'))) }]);
    const out = withFallbacks(k, noExpm1);
    expect(out.body.map((s) => s.k)).toEqual(['let', 'store']);
    const [bind, store] = out.body as [Extract<Stmt, { k: 'let' }>, Extract<Stmt, { k: 'store' }>];
    expect(bind.expr.key).toBe(alu('MUL', x, konst(2, 'float32')).key);
    const used = ops(store.expr);
    expect(used.has('EXPM1')).toBe(false);
    expect([...used].sort()).toEqual(['ADD', 'CMPLT', 'EXP2', 'MAX', 'MUL', 'NEG', 'TRUNC', 'WHERE']);
  });

  it('repeats a leaf operand rather than binding it', () => {
    const k = kernel([
      { k: 'let', name: 'v', expr: x },
      { k: 'store', buf: 0, idx: gid(8), expr: alu('EXPM1', local('v', 'float32')) },
    ]);
    expect(withFallbacks(k, noExpm1).body.map((s) => s.k)).toEqual(['let', 'store']);
  });

  it('shares one expansion among the statements of a block', () => {
    const e = alu('EXPM1', x);
    const k = kernel([
      { k: 'let', name: 'a', expr: e },
      { k: 'store', buf: 0, idx: gid(8), expr: alu('ADD', e, e) },
    ]);
    const out = withFallbacks(k, noExpm1);
    // the load is not a leaf: bound once, the second statement reuses the first's expansion
    expect(out.body.map((s) => s.k)).toEqual(['let', 'let', 'store']);
  });

  it("raises the target's error for an op it lacks that has no fallback", () => {
    const k = kernel([{ k: 'store', buf: 0, idx: gid(8), expr: alu('SIN', x) }]);
    expect(() => withFallbacks(k, (op) => op !== 'SIN', (why) => new RangeError(why))).toThrow(
      new RangeError('SIN has no spelling in this target and no fallback (@fusor/ir ops.ts UNARY)'),
    );
  });
});
