/** Elementwise ops: type promotion, broadcasting and device checks, then a decomposition. */
import {
  arangeNode,
  broadcastShapes,
  broadcastTo,
  castNode,
  constNode,
  copyNode,
  detachNode,
  DTYPES,
  isFloat,
  randNode,
  resultType,
  shapeEqual,
  unaryNode,
  binaryNode,
  dataNode,
  reduceNode,
  reshapeNode,
  whereNode,
  withSources,
  type DType,
  type Node,
  type Operand,
} from '@fusor/ir';
import { realize } from '@fusor/runtime';
import { GRAD_RULES } from '@fusor/autograd';
import * as D from './decompose.js';
import { AutogradError, DeviceMismatchError } from './errors.js';
import { drawOffset, getDefaultDtype, isGradEnabled, state } from './state.js';
import { commitVersion, edgeOf, GradFn, record, Tensor, type TensorLike } from './tensor.js';

const operand = (x: TensorLike): Operand =>
  x instanceof Tensor ? { kind: 'tensor', dtype: x.dtype, dim: x.ndim } : { kind: 'scalar', value: x };

/** The device all tensor operands share; a 0-d cpu tensor may join any device, as in PyTorch. */
function commonDevice(xs: readonly TensorLike[]): string {
  const tensors = xs.filter((x): x is Tensor => x instanceof Tensor);
  const real = tensors.filter((t) => !(t.ndim === 0 && t.device === 'cpu'));
  const devices = [...new Set((real.length ? real : tensors).map((t) => t.device))];
  if (devices.length > 1) {
    throw new DeviceMismatchError(
      `Expected all tensors to be on the same device, but found at least two devices, ${devices[0]} and ${devices[1]}!`,
    );
  }
  return devices[0] ?? state.defaultDevice;
}

export interface Prepared {
  readonly nodes: Node[];
  readonly tensors: Tensor[];
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly device: string;
}

/** A tensor or scalar as a node of dtype `dtype`, broadcast to `shape` on `device`. */
function place(x: TensorLike, dtype: DType, shape: readonly number[], device: string): Node {
  if (!(x instanceof Tensor)) return constNode(Number(x), dtype, shape, device);
  return broadcastTo(copyNode(castNode(x.node, dtype), device), shape);
}

const broadcastAll = (xs: readonly TensorLike[]): number[] =>
  xs.reduce<number[]>((s, x) => (x instanceof Tensor ? broadcastShapes(s, x.shape) : s), []);

/**
 * The two commonest cases of `prepare`, without its general machinery (device sets, operand
 * records, promotion tables, broadcasting): a floating tensor with a number (its dtype wins: a
 * Python scalar never raises a float tensor's dtype), and two tensors of one dtype, shape and
 * device. What it returns is what the general path computes; null sends the rest there.
 */
function prepareTwo(a: TensorLike, b: TensorLike): Prepared | null {
  if (a instanceof Tensor) {
    const na = a.node;
    if (b instanceof Tensor) {
      const nb = b.node;
      if (na.dtype !== nb.dtype || na.device !== nb.device || !shapeEqual(na.shape, nb.shape)) return null;
      return { nodes: [na, nb], tensors: [a, b], dtype: na.dtype, shape: na.shape, device: na.device };
    }
    if (typeof b !== 'number' || (na.dtype !== 'float32' && !isFloat(na.dtype))) return null;
    return { nodes: [na, constNode(b, na.dtype, na.shape, na.device)], tensors: [a], dtype: na.dtype, shape: na.shape, device: na.device };
  }
  if (typeof a !== 'number' || !(b instanceof Tensor)) return null;
  const nb = b.node;
  if (nb.dtype !== 'float32' && !isFloat(nb.dtype)) return null;
  return { nodes: [constNode(a, nb.dtype, nb.shape, nb.device), nb], tensors: [b], dtype: nb.dtype, shape: nb.shape, device: nb.device };
}

