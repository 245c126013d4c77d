/**
 * The one node type of the tensor graph. Nodes are immutable and interned by structure, so
 * building the same graph twice yields the same objects: common subexpressions are shared and
 * `node.key` is a stable cache key.
 */
import { DTYPES, isFloat, type DType } from './dtype.js';
import { OPS, type Op, type OpInfo, type ReduceKind, type ScatterReduce } from './ops.js';
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
  | { readonly axis: number; readonly reduce: ScatterReduce | ReduceKind }
  | SortArg;

export class Node {
  private static nextId = 0;
  readonly id = Node.nextId++;
  /** @internal the next node in the intern table's bucket of equal hashes */
  _chain: Node | null = null;
  /**
   * @internal the first node made over this one (null: none yet, so no node over it exists), or
   * HELD for a node the intern table holds. See `intern`.
   */
  _user: Node | null = null;
  /** @internal the intern table's hash of the node (its signature and its sources) */
  _hash = 0;
  /** @internal which generation of the intern table holds the node (see `link`) */
  _gen = 0;
  /** @internal the NodeMarks walk that last marked this node, and its mark */
  _walk = 0;
  /** @internal */
  _mark = 0;
  /**
   * @internal the device buffer the runtime bound to this node (only @fusor/runtime's realize.ts
   * reads or writes it): the lifetime of a WeakMap entry keyed by the node, without a hash-table
   * probe per lookup
   */
  _buffer: unknown = undefined;
  /** @internal (runtime) why the node's value is gone, when it is: reading it raises this */
  _stale: string | undefined = undefined;
  /** @internal (runtime) a buffer node's contents on the host, when it has them */
  _host: unknown = undefined;
  /** @internal (runtime) which of the runtime's cache lists hold the node (bit flags) */
  _cached = 0;
  constructor(
    readonly op: Op,
    readonly dtype: DType,
    readonly shape: Shape,
    readonly src: readonly Node[],
    readonly arg: NodeArg,
    readonly device: string,
    /**
     * A hash of what the node is apart from its sources (op, dtype, device, shape, argument;
     * a draw's seed and offset left out): with the sources' positions, the graph's structure.
     * Equal nodes have equal hashes; the plan cache checks the fields themselves on a hit.
     */
    readonly sigHash: number,
  ) {}

  /**
   * The node as a string, unique among live nodes: what it is (`sig`) and its sources' ids.
   * Built on demand (debugging, tests): interning compares hashes and fields, not strings.
   */
  get key(): string {
    let key = this.sig + '|';
    for (let i = 0; i < this.src.length; i++) key += (i ? ',' : '') + this.src[i]!.id;
    return key;
  }

