/**
 * Indexed loads and stores: gather, indexSelect, take, advanced indexing `x.index(...)`, and the
 * writes (scatter, scatterAdd, indexAdd, indexCopy, indexPut_, `x.set(specs, value)`,
 * maskedFill), plus nonzero and oneHot. Loads are the IR's GATHER (a load at a computed index,
 * O(1) per element, fused into the consumer); writes are its SCATTER (one thread per fiber, in
 * index order, so sums over repeated indices are deterministic). Every index is bounds-checked
 * with PyTorch's message (see index-checks.ts for when the check runs).
 */
import {
  arangeNode,
  binaryNode,
  broadcastShapes,
  broadcastTo,
  castNode,
  constNode,
  copyNode,
  formatShape,
  gatherNode,
  permuteNode,
  reshapeNode,
  scatterNode,
  ShapeError,
  whereNode,
  type Node,
  type ScatterReduce,
} from '@fusor/ir';
import { getBackend } from '@fusor/runtime';
import { record, Tensor } from './tensor.js';
import { normDim, parseSlice, select, sliceDim, unsqueeze } from './views.js';
import { checkIndices, IndexError } from './index-checks.js';
import { isGradEnabled } from './state.js';
import { copyFrom, denseLayout, inPlace } from './elementwise.js';
import { tensor } from './creation.js';

export { IndexError } from './index-checks.js';

/** One entry of `x.index(...)`: a number selects, a slice string ('1:3', ':', '::2') slices, null inserts a dim, '...' fills, an integer tensor gathers (several pair up element-wise), a bool tensor masks. */
export type IndexSpec = number | string | null | Tensor;

const isIndexDtype = (t: Tensor): boolean => t.dtype === 'int64' || t.dtype === 'int32';

/** gather and scatter take int64 only; index_select, index_add, take… also int32, as in PyTorch. */
function checkIndexDtype(index: Tensor, fn: string): void {
  const longOnly = fn === 'gather' || fn === 'scatter' || fn === 'scatter_add';
  if (longOnly ? index.dtype !== 'int64' : !isIndexDtype(index)) throw new TypeError(`${fn === 'scatter_add' ? 'scatter' : fn}(): Expected dtype int64 for index`);
}

/** The index on x's device (PyTorch accepts cpu indices for device tensors). */
const onDevice = (index: Tensor, device: string): Node => copyNode(index.node, device);

/** Negative indices count from the end (Python style); the check before has ruled out < -size. */
function wrapNegative(idx: Node, size: number): Node {
  const zero = constNode(0, idx.dtype, idx.shape, idx.device);
  return whereNode(binaryNode('CMPLT', idx, zero), binaryNode('ADD', idx, constNode(size, idx.dtype, idx.shape, idx.device)), idx);
}

const outOfBounds = (dim: number, size: number, Err: new (m: string) => Error = RangeError) => (v: number): Error =>
  new Err(`index ${v} is out of bounds for dimension ${dim} with size ${size}`);

// ------------------------------------------------------------------------------------ loads

export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  checkIndexDtype(index, 'gather');
  if (index.ndim !== x.ndim && !(Math.max(index.ndim, 1) === 1 && Math.max(x.ndim, 1) === 1)) {
    throw new ShapeError('Index tensor must have the same number of dimensions as input tensor');
  }
  const d = normDim(dim, Math.max(x.ndim, 1));
  for (let i = 0; i < x.ndim; i++) {
    if (i !== d && index.shape[i]! > x.shape[i]!) {
      throw new ShapeError(
        `Size does not match at dimension ${i} expected index [${index.shape.join(', ')}] to be smaller than self [${x.shape.join(', ')}] apart for dimension ${d}`,
      );
    }
  }
  const xn = x.ndim === 0 ? reshapeNode(x.node, [1]) : x.node;
  const idx = onDevice(index, x.device);
  const inode = index.ndim === 0 ? reshapeNode(idx, [1]) : idx;
  const size = xn.shape[d]!;
  checkIndices(inode, 0, size, outOfBounds(d, size));
  return record('GatherBackward0', reshapeNode(gatherNode(xn, inode, d), index.shape), [x], false);
}