/** Promotes, broadcasts and places operands; `dtype` overrides the promoted compute dtype. */
export function prepare(xs: readonly TensorLike[], dtype?: DType): Prepared {
  if (xs.length === 2 && dtype === undefined) {
    const p = prepareTwo(xs[0]!, xs[1]!);
    if (p) return p;
  }
  const device = commonDevice(xs);
  const dt = dtype ?? resultType(...xs.map(operand));
  const shape = broadcastAll(xs);
  const nodes = xs.map((x) => place(x, dt, shape, device));
  return { nodes, tensors: xs.filter((x): x is Tensor => x instanceof Tensor), dtype: dt, shape, device };
}

const floatOf = (d: DType): DType => (isFloat(d) ? d : getDefaultDtype());

/** A unary op computed in floating point (integers are promoted, as in PyTorch). */
export function unaryFloat(name: string, x: Tensor, f: (n: Node) => Node, saves = true): Tensor {
  const n = castNode(x.node, floatOf(x.dtype));
  return record(name, f(n), [x], saves);
}

export function binary(name: string, a: TensorLike, b: TensorLike, f: (x: Node, y: Node) => Node, opts: { dtype?: DType; saves?: boolean } = {}): Tensor {
  const p = prepare([a, b], opts.dtype);
  return record(name, f(p.nodes[0]!, p.nodes[1]!), p.tensors, opts.saves ?? true);
}

function rejectBool(what: string, ...xs: TensorLike[]): void {
  if (xs.every((x) => (x instanceof Tensor ? x.dtype === 'bool' : typeof x === 'boolean'))) {
    throw new TypeError(what);
  }
}

/** An options object of an elementwise op: known keys only, numbers where numbers go. */
function options<O extends object>(fn: string, opts: O, known: readonly string[]): O {
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts) || opts instanceof Tensor) {
    throw new TypeError(`${fn}() expected an options object, got ${opts instanceof Tensor ? 'Tensor' : typeof opts}`);
  }
  for (const k of Object.keys(opts)) if (!known.includes(k)) throw new TypeError(`${fn}() got an unexpected keyword argument '${k}'`);
  const alpha = (opts as { alpha?: unknown }).alpha;
  if (alpha !== undefined && typeof alpha !== 'number' && typeof alpha !== 'boolean') {
    throw new TypeError(`${fn}(): argument 'alpha' must be Number, not ${typeof alpha}`);
  }
  return opts;
}

export function add(a: TensorLike, b: TensorLike, opts?: { alpha?: number }): Tensor {
  const alpha = opts === undefined ? 1 : Number(options('add', opts, ['alpha']).alpha ?? 1);
  if (alpha === 1) {
    const p = prepare([a, b]);
    const f = p.dtype === 'bool' ? D.or : D.add;
    return record('AddBackward0', f(p.nodes[0]!, p.nodes[1]!), p.tensors, false);
  }
  return binary('AddBackward0', a, b, (x, y) => D.add(x, D.mul(y, D.c(alpha, y))), { saves: false });
}

export function sub(a: TensorLike, b: TensorLike, opts: { alpha?: number } = {}): Tensor {
  rejectBool(
    'Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or `logical_xor()` operator instead.',
    a,
    b,
  );
  const alpha = Number(options('sub', opts, ['alpha']).alpha ?? 1);
  return binary('SubBackward0', a, b, (x, y) => D.sub(x, alpha === 1 ? y : D.mul(y, D.c(alpha, y))), { saves: false });
}

export function mul(a: TensorLike, b: TensorLike): Tensor {
  const p = prepare([a, b]);
  const f = p.dtype === 'bool' ? D.and : D.mul;
  return record('MulBackward0', f(p.nodes[0]!, p.nodes[1]!), p.tensors);
}

