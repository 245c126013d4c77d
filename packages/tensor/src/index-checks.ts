/**
 * Bounds checks of index tensors, as PyTorch raises them ("index 5 is out of bounds for
 * dimension 0 with size 3"). The indices usually live on the device and may not be computed
 * yet, so the check is itself lazy IR: two tiny reductions (where the first bad index is, and
 * its value). Where the backend reads synchronously (cpu) it runs at the call, as in PyTorch;
 * elsewhere (webgpu, cuda) it is queued and the next read of any tensor (`await t.data()`,
 * `item()`, …) computes every queued check in one launch and one read, and raises the first
 * failure. No op waits on the host; the kernels themselves clamp, so a bad index never reads or
 * writes outside a buffer before the error surfaces.
 */
import { arangeNode, binaryNode, broadcastTo, castNode, constNode, padNode, reduceNode, reshapeNode, whereNode, type Node } from '@fusor/ir';
import { getBackend, getBuffer, realize, realizeAsync } from '@fusor/runtime';
import { tracing } from './trace.js';

/** PyTorch's IndexError (x[idx], index_select, take, index_put_…). */
export class IndexError extends RangeError {
  override name = 'IndexError';
}

interface Pending {
  /** int32 [2]: (count from the end of the first bad position, or 0 when none; its value). */
  readonly node: Node;
  readonly error: (value: number) => Error;
}

let pending: Pending[] = [];

const int32 = (v: number, n: number, device: string): Node => constNode(v, 'int32', [n], device);

/** [n - position of the first index outside [lo, size), that index] as int32, or [0, 0] when all are inside. */
function firstBad(index: Node, lo: number, size: number): Node {
  const n = index.size;
  const dev = index.device;
  const flat = reshapeNode(index, [n]);
  const c = (v: number): Node => constNode(v, flat.dtype, [n], dev);
  const bad = binaryNode('OR', binaryNode('CMPLT', flat, c(lo)), binaryNode('CMPLT', c(size - 1), flat));
  const ar = arangeNode(0, 1, n, 'int32', dev);
  // n - i is largest for the first bad position
  const fromEnd = binaryNode('ADD', int32(n, n, dev), binaryNode('MUL', ar, int32(-1, n, dev)));
  const pos = reduceNode(whereNode(bad, fromEnd, int32(0, n, dev)), 'max', [0]);
  const at = binaryNode('CMPEQ', fromEnd, broadcastTo(pos, [n]));
  const v32 = castNode(flat, 'int32');
  const val = reduceNode(whereNode(at, v32, int32(0, n, dev)), 'add', [0]);
  return binaryNode('ADD', padNode(pos, [[0, 1]]), padNode(val, [[1, 0]]));
}

const decode = (v: number | bigint): number => Number(v);

/**
 * Checks that every value of `index` (any shape) lies in [lo, size): raises `error(value)` for
 * the first one that does not, now where reads are synchronous, else at the next read.
 */
export function checkIndices(index: Node, lo: number, size: number, error: (value: number) => Error): void {
  if (index.size === 0) return;
  const node = firstBad(index, lo, size);
  // under jit the check is part of the step: run after the trace and after every replay
  if (tracing.current) return tracing.current.indexCheck(node, error);
  runIndexCheck(node, error);
}

/** Reads a check now where the backend reads synchronously, else queues it for the next read. */
export function runIndexCheck(node: Node, error: (value: number) => Error): void {
  const backend = getBackend(node.device);
  if (backend.readSync) {
    realize([node]);
    const [pos, val] = backend.readSync(getBuffer(node)!.handle) as ArrayLike<number | bigint> as [number, number];
    if (decode(pos) > 0) throw error(decode(val));
    return;
  }
  pending.push({ node, error });
}

/** Runs the queued checks (one launch, one read per device) and raises the first failure. */
export async function flushIndexChecks(): Promise<void> {
  if (pending.length === 0) return;
  const checks = pending;
  pending = [];
  // per device, every check side by side in one buffer: one launch and one read
  const devices = [...new Set(checks.map((c) => c.node.device))];
  for (const device of devices) {
    const mine = checks.filter((c) => c.node.device === device);
    const total = mine.length * 2;
    const all = mine.map((c, i) => padNode(c.node, [[2 * i, total - 2 * i - 2]])).reduce((a, b) => binaryNode('ADD', a, b));
    await realizeAsync([all]);
    const b = getBuffer(all)!;
    const data = (await b.backend.read(b.handle)) as ArrayLike<number | bigint>;
    mine.forEach((c, i) => {
      if (decode(data[2 * i]!) > 0) throw c.error(decode(data[2 * i + 1]!));
    });
  }
}
