/**
 * Pooling, padding and unfolding: sliding windows (windows.ts) reduced with max or add, and
 * pads written as movement ops. No op here has a kernel of its own.
 */
import {
  arangeNode,
  binaryNode,
  castNode,
  constNode,
  dataNode,
  detachNode,
  expandNode,
  flipNode,
  isFloat,
  padNode,
  permuteNode,
  reshapeNode,
  ShapeError,
  shrinkNode,
  type Node,
  type Pair,
} from '@fusor/ir';
import * as D from './decompose.js';
import { bindArgs, boolArg, intTuple, type CallArgs, type IntOrTuple } from './args.js';
import { DTYPE_TITLE } from './elementwise.js';
import { record, recordView, type Tensor } from './tensor.js';
import { normDim } from './views.js';
import { outSize, slidingWindows, windowAxis, windowPositions, windowsTile } from './windows.js';

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

export interface MaxPoolOptions {
  kernelSize?: IntOrTuple;
  stride?: IntOrTuple | null;
  padding?: IntOrTuple;
  dilation?: IntOrTuple;
  ceilMode?: boolean;
  returnIndices?: boolean;
}

export interface AvgPoolOptions {
  kernelSize?: IntOrTuple;
  stride?: IntOrTuple | null;
  padding?: IntOrTuple;
  ceilMode?: boolean;
  countIncludePad?: boolean;
  divisorOverride?: number | null;
}

/** maxPool2d(input, kernelSize, stride?, padding?, dilation?, ceilMode?, returnIndices?, options?) */
export type MaxPoolArgs = CallArgs<
  [kernelSize: IntOrTuple, stride: IntOrTuple | null, padding: IntOrTuple, dilation: IntOrTuple, ceilMode: boolean, returnIndices: boolean],
  MaxPoolOptions
>;
/** avgPool2d(input, kernelSize, stride?, padding?, ceilMode?, countIncludePad?, divisorOverride?, options?) */
export type AvgPoolArgs = CallArgs<
  [kernelSize: IntOrTuple, stride: IntOrTuple | null, padding: IntOrTuple, ceilMode: boolean, countIncludePad: boolean, divisorOverride: number | null],
  AvgPoolOptions
>;

interface Geometry {
  /** The input as [1, N·C, S...]: batch and channels are one axis to the window kernels (less index math). */
  readonly x: Node;
  /** [N, C]: the output's leading axes. */
  readonly lead: readonly [number, number];
  readonly unbatched: boolean;
  readonly k: number[];
  readonly s: number[];
  readonly p: number[];
  readonly d: number[];
  readonly out: number[];
}

/** Arguments, checks and output size shared by max and average pooling, in PyTorch's words. */
function geometry(fn: string, nd: number, input: Tensor, a: Record<string, unknown>, ceil: boolean): Geometry {
  if (a['kernelSize'] === undefined) throw new TypeError(`${fn}() missing 1 required positional argument: 'kernel_size'`);
  const k = intTuple(fn, 'kernel_size', a['kernelSize'], nd, 1);
  const stride = a['stride'];
  const s = stride === undefined || stride === null || (Array.isArray(stride) && stride.length === 0) ? k : intTuple(fn, 'stride', stride, nd, 1);
  const p = intTuple(fn, 'padding', a['padding'], nd, 0);
  const d = intTuple(fn, 'dilation', a['dilation'], nd, 1);
  const dims = nd === 1 ? '2D or 3D' : nd === 2 ? '3D or 4D' : '4D or 5D';
  if ((input.ndim !== nd + 1 && input.ndim !== nd + 2) || input.numel() === 0) {
    throw new ShapeError(`non-empty ${dims} (batch mode) tensor expected for input`);
  }
  if (k.some((v) => v <= 0)) throw new RangeError(`kernel_size must be greater than zero, but got ${fmt(k)}`);
  if (s.some((v) => v === 0)) throw new RangeError('stride should not be zero');
  if (d.some((v) => v <= 0)) throw new RangeError(`dilation must be greater than zero, but got ${fmt(d)}`);
  p.forEach((pp, i) => {
    if (pp < 0 || pp * 2 > k[i]!) throw new RangeError(`pad should be at most half of kernel size, but got pad=${pp} and kernel_size=${k[i]}`);
  });
  const batched = input.ndim === nd + 1 ? reshapeNode(input.node, [1, ...input.shape]) : input.node;
  const spatial = batched.shape.slice(2);
  const out = spatial.map((sz, i) => outSize(sz, k[i]!, s[i]!, p[i]!, d[i]!, ceil));
  if (out.some((o) => o < 1)) {
    throw new ShapeError(`Given input size: (${[batched.shape[1], ...spatial].join('x')}). Calculated output size: (${[batched.shape[1], ...out].join('x')}). Output size is too small`);
  }
  const lead = [batched.shape[0]!, batched.shape[1]!] as const;
  const x = reshapeNode(batched, [1, lead[0] * lead[1], ...spatial]);
  return { x, lead, unbatched: input.ndim === nd + 1, k, s, p, d, out };
}

