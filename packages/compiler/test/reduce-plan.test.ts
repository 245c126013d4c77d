import { describe, expect, it } from 'vitest';
import { binaryNode, bufferNode, permuteNode, reduceNode, reshapeNode, unaryNode, type DType, type Node, type ReduceKind, type Shape } from '@fusor/ir';
import { describePlan, lower, planGroups, planKernel, planTiles, reductionLoops, schedule, type Kernel, type PlanNumbers, type VectorPlan } from '../src/index.js';

// The planning pass alone: kernels lowered from IR graphs, planned for numbers a backend might declare.
const buf = (shape: Shape, dtype: DType = 'float32'): Node => bufferNode(dtype, shape, 'cpu');
const kernelOf = (root: Node): Kernel => {
  const items = schedule([root], (n) => n.op === 'BUFFER');
  expect(items).toHaveLength(1);
  return lower(items[0]!).kernel;
};
/** A vector plan with each vectorized loop's chains listed (for matching). */
const lanesOf = (v: VectorPlan): object => (v.lanes === 'loop' ? { lanes: v.lanes, width: v.width, copies: [...v.loops.values()].map((l) => l.copies) } : v);
const reduce = (shape: Shape, op: ReduceKind, axes: number[], dtype: DType = 'float32'): Kernel => kernelOf(reduceNode(buf(shape, dtype), op, axes));

/** A SIMD128 cpu: 4 lanes, no groups, few-output reductions split into ≤ 64 chunks. */
const CPU: PlanNumbers = {
  vectorWidth: 4,
  maxVectorCopies: 4,
  maxReductionChains: 8,
  groupSize: 1,
  sharedMemoryBytes: 0,
  split: { targetParts: 64, minIterationsPerThread: 4, outputsBelow: 32, minWork: 1 << 16, align: 4 },
};
/** A GPU with blocks of 256, warps of 32, any power-of-two share, column layout, splits across blocks. */
const GPU: PlanNumbers = {
  vectorWidth: 4,
  maxVectorCopies: 4,
  maxReductionChains: 1,
  groupSize: 256,
  subgroupSize: 32,
  sharedMemoryBytes: 48 * 1024,
  tileLoadBytes: 128,
  cooperative: { minIterationsPerThread: 4, threadsPerOutput: 'pow2', maxWholeGroupOutputs: Infinity, maxRowOutputs: 1 << 20, maxColumnOutputs: 65536, indexLimit: 2 ** 31 - 1 },
  split: { targetParts: 1024, minIterationsPerThread: 32, outputsBelow: Infinity, minWork: 0, align: 1 },
};
/** A WebGPU device: workgroups of 64, subgroups of 16, a whole workgroup for at most 32 outputs, float32 combines. */
const WGPU: PlanNumbers = {
  vectorWidth: 1,
  maxVectorCopies: 1,
  maxReductionChains: 1,
  groupSize: 64,
  subgroupSize: 16,
  sharedMemoryBytes: 16384,
  cooperative: { minIterationsPerThread: 4, threadsPerOutput: 'subgroup-or-group', maxWholeGroupOutputs: 32, maxRowOutputs: Infinity, combineDtypes: ['float32'], indexLimit: 2 ** 31 - 1 },
};

describe('planning pass: vector lanes (backends without groups)', () => {
  it('vectorizes a row sum over its contiguous loop, one chain (a float sum keeps its order)', () => {
    const plan = planKernel(reduce([4096, 1024], 'add', [1]), CPU);
    expect(lanesOf(plan.vector)).toMatchObject({ lanes: 'loop', width: 4, copies: [1] });
    expect(plan.group).toBeNull();
    expect(plan.split).toBeNull();
  });

  it('gives a row max up to the declared number of vector chains: max combines in any order to the same bits', () => {
    expect(lanesOf(planKernel(reduce([4096, 1024], 'max', [1]), CPU).vector)).toMatchObject({ lanes: 'loop', width: 4, copies: [8] });
    // a row too short for 8 chains of 2 steps each takes 4
    expect(lanesOf(planKernel(reduce([4096, 40], 'max', [1]), CPU).vector)).toMatchObject({ lanes: 'loop', copies: [4] });
    expect(lanesOf(planKernel(reduce([4096, 1024], 'max', [1]), { ...CPU, maxReductionChains: 2 }).vector)).toMatchObject({ copies: [2] });
    // integer sums wrap: any order gives the same bits too
    expect(lanesOf(planKernel(reduce([4096, 1024], 'add', [1], 'int32'), CPU).vector)).toMatchObject({ lanes: 'loop', copies: [8] });
  });

  it('takes consecutive outputs as lanes for a column sum, four vectors per step', () => {
    expect(planKernel(reduce([1024, 4096], 'add', [0]), CPU).vector).toMatchObject({ lanes: 'outputs', width: 4, copies: 4 });
  });

  it('plans scalar code for a backend declaring no vector width, and for float64', () => {
    expect(planKernel(reduce([64, 1024], 'add', [1]), { ...CPU, vectorWidth: 1 }).vector).toEqual({ lanes: 'none' });
    expect(planKernel(reduce([64, 1024], 'add', [1], 'float64'), CPU).vector).toEqual({ lanes: 'none' });
  });

  it('never vectorizes on a backend with groups (its threads are the parallelism)', () => {
    expect(planKernel(reduce([64, 1024], 'add', [1]), GPU).vector).toEqual({ lanes: 'none' });
  });
});