export function div(a: TensorLike, b: TensorLike, opts: { roundingMode?: 'trunc' | 'floor' | null } = {}): Tensor {
  const mode = options('div', opts, ['roundingMode']).roundingMode ?? null;
  if (mode !== null && mode !== 'trunc' && mode !== 'floor') {
    throw new RangeError(`div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '${String(mode)}'`);
  }
  if (mode === null) {
    const p = prepare([a, b]);
    const q = prepare([a, b], floatOf(p.dtype));
    return record('DivBackward0', D.div(q.nodes[0]!, q.nodes[1]!), q.tensors);
  }
  const p = prepare([a, b]);
  if (isFloat(p.dtype)) {
    // a rounded quotient has zero gradient (PyTorch's); detached, so a/0 cannot turn it into 0·∞
    const q = detachNode(D.div(p.nodes[0]!, p.nodes[1]!));
    return record('DivBackward0', mode === 'trunc' ? D.trunc(q) : D.floor(q), p.tensors);
  }
  if (p.dtype === 'bool') throw new TypeError('div with rounding mode is not supported for bool tensors');
  const f = mode === 'trunc' ? (x: Node, y: Node) => binaryNode('IDIV', x, y) : D.floorDivInt;
  return record('DivBackward0', f(p.nodes[0]!, p.nodes[1]!), p.tensors);
}

/**
 * base^exponent with PyTorch's gradient for the exponent, result·ln(base): NaN for a negative
 * base (the decomposition's own slope, through |base|, would be finite), 0 where base = 0 and
 * exponent ≥ 0. The value is the decomposition's; the gradients come from `history`.
 */
function powTensor(b: Node, e: Node, needsGrad: boolean): Node {
  const value = D.powGeneral(b, e);
  if (!needsGrad) return value;
  const v = detachNode(value);
  const bd = detachNode(b);
  const ed = detachNode(e);
  const zero = D.c(0, v);
  // PyTorch's pow_backward_self and pow_backward_exponent, as constants the gradient multiplies
  const kBase = D.where(D.eq(ed, D.c(0, ed)), zero, D.mul(ed, D.powGeneral(bd, D.sub(ed, D.c(1, ed)))));
  const lnB = D.mul(unaryNode('LOG2', bd), D.c(Math.LN2, bd));
  const kExp = D.where(D.and(D.eq(bd, D.c(0, bd)), D.not(D.lt(ed, D.c(0, ed)))), zero, D.mul(v, lnB));
  const history = D.add(D.mul(D.sub(b, bd), kBase), D.mul(D.sub(e, ed), kExp));
  return dataNode(value, history);
}

export function pow(x: TensorLike, exponent: TensorLike): Tensor {
  if (!(x instanceof Tensor)) {
    // scalar base, tensor exponent
    const e = exponent as Tensor;
    const p = prepare([x, e], floatOf(resultType(operand(x), operand(e))));
    return record('PowBackward1', powTensor(p.nodes[0]!, p.nodes[1]!, e.requiresGrad), p.tensors);
  }
  if (exponent instanceof Tensor) {
    const dt = resultType(operand(x), operand(exponent));
    if (!isFloat(dt)) {
      const p = prepare([x, exponent], 'float64');
      const r = D.round(D.powGeneral(p.nodes[0]!, p.nodes[1]!));
      return record('PowBackward1', castNode(r, dt), p.tensors);
    }
    const p = prepare([x, exponent], dt);
    return record('PowBackward1', powTensor(p.nodes[0]!, p.nodes[1]!, x.requiresGrad || exponent.requiresGrad), p.tensors);
  }
  const e = Number(exponent);
  const dt = resultType(operand(x), operand(e));
  const n = castNode(x.node, dt);
  if (!isFloat(dt)) {
    if (e < 0) throw new RangeError('Integers to negative integer powers are not allowed.');
    return record('PowBackward0', D.powInt(n, e), [x]);
  }
  let out: Node;
  if (e === 0.5) out = D.sqrt(n);
  else if (e === -0.5) out = D.recip(D.sqrt(n));
  // x^−k as (1/x)^k: at x = ±0 its gradient is ∓∞ like PyTorch's, where 1/(x^k) gives ∞·0
  else if (Number.isInteger(e) && Math.abs(e) <= 64) out = e < 0 ? D.powInt(D.recip(n), -e) : D.powInt(n, e);
  else out = D.powGeneral(n, D.c(e, n));
  return record('PowBackward0', out, [x]);
}