export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  checkIndexDtype(index, 'index_select');
  if (index.ndim > 1) throw new ShapeError('index_select(): Index is supposed to be a vector');
  const d = normDim(dim, Math.max(x.ndim, 1));
  const xn = x.ndim === 0 ? reshapeNode(x.node, [1]) : x.node;
  const k = index.numel();
  const flat = reshapeNode(onDevice(index, x.device), [k]);
  checkIndices(flat, 0, xn.shape[d]!, () => new IndexError('index out of range in self'));
  const outShape = xn.shape.map((s, i) => (i === d ? k : s));
  const idx = broadcastTo(reshapeNode(flat, xn.shape.map((_, i) => (i === d ? k : 1))), outShape);
  let out = gatherNode(xn, idx, d);
  if (x.ndim === 0) out = reshapeNode(out, index.ndim === 0 ? [] : [k]);
  return record('IndexSelectBackward0', out, [x], false);
}

/** torch.take: x read as 1-D; negative indices count from the end. */
export function take(x: Tensor, index: Tensor): Tensor {
  checkIndexDtype(index, 'take');
  const n = x.numel();
  const flat = reshapeNode(onDevice(index, x.device), [index.numel()]);
  checkIndices(flat, -n, n, (v) => new IndexError(`out of range: tried to access index ${v} on a tensor of ${n} elements.`));
  const out = gatherNode(reshapeNode(x.node, [n]), wrapNegative(flat, n), 0);
  return record('TakeBackward0', reshapeNode(out, index.shape), [x], false);
}

// ------------------------------------------------------------------------------------ x.index(...)

interface Advanced {
  /** Dim of the basic-indexed view the index tensor applies to. */
  readonly dim: number;
  readonly index: Node;
}

/** Host positions of the true elements of a mask, one index vector per dim (sync: cpu). */
function maskPositions(mask: Tensor, data: ArrayLike<number | bigint | boolean>): Tensor[] {
  const cols: number[][] = mask.shape.map(() => []);
  const strides = mask.shape.map((_, i) => mask.shape.slice(i + 1).reduce((a, b) => a * b, 1));
  for (let f = 0; f < data.length; f++) {
    if (!data[f]) continue;
    strides.forEach((s, i) => cols[i]!.push(Math.floor(f / s) % mask.shape[i]!));
  }
  return cols.map((c) => Tensor._fromNode(uploadLong(c, mask.device)));
}

function uploadLong(values: readonly number[], device: string): Node {
  return tensor(values, { dtype: 'int64', device }).node;
}

/** Reads a mask synchronously where the backend allows, else names the async form. */
function readMaskSync(mask: Tensor, fn: string): ArrayLike<number | bigint | boolean> {
  if (!getBackend(mask.device).readSync) {
    throw new Error(`${fn} with a boolean mask has a data-dependent shape: ${mask.device} tensors need the async form, await x.${fn === 'index' ? 'indexAsync' : `${fn}Async`}(...)`);
  }
  return mask.dataSync() as ArrayLike<number | bigint | boolean>;
}

/**
 * Applies the basic parts of an index (numbers, slices, null, '...') as views, left to right,
 * and collects the tensor parts with the view dim each applies to (a mask becomes one index
 * tensor per dim it covers, from `maskData`).
 */
