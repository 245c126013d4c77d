/**
 * Convolutions as im2col + a batched matrix product, in IR primitives only:
 *
 *   cols[n, g, c·k, l] = the input's sliding windows (movement ops: windows.ts), made
 *                        contiguous so the product reads it as one strided matrix;
 *   out[n, g, o, l]    = Σ_ck W[g, o, ck] · cols[n, g, ck, l]
 *
 * The product is written as the contraction the compiler hands to the backend's GEMM routine
 * (compiler/src/contraction.ts). The weight is broadcast first over the batch, then over the
 * output positions — two expands — so that its gradient is a per-sample GEMM summed over the
 * batch afterwards (a single expand would make it one reduction over (batch, positions), which
 * no strided matrix describes in NCHW and so would not reach the GEMM routine).
 */
import { contiguousNode, expandNode, flipNode, permuteNode, reshapeNode, ShapeError, type Node } from '@fusor/ir';
import * as D from './decompose.js';
import { bindArgs, intArg, intTuple, tensorArg, type CallArgs, type IntOrTuple } from './args.js';
import { DTYPE_TITLE } from './elementwise.js';
import { record, type Tensor } from './tensor.js';
import { slidingWindows } from './windows.js';

export type ConvPadding = IntOrTuple | 'same' | 'valid';

export interface ConvOptions {
  bias?: Tensor | null;
  stride?: IntOrTuple;
  padding?: ConvPadding;
  dilation?: IntOrTuple;
  groups?: number;
}

export interface ConvTransposeOptions {
  bias?: Tensor | null;
  stride?: IntOrTuple;
  padding?: IntOrTuple;
  outputPadding?: IntOrTuple;
  groups?: number;
  dilation?: IntOrTuple;
}

/** conv2d(input, weight, bias?, stride?, padding?, dilation?, groups?, options?) */
export type ConvArgs = CallArgs<[bias: Tensor | null, stride: IntOrTuple, padding: ConvPadding, dilation: IntOrTuple, groups: number], ConvOptions>;
/** convTranspose2d(input, weight, bias?, stride?, padding?, outputPadding?, groups?, dilation?, options?) */
export type ConvTransposeArgs = CallArgs<
  [bias: Tensor | null, stride: IntOrTuple, padding: IntOrTuple, outputPadding: IntOrTuple, groups: number, dilation: IntOrTuple],
  ConvTransposeOptions
>;

const TENSOR_TYPE: Readonly<Record<string, string>> = { float32: 'torch.FloatTensor', float64: 'torch.DoubleTensor', float16: 'torch.HalfTensor', bfloat16: 'torch.BFloat16Tensor' };
const tensorType = (t: Tensor): string => TENSOR_TYPE[t.dtype] ?? `torch.${DTYPE_TITLE[t.dtype]}Tensor`;
const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

function checkDtypes(fn: string, input: Tensor, weight: Tensor, bias: Tensor | null): void {
  if (input.dtype !== weight.dtype) {
    throw new TypeError(
      `Input type (${tensorType(input)}) and weight type (${tensorType(weight)}) should be the same or input should be a MKLDNN tensor and weight is a dense tensor`,
    );
  }
  if (bias && bias.dtype !== input.dtype) {
    throw new TypeError(`Input type (${tensorType(input)}) and bias type (${tensorType(bias)}) should be the same`);
  }
  if (!['float32', 'float64', 'float16', 'bfloat16'].includes(input.dtype)) {
    throw new TypeError(`"${fn}" not implemented for '${DTYPE_TITLE[input.dtype]}'`);
  }
  const devices = new Set([input.device, weight.device, ...(bias ? [bias.device] : [])]);
  if (devices.size > 1) {
    const [a, b] = [...devices];
    throw new Error(`Expected all tensors to be on the same device, but found at least two devices, ${a} and ${b}!`);
  }
}

function checkPositive(stride: readonly number[], dilation: readonly number[], groups: number): void {
  if (stride.some((s) => s <= 0)) throw new RangeError('non-positive stride is not supported');
  if (dilation.some((d) => d <= 0)) throw new RangeError('non-positive dilation is not supported');
  if (groups <= 0) throw new RangeError('non-positive groups is not supported');
}