export function clamp(x: Tensor, min?: TensorLike | null, max?: TensorLike | null): Tensor {
  const lo = min ?? undefined;
  const hi = max ?? undefined;
  if (lo === undefined && hi === undefined) {
    throw new TypeError("torch.clamp: At least one of 'min' or 'max' must not be None");
  }
  if (lo instanceof Tensor || hi instanceof Tensor) return clampTensor(x, lo, hi);
  const dt = resultType(operand(x), ...[lo, hi].filter((v): v is number | boolean => v !== undefined).map((v) => operand(Number(v))));
  const v = castNode(x.node, dt);
  let n = v;
  if (lo !== undefined) n = D.where(D.lt(n, D.c(Number(lo), n)), D.c(Number(lo), n), n);
  if (hi !== undefined) n = D.where(D.lt(D.c(Number(hi), n), n), D.c(Number(hi), n), n);
  // NaN stays NaN but, as in PyTorch (min ≤ x ≤ max is false), passes no gradient
  if (isFloat(dt)) n = D.where(D.isnan(v), detachNode(v), n);
  return record('ClampBackward1', n, [x]);
}

/** clamp with tensor bounds: broadcast together, min(max(x, lo), hi), NaN in any operand propagates (PyTorch's clamp.Tensor). */
function clampTensor(x: Tensor, lo: TensorLike | undefined, hi: TensorLike | undefined): Tensor {
  const parts: TensorLike[] = [x, ...(lo === undefined ? [] : [lo]), ...(hi === undefined ? [] : [hi])];
  const device = commonDevice(parts);
  const dt = resultType(...parts.map(operand));
  const shape = broadcastAll(parts);
  const v = place(x, dt, shape, device);
  let n = v;
  if (lo !== undefined) {
    const l = place(lo, dt, shape, device);
    n = D.where(D.lt(n, l), l, n);
    if (isFloat(dt)) n = D.where(D.isnan(l), l, n);
  }
  if (hi !== undefined) {
    const h = place(hi, dt, shape, device);
    n = D.where(D.lt(h, n), h, n);
    if (isFloat(dt)) n = D.where(D.isnan(h), h, n);
  }
  if (isFloat(dt)) n = D.where(D.isnan(v), v, n);
  return record('ClampBackward0', n, parts.filter((p): p is Tensor => p instanceof Tensor));
}

export function where(condition: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (condition.dtype !== 'bool' && condition.dtype !== 'uint8') {
    throw new TypeError(`where expected condition to be a boolean tensor, but got a tensor with dtype ${DTYPE_TITLE[condition.dtype]}`);
  }
  const device = commonDevice([condition, a, b]);
  const dt = resultType(operand(a), operand(b));
  const shape = broadcastAll([condition, a, b]);
  const node = D.where(place(condition, 'bool', shape, device), place(a, dt, shape, device), place(b, dt, shape, device));
  return record('WhereBackward0', node, [a, b].filter((x): x is Tensor => x instanceof Tensor));
}

/** PyTorch's capitalized dtype names, as its error messages print them. */
export const DTYPE_TITLE: Readonly<Record<DType, string>> = {
  bool: 'Bool',
  uint8: 'Byte',
  int8: 'Char',
  int16: 'Short',
  int32: 'Int',
  int64: 'Long',
  float16: 'Half',
  bfloat16: 'BFloat16',
  float32: 'Float',
  float64: 'Double',
};

