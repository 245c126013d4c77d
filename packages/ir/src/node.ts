/**
 * The one node type of the tensor graph. Nodes are immutable and interned by structure, so
 * building the same graph twice yields the same objects: common subexpressions are shared and
 * `node.key` is a stable cache key.
 */
import { DTYPES, isFloat, type DType } from './dtype.js';
import { OPS, type Op, type ReduceKind, type ScatterReduce } from './ops.js';
import { broadcastShapes, prod, shapeEqual, ShapeError, type Shape } from './shape.js';

export type Pair = readonly [number, number];

export type NodeArg =
  | null
  | number
  | readonly number[]
  | readonly Pair[]
  | { readonly buffer: number }
  | { readonly seed: number; readonly offset: number }
  | { readonly start: number; readonly step: number }
  | { readonly reduce: ReduceKind; readonly axes: readonly number[] }
  | { readonly axis: number; readonly reduce: ScatterReduce | ReduceKind };

export class Node {
  private static nextId = 0;
  readonly id = Node.nextId++;
  constructor(
    readonly op: Op,
    readonly dtype: DType,
    readonly shape: Shape,
    readonly src: readonly Node[],
    readonly arg: NodeArg,
    readonly device: string,
    readonly key: string,
    /** What the node is apart from its sources (op, dtype, device, shape, argument): with the sources' positions, the graph's structure. */
    readonly sig: string,
  ) {}

  get size(): number {
    return prod(this.shape);
  }

  get ndim(): number {
    return this.shape.length;
  }

  toString(): string {
    return `${this.op}#${this.id}<${this.dtype}[${this.shape.join(',')}]@${this.device}>`;
  }
}

function argKey(arg: NodeArg): string {
  if (arg === null) return '';
  if (typeof arg === 'number') return Object.is(arg, -0) ? '-0' : String(arg);
  return JSON.stringify(arg);
}

/**
 * The intern table holds nodes strongly, most recent last, and forgets the oldest past a bound.
 * Not weakly: a WeakRef keeps its target alive until the current synchronous job ends, so in a
 * plain synchronous loop every node ever made would stay alive. Forgetting a node only costs
 * sharing: an equal graph built after it was forgotten is a new object.
 */
const table = new Map<string, Node>();
let capacity = 1 << 16;

/** Sets how many nodes the intern table remembers (tests of interning and memory). */
export function setInternCapacity(n: number): void {
  capacity = Math.max(1, n);
  trim();
}

/** Forgets the oldest nodes down to three quarters of the capacity (in batches, so the cost is amortized). */
function trim(): void {
  if (table.size <= capacity) return;
  const keep = Math.floor(capacity * 0.75);
  for (const k of table.keys()) {
    table.delete(k);
    if (table.size <= keep) break;
  }
}

/** Creates or returns the interned node. Validation lives in the typed constructors below. */
function intern(op: Op, dtype: DType, shape: Shape, src: readonly Node[], arg: NodeArg, device: string): Node {
  const sig = op + '|' + dtype + '|' + device + '|' + shape.join(',') + '|' + (arg === null ? '' : argKey(arg));
  let key = sig + '|';
  for (let i = 0; i < src.length; i++) key += (i ? ',' : '') + src[i]!.id;
  const hit = table.get(key);
  if (hit) return hit;
  const n = new Node(op, dtype, Object.freeze([...shape]), Object.freeze([...src]), arg, device, key, sig);
  table.set(key, n);
  if (table.size > capacity) trim();
  return n;
}

/** Number of nodes the intern table holds (for tests of interning and memory). */
export const internedCount = (): number => table.size;

function checkShape(shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`invalid shape ${JSON.stringify(shape)}: sizes must be non-negative integers`);
  }
}

let nextBuffer = 0;
/** A fresh realized-buffer node; the compiler maps it to device memory. */
export function bufferNode(dtype: DType, shape: Shape, device: string): Node {
  checkShape(shape);
  return intern('BUFFER', dtype, shape, [], { buffer: nextBuffer++ }, device);
}

