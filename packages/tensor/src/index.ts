// Tensor implements Symbol.dispose (`using t = …`): the declarations name it, so a consumer whose
// `lib` predates it (es2023, no @types/node) still typechecks them.
/// <reference lib="esnext.disposable" preserve="true" />
/**
 * fusor's user API, PyTorch's vocabulary in TypeScript:
 *   import * as torch from '@fusor/tensor';
 */
import '@fusor/backend-cpu';
import { type ExplainOptions, type Explanation } from '@fusor/compiler';
import { explain as explainNodes, initBackend, memoryStats, type MemoryStats } from '@fusor/runtime';
import type { DType } from '@fusor/ir';
import * as E from './elementwise.js';
import * as R from './reduce.js';
import * as V from './views.js';
import * as L from './linalg.js';
import * as I from './indexing.js';
import * as Scan from './scan.js';
import * as Srt from './sort.js';
import * as Pointwise from './pointwise.js';
import { bindTensorOps, Tensor, type TensorLike, type DimArg, type DimOptions, type ReduceOptions, type VarArgs } from './tensor.js';
import { backward, grad, noGrad, enableGrad, isGradEnabled, setGradEnabled } from './autograd.js';
import { empty } from './creation.js';
import { castTo, copyTo } from './transfer.js';
import { gradcheck } from './gradcheck.js';
import { deviceString, type DeviceLike } from './device.js';

// Tensor's methods delegate to the op modules, which import Tensor: they are bound here, not imported there.
bindTensorOps({ E, R, V, L, I, Scan, Srt, P, A, backward, empty, copyTo, castTo, pointwise: Pointwise });

export { scope } from './lifetime.js';
export { OutOfMemoryError, setCacheBudget, getCacheBudget, setPlanCacheCapacity, type CacheBudget, type MemoryStats } from '@fusor/runtime';
export { Tensor, GradFn, DisposedError, type DimArg, type DimOptions, type ReduceOptions, type VarArgs, type ClampOptions, type TensorLike, type NestedList, type DataProperty, type Edge } from './tensor.js';
export * from './creation.js';
export { Device, device, type DeviceLike } from './device.js';
export * from './errors.js';
export { manualSeed, initialSeed, setDefaultDevice, setDefaultDtype, getDefaultDtype } from './state.js';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled, type BackwardOptions, type GradOptions } from './autograd.js';
export { setPrintOptions, getPrintOptions, type PrintOptions } from './format.js';
/** The cpu backend's options: renderer ('wasm' | 'js'), threads, SIMD. */
export { configureCpu, cpuConfig, type CpuOptions, type CpuConfig } from '@fusor/backend-cpu';
export { type Backend, type Explanation, type KernelReport } from '@fusor/compiler';
export { compilerStats, registerBackend, registeredBackends } from '@fusor/runtime';
export type { DType } from '@fusor/ir';
export type { ValuesIndices, VarOptions } from './reduce.js';
export type { IndexSpec } from './indexing.js';
export { IndexError } from './index-checks.js';
export type { ScatterOptions } from './indexing.js';

// dtypes, as torch.float32 / torch.long …
export const float32: DType = 'float32';
export const float: DType = 'float32';
export const float64: DType = 'float64';
export const double: DType = 'float64';
export const float16: DType = 'float16';
export const half: DType = 'float16';
export const bfloat16: DType = 'bfloat16';
export const int64: DType = 'int64';
export const long: DType = 'int64';
export const int32: DType = 'int32';
export const int: DType = 'int32';
export const int16: DType = 'int16';
export const short: DType = 'int16';
export const int8: DType = 'int8';
export const uint8: DType = 'uint8';
export const bool: DType = 'bool';

/** torch.autograd */
export const autograd = { grad, gradcheck, noGrad, enableGrad, isGradEnabled, setGradEnabled };
export { GradcheckError, type GradcheckOptions } from './gradcheck.js';
export { jit, JitError, type JitOptions, type Jitted } from './jit.js';

/** Brings a backend up: resolves to its description, or rejects with BackendUnavailableError saying why. */
export const init = (device: DeviceLike): Promise<string> => initBackend(deviceString(device));

/** The kernels realizing these tensors would launch, and why each is a kernel of its own. */
export function explain(tensors: Tensor | readonly Tensor[], opts?: ExplainOptions): Explanation {
  const list = tensors instanceof Tensor ? [tensors] : tensors;
  return explainNodes(list.map((t) => t.node), opts);
}