describe('planning pass: vector tiles (backends with groups)', () => {
  it('moves 16 bytes per access: 4 float32 or 8 float16 outputs per thread step, steps in flight by loaded bytes', () => {
    const add = (dtype: DType) => kernelOf(binaryNode('ADD', buf([4096], dtype), buf([4096], dtype)));
    expect(planTiles(add('float32'), GPU)).toEqual({ lanes: 'tiles', width: 4, copies: 4, loads: [1, 2] });
    expect(planTiles(add('float16'), GPU)).toMatchObject({ width: 8 });
    const three = kernelOf(binaryNode('ADD', binaryNode('MUL', buf([4096]), buf([4096])), binaryNode('MUL', buf([4096]), buf([4096]))));
    expect(planTiles(three, GPU)).toMatchObject({ copies: 2 });
    // no tiles where the backend declares none, for reductions, or for fewer outputs than a vector
    expect(planTiles(add('float32'), WGPU)).toEqual({ lanes: 'none' });
    expect(planTiles(reduce([64, 1024], 'add', [1]), GPU)).toEqual({ lanes: 'none' });
    expect(planTiles(kernelOf(binaryNode('ADD', buf([3]), buf([3]))), GPU)).toEqual({ lanes: 'none' });
  });
});

describe('planning pass: split reductions', () => {
  it('cuts a full sum into 64 chunks on vector-width bounds that depend only on the kernel', () => {
    const n = 1 << 20;
    const k = reduce([n], 'add', [0]);
    const { split } = planKernel(k, CPU);
    expect(split?.parts).toBe(64);
    expect(split?.bounds).toHaveLength(65);
    expect(split?.bounds?.[1]).toBe(Math.floor(n / 64 / 4) * 4);
    expect(split?.bounds?.[64]).toBe(n);
    expect(split?.bounds?.every((b, i) => i === 64 || b % 4 === 0)).toBe(true);
    // the same bounds without vectors: a sum's value does not change with SIMD on or off
    expect(planKernel(k, { ...CPU, vectorWidth: 1 }).split?.bounds).toEqual(split?.bounds);
  });

  it("aligns a max reduction's chunks to its vector step (8 vectors of 4)", () => {
    const { split, vector } = planKernel(reduce([1 << 20], 'max', [0]), CPU);
    expect(lanesOf(vector)).toMatchObject({ lanes: 'loop', copies: [8] });
    expect(split?.bounds?.slice(0, -1).every((b) => b % 32 === 0)).toBe(true);
  });

  it('does not split many outputs, little work, or a backend declaring no split', () => {
    expect(planKernel(reduce([32, 100000], 'add', [1]), CPU).split).toBeNull();
    expect(planKernel(reduce([1000], 'add', [0]), CPU).split).toBeNull();
    expect(planKernel(reduce([1 << 20], 'add', [0]), { ...CPU, split: undefined } as PlanNumbers).split).toBeNull();
  });

  it('splits a full reduction across groups on a GPU: parts = min(target / groups, n / (threads · min iterations))', () => {
    const { group, split } = planKernel(reduce([1 << 22], 'add', [0]), GPU);
    expect(group).toMatchObject({ layout: 'rows', outputsPerGroup: 1, threadsPerOutput: 256, groups: 1, combine: 'shared' });
    expect(split).toMatchObject({ parts: Math.min(1024, (1 << 22) / (256 * 32)) });
    expect(split?.bounds).toBeUndefined();
  });
});

