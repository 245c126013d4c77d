import { describe, expect, it } from 'vitest';
import { broadcastShapes, contiguousStrides, formatShape, normalizeDim, prod, shapeEqual, ShapeError } from '../src/index.js';

describe('broadcastShapes', () => {
  it('broadcasts like PyTorch', () => {
    expect(broadcastShapes([5, 1, 4], [3, 1])).toEqual([5, 3, 4]);
    expect(broadcastShapes([], [2, 3])).toEqual([2, 3]);
    expect(broadcastShapes([2, 3], [])).toEqual([2, 3]);
    expect(broadcastShapes([1], [0])).toEqual([0]);
    expect(broadcastShapes([0, 1], [1, 7])).toEqual([0, 7]);
    expect(broadcastShapes([1, 1], [1])).toEqual([1, 1]);
  });

  it("raises PyTorch's message, counting dims of the broadcast shape", () => {
    expect(() => broadcastShapes([3], [4])).toThrow(
      new ShapeError('The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 0'),
    );
    expect(() => broadcastShapes([2, 3], [4])).toThrow(
      'The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1',
    );
    expect(() => broadcastShapes([2, 5, 3], [4, 1])).toThrow(
      'The size of tensor a (5) must match the size of tensor b (4) at non-singleton dimension 1',
    );
    expect(() => broadcastShapes([0], [2])).toThrow(ShapeError);
  });
});

describe('normalizeDim', () => {
  it('wraps negative dims; a 0-dim tensor accepts 0 and -1', () => {
    expect(normalizeDim(-1, 3)).toBe(2);
    expect(normalizeDim(-3, 3)).toBe(0);
    expect(normalizeDim(1, 3)).toBe(1);
    expect(normalizeDim(-1, 0)).toBe(0);
    expect(normalizeDim(0, 0)).toBe(0);
  });

  it("raises PyTorch's out-of-range message", () => {
    expect(() => normalizeDim(3, 3)).toThrow('Dimension out of range (expected to be in range of [-3, 2], but got 3)');
    expect(() => normalizeDim(-4, 3)).toThrow(ShapeError);
    expect(() => normalizeDim(1, 0)).toThrow('Dimension out of range (expected to be in range of [-1, 0], but got 1)');
    expect(() => normalizeDim(0.5, 3)).toThrow(TypeError);
  });
});

describe('shape helpers', () => {
  it('contiguousStrides, prod, shapeEqual, formatShape', () => {
    expect(contiguousStrides([2, 3, 4])).toEqual([12, 4, 1]);
    expect(contiguousStrides([])).toEqual([]);
    expect(prod([])).toBe(1);
    expect(prod([2, 0, 3])).toBe(0);
    expect(shapeEqual([2, 3], [2, 3])).toBe(true);
    expect(shapeEqual([2, 3], [2, 3, 1])).toBe(false);
    expect(formatShape([2, 3])).toBe('[2, 3]');
  });
});