export const clone = (x: Tensor): Tensor => record('CloneBackward0', x.node, [x], false);

/** A constant tensor shaped like `t`, outside autograd. */
export const fullLikeNoGrad = (t: Tensor, v: number): Tensor => Tensor._fromNode(constNode(v, t.dtype, t.shape, t.device));

/** `t.copy_(src)`'s value: src broadcast, cast and moved to t. */
export function copyFrom(t: Tensor, src: Tensor): Tensor {
  const shape = broadcastShapes(t.shape, src.shape);
  if (shape.join() !== t.shape.join()) {
    throw new RangeError(`output with shape [${t.shape.join(', ')}] doesn't match the broadcast shape [${shape.join(', ')}]`);
  }
  const n = broadcastTo(copyNode(castNode(src.node, t.dtype), t.device), t.shape);
  return record('CopyBackward0', n, [src], false);
}

export function uniformLike(t: Tensor, from: number, to: number): Tensor {
  if (!isFloat(t.dtype)) throw new TypeError(`"check_uniform_bounds" not implemented for '${DTYPE_TITLE[t.dtype]}'`);
  const r = randNode(state.seed, drawOffset(t.numel()), t.shape, t.dtype, t.device);
  return Tensor._fromNode(D.add(D.mul(r, D.c(to - from, r)), D.c(from, r)));
}

export function normalLike(t: Tensor, mean: number, std: number): Tensor {
  const z = standardNormal(t.shape, t.dtype, t.device);
  return Tensor._fromNode(D.add(D.mul(z, D.c(std, z)), D.c(mean, z)));
}

/** Box–Muller over two counter-based uniform streams: z = √(−2 ln(1−u₁)) · cos(2π u₂). */
export function standardNormal(shape: readonly number[], dtype: DType, device: string): Node {
  const n = shape.reduce((a, b) => a * b, 1);
  const u1 = randNode(state.seed, drawOffset(n), shape, 'float32', device);
  const u2 = randNode(state.seed, drawOffset(n), shape, 'float32', device);
  const one = D.c(1, u1);
  const r = D.sqrt(D.mul(D.c(-2, u1), D.log(D.sub(one, u1))));
  const z = D.mul(r, D.cos(D.mul(u2, D.c(2 * Math.PI, u2))));
  return castNode(z, dtype);
}

const CATEGORY_RANK = { bool: 0, int: 1, float: 2 } as const;

/** Whether every element of a strided layout has its own memory and they fill one block (PyTorch's is_non_overlapping_and_dense). */
export function denseLayout(shape: readonly number[], strides: readonly number[]): boolean {
  const dims = shape.map((_, i) => i).filter((i) => shape[i] !== 1).sort((a, b) => strides[a]! - strides[b]!);
  let need = 1;
  for (const d of dims) {
    if (strides[d] !== need) return false;
    need *= shape[d]!;
  }
  return true;
}

/**
 * PyTorch's checks before an in-place write, in its order: the target may not have elements
 * sharing memory (an expanded view), and an operand may not partly overlap it (reading
 * elements the same op is writing). A full overlap (x.add_(x)) is fine.
 */
export function checkWrite(t: Tensor, operands: readonly TensorLike[]): void {
  const st = t._strides();
  if (t.shape.some((d, i) => d > 1 && st[i] === 0)) {
    throw new RangeError(
      'unsupported operation: more than one element of the written-to tensor refers to a single memory location. Please clone() the tensor before performing the operation.',
    );
  }
  for (const o of operands) {
    if (!(o instanceof Tensor) || o === t || o._box !== t._box) continue;
    if (t.numel() === 0 || o.numel() === 0) continue;
    if (!denseLayout(t.shape, st) || !denseLayout(o.shape, o._strides())) continue;
    const [a0, a1] = [t.storageOffset(), t.storageOffset() + t.numel()];
    const [b0, b1] = [o.storageOffset(), o.storageOffset() + o.numel()];
    if (a0 === b0 && a1 === b1 && o._strides().join() === st.join()) continue;
    if (a0 < b1 && b0 < a1) {
      throw new RangeError(
        'unsupported operation: some elements of the input tensor and the written-to tensor refer to a single memory location. Please clone() the tensor before performing the operation.',
      );
    }
  }
}

