/**
 * The one table from a fixture's op name to a call of fusor's public API. Its keys are the
 * keys of OPS in scripts/gen_golden.py, which makes the same call in PyTorch. An op whose call
 * is its public function on the case's operands (every pointwise op: `torch.expm1(x)`,
 * `torch.gt(a, b)`) needs no entry: `opFor` derives it from the frontend; an op that is neither
 * fails its cases by name rather than skipping them.
 */
import * as torch from '@fusor/tensor';
import type { DType, IndexSpec, Tensor } from '@fusor/tensor';

/** A tensor, or a Python scalar operand. */
export type Operand = Tensor | number | boolean;

/** The JSON arguments a case may carry (each op reads the ones it needs). */
export interface OpArgs {
  readonly shape?: readonly number[];
  readonly dtype?: DType;
  readonly value?: number | boolean;
  readonly n?: number;
  readonly m?: number;
  readonly start?: number;
  readonly end?: number;
  readonly step?: number;
  readonly steps?: number;
  readonly dim?: number | readonly number[];
  readonly keepdim?: boolean;
  readonly unbiased?: boolean;
  readonly alpha?: number;
  readonly roundingMode?: 'trunc' | 'floor';
  readonly min?: number;
  readonly max?: number;
  readonly dims?: readonly number[];
  readonly dim0?: number;
  readonly dim1?: number;
  readonly sizes?: readonly number[];
  readonly size?: number | readonly number[];
  readonly chunks?: number;
  readonly length?: number;
  readonly index?: number;
  readonly specs?: readonly (number | string | null | { readonly t: number })[];
  readonly value_input?: number;
  readonly nidx?: number;
  readonly accumulate?: boolean;
  readonly reduce?: 'add' | 'multiply';
  readonly descending?: boolean;
  readonly k?: number;
  readonly largest?: boolean;
  /** Keyword arguments, passed as the trailing options object (nn ops). */
  readonly kw?: Readonly<Record<string, unknown>>;
  readonly diagonal?: number;
  readonly equation?: string;
}

/** An advanced index from JSON: {t: k} is the k-th operand. */
function specsOf(x: readonly Operand[], a: OpArgs): IndexSpec[] {
  return a.specs!.map((s) => (s !== null && typeof s === 'object' ? tensorAt(x, s.t) : s));
}

/** Where the op runs: creation functions take it as an option. */
export interface OpContext {
  readonly device: string;
}

export type OpFn = (x: readonly Operand[], a: OpArgs, ctx: OpContext) => Tensor | Tensor[];

function tensorAt(x: readonly Operand[], i: number): Tensor {
  const t = x[i];
  if (t === undefined || typeof t === 'number' || typeof t === 'boolean') throw new TypeError(`operand ${i} must be a tensor`);
  return t;
}

const one = (f: (t: Tensor, a: OpArgs) => Tensor | Tensor[]): OpFn => (x, a) => f(tensorAt(x, 0), a);
const two = (f: (a: Operand, b: Operand, args: OpArgs) => Tensor): OpFn => (x, a) => f(x[0]!, x[1]!, a);
const tensors = (x: readonly Operand[]): Tensor[] => x.map((_, i) => tensorAt(x, i));

/** A dim argument that must be a single dim. */
function dimOf(a: OpArgs): number | undefined {
  if (Array.isArray(a.dim)) throw new TypeError('this op takes one dim');
  return a.dim as number | undefined;
}

const creationOpts = (a: OpArgs, ctx: OpContext): torch.TensorOptions => ({ device: ctx.device, ...(a.dtype ? { dtype: a.dtype } : {}) });
const dtypeOpt = (a: OpArgs): torch.TensorOptions => (a.dtype ? { dtype: a.dtype } : {});

const F = torch.functional;
const kw = <T>(a: OpArgs): T => (a.kw ?? {}) as T;
const maybe = (x: readonly Operand[], i: number): Tensor | null => (x.length > i ? tensorAt(x, i) : null);

