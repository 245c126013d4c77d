/**
 * Deep graphs (a define-by-run loop unrolled thousands of times): scheduling cuts them into
 * kernels no deeper than MAX_FUSED_DEPTH, every walk over them is free of recursion, and shared
 * subexpressions stay shared in the lowered kernels.
 */
import { describe, expect, it } from 'vitest';
import { binaryNode, bufferNode, constNode, expandNode, permuteNode, reduceNode, reshapeNode, unaryNode, type Node } from '@fusor/ir';
import { lower, MAX_FUSED_DEPTH, schedule, type ScheduleItem, type Stmt } from '../src/index.js';

const MOVEMENT = new Set(['RESHAPE', 'PERMUTE', 'EXPAND', 'PAD', 'SHRINK', 'FLIP']);
const isBuffer = (n: Node): boolean => n.op === 'BUFFER';
const c = (v: number, like: Node): Node => constNode(v, like.dtype, like.shape, like.device);
const CUT = `more than ${MAX_FUSED_DEPTH} ops fused on one path: an intermediate of a deep chain computed into a buffer`;

/** The most non-view ops on one path from an item's root to its inputs (longest path, without recursion). */
function fusedDepth(item: ScheduleItem): number {
  const inputs = new Set(item.inputs);
  const memo = new Map<Node, number>();
  const expanded = new Set<Node>();
  const stack: [Node, boolean][] = [[item.root, false]];
  while (stack.length) {
    const [n, ready] = stack.pop()!;
    if (memo.has(n) || (!ready && expanded.has(n))) continue;
    const inside = n.src.filter((s) => !inputs.has(s));
    if (!ready) {
      expanded.add(n);
      stack.push([n, true]);
      for (const s of inside) if (!expanded.has(s)) stack.push([s, false]);
      continue;
    }
    memo.set(n, (MOVEMENT.has(n.op) || n.src.length === 0 ? 0 : 1) + Math.max(0, ...inside.map((s) => memo.get(s)!)));
  }
  return memo.get(item.root)!;
}

/** Statements of a kernel body, loops included. */
const statements = (body: readonly Stmt[]): number => body.reduce((n, s) => n + 1 + (s.k === 'loop' ? statements(s.body) : 0), 0);

describe('deep graphs', () => {
  it('a chain of 10,000 elementwise ops is cut into kernels of MAX_FUSED_DEPTH ops, in order', () => {
    const x = bufferNode('float32', [100], 'cpu');
    let y = x;
    for (let i = 0; i < 5000; i++) y = binaryNode('ADD', binaryNode('MUL', y, c(0.999, y)), c(0.001, y));
    const items = schedule([y], isBuffer);
    expect(items).toHaveLength(Math.ceil(10000 / MAX_FUSED_DEPTH));
    expect(items.map(fusedDepth)).toEqual([10000 % MAX_FUSED_DEPTH, ...new Array<number>(items.length - 1).fill(MAX_FUSED_DEPTH)]);
    expect(items[0]!.inputs).toEqual([x]);
    expect(items.at(-1)!.root).toBe(y);
    expect(items.at(-1)!.reason).toBe('output');
    // each kernel reads the one before it
    for (let i = 1; i < items.length; i++) {
      expect(items[i]!.inputs).toEqual([items[i - 1]!.root]);
      expect(items[i - 1]!.reason).toBe(CUT);
    }
    for (const item of items) {
      const k = lower(item).kernel;
      // a load, one let per op, the store
      expect(statements(k.body)).toBeLessThanOrEqual(MAX_FUSED_DEPTH + 2);
    }
  });

  it('a graph that reuses each value twice per step lowers to one let per op, never a tree', () => {
    // x ← x·x + x: written out as a tree, step k would hold 3^k copies of x
    const x = bufferNode('float32', [8], 'cpu');
    let y = x;
    for (let i = 0; i < 3000; i++) y = binaryNode('ADD', binaryNode('MUL', y, y), y);
    const items = schedule([y], isBuffer);
    expect(items).toHaveLength(Math.ceil(6000 / MAX_FUSED_DEPTH));
    for (const item of items) {
      const k = lower(item).kernel;
      const ops = fusedDepth(item);
      expect(statements(k.body)).toBeLessThanOrEqual(ops + 2);
      expect(k.key.length).toBeLessThan(60 * (ops + 2));
    }
  });

  it('views add no depth, and a cut below a view is made at its base', () => {
    const x = bufferNode('float32', [6, 4], 'cpu');
    let y = x;
    // transpose, flatten back, scale: the views fold into the loads' index math
    for (let i = 0; i < 2000; i++) y = binaryNode('MUL', reshapeNode(permuteNode(y, [1, 0]), [6, 4]), c(1.0001, y));
    const items = schedule([y], isBuffer);
    expect(items).toHaveLength(Math.ceil(2000 / MAX_FUSED_DEPTH));
    for (const item of items) {
      expect(item.root.op).toBe('MUL');
      expect(fusedDepth(item)).toBeLessThanOrEqual(MAX_FUSED_DEPTH);
      expect(() => lower(item)).not.toThrow();
    }
  });

  it('a chain of 3,000 reductions, each kernel reading the one before, schedules without recursion', () => {
    const x = bufferNode('float32', [4, 8], 'cpu');
    let y = x;
    // a row sum broadcast back over its row: a kernel boundary every step
    for (let i = 0; i < 3000; i++) y = binaryNode('ADD', y, unaryNode('NEG', expandNode(reduceNode(y, 'add', [1]), [4, 8])));
    const items = schedule([y], isBuffer);
    expect(items.length).toBeGreaterThanOrEqual(3000);
    expect(items.at(-1)!.root).toBe(y);
    for (const item of items) expect(fusedDepth(item)).toBeLessThanOrEqual(MAX_FUSED_DEPTH);
  });
});