/** The far-side padding that gives exactly `out` windows (more than p in ceil mode; negative crops). */
const farPad = (g: Geometry, i: number, size: number): number => (g.out[i]! - 1) * g.s[i]! + g.d[i]! * (g.k[i]! - 1) + 1 - size - g.p[i]!;

const finish = (g: Geometry, n: Node): Node => (g.unbatched ? reshapeNode(n, n.shape.slice(1)) : n);

function maxPoolNd(nd: number, fn: string, input: Tensor, args: readonly unknown[]): Tensor | [Tensor, Tensor] {
  const a = bindArgs(fn, ['kernelSize', 'stride', 'padding', 'dilation', 'ceilMode', 'returnIndices'], args);
  const ceil = boolArg(fn, 'ceil_mode', a['ceilMode'], false);
  const withIndices = boolArg(fn, 'return_indices', a['returnIndices'], false);
  const g = geometry(fn, nd, input, a, ceil);
  if (input.dtype === 'bool') throw new TypeError(`"max_pool${nd}d" not implemented for 'Bool'`);
  const lowest = isFloat(input.dtype) ? -Infinity : -(2 ** 31);
  const hi = g.x.shape.slice(2).map((size, i) => farPad(g, i, size));
  const win = slidingWindows(g.x, g.k, g.s, g.d, g.p, hi, lowest); // [N, C, k..., out...]
  const kAxes = g.k.map((_, i) => 2 + i);
  const m = D.maxAxes(win, kAxes);
  // the flat input index of each window element; the first maximum (a NaN counts as one) is the
  // window's argmax, and the output is the element there, so the gradient goes to that one
  // element as in PyTorch (not split among ties). Where the windows tile the input and no indices
  // are returned, the offset within the window orders its elements the same way, with no table.
  const spatial = g.x.shape.slice(2);
  const flat = spatial.reduce((p, v) => p * v, 1);
  const kk = g.k.reduce((p, v) => p * v, 1);
  const positions =
    !withIndices && windowsTile(spatial, g.k, g.s, g.d, g.p, g.out)
      ? reshapeNode(arangeNode(0, 1, kk, 'int32', g.x.device), [...g.k, ...g.out.map(() => 1)])
      : windowPositions(spatial, g.k, g.s, g.d, g.p, hi, g.x.device);
  const idx = expandNode(reshapeNode(positions, [1, 1, ...positions.shape]), win.shape);
  const real = D.not(D.lt(idx, D.c(0, idx)));
  const hit = D.and(real, D.or(D.eq(win, expandNode(detachNode(m), win.shape)), D.isnan(win)));
  const first = D.neg(D.maxAxes(D.where(hit, D.neg(idx), D.c(-flat, idx)), kAxes));
  const picked = D.where(D.eq(idx, expandNode(first, win.shape)), win, D.c(0, win));
  // the forward reads the maximum; the gradient goes through the picked element (a DATA node:
  // the sum over the window is history only, never computed)
  const value = isFloat(win.dtype) ? dataNode(m, D.sumAxes(picked, kAxes)) : m;
  const outShape = [...g.lead, ...g.out];
  const values = record(`MaxPool${nd}DWithIndicesBackward0`, finish(g, reshapeNode(value, outShape)), [input]);
  if (!withIndices) return values;
  const indices = record('', finish(g, castNode(reshapeNode(first, outShape), 'int64')), [], false);
  return [values, indices];
}