export function constNode(value: number, dtype: DType, shape: Shape, device: string): Node {
  checkShape(shape);
  let v = value;
  if (dtype === 'bool') v = value !== 0 ? 1 : 0;
  else if (!isFloat(dtype)) v = Math.trunc(value) + 0; // + 0 turns -0 into 0
  return intern('CONST', dtype, shape, [], v, device);
}

/** Uniform [0, 1) numbers from a counter-based generator: element i of (seed, offset) is always the same. */
export function randNode(seed: number, offset: number, shape: Shape, dtype: DType, device: string): Node {
  checkShape(shape);
  return intern('RAND', dtype, shape, [], { seed: seed >>> 0, offset }, device);
}

/** `start + i * step` for i in [0, n). */
export function arangeNode(start: number, step: number, n: number, dtype: DType, device: string): Node {
  checkShape([n]);
  return intern('ARANGE', dtype, [n], [], { start, step }, device);
}

function sameDevice(op: Op, nodes: readonly Node[]): string {
  const d = nodes[0]!.device;
  for (const n of nodes) {
    if (n.device !== d) throw new Error(`${op}: sources on different devices (${d} and ${n.device})`);
  }
  return d;
}

export function unaryNode(op: Op, x: Node): Node {
  if (OPS[op].kind !== 'unary') throw new Error(`${op} is not a unary op`);
  if (OPS[op].floatOnly && !isFloat(x.dtype)) throw new TypeError(`${op} needs a floating dtype, got ${x.dtype}`);
  return intern(op, x.dtype, x.shape, [x], null, x.device);
}

export function binaryNode(op: Op, a: Node, b: Node): Node {
  const info = OPS[op];
  if (info.kind !== 'binary') throw new Error(`${op} is not a binary op`);
  if (!shapeEqual(a.shape, b.shape)) throw new ShapeError(`${op}: shapes differ [${a.shape}] vs [${b.shape}]`);
  if (a.dtype !== b.dtype) throw new TypeError(`${op}: dtypes differ ${a.dtype} vs ${b.dtype}`);
  if (info.intOnly && isFloat(a.dtype)) throw new TypeError(`${op} needs an integer or bool dtype, got ${a.dtype}`);
  return intern(op, info.boolResult ? 'bool' : a.dtype, a.shape, [a, b], null, sameDevice(op, [a, b]));
}

export function whereNode(cond: Node, a: Node, b: Node): Node {
  if (cond.dtype !== 'bool') throw new TypeError(`WHERE: condition must be bool, got ${cond.dtype}`);
  if (!shapeEqual(cond.shape, a.shape) || !shapeEqual(a.shape, b.shape)) throw new ShapeError('WHERE: shapes differ');
  if (a.dtype !== b.dtype) throw new TypeError(`WHERE: dtypes differ ${a.dtype} vs ${b.dtype}`);
  return intern('WHERE', a.dtype, a.shape, [cond, a, b], null, sameDevice('WHERE', [cond, a, b]));
}

export function castNode(x: Node, dtype: DType): Node {
  if (x.dtype === dtype) return x;
  return intern('CAST', dtype, x.shape, [x], null, x.device);
}

export function bitcastNode(x: Node, dtype: DType): Node {
  if (DTYPES[x.dtype].itemsize !== DTYPES[dtype].itemsize) throw new TypeError(`BITCAST: ${x.dtype} and ${dtype} differ in size`);
  return intern('BITCAST', dtype, x.shape, [x], null, x.device);
}

/** Reduces over `axes`, keeping them as size-1 dims. */
export function reduceNode(x: Node, reduce: ReduceKind, axes: readonly number[]): Node {
  const ax = [...new Set(axes)].sort((a, b) => a - b);
  for (const a of ax) if (a < 0 || a >= x.ndim) throw new ShapeError(`REDUCE: axis ${a} out of range for ${x.ndim} dims`);
  if (ax.length === 0) return x;
  const shape = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  return intern('REDUCE', x.dtype, shape, [x], { reduce, axes: ax }, x.device);
}

export function reshapeNode(x: Node, shape: Shape): Node {
  checkShape(shape);
  if (prod(shape) !== x.size) throw new ShapeError(`shape '[${shape.join(', ')}]' is invalid for input of size ${x.size}`);
  if (shapeEqual(shape, x.shape)) return x;
  // reshape of reshape is one reshape
  const base = x.op === 'RESHAPE' ? x.src[0]! : x;
  if (shapeEqual(shape, base.shape)) return base;
  return intern('RESHAPE', x.dtype, shape, [base], null, x.device);
}

