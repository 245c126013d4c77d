import { describe, expect, it } from 'vitest';
import {
  arangeNode,
  assignNode,
  binaryNode,
  bitcastNode,
  broadcastTo,
  bufferNode,
  castNode,
  constNode,
  copyNode,
  expandNode,
  flipNode,
  internedCount,
  forgetNode,
  releaseConsumers,
  setInternCapacity,
  padNode,
  permuteNode,
  randNode,
  reduceNode,
  reshapeNode,
  shrinkNode,
  ShapeError,
  toposort,
  unaryNode,
  whereNode,
  withShape,
  withSources,
  type Node,
} from '../src/index.js';

const c = (v: number, shape: number[] = [2]) => constNode(v, 'float32', shape, 'cpu');

describe('interning', () => {
  it('equal graphs are the same object', () => {
    const x = bufferNode('float32', [2], 'cpu');
    const build = () => unaryNode('NEG', binaryNode('MUL', binaryNode('ADD', x, c(1)), c(2)));
    expect(build()).toBe(build());
    expect(build().key).toBe(build().key);
    expect(c(3)).toBe(c(3));
    expect(randNode(1, 0, [4], 'float32', 'cpu')).toBe(randNode(1, 0, [4], 'float32', 'cpu'));
    expect(arangeNode(0, 2, 5, 'int32', 'cpu')).toBe(arangeNode(0, 2, 5, 'int32', 'cpu'));
  });

  it('different constants, dtypes, shapes and devices differ', () => {
    expect(c(1)).not.toBe(c(2));
    expect(c(1)).not.toBe(constNode(1, 'float64', [2], 'cpu'));
    expect(c(1)).not.toBe(c(1, [3]));
    expect(c(1)).not.toBe(constNode(1, 'float32', [2], 'webgpu'));
    expect(randNode(1, 0, [4], 'float32', 'cpu')).not.toBe(randNode(2, 0, [4], 'float32', 'cpu'));
    expect(randNode(1, 0, [4], 'float32', 'cpu')).not.toBe(randNode(1, 4, [4], 'float32', 'cpu'));
  });

  it('-0 and 0 are different float constants; NaN constants intern', () => {
    expect(c(-0)).not.toBe(c(0));
    expect(Object.is(c(-0).arg, -0)).toBe(true);
    expect(c(NaN)).toBe(c(NaN));
    expect(c(Infinity)).not.toBe(c(-Infinity));
  });

  it('integer and bool constants are stored normalized', () => {
    expect(constNode(1.7, 'int32', [], 'cpu')).toBe(constNode(1, 'int32', [], 'cpu'));
    expect(constNode(5, 'bool', [], 'cpu')).toBe(constNode(1, 'bool', [], 'cpu'));
    expect(constNode(0, 'bool', [], 'cpu').arg).toBe(0);
  });

  // IR BUG: constNode truncates with Math.trunc, which keeps the sign of zero, so an integer
  // constant built from -0 or from (-1, 0) has arg -0 and key '-0' and does not intern with 0.
  // Fix: `v = Math.trunc(value) + 0` (or `|| 0`) for integer dtypes. Flip to `it` once fixed.
  it('integer constants from -0 or -0.5 intern with 0', () => {
    expect(constNode(-0.5, 'int32', [], 'cpu')).toBe(constNode(0, 'int32', [], 'cpu'));
    expect(constNode(-0, 'int64', [], 'cpu')).toBe(constNode(0, 'int64', [], 'cpu'));
  });

  // IR BUG: constNode(NaN, 'bool') stores 0 (`value ? 1 : 0`), but PyTorch's
  // torch.full((1,), float('nan'), dtype=torch.bool) is True, as is CAST(NaN → bool) in the
  // interpreter (x != 0). Fix: `v = value !== 0 ? 1 : 0`. Flip to `it` once fixed.
  it('a NaN bool constant is true, as CAST(NaN) is', () => {
    expect(constNode(NaN, 'bool', [], 'cpu').arg).toBe(1);
  });

  it('buffers are never merged', () => {
    expect(bufferNode('float32', [2], 'cpu')).not.toBe(bufferNode('float32', [2], 'cpu'));
  });

  it('a node over a source nothing reads yet is remembered by that source, not by the table', () => {
    const x = bufferNode('float32', [7, 7], 'cpu');
    const before = internedCount();
    const y = unaryNode('SQRT', x);
    expect(internedCount()).toBe(before);
    expect(unaryNode('SQRT', x)).toBe(y);
    // x is read now: another node over it goes to the table, once
    const z = unaryNode('NEG', x);
    expect(internedCount()).toBe(before + 1);
    expect(unaryNode('NEG', x)).toBe(z);
    expect(unaryNode('SQRT', x)).toBe(y);
    expect(internedCount()).toBe(before + 1);
  });

  it('a released node remembers no consumer: nodes over it are held by the table', () => {
    const x = bufferNode('float32', [5], 'cpu');
    const y = unaryNode('SQRT', x);
    releaseConsumers(x);
    const before = internedCount();
    const again = unaryNode('SQRT', x);
    expect(again).not.toBe(y); // only sharing with the node built before the release is lost
    expect(again.op).toBe('SQRT');
    expect(internedCount()).toBe(before + 1);
    expect(unaryNode('SQRT', x)).toBe(again);
  });

  it('a forgotten node leaves the table: built again, it is a new node', () => {
    const k = constNode(9.5, 'float32', [3], 'cpu');
    const u = unaryNode('SQRT', k);
    const before = internedCount();
    forgetNode(u);
    expect(internedCount()).toBe(before - 1);
    forgetNode(u); // not held any more: nothing to do
    expect(internedCount()).toBe(before - 1);
    const again = unaryNode('SQRT', k);
    expect(again).not.toBe(u);
    expect(unaryNode('SQRT', k)).toBe(again);
  });

  it('nodes over constants (held by the table) are held by the table', () => {
    const k = constNode(7.25, 'float32', [3], 'cpu');
    const before = internedCount();
    const u = unaryNode('SQRT', k);
    expect(internedCount()).toBe(before + 1);
    expect(unaryNode('SQRT', k)).toBe(u);
    expect(internedCount()).toBe(before + 1);
  });

  it('the table holds at most its capacity and keeps what is used; chains stay shared past it', () => {
    try {
      setInternCapacity(8);
      const keep = c(0.125);
      const first = c(0.375);
      for (let i = 0; i < 40; i++) {
        expect(c(0.125)).toBe(keep);
        c(1000 + i);
        expect(internedCount()).toBeLessThanOrEqual(8);
      }
      expect(c(0.375)).not.toBe(first); // forgotten: only sharing is lost
      expect(c(0.375).arg).toBe(0.375);
      const x = bufferNode('float32', [2], 'cpu');
      const chain = () => {
        let n = x;
        for (let i = 0; i < 100; i++) n = binaryNode(i % 2 ? 'ADD' : 'MUL', n, c(i % 2 ? 1 : 0.5));
        return n;
      };
      expect(chain()).toBe(chain());
    } finally {
      setInternCapacity(1 << 16);
    }
  });

  it('many distinct constants intern apart and again', () => {
    const made = Array.from({ length: 3000 }, (_, i) => c(i / 7 - 100));
    made.forEach((n, i) => expect(c(i / 7 - 100)).toBe(n));
    expect(new Set(made).size).toBe(3000);
  });
});

