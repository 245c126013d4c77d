/**
 * The user-facing Tensor. A tensor is a handle on a lazy IR node; reading it realizes the
 * node through the compiler. Autograd bookkeeping (grad, gradFn) lives here at the tensor
 * level, PyTorch style; the arithmetic of gradients lives in @fusor/autograd as IR rules.
 */
import {
  bufferNode,
  contiguousNode,
  constNode,
  detachNode,
  reshapeNode,
  withSources,
  DTYPES,
  formatShape,
  isFloat,
  parseDType,
  prod,
  shapeEqual,
  type DType,
  type HostArray,
  type Node,
} from '@fusor/ir';
import { bfloat16FromBits, float16FromBits } from '@fusor/compiler';
import { getBackend, getBuffer, realize, realizeAsync, realizeHeld, release, setBuffer, setHostCopy, unbind, type DeviceBuffer } from '@fusor/runtime';
import { formatTensor, type FormatDType } from './format.js';
import { AutogradError } from './errors.js';
import { isGradEnabled, resolveDevice, state } from './state.js';
import { flushIndexChecks } from './index-checks.js';
// Types only: these modules import Tensor, so Tensor takes their code from bindTensorOps below.
import type * as Elementwise from './elementwise.js';
import type * as Reduce from './reduce.js';
import type * as Views from './views.js';
import type * as Linalg from './linalg.js';
import type * as Indexing from './indexing.js';
import type * as Scans from './scan.js';
import type * as Sorting from './sort.js';
import type * as Pooling from './pool.js';
import type * as Activation from './activation.js';
import type * as Autograd from './autograd.js';
import type { BackwardOptions } from './autograd.js';
import type { ValuesIndices, VarOptions } from './reduce.js';
import type { IndexSpec, ScatterOptions } from './indexing.js';
import type { SortOptions, TopkOptions } from './sort.js';
import type * as Creation from './creation.js';
import type * as Transfer from './transfer.js';
import type * as Pointwise from './pointwise.js';
import { Device } from './device.js';
import { tracing } from './trace.js';
import { parseArgs, type Param } from './args.js';

/**
 * The op modules Tensor's methods delegate to. Each of them imports Tensor, so tensor.ts imports
 * only their types (no import circle: tools/check-boundaries.mjs checks it) and index.ts hands
 * their code over once every module has loaded.
 */
export interface TensorOps {
  readonly E: typeof Elementwise;
  readonly R: typeof Reduce;
  readonly V: typeof Views;
  readonly L: typeof Linalg;
  readonly I: typeof Indexing;
  readonly Scan: typeof Scans;
  readonly Srt: typeof Sorting;
  readonly P: typeof Pooling;
  readonly A: typeof Activation;
  readonly backward: typeof Autograd.backward;
  readonly empty: typeof Creation.empty;
  readonly copyTo: typeof Transfer.copyTo;
  readonly castTo: typeof Transfer.castTo;
  /** Each export becomes a method, the tensor its first argument (see PointwiseMethods). */
  readonly pointwise: typeof Pointwise;
}
let E: typeof Elementwise;
let R: typeof Reduce;
let V: typeof Views;
let L: typeof Linalg;
let I: typeof Indexing;
let Scan: typeof Scans;
let Srt: typeof Sorting;
let P: typeof Pooling;
let A: typeof Activation;
let backward: typeof Autograd.backward;
let empty: typeof Creation.empty;
let copyTo: typeof Transfer.copyTo;
let castTo: typeof Transfer.castTo;

/** Called once, by index.ts: gives Tensor's methods their implementations. */
export function bindTensorOps(ops: TensorOps): void {
  ({ E, R, V, L, I, Scan, Srt, P, A, backward, empty, copyTo, castTo } = ops);
  for (const [name, f] of Object.entries(ops.pointwise) as [string, (self: Tensor, ...rest: never[]) => Tensor][]) {
    Object.defineProperty(Tensor.prototype, name, {
      value: function (this: Tensor, ...rest: never[]): Tensor {
        return f(this, ...rest);
      },
      writable: true,
      configurable: true,
    });
  }
}

/** `x.exp()`, `x.maximum(other)` …: every export of pointwise.ts as a method, the tensor its first argument. */
export type PointwiseMethods = {
  [K in keyof typeof Pointwise]: (typeof Pointwise)[K] extends (self: Tensor, ...rest: infer A) => Tensor ? (...rest: A) => Tensor : never;
};

/**
 * An edge of the autograd graph: an input tensor as it was when the op ran — its node, its
 * grad_fn (null for a leaf) and its storage version (to detect later in-place changes).
 */
export interface Edge {
  readonly tensor: Tensor;
  readonly node: Node;
  readonly fn: GradFn | null;
  readonly version: number;
}

/** A tensor a backward function reads, with its storage's version when it was saved. */
export interface Saved {
  readonly tensor: Tensor;
  readonly box: Box;
  readonly version: number;
  /** Which of the op's inputs it is (0: self), or -1 for the op's result. */
  readonly slot: number;
}

export const edgeOf = (t: Tensor): Edge => ({ tensor: t, node: t.node, fn: t.gradFn, version: t._box.version });

let nextSeq = 0;

/** What produced a non-leaf tensor: PyTorch's grad_fn. */
export class GradFn {
  /** Set once a backward without retainGraph has run through it. */
  released = false;
  /**
   * The tensors this function's backward reads, PyTorch's SavedVariables, with their storage
   * version when saved: backward raises if one was modified in place since. (fusor's own
   * gradients read immutable IR nodes and would be right anyway; the error is PyTorch's contract.)
   */
  saved: readonly Saved[] = [];
  /** The tensor whose grad_fn this is, when it retains its gradient or has hooks. */
  owner: Tensor | null = null;
  /** Creation order (PyTorch's sequence_nr): backward runs functions latest first, so its errors come in that order. */
  readonly seq = nextSeq++;
  /** The error PyTorch's backward of this function raises whenever it runs (a CopySlices into overlapping elements). */
  backwardError: (() => Error) | null = null;
  constructor(
    /** As PyTorch prints it, e.g. 'MulBackward0'. */
    readonly name: string,
    readonly edges: readonly Edge[],
    /** Whether backward needs values saved from the forward pass (only then is a second backward an error). */
    readonly savesTensors: boolean,
    /** The node of the output this function produced. */
    readonly node: Node,
  ) {}

  /**
   * A copy under another name: an in-place op rebases the tensor `modified` onto it, once its
   * storage holds the new version. As PyTorch's in-place ops save: `self` as a clone (never
   * stale), the result as `modified` itself at its new version, and every other input as it was,
   * so an input that aliases the written storage (x.mul_(x), v.add_(base)) is stale at backward.
   */
  renamed(name: string, modified?: Tensor): GradFn {
    const fn = new GradFn(name, this.edges, this.savesTensors, this.node);
    if (!modified) {
      fn.saved = this.saved;
      return fn;
    }
    fn.saved = this.saved.flatMap((v): Saved[] => {
      if (v.slot === 0) return [];
      if (v.slot === -1) return [{ tensor: modified, box: modified._box, version: modified._box.version, slot: -1 }];
      return [v];
    });
    return fn;
  }