/** The number of elements each window averages over along one axis (PyTorch's divisor), as a [out] node. */
function windowCounts(g: Geometry, i: number, size: number, includePad: boolean, dtype: Node['dtype'], device: string): Node {
  const p = g.p[i]!;
  const hi = farPad(g, i, size);
  // ones where an element counts: the input, and with countIncludePad its padding too (never the ceil-mode overhang)
  const ones = includePad
    ? padNode(constNode(1, dtype, [size + 2 * p], device), [[0, Math.max(hi - p, 0)]])
    : padNode(constNode(1, dtype, [size], device), [[p, Math.max(hi, 0)]]);
  const cropped = shrinkNode(ones, [[0, ones.shape[0]! - Math.max(-hi, 0)]]);
  return reshapeNode(D.sumAxes(windowAxis(cropped, 0, g.k[i]!, g.s[i]!, g.d[i]!), [1]), [g.out[i]!]);
}

function avgPoolNd(nd: number, fn: string, input: Tensor, args: readonly unknown[]): Tensor {
  const a = bindArgs(fn, ['kernelSize', 'stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride'], args);
  const ceil = boolArg(fn, 'ceil_mode', a['ceilMode'], false);
  const includePad = boolArg(fn, 'count_include_pad', a['countIncludePad'], true);
  const divisor = a['divisorOverride'];
  if (divisor !== undefined && divisor !== null && (typeof divisor !== 'number' || !Number.isInteger(divisor))) {
    throw new TypeError(`${fn}(): argument 'divisor_override' must be int, not ${typeof divisor}`);
  }
  if (divisor === 0) throw new RangeError('divisor must be not zero');
  const g = geometry(fn, nd, input, a, ceil);
  if (!isFloat(input.dtype)) throw new TypeError(`"avg_pool${nd}d_out_frame" not implemented for '${DTYPE_TITLE[input.dtype]}'`);
  const hi = g.x.shape.slice(2).map((size, i) => farPad(g, i, size));
  const win = slidingWindows(g.x, g.k, g.s, g.d, g.p, hi); // [N, C, k..., out...]
  const sum = D.sumAxes(win, g.k.map((_, i) => 2 + i));
  const outShape = [...g.lead, ...g.out];
  let count: Node;
  if (typeof divisor === 'number') count = constNode(divisor, g.x.dtype, outShape, g.x.device);
  else {
    // the divisor is separable: the product of the per-axis counts
    count = g.x.shape.slice(2).reduce<Node | undefined>((acc, size, i) => {
      const c = windowCounts(g, i, size, includePad, g.x.dtype, g.x.device);
      const e = expandNode(reshapeNode(c, outShape.map((v, j) => (j === 2 + i ? v : 1))), outShape);
      return acc ? D.mul(acc, e) : e;
    }, undefined)!;
  }
  const avg = D.div(reshapeNode(sum, outShape), count);
  return record(`AvgPool${nd}DBackward0`, finish(g, avg), [input]);
}

