/** Creation functions, devices and dtype conversion. */
import {
  arangeNode,
  castNode,
  constNode,
  copyNode,
  expandNode,
  isFloat,
  parseDType,
  randBits,
  randNode,
  reshapeNode,
  ShapeError,
  type DType,
  type Node,
} from '@fusor/ir';
import { pyType } from './args.js';
import * as D from './decompose.js';
import type { DeviceLike } from './device.js';
import { standardNormal } from './elementwise.js';
import { AutogradError } from './errors.js';
import { drawOffset, getDefaultDtype, resolveDevice, state } from './state.js';
import { checkDtype, fromHost } from './transfer.js';
import { Tensor } from './tensor.js';
import { sizesArg } from './views.js';

export interface TensorOptions {
  readonly dtype?: DType | string;
  readonly device?: DeviceLike;
  readonly requiresGrad?: boolean;
}

type SizesAndOptions = (number | readonly number[] | TensorOptions | undefined)[];

/** `f(2, 3, opts)`, `f([2, 3], opts)`: the sizes and the trailing options object (place() checks it). */
function splitArgs(args: SizesAndOptions): { sizes: number[]; opts: TensorOptions } {
  const last = args[args.length - 1];
  const hasOpts = last !== undefined && typeof last === 'object' && !Array.isArray(last);
  const sizeArgs = (hasOpts ? args.slice(0, -1) : args).filter((a) => a !== undefined);
  const sizes = sizesArg(sizeArgs as unknown[], 'size');
  const neg = sizes.find((s) => s < 0);
  if (neg !== undefined) throw new ShapeError(`Trying to create tensor with negative dimension ${neg}: [${sizes.join(', ')}]`);
  return { sizes, opts: hasOpts ? (last as TensorOptions) : {} };
}

const TENSOR_OPTIONS = ['dtype', 'device', 'requiresGrad'];

/** A creation function's options object: only the keys PyTorch's factory functions take. */
export function checkTensorOptions(fn: string, opts: TensorOptions): TensorOptions {
  for (const k of Object.keys(opts)) {
    if (!TENSOR_OPTIONS.includes(k)) throw new TypeError(`${fn}() got an unexpected keyword argument '${k}'`);
  }
  if (opts.requiresGrad !== undefined && typeof opts.requiresGrad !== 'boolean') {
    throw new TypeError(`${fn}(): argument 'requires_grad' must be bool, not ${pyType(opts.requiresGrad)}`);
  }
  return opts;
}

/** Where a creation function's result lives; its options are checked first (unknown keys, wrong types raise). */
function place(fn: string, opts: TensorOptions, fallback: DType): { dtype: DType; device: string } {
  checkTensorOptions(fn, opts);
  const dtype = opts.dtype === undefined ? fallback : parseDType(opts.dtype);
  const device = resolveDevice(opts.device);
  checkDtype(device, dtype);
  return { dtype, device };
}

function finish(node: Node, opts: TensorOptions): Tensor {
  const t = Tensor._fromNode(node);
  if (opts.requiresGrad && !isFloat(node.dtype)) {
    throw new AutogradError('Only Tensors of floating point and complex dtype can require gradients');
  }
  if (opts.requiresGrad) t.requiresGrad_(true);
  return t;
}

export type NestedData = number | boolean | bigint | readonly NestedData[];

function inferShape(data: NestedData, dim = 0, shape: number[] = []): number[] {
  if (Array.isArray(data)) {
    shape.push(data.length);
    if (data.length > 0) inferShape(data[0] as NestedData, dim + 1, shape);
  }
  return shape;
}

function flatten(data: NestedData, shape: readonly number[], dim: number, out: (number | boolean | bigint)[]): void {
  if (dim === shape.length) {
    if (Array.isArray(data)) throw new ShapeError(`expected a scalar at dim ${dim}, got a sequence`);
    const t = typeof data;
    if (t !== 'number' && t !== 'boolean' && t !== 'bigint') throw new TypeError(`Could not infer dtype of ${t === 'string' ? 'str' : t}`);
    out.push(data as number | boolean | bigint);
    return;
  }
  if (!Array.isArray(data)) throw new ShapeError(`expected sequence of length ${shape[dim]} at dim ${dim} (got a scalar)`);
  if (data.length !== shape[dim]) throw new ShapeError(`expected sequence of length ${shape[dim]} at dim ${dim} (got ${data.length})`);
  for (const d of data) flatten(d as NestedData, shape, dim + 1, out);
}

const TYPED_DTYPE: readonly [new (...a: never[]) => ArrayLike<unknown>, DType][] = [
  [Float32Array, 'float32'],
  [Float64Array, 'float64'],
  [Int32Array, 'int32'],
  [BigInt64Array, 'int64'],
  [Int16Array, 'int16'],
  [Int8Array, 'int8'],
  [Uint8Array, 'uint8'],
];