/** `expected stride to be a single integer value or a list of 1 values …`: a tuple of the wrong length. */
function checkLength(name: string, values: readonly number[], nd: number): void {
  if (values.length !== nd) {
    throw new RangeError(
      `expected ${name} to be a single integer value or a list of ${nd} values to match the convolution dimensions, but got ${name}=${fmt(values)}`,
    );
  }
}

/** The input with a batch dim (unbatched inputs get one, PyTorch style), or PyTorch's error. */
function batched(fn: string, input: Tensor, nd: number): { x: Node; unbatched: boolean } {
  if (input.ndim === nd + 2) return { x: input.node, unbatched: false };
  if (input.ndim === nd + 1) return { x: reshapeNode(input.node, [1, ...input.shape]), unbatched: true };
  throw new ShapeError(`Expected ${nd + 1}D (unbatched) or ${nd + 2}D (batched) input to ${fn}, but got input of size: ${fmt(input.shape)}`);
}

/**
 * The convolution of x[N, C, S...] (already padded) with w[O, C/g, K...] at stride s and
 * dilation d, as im2col + GEMM. Returns [N, O, out...].
 */
export function convNodes(
  x: Node,
  w: Node,
  stride: readonly number[],
  dilation: readonly number[],
  groups: number,
  lo: readonly number[],
  hi: readonly number[],
  spread: readonly number[] = stride.map(() => 1),
): Node {
  const nd = stride.length;
  const [n, c] = x.shape as [number, number];
  const o = w.shape[0]!;
  const k = w.shape.slice(2);
  const cg = c / groups;
  const og = o / groups;
  const ck = cg * k.reduce((a, b) => a * b, 1);
  const pointwise = k.every((v) => v === 1) && [...stride, ...spread].every((v) => v === 1) && [...lo, ...hi].every((v) => v === 0);
  let cols: Node;
  let out: number[];
  if (pointwise) {
    // a 1×1 convolution is already a matrix product over the channels
    out = x.shape.slice(2);
    cols = reshapeNode(x, [n, groups, ck, out.reduce((a, b) => a * b, 1)]);
  } else {
    const win = slidingWindows(x, k, stride, dilation, lo, hi, 0, spread); // [N, C, k..., out...]
    out = win.shape.slice(2 + nd);
    // the columns are a buffer: the GEMM routine reads them as one strided matrix per sample
    cols = reshapeNode(contiguousNode(win), [n, groups, ck, out.reduce((a, b) => a * b, 1)]);
  }
  const l = cols.shape[3]!;
  // the product over [n, g, o, ck, l]: each GEMM's result is laid out as the array it stands for
  // (out[n, o, l], the input gradient's columns [n, ck, l] in im2col's own order, so col2im reads
  // them in sequence, and the weight gradient [o, ck])
  const full = [n, groups, og, ck, l];
  const wv = expandNode(expandNode(reshapeNode(w, [1, groups, og, ck, 1]), [n, groups, og, ck, 1]), full);
  const cv = expandNode(reshapeNode(cols, [n, groups, 1, ck, l]), full);
  return reshapeNode(D.sumAxes(D.mul(wv, cv), [3]), [n, o, ...out]);
}

function addBias(y: Node, bias: Tensor | null): Node {
  if (!bias) return y;
  const shape = y.shape.map((v, i) => (i === 1 ? v : 1));
  return D.add(y, expandNode(reshapeNode(bias.node, shape), y.shape));
}

function checkBias(weight: Tensor, bias: Tensor | null, channels: number): void {
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== channels)) {
    throw new ShapeError(
      `Given weight of size ${fmt(weight.shape)}, expected bias to be 1-dimensional with ${channels} elements, but got bias of size ${fmt(bias.shape)} instead`,
    );
  }
}