export function permuteNode(x: Node, order: readonly number[]): Node {
  if (order.length !== x.ndim || [...order].sort((a, b) => a - b).some((v, i) => v !== i)) {
    throw new ShapeError(`permute: order [${order}] is not a permutation of ${x.ndim} dims`);
  }
  if (order.every((v, i) => v === i)) return x;
  return intern('PERMUTE', x.dtype, order.map((o) => x.shape[o]!), [x], [...order], x.device);
}

export function expandNode(x: Node, shape: Shape): Node {
  if (shape.length !== x.ndim || x.shape.some((d, i) => d !== shape[i] && d !== 1)) {
    throw new ShapeError(`expand: cannot expand [${x.shape}] to [${shape}]`);
  }
  if (shapeEqual(shape, x.shape)) return x;
  return intern('EXPAND', x.dtype, shape, [x], null, x.device);
}

export function padNode(x: Node, pads: readonly Pair[]): Node {
  if (pads.length !== x.ndim || pads.some(([a, b]) => a < 0 || b < 0)) throw new ShapeError('pad: one non-negative pair per dim');
  if (pads.every(([a, b]) => a === 0 && b === 0)) return x;
  return intern('PAD', x.dtype, x.shape.map((d, i) => d + pads[i]![0] + pads[i]![1]), [x], pads.map((p) => [p[0], p[1]] as const), x.device);
}

export function shrinkNode(x: Node, ranges: readonly Pair[]): Node {
  if (ranges.length !== x.ndim || ranges.some(([s, e], i) => s < 0 || e < s || e > x.shape[i]!)) {
    throw new ShapeError(`shrink: ranges ${JSON.stringify(ranges)} out of bounds for [${x.shape}]`);
  }
  if (ranges.every(([s, e], i) => s === 0 && e === x.shape[i])) return x;
  return intern('SHRINK', x.dtype, ranges.map(([s, e]) => e - s), [x], ranges.map((r) => [r[0], r[1]] as const), x.device);
}

export function flipNode(x: Node, axes: readonly number[]): Node {
  const ax = [...new Set(axes)].filter((a) => x.shape[a]! > 1).sort((a, b) => a - b);
  if (ax.length === 0) return x;
  return intern('FLIP', x.dtype, x.shape, [x], ax, x.device);
}

export function contiguousNode(x: Node): Node {
  return intern('CONTIGUOUS', x.dtype, x.shape, [x], null, x.device);
}

export function copyNode(x: Node, device: string): Node {
  if (x.device === device) return x;
  return intern('COPY', x.dtype, x.shape, [x], null, device);
}

/** Writes `value` into the buffer behind `target`; the result reads as the new contents. */
export function assignNode(target: Node, value: Node): Node {
  if (!shapeEqual(target.shape, value.shape) || target.dtype !== value.dtype) throw new ShapeError('ASSIGN: target and value differ');
  return intern('ASSIGN', target.dtype, target.shape, [target, value], null, sameDevice('ASSIGN', [target, value]));
}

const isIndexDtype = (d: string): boolean => d === 'int32' || d === 'int64';

/**
 * out[p] = x[p with dim `axis` replaced by index[p]]: a load at a computed index. The index has
 * x's rank and fits inside x off the axis; an index outside [0, x.shape[axis]) reads 0 (the
 * frontend raises for it before, as PyTorch does; negative indices are wrapped there too).
 */
export function gatherNode(x: Node, index: Node, axis: number): Node {
  if (!isIndexDtype(index.dtype)) throw new TypeError(`GATHER: index must be int32 or int64, got ${index.dtype}`);
  if (index.ndim !== x.ndim || axis < 0 || axis >= x.ndim) throw new ShapeError(`GATHER: index rank ${index.ndim}, axis ${axis} for [${x.shape}]`);
  if (index.shape.some((d, i) => i !== axis && d > x.shape[i]!)) throw new ShapeError(`GATHER: index [${index.shape}] exceeds [${x.shape}] off axis ${axis}`);
  return intern('GATHER', x.dtype, index.shape, [x, index], axis, sameDevice('GATHER', [x, index]));
}