  /** PyTorch's next_functions: the grad_fn of each input (or an AccumulateGrad for a leaf). */
  get nextFunctions(): readonly [GradFn | { name: 'AccumulateGrad'; variable: Tensor } | null, number][] {
    return this.edges.map((e) => [e.fn ?? (e.tensor.requiresGrad ? { name: 'AccumulateGrad', variable: e.tensor } : null), 0]);
  }

  toString(): string {
    return `<${this.name}>`;
  }
}

/**
 * A tensor's storage: the node of its current contents and a version counter, shared by the
 * tensor, its views and its aliases (`.data`, `.detach()`), so an in-place op through any of
 * them shows through all — the functional form of PyTorch's storage: an in-place op makes a
 * new node for the whole storage, and each view re-derives its node from the current one.
 */
export interface Box {
  node: Node;
  version: number;
  /** The contents before the last in-place op: kept for lazy values that still read them, released at the next one. */
  prev: Node | null;
  /** Autograd history of the contents (the grad_fn of the tensor that owns them), which compaction must keep. */
  fn: GradFn | null;
  /** Set by dispose(): the storage's memory is gone. */
  disposed: boolean;
  /** Why it was disposed, when not by dispose() itself (the error a later use raises says so). */
  disposedWhy?: string;
}

export const newBox = (node: Node): Box => ({ node, version: 0, prev: null, fn: null, disposed: false });

const STALE_VERSION =
  'this lazy value reads a tensor that was since updated in place twice, and fusor keeps only the contents before the latest in-place op; read or clone() the value before updating its inputs in place again';

/**
 * Moves a storage to new contents (an in-place op). The contents before stay for lazy values
 * that still read them; the ones before those are released now, so a loop of in-place updates
 * holds at most two versions of each tensor without waiting for the garbage collector.
 */
export function commitVersion(box: Box, node: Node): void {
  const old = box.node;
  if (box.prev && box.prev !== old && box.prev !== node) release(box.prev, STALE_VERSION);
  box.prev = old === node ? box.prev : old;
  box.node = node;
  box.version++;
}

/**
 * How a view reads its storage: the movement ops from the storage's node to the view's (replayed
 * over each new version of the storage), and PyTorch's strides and offset for the view.
 */
export interface ViewOf {
  readonly steps: readonly Node[];
  readonly strides: readonly number[] | null;
  readonly offset: number;
}

const MAKE = Symbol('make');
/** The hooks of a tensor that has none (shared; registerHook copies). */
const NO_HOOKS: readonly ((grad: Tensor) => Tensor | void)[] = Object.freeze([]);
const inspect = Symbol.for('nodejs.util.inspect.custom');

/** A scalar or a tensor, where PyTorch accepts either. */
export type TensorLike = Tensor | number | boolean;

/** The pointwise ops (pointwise.ts) are methods too: declared here, installed by bindTensorOps. */
export interface Tensor extends PointwiseMethods {}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface's members are installed on the prototype by bindTensorOps
export class Tensor {
  /** @internal */
  _box!: Box;
  /** @internal set for a view: how it reads its storage */
  _view: ViewOf | null = null;
  /** @internal a detached alias: its node is cut from autograd */
  _detached = false;
  /** @internal one of several views a function returned together (split, chunk, unbind): not writable in place under autograd */
  _multiView: { readonly name: string; readonly index: number } | null = null;
  /** @internal the view's base (PyTorch's `._base`), for views that carry autograd history */
  _base: Tensor | null = null;
  /** @internal the storage version this view's grad_fn was made for */
  _seen = 0;
  /** @internal the node derived for a storage node, reused until the storage changes */
  _cache: { for: Node; node: Node } | null = null;
  requiresGrad = false;
  /** @internal */
  _grad: Tensor | null = null;
  /** @internal */
  _gradFn: GradFn | null = null;
  /** @internal */
  _retainsGrad = false;
  /** @internal held as some tensor's `.grad` (a scope keeps it) */
  _isGrad = false;
  /** @internal */
  _hooks: readonly ((grad: Tensor) => Tensor | void)[] = NO_HOOKS;

  /** `new Tensor(2, 3)`: PyTorch's legacy constructor, an uninitialized float tensor (here: zeros). */
  constructor(...sizes: number[] | [readonly number[]]) {
    if ((sizes as unknown[])[0] === MAKE) return;
    const t = empty(...(sizes as number[]));
    this._box = t._box;
    tracing.current?.born(this);
  }

  /** @internal a tensor over a node (no autograd history) */
  static _fromNode(node: Node, box?: Box): Tensor {
    const t = new Tensor(MAKE as unknown as number);
    t._box = box ?? newBox(node);
    const tracer = tracing.current;
    if (tracer) {
      tracer.born(t);
      if (!box) tracer.born(t._box);
    }
    const scope = scopes.current;
    if (scope) {
      scope.tensors.push(t);
      if (!box) scope.boxes.add(t._box);
    }
    return t;
  }

  /** @internal a view of `base`'s storage whose node is `node` (made from base.node by movement ops) */
  static _view(base: Tensor, node: Node, strides: readonly number[] | null, offset: number): Tensor | null {
    const box = base._box;
    const rel = chainTo(node, base.node);
    if (rel === null) return null;
    const steps = [...(base._view?.steps ?? []), ...rel];
    const t = Tensor._fromNode(node, box);
    t._view = { steps, strides, offset };
    t._detached = base._detached;
    t._base = base._detached ? null : (base._base ?? base);
    t._seen = box.version;
    return t;
  }

  /** @internal the current IR node */
  get node(): Node {
    const b = this._box;
    tracing.current?.touchBox(b, this);
    if (b.disposed) throw new DisposedError(b.disposedWhy);
    if (this._view === null && !this._detached) return b.node;
    const c = this._cache;
    if (c !== null && c.for === b.node) return c.node;
    // detached first, then the view's steps: a detached alias made a leaf again (requiresGrad_)
    // is the node its views read, so their gradients reach it
    let n = this._detached ? detachNode(b.node) : b.node;
    if (this._view) for (const s of this._view.steps) n = withSources(s, [n]);
    this._cache = { for: b.node, node: n };
    return n;
  }

  /** What produced this tensor (PyTorch's grad_fn); a view whose storage changed since gets one reading its base anew. */
  get gradFn(): GradFn | null {
    if (this._base !== null && this._seen !== this._box.version) this._rebase();
    return this._gradFn;
  }
  set gradFn(fn: GradFn | null) {
    this._gradFn = fn;
    if (this._view === null && !this._detached) this._box.fn = fn;
  }

  /** @internal a view of a storage modified in place reads the base's new history (PyTorch's AsStridedBackward0) */
  _rebase(): void {
    this._seen = this._box.version;
    const base = this._base!;
    if (base.requiresGrad) {
      this._gradFn = new GradFn('AsStridedBackward0', [edgeOf(base)], false, this.node);
      this.requiresGrad = true;
    }
  }

