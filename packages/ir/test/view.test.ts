import { describe, expect, it } from 'vitest';
import {
  bufferNode,
  contiguousStrides,
  expandNode,
  flipNode,
  padNode,
  permuteNode,
  prod,
  reshapeNode,
  ShapeTracker,
  shrinkNode,
  View,
  type Node,
  type Pair,
  type Shape,
} from '../src/index.js';
// The reference interpreter is the oracle for what a movement op means.
import { interpret } from '../../compiler/src/interpret.js';

/** Every index of `shape` in row-major order. */
function* indices(shape: Shape): Generator<number[]> {
  const n = prod(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < n; flat++) {
    yield [...idx];
    for (let k = shape.length - 1; k >= 0; k--) {
      if (++idx[k]! < shape[k]!) break;
      idx[k] = 0;
    }
  }
}

const unflatten = (lin: number, shape: Shape): number[] => {
  const st = contiguousStrides(shape);
  return shape.map((d, k) => Math.floor(lin / st[k]!) % d);
};

/**
 * What a ShapeTracker reads for each output index: walk the views top to bottom; a masked-out
 * index reads 0; each view's linear index unflattens into the next lower view's shape; the
 * bottom view's linear index addresses the buffer. Returns -1 for reads of the padding zero.
 */
function trackerIndices(st: ShapeTracker, bufferSize: number): number[] {
  const out: number[] = [];
  for (const top of indices(st.shape)) {
    let idx = top;
    let at = -1;
    for (let v = st.views.length - 1; v >= 0; v--) {
      const view = st.views[v]!;
      if (view.mask && idx.some((i, k) => i < view.mask![k]![0] || i >= view.mask![k]![1])) break;
      const lin = view.offset + idx.reduce((acc, i, k) => acc + i * view.strides[k]!, 0);
      if (v === 0) {
        if (lin < 0 || lin >= bufferSize) throw new Error(`view reads out of bounds: ${lin} of ${bufferSize}`);
        at = lin;
      } else {
        idx = unflatten(lin, st.views[v - 1]!.shape);
      }
    }
    out.push(at);
  }
  return out;
}

/** A small deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

type Step =
  | { op: 'reshape'; shape: number[] }
  | { op: 'permute'; order: number[] }
  | { op: 'expand'; shape: number[] }
  | { op: 'pad'; pads: Pair[] }
  | { op: 'shrink'; ranges: Pair[] }
  | { op: 'flip'; axes: number[] };

/** A random factorization of `size` into 1–4 dims (size-1 dims included now and then). */
function randomShape(size: number, r: (n: number) => number): number[] {
  const dims: number[] = [];
  let rest = size;
  const ndim = 1 + r(4);
  for (let k = 0; k < ndim - 1; k++) {
    const divisors = [...Array(rest + 1).keys()].filter((d) => d >= 1 && rest % d === 0);
    const d = divisors[r(divisors.length)]!;
    dims.push(d);
    rest /= d;
  }
  dims.push(rest);
  return dims.sort(() => r(2) - 0.5);
}

function randomStep(shape: Shape, r: (n: number) => number): Step {
  const size = prod(shape);
  switch (r(6)) {
    case 0:
      return { op: 'reshape', shape: size === 0 ? [0] : randomShape(size, r) };
    case 1: {
      const order = shape.map((_, k) => k);
      for (let k = order.length - 1; k > 0; k--) {
        const j = r(k + 1);
        [order[k], order[j]] = [order[j]!, order[k]!];
      }
      return { op: 'permute', order };
    }
    case 2:
      return { op: 'expand', shape: shape.map((d) => (d === 1 ? 1 + r(3) : d)) };
    case 3:
      return { op: 'pad', pads: shape.map((): Pair => [r(3), r(3)]) };
    case 4:
      return {
        op: 'shrink',
        ranges: shape.map((d): Pair => {
          const s = r(d + 1);
          return [s, s + r(d - s + 1)];
        }),
      };
    default:
      return { op: 'flip', axes: shape.map((_, k) => k).filter(() => r(2) === 1) };
  }
}

function applyNode(n: Node, s: Step): Node {
  switch (s.op) {
    case 'reshape':
      return reshapeNode(n, s.shape);
    case 'permute':
      return permuteNode(n, s.order);
    case 'expand':
      return expandNode(n, s.shape);
    case 'pad':
      return padNode(n, s.pads);
    case 'shrink':
      return shrinkNode(n, s.ranges);
    case 'flip':
      return flipNode(n, s.axes);
  }
}