/**
 * `base` with, for every index position p (in row-major order along the axis),
 * out[p with dim `axis` replaced by index[p]] (reduce)= src[p]. Indices outside the axis are
 * skipped. The index fits inside src everywhere and inside base off the axis.
 */
export function scatterNode(base: Node, index: Node, src: Node, axis: number, reduce: ScatterReduce): Node {
  if (!isIndexDtype(index.dtype)) throw new TypeError(`SCATTER: index must be int32 or int64, got ${index.dtype}`);
  if (src.dtype !== base.dtype) throw new TypeError(`SCATTER: dtypes differ ${base.dtype} vs ${src.dtype}`);
  if (index.ndim !== base.ndim || src.ndim !== base.ndim || axis < 0 || axis >= base.ndim) throw new ShapeError('SCATTER: base, index and src must have one rank');
  if (index.shape.some((d, i) => d > src.shape[i]! || (i !== axis && d > base.shape[i]!))) {
    throw new ShapeError(`SCATTER: index [${index.shape}] exceeds src [${src.shape}] or base [${base.shape}]`);
  }
  return intern('SCATTER', base.dtype, base.shape, [base, index, src], { axis, reduce }, sameDevice('SCATTER', [base, index, src]));
}

/** Inclusive scan (running add, mul or max) along `axis`, in order. */
export function scanNode(x: Node, reduce: ReduceKind, axis: number): Node {
  if (axis < 0 || axis >= x.ndim) throw new ShapeError(`SCAN: axis ${axis} out of range for ${x.ndim} dims`);
  return intern('SCAN', x.dtype, x.shape, [x], { axis, reduce }, x.device);
}

/**
 * Reads as `value` but takes gradients as `history`: the contents of a tensor with autograd
 * history, changed outside autograd (an in-place op through `.data`, a detached alias or under
 * noGrad), as PyTorch keeps the grad_fn while the data changes.
 */
export function dataNode(value: Node, history: Node): Node {
  if (!shapeEqual(value.shape, history.shape) || value.dtype !== history.dtype) throw new ShapeError('DATA: value and history differ');
  return intern('DATA', value.dtype, value.shape, [value, history], null, sameDevice('DATA', [value, history]));
}

export function detachNode(x: Node): Node {
  return intern('DETACH', x.dtype, x.shape, [x], null, x.device);
}

/** Broadcasts a node to `shape` with reshape (left-pad with 1s) and expand. */
export function broadcastTo(x: Node, shape: Shape): Node {
  if (shapeEqual(x.shape, shape)) return x;
  broadcastShapes(x.shape, shape);
  const padded = [...new Array<number>(shape.length - x.ndim).fill(1), ...x.shape];
  return expandNode(reshapeNode(x, padded), shape);
}

/** Nodes reachable from `roots`, sources before consumers. */
export function toposort(roots: readonly Node[]): Node[] {
  const seen = new Set<Node>();
  const order: Node[] = [];
  const stack: [Node, boolean][] = roots.map((r) => [r, false]);
  while (stack.length) {
    const [n, done] = stack.pop()!;
    if (done) {
      order.push(n);
      continue;
    }
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push([n, true]);
    for (let i = n.src.length - 1; i >= 0; i--) if (!seen.has(n.src[i]!)) stack.push([n.src[i]!, false]);
  }
  return order;
}

/** The same node over new sources (used by rewrites; the op's own checks already passed once). */
export function withSources(n: Node, src: readonly Node[]): Node {
  if (src.length === n.src.length && src.every((s, i) => s === n.src[i])) return n;
  return intern(n.op, n.dtype, n.shape, src, n.arg, n.device);
}

/** A node identical to `n` but of another shape: only valid for sources (CONST, RAND…). */
export function withShape(n: Node, shape: Shape): Node {
  if (OPS[n.op].kind !== 'source' || n.op === 'BUFFER') throw new Error(`withShape: ${n.op} is not a reshapeable source`);
  return intern(n.op, n.dtype, shape, n.src, n.arg, n.device);
}