export function convNd(nd: number, fn: string, input: Tensor, weight: Tensor, args: readonly unknown[]): Tensor {
  const a = bindArgs(fn, ['bias', 'stride', 'padding', 'dilation', 'groups'], args);
  const bias = tensorArg<Tensor>(fn, 'bias', a['bias']);
  const stride = intTuple(fn, 'stride', a['stride'], nd, 1);
  const dilation = intTuple(fn, 'dilation', a['dilation'], nd, 1);
  const groups = intArg(fn, 'groups', a['groups'], 1);
  const padArg = a['padding'];
  if (typeof padArg === 'string' && padArg !== 'same' && padArg !== 'valid') throw new RangeError(`Invalid padding string: '${padArg}'`);
  const padding = typeof padArg === 'string' ? new Array<number>(nd).fill(0) : intTuple(fn, 'padding', padArg, nd, 0);
  const { x, unbatched } = batched(fn, input, nd);
  checkLength('stride', stride, nd);
  checkLength('padding', padding, nd);
  checkLength('dilation', dilation, nd);
  if (weight.ndim !== nd + 2) {
    throw new ShapeError(`weight should have at least three dimensions`);
  }
  if (padding.some((p) => p < 0)) throw new RangeError('negative padding is not supported');
  checkPositive(stride, dilation, groups);
  checkDtypes(fn === 'conv2d' ? 'slow_conv2d_cpu' : fn === 'conv1d' ? 'slow_conv2d_cpu' : 'slow_conv3d_cpu', input, weight, bias);
  const [oc, cg] = weight.shape as [number, number];
  if (oc % groups !== 0) {
    throw new ShapeError(`Given groups=${groups}, expected weight to be divisible by ${groups} at dimension 0, but got weight of size [${fmt(weight.shape)}] instead`);
  }
  if (x.shape[1] !== cg * groups) {
    throw new ShapeError(
      `Given groups=${groups}, weight of size ${fmt(weight.shape)}, expected input${fmt(x.shape)} to have ${cg * groups} channels, but got ${x.shape[1]} channels instead`,
    );
  }
  checkBias(weight, bias, oc);
  const k = weight.shape.slice(2);
  let lo = padding;
  let hi = padding;
  if (padArg === 'same') {
    if (stride.some((s) => s !== 1)) throw new RangeError("padding='same' is not supported for strided convolutions");
    // the total d·(k−1), the odd one on the right as PyTorch
    lo = k.map((kk, i) => Math.floor((dilation[i]! * (kk - 1)) / 2));
    hi = k.map((kk, i) => dilation[i]! * (kk - 1) - lo[i]!);
  }
  const spatial = x.shape.slice(2);
  const padded = spatial.map((s, i) => s + lo[i]! + hi[i]!);
  const effective = k.map((kk, i) => dilation[i]! * (kk - 1) + 1);
  if (padded.some((s, i) => s < effective[i]!)) {
    throw new ShapeError(
      `Calculated padded input size per channel: (${padded.join(' x ')}). Kernel size: (${effective.join(' x ')}). Kernel size can't be greater than actual input size`,
    );
  }
  let y = addBias(convNodes(x, weight.node, stride, dilation, groups, lo, hi), bias);
  if (unbatched) y = reshapeNode(y, y.shape.slice(1));
  return record('ConvolutionBackward0', y, [input, weight, ...(bias ? [bias] : [])]);
}