describe('typed constructors', () => {
  const x = bufferNode('float32', [3, 4], 'cpu');
  const i = bufferNode('int32', [3, 4], 'cpu');

  it('reshapeNode checks sizes with PyTorch\'s message and collapses chains', () => {
    expect(() => reshapeNode(x, [5])).toThrow(new ShapeError("shape '[5]' is invalid for input of size 12"));
    expect(() => reshapeNode(x, [2, 5])).toThrow("shape '[2, 5]' is invalid for input of size 12");
    expect(() => reshapeNode(x, [-1, 12])).toThrow(ShapeError);
    expect(reshapeNode(x, [3, 4])).toBe(x);
    const r = reshapeNode(reshapeNode(x, [12]), [2, 6]);
    expect(r.src[0]).toBe(x);
    expect(r.shape).toEqual([2, 6]);
    expect(reshapeNode(reshapeNode(x, [12]), [3, 4])).toBe(x);
  });

  it('unary and binary ops check dtypes and shapes', () => {
    expect(() => unaryNode('EXP2', i)).toThrow('EXP2 needs a floating dtype, got int32');
    expect(() => unaryNode('ADD', x)).toThrow('ADD is not a unary op');
    expect(() => binaryNode('IDIV', x, x)).toThrow('IDIV needs an integer or bool dtype, got float32');
    expect(() => binaryNode('ADD', x, i)).toThrow(TypeError);
    expect(() => binaryNode('ADD', x, bufferNode('float32', [4, 3], 'cpu'))).toThrow(ShapeError);
    expect(() => binaryNode('ADD', x, bufferNode('float32', [3, 4], 'webgpu'))).toThrow('different devices');
    expect(binaryNode('CMPLT', x, x).dtype).toBe('bool');
    expect(binaryNode('SHL', i, i).dtype).toBe('int32');
  });

  it('where, cast, bitcast', () => {
    const cond = binaryNode('CMPLT', x, x);
    expect(whereNode(cond, x, x).dtype).toBe('float32');
    expect(() => whereNode(x, x, x)).toThrow('WHERE: condition must be bool, got float32');
    expect(castNode(x, 'float32')).toBe(x);
    expect(castNode(x, 'int8').dtype).toBe('int8');
    expect(bitcastNode(x, 'int32').dtype).toBe('int32');
    expect(() => bitcastNode(x, 'int64')).toThrow('BITCAST: float32 and int64 differ in size');
  });

  it('reduce keeps reduced axes as size 1 and sorts/dedups them', () => {
    const r = reduceNode(x, 'add', [1, 0, 1]);
    expect(r.shape).toEqual([1, 1]);
    expect(r.arg).toEqual({ reduce: 'add', axes: [0, 1] });
    expect(reduceNode(x, 'max', [])).toBe(x);
    expect(() => reduceNode(x, 'add', [2])).toThrow('REDUCE: axis 2 out of range for 2 dims');
  });

  it('movement constructors compute shapes and drop no-ops', () => {
    expect(permuteNode(x, [1, 0]).shape).toEqual([4, 3]);
    expect(permuteNode(x, [0, 1])).toBe(x);
    expect(() => permuteNode(x, [0, 0])).toThrow(ShapeError);
    const one = bufferNode('float32', [3, 1], 'cpu');
    expect(expandNode(one, [3, 5]).shape).toEqual([3, 5]);
    expect(() => expandNode(x, [3, 5])).toThrow('expand: cannot expand [3,4] to [3,5]');
    expect(padNode(x, [[1, 2], [0, 1]]).shape).toEqual([6, 5]);
    expect(padNode(x, [[0, 0], [0, 0]])).toBe(x);
    expect(() => padNode(x, [[-1, 0], [0, 0]])).toThrow(ShapeError);
    expect(shrinkNode(x, [[1, 3], [0, 4]]).shape).toEqual([2, 4]);
    expect(shrinkNode(x, [[0, 3], [0, 4]])).toBe(x);
    expect(() => shrinkNode(x, [[0, 4], [0, 4]])).toThrow(ShapeError);
    expect(flipNode(x, [1, 1]).arg).toEqual([1]);
    expect(flipNode(one, [1])).toBe(one); // size-1 axes are not flipped
    expect(copyNode(x, 'cpu')).toBe(x);
    expect(copyNode(x, 'webgpu').device).toBe('webgpu');
    expect(() => assignNode(x, i)).toThrow(ShapeError);
  });

  it('broadcastTo left-pads with 1s and expands', () => {
    const v = bufferNode('float32', [4], 'cpu');
    const b = broadcastTo(v, [2, 3, 4]);
    expect(b.op).toBe('EXPAND');
    expect(b.shape).toEqual([2, 3, 4]);
    expect(b.src[0]!.shape).toEqual([1, 1, 4]);
    expect(() => broadcastTo(v, [3])).toThrow('The size of tensor a (4) must match the size of tensor b (3) at non-singleton dimension 0');
  });
});