export function maxPool1d(input: Tensor, kernelSize: IntOrTuple, stride: IntOrTuple | null, padding: IntOrTuple, dilation: IntOrTuple, ceilMode: boolean, returnIndices: true): [Tensor, Tensor];
export function maxPool1d(input: Tensor, kernelSize: IntOrTuple, opts: MaxPoolOptions & { returnIndices: true }): [Tensor, Tensor];
export function maxPool1d(input: Tensor, ...args: MaxPoolArgs): Tensor;
export function maxPool1d(input: Tensor, ...args: readonly unknown[]): Tensor | [Tensor, Tensor] {
  return maxPoolNd(1, 'max_pool1d', input, args);
}
export function maxPool2d(input: Tensor, kernelSize: IntOrTuple, stride: IntOrTuple | null, padding: IntOrTuple, dilation: IntOrTuple, ceilMode: boolean, returnIndices: true): [Tensor, Tensor];
export function maxPool2d(input: Tensor, kernelSize: IntOrTuple, opts: MaxPoolOptions & { returnIndices: true }): [Tensor, Tensor];
export function maxPool2d(input: Tensor, ...args: MaxPoolArgs): Tensor;
export function maxPool2d(input: Tensor, ...args: readonly unknown[]): Tensor | [Tensor, Tensor] {
  return maxPoolNd(2, 'max_pool2d', input, args);
}
export function maxPool3d(input: Tensor, kernelSize: IntOrTuple, stride: IntOrTuple | null, padding: IntOrTuple, dilation: IntOrTuple, ceilMode: boolean, returnIndices: true): [Tensor, Tensor];
export function maxPool3d(input: Tensor, kernelSize: IntOrTuple, opts: MaxPoolOptions & { returnIndices: true }): [Tensor, Tensor];
export function maxPool3d(input: Tensor, ...args: MaxPoolArgs): Tensor;
export function maxPool3d(input: Tensor, ...args: readonly unknown[]): Tensor | [Tensor, Tensor] {
  return maxPoolNd(3, 'max_pool3d', input, args);
}
export const avgPool1d = (input: Tensor, ...args: AvgPoolArgs): Tensor => avgPoolNd(1, 'avg_pool1d', input, args);
export const avgPool2d = (input: Tensor, ...args: AvgPoolArgs): Tensor => avgPoolNd(2, 'avg_pool2d', input, args);
export const avgPool3d = (input: Tensor, ...args: AvgPoolArgs): Tensor => avgPoolNd(3, 'avg_pool3d', input, args);

/**
 * Averages over the adaptive bins [⌊i·I/O⌋, ⌈(i+1)·I/O⌉) of each spatial axis: a reshape and a
 * mean where O divides I, otherwise a product with the [O, I] bin-weight matrix built from aranges.
 */
