/**
 * Eager dispatch: the fast paths of elementwise ops give what the general path gives, and what a
 * realize computed is not kept alive by the intern table or by the inputs it read.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('elementwise dispatch', () => {
  it('a floating tensor with a number keeps its dtype (a Python scalar never raises it)', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const x = torch.tensor([1, 2, 4], { dtype });
      for (const s of [1, 0.5, -3]) {
        expect(x.add(s).dtype).toBe(dtype);
        expect(x.mul(s).dtype).toBe(dtype);
        expect(torch.add(s, x).dtype).toBe(dtype);
      }
      expect(Array.from(x.add(1).dataSync() as Float32Array)).toEqual([2, 3, 5]);
      expect(Array.from(x.mul(0.5).dataSync() as Float32Array)).toEqual([0.5, 1, 2]);
    }
  });

  it('integer and bool tensors with numbers, and mixed tensors, promote as PyTorch does', () => {
    const i = torch.tensor([1, 2, 3], { dtype: 'int32' });
    expect(i.add(1).dtype).toBe('int32');
    expect(i.add(0.5).dtype).toBe('float32');
    expect(Array.from(i.add(0.5).dataSync() as Float32Array)).toEqual([1.5, 2.5, 3.5]);
    expect(torch.tensor([true, false]).add(1).dtype).toBe('int64');
    const f = torch.tensor([1.5, 2, 3]);
    expect(f.add(torch.tensor(2, { dtype: 'float64' })).dtype).toBe('float32'); // a 0-d tensor does not raise a dimensioned one
    expect(f.add(torch.tensor([1, 1, 1], { dtype: 'float64' })).dtype).toBe('float64');
    expect(f.add(i).dtype).toBe('float32');
    expect(Array.from(f.mul(f).dataSync() as Float32Array)).toEqual([2.25, 4, 9]);
    expect(f.add(torch.ones(2, 1)).shape).toEqual([2, 3]);
    expect(() => f.add(torch.ones(2))).toThrow('The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 0');
  });

  it('add with and without options', () => {
    const x = torch.tensor([1, 2], { dtype: 'float32' });
    expect(Array.from(x.add(x, { alpha: 2 }).dataSync() as Float32Array)).toEqual([3, 6]);
    expect(Array.from(x.add(1, {}).dataSync() as Float32Array)).toEqual([2, 3]);
    expect(() => x.add(1, { beta: 2 } as never)).toThrow("add() got an unexpected keyword argument 'beta'");
  });

  it("a hook's remove() removes that hook once; a second call does nothing", () => {
    const x = torch.tensor([1.5, 2], { requiresGrad: true });
    const seen: string[] = [];
    const a = x.registerHook(() => void seen.push('a'));
    x.registerHook(() => void seen.push('b'));
    a.remove();
    a.remove();
    x.mul(2).sum().backward();
    expect(seen).toEqual(['b']);
  });
});

describe('lifetimes of graphs', () => {
  it('a realized graph is kept alive neither by its input nor by the intern table', async () => {
    const x = torch.randn(16);
    x.dataSync(); // an input the loop keeps
    const refs: WeakRef<object>[] = [];
    const sums: number[] = [];
    // in a function of its own: a suspended async function keeps its dead locals
    const steps = (): void => {
      // the first step plans (the nodes its rewrites made stay in the table until it forgets
      // them); the steps after replay the plan
      for (let step = 0; step < 4; step++) {
        let v = x;
        // relu reads its input twice and mul reads x again: nodes the table holds, and x's consumers
        for (let i = 0; i < 60; i++) v = i % 3 === 0 ? v.relu().mul(x) : v.add(1);
        if (step > 0) refs.push(new WeakRef(v.node.src[0]!), new WeakRef(v.node));
        sums.push(Number(v.sum().itemSync()));
      }
    };
    steps();
    expect(new Set(sums).size).toBe(1);
    await new Promise((r) => setTimeout(r, 0)); // WeakRef targets are kept until the job ends
    gc();
    expect(refs.map((r) => r.deref() === undefined)).toEqual(refs.map(() => true));
    expect(Array.from(x.dataSync() as Float32Array)).toHaveLength(16);
  });
});
