/** Device data as plain numbers, through the asynchronous read every backend has. */
import { bfloat16FromBits, float16FromBits, interpret } from '@fusor/compiler';
import { getBuffer } from '@fusor/runtime';
import { toposort, type DType, type HostArray, type Node } from '@fusor/ir';
import type { Tensor } from '@fusor/tensor';

/** Host data of `dtype` as numbers (int64 from BigInt, half floats from their bits). */
export function hostToNumbers(data: HostArray, dtype: DType): Float64Array {
  const out = new Float64Array(data.length);
  const decode = dtype === 'float16' ? float16FromBits : dtype === 'bfloat16' ? bfloat16FromBits : undefined;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    out[i] = typeof v === 'bigint' ? Number(v) : decode ? decode(v) : v;
  }
  return out;
}

/** A tensor's values, realized and read asynchronously (works on devices without sync reads). */
export async function readTensor(t: Tensor): Promise<Float64Array> {
  return hostToNumbers(await t.data(), t.dtype);
}

/** The contents of every realized BUFFER reachable from `roots`, read from its device. */
export async function readLeaves(roots: readonly Node[]): Promise<Map<Node, Float64Array>> {
  const leaves = new Map<Node, Float64Array>();
  for (const n of toposort(roots)) {
    if (n.op !== 'BUFFER') continue;
    const b = getBuffer(n);
    if (b) leaves.set(n, hostToNumbers(await b.backend.read(b.handle), n.dtype));
  }
  return leaves;
}

/**
 * `root` evaluated by the reference interpreter, unfused, from the same leaf buffers. float32 is
 * rounded after every op (as a float32 machine computes) so overflow and rounding compare like
 * for like; everything else is as the interpreter defines it.
 */
export function interpretNode(root: Node, leaves: ReadonlyMap<Node, Float64Array>): Float64Array {
  return interpret(root, (n) => leaves.get(n), { exactFloat32: true });
}