function adaptiveAvgPoolNd(nd: number, fn: string, input: Tensor, outputSize: number | readonly (number | null)[]): Tensor {
  if (input.ndim !== nd + 1 && input.ndim !== nd + 2) {
    throw new ShapeError(`${fn}(): Expected ${nd + 1}D or ${nd + 2}D tensor, but got ${fmt(input.shape)}`);
  }
  const sizes = typeof outputSize === 'number' ? new Array<number | null>(nd).fill(outputSize) : [...outputSize];
  if (sizes.length !== nd) throw new RangeError(`${fn}: internal error: output_size.size() must be ${nd}`);
  if (!isFloat(input.dtype)) throw new TypeError(`"adaptive_avg_pool${nd}d_cpu" not implemented for '${DTYPE_TITLE[input.dtype]}'`);
  const lead = input.ndim - nd;
  let n = input.node;
  for (let i = 0; i < nd; i++) {
    const axis = lead + i;
    const len = n.shape[axis]!;
    const o = sizes[i] ?? len;
    if (o === len) continue;
    const before = n.shape.slice(0, axis);
    const after = n.shape.slice(axis + 1);
    if (o > 0 && len % o === 0) {
      const k = len / o;
      const r = D.sumAxes(reshapeNode(n, [...before, o, k, ...after]), [axis + 1]);
      n = D.mul(reshapeNode(r, [...before, o, ...after]), D.c(1 / k, reshapeNode(r, [...before, o, ...after])));
      continue;
    }
    const oi = reshapeNode(arangeNode(0, 1, o, 'int32', n.device), [o, 1]);
    const ji = reshapeNode(arangeNode(0, 1, len, 'int32', n.device), [1, len]);
    const start = expandNode(binaryNode('IDIV', D.mul(oi, D.c(len, oi)), D.c(o, oi)), [o, len]);
    const end = expandNode(binaryNode('IDIV', D.add(D.mul(oi, D.c(len, oi)), D.c(len + o - 1, oi)), D.c(o, oi)), [o, len]);
    const j = expandNode(ji, [o, len]);
    const inBin = D.and(D.not(D.lt(j, start)), D.lt(j, end));
    const weight = D.where(inBin, D.recip(castNode(D.sub(end, start), n.dtype)), constNode(0, n.dtype, [o, len], n.device));
    // [before, o, len, after] product summed over len
    const full = [...before, o, len, ...after];
    const xe = expandNode(reshapeNode(n, [...before, 1, len, ...after]), full);
    const we = expandNode(reshapeNode(weight, [...before.map(() => 1), o, len, ...after.map(() => 1)]), full);
    n = reshapeNode(D.sumAxes(D.mul(we, xe), [axis + 1]), [...before, o, ...after]);
  }
  return record(`AdaptiveAvgPool${nd}DBackward0`, n, [input]);
}

export const adaptiveAvgPool1d = (input: Tensor, outputSize: number | readonly (number | null)[]): Tensor =>
  adaptiveAvgPoolNd(1, 'adaptive_avg_pool1d', input, outputSize);
export const adaptiveAvgPool2d = (input: Tensor, outputSize: number | readonly (number | null)[]): Tensor =>
  adaptiveAvgPoolNd(2, 'adaptive_avg_pool2d', input, outputSize);
export const adaptiveAvgPool3d = (input: Tensor, outputSize: number | readonly (number | null)[]): Tensor =>
  adaptiveAvgPoolNd(3, 'adaptive_avg_pool3d', input, outputSize);

// ------------------------------------------------------------------------------------ padding

export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

export interface PadOptions {
  mode?: PadMode;
  value?: number | null;
}

/** Concatenation along `axis` as pads and adds (as cat does): fuses into the consumer. */
function joinAxis(parts: readonly Node[], axis: number): Node {
  const total = parts.reduce((a, p) => a + p.shape[axis]!, 0);
  let offset = 0;
  let acc: Node | undefined;
  for (const p of parts) {
    const len = p.shape[axis]!;
    if (len === 0) continue;
    const padded = padNode(p, p.shape.map((_, i): Pair => (i === axis ? [offset, total - offset - len] : [0, 0])));
    offset += len;
    acc = acc ? (p.dtype === 'bool' ? D.or(acc, padded) : D.add(acc, padded)) : padded;
  }
  return acc!;
}

const slice = (n: Node, axis: number, start: number, end: number): Node => shrinkNode(n, n.shape.map((d, i): Pair => (i === axis ? [start, end] : [0, d])));