  /** Storage offset and strides as PyTorch reports them (in elements). */
  stride(): number[];
  stride(dim: number): number;
  stride(dim?: number): number[] | number {
    const st = this._strides();
    if (dim === undefined) return st;
    return st[V.normDim(dim, this.ndim)]!;
  }
  storageOffset(): number {
    return this._view?.offset ?? 0;
  }
  isContiguous(): boolean {
    const st = this._strides();
    const shape = this.shape;
    let expect = 1;
    for (let i = shape.length - 1; i >= 0; i--) {
      if (shape[i] === 1) continue;
      if (st[i] !== expect) return false;
      expect *= shape[i]!;
    }
    return true;
  }
  /** @internal */
  _strides(): number[] {
    const s = this._view?.strides;
    return s ? [...s] : contiguousStrides(this.shape);
  }
  /** Whether two tensors share storage (PyTorch's `a.untyped_storage().data_ptr() == b…`). */
  sharesStorage(other: Tensor): boolean {
    return this._box === other._box;
  }
  /** PyTorch's `._base`: the tensor this one is a view of, or null. */
  get base(): Tensor | null {
    return this._view ? this._base : null;
  }
  get isView(): boolean {
    return this._view !== null;
  }
  /** The storage's version counter (PyTorch's `._version`). */
  get version(): number {
    return this._box.version;
  }

  /** The gradient accumulated by backward(), PyTorch's `.grad`. */
  get grad(): Tensor | null {
    tracing.current?.touchGrad(this);
    return this._grad;
  }
  set grad(g: Tensor | null) {
    tracing.current?.touchGrad(this);
    if (g) g._isGrad = true;
    this._grad = g;
  }

  get shape(): number[] {
    return [...this.node.shape];
  }
  size(): number[];
  size(dim: number): number;
  size(dim?: number): number[] | number {
    if (dim === undefined) return this.shape;
    return this.node.shape[V.normDim(dim, this.node.ndim)]!;
  }
  dim(): number {
    return this.node.ndim;
  }
  get ndim(): number {
    return this.node.ndim;
  }
  numel(): number {
    return this.node.size;
  }
  get dtype(): DType {
    return this.node.dtype;
  }
  get device(): string {
    return this.node.device;
  }
  get isLeaf(): boolean {
    return this.gradFn === null;
  }
  get isCuda(): boolean {
    return this.device.startsWith('cuda');
  }
  elementSize(): number {
    return DTYPES[this.dtype].itemsize;
  }
  isFloatingPoint(): boolean {
    return isFloat(this.dtype);
  }

  // ---------------------------------------------------------------- reads

  /**
   * Computes this tensor now, on its device, and keeps the result there (nothing is read back to
   * the host): where a lazy graph runs. Reads (`dataSync()`, `await t.data()`) do this too; call it
   * to cut a long lazy chain, or to time a computation apart from the copy to the host. Where the
   * graph copies from a device without synchronous reads (webgpu), use `await t.realizeAsync()`.
   */
  realize(): this {
    realize([this.node]);
    this._compact();
    return this;
  }

  /** `realize()` that awaits copies from asynchronous devices. */
  async realizeAsync(): Promise<this> {
    await realizeAsync([this.node]);
    this._compact();
    return this;
  }

  /** @internal computes this tensor's node; a tensor with no history then holds just the buffer */
  _realize(): void {
    realize([this.node]);
  }

  /** @internal */
  async _realizeAsync(): Promise<void> {
    await realizeAsync([this.node]);
  }

  /**
   * @internal drops the lazy history of realized contents that autograd does not need: the
   * storage then holds just a buffer (and `host`, when the contents were just read, so the
   * device copy becomes a cache the runtime may drop and upload again).
   */
  _compact(host?: HostArray): void {
    const box = this._box;
    if (box.fn !== null || this._gradFn !== null || box.disposed) return;
    const n = box.node;
    if (n.op === 'BUFFER') {
      if (host && this._view === null) setHostCopy(n, host);
      return;
    }
    const buf = getBuffer(n);
    if (!buf) return;
    const b = bufferNode(n.dtype, n.shape, n.device);
    setBuffer(b, buf);
    if (host && this._view === null) setHostCopy(b, host);
    box.node = b;
    unbind(n);
  }

  /** The contents as a typed array (int64 as BigInt64Array), computing them if needed. */
  dataSync(): HostArray {
    tracing.current?.hostRead('dataSync()');
    const backend = getBackend(this.device);
    if (!backend.readSync) {
      throw new Error(`${this.device} tensors cannot be read synchronously: use the async form, await tensor.data()`);
    }
    const node = this.node;
    realize([node]);
    const raw = backend.readSync(getBuffer(node)!.handle);
    this._compact(raw);
    return decodeHost(raw, this.dtype, true);
  }

  /**
   * Both of PyTorch's and fusor's `data`: as a property it is PyTorch's `.data` (a tensor sharing
   * this one's storage, outside autograd: `x.grad.data.zero_()`); called, it is the async read
   * (`await x.data()` gives a typed array).
   */
  get data(): DataProperty {
    const alias = this.detach();
    const read = (): Promise<HostArray> => this._read();
    Object.setPrototypeOf(read, alias);
    return read as unknown as DataProperty;
  }

  /** @internal */
  async _read(): Promise<HostArray> {
    tracing.current?.hostRead('data()');
    await flushIndexChecks();
    const node = this.node;
    // held while the read is in flight: another realize may drop the node from the cache meanwhile
    const [b] = (await realizeHeld([node])) as [DeviceBuffer];
    let raw: HostArray;
    try {
      raw = await b.backend.read(b.handle);
    } finally {
      b.unpin();
    }
    if (this._box.node === node || this._view !== null) this._compact(raw);
    return decodeHost(raw, this.dtype, true);
  }

  tolistSync(): NestedList {
    return toNested(this.dataSync(), this.shape, this.dtype);
  }
  async tolist(): Promise<NestedList> {
    return toNested(await this._read(), this.shape, this.dtype);
  }

  itemSync(): number | boolean {
    checkItem(this);
    return scalarOf(this.dataSync(), this.dtype);
  }
  async item(): Promise<number | boolean> {
    checkItem(this);
    return scalarOf(await this._read(), this.dtype);
  }

  /** Prints exactly as PyTorch does (reads the data synchronously). */
  toString(): string {
    const backend = getBackend(this.device);
    if (!backend.readSync) {
      return `tensor(<${formatShape(this.shape)} ${this.dtype} on ${this.device}; not on the host: await tensor.toStringAsync() or tensor.data()>)`;
    }
    return this._format(this.dataSync());
  }

  async toStringAsync(): Promise<string> {
    return this._format(await this._read());
  }

  private _format(values: HostArray): string {
    const suffixes: string[] = [];
    if (this.device !== 'cpu') suffixes.push(`device='${this.device}'`);
    if (this.gradFn) suffixes.push(`grad_fn=${this.gradFn}`);
    else if (this.requiresGrad) suffixes.push('requires_grad=True');
    return formatTensor(values, this.shape, this.dtype as FormatDType, suffixes);
  }

  [inspect](): string {
    return this.toString();
  }

  // ---------------------------------------------------------------- autograd

  /** A tensor sharing this one's storage, cut from autograd: in-place ops on either show in both. */
  detach(): Tensor {
    const t = Tensor._fromNode(this.node, this._box);
    t._view = this._view;
    t._detached = true;
    return t;
  }

  detach_(): this {
    if (this._view !== null && this._base !== null) {
      throw new AutogradError(
        "Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set as True, gradients are views of DDP buckets, and hence detach_() cannot be called on these gradients. To fix this error, please refer to the Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution.",
      );
    }
    this._gradFn = null;
    this.requiresGrad = false;
    this._detached = true;
    this._cache = null;
    return this;
  }

  /**
   * Frees this tensor's storage now instead of when the garbage collector finds it (which a
   * synchronous loop never lets it do). Views and aliases of the storage are disposed with it;
   * any later use raises. `using t = …` calls it at the end of the block.
   */
  dispose(): void {
    this._dispose(DISPOSED);
  }