/** Convolution, pooling, padding and activations: keyword arguments as one options object. */
const NN_OPS: Readonly<Record<string, OpFn>> = {
  conv1d: (x, a) => F.conv1d(tensorAt(x, 0), tensorAt(x, 1), maybe(x, 2), kw<torch.ConvOptions>(a)),
  conv2d: (x, a) => F.conv2d(tensorAt(x, 0), tensorAt(x, 1), maybe(x, 2), kw<torch.ConvOptions>(a)),
  conv3d: (x, a) => F.conv3d(tensorAt(x, 0), tensorAt(x, 1), maybe(x, 2), kw<torch.ConvOptions>(a)),
  convTranspose1d: (x, a) => F.convTranspose1d(tensorAt(x, 0), tensorAt(x, 1), maybe(x, 2), kw<torch.ConvTransposeOptions>(a)),
  convTranspose2d: (x, a) => F.convTranspose2d(tensorAt(x, 0), tensorAt(x, 1), maybe(x, 2), kw<torch.ConvTransposeOptions>(a)),
  maxPool1d: one((t, a) => F.maxPool1d(t, kw<torch.MaxPoolOptions>(a))),
  maxPool2d: one((t, a) => F.maxPool2d(t, kw<torch.MaxPoolOptions>(a))),
  avgPool1d: one((t, a) => F.avgPool1d(t, kw<torch.AvgPoolOptions>(a))),
  avgPool2d: one((t, a) => F.avgPool2d(t, kw<torch.AvgPoolOptions>(a))),
  adaptiveAvgPool2d: one((t, a) => F.adaptiveAvgPool2d(t, a.size as number | readonly (number | null)[])),
  pad: one((t, a) => F.pad(t, a.sizes!, kw<torch.PadOptions>(a))),
  unfold: one((t, a) => F.unfold(t, kw<torch.UnfoldOptions>(a))),
  tensorUnfold: one((t, a) => t.unfold(dimOf(a)!, a.size as number, a.step!)),
  erf: one((t) => t.erf()),
  gelu: one((t, a) => F.gelu(t, kw<torch.GeluOptions>(a))),
  silu: one((t) => F.silu(t)),
  mish: one((t) => F.mish(t)),
  softplus: one((t, a) => F.softplus(t, kw<{ beta?: number }>(a).beta, kw<{ threshold?: number }>(a).threshold)),
  logsigmoid: one((t) => F.logsigmoid(t)),
  leakyRelu: one((t, a) => F.leakyRelu(t, kw<{ negativeSlope?: number }>(a).negativeSlope)),
  elu: one((t, a) => F.elu(t, kw<{ alpha?: number }>(a).alpha)),
  hardtanh: one((t, a) => F.hardtanh(t, kw<{ minVal?: number }>(a).minVal, kw<{ maxVal?: number }>(a).maxVal)),
  relu6: one((t) => F.relu6(t)),
  triu: one((t, a) => torch.triu(t, a.diagonal ?? 0)),
  tril: one((t, a) => torch.tril(t, a.diagonal ?? 0)),
  diag: one((t, a) => torch.diag(t, a.diagonal ?? 0)),
  outer: (x) => torch.outer(tensorAt(x, 0), tensorAt(x, 1)),
  addmm: (x, a) => torch.addmm(tensorAt(x, 0), tensorAt(x, 1), tensorAt(x, 2), kw<torch.ScaleOptions>(a)),
  addmv: (x, a) => torch.addmv(tensorAt(x, 0), tensorAt(x, 1), tensorAt(x, 2), kw<torch.ScaleOptions>(a)),
  baddbmm: (x, a) => torch.baddbmm(tensorAt(x, 0), tensorAt(x, 1), tensorAt(x, 2), kw<torch.ScaleOptions>(a)),
  einsum: (x, a) => torch.einsum(a.equation!, tensors(x)),
};