describe('graph utilities', () => {
  it('toposort lists sources before consumers, each node once', () => {
    const x = bufferNode('float32', [2], 'cpu');
    const a = unaryNode('NEG', x);
    const b = unaryNode('SQRT', x);
    const d = binaryNode('ADD', a, b);
    const e = binaryNode('MUL', d, a);
    const order = toposort([e]);
    expect(new Set(order).size).toBe(order.length);
    expect(order).toHaveLength(5);
    const pos = new Map(order.map((n, k) => [n, k]));
    for (const n of order) for (const s of n.src) expect(pos.get(s)!).toBeLessThan(pos.get(n)!);
    expect(order.at(-1)).toBe(e);
  });

  it('toposort handles a 20000-deep chain', () => {
    let n: Node = bufferNode('float32', [1], 'cpu');
    for (let k = 0; k < 20000; k++) n = unaryNode('NEG', n);
    expect(toposort([n])).toHaveLength(20001);
  });

  it('withSources rebuilds over new sources (interned), or returns the node unchanged', () => {
    const x = bufferNode('float32', [2], 'cpu');
    const y = bufferNode('float32', [2], 'cpu');
    const n = binaryNode('ADD', x, c(1));
    expect(withSources(n, [x, c(1)])).toBe(n);
    expect(withSources(n, [y, c(1)])).toBe(binaryNode('ADD', y, c(1)));
  });

  it('withShape re-shapes sources but not buffers', () => {
    expect(withShape(c(1), [5])).toBe(c(1, [5]));
    expect(() => withShape(bufferNode('float32', [2], 'cpu'), [3])).toThrow(/not a reshapeable source/);
  });
});