function applyTracker(t: ShapeTracker, s: Step): ShapeTracker {
  switch (s.op) {
    case 'reshape':
      return t.reshape(s.shape);
    case 'permute':
      return t.permute(s.order);
    case 'expand':
      return t.expand(s.shape);
    case 'pad':
      return t.pad(s.pads);
    case 'shrink':
      return t.shrink(s.ranges);
    case 'flip':
      return t.flip(s.axes);
  }
}

describe('ShapeTracker against the interpreter', () => {
  it('computes the same element for 600 random movement sequences over an arange buffer', () => {
    let multiView = 0;
    let masked = 0;
    for (let seed = 1; seed <= 600; seed++) {
      const r = rng(seed);
      const start = randomShape(1 + r(24), r);
      const size = prod(start);
      // buffer values are 1 + index, so a read of the padding zero is distinguishable
      const values = Array.from({ length: size }, (_, k) => k + 1);
      const buf = bufferNode('float64', start, 'cpu');
      let node: Node = buf;
      let st = ShapeTracker.contiguous(start);
      const steps: Step[] = [];
      for (let k = 1 + r(6); k > 0; k--) {
        const step = randomStep(node.shape, r);
        steps.push(step);
        node = applyNode(node, step);
        st = applyTracker(st, step);
        expect(st.shape).toEqual(node.shape);
      }
      const want = [...interpret(node, (n) => (n === buf ? values : undefined))];
      const got = trackerIndices(st, size).map((at) => (at < 0 ? 0 : values[at]!));
      expect(got, `seed ${seed}: [${start}] ${JSON.stringify(steps)}`).toEqual(want);
      if (st.views.length > 1) multiView++;
      if (st.views.some((v) => v.mask)) masked++;
    }
    // the sequences exercise the hard cases, not just single strided views
    expect(multiView).toBeGreaterThan(30);
    expect(masked).toBeGreaterThan(100);
  });
});

describe('View', () => {
  it('contiguous views have row-major strides (0 for size-1 dims) and say so', () => {
    const v = View.contiguous([2, 1, 3]);
    expect(v.strides).toEqual([3, 0, 1]);
    expect(v.offset).toBe(0);
    expect(v.contiguous).toBe(true);
    expect(v.permute([2, 1, 0]).contiguous).toBe(false);
  });

  it('permute, shrink and flip stay one view with adjusted strides and offset', () => {
    const v = View.contiguous([3, 4]).permute([1, 0]).shrink([[1, 3], [0, 2]]).flip([0]);
    expect(v.shape).toEqual([2, 2]);
    expect(v.strides).toEqual([-1, 4]);
    expect(v.offset).toBe(2);
    expect(v.mask).toBeNull();
  });

  it('pad adds a mask and a negative offset; shrinking back inside drops the mask', () => {
    const p = View.contiguous([2, 3]).pad([[1, 0], [0, 2]]);
    expect(p.shape).toEqual([3, 5]);
    expect(p.mask).toEqual([[1, 3], [0, 3]]);
    expect(p.offset).toBe(-3);
    const inside = p.shrink([[1, 3], [0, 3]]);
    expect(inside.mask).toBeNull();
    expect(inside.offset).toBe(0);
  });

  it('reshape merges compatible dims and refuses incompatible ones', () => {
    expect(View.contiguous([2, 3, 4]).reshape([6, 4])?.strides).toEqual([4, 1]);
    expect(View.contiguous([2, 3]).permute([1, 0]).reshape([6])).toBeUndefined();
    const split = View.contiguous([4, 6]).permute([1, 0]).reshape([2, 3, 4]);
    expect(split?.strides).toEqual([3, 1, 6]);
    expect(View.contiguous([4]).flip([0]).reshape([2, 2])?.strides).toEqual([-2, -1]);
  });

  it('a ShapeTracker stacks a view only when no single view can express the reshape', () => {
    const one = ShapeTracker.contiguous([4, 6]).permute([1, 0]).reshape([2, 3, 4]);
    expect(one.views).toHaveLength(1);
    const two = ShapeTracker.contiguous([2, 3]).permute([1, 0]).reshape([6]);
    expect(two.views).toHaveLength(2);
    expect(two.shape).toEqual([6]);
    expect(two.contiguous).toBe(false);
    expect(ShapeTracker.contiguous([2, 3]).reshape([6]).contiguous).toBe(true);
  });
});