export const OPS: Readonly<Record<string, OpFn>> = {
  // creation
  zeros: (_, a, ctx) => torch.zeros(a.shape!, creationOpts(a, ctx)),
  ones: (_, a, ctx) => torch.ones(a.shape!, creationOpts(a, ctx)),
  empty: (_, a, ctx) => torch.empty(a.shape!, creationOpts(a, ctx)),
  full: (_, a, ctx) => torch.full(a.shape!, a.value!, creationOpts(a, ctx)),
  eye: (_, a, ctx) => (a.m === undefined ? torch.eye(a.n!, creationOpts(a, ctx)) : torch.eye(a.n!, a.m, creationOpts(a, ctx))),
  arange: (_, a, ctx) =>
    a.start === undefined
      ? torch.arange(a.end!, creationOpts(a, ctx))
      : a.step === undefined
        ? torch.arange(a.start, a.end!, creationOpts(a, ctx))
        : torch.arange(a.start, a.end!, a.step, creationOpts(a, ctx)),
  linspace: (_, a, ctx) => torch.linspace(a.start!, a.end!, a.steps!, creationOpts(a, ctx)),
  zerosLike: one((t, a) => torch.zerosLike(t, dtypeOpt(a))),
  onesLike: one((t, a) => torch.onesLike(t, dtypeOpt(a))),
  fullLike: one((t, a) => torch.fullLike(t, a.value!, dtypeOpt(a))),
  emptyLike: one((t, a) => torch.emptyLike(t, dtypeOpt(a))),

  // unary
  square: one((t) => t.square()),
  clamp: one((t, a) => t.clamp(a.min, a.max)),
  clone: one((t) => t.clone()),
  to: one((t, a) => t.to(a.dtype!)),
  float: one((t) => t.float()),
  double: one((t) => t.double()),
  long: one((t) => t.long()),
  int: one((t) => t.int()),
  bool: one((t) => t.bool()),

  // binary
  add: two((x, y, a) => torch.add(x, y, a.alpha === undefined ? {} : { alpha: a.alpha })),
  sub: two((x, y, a) => torch.sub(x, y, a.alpha === undefined ? {} : { alpha: a.alpha })),
  mul: two((x, y) => torch.mul(x, y)),
  div: two((x, y, a) => torch.div(x, y, a.roundingMode === undefined ? {} : { roundingMode: a.roundingMode })),
  pow: two((x, y) => torch.pow(x, y)),
  maximum: (x) => torch.maximum(tensorAt(x, 0), tensorAt(x, 1)),
  minimum: (x) => torch.minimum(tensorAt(x, 0), tensorAt(x, 1)),
  where: (x) => torch.where(tensorAt(x, 0), x[1]!, x[2]!),

  // reductions
  sum: one((t, a) => t.sum(a.dim, a.keepdim ?? false, dtypeOpt(a))),
  mean: one((t, a) => t.mean(a.dim, a.keepdim ?? false)),
  prod: one((t, a) => t.prod(dimOf(a), a.keepdim ?? false)),
  max: one((t, a) => (a.dim === undefined ? t.max() : [...t.max(dimOf(a)!, a.keepdim ?? false)])),
  min: one((t, a) => (a.dim === undefined ? t.min() : [...t.min(dimOf(a)!, a.keepdim ?? false)])),
  amax: one((t, a) => t.amax(a.dim, a.keepdim ?? false)),
  amin: one((t, a) => t.amin(a.dim, a.keepdim ?? false)),
  argmax: one((t, a) => t.argmax(dimOf(a), a.keepdim ?? false)),
  argmin: one((t, a) => t.argmin(dimOf(a), a.keepdim ?? false)),
  var: one((t, a) => t.var(a.dim ?? null, a.unbiased ?? true, a.keepdim ?? false)),
  std: one((t, a) => t.std(a.dim ?? null, a.unbiased ?? true, a.keepdim ?? false)),
  logsumexp: one((t, a) => t.logsumexp(a.dim!, a.keepdim ?? false)),
  all: one((t, a) => t.all(dimOf(a), a.keepdim ?? false)),
  any: one((t, a) => t.any(dimOf(a), a.keepdim ?? false)),

  // shape
  reshape: one((t, a) => t.reshape(a.shape!)),
  view: one((t, a) => t.view(a.shape!)),
  permute: one((t, a) => t.permute(a.dims!)),
  transpose: one((t, a) => t.transpose(a.dim0!, a.dim1!)),
  swapaxes: one((t, a) => t.swapaxes(a.dim0!, a.dim1!)),
  t: one((t) => t.t()),
  T: one((t) => t.T),
  mT: one((t) => t.mT),
  squeeze: one((t, a) => t.squeeze(dimOf(a))),
  unsqueeze: one((t, a) => t.unsqueeze(dimOf(a)!)),
  expand: one((t, a) => t.expand(a.sizes!)),
  expandAs: (x) => tensorAt(x, 0).expandAs(tensorAt(x, 1)),
  repeat: one((t, a) => t.repeat(a.sizes!)),
  flatten: one((t, a) => t.flatten(a.start ?? 0, a.end ?? -1)),
  flip: one((t, a) => t.flip(a.dims!)),
  cat: (x, a) => torch.cat(tensors(x), dimOf(a) ?? 0),
  stack: (x, a) => torch.stack(tensors(x), dimOf(a) ?? 0),
  split: one((t, a) => t.split(a.size!, dimOf(a) ?? 0)),
  chunk: one((t, a) => t.chunk(a.chunks!, dimOf(a) ?? 0)),
  unbind: one((t, a) => t.unbind(dimOf(a) ?? 0)),
  narrow: one((t, a) => t.narrow(dimOf(a)!, a.start!, a.length!)),
  select: one((t, a) => t.select(dimOf(a)!, a.index!)),
  index: one((t, a) => t.index(...(a.specs! as IndexSpec[]))),
  indexSelect: (x, a) => tensorAt(x, 0).indexSelect(dimOf(a)!, tensorAt(x, 1)),
  gather: (x, a) => tensorAt(x, 0).gather(dimOf(a)!, tensorAt(x, 1)),
  contiguous: one((t) => t.contiguous()),

  // indexed loads and stores, scans
  indexT: (x, a) => tensorAt(x, 0).index(...specsOf(x, a)),
  set: (x, a) => tensorAt(x, 0).clone().set(specsOf(x, a), a.value_input === undefined ? a.value! : tensorAt(x, a.value_input)),
  indexPut: (x, a) => tensorAt(x, 0).indexPut(tensors(x).slice(1, 1 + a.nidx!), tensorAt(x, 1 + a.nidx!), a.accumulate ?? false),
  take: (x) => tensorAt(x, 0).take(tensorAt(x, 1)),
  scatter: (x, a) => tensorAt(x, 0).scatter(dimOf(a)!, tensorAt(x, 1), x.length > 2 ? tensorAt(x, 2) : (a.value as number), a.reduce === undefined ? {} : { reduce: a.reduce }),
  scatterAdd: (x, a) => tensorAt(x, 0).scatterAdd(dimOf(a)!, tensorAt(x, 1), tensorAt(x, 2)),
  indexAdd: (x, a) => tensorAt(x, 0).indexAdd(dimOf(a)!, tensorAt(x, 1), tensorAt(x, 2), a.alpha === undefined ? {} : { alpha: a.alpha }),
  indexCopy: (x, a) => tensorAt(x, 0).indexCopy(dimOf(a)!, tensorAt(x, 1), tensorAt(x, 2)),
  maskedFill: (x, a) => tensorAt(x, 0).maskedFill(tensorAt(x, 1), a.value!),
  oneHot: (x, a) => torch.oneHot(tensorAt(x, 0), a.n ?? -1),
  nonzero: one((t) => t.nonzero()),
  cumsum: one((t, a) => t.cumsum(dimOf(a)!)),
  cumprod: one((t, a) => t.cumprod(dimOf(a)!)),
  cummax: one((t, a) => [...t.cummax(dimOf(a)!)]),
  cummin: one((t, a) => [...t.cummin(dimOf(a)!)]),
  logcumsumexp: one((t, a) => t.logcumsumexp(dimOf(a)!)),
  sort: one((t, a) => [...t.sort(dimOf(a) ?? -1, a.descending ?? false)]),
  argsort: one((t, a) => t.argsort(dimOf(a) ?? -1, a.descending ?? false)),
  topk: one((t, a) => [...t.topk(a.k!, dimOf(a) ?? -1, a.largest ?? true)]),
  kthvalue: one((t, a) => [...t.kthvalue(a.k!, dimOf(a) ?? -1, a.keepdim ?? false)]),
  msort: one((t) => t.msort()),
  median: one((t, a) => (dimOf(a) === undefined ? t.median() : [...t.median(dimOf(a)!, a.keepdim ?? false)])),
  nanmedian: one((t, a) => (dimOf(a) === undefined ? t.nanmedian() : [...t.nanmedian(dimOf(a)!, a.keepdim ?? false)])),

  // linear algebra and softmax
  mm: (x) => torch.mm(tensorAt(x, 0), tensorAt(x, 1)),
  bmm: (x) => torch.bmm(tensorAt(x, 0), tensorAt(x, 1)),
  mv: (x) => torch.mv(tensorAt(x, 0), tensorAt(x, 1)),
  dot: (x) => torch.dot(tensorAt(x, 0), tensorAt(x, 1)),
  matmul: (x) => torch.matmul(tensorAt(x, 0), tensorAt(x, 1)),
  softmax: one((t, a) => t.softmax(dimOf(a)!)),
  logSoftmax: one((t, a) => t.logSoftmax(dimOf(a)!)),
  ...NN_OPS,
};

/**
 * The call of a fixture's op: its OPS entry, or else fusor's public function of the same name on
 * the case's operands, positionally (a case with arguments needs an entry, which says where they go).
 */
export function opFor(name: string): OpFn | undefined {
  const own = OPS[name];
  if (own) return own;
  const f = (torch as unknown as Readonly<Record<string, unknown>>)[name];
  if (typeof f !== 'function') return undefined;
  return (x, a) => {
    const args = Object.keys(a);
    if (args.length) throw new Error(`op '${name}' has arguments (${args.join(', ')}): give it an entry in OPS (src/ops.ts)`);
    return (f as (...operands: readonly Operand[]) => Tensor | Tensor[])(...x);
  };
}