function basicIndex(
  x: Tensor,
  specs: readonly IndexSpec[],
  maskData: (m: Tensor) => ArrayLike<number | bigint | boolean>,
  write = false,
): { view: Tensor; adv: Advanced[]; positions: number[] } {
  const consumes = (s: IndexSpec): number => (s === null || s === '...' ? 0 : s instanceof Tensor && s.dtype === 'bool' ? Math.max(s.ndim, 1) : 1);
  const used = specs.reduce<number>((a, s) => a + consumes(s), 0);
  if (used > x.ndim) throw new IndexError(`too many indices for tensor of dimension ${x.ndim}`);
  if (specs.filter((s) => s === '...').length > 1) throw new IndexError('an index can only have a single ellipsis');
  // PyTorch's setitem takes no view for '...' nor for a slice written out as the whole dim
  // (`0:n`, step 1): the write then goes to the tensor itself (FillBackward, not CopySlices)
  const expanded: (IndexSpec | typeof WHOLE)[] = [];
  for (const s of specs) {
    if (s === '...') for (let i = 0; i < x.ndim - used; i++) expanded.push(write ? WHOLE : ':');
    else expanded.push(s);
  }
  let out = x;
  let dim = 0;
  const adv: Advanced[] = [];
  // which tensor of the index each advanced entry came from, for error messages
  const positions: number[] = [];
  for (const s of expanded) {
    if (s === WHOLE) {
      dim++;
    } else if (s === null) {
      out = unsqueeze(out, dim);
      dim++;
    } else if (typeof s === 'number') {
      if (!Number.isInteger(s)) throw new TypeError(`index must be an integer, got ${s}`);
      out = select(out, dim, s);
    } else if (typeof s === 'string') {
      const [a, b, step] = parseSlice(s);
      if (!(write && (a ?? 0) === 0 && b === out.shape[dim] && step === 1)) out = sliceDim(out, dim, a, b, step);
      dim++;
    } else if (s instanceof Tensor) {
      if (s.dtype === 'bool' || s.dtype === 'uint8') {
        const m = s.ndim === 0 ? s.reshape(1) : s;
        m.shape.forEach((d, j) => {
          if (d !== out.shape[dim + j]) {
            throw new IndexError(`The shape of the mask [${m.shape.join(', ')}] at index ${j} does not match the shape of the indexed tensor [${out.shape.join(', ')}] at index ${dim + j}`);
          }
        });
        for (const p of maskPositions(m, maskData(m))) {
          adv.push({ dim, index: copyNode(p.node, x.device) });
          positions.push(adv.length - 1);
          dim++;
        }
      } else {
        if (!isIndexDtype(s)) throw new IndexError('tensors used as indices must be long, int, byte or bool tensors');
        adv.push({ dim, index: onDevice(s, x.device) });
        positions.push(adv.length - 1);
        dim++;
      }
    } else {
      throw new TypeError(`index entries must be numbers, slice strings, null, '...' or tensors, got ${typeof s}`);
    }
  }
  return { view: out, adv, positions };
}

/** A dim that setitem leaves as it is (see basicIndex). */
const WHOLE = Symbol('whole dim');

/**
 * NumPy/PyTorch advanced indexing on a view: the index tensors broadcast together and pair up
 * element-wise; their result dims replace the indexed dims in place when those are adjacent,
 * else go first. The indexed dims are merged into one and read with a single GATHER of the
 * combined (row-major) position.
 */
function advancedIndex(y: Tensor, adv: readonly Advanced[]): Tensor {
  let shape: number[];
  try {
    shape = adv.reduce<number[]>((s, a) => broadcastShapes(s, a.index.shape), []);
  } catch {
    throw new IndexError(`shape mismatch: indexing tensors could not be broadcast together with shapes ${adv.map((a) => formatShape(a.index.shape)).join(', ')}`);
  }
  const dims = adv.map((a) => a.dim);
  const adjacent = dims.every((d, i) => i === 0 || d === dims[i - 1]! + 1);
  let base = y.node;
  let order = dims;
  if (!adjacent) {
    const rest = y.shape.map((_, i) => i).filter((i) => !dims.includes(i));
    base = permuteNode(base, [...dims, ...rest]);
    order = dims.map((_, i) => i);
  }
  const d0 = order[0]!;
  const m = adv.length;
  const sizes = adv.map((a) => y.shape[a.dim]!);
  // the combined position, row-major over the indexed dims
  let lin: Node | undefined;
  let stride = 1;
  for (let j = m - 1; j >= 0; j--) {
    const a = adv[j]!;
    checkIndices(a.index, -sizes[j]!, sizes[j]!, outOfBounds(j, sizes[j]!, IndexError));
    const w = broadcastTo(castNode(wrapNegative(a.index, sizes[j]!), 'int64'), shape);
    const term = stride === 1 ? w : binaryNode('MUL', w, constNode(stride, 'int64', shape, w.device));
    lin = lin ? binaryNode('ADD', lin, term) : term;
    stride *= sizes[j]!;
  }
  const pre = base.shape.slice(0, d0);
  const post = base.shape.slice(d0 + m);
  const merged = reshapeNode(base, [...pre, stride, ...post]);
  const nB = shape.reduce((a, b) => a * b, 1);
  const idx = broadcastTo(reshapeNode(lin!, [...pre.map(() => 1), nB, ...post.map(() => 1)]), [...pre, nB, ...post]);
  const out = reshapeNode(gatherNode(merged, idx, d0), [...pre, ...shape, ...post]);
  return record('IndexBackward0', out, [y], false);
}