function padAxis(n: Node, axis: number, lo: number, hi: number, mode: Exclude<PadMode, 'constant'>, dimForError: () => string): Node {
  const size = n.shape[axis]!;
  if (lo < 0 || hi < 0) {
    // negative amounts crop, then the rest pads
    const cropped = slice(n, axis, Math.max(-lo, 0), size - Math.max(-hi, 0));
    return padAxis(cropped, axis, Math.max(lo, 0), Math.max(hi, 0), mode, dimForError);
  }
  if (lo === 0 && hi === 0) return n;
  let left: Node;
  let right: Node;
  if (mode === 'reflect') {
    if (lo >= size || hi >= size) throw new RangeError(dimForError());
    left = flipNode(slice(n, axis, 1, lo + 1), [axis]);
    right = flipNode(slice(n, axis, size - 1 - hi, size - 1), [axis]);
  } else if (mode === 'replicate') {
    const grow = (edge: Node, len: number): Node => expandNode(edge, edge.shape.map((d, i) => (i === axis ? len : d)));
    left = grow(slice(n, axis, 0, 1), lo);
    right = grow(slice(n, axis, size - 1, size), hi);
  } else {
    if (lo > size || hi > size) throw new RangeError('Padding value causes wrapping around more than once.');
    left = slice(n, axis, size - lo, size);
    right = slice(n, axis, 0, hi);
  }
  return joinAxis([left, n, right], axis);
}

/** torch.nn.functional.pad(input, pad, mode = 'constant', value = 0): `pad` lists (left, right) pairs from the last dim backwards. */
export function pad(input: Tensor, padding: readonly number[], ...args: CallArgs<[mode: PadMode, value: number | null], PadOptions>): Tensor {
  const a = bindArgs('pad', ['mode', 'value'], args);
  const mode = (a['mode'] ?? 'constant') as string;
  const value = a['value'] as number | null | undefined;
  if (!Array.isArray(padding) || padding.some((v) => typeof v !== 'number' || !Number.isInteger(v))) {
    throw new TypeError('pad(): argument \'pad\' must be tuple of ints');
  }
  if (padding.length % 2 !== 0) throw new RangeError('Padding length must be divisible by 2');
  if (padding.length / 2 > input.ndim) throw new RangeError('Padding length too large');
  const pairs = padding.length / 2;
  const axisOf = (j: number): number => input.ndim - 1 - j;
  if (mode === 'constant') {
    const ranges = input.shape.map((_, i): Pair => {
      const j = input.ndim - 1 - i;
      return j < pairs ? [padding[2 * j]!, padding[2 * j + 1]!] : [0, 0];
    });
    const n = input.node;
    // negative amounts crop
    const grow = ranges.map(([l, r]): Pair => [Math.max(l, 0), Math.max(r, 0)]);
    let out = padNode(n, grow);
    const fill = value ?? 0;
    if (fill !== 0) out = D.where(padNode(constNode(1, 'bool', n.shape, n.device), grow), out, constNode(fill, n.dtype, out.shape, n.device));
    out = shrinkNode(out, out.shape.map((d, i): Pair => [Math.max(-ranges[i]![0], 0), d - Math.max(-ranges[i]![1], 0)]));
    return record('ConstantPadNdBackward0', out, [input], false);
  }
  if (mode !== 'reflect' && mode !== 'replicate' && mode !== 'circular') throw new RangeError(`Unrecognised padding mode ${mode}`);
  if (value !== undefined && value !== null) throw new TypeError(`Padding mode "${mode}" doesn't take in value argument`);
  // PyTorch 1.13's rule: (2k values) pad the last k dims of a (k+1)-d or (k+2)-d input, k ≤ 3
  if (![2, 4, 6].includes(padding.length) || (input.ndim !== pairs + 1 && input.ndim !== pairs + 2)) {
    throw new Error('Only 2D, 3D, 4D, 5D padding with non-constant padding are supported for now');
  }
  let n = input.node;
  for (let j = 0; j < pairs; j++) {
    const axis = axisOf(j);
    const arg = 4 + 2 * j;
    n = padAxis(n, axis, padding[2 * j]!, padding[2 * j + 1]!, mode, () =>
      `Argument #${arg}: Padding size should be less than the corresponding input dimension, but got: padding (${padding[2 * j]}, ${padding[2 * j + 1]}) at dimension ${axis} of input ${pairs === 1 ? fmt(input.shape) : input.ndim}`,
    );
  }
  const name = mode === 'reflect' ? `ReflectionPad${pairs}DBackward0` : mode === 'replicate' ? `ReplicationPad${pairs}DBackward0` : 'CatBackward0';
  return record(name, n, [input], false);
}