  /** What the node is apart from its sources, as a string (op, dtype, device, shape, argument). */
  get sig(): string {
    return this.op + '|' + this.dtype + '|' + this.device + '|' + this.shape.join(',') + '|' + (this.arg === null ? '' : argKey(this.arg));
  }

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

// ------------------------------------------------------------------ hashing

/**
 * Interning used to key its table by a string of the node's fields and its sources' ids: for a
 * chain of small elementwise ops, building and hashing that string was a third of the time spent
 * recording an op. Now the key is a 30-bit hash of the same fields, and a hit is checked field by
 * field (`isNode`), so nothing is allocated for a lookup.
 */
/** One step of the 32-bit hashes fusor keys its caches by (the intern table, the plan cache). */
export function hashMix(h: number, v: number): number {
  h = Math.imul(h ^ v, 0x5bd1e995);
  return h ^ (h >>> 15);
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

function mixNumber(h: number, v: number): number {
  if ((v | 0) === v && !(v === 0 && 1 / v < 0)) return hashMix(h, v);
  if (Number.isNaN(v)) return hashMix(h, 0x7ff80001); // every NaN is one constant (Object.is(NaN, NaN))
  f64[0] = v;
  return hashMix(hashMix(h, u32[0]!), u32[1]!);
}

/** Small ids for the strings a node names (op, dtype, device, argument keys), for hashing. */
const stringIds = new Map<string, number>();
export function stringId(s: string): number {
  let id = stringIds.get(s);
  if (id === undefined) {
    id = stringIds.size + 1;
    stringIds.set(s, id);
  }
  return id;
}

function mixArg(h: number, a: unknown): number {
  if (typeof a === 'number') return mixNumber(h, a);
  if (typeof a === 'string') return hashMix(h, stringId(a));
  if (typeof a === 'boolean') return hashMix(h, a ? 0x7fff0001 : 0x7fff0002);
  if (Array.isArray(a)) {
    h = hashMix(h, 0x40000000 + a.length);
    for (let i = 0; i < a.length; i++) h = mixArg(h, a[i]);
    return h;
  }
  // the plain objects of NodeArg (the ops make them with their keys in one order)
  const o = a as Record<string, unknown>;
  for (const k in o) h = mixArg(hashMix(h, stringId(k)), o[k]);
  return h;
}

/** Equal arguments: numbers by Object.is (-0 is not 0, NaN is NaN), arrays and objects by their members. */
function sameArg(a: unknown, b: unknown): boolean {
  if (typeof a === 'number') return typeof b === 'number' && Object.is(a, b);
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameArg(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const oa = a as Record<string, unknown>;
  const ob = b as Record<string, unknown>;
  let n = 0;
  for (const k in oa) {
    if (!(k in ob) || !sameArg(oa[k], ob[k])) return false;
    n++;
  }
  for (const _ in ob) n--;
  return n === 0;
}

/** The ids of the last op, dtype and device hashed: a run of ops repeats them (a Map lookup each is measurable). */
let lastOp = '';
let lastOpId = 0;
let lastDtype = '';
let lastDtypeId = 0;
let lastDevice = '';
let lastDeviceId = 0;

/** The hash of what a node is apart from its sources; a draw's (seed, offset) left out (a kernel parameter, not structure). */
function sigHashOf(op: Op, dtype: DType, shape: Shape, arg: NodeArg, device: string): number {
  if (op !== lastOp) {
    lastOp = op;
    lastOpId = stringId(op);
  }
  if (dtype !== lastDtype) {
    lastDtype = dtype;
    lastDtypeId = stringId(dtype);
  }
  if (device !== lastDevice) {
    lastDevice = device;
    lastDeviceId = stringId(device);
  }
  let h = hashMix(hashMix(hashMix(0x2545f491, lastOpId), lastDtypeId), lastDeviceId);
  h = hashMix(h, shape.length);
  for (let i = 0; i < shape.length; i++) h = hashMix(h, shape[i]!);
  if (op !== 'RAND' && arg !== null) h = mixArg(h, arg);
  return h & 0x3fffffff;
}

/** What a node is apart from its sources: what the structural plan cache keeps of a node (not the node, which would hold its buffers). */
export interface Signature {
  readonly op: Op;
  readonly dtype: DType;
  readonly device: string;
  readonly shape: Shape;
  readonly arg: NodeArg;
  readonly sigHash: number;
}

export const signatureOf = (n: Node): Signature => ({ op: n.op, dtype: n.dtype, device: n.device, shape: n.shape, arg: n.arg, sigHash: n.sigHash });

/** Whether a node is what `s` describes, as the plan cache compares them: a draw's (seed, offset) is not compared. */
export function sameSignature(n: Node, s: Signature): boolean {
  return (
    n.sigHash === s.sigHash &&
    n.op === s.op &&
    n.dtype === s.dtype &&
    n.device === s.device &&
    shapeEqual(n.shape, s.shape) &&
    (n.op === 'RAND' || sameArg(n.arg, s.arg))
  );
}

// ------------------------------------------------------------------ the intern table

/**
 * The intern table holds nodes strongly and forgets the least recently used past a bound.
 * Not weakly: a WeakRef keeps its target alive until the current synchronous job ends, so in a
 * plain synchronous loop every node ever made would stay alive. Forgetting a node only costs
 * sharing: an equal graph built after it was forgotten is a new object.
 *
 * Two generations, each an array of buckets (a chain of nodes through `_chain`) indexed by the
 * hash: new and used nodes go to the young one; when it holds half the capacity, the old one is
 * emptied and becomes the young one, and the young one becomes old. A node used again while old
 * moves to the young generation, so what a loop keeps building (its constants) stays. Nothing is
 * walked to trim and the arrays never grow (a Map's growth and rehashing was a fifth of the cost
 * of recording a new node).
 */
let capacity = 1 << 16;
let mask = 0;
let young: (Node | null)[] = [];
let old: (Node | null)[] = [];
let youngCount = 0;
let oldCount = 0;
/** Ids of the two generations (a node's `_gen` says which holds it; another value: none). */
let gens = 0;
let youngGen = 0;
let oldGen = 0;
sizeTables();

/** Buckets for a generation of capacity / 2 nodes, at most half full. */
function sizeTables(): void {
  let size = 16;
  while (size < capacity) size *= 2;
  mask = size - 1;
  young = new Array<Node | null>(size).fill(null);
  old = new Array<Node | null>(size).fill(null);
  youngCount = 0;
  oldCount = 0;
  youngGen = ++gens;
  oldGen = ++gens;
}

/** Sets how many nodes the intern table remembers (tests of interning and memory); the table starts empty. */
export function setInternCapacity(n: number): void {
  capacity = Math.max(2, n);
  sizeTables();
}

/** Empties the old generation and swaps: the young one becomes old. */
function age(): void {
  const t = old;
  // a forgotten node that lives on must not keep the rest of its bucket alive
  for (let i = 0; i < t.length; i++) {
    let n: Node | null = t[i]!;
    while (n !== null) {
      const next: Node | null = n._chain;
      n._chain = null;
      n._gen = 0;
      n = next;
    }
    t[i] = null;
  }
  old = young;
  oldCount = youngCount;
  oldGen = youngGen;
  young = t;
  youngCount = 0;
  youngGen = ++gens;
}

/** Whether `n` is the node these fields describe. */
function isNode(n: Node, h: number, op: Op, dtype: DType, shape: Shape, src: readonly Node[], arg: NodeArg, device: string): boolean {
  if (n._hash !== h || n.op !== op || n.dtype !== dtype || n.device !== device || n.src.length !== src.length || !shapeEqual(n.shape, shape)) return false;
  for (let i = 0; i < src.length; i++) if (n.src[i] !== src[i]) return false;
  return sameArg(n.arg, arg);
}

function matchIn(table: (Node | null)[], h: number, op: Op, dtype: DType, shape: Shape, src: readonly Node[], arg: NodeArg, device: string): Node | null {
  for (let n: Node | null = table[h & mask]!; n !== null; n = n._chain) if (isNode(n, h, op, dtype, shape, src, arg, device)) return n;
  return null;
}

/** Takes `n` out of its bucket's chain in `table`. */
function unlink(table: (Node | null)[], n: Node): void {
  const i = n._hash & mask;
  let p = table[i]!;
  if (p === n) table[i] = n._chain;
  else {
    while (p._chain !== n) p = p._chain!;
    p._chain = n._chain;
  }
  n._chain = null;
  n._gen = 0;
}

function link(n: Node): void {
  const i = n._hash & mask;
  n._chain = young[i]!;
  young[i] = n;
  n._gen = youngGen;
  if (++youngCount >= capacity >> 1) age();
}

/**
 * Drops `n` from the intern table, if the table holds it: the runtime calls this for the
 * intermediates of each realize (computed, then dropped), which the table would otherwise keep
 * alive with their graph until it forgot them. Costs only sharing, as forgetting does.
 */
export function forgetNode(n: Node): void {
  if (n._gen === youngGen) {
    unlink(young, n);
    youngCount--;
  } else if (n._gen === oldGen) {
    unlink(old, n);
    oldCount--;
  }
}

/**
 * The `_user` of a node that remembers no node over it (the table does): a source the table holds
 * (a constant, a draw: shared and long-lived, it would keep that node's graph alive), or a node
 * released.
 */
const HELD = new Node('CONST', 'bool', Object.freeze([]), Object.freeze([]), 0, 'none', 0);

/**
 * Nodes built over `n` from now on are remembered by the intern table, and the first node built
 * over it so far no longer by `n`: for a value that lives long (the runtime calls this for the
 * computed inputs of each realize), which would otherwise keep that node's whole graph alive
 * (a chain of ops over a batch, long after it was computed). Costs only sharing: that node, built
 * again, is a new one.
 */
export function releaseConsumers(n: Node): void {
  n._user = HELD;
}

/**
 * Whether no node was ever built over `n` (so no lazy value reads it): what lets a collective
 * write a tensor's buffer node in place. False once any node was, even one since collected, and
 * after `releaseConsumers`.
 */
export const hasNoConsumers = (n: Node): boolean => n._user === null;

/**
 * Creates or returns the interned node. Validation lives in the typed constructors below.
 *
 * A node is remembered in one of two places. Where some source has no node over it yet (`_user`
 * null), the node is new, and each such source remembers it: it is found again through them as
 * long as they live (only then can an equal node be built) and dies with them. Otherwise (every
 * source already read, released or a table-held source op, or no sources) the intern table holds
 * it. In a chain of ops, where each op reads the one before, the table is touched at most once
 * (for the first op, over an input already read) and the nodes die with the chain; holding every
 * node until the table forgot it made each one survive the young generation, most of the
 * collector's work while recording. A node that lives long (a parameter's storage until it is
 * released by a realize) keeps its first consumer's graph as long; sources the table holds
 * (constants, draws) keep none.
 */
function intern(op: Op, dtype: DType, shape: Shape, src: readonly Node[], arg: NodeArg, device: string): Node {
  const sig = sigHashOf(op, dtype, shape, arg, device);
  // a draw's (seed, offset) is left out of its signature but not out of its identity
  let h = op === 'RAND' && arg !== null ? mixArg(sig, arg) : sig;
  for (let i = 0; i < src.length; i++) h = hashMix(h, src[i]!.id);
  h &= 0x3fffffff;
  let fresh = false;
  for (let i = 0; i < src.length; i++) {
    const u = src[i]!._user;
    if (u === null) fresh = true;
    else if (!fresh && u !== HELD && isNode(u, h, op, dtype, shape, src, arg, device)) return u;
  }
  if (!fresh) {
    const hit = matchIn(young, h, op, dtype, shape, src, arg, device);
    if (hit) return hit;
    const aged = matchIn(old, h, op, dtype, shape, src, arg, device);
    if (aged) {
      unlink(old, aged);
      oldCount--;
      link(aged);
      return aged;
    }
  }
  // the callers pass new arrays of sources (withSources copies): frozen in place, not copied
  const n = new Node(op, dtype, Object.isFrozen(shape) ? shape : Object.freeze([...shape]), Object.freeze(src), arg, device, sig);
  n._hash = h;
  if (fresh) {
    for (let i = 0; i < src.length; i++) if (src[i]!._user === null) src[i]!._user = n;
  } else {
    // a source op (no sources) is shared and long-lived: it remembers no consumer
    if (src.length === 0) n._user = HELD;
    link(n);
  }
  return n;
}

let walks = 0;

/**
 * A number per node for one graph walk, kept on the nodes: a Map<Node, number> without its
 * hashing (the plan cache's walk over every pending node of each realize was mostly Map
 * operations). Starting a new NodeMarks ends the previous one: its marks read as unset. For
 * synchronous walks that start no other walk while they run.
 */
export class NodeMarks {
  private readonly walk = ++walks;
  has(n: Node): boolean {
    return n._walk === this.walk;
  }
  /** The mark of `n`; only meaningful where has(n). */
  get(n: Node): number {
    return n._mark;
  }
  set(n: Node, mark: number): void {
    n._walk = this.walk;
    n._mark = mark;
  }
}

/** Number of nodes the intern table holds (for tests of interning and memory). */
export const internedCount = (): number => youngCount + oldCount;

function checkShape(shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`invalid shape ${JSON.stringify(shape)}: sizes must be non-negative integers`);
  }
}

let nextBuffer = 0;
const NO_SOURCES: readonly Node[] = Object.freeze([]);
/** A fresh realized-buffer node; the compiler maps it to device memory. */
export function bufferNode(dtype: DType, shape: Shape, device: string): Node {
  checkShape(shape);
  // never equal to another node: made directly, not through the intern table
  const arg = { buffer: nextBuffer++ };
  // a frozen shape (another node's) is shared as is: nothing can change it
  const own = Object.isFrozen(shape) ? shape : Object.freeze([...shape]);
  return new Node('BUFFER', dtype, own, NO_SOURCES, arg, device, sigHashOf('BUFFER', dtype, shape, arg, device));
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

/** OPS as a Map: a keyed load from the OPS record was a measurable part of building an op's node. */
const OP_INFO = new Map<string, OpInfo>(Object.entries(OPS));

export function unaryNode(op: Op, x: Node): Node {
  const info = OP_INFO.get(op)!;
  if (info.kind !== 'unary') throw new Error(`${op} is not a unary op`);
  if (info.floatOnly && !isFloat(x.dtype)) throw new TypeError(`${op} needs a floating dtype, got ${x.dtype}`);
  return intern(op, x.dtype, x.shape, [x], null, x.device);
}

export function binaryNode(op: Op, a: Node, b: Node): Node {
  const info = OP_INFO.get(op)!;
  if (info.kind !== 'binary') throw new Error(`${op} is not a binary op`);
  if (!shapeEqual(a.shape, b.shape)) throw new ShapeError(`${op}: shapes differ [${a.shape}] vs [${b.shape}]`);
  if (a.dtype !== b.dtype) throw new TypeError(`${op}: dtypes differ ${a.dtype} vs ${b.dtype}`);
  if (info.intOnly && isFloat(a.dtype)) throw new TypeError(`${op} needs an integer or bool dtype, got ${a.dtype}`);
  if (a.device !== b.device) throw new Error(`${op}: sources on different devices (${a.device} and ${b.device})`);
  return intern(op, info.boolResult ? 'bool' : a.dtype, a.shape, [a, b], null, a.device);
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

/** What a SORT node computes: the first `k` positions of each row's order. */
export interface SortArg {
  /** Largest first (NaN first of all); else smallest first (NaN last). */
  readonly descending: boolean;
  /** How many leading positions of the order are kept (the row's length for a full sort; fewer for topk). */
  readonly k: number;
}

/**
 * The int32 positions (along the last axis) of `x`'s elements in sorted order, per row, keeping
 * the first `k`: stable (equal values in their original order), NaN the largest value, -0 equal
 * to 0. Values are read with a GATHER at these positions, so gradients flow through the GATHER.
 */
export function sortNode(x: Node, descending: boolean, k: number): Node {
  if (x.ndim === 0) throw new ShapeError('SORT: needs at least one dim');
  const n = x.shape[x.ndim - 1]!;
  if (!Number.isInteger(k) || k < 0 || k > n) throw new ShapeError(`SORT: k ${k} out of range for rows of ${n}`);
  const arg: SortArg = { descending, k };
  return intern('SORT', 'int32', [...x.shape.slice(0, -1), k], [x], arg, x.device);
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
  return intern(n.op, n.dtype, n.shape, [...src], n.arg, n.device);
}

/** A node identical to `n` but of another shape: only valid for sources (CONST, RAND…). */
export function withShape(n: Node, shape: Shape): Node {
  if (OPS[n.op].kind !== 'source' || n.op === 'BUFFER') throw new Error(`withShape: ${n.op} is not a reshapeable source`);
  return intern(n.op, n.dtype, shape, n.src, n.arg, n.device);
}