  /** @internal dispose(), saying why in the error a later use raises */
  _dispose(why: string): void {
    const box = this._box;
    if (box.disposed) return;
    if (box.prev) release(box.prev, STALE_VERSION);
    release(box.node, why);
    box.prev = null;
    box.disposed = true;
    if (why !== DISPOSED) box.disposedWhy = why;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  get isDisposed(): boolean {
    return this._box.disposed;
  }

  requiresGrad_(requiresGrad = true): this {
    if (!this.isLeaf) {
      throw new AutogradError(
        'you can only change requires_grad flags of leaf variables. If you want to use a computed variable in a subgraph that doesn\'t require differentiation use var_no_grad = var.detach().',
      );
    }
    if (requiresGrad && !isFloat(this.dtype)) {
      throw new AutogradError('only Tensors of floating point dtype can require gradients');
    }
    if (requiresGrad) this._makeUnique();
    this.requiresGrad = requiresGrad;
    return this;
  }

  /** @internal a leaf that requires grad needs a node of its own (interning would share equal ones) */
  _makeUnique(): void {
    const box = this._box;
    if (box.node.op === 'BUFFER' && this._view === null) return;
    const n = this.node;
    realize([n]);
    const b = bufferNode(this.dtype, n.shape, this.device);
    setBuffer(b, getBuffer(n)!);
    if (this._view === null) unbind(n);
    // a view made a leaf of its own (requiresGrad_ on a view) gets its own storage
    this._box = newBox(b);
    this._view = null;
    this._cache = null;
    this._detached = false;
  }

  retainGrad(): void {
    if (!this.requiresGrad) throw new AutogradError("can't retain_grad on Tensor that has requires_grad=False");
    if (!this.isLeaf) {
      this._retainsGrad = true;
      this.gradFn!.owner = this;
    }
  }

  get retainsGrad(): boolean {
    return this._retainsGrad;
  }

  /** Registers a hook called with this tensor's gradient; a returned tensor replaces it. */
  registerHook(hook: (grad: Tensor) => Tensor | void): { remove(): void } {
    if (!this.requiresGrad) throw new AutogradError("cannot register a hook on a tensor that doesn't require gradient");
    // copied on write: every tensor starts with the one shared empty list
    this._hooks = [...this._hooks, hook];
    if (this.gradFn) this.gradFn.owner = this;
    return {
      remove: () => {
        const i = this._hooks.indexOf(hook);
        if (i >= 0) this._hooks = this._hooks.filter((_, j) => j !== i);
      },
    };
  }

  /**
   * `backward()`, `backward(gradient)`, `backward(gradient, { retainGraph, createGraph })` or `backward({ gradient, retainGraph, … })`.
   * Returns undefined with the gradients in place, or a promise of them when the graph crosses
   * out of a device without synchronous reads (webgpu): `await loss.backward()` fits every device.
   */
  backward(gradient?: Tensor | null | (BackwardOptions & { gradient?: Tensor | null }), opts?: BackwardOptions): Promise<void> | undefined {
    if (gradient !== undefined && gradient !== null && !(gradient instanceof Tensor)) {
      if (opts !== undefined) throw new TypeError('backward(): options given twice (as the first and the second argument)');
      const { gradient: g, ...rest } = checkOptions('backward', gradient, ['gradient', 'retainGraph', 'createGraph', 'inputs']);
      return backward(this, g ?? undefined, rest);
    }
    return backward(this, gradient ?? undefined, checkOptions('backward', opts ?? {}, ['retainGraph', 'createGraph', 'inputs']));
  }

  // ---------------------------------------------------------------- devices and dtypes

  /** `to('cuda')`, `to('float64')`, `to({ device, dtype })`, `to(otherTensor)`. */
  to(target: string | Device | Tensor | { device?: string | Device; dtype?: DType | string }): Tensor {
    if (target instanceof Tensor) return this.to({ device: target.device, dtype: target.dtype });
    if (target instanceof Device) return copyTo(this, resolveDevice(target));
    if (typeof target === 'string') {
      let dtype: DType | undefined;
      try {
        dtype = parseDType(target);
      } catch {
        return copyTo(this, resolveDevice(target));
      }
      return castTo(this, dtype);
    }
    for (const k of Object.keys(target)) if (k !== 'device' && k !== 'dtype') throw new TypeError(`to() got an unexpected keyword argument '${k}'`);
    let t: Tensor = this;
    if (target.dtype !== undefined) t = castTo(t, parseDType(target.dtype));
    if (target.device !== undefined) t = copyTo(t, resolveDevice(target.device));
    return t;
  }
  cuda(device?: number | string | Device): Tensor {
    return copyTo(this, resolveDevice(device === undefined ? 'cuda' : typeof device === 'number' ? `cuda:${device}` : device));
  }
  cpu(): Tensor {
    return copyTo(this, 'cpu');
  }
  type(dtype: DType | string): Tensor {
    return castTo(this, parseDType(dtype));
  }
  float(): Tensor {
    return castTo(this, 'float32');
  }
  double(): Tensor {
    return castTo(this, 'float64');
  }
  half(): Tensor {
    return castTo(this, 'float16');
  }
  long(): Tensor {
    return castTo(this, 'int64');
  }
  int(): Tensor {
    return castTo(this, 'int32');
  }
  bool(): Tensor {
    return castTo(this, 'bool');
  }
  byte(): Tensor {
    return castTo(this, 'uint8');
  }
  clone(): Tensor {
    return E.clone(this);
  }
  /** A tensor with its own buffer: an explicit kernel boundary (a realized buffer is returned as is). */
  contiguous(): Tensor {
    // a contiguous tensor is its own contiguous form (PyTorch returns self); a computed one's
    // storage is marked as a kernel boundary, so what reads it later reads one buffer
    if (this.isContiguous()) {
      const box = this._box;
      const n = box.node;
      if (this._view === null && !this._detached && n.op !== 'BUFFER' && n.op !== 'CONTIGUOUS' && !getBuffer(n)) box.node = contiguousNode(n);
      return this;
    }
    return record('CloneBackward0', contiguousNode(this.node), [this], false);
  }

  // ---------------------------------------------------------------- elementwise
  add(other: TensorLike, opts?: { alpha?: number }): Tensor {
    return E.add(this, other, opts);
  }
  sub(other: TensorLike, opts?: { alpha?: number }): Tensor {
    return E.sub(this, other, opts);
  }
  mul(other: TensorLike): Tensor {
    return E.mul(this, other);
  }
  div(other: TensorLike, opts?: { roundingMode?: 'trunc' | 'floor' }): Tensor {
    return E.div(this, other, opts);
  }
  pow(exponent: TensorLike): Tensor {
    return E.pow(this, exponent);
  }
  floorDivide(other: TensorLike): Tensor {
    return E.div(this, other, { roundingMode: 'floor' });
  }
  square(): Tensor {
    return E.pow(this, 2);
  }
  clamp(min?: TensorLike | null | ClampOptions, max?: TensorLike | null | ClampOptions): Tensor {
    const a = parseArgs('clamp', [min, max], CLAMP);
    return E.clamp(this, a['min'] as TensorLike | null | undefined, a['max'] as TensorLike | null | undefined);
  }
  clip(min?: TensorLike | null | ClampOptions, max?: TensorLike | null | ClampOptions): Tensor {
    return this.clamp(min, max);
  }
  where(condition: Tensor, other: TensorLike): Tensor {
    return E.where(condition, this, other);
  }

  // ---------------------------------------------------------------- in place
  add_(other: TensorLike, opts?: { alpha?: number }): this {
    E.checkWrite(this, [other]);
    return E.inPlace(this, E.add(this, other, opts), 'AddBackward0');
  }
  sub_(other: TensorLike, opts?: { alpha?: number }): this {
    E.checkWrite(this, [other]);
    return E.inPlace(this, E.sub(this, other, opts), 'SubBackward0');
  }
  mul_(other: TensorLike): this {
    E.checkWrite(this, [other]);
    return E.inPlace(this, E.mul(this, other), 'MulBackward0');
  }
  div_(other: TensorLike): this {
    E.checkWrite(this, [other]);
    return E.inPlace(this, E.div(this, other), 'DivBackward0');
  }
  pow_(exponent: TensorLike): this {
    E.checkWrite(this, [exponent]);
    return E.inPlace(this, E.pow(this, exponent), 'PowBackward0');
  }
  neg_(): this {
    return E.inPlace(this, this.neg(), 'NegBackward0');
  }
  clamp_(min?: TensorLike | null | ClampOptions, max?: TensorLike | null | ClampOptions): this {
    const a = parseArgs('clamp_', [min, max], CLAMP);
    const [lo, hi] = [a['min'] as TensorLike | null | undefined, a['max'] as TensorLike | null | undefined];
    E.checkWrite(this, [lo ?? 0, hi ?? 0]);
    return E.inPlace(this, E.clamp(this, lo, hi), 'ClampBackward1');
  }
  relu_(): this {
    return E.inPlace(this, this.relu(), 'ReluBackward0');
  }
  zero_(): this {
    return E.inPlace(this, E.fullLikeNoGrad(this, 0), 'ZeroBackward0');
  }
  fill_(value: number | boolean): this {
    return E.inPlace(this, E.fullLikeNoGrad(this, Number(value)), 'FillBackward0');
  }
  copy_(src: Tensor): this {
    E.checkWrite(this, [src]);
    return E.inPlace(this, E.copyFrom(this, src), 'CopyBackward0');
  }
  /**
   * @internal The direct case of `_assignRealized` alone: where this is a plain tensor (no view,
   * no autograd history, not traced) and the buffer node has its dtype, shape and device, the node
   * becomes its storage's next version; nothing is computed, so the buffer may still be filled
   * afterwards, before any other code runs. False (nothing done) otherwise.
   */
  _takeRealized(node: Node): boolean {
    const box = this._box;
    const now = box.node;
    if (
      tracing.current === null &&
      this._view === null &&
      box.fn === null &&
      this._gradFn === null &&
      !box.disposed &&
      node.op === 'BUFFER' &&
      node.dtype === now.dtype &&
      node.device === now.device &&
      shapeEqual(node.shape, now.shape)
    ) {
      commitVersion(box, node);
      return true;
    }
    return false;
  }
  /**
   * @internal `copy_` of a realized value from outside fusor's own computation (a collective's
   * result, @fusor/distributed), outside autograd and without registering the temporary that
   * holds `node` in the current torch.scope: disposing it there would free this tensor's new
   * contents, which are that same buffer. `map` (a view, a scaling) runs under the same rules.
   * Without one, a plain tensor (no view, no autograd history) whose dtype, shape and device the
   * node has takes it as its storage's next version directly: the same outcome as the copy, without
   * recording one (a collective's budget is microseconds).
   */
  _assignRealized(node: Node, map?: (value: Tensor) => Tensor): this {
    if (map === undefined && this._takeRealized(node)) return this;
    const scope = scopes.current;
    const grad = state.gradEnabled;
    scopes.current = null;
    state.gradEnabled = false;
    try {
      const value = Tensor._fromNode(node);
      return E.inPlace(this, E.copyFrom(this, map ? map(value) : value), 'CopyBackward0');
    } finally {
      scopes.current = scope;
      state.gradEnabled = grad;
    }
  }
  uniform_(from = 0, to = 1): this {
    return E.inPlace(this, E.uniformLike(this, from, to), 'UniformBackward0');
  }
  normal_(mean = 0, std = 1): this {
    return E.inPlace(this, E.normalLike(this, mean, std), 'NormalBackward0');
  }

  // ---------------------------------------------------------------- reductions
  sum(dim?: DimArg | ReduceOptions, keepdim?: boolean | ReduceOptions, opts?: ReduceOptions): Tensor {
    const a = parseArgs('sum', [dim, keepdim, opts], [DIM, KEEPDIM], [DTYPE]);
    return R.sum(this, dimsOf(a), a['keepdim'] === true, { dtype: a['dtype'] as DType | undefined });
  }
  mean(dim?: DimArg | ReduceOptions, keepdim?: boolean | ReduceOptions, opts?: ReduceOptions): Tensor {
    const a = parseArgs('mean', [dim, keepdim, opts], [DIM, KEEPDIM], [DTYPE]);
    const x = a['dtype'] === undefined ? this : castTo(this, parseDType(a['dtype'] as string));
    return R.mean(x, dimsOf(a), a['keepdim'] === true);
  }
  prod(dim?: number | null | ReduceOptions, keepdim?: boolean | ReduceOptions, opts?: ReduceOptions): Tensor {
    const a = parseArgs('prod', [dim, keepdim, opts], [ONE_DIM, KEEPDIM], [DTYPE]);
    const x = a['dtype'] === undefined ? this : castTo(this, parseDType(a['dtype'] as string));
    return R.prod(x, a['dim'] as number | undefined, a['keepdim'] === true);
  }
  max(): Tensor;
  max(dim: number, keepdim?: boolean | DimOptions): ValuesIndices;
  max(opts: DimOptions & { dim: number }): ValuesIndices;
  max(other: Tensor): Tensor;
  max(dim?: number | Tensor | DimOptions, keepdim?: boolean | DimOptions): Tensor | ValuesIndices {
    if (dim instanceof Tensor) return this.maximum(dim);
    const a = parseArgs('max', [dim, keepdim], [ONE_DIM, KEEPDIM]);
    return a['dim'] === undefined ? R.maxAll(this) : R.maxDim(this, a['dim'] as number, a['keepdim'] === true);
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean | DimOptions): ValuesIndices;
  min(opts: DimOptions & { dim: number }): ValuesIndices;
  min(other: Tensor): Tensor;
  min(dim?: number | Tensor | DimOptions, keepdim?: boolean | DimOptions): Tensor | ValuesIndices {
    if (dim instanceof Tensor) return this.minimum(dim);
    const a = parseArgs('min', [dim, keepdim], [ONE_DIM, KEEPDIM]);
    return a['dim'] === undefined ? R.minAll(this) : R.minDim(this, a['dim'] as number, a['keepdim'] === true);
  }
  amax(dim?: DimArg | DimOptions, keepdim?: boolean | DimOptions): Tensor {
    const a = parseArgs('amax', [dim, keepdim], [DIM, KEEPDIM]);
    return R.amax(this, dimsOf(a) ?? [], a['keepdim'] === true);
  }
  amin(dim?: DimArg | DimOptions, keepdim?: boolean | DimOptions): Tensor {
    const a = parseArgs('amin', [dim, keepdim], [DIM, KEEPDIM]);
    return R.amin(this, dimsOf(a) ?? [], a['keepdim'] === true);
  }
  argmax(dim?: number | null | DimOptions, keepdim?: boolean | DimOptions): Tensor {
    const a = parseArgs('argmax', [dim, keepdim], [ONE_DIM, KEEPDIM]);
    return R.argmax(this, a['dim'] as number | undefined, a['keepdim'] === true);
  }
  argmin(dim?: number | null | DimOptions, keepdim?: boolean | DimOptions): Tensor {
    const a = parseArgs('argmin', [dim, keepdim], [ONE_DIM, KEEPDIM]);
    return R.argmin(this, a['dim'] as number | undefined, a['keepdim'] === true);
  }
  var(dim?: DimArg | VarArgs, unbiased?: boolean | VarArgs, keepdim?: boolean | VarArgs): Tensor {
    const a = parseArgs('var', [dim, unbiased, keepdim], [DIM, UNBIASED, KEEPDIM], [CORRECTION]);
    return R.variance(this, dimsOf(a), varOf(a), a['keepdim'] === true);
  }
  std(dim?: DimArg | VarArgs, unbiased?: boolean | VarArgs, keepdim?: boolean | VarArgs): Tensor {
    const a = parseArgs('std', [dim, unbiased, keepdim], [DIM, UNBIASED, KEEPDIM], [CORRECTION]);
    return R.std(this, dimsOf(a), varOf(a), a['keepdim'] === true);
  }
  logsumexp(dim: DimArg | DimOptions, keepdim?: boolean | DimOptions): Tensor {
    const a = parseArgs('logsumexp', [dim, keepdim], [{ ...DIM, optional: false }, KEEPDIM]);
    return R.logsumexp(this, dimsOf(a)!, a['keepdim'] === true);
  }
  all(dim?: number | DimOptions, keepdim?: boolean | DimOptions): Tensor {
    const a = parseArgs('all', [dim, keepdim], [ONE_DIM, KEEPDIM]);
    return R.all(this, a['dim'] as number | undefined, a['keepdim'] === true);
  }
  any(dim?: number | DimOptions, keepdim?: boolean | DimOptions): Tensor {
    const a = parseArgs('any', [dim, keepdim], [ONE_DIM, KEEPDIM]);
    return R.any(this, a['dim'] as number | undefined, a['keepdim'] === true);
  }
  softmax(dim: number | { dim: number; dtype?: DType | string }, opts?: { dtype?: DType | string }): Tensor {
    const a = parseArgs('softmax', [dim, opts], [{ name: 'dim', kind: 'int', optional: false }], [DTYPE]);
    const x = a['dtype'] === undefined ? this : castTo(this, parseDType(a['dtype'] as string));
    return L.softmax(x, a['dim'] as number);
  }
  logSoftmax(dim: number | { dim: number; dtype?: DType | string }, opts?: { dtype?: DType | string }): Tensor {
    const a = parseArgs('log_softmax', [dim, opts], [{ name: 'dim', kind: 'int', optional: false }], [DTYPE]);
    const x = a['dtype'] === undefined ? this : castTo(this, parseDType(a['dtype'] as string));
    return L.logSoftmax(x, a['dim'] as number);
  }

  // ---------------------------------------------------------------- shape
  reshape(...shape: number[] | [readonly number[]]): Tensor {
    return V.reshape(this, V.sizesArg(shape), 'ViewBackward0');
  }
  view(...shape: number[] | [readonly number[]]): Tensor {
    return V.reshape(this, V.sizesArg(shape), 'ViewBackward0', true);
  }
  viewAs(other: Tensor): Tensor {
    return V.reshape(this, other.shape, 'ViewBackward0', true);
  }
  reshapeAs(other: Tensor): Tensor {
    return V.reshape(this, other.shape, 'ViewBackward0');
  }
  permute(...dims: number[] | [readonly number[]]): Tensor {
    return V.permute(this, V.sizesArg(dims));
  }
  transpose(dim0: number, dim1: number): Tensor {
    return V.transpose(this, dim0, dim1);
  }
  swapaxes(dim0: number, dim1: number): Tensor {
    return V.transpose(this, dim0, dim1);
  }
  t(): Tensor {
    return V.t(this);
  }
  get T(): Tensor {
    return V.permute(this, this.shape.map((_, i) => this.ndim - 1 - i));
  }
  /** The `offset`-th diagonal of the (dim1, dim2) planes as a last dim: a view, as in PyTorch. */
  diagonal(offset = 0, dim1 = 0, dim2 = 1): Tensor {
    return V.diagonal(this, offset, dim1, dim2);
  }
  get mT(): Tensor {
    return V.transpose(this, -2, -1);
  }
  squeeze(dim?: number): Tensor {
    return V.squeeze(this, dim);
  }
  unsqueeze(dim: number): Tensor {
    return V.unsqueeze(this, dim);
  }
  expand(...sizes: number[] | [readonly number[]]): Tensor {
    return V.expand(this, V.sizesArg(sizes));
  }
  expandAs(other: Tensor): Tensor {
    return V.expand(this, other.shape);
  }
  broadcastTo(...sizes: number[] | [readonly number[]]): Tensor {
    return V.expand(this, V.sizesArg(sizes));
  }
  repeat(...sizes: number[] | [readonly number[]]): Tensor {
    return V.repeat(this, V.sizesArg(sizes));
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return V.flatten(this, startDim, endDim);
  }
  flip(...dims: number[] | [readonly number[]]): Tensor {
    return V.flip(this, V.sizesArg(dims));
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return V.narrow(this, dim, start, length);
  }
  select(dim: number, index: number): Tensor {
    return V.select(this, dim, index);
  }
  /** Python-style indexing: numbers select, ':' / '1:3' / '::2' slice, null adds a dim, '...' fills. */
  index(...specs: IndexSpec[]): Tensor {
    return I.index(this, specs);
  }
  /** `index` where boolean masks are read asynchronously (any backend). */
  indexAsync(...specs: IndexSpec[]): Promise<Tensor> {
    return I.indexAsync(this, specs);
  }
  /** `x[specs] = value` in place: `x.set([':', 0], 5)`, `x.set([idx], values)` (broadcasting). */
  set(specs: readonly IndexSpec[], value: number | boolean | Tensor): this {
    return I.set(this, specs, value);
  }
  split(splitSize: number | readonly number[], dim = 0): Tensor[] {
    return V.split(this, splitSize, dim);
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return V.chunk(this, chunks, dim);
  }
  unbind(dim = 0): Tensor[] {
    return V.unbind(this, dim);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return I.indexSelect(this, dim, index);
  }
  gather(dim: number, index: Tensor): Tensor {
    return I.gather(this, dim, index);
  }
  take(index: Tensor): Tensor {
    return I.take(this, index);
  }
  indexPut(indices: readonly Tensor[], values: Tensor | number, accumulate = false): Tensor {
    return I.indexPut(this, indices, values, accumulate);
  }
  indexPut_(indices: readonly Tensor[], values: Tensor | number, accumulate = false): this {
    return I.indexPut_(this, indices, values, accumulate);
  }
  scatter(dim: number, index: Tensor, src: Tensor | number, opts?: ScatterOptions): Tensor {
    return I.scatter(this, dim, index, src, opts);
  }
  scatter_(dim: number, index: Tensor, src: Tensor | number, opts?: ScatterOptions): this {
    return I.scatter_(this, dim, index, src, opts);
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return I.scatterAdd(this, dim, index, src);
  }
  scatterAdd_(dim: number, index: Tensor, src: Tensor): this {
    return I.scatterAdd_(this, dim, index, src);
  }
  indexAdd(dim: number, index: Tensor, source: Tensor, opts?: { alpha?: number }): Tensor {
    return I.indexAdd(this, dim, index, source, opts);
  }
  indexAdd_(dim: number, index: Tensor, source: Tensor, opts?: { alpha?: number }): this {
    return I.indexAdd_(this, dim, index, source, opts);
  }
  indexCopy(dim: number, index: Tensor, source: Tensor): Tensor {
    return I.indexCopy(this, dim, index, source);
  }
  indexCopy_(dim: number, index: Tensor, source: Tensor): this {
    return I.indexCopy_(this, dim, index, source);
  }
  maskedFill(mask: Tensor, value: number | boolean | Tensor): Tensor {
    return I.maskedFill(this, mask, value);
  }
  maskedFill_(mask: Tensor, value: number | boolean | Tensor): this {
    return I.maskedFill_(this, mask, value);
  }
  /** Positions of the non-zero elements, [count, ndim] int64 (sync: cpu; elsewhere `nonzeroAsync`). */
  nonzero(): Tensor {
    return I.nonzero(this);
  }
  nonzeroAsync(): Promise<Tensor> {
    return I.nonzeroAsync(this);
  }
  cumsum(dim: number, opts?: { dtype?: DType | string }): Tensor {
    return Scan.cumsum(this, dim, opts);
  }
  cumprod(dim: number, opts?: { dtype?: DType | string }): Tensor {
    return Scan.cumprod(this, dim, opts);
  }
  cummax(dim: number): ValuesIndices {
    return Scan.cummax(this, dim);
  }
  cummin(dim: number): ValuesIndices {
    return Scan.cummin(this, dim);
  }
  logcumsumexp(dim: number): Tensor {
    return Scan.logcumsumexp(this, dim);
  }
  /** Stable sort along `dim` (NaN as the largest value): values and their original positions. */
  sort(dim?: number | SortOptions, descending?: boolean | SortOptions, opts?: SortOptions): ValuesIndices {
    return Srt.sort(this, dim, descending, opts);
  }
  argsort(dim?: number | SortOptions, descending?: boolean | SortOptions, opts?: SortOptions): Tensor {
    return Srt.argsort(this, dim, descending, opts);
  }
  topk(k: number, dim?: number | TopkOptions, largest?: boolean | TopkOptions, sorted?: boolean | TopkOptions, opts?: TopkOptions): ValuesIndices {
    return Srt.topk(this, k, dim, largest, sorted, opts);
  }
  kthvalue(k: number, dim = -1, keepdim = false): ValuesIndices {
    return Srt.kthvalue(this, k, dim, keepdim);
  }
  msort(): Tensor {
    return Srt.msort(this);
  }
  median(): Tensor;
  median(dim: number, keepdim?: boolean): ValuesIndices;
  median(dim?: number, keepdim?: boolean): Tensor | ValuesIndices {
    return dim === undefined ? Srt.median(this) : Srt.median(this, dim, keepdim);
  }
  nanmedian(): Tensor;
  nanmedian(dim: number, keepdim?: boolean): ValuesIndices;
  nanmedian(dim?: number, keepdim?: boolean): Tensor | ValuesIndices {
    return dim === undefined ? Srt.nanmedian(this) : Srt.nanmedian(this, dim, keepdim);
  }
  unfold(dimension: number, size: number, step: number): Tensor {
    return P.unfoldDim(this, dimension, size, step);
  }
  erf(): Tensor {
    return A.erf(this);
  }

  // ---------------------------------------------------------------- linear algebra
  matmul(other: Tensor): Tensor {
    return L.matmul(this, other);
  }
  mm(other: Tensor): Tensor {
    return L.mm(this, other);
  }
  bmm(other: Tensor): Tensor {
    return L.bmm(this, other);
  }
  mv(vec: Tensor): Tensor {
    return L.mv(this, vec);
  }
  dot(other: Tensor): Tensor {
    return L.dot(this, other);
  }
}

/** A dim, a list of dims, or null/undefined for all of them. */
export type DimArg = number | readonly number[] | null;
/** keepdim and dim, named (PyTorch's keyword form: `x.sum(1, { keepdim: true })`). */
export interface DimOptions {
  readonly dim?: DimArg;
  readonly keepdim?: boolean;
}
export interface ReduceOptions extends DimOptions {
  readonly dtype?: DType | string;
}
export interface VarArgs extends DimOptions {
  readonly unbiased?: boolean;
  readonly correction?: number;
}
export interface ClampOptions {
  readonly min?: TensorLike | null;
  readonly max?: TensorLike | null;
}

const DIM: Param = { name: 'dim', kind: 'dims' };
const ONE_DIM: Param = { name: 'dim', kind: 'int' };
const KEEPDIM: Param = { name: 'keepdim', kind: 'bool' };
const DTYPE: Param = { name: 'dtype', kind: 'dtype' };
const UNBIASED: Param = { name: 'unbiased', kind: 'bool' };
const CORRECTION: Param = { name: 'correction', kind: 'number' };
const CLAMP: readonly Param[] = [
  { name: 'min', kind: 'tensorOrNumber' },
  { name: 'max', kind: 'tensorOrNumber' },
];

/** The dims a reduction names; an empty list reduces every dim, as in PyTorch 1.13. */
function dimsOf(a: Record<string, unknown>): number | readonly number[] | undefined {
  const d = a['dim'] as number | readonly number[] | null | undefined;
  if (d === null || d === undefined) return undefined;
  if (Array.isArray(d) && d.length === 0) return undefined;
  return d as number | readonly number[];
}

function varOf(a: Record<string, unknown>): boolean | VarOptions {
  if (a['correction'] !== undefined) {
    if (a['unbiased'] !== undefined) throw new TypeError("var(): cannot specify both 'unbiased' and 'correction'");
    return { correction: a['correction'] as number };
  }
  return a['unbiased'] === undefined ? true : (a['unbiased'] as boolean);
}

/** `x.data`: a storage-sharing tensor that can also be called to read the contents. */
export type DataProperty = Tensor & (() => Promise<HostArray>);

export type NestedList = number | boolean | NestedList[];

/** 16-bit floats arrive as bit patterns; users get their values (as float32, which holds them exactly). */
function decodeHost(data: HostArray, dtype: DType, copy = false): HostArray {
  // the runtime keeps `data` as the tensor's host copy: the caller gets its own array
  if (dtype !== 'float16' && dtype !== 'bfloat16') return copy ? (data.slice() as HostArray) : data;
  const decode = dtype === 'float16' ? float16FromBits : bfloat16FromBits;
  return Float32Array.from(data as Uint16Array, decode);
}

function checkItem(t: Tensor): void {
  if (t.numel() !== 1) {
    throw new RangeError(`only one element tensors can be converted to scalars (this one has ${t.numel()} elements)`);
  }
}

function scalarOf(data: HostArray, dtype: DType): number | boolean {
  const v = data[0]!;
  if (dtype === 'bool') return v !== 0;
  return typeof v === 'bigint' ? Number(v) : v;
}

function toNested(data: HostArray, shape: readonly number[], dtype: DType): NestedList {
  const conv = (v: number | bigint): number | boolean => (dtype === 'bool' ? v !== 0 : typeof v === 'bigint' ? Number(v) : v);
  if (shape.length === 0) return conv(data[0]!);
  const build = (dim: number, offset: number): NestedList[] => {
    const n = shape[dim]!;
    const inner = prod(shape.slice(dim + 1));
    const out: NestedList[] = [];
    for (let i = 0; i < n; i++) out.push(dim === shape.length - 1 ? conv(data[offset + i]!) : build(dim + 1, offset + i * inner));
    return out;
  };
  return build(0, 0);
}

/**
 * An options object as a function reads it: a plain object whose keys the function knows.
 * Anything else raises, so no argument is ever silently misread.
 */
export function checkOptions<O extends object>(fn: string, opts: O, known: readonly string[]): O {
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts) || opts instanceof Tensor) {
    throw new TypeError(`${fn}(): expected an options object, got ${describe(opts)}`);
  }
  for (const k of Object.keys(opts)) {
    if (!known.includes(k)) throw new TypeError(`${fn}() got an unexpected keyword argument '${k}' (known: ${known.join(', ')})`);
  }
  return opts;
}