/** Live device buffers and their bytes (and how many of those bytes are a cache the runtime may drop). */
export const memory = (): MemoryStats => memoryStats();

// functional forms: torch.add(a, b) …
export const add = (a: TensorLike, b: TensorLike, opts?: { alpha?: number }): Tensor => E.add(a, b, opts);
export const sub = (a: TensorLike, b: TensorLike, opts?: { alpha?: number }): Tensor => E.sub(a, b, opts);
export const mul = (a: TensorLike, b: TensorLike): Tensor => E.mul(a, b);
export const div = (a: TensorLike, b: TensorLike, opts?: { roundingMode?: 'trunc' | 'floor' }): Tensor => E.div(a, b, opts);
export const pow = (a: TensorLike, b: TensorLike): Tensor => E.pow(a, b);
export const clamp = (x: Tensor, min?: TensorLike | null, max?: TensorLike | null): Tensor => x.clamp(min, max);
export const clip = clamp;
export * from './pointwise.js';
export const where = E.where;
export const clone = E.clone;
export const sum = (x: Tensor, dim?: DimArg | ReduceOptions, keepdim?: boolean | ReduceOptions, opts?: ReduceOptions): Tensor => x.sum(dim, keepdim, opts);
export const mean = (x: Tensor, dim?: DimArg | ReduceOptions, keepdim?: boolean | ReduceOptions, opts?: ReduceOptions): Tensor => x.mean(dim, keepdim, opts);
export const prod = (x: Tensor, dim?: number | null | ReduceOptions, keepdim?: boolean | ReduceOptions, opts?: ReduceOptions): Tensor => x.prod(dim, keepdim, opts);
export const amax = (x: Tensor, dim?: DimArg | DimOptions, keepdim?: boolean | DimOptions): Tensor => x.amax(dim, keepdim);
export const amin = (x: Tensor, dim?: DimArg | DimOptions, keepdim?: boolean | DimOptions): Tensor => x.amin(dim, keepdim);
export const argmax = (x: Tensor, dim?: number | null | DimOptions, keepdim?: boolean | DimOptions): Tensor => x.argmax(dim, keepdim);
export const argmin = (x: Tensor, dim?: number | null | DimOptions, keepdim?: boolean | DimOptions): Tensor => x.argmin(dim, keepdim);
export const logsumexp = (x: Tensor, dim: DimArg | DimOptions, keepdim?: boolean | DimOptions): Tensor => x.logsumexp(dim, keepdim);
export const std = (x: Tensor, dim?: DimArg | VarArgs, unbiased?: boolean | VarArgs, keepdim?: boolean | VarArgs): Tensor => x.std(dim, unbiased, keepdim);
export const variance = (x: Tensor, dim?: DimArg | VarArgs, unbiased?: boolean | VarArgs, keepdim?: boolean | VarArgs): Tensor => x.var(dim, unbiased, keepdim);
export { variance as var };
export const softmax = (x: Tensor, dim: number | (DimOptions & { dim: number; dtype?: DType | string }), opts?: { dtype?: DType | string }): Tensor => x.softmax(dim as number, opts);
export const logSoftmax = (x: Tensor, dim: number | (DimOptions & { dim: number; dtype?: DType | string }), opts?: { dtype?: DType | string }): Tensor => x.logSoftmax(dim as number, opts);
export const matmul = L.matmul;
export const mm = L.mm;
export const bmm = L.bmm;
export const mv = L.mv;
export const dot = L.dot;
export const cat = V.cat;
export const concat = V.cat;
export const stack = V.stack;
export const reshape = (x: Tensor, shape: readonly number[]): Tensor => x.reshape(shape);
export const flatten = (x: Tensor, startDim = 0, endDim = -1): Tensor => x.flatten(startDim, endDim);
export const permute = (x: Tensor, dims: readonly number[]): Tensor => x.permute(dims);
export const transpose = V.transpose;
export const t = V.t;
export const squeeze = (x: Tensor, dim?: number): Tensor => V.squeeze(x, dim);
export const unsqueeze = V.unsqueeze;
export const flip = (x: Tensor, dims: readonly number[]): Tensor => V.flip(x, dims);
export const narrow = V.narrow;
export const select = V.select;
export const split = (x: Tensor, splitSize: number | readonly number[], dim = 0): Tensor[] => V.split(x, splitSize, dim);
export const chunk = (x: Tensor, chunks: number, dim = 0): Tensor[] => V.chunk(x, chunks, dim);
export const unbind = (x: Tensor, dim = 0): Tensor[] => V.unbind(x, dim);
export const indexSelect = I.indexSelect;
export const gather = I.gather;
export const take = I.take;
export const scatter = I.scatter;
export const scatterAdd = I.scatterAdd;
export const indexAdd = I.indexAdd;
export const indexCopy = I.indexCopy;
export const indexPut = I.indexPut;
export const maskedFill = I.maskedFill;
export const nonzero = I.nonzero;
export const nonzeroAsync = I.nonzeroAsync;
/** torch.nn.functional.one_hot */
export const oneHot = I.oneHot;
export const cumsum = Scan.cumsum;
export const cumprod = Scan.cumprod;
export const cummax = Scan.cummax;
export const cummin = Scan.cummin;
export const logcumsumexp = Scan.logcumsumexp;
export const sort = Srt.sort;
export const argsort = Srt.argsort;
export const topk = Srt.topk;
export const kthvalue = Srt.kthvalue;
export const msort = Srt.msort;
export const median = Srt.median;
export const nanmedian = Srt.nanmedian;
export type { SortOptions, TopkOptions } from './sort.js';