export function convTransposeNd(nd: number, fn: string, input: Tensor, weight: Tensor, args: readonly unknown[]): Tensor {
  const a = bindArgs(fn, ['bias', 'stride', 'padding', 'outputPadding', 'groups', 'dilation'], args);
  const bias = tensorArg<Tensor>(fn, 'bias', a['bias']);
  const stride = intTuple(fn, 'stride', a['stride'], nd, 1);
  const padding = intTuple(fn, 'padding', a['padding'], nd, 0);
  const outputPadding = intTuple(fn, 'output_padding', a['outputPadding'], nd, 0);
  const dilation = intTuple(fn, 'dilation', a['dilation'], nd, 1);
  const groups = intArg(fn, 'groups', a['groups'], 1);
  const { x, unbatched } = batched(fn, input, nd);
  checkLength('stride', stride, nd);
  checkLength('padding', padding, nd);
  checkLength('dilation', dilation, nd);
  checkLength('output_padding', outputPadding, nd);
  if (weight.ndim !== nd + 2) throw new ShapeError(`weight should have at least three dimensions`);
  if (padding.some((p) => p < 0)) throw new RangeError('negative padding is not supported');
  if (outputPadding.some((p) => p < 0)) throw new RangeError('negative output_padding is not supported');
  checkPositive(stride, dilation, groups);
  checkDtypes(`slow_conv_transpose${nd}d_out_cpu`, input, weight, bias);
  const [ic, og] = weight.shape as [number, number];
  if (ic % groups !== 0) {
    throw new ShapeError(`Given groups=${groups}, expected weight to be divisible by ${groups} at dimension 0, but got weight of size [${fmt(weight.shape)}] instead`);
  }
  if (x.shape[1] !== ic) {
    throw new ShapeError(
      `Given transposed=1, weight of size ${fmt(weight.shape)}, expected input${fmt(x.shape)} to have ${ic} channels, but got ${x.shape[1]} channels instead`,
    );
  }
  if (outputPadding.some((p, i) => p >= stride[i]! && p >= dilation[i]!)) {
    const axes = nd === 1 ? [''] : nd === 2 ? ['_height', '_width'] : ['_depth', '_height', '_width'];
    const part = (name: string, v: readonly number[]): string => axes.map((ax, i) => `${name}${ax}: ${v[i]}`).join(' ');
    throw new RangeError(
      `output padding must be smaller than either stride or dilation, but got ${part('output_padding', outputPadding)} ${part('stride', stride)} ${part('dilation', dilation)}`,
    );
  }
  checkBias(weight, bias, og * groups);
  const k = weight.shape.slice(2);
  // a convolution of the input spread out by the stride (s − 1 zeros between samples, read from
  // the window table, never stored), padded by d·(k−1) − p (plus the output padding on the far
  // side), with the flipped, in/out-swapped kernel: the gradient of a convolution for its input
  const lo = k.map((kk, i) => dilation[i]! * (kk - 1) - padding[i]!);
  const hi = lo.map((v, i) => v + outputPadding[i]!);
  const spatialAxes = k.map((_, i) => 3 + i);
  let w = reshapeNode(weight.node, [groups, ic / groups, og, ...k]);
  w = flipNode(permuteNode(w, [0, 2, 1, ...spatialAxes]), spatialAxes);
  w = contiguousNode(reshapeNode(w, [groups * og, ic / groups, ...k]));
  let y = addBias(convNodes(x, w, new Array<number>(nd).fill(1), dilation, groups, lo, hi, stride), bias);
  if (unbatched) y = reshapeNode(y, y.shape.slice(1));
  return record('ConvolutionBackward0', y, [input, weight, ...(bias ? [bias] : [])]);
}

export const conv1d = (input: Tensor, weight: Tensor, ...args: ConvArgs): Tensor => convNd(1, 'conv1d', input, weight, args);
export const conv2d = (input: Tensor, weight: Tensor, ...args: ConvArgs): Tensor => convNd(2, 'conv2d', input, weight, args);
export const conv3d = (input: Tensor, weight: Tensor, ...args: ConvArgs): Tensor => convNd(3, 'conv3d', input, weight, args);
export const convTranspose1d = (input: Tensor, weight: Tensor, ...args: ConvTransposeArgs): Tensor =>
  convTransposeNd(1, 'conv_transpose1d', input, weight, args);
export const convTranspose2d = (input: Tensor, weight: Tensor, ...args: ConvTransposeArgs): Tensor =>
  convTransposeNd(2, 'conv_transpose2d', input, weight, args);
export const convTranspose3d = (input: Tensor, weight: Tensor, ...args: ConvTransposeArgs): Tensor =>
  convTransposeNd(3, 'conv_transpose3d', input, weight, args);