/** How an argument reads in an error message. */
export function describe(v: unknown): string {
  if (v instanceof Tensor) return `Tensor(shape=[${v.shape.join(', ')}], dtype=${v.dtype})`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/**
 * What each backward function saves, as PyTorch's derivatives.yaml has it: nothing (sums,
 * views, add), its output (exp, sigmoid…), or its inputs — for products, each input only when
 * the other one needs a gradient. Unlisted functions save all their inputs.
 */
type Saves = 'none' | 'result' | 'inputs' | 'cross';
const SAVES: Readonly<Record<string, Saves>> = {
  AddBackward0: 'none',
  SubBackward0: 'none',
  RsubBackward1: 'none',
  NegBackward0: 'none',
  CloneBackward0: 'none',
  CopyBackward0: 'none',
  SumBackward0: 'none',
  SumBackward1: 'none',
  MeanBackward0: 'none',
  MeanBackward1: 'none',
  ToCopyBackward0: 'none',
  CatBackward0: 'none',
  StackBackward0: 'none',
  FillBackward0: 'none',
  ZeroBackward0: 'none',
  MulBackward0: 'cross',
  MmBackward0: 'cross',
  BmmBackward0: 'cross',
  MvBackward0: 'cross',
  DotBackward0: 'cross',
  SigmoidBackward0: 'result',
  TanhBackward0: 'result',
  ExpBackward0: 'result',
  Exp2Backward0: 'result',
  SqrtBackward0: 'result',
  RsqrtBackward0: 'result',
  ReluBackward0: 'result',
  SoftmaxBackward0: 'result',
  LogSoftmaxBackward0: 'result',
  EluBackward0: 'result',
};

function savedOf(name: string, inputs: readonly Tensor[], out: Tensor, savesTensors: boolean): Saved[] {
  const saves = savesTensors ? (SAVES[name] ?? 'inputs') : 'none';
  const save = (t: Tensor, slot: number): Saved => ({ tensor: t, box: t._box, version: t._box.version, slot });
  switch (saves) {
    case 'none':
      return [];
    case 'result':
      return [save(out, -1)];
    case 'inputs':
      return inputs.map(save);
    case 'cross':
      if (inputs.length !== 2) return [];
      // in argument order: PyTorch's backward unpacks (and checks) them so
      return [...(inputs[1]!.requiresGrad ? [save(inputs[0]!, 0)] : []), ...(inputs[0]!.requiresGrad ? [save(inputs[1]!, 1)] : [])];
  }
}

/** Wraps an op's result node, recording autograd history when any input requires grad. */
export function record(name: string, node: Node, inputs: readonly Tensor[], savesTensors = true): Tensor {
  let needs = false;
  for (const i of inputs) if (i.requiresGrad) needs = true;
  if (!needs) return Tensor._fromNode(node);
  if (!isGradEnabled()) return Tensor._fromNode(detachNode(node));
  const t = Tensor._fromNode(node);
  const edges = inputs.filter((i) => i.requiresGrad).map(edgeOf);
  t.requiresGrad = true;
  const fn = new GradFn(name, edges, savesTensors, node);
  fn.saved = savedOf(name, inputs, t, savesTensors);
  t._gradFn = fn;
  t._box.fn = fn;
  return t;
}

/**
 * Wraps a view's result node: a view of `x`'s storage when the node is movement ops over it (it
 * then shares x's storage, PyTorch style), else a tensor of its own.
 */
export function recordView(name: string, node: Node, x: Tensor, strides: readonly number[] | null, offset: number): Tensor {
  const v = Tensor._view(x, node, strides, offset);
  if (!v) return record(name, node, [x], false);
  // (a detached alias that requires grad is a leaf of its own: PyTorch's x.detach().requires_grad_())
  if (x.requiresGrad) {
    if (isGradEnabled()) {
      v.requiresGrad = true;
      v._gradFn = new GradFn(name, [edgeOf(x)], false, node);
    } else {
      // a view made under noGrad shares storage but carries no history
      v._detached = true;
      v._base = null;
      v._cache = null;
    }
  }
  return v;
}

const MOVEMENT = new Set(['RESHAPE', 'PERMUTE', 'EXPAND', 'PAD', 'SHRINK']);

/**
 * The movement ops from `root` up to `node` (root first), or null where `node` is not movement
 * ops over `root`. reshapeNode folds a reshape of a reshape into one, so a chain built over a
 * `root` that is itself a RESHAPE may skip it and start at the root's source: its first step is
 * then a reshape (replayed over `root`, it reads the same elements), or none when the fold gave
 * back the source itself (a reshape to the source's shape stands in for it).
 */
function chainTo(node: Node, root: Node): Node[] | null {
  const steps: Node[] = [];
  let n = node;
  while (n !== root) {
    if (root.op === 'RESHAPE' && n === root.src[0]) {
      const first = steps[steps.length - 1];
      if (first?.op !== 'RESHAPE') steps.push(reshapeTemplate(root, n.shape));
      break;
    }
    if (n.op === 'DETACH') {
      n = n.src[0]!;
      continue;
    }
    if (!MOVEMENT.has(n.op)) return null;
    steps.push(n);
    n = n.src[0]!;
  }
  return steps.reverse();
}

/** A RESHAPE step to `shape` (only its op, shape and arg matter: a view replays it over its storage's node). */
function reshapeTemplate(like: Node, shape: readonly number[]): Node {
  return reshapeNode(constNode(0, like.dtype, like.shape, like.device), shape);
}

export const contiguousStrides = (shape: readonly number[]): number[] => {
  const st = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= Math.max(shape[i]!, 1);
  }
  return st;
};

const DISPOSED = 'this tensor was disposed (dispose(), a `using` declaration or torch.scope ended): its memory is freed and it can no longer be used';

/** Using a tensor after dispose(). */
export class DisposedError extends Error {
  override name = 'DisposedError';
  constructor(why: string = DISPOSED) {
    super(why);
  }
}

/** Tensors made while a scope runs, and the storages made with them (see torch.scope). */
export interface ScopeRecord {
  readonly tensors: Tensor[];
  readonly boxes: Set<Box>;
}
export const scopes: { current: ScopeRecord | null } = { current: null };
