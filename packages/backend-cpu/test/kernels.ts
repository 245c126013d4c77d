/**
 * Test helpers: kernels built from IR, lowered, rendered and launched on the cpu backend under
 * given options, and the reference interpreter's answer for the same node.
 */
import { expect } from 'vitest';
import { bufferNode, hostArray, type DType, type HostArray, type Node, type Shape } from '@fusor/ir';
import { interpret, lower, schedule, type Kernel } from '@fusor/compiler';
import { configureCpu, cpuBackend, cpuConfig, type CpuOptions } from '../src/index.js';

/** Host values of the BUFFER nodes the tests make. */
export const host = new Map<Node, number[]>();

export function buf(values: readonly number[], dtype: DType = 'float32', shape: Shape = [values.length]): Node {
  const n = bufferNode(dtype, shape, 'cpu');
  host.set(n, [...values]);
  return n;
}

export function hostOf(values: readonly number[], dtype: DType): HostArray {
  const h = hostArray(dtype, values.length);
  values.forEach((v, i) => {
    if (h instanceof BigInt64Array) h[i] = BigInt(v);
    else h[i] = v;
  });
  return h;
}

/** Runs `fn` with cpu options set, restoring the previous ones after. */
export function withCpu<T>(opts: CpuOptions, fn: () => T): T {
  const before = cpuConfig();
  configureCpu(opts);
  try {
    return fn();
  } finally {
    configureCpu(before);
  }
}

/** The one kernel computing `root`. */
export function kernelOf(root: Node): { kernel: Kernel; inputs: readonly Node[]; varValues: readonly number[] } {
  const items = schedule([root], (n) => host.has(n));
  expect(items).toHaveLength(1);
  return lower(items[0]!);
}

/** `root`'s kernel rendered, compiled and launched under `opts`; its output as numbers. */
export function run(root: Node, opts: CpuOptions = {}): number[] {
  return withCpu(opts, () => {
    const { kernel, inputs, varValues } = kernelOf(root);
    const program = cpuBackend.compile(cpuBackend.render(kernel), kernel);
    const out = cpuBackend.alloc(root.dtype, root.size, 0);
    const ins = inputs.map((n) => {
      const b = cpuBackend.alloc(n.dtype, n.size, 0);
      cpuBackend.write(b, hostOf(host.get(n)!, n.dtype));
      return b;
    });
    cpuBackend.launch(program, [out, ...ins], varValues);
    const data = cpuBackend.readSync!(out);
    for (const b of [out, ...ins]) cpuBackend.free(b);
    return Array.from(data as ArrayLike<number | bigint>, Number);
  });
}

/** The reference interpreter's answer, float32 rounded after every op as a float32 machine does. */
export const reference = (root: Node): number[] => Array.from(interpret(root, (n) => host.get(n), { exactFloat32: true }));

/** Distance in float32 ulps (0 for equal values, both NaN, or equal infinities). */
export function ulps(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  if (a === b) return Object.is(a, b) || a !== 0 ? 0 : Infinity;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return Infinity;
  const f = new Float32Array([a, b]);
  const i = new Int32Array(f.buffer);
  // map to a monotone integer line
  const line = (x: number): number => (x < 0 ? -(x & 0x7fffffff) : x);
  return Math.abs(line(i[0]!) - line(i[1]!));
}

/** Values equal exactly (NaN meets NaN, −0 meets −0). */
export function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => Object.is(x, b[i]) || (Number.isNaN(x) && Number.isNaN(b[i]!)));
}