export function index(x: Tensor, specs: readonly IndexSpec[]): Tensor {
  const { view, adv } = basicIndex(x, specs, (m) => readMaskSync(m, 'index'));
  return adv.length ? advancedIndex(view, adv) : view;
}

/** `x.index(...)` with boolean masks on any backend: their positions are read asynchronously. */
export async function indexAsync(x: Tensor, specs: readonly IndexSpec[]): Promise<Tensor> {
  const data = new Map<Tensor, ArrayLike<number | bigint | boolean>>();
  for (const s of specs) {
    if (s instanceof Tensor && (s.dtype === 'bool' || s.dtype === 'uint8')) {
      const m = s.ndim === 0 ? s.reshape(1) : s;
      data.set(m, (await m.data()) as ArrayLike<number | bigint | boolean>);
      data.set(s, data.get(m)!);
    }
  }
  const { view, adv } = basicIndex(x, specs, (m) => data.get(m) ?? readMaskSync(m, 'index'));
  return adv.length ? advancedIndex(view, adv) : view;
}

/** torch.nonzero: [count, ndim] int64 positions of the non-zero elements, row-major (sync: cpu). */
export function nonzero(x: Tensor): Tensor {
  return nonzeroOf(x, readMaskSync(x, 'nonzero'));
}

export async function nonzeroAsync(x: Tensor): Promise<Tensor> {
  return nonzeroOf(x, (await x.data()) as ArrayLike<number | bigint | boolean>);
}

function nonzeroOf(x: Tensor, data: ArrayLike<number | bigint | boolean>): Tensor {
  const shape = x.ndim === 0 ? [] : x.shape;
  const rows: number[] = [];
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  let count = 0;
  for (let f = 0; f < data.length; f++) {
    const v = data[f]!;
    if (!(typeof v === 'bigint' ? v !== 0n : v !== 0 && v !== false)) continue;
    count++;
    strides.forEach((s, i) => rows.push(Math.floor(f / s) % shape[i]!));
  }
  return Tensor._fromNode(reshapeNode(uploadLong(rows, x.device), [count, shape.length]));
}

// ------------------------------------------------------------------------------------ stores

/**
 * PyTorch's assert_no_overlap before index_put_: the value may not share any element with the
 * tensor written (unlike elementwise ops, a full overlap is an error too). Layouts that are not
 * dense are not compared, as in PyTorch.
 */
function assertNoOverlap(self: Tensor, other: Tensor): void {
  if (self.numel() === 0 || other.numel() === 0 || self._box !== other._box) return;
  if (self !== other) {
    if (!denseLayout(self.shape, self._strides()) || !denseLayout(other.shape, other._strides())) return;
    const [a0, b0] = [self.storageOffset(), other.storageOffset()];
    if (!(a0 < b0 + other.numel() && b0 < a0 + self.numel())) return;
  }
  throw new RangeError(
    'unsupported operation: some elements of the input tensor and the written-to tensor refer to a single memory location. Please clone() the tensor before performing the operation.',
  );
}

/** PyTorch's value argument of a write: a number or a tensor broadcast to `shape` in x's dtype. */
function valueNode(x: Tensor, value: number | boolean | Tensor, shape: readonly number[]): { node: Node; inputs: Tensor[] } {
  if (value instanceof Tensor) {
    // leading size-1 dims of the value are dropped, as PyTorch's setitem does
    let vs = [...value.shape];
    while (vs.length > shape.length && vs[0] === 1) vs = vs.slice(1);
    if (vs.length > shape.length || vs.some((d, i) => d !== 1 && d !== shape[shape.length - vs.length + i])) {
      throw new RangeError(`shape mismatch: value tensor of shape ${formatShape(value.shape)} cannot be broadcast to indexing result of shape ${formatShape(shape)}`);
    }
    const v = reshapeNode(castNode(copyNode(value.node, x.device), x.dtype), vs);
    return { node: broadcastTo(v, shape), inputs: [value] };
  }
  return { node: constNode(Number(value), x.dtype, shape, x.device), inputs: [] };
}

/**
 * `x[specs] = value` (or `+=` with accumulate) as a new tensor: a SCATTER of the selected
 * positions; `written` marks them (bool, x's shape).
 */