/** torch.tensor: nested arrays, typed arrays or a scalar; dtype inferred as PyTorch does. */
export function tensor(data: NestedData | ArrayLike<number | bigint> | Tensor, opts: TensorOptions = {}): Tensor {
  checkTensorOptions('tensor', opts);
  if (data instanceof Tensor) {
    // a detached copy: nodes are immutable, so sharing the (converted) node is a copy
    const dtype = opts.dtype === undefined ? data.dtype : parseDType(opts.dtype);
    const device = opts.device === undefined ? data.device : resolveDevice(opts.device);
    checkDtype(device, dtype);
    return finish(copyNode(castNode(data.node, dtype), device), opts);
  }
  let shape: number[];
  let flat: ArrayLike<number | boolean | bigint>;
  let inferred: DType;
  const typed = TYPED_DTYPE.find(([ctor]) => data instanceof ctor);
  if (typed) {
    flat = data as ArrayLike<number | bigint>;
    shape = [flat.length];
    inferred = typed[1];
  } else {
    shape = inferShape(data as NestedData);
    const out: (number | boolean | bigint)[] = [];
    flatten(data as NestedData, shape, 0, out);
    flat = out;
    inferred = out.length === 0 ? getDefaultDtype()
      : out.every((v) => typeof v === 'boolean') ? 'bool'
      : out.every((v) => typeof v === 'bigint' || typeof v === 'boolean' || (typeof v === 'number' && Number.isSafeInteger(v) && !Object.is(v, -0))) ? 'int64'
      : getDefaultDtype();
  }
  const { dtype, device } = place('tensor', opts, inferred);
  return finish(fromHost(flat, shape, dtype, device), opts);
}

export function full(size: readonly number[], fillValue: number | boolean, opts: TensorOptions = {}): Tensor {
  checkTensorOptions('full', opts);
  const sizes = sizesArg([size]);
  const inferred: DType = typeof fillValue === 'boolean' ? 'bool' : Number.isInteger(fillValue) ? 'int64' : getDefaultDtype();
  const { dtype, device } = place('full', opts, inferred);
  return finish(constNode(Number(fillValue), dtype, sizes, device), opts);
}

export function zeros(...args: SizesAndOptions): Tensor {
  const { sizes, opts } = splitArgs(args);
  const { dtype, device } = place('zeros', opts, getDefaultDtype());
  return finish(constNode(0, dtype, sizes, device), opts);
}

export function ones(...args: SizesAndOptions): Tensor {
  const { sizes, opts } = splitArgs(args);
  const { dtype, device } = place('ones', opts, getDefaultDtype());
  return finish(constNode(1, dtype, sizes, device), opts);
}

/** Uninitialized memory is not observable in fusor: empty is zeros. */
export function empty(...args: SizesAndOptions): Tensor {
  return zeros(...args);
}

export function eye(n: number, m?: number | TensorOptions, maybeOpts: TensorOptions = {}): Tensor {
  const cols = typeof m === 'number' ? m : n;
  const opts = typeof m === 'object' ? m : maybeOpts;
  sizesArg([n, cols]);
  if (n < 0 || cols < 0) throw new ShapeError(`n must be greater or equal to 0, got ${Math.min(n, cols)}`);
  const { dtype, device } = place('eye', opts, getDefaultDtype());
  const r = expandNode(reshapeNode(arangeNode(0, 1, n, 'int32', device), [n, 1]), [n, cols]);
  const c = expandNode(reshapeNode(arangeNode(0, 1, cols, 'int32', device), [1, cols]), [n, cols]);
  return finish(castNode(D.eq(r, c), dtype), opts);
}

export function arange(a: number, b?: number | TensorOptions, c?: number | TensorOptions, d?: TensorOptions): Tensor {
  const nums = [a, b, c].filter((v): v is number => typeof v === 'number');
  const opts = ([b, c, d].find((v) => typeof v === 'object') as TensorOptions | undefined) ?? {};
  const [start, end, step] = nums.length === 1 ? [0, nums[0]!, 1] : [nums[0]!, nums[1]!, nums[2] ?? 1];
  if (step === 0) throw new RangeError('step must be nonzero');
  if (![start, end, step].every(Number.isFinite)) throw new RangeError(`unsupported range: ${start} -> ${end}`);
  if ((end - start) / step < 0 && end !== start) throw new RangeError('upper bound and larger bound inconsistent with step sign');
  const size = Math.max(Math.ceil((end - start) / step), 0);
  const inferred: DType = [start, end, step].every(Number.isInteger) ? 'int64' : getDefaultDtype();
  const { dtype, device } = place('arange', opts, inferred);
  return finish(arangeNode(start, step, size, dtype, device), opts);
}