const INTERNAL_OVERLAP =
  'unsupported operation: more than one element of the written-to tensor refers to a single memory location. Please clone() the tensor before performing the operation.';

/** In-place ops PyTorch lets write an expanded tensor (one value per memory location, or a warning only). */
const OVERLAP_ALLOWED = new Set(['FillBackward0', 'FillBackward1', 'ZeroBackward0', 'IndexPutBackward0', 'MaskedFillBackward0']);

/**
 * Applies an in-place op functionally: the tensor's storage box now holds the result, so every
 * alias (`.data`, `.detach()`) sees it. Realized at once, as PyTorch's in-place ops are eager.
 * `written` (bool, t's shape) marks the elements the op wrote, where not all (index_put_,
 * masked_fill_): through an expanded view, a memory location takes the value written there last.
 */
export function inPlace<T extends Tensor>(t: T, result: Tensor, name: string, written?: Node): T {
  const grad = isGradEnabled();
  if (t.requiresGrad && t.isLeaf && grad) {
    throw new AutogradError('a leaf Variable that requires grad is being used in an in-place operation.');
  }
  const base = t._base;
  const multi = t._multiView;
  if (multi && grad && t.requiresGrad) {
    throw new AutogradError(
      `Output ${multi.index} of ${multi.name} is a view and is being modified inplace. This view is the output of a function that returns multiple views. Such functions do not allow the output views to be modified inplace. You should replace the inplace operation by an out-of-place one.`,
    );
  }
  if (t.isView && base !== null && base.requiresGrad && base.isLeaf && grad) {
    throw new AutogradError('a view of a leaf Variable that requires grad is being used in an in-place operation.');
  }
  if (CATEGORY_RANK[DTYPES[result.dtype].category] > CATEGORY_RANK[DTYPES[t.dtype].category]) {
    throw new TypeError(`result type ${DTYPE_TITLE[result.dtype]} can't be cast to the desired output type ${DTYPE_TITLE[t.dtype]}`);
  }
  if (result.shape.join() !== t.shape.join()) {
    throw new RangeError(`output with shape [${t.shape.join(', ')}] doesn't match the broadcast shape [${result.shape.join(', ')}]`);
  }
  const strides = t._strides();
  const overlaps = t.shape.some((d, i) => d > 1 && strides[i] === 0);
  if (overlaps && !OVERLAP_ALLOWED.has(name)) throw new RangeError(INTERNAL_OVERLAP);
  // which elements were written matters only where several share one memory location
  const writtenMask = overlaps ? written : undefined;
  let value = castNode(result.node, t.dtype);
  const box = t._box;
  const view = t._view;
  // a write outside autograd (a detached alias, noGrad) changes the contents but not their
  // history: gradients of the storage's owner still flow as recorded (PyTorch keeps its grad_fn)
  const outside = (t._detached || !grad) && box.fn !== null;
  if (outside) {
    const next = view === null ? value : writeThrough(box.node, view.steps, value, writtenMask);
    commitVersion(box, dataNode(detachNode(next), box.node));
  } else if (view === null) {
    commitVersion(box, value);
    if (result.gradFn) {
      // the op's own input was saved as its (immutable) node, so this very change does not invalidate it
      t.gradFn = result.gradFn.renamed(name, t);
      t.requiresGrad = true;
      box.fn = t.gradFn;
    }
  } else {
    // a write through a view is a new version of the whole storage: the value placed where the
    // view reads, the old contents elsewhere (PyTorch's CopySlices); other views read it anew
    commitVersion(box, writeThrough(box.node, view.steps, value, writtenMask));
    const fn = result.gradFn;
    if (base !== null && (fn || base.requiresGrad) && grad) {
      const op = fn?.renamed(name, t);
      const edges = [...(op ? op.edges : []), ...(base.requiresGrad ? [edgeOf(base)] : [])];
      const copySlices = new GradFn('CopySlices', edges, true, box.node);
      // the op runs inside CopySlices' backward: what it saved is checked there
      copySlices.saved = op?.saved ?? [];
      // PyTorch's CopySlices copies the gradient into the view's elements: an error where they overlap
      if (overlaps) copySlices.backwardError = () => new RangeError(INTERNAL_OVERLAP);
      base.gradFn = copySlices;
      base.requiresGrad = true;
      box.fn = copySlices;
      t._seen = box.version;
      t.gradFn = new GradFn(fn ? `${fn.name}` : 'AsStridedBackward0', [edgeOf(base)], false, t.node);
      t.requiresGrad = true;
    } else if (grad || !base?.requiresGrad) {
      t._seen = box.version;
    }
    // (a write outside autograd to a view of a leaf: the view's history is made anew from the leaf
    // when next used, as PyTorch regenerates a view's grad_fn once its version changed)
  }
  const target = box.node;
  realize([target]);
  t._compact();
  return t;
}