function putAt(
  x: Tensor,
  specs: readonly IndexSpec[],
  value: number | boolean | Tensor,
  accumulate: boolean,
  maskData?: (m: Tensor) => ArrayLike<number | bigint | boolean>,
): { result: Tensor; written: Node } {
  if (value instanceof Tensor) assertNoOverlap(x, value);
  const n = x.numel();
  // the positions the index selects, computed by indexing the positions themselves
  const positions = Tensor._fromNode(reshapeNode(arangeNode(0, 1, n, 'int32', x.device), x.shape));
  const sel = (() => {
    const { view, adv } = basicIndex(positions, specs, maskData ?? ((m) => readMaskSync(m, 'index')));
    return adv.length ? advancedIndex(view, adv) : view;
  })();
  const { node: v, inputs } = valueNode(x, value, sel.shape);
  const k = sel.numel();
  const at = reshapeNode(sel.node, [k]);
  const out = scatterNode(reshapeNode(x.node, [n]), at, reshapeNode(v, [k]), 0, accumulate ? 'add' : 'none');
  const written = scatterNode(constNode(0, 'bool', [n], x.device), at, constNode(1, 'bool', [k], x.device), 0, 'none');
  return { result: record('IndexPutBackward0', reshapeNode(out, x.shape), [x, ...inputs], false), written: reshapeNode(written, x.shape) };
}

/**
 * `x[specs] = value`, in place, as PyTorch's setitem does it: the basic parts of the index
 * (numbers, slices, null) take a view, then a number fills it, a tensor is copied into it
 * (broadcast), or, with index tensors, index_put_ writes it. So the versions, grad_fns (CopySlices
 * on the base of a view) and checks (fill_ and index_put_ allow an expanded target, copy_ does
 * not) are PyTorch's: `x.set([':', 0], 5)`.
 */
export function set<T extends Tensor>(x: T, specs: readonly IndexSpec[], value: number | boolean | Tensor): T {
  const { view, adv } = basicIndex(x, specs, (m) => readMaskSync(m, 'index'), true);
  if (adv.length > 0) {
    const at = view.shape.map((_, d): IndexSpec => {
      const a = adv.find((e) => e.dim === d);
      return a ? Tensor._fromNode(a.index) : ':';
    });
    const { result, written } = putAt(view, at, value, false);
    inPlace(view, result, 'IndexPutBackward0', written);
  } else if (!(value instanceof Tensor)) {
    view.fill_(value);
  } else if (value.shape.join() !== view.shape.join() && value.ndim === 0 && value.device === 'cpu') {
    // PyTorch fills with a 0-d cpu value (fill_ accepts an expanded target), else copies
    inPlace(view, copyFrom(view, value), 'FillBackward1');
  } else {
    // leading size-1 dims of the value are dropped, then it is expanded to the target (its errors)
    let vs = [...value.shape];
    while (vs.length > view.ndim && vs[0] === 1) vs = vs.slice(1);
    view.copy_((vs.length === value.ndim ? value : value.reshape(vs)).expand(view.shape));
  }
  return x;
}

/** torch.Tensor.index_put (out of place): `indices` are index tensors for the leading dims. */
export function indexPut(x: Tensor, indices: readonly Tensor[], values: Tensor | number, accumulate = false): Tensor {
  if (indices.length > x.ndim) throw new IndexError(`too many indices for tensor of dimension ${x.ndim} (got ${indices.length})`);
  return putAt(x, indices, values, accumulate).result;
}

export function indexPut_<T extends Tensor>(x: T, indices: readonly Tensor[], values: Tensor | number, accumulate = false): T {
  if (indices.length > x.ndim) throw new IndexError(`too many indices for tensor of dimension ${x.ndim} (got ${indices.length})`);
  const { result, written } = putAt(x, indices, values, accumulate);
  return inPlace(x, result, 'IndexPutBackward0', written);
}

export interface ScatterOptions {
  reduce?: 'add' | 'multiply';
}

function checkOptions(opts: object | undefined, allowed: readonly string[], fn: string): void {
  for (const k of Object.keys(opts ?? {})) {
    if (!allowed.includes(k)) throw new TypeError(`${fn}() got an unexpected keyword argument '${k}'`);
  }
}