describe('planning pass: cooperative reductions', () => {
  it('gives each long row a whole block, its warps combined through shared memory', () => {
    const plan = planKernel(reduce([64, 4096], 'add', [1]), GPU);
    expect(plan.group).toMatchObject({ layout: 'rows', outputsPerGroup: 1, threadsPerOutput: 256, groups: 64, combine: 'shared' });
    expect(plan.split).toBeNull();
  });

  it('shares a block among rows whose loop is shorter (a warp each, shuffles only)', () => {
    expect(planGroups(reduce([4096, 128], 'add', [1]), GPU)).toMatchObject({ outputsPerGroup: 8, threadsPerOutput: 32, combine: 'subgroup' });
    expect(planGroups(reduce([4096, 100], 'add', [1]), GPU)).toBeNull();
  });

  it('puts consecutive outputs side by side when their loads coalesce across outputs', () => {
    expect(planGroups(reduce([4096, 64], 'add', [0]), GPU)).toMatchObject({ layout: 'cols', outputsPerGroup: 32, threadsPerOutput: 8, combine: 'shared' });
    expect(planGroups(reduce([4096, 64], 'add', [0]), { ...GPU, cooperative: { ...GPU.cooperative!, maxColumnOutputs: undefined } as never })?.layout).toBe('rows');
  });

  it('on WebGPU numbers: a workgroup per output for few outputs, else a subgroup, else none', () => {
    expect(planGroups(reduce([16, 4096], 'add', [1]), WGPU)).toMatchObject({ outputsPerGroup: 1, threadsPerOutput: 64, combine: 'shared' });
    expect(planGroups(reduce([1000, 4096], 'add', [1]), WGPU)).toMatchObject({ outputsPerGroup: 4, threadsPerOutput: 16, combine: 'subgroup' });
    expect(planGroups(reduce([16, 128], 'add', [1]), WGPU)).toMatchObject({ outputsPerGroup: 4, threadsPerOutput: 16 });
    const noSubgroups = { ...WGPU, subgroupSize: undefined } as PlanNumbers;
    expect(planGroups(reduce([16, 4096], 'add', [1]), noSubgroups)).toMatchObject({ threadsPerOutput: 64 });
    expect(planGroups(reduce([1000, 4096], 'add', [1]), noSubgroups)).toBeNull();
    // the combine declared for float32 only
    expect(planGroups(reduce([16, 4096], 'add', [1], 'int32'), WGPU)).toBeNull();
  });

  it('stays one thread per output where the combine would not fit the declared shared memory', () => {
    expect(planGroups(reduce([64, 4096], 'add', [1]), { ...GPU, sharedMemoryBytes: 1024 })).toBeNull();
  });

  it('walks nested reduction loops as one flat range, and says why a kernel cannot share its loops', () => {
    const loops = reductionLoops(reduce([5, 2000, 30], 'add', [1, 2]));
    expect(typeof loops).not.toBe('string');
    expect((loops as Exclude<typeof loops, string>)[0]).toMatchObject({ n: 60000, accs: [{ op: 'add', init: 0, dtype: 'float32' }] });
    expect((loops as Exclude<typeof loops, string>)[0]!.nest).toHaveLength(2);
    expect(reductionLoops(kernelOf(unaryNode('NEG', buf([8]))))).toBe('no loop');
    // a transposed column sum reads across outputs: still one loop per output
    const t = kernelOf(reduceNode(permuteNode(buf([4096, 64]), [1, 0]), 'add', [1]));
    expect(planGroups(t, GPU)?.layout).toBe('cols');
  });
});

describe('planning pass: explain text', () => {
  it('names the lanes, the groups and the split', () => {
    const k = reduce([1 << 20], 'max', [0]);
    expect(describePlan(k, planKernel(k, CPU), CPU)).toBe('vector 4×8 iterations of loop r0 per step; reduction split into 64 chunks of loop r0, combined in chunk order');
    const g = reduce([64, 4096], 'add', [1]);
    expect(describePlan(g, planKernel(g, GPU), GPU)).toBe('group 256: 1 output per group (rows), 256 threads each, combined by shared memory');
    const e = kernelOf(binaryNode('ADD', buf([1000]), buf([1000])));
    expect(describePlan(e, planKernel(e, GPU), GPU)).toBe('vector tiles of 4 outputs (16 bytes) per thread step, 4 in flight');
    expect(describePlan(e, planKernel(e, WGPU), WGPU)).toBe('group 64: one thread per output');
    expect(describePlan(e, planKernel(e, CPU), CPU)).toBe('vector 4 outputs per step');
    const r = kernelOf(reshapeNode(reduceNode(buf([1000, 3]), 'add', [1]), [1000]));
    expect(describePlan(r, planKernel(r, { ...CPU, vectorWidth: 1 }), { ...CPU, vectorWidth: 1 })).toBe('scalar');
  });
});