// convolution, pooling, padding and activations: torch.conv2d …, and grouped as `functional` for nn.functional
import * as C from './conv.js';
import * as P from './pool.js';
import * as A from './activation.js';
export type { ConvOptions, ConvTransposeOptions, ConvArgs, ConvTransposeArgs, ConvPadding } from './conv.js';
export type { MaxPoolOptions, AvgPoolOptions, MaxPoolArgs, AvgPoolArgs, PadMode, PadOptions, UnfoldOptions } from './pool.js';
export type { GeluOptions } from './activation.js';
export type { IntOrTuple } from './args.js';
export const conv1d = C.conv1d;
export const conv2d = C.conv2d;
export const conv3d = C.conv3d;
export const convTranspose1d = C.convTranspose1d;
export const convTranspose2d = C.convTranspose2d;
export const convTranspose3d = C.convTranspose3d;
export const maxPool1d = P.maxPool1d;
export const maxPool2d = P.maxPool2d;
export const maxPool3d = P.maxPool3d;
export const avgPool1d = P.avgPool1d;
export const avgPool2d = P.avgPool2d;
export const avgPool3d = P.avgPool3d;
export const adaptiveAvgPool1d = P.adaptiveAvgPool1d;
export const adaptiveAvgPool2d = P.adaptiveAvgPool2d;
export const adaptiveAvgPool3d = P.adaptiveAvgPool3d;
export const erf = A.erf;
import * as M from './matrix.js';
import * as S from './sampling.js';
export type { ScaleOptions } from './matrix.js';
export const triu = M.triu;
export const tril = M.tril;
export const diag = M.diag;
export const outer = M.outer;
export const ger = M.outer;
export const addmm = M.addmm;
export const addmv = M.addmv;
export const baddbmm = M.baddbmm;
export { einsum } from './einsum.js';
export const bernoulli = S.bernoulli;
export const multinomial = S.multinomial;
export type { MultinomialOptions } from './sampling.js';
/** torch.nn.functional's convolution, pooling, padding and activation functions (re-exported by nn.functional). */
export const functional = {
  conv1d: C.conv1d,
  conv2d: C.conv2d,
  conv3d: C.conv3d,
  convTranspose1d: C.convTranspose1d,
  convTranspose2d: C.convTranspose2d,
  convTranspose3d: C.convTranspose3d,
  maxPool1d: P.maxPool1d,
  maxPool2d: P.maxPool2d,
  maxPool3d: P.maxPool3d,
  avgPool1d: P.avgPool1d,
  avgPool2d: P.avgPool2d,
  avgPool3d: P.avgPool3d,
  adaptiveAvgPool1d: P.adaptiveAvgPool1d,
  adaptiveAvgPool2d: P.adaptiveAvgPool2d,
  adaptiveAvgPool3d: P.adaptiveAvgPool3d,
  pad: P.pad,
  unfold: P.unfold,
  erf: A.erf,
  gelu: A.gelu,
  silu: A.silu,
  mish: A.mish,
  softplus: A.softplus,
  logsigmoid: A.logsigmoid,
  leakyRelu: A.leakyRelu,
  elu: A.elu,
  hardtanh: A.hardtanh,
  relu6: A.relu6,
  relu: Pointwise.relu,
  sigmoid: Pointwise.sigmoid,
  tanh: Pointwise.tanh,
  softmax: L.softmax,
  logSoftmax: L.logSoftmax,
} as const;