function scatterImpl(x: Tensor, dim: number, index: Tensor, src: Tensor | number, reduce: ScatterReduce, fn: string, name: string): Tensor {
  checkIndexDtype(index, fn);
  const d = normDim(dim, Math.max(x.ndim, 1));
  const xn = x.ndim === 0 ? reshapeNode(x.node, [1]) : x.node;
  const inode = index.ndim === 0 ? reshapeNode(onDevice(index, x.device), [1]) : onDevice(index, x.device);
  if (inode.ndim !== xn.ndim) throw new ShapeError('Index tensor must have the same number of dimensions as self tensor');
  let srcNode: Node;
  const inputs: Tensor[] = [x];
  if (src instanceof Tensor) {
    if (src.dtype !== x.dtype) throw new TypeError(`${fn}(): Expected self.dtype to be equal to src.dtype`);
    srcNode = src.ndim === 0 ? reshapeNode(copyNode(src.node, x.device), [1]) : copyNode(src.node, x.device);
    if (srcNode.ndim !== xn.ndim) throw new ShapeError('Index tensor must have the same number of dimensions as src tensor');
    inputs.push(src);
  } else {
    srcNode = constNode(src, x.dtype, inode.shape, x.device);
  }
  inode.shape.forEach((s, i) => {
    if (s > srcNode.shape[i]! || (i !== d && s > xn.shape[i]!)) {
      throw new ShapeError(
        `Expected index ${formatShape(index.shape)} to be smaller than self ${formatShape(x.shape)} apart from dimension ${d} and to be smaller size than src ${formatShape(src instanceof Tensor ? src.shape : index.shape)}`,
      );
    }
  });
  if (reduce !== 'none' && name === 'ScatterBackward0' && isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    throw new Error('derivative for aten::scatter is not implemented');
  }
  const size = xn.shape[d]!;
  checkIndices(inode, 0, size, outOfBounds(d, size));
  return record(name, reshapeNode(scatterNode(xn, inode, srcNode, d, reduce), x.shape), inputs, reduce === 'mul');
}

const reduceOf = (opts: ScatterOptions | undefined, fn: string): ScatterReduce => {
  checkOptions(opts, ['reduce'], fn);
  const r = opts?.reduce;
  if (r === undefined) return 'none';
  if (r === 'add') return 'add';
  if (r === 'multiply') return 'mul';
  throw new RangeError(`reduce argument must be either add or multiply.`);
};

export const scatter = (x: Tensor, dim: number, index: Tensor, src: Tensor | number, opts?: ScatterOptions): Tensor =>
  scatterImpl(x, dim, index, src, reduceOf(opts, 'scatter'), 'scatter', 'ScatterBackward0');