/** PyTorch's linspace: the first half counts up from start, the second half down from end. */
export function linspace(start: number, end: number, steps: number, opts: TensorOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new RangeError('number of steps must be non-negative');
  const { dtype, device } = place('linspace', opts, getDefaultDtype());
  if (steps <= 1) return finish(constNode(start, dtype, [steps], device), opts);
  const step = (end - start) / (steps - 1);
  const compute: DType = isFloat(dtype) ? dtype : 'float64';
  const i = arangeNode(0, 1, steps, compute, device);
  const up = D.add(D.c(start, i), D.mul(i, D.c(step, i)));
  const down = D.sub(D.c(end, i), D.mul(D.sub(D.c(steps - 1, i), i), D.c(step, i)));
  const v = D.where(D.lt(i, D.c(Math.floor(steps / 2), i)), up, down);
  return finish(castNode(isFloat(dtype) ? v : D.trunc(v), dtype), opts);
}

export function rand(...args: SizesAndOptions): Tensor {
  const { sizes, opts } = splitArgs(args);
  const { dtype, device } = place('rand', opts, getDefaultDtype());
  if (!isFloat(dtype)) throw new TypeError(`"check_uniform_bounds" not implemented for '${dtype}'`);
  const n = sizes.reduce((x, y) => x * y, 1);
  return finish(randNode(state.seed, drawOffset(n), sizes, dtype, device), opts);
}

export function randn(...args: SizesAndOptions): Tensor {
  const { sizes, opts } = splitArgs(args);
  const { dtype, device } = place('randn', opts, getDefaultDtype());
  if (!isFloat(dtype)) throw new TypeError(`"normal_kernel_cpu" not implemented for '${dtype}'`);
  return finish(standardNormal(sizes, dtype, device), opts);
}

/** `randint(high, size)` or `randint(low, high, size)`; int64 by default. */
export function randint(a: number, b: number | readonly number[], c?: readonly number[] | TensorOptions, d: TensorOptions = {}): Tensor {
  const [low, high, size, opts] = Array.isArray(b) ? [0, a, b as readonly number[], (c as TensorOptions | undefined) ?? {}] : [a, b as number, c as readonly number[], d];
  if (!(high > low)) throw new RangeError(`random_ expects 'from' to be less than 'to', but got from=${low} >= to=${high}`);
  const sizes = sizesArg([size]);
  const { dtype, device } = place('randint', opts, 'int64');
  const n = sizes.reduce((x, y) => x * y, 1);
  // float32 on every backend (some have no float64), so a seed gives the same integers everywhere
  const u = randNode(state.seed, drawOffset(n), sizes, 'float32', device);
  const raw = D.add(D.floor(D.mul(u, D.c(high - low, u))), D.c(low, u));
  // float32 rounding can carry u·(high−low) up to high itself: keep the bound exclusive
  const v = D.where(D.lt(raw, D.c(high, raw)), raw, D.c(high - 1, raw));
  return finish(castNode(v, dtype), opts);
}

export function normal(mean: number, std: number, size: readonly number[], opts: TensorOptions = {}): Tensor {
  if (std < 0) throw new RangeError(`normal expects std >= 0.0, but found std ${std}`);
  const { dtype, device } = place('normal', opts, getDefaultDtype());
  const z = standardNormal(sizesArg([size]), dtype, device);
  return finish(D.add(D.mul(z, D.c(std, z)), D.c(mean, z)), opts);
}

/** A random permutation of 0..n-1 (Fisher–Yates on the host, driven by the same counter-based bits). */
export function randperm(n: number, opts: TensorOptions = {}): Tensor {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be non-negative, got${n}`);
  const { dtype, device } = place('randperm', opts, 'int64');
  const perm = Array.from({ length: n }, (_, i) => i);
  const offset = drawOffset(n);
  for (let i = n - 1; i > 0; i--) {
    const j = randBits(state.seed, offset + i) % (i + 1);
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  return finish(fromHost(perm, [n], dtype, device), opts);
}

const likeOpts = (t: Tensor, opts: TensorOptions): TensorOptions => ({ dtype: t.dtype, device: t.device, ...opts });
export const zerosLike = (t: Tensor, opts: TensorOptions = {}): Tensor => zeros(t.shape, likeOpts(t, opts));
export const onesLike = (t: Tensor, opts: TensorOptions = {}): Tensor => ones(t.shape, likeOpts(t, opts));
export const emptyLike = (t: Tensor, opts: TensorOptions = {}): Tensor => empty(t.shape, likeOpts(t, opts));
export const fullLike = (t: Tensor, v: number | boolean, opts: TensorOptions = {}): Tensor => full(t.shape, v, likeOpts(t, opts));
export const randLike = (t: Tensor, opts: TensorOptions = {}): Tensor => rand(t.shape, likeOpts(t, opts));
export const randnLike = (t: Tensor, opts: TensorOptions = {}): Tensor => randn(t.shape, likeOpts(t, opts));
export const randintLike = (t: Tensor, low: number, high: number, opts: TensorOptions = {}): Tensor =>
  randint(low, high, t.shape, likeOpts(t, opts));