/**
 * The storage's new node after writing `value` through the movement ops `steps` (base first):
 * each op's gradient rule places a view-shaped value where that op reads its source, the same
 * rule places a mask of the covered elements, and the rest keeps the old contents.
 */
function writeThrough(base: Node, steps: readonly Node[], value: Node, written?: Node): Node {
  if (steps.length === 0) return value;
  const chain = [base];
  for (const s of steps) chain.push(withSources(s, [chain[chain.length - 1]!]));
  let placed = value;
  let mask = written ?? constNode(1, 'bool', value.shape, value.device);
  for (let i = steps.length - 1; i >= 0; i--) {
    const n = chain[i + 1]!;
    if (n.op === 'EXPAND') {
      [placed, mask] = placeExpanded(n, placed, mask);
      continue;
    }
    placed = GRAD_RULES[n.op](n, placed)[0]!;
    mask = GRAD_RULES[n.op](n, mask)[0]!;
  }
  return D.where(mask, placed, base);
}

/**
 * Writes through an EXPAND (fill_, index_put_ on an expanded view): the elements that share one
 * memory location each hold what was written last among them, in row-major order — the value
 * itself for a fill, PyTorch's last write for index_put_.
 */
function placeExpanded(n: Node, placed: Node, mask: Node): [Node, Node] {
  const src = n.src[0]!;
  const axes = src.shape.flatMap((d, i) => (d === 1 && n.shape[i] !== 1 ? [i] : []));
  // 1 + the row-major position over the expanded axes, 0 where nothing was written
  let rank: Node = constNode(1, 'int32', n.shape, n.device);
  let stride = 1;
  for (let k = axes.length - 1; k >= 0; k--) {
    const a = axes[k]!;
    const ar = arangeNode(0, stride, n.shape[a]!, 'int32', n.device);
    rank = binaryNode('ADD', rank, broadcastTo(reshapeNode(ar, n.shape.map((d, i) => (i === a ? d : 1))), n.shape));
    stride *= n.shape[a]!;
  }
  const zero = constNode(0, 'int32', n.shape, n.device);
  const written = whereNode(mask, rank, zero);
  const last = reduceNode(written, 'max', axes);
  const pick = binaryNode('AND', mask, binaryNode('CMPEQ', written, broadcastTo(last, n.shape)));
  const kind = placed.dtype === 'bool' ? 'max' : 'add';
  const value = reduceNode(whereNode(pick, placed, constNode(0, placed.dtype, n.shape, n.device)), kind, axes);
  return [value, binaryNode('CMPLT', constNode(0, 'int32', src.shape, n.device), last)];
}