export const scatterAdd = (x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor => scatterImpl(x, dim, index, src, 'add', 'scatter_add', 'ScatterAddBackward0');

/** index_add / index_copy: rows (along `dim`) of `source` go to the positions `index` names. */
function indexWrite(x: Tensor, dim: number, index: Tensor, source: Tensor, reduce: ScatterReduce, fn: string, name: string, error: (v: number, size: number, d: number) => Error, alpha = 1): Tensor {
  checkIndexDtype(index, fn);
  if (index.ndim > 1) throw new ShapeError(`${fn}(): Index is supposed to be a vector`);
  const d = normDim(dim, Math.max(x.ndim, 1));
  const xn = x.ndim === 0 ? reshapeNode(x.node, [1]) : x.node;
  const k = index.numel();
  const sn = source.ndim === 0 ? reshapeNode(copyNode(source.node, x.device), [1]) : copyNode(source.node, x.device);
  const expect = xn.shape.map((s, i) => (i === d ? k : s));
  if (sn.shape.join() !== expect.join()) {
    throw new ShapeError(`${fn}(): Source/destination tensor must have same slice shapes. Destination slice shape: ${formatShape(x.shape.filter((_, i) => i !== d))} at dimension ${d} and source slice shape: ${formatShape(source.shape.filter((_, i) => i !== d))} at dimension 0.`);
  }
  if (source.dtype !== x.dtype) throw new TypeError(`${fn}(): self (${x.dtype}) and source (${source.dtype}) must have the same scalar type`);
  const flat = reshapeNode(onDevice(index, x.device), [k]);
  const size = xn.shape[d]!;
  checkIndices(flat, 0, size, (v) => error(v, size, d));
  const idx = broadcastTo(reshapeNode(flat, xn.shape.map((_, i) => (i === d ? k : 1))), expect);
  const src = alpha === 1 ? sn : binaryNode('MUL', sn, constNode(alpha, sn.dtype, sn.shape, sn.device));
  return record(name, reshapeNode(scatterNode(xn, idx, src, d, reduce), x.shape), [x, source], false);
}

export function indexAdd(x: Tensor, dim: number, index: Tensor, source: Tensor, opts?: { alpha?: number }): Tensor {
  checkOptions(opts, ['alpha'], 'index_add');
  return indexWrite(x, dim, index, source, 'add', 'index_add', 'IndexAddBackward0', () => new IndexError('index out of range in self'), opts?.alpha ?? 1);
}

export function indexCopy(x: Tensor, dim: number, index: Tensor, source: Tensor): Tensor {
  return indexWrite(x, dim, index, source, 'none', 'index_copy', 'IndexCopyBackward0', (v, size, d) => new IndexError(`index_copy_(): index ${v} is out of bounds for dimension ${d} with size ${size}`));
}

export function maskedFill(x: Tensor, mask: Tensor, value: number | boolean | Tensor): Tensor {
  if (mask.dtype !== 'bool') throw new TypeError(`masked_fill_ only supports boolean masks, but got mask with dtype ${mask.dtype === 'int64' ? 'long int' : mask.dtype}`);
  const shape = broadcastShapes(x.shape, mask.shape);
  if (shape.join() !== x.shape.join()) {
    throw new RangeError(`output with shape ${formatShape(x.shape)} doesn't match the broadcast shape ${formatShape(shape)}`);
  }
  if (value instanceof Tensor && value.ndim !== 0) {
    throw new RangeError(`masked_fill_ only supports a 0-dimensional value tensor, but got tensor with ${value.ndim} dimension(s).`);
  }
  const m = broadcastTo(copyNode(mask.node, x.device), x.shape);
  const { node: v, inputs } = valueNode(x, value, x.shape);
  return record('MaskedFillBackward0', whereNode(m, v, x.node), [x, ...inputs], false);
}

/** torch.nn.functional.one_hot: int64 [..., numClasses]; numClasses -1 reads the largest class (sync: cpu). */
export function oneHot(t: Tensor, numClasses = -1): Tensor {
  if (t.dtype !== 'int64') throw new TypeError('one_hot is only applicable to index tensor.');
  let c = numClasses;
  if (c === -1) {
    if (t.numel() === 0) throw new RangeError('Can not infer total number of classes from empty tensor.');
    c = Number(t.max().itemSync()) + 1;
  }
  checkIndices(t.node, 0, c, (v) => new RangeError(v < 0 ? 'Class values must be non-negative.' : 'Class values must be smaller than num_classes.'));
  const shape = [...t.shape, c];
  const cls = broadcastTo(reshapeNode(arangeNode(0, 1, c, 'int64', t.device), [...t.shape.map(() => 1), c]), shape);
  const vals = broadcastTo(reshapeNode(t.node, [...t.shape, 1]), shape);
  return Tensor._fromNode(castNode(binaryNode('CMPEQ', vals, cls), 'int64'));
}

// in-place forms

export const scatter_ = <T extends Tensor>(x: T, dim: number, index: Tensor, src: Tensor | number, opts?: ScatterOptions): T =>
  inPlace(x, scatter(x, dim, index, src, opts), 'ScatterBackward0');
export const scatterAdd_ = <T extends Tensor>(x: T, dim: number, index: Tensor, src: Tensor): T => inPlace(x, scatterAdd(x, dim, index, src), 'ScatterAddBackward0');
export const indexAdd_ = <T extends Tensor>(x: T, dim: number, index: Tensor, source: Tensor, opts?: { alpha?: number }): T =>
  inPlace(x, indexAdd(x, dim, index, source, opts), 'IndexAddBackward0');
export const indexCopy_ = <T extends Tensor>(x: T, dim: number, index: Tensor, source: Tensor): T => inPlace(x, indexCopy(x, dim, index, source), 'IndexCopyBackward0');
export const maskedFill_ = <T extends Tensor>(x: T, mask: Tensor, value: number | boolean | Tensor): T => {
  const result = maskedFill(x, mask, value);
  return inPlace(x, result, 'MaskedFillBackward0', broadcastTo(copyNode(mask.node, x.device), x.shape));
};