// ------------------------------------------------------------------------------------ unfold

export interface UnfoldOptions {
  kernelSize?: IntOrTuple;
  dilation?: IntOrTuple;
  padding?: IntOrTuple;
  stride?: IntOrTuple;
}

/** F.unfold (im2col): [N, C, H, W] → [N, C·kh·kw, L], the columns a convolution multiplies. */
export function unfold(input: Tensor, ...args: CallArgs<[kernelSize: IntOrTuple, dilation: IntOrTuple, padding: IntOrTuple, stride: IntOrTuple], UnfoldOptions>): Tensor {
  const a = bindArgs('unfold', ['kernelSize', 'dilation', 'padding', 'stride'], args);
  if (a['kernelSize'] === undefined) throw new TypeError("unfold() missing 1 required positional argument: 'kernel_size'");
  const k = intTuple('unfold', 'kernel_size', a['kernelSize'], 2, 1);
  const d = intTuple('unfold', 'dilation', a['dilation'], 2, 1);
  const p = intTuple('unfold', 'padding', a['padding'], 2, 0);
  const s = intTuple('unfold', 'stride', a['stride'], 2, 1);
  if (input.ndim !== 3 && input.ndim !== 4) {
    throw new ShapeError(`Input Error: Only 3D or 4D input Tensors are supported (got ${input.ndim}D)`);
  }
  const x = input.ndim === 3 ? reshapeNode(input.node, [1, ...input.shape]) : input.node;
  const spatial = x.shape.slice(2);
  const blocks = spatial.map((sz, i) => outSize(sz, k[i]!, s[i]!, p[i]!, d[i]!));
  if (blocks.some((b) => b < 1)) {
    throw new ShapeError(
      `Given input with spatial size (${spatial.join(', ')}), kernel_size=(${k.join(', ')}), dilation=(${d.join(', ')}), padding=(${p.join(', ')}), calculated shape of the array of sliding blocks as (${blocks.join(', ')}), but its components must be at least one.`,
    );
  }
  const win = slidingWindows(x, k, s, d, p, p); // [N, C, kh, kw, oh, ow]
  const [n, c] = x.shape as [number, number];
  let out = reshapeNode(win, [n, c * k[0]! * k[1]!, blocks[0]! * blocks[1]!]);
  if (input.ndim === 3) out = reshapeNode(out, out.shape.slice(1));
  return record('Im2ColBackward0', out, [input], false);
}

/** Tensor.unfold(dim, size, step): every window of `size` along `dim`, stepping by `step`, as a new last dim. */
export function unfoldDim(x: Tensor, dim: number, size: number, step: number): Tensor {
  const nd = Math.max(x.ndim, 1);
  const axis = normDim(dim, nd);
  const n = x.ndim === 0 ? reshapeNode(x.node, [1]) : x.node;
  const len = n.shape[axis]!;
  if (size > len) throw new RangeError(`maximum size for tensor at dimension ${axis} is ${len} but size is ${size}`);
  if (size < 0) throw new RangeError(`size is ${size} but must be >= 0`);
  if (step <= 0) throw new RangeError(`step is ${step} but must be > 0`);
  const w = windowAxis(n, axis, size, step, 1); // [..., o, size, ...]
  const order = [...w.shape.keys()].filter((i) => i !== axis + 1);
  let out = permuteNode(w, [...order, axis + 1]);
  if (x.ndim === 0) out = reshapeNode(out, [size]);
  // a view of x, as PyTorch's: windows step·stride apart, size elements stride apart
  const st = x.ndim === 0 ? [1] : x._strides();
  const strides = x.ndim === 0 ? [1] : [...st.map((v, i) => (i === axis ? v * step : v)), st[axis]!];
  return recordView('UnfoldBackward0', out, x, strides, x.storageOffset());
}
