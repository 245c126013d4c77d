import { beforeAll, describe, expect, it } from 'vitest';
import { binaryNode, castNode, constNode, randNode, reduceNode, unaryNode, type DType, type Node } from '@fusor/ir';
import { configureCpu, cpuBackend, cpuConfig, cpuStats, cpuWorkersReady } from '../src/index.js';
import { buf, reference, run, same, ulps } from './kernels.js';

// Splitting a launch over the worker pool changes nothing in the numbers: each output element
// is computed by the same code whichever thread runs it, and split reductions combine their
// chunks in a fixed order that does not depend on the thread count.

const THREADS = Math.max(2, cpuConfig().threads);
const SPLIT = { parallelThreshold: 0 };
const NO_SPLIT = { parallelThreshold: Infinity };

beforeAll(async () => {
  configureCpu({ threads: THREADS });
  // init starts the workers without waiting for them; launches use those already up
  expect(await cpuBackend.init()).toBe(`cpu (WebAssembly SIMD128 kernels, ${THREADS} threads)`);
  expect(await cpuWorkersReady()).toBe(THREADS);
});

const c = (v: number, like: Node): Node => constNode(v, like.dtype, like.shape, like.device);

function values(n: number, dtype: DType): number[] {
  return Array.from({ length: n }, (_, k) => {
    const v = Math.sin(k * 12.9898) * 437.5;
    return dtype.startsWith('float') ? v : Math.trunc(v);
  });
}

/** The same numbers split over every thread as on the calling thread alone; and the split really happened. */
function expectThreadIndependent(root: Node): number[] {
  const before = cpuStats().threaded;
  const split = run(root, SPLIT);
  expect(cpuStats().threaded).toBeGreaterThan(before);
  const alone = run(root, NO_SPLIT);
  expect(same(split, alone)).toBe(true);
  return split;
}

describe('the worker pool', () => {
  it(`splits large elementwise kernels over ${THREADS} threads with identical results`, () => {
    const n = 1 << 20;
    const x = buf(values(n, 'float32'));
    const y = buf(values(n, 'float32').reverse());
    const root = unaryNode('EXP2', binaryNode('MUL', binaryNode('ADD', x, unaryNode('LOG2', binaryNode('MUL', y, y))), c(0.01, x)));
    const before = cpuStats().threaded;
    const got = run(root); // the default threshold splits a launch this large
    expect(cpuStats().threaded).toBe(before + 1);
    expect(same(got, run(root, NO_SPLIT))).toBe(true);
    const want = reference(root);
    expect(got.reduce((m, g, i) => Math.max(m, ulps(g, want[i]!)), 0)).toBeLessThanOrEqual(4);
  });

  it('writes byte outputs (int8, bool) from several threads into adjacent bytes correctly', () => {
    const n = 100_003;
    const x = buf(values(n, 'int32'), 'int32');
    for (const root of [castNode(binaryNode('MUL', x, c(3, x)), 'int8'), binaryNode('CMPLT', x, c(0, x))]) {
      expect(expectThreadIndependent(root)).toEqual(reference(root));
    }
  });

  it('splits row reductions (inner-loop vectorized) and column reductions (gid vectorized)', () => {
    const x = buf(values(512 * 300, 'float32'), 'float32', [512, 300]);
    for (const root of [reduceNode(x, 'add', [1]), reduceNode(x, 'add', [0]), reduceNode(x, 'max', [1]), reduceNode(unaryNode('EXP2', binaryNode('MUL', x, c(0.01, x))), 'add', [0])]) {
      const got = expectThreadIndependent(root);
      const want = reference(root);
      expect(got.reduce((m, g, i) => Math.max(m, ulps(g, want[i]!)), 0)).toBeLessThanOrEqual(4);
    }
    const i = buf(values(512 * 300, 'int32'), 'int32', [512, 300]);
    expect(expectThreadIndependent(reduceNode(i, 'add', [1]))).toEqual(reference(reduceNode(i, 'add', [1])));
  });

  it('splits a full reduction into fixed chunks, so its value does not depend on the thread count', () => {
    const x = buf(values(1 << 20, 'float32'));
    const sum = reduceNode(binaryNode('MUL', x, x), 'add', [0]);
    const [got] = expectThreadIndependent(sum);
    const want = reference(sum)[0]!;
    expect(Math.abs(got! - want)).toBeLessThanOrEqual(Math.abs(want) * 1e-6);
    const m = reduceNode(buf(values(1 << 20, 'int8'), 'int8'), 'max', [0]);
    expect(expectThreadIndependent(m)).toEqual(reference(m));
  });

  it('splits even tiny kernels when told to, and random draws stay the same', () => {
    const x = buf([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(expectThreadIndependent(binaryNode('ADD', x, x))).toEqual(reference(binaryNode('ADD', x, x)));
    const r = randNode(42, 7, [100_000], 'float32', 'cpu');
    expect(expectThreadIndependent(r)).toEqual(reference(r));
  });

  it('gives the same numbers with threads: 1 (the pool closed) as with the pool', () => {
    const x = buf(values(1 << 18, 'float32'), 'float32', [256, 1024]);
    const root = reduceNode(unaryNode('EXP2', binaryNode('MUL', x, c(0.001, x))), 'add', [1]);
    const pooled = run(root, SPLIT);
    configureCpu({ threads: 1 });
    const before = cpuStats().threaded;
    const single = run(root, SPLIT);
    expect(cpuStats().threaded).toBe(before);
    expect(same(pooled, single)).toBe(true);
    configureCpu({ threads: THREADS });
  });
});
