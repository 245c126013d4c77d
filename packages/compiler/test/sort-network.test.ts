/**
 * SORT's two ways: the interpreter's definition (a stable sort, NaN largest) and the bitonic
 * network the compiler writes out where a backend has no sort routine, compared on rows with
 * ties, NaNs, -0, padding (lengths that are not powers of two) and every k; and the rewrite that
 * chooses between them by the backend's routine.
 */
import { describe, expect, it } from 'vitest';
import { bufferNode, sortNode, type DType, type Node } from '@fusor/ir';
import { interpret, simplifyGraph, sortNetwork, type Backend, type SortShape } from '../src/index.js';

function rows(dtype: DType, shape: number[], values: number[]): { x: Node; load: (n: Node) => number[] | undefined } {
  const x = bufferNode(dtype, shape, 'cpu');
  return { x, load: (n) => (n === x ? values : undefined) };
}

/** Deterministic values with many ties, NaNs and signed zeros. */
function values(n: number, float: boolean): number[] {
  const out: number[] = [];
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const r = s % 11;
    out.push(float && r === 0 ? Number.NaN : float && r === 1 ? -0 : (s % 7) - 3);
  }
  return out;
}

describe('SORT', () => {
  it('the interpreter defines it: stable, NaN largest, -0 equal to 0, descending keeping equal values in order', () => {
    const { x, load } = rows('float32', [7], [2, Number.NaN, -1, 0, -0, Number.NaN, -1]);
    expect(Array.from(interpret(sortNode(x, false, 7), load))).toEqual([2, 6, 3, 4, 0, 1, 5]);
    expect(Array.from(interpret(sortNode(x, true, 7), load))).toEqual([1, 5, 0, 3, 4, 2, 6]);
    expect(Array.from(interpret(sortNode(x, true, 3), load))).toEqual([1, 5, 0]);
    expect(sortNode(x, true, 3).shape).toEqual([3]);
    expect(sortNode(x, true, 3).dtype).toBe('int32');
    expect(() => sortNode(x, false, 8)).toThrow('SORT: k 8 out of range for rows of 7');
  });

  for (const dtype of ['float32', 'float64', 'int32', 'int64'] as const) {
    it(`the sorting network gives the interpreter's positions (${dtype}, every k, lengths 1…13)`, () => {
      for (let n = 1; n <= 13; n++) {
        const { x, load } = rows(dtype, [3, n], values(3 * n, dtype.startsWith('float')));
        for (const descending of [false, true]) {
          for (let k = 0; k <= n; k++) {
            const want = Array.from(interpret(sortNode(x, descending, k), load));
            expect(Array.from(interpret(sortNetwork(x, descending, k), load)), `n ${n} k ${k} descending ${descending}`).toEqual(want);
          }
        }
      }
    });
  }

  it('is written out as the network only where the backend has no routine that takes it', () => {
    const x = bufferNode('float32', [4, 10], 'cpu');
    const s = sortNode(x, false, 10);
    const seen: SortShape[] = [];
    const withRoutine = {
      routines: { sort: { supports: (sh: SortShape) => (seen.push(sh), sh.n > 5), run: () => undefined } },
    } as unknown as Backend;
    expect(simplifyGraph([s], (n) => n === x, () => withRoutine)[0]).toBe(s);
    expect(seen).toEqual([{ dtype: 'float32', rows: 4, n: 10, k: 10, descending: false }]);
    const small = sortNode(bufferNode('float32', [4, 5], 'cpu'), false, 2);
    expect(simplifyGraph([small], (n) => n.op === 'BUFFER', () => withRoutine)[0]!.op).not.toBe('SORT');
    expect(simplifyGraph([s], (n) => n === x, () => ({}) as Backend)[0]!.op).not.toBe('SORT');
  });
});
