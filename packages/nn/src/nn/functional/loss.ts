/**
 * Loss functions with PyTorch 1.13's formulas and reductions.
 *
 * crossEntropy / nllLoss pick the target's class with a one-hot mask (target == class index)
 * instead of a gather, so the whole loss (and its gradient) fuses and an ignored target
 * (ignoreIndex) needs no special index. Targets out of range raise "Target 7 is out of bounds."
 * eagerly on cpu; on devices without synchronous reads (webgpu) the check would need a
 * round trip, so there an out-of-range target simply matches no class (it contributes 0).
 */
import * as torch from '@fusor/tensor';
import { JitError, ShapeError, Tensor } from '@fusor/tensor';
import { parseArgs, str, num, optTensor, REDUCTIONS, type Reduction, describe } from '../args.js';

export type { Reduction };

export function applyReduction(loss: Tensor, reduction: Reduction): Tensor {
  if (reduction === 'mean') return loss.mean();
  if (reduction === 'sum') return loss.sum();
  return loss;
}

const torchSize = (s: readonly number[]): string => `torch.Size([${s.join(', ')}])`;

/** binary_cross_entropy's check, in its words (a ValueError in PyTorch, without the function's name). */
function checkSameSize(input: Tensor, target: Tensor): void {
  if (input.shape.join() !== target.shape.join()) {
    throw new ShapeError(`Using a target size (${torchSize(target.shape)}) that is different to the input size (${torchSize(input.shape)}) is deprecated. Please ensure they have the same size.`);
  }
}

function pointwiseArgs(fn: string, rest: unknown[], extra: readonly string[] = []): Record<string, unknown> {
  const a = parseArgs(fn, [], ['reduction', ...extra], rest);
  return a;
}

function broadcastPair(input: Tensor, target: Tensor): void {
  // PyTorch only warns when the shapes differ and broadcasts; a shape that cannot broadcast raises in the op
  void input;
  void target;
}

export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  const a = pointwiseArgs('mse_loss', [opts]);
  broadcastPair(input, target);
  return applyReduction(input.sub(target).square(), str('mse_loss', 'reduction', a['reduction'], 'mean', REDUCTIONS));
}

export function l1Loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  const a = pointwiseArgs('l1_loss', [opts]);
  return applyReduction(input.sub(target).abs(), str('l1_loss', 'reduction', a['reduction'], 'mean', REDUCTIONS));
}

export function smoothL1Loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction; beta?: number } = {}): Tensor {
  const a = pointwiseArgs('smooth_l1_loss', [opts], ['beta']);
  const beta = num('smooth_l1_loss', 'beta', a['beta'], 1.0);
  if (beta < 0) throw new RangeError('smooth_l1_loss does not support negative values for beta.');
  const d = input.sub(target).abs();
  const loss = beta === 0 ? d : torch.where(d.lt(beta), d.square().mul(0.5 / beta), d.sub(0.5 * beta));
  return applyReduction(loss, str('smooth_l1_loss', 'reduction', a['reduction'], 'mean', REDUCTIONS));
}

export function huberLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction; delta?: number } = {}): Tensor {
  const a = pointwiseArgs('huber_loss', [opts], ['delta']);
  const delta = num('huber_loss', 'delta', a['delta'], 1.0);
  if (delta <= 0) throw new RangeError('huber_loss does not support non-positive values for delta.');
  const d = input.sub(target).abs();
  const loss = torch.where(d.lt(delta), d.square().mul(0.5), d.sub(0.5 * delta).mul(delta));
  return applyReduction(loss, str('huber_loss', 'reduction', a['reduction'], 'mean', REDUCTIONS));
}

export interface NllOptions {
  weight?: Tensor | null;
  ignoreIndex?: number;
  reduction?: Reduction;
}
export interface CrossEntropyOptions extends NllOptions {
  labelSmoothing?: number;
}

/** Checks integer targets' values where a synchronous read is possible (cpu, outside jit tracing). */
function checkTargetRange(target: Tensor, numClasses: number, ignoreIndex: number): void {
  if (target.device !== 'cpu') return;
  let values: ArrayLike<number | bigint>;
  try {
    values = target.dataSync() as ArrayLike<number | bigint>;
  } catch (e) {
    if (e instanceof JitError) return; // a traced step: the values read now would be stale at replay
    throw e;
  }
  for (let i = 0; i < values.length; i++) {
    const t = Number(values[i]);
    if (t !== ignoreIndex && (t < 0 || t >= numClasses)) throw new RangeError(`Target ${t} is out of bounds.`);
  }
}

/** Shape of a per-class vector broadcast along the class dim of `x`. */
const classShape = (x: Tensor, cdim: number): number[] => x.shape.map((s, i) => (i === cdim ? s : 1));

function checkIndexTarget(fn: string, input: Tensor, target: Tensor): number {
  if (target.dtype !== 'int64' && target.dtype !== 'int32' && target.dtype !== 'uint8' && target.dtype !== 'int16' && target.dtype !== 'int8') {
    throw new TypeError(`${fn}: expected scalar type Long but found ${target.dtype === 'float32' ? 'Float' : target.dtype}`);
  }
  if (input.ndim === 0) throw new ShapeError('input tensor should be 1D or 2D');
  const cdim = input.ndim === 1 ? 0 : 1;
  if (input.ndim === 1) {
    if (target.ndim !== 0) throw new ShapeError(`0D or 1D target tensor expected, multi-target not supported`);
    return cdim;
  }
  if (target.ndim !== input.ndim - 1) {
    throw new ShapeError(input.ndim === 2 ? '0D or 1D target tensor expected, multi-target not supported' : `Expected target size [${[input.shape[0], ...input.shape.slice(2)].join(', ')}], got [${target.shape.join(', ')}]`);
  }
  if (input.shape[0] !== target.shape[0]) {
    throw new ShapeError(`Expected input batch_size (${input.shape[0]}) to match target batch_size (${target.shape[0]}).`);
  }
  const expected = [input.shape[0]!, ...input.shape.slice(2)];
  if (expected.join() !== target.shape.join()) throw new ShapeError(`Expected target size [${expected.join(', ')}], got [${target.shape.join(', ')}]`);
  return cdim;
}

interface NllParts {
  loss: Tensor; // per element, weighted, 0 where ignored
  weightSum: Tensor; // Σ of the picked weights over non-ignored elements
  valid: Tensor; // bool, target != ignoreIndex
}

function nllParts(logp: Tensor, target: Tensor, weight: Tensor | null, ignoreIndex: number, cdim: number): NllParts {
  const c = logp.shape[cdim]!;
  const classes = torch.arange(c, { dtype: 'int64', device: logp.device }).reshape(classShape(logp, cdim));
  const onehot = target.unsqueeze(cdim).eq(classes);
  const picked = torch.where(onehot, logp, 0).sum(cdim);
  const valid = target.ne(ignoreIndex);
  let w: Tensor = valid.to(logp.dtype);
  if (weight) w = torch.where(onehot, weight.reshape(classShape(logp, cdim)), 0).sum(cdim).mul(w);
  return { loss: picked.neg().mul(w), weightSum: w.sum(), valid };
}

function readNllArgs(fn: string, rest: unknown[], extra: readonly string[] = []): Record<string, unknown> {
  return parseArgs(fn, ['weight'], ['ignoreIndex', 'reduction', ...extra], rest);
}

function checkWeight(fn: string, weight: Tensor | null, c: number): void {
  if (weight && (weight.ndim !== 1 || weight.shape[0] !== c)) {
    throw new ShapeError(`${fn}: weight tensor should be defined either for all ${c} classes or no classes but got weight tensor of shape: [${weight.shape.join(', ')}]`);
  }
}

/** Negative log likelihood of log-probabilities `input` [N, C, …] at integer `target` [N, …]. */
export function nllLoss(input: Tensor, target: Tensor, ...rest: [(Tensor | null | NllOptions)?, NllOptions?]): Tensor {
  const a = readNllArgs('nll_loss', rest);
  const weight = optTensor('nll_loss', 'weight', a['weight']);
  const ignoreIndex = num('nll_loss', 'ignore_index', a['ignoreIndex'], -100);
  const reduction = str('nll_loss', 'reduction', a['reduction'], 'mean', REDUCTIONS);
  const cdim = checkIndexTarget('nll_loss', input, target);
  const c = input.shape[cdim]!;
  checkWeight('nll_loss', weight, c);
  checkTargetRange(target, c, ignoreIndex);
  const p = nllParts(input, target, weight, ignoreIndex, cdim);
  if (reduction === 'none') return p.loss;
  if (reduction === 'sum') return p.loss.sum();
  return p.loss.sum().div(p.weightSum);
}

/**
 * Cross entropy of logits `input` [N, C, …] (or [C]) against class indices [N, …] or class
 * probabilities shaped like the input; weight, ignoreIndex, labelSmoothing and reductions as 1.13.
 */
export function crossEntropy(input: Tensor, target: Tensor, ...rest: [(Tensor | null | CrossEntropyOptions)?, CrossEntropyOptions?]): Tensor {
  const fn = 'cross_entropy';
  const a = readNllArgs(fn, rest, ['labelSmoothing']);
  const weight = optTensor(fn, 'weight', a['weight']);
  const ignoreIndex = num(fn, 'ignore_index', a['ignoreIndex'], -100);
  const reduction = str(fn, 'reduction', a['reduction'], 'mean', REDUCTIONS);
  const eps = num(fn, 'label_smoothing', a['labelSmoothing'], 0);
  if (eps < 0 || eps > 1) throw new RangeError(`label_smoothing must be between 0.0 and 1.0. Got: ${eps}`);
  if (!(input instanceof Tensor)) throw new TypeError(`cross_entropy(): argument 'input' must be Tensor, not ${describe(input)}`);
  if (!(target instanceof Tensor)) throw new TypeError(`cross_entropy(): argument 'target' must be Tensor, not ${describe(target)}`);
  const cdim = input.ndim === 1 ? 0 : 1;
  const c = input.shape[cdim]!;
  checkWeight(fn, weight, c);
  const logp = input.logSoftmax(cdim);

  if (target.isFloatingPoint()) {
    // class probabilities
    if (target.shape.join() !== input.shape.join()) {
      throw new ShapeError(`Expected target size [${input.shape.join(', ')}], got [${target.shape.join(', ')}]`);
    }
    const t = eps > 0 ? target.mul(1 - eps).add(eps / c) : target;
    let prod = logp.mul(t);
    if (weight) prod = prod.mul(weight.reshape(classShape(input, cdim)));
    const loss = prod.sum(cdim).neg();
    if (reduction === 'none') return loss;
    if (reduction === 'sum') return loss.sum();
    return loss.sum().div(input.numel() / c);
  }

  checkIndexTarget(fn, input, target);
  checkTargetRange(target, c, ignoreIndex);
  const p = nllParts(logp, target, weight, ignoreIndex, cdim);
  const nll = reduction === 'none' ? p.loss : reduction === 'sum' ? p.loss.sum() : p.loss.sum().div(p.weightSum);
  if (eps === 0) return nll;

  let smooth = (weight ? logp.mul(weight.reshape(classShape(input, cdim))) : logp).sum(cdim).neg();
  smooth = torch.where(p.valid, smooth, 0);
  let ret: Tensor;
  if (reduction === 'mean') ret = smooth.sum().div(weight ? p.weightSum : p.valid.to(input.dtype).sum());
  else if (reduction === 'sum') ret = smooth.sum();
  else ret = smooth;
  return nll.mul(1 - eps).add(ret.mul(eps / c));
}

const log100 = (x: Tensor): Tensor => x.log().clamp(-100);

/** −w·(t·log x + (1−t)·log(1−x)), logs clamped at −100 as PyTorch. */
export function binaryCrossEntropy(input: Tensor, target: Tensor, ...rest: [(Tensor | null | { weight?: Tensor | null; reduction?: Reduction })?, { weight?: Tensor | null; reduction?: Reduction }?]): Tensor {
  const fn = 'binary_cross_entropy';
  const a = parseArgs(fn, ['weight'], ['reduction'], rest);
  const weight = optTensor(fn, 'weight', a['weight']);
  const reduction = str(fn, 'reduction', a['reduction'], 'mean', REDUCTIONS);
  checkSameSize(input, target);
  let loss = target.mul(log100(input)).add(target.neg().add(1).mul(log100(input.neg().add(1)))).neg();
  if (weight) loss = loss.mul(weight);
  return applyReduction(loss, reduction);
}

export interface BceWithLogitsOptions {
  weight?: Tensor | null;
  reduction?: Reduction;
  posWeight?: Tensor | null;
}

/** The numerically stable form: (1−t)·x + (1 + (p−1)·t)·(log(1 + e^{−|x|}) + max(−x, 0)). */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, ...rest: [(Tensor | null | BceWithLogitsOptions)?, BceWithLogitsOptions?]): Tensor {
  const fn = 'binary_cross_entropy_with_logits';
  const a = parseArgs(fn, ['weight'], ['reduction', 'posWeight'], rest);
  const weight = optTensor(fn, 'weight', a['weight']);
  const posWeight = optTensor(fn, 'pos_weight', a['posWeight']);
  const reduction = str(fn, 'reduction', a['reduction'], 'mean', REDUCTIONS);
  if (input.shape.join() !== target.shape.join()) {
    throw new ShapeError(`Target size (${torchSize(target.shape)}) must be the same as input size (${torchSize(input.shape)})`);
  }
  const softTerm = input.abs().neg().exp().add(1).log().add(input.neg().relu());
  const logWeight = posWeight ? posWeight.sub(1).mul(target).add(1) : null;
  let loss = target.neg().add(1).mul(input).add(logWeight ? logWeight.mul(softTerm) : softTerm);
  if (weight) loss = loss.mul(weight);
  return applyReduction(loss, reduction);
}

export type KlReduction = Reduction | 'batchmean';

/** Pointwise t·(log t − input) (0 where t = 0), or e^t·(t − input) with logTarget. */
export function klDiv(input: Tensor, target: Tensor, opts: { reduction?: KlReduction; logTarget?: boolean } = {}): Tensor {
  const fn = 'kl_div';
  const a = parseArgs(fn, [], ['reduction', 'logTarget'], [opts]);
  const reduction = str<KlReduction>(fn, 'reduction', a['reduction'], 'mean', ['none', 'mean', 'sum', 'batchmean']);
  const logTarget = a['logTarget'] === undefined ? false : a['logTarget'] === true;
  let loss: Tensor;
  if (logTarget) loss = target.exp().mul(target.sub(input));
  else {
    const pos = target.gt(0);
    const tlogt = torch.where(pos, target.mul(torch.where(pos, target, 1).log()), 0);
    loss = tlogt.sub(target.mul(input));
  }
  if (reduction === 'batchmean') return input.ndim === 0 ? loss.sum() : loss.sum().div(input.shape[0]!);
  return applyReduction(loss, reduction);
}

export function softMarginLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  const a = pointwiseArgs('soft_margin_loss', [opts]);
  const loss = target.neg().mul(input).exp().add(1).log();
  return applyReduction(loss, str('soft_margin_loss', 'reduction', a['reduction'], 'mean', REDUCTIONS));
}

export function marginRankingLoss(input1: Tensor, input2: Tensor, target: Tensor, opts: { margin?: number; reduction?: Reduction } = {}): Tensor {
  const a = parseArgs('margin_ranking_loss', [], ['margin', 'reduction'], [opts]);
  const margin = num('margin_ranking_loss', 'margin', a['margin'], 0);
  const loss = target.neg().mul(input1.sub(input2)).add(margin).relu();
  return applyReduction(loss, str('margin_ranking_loss', 'reduction', a['reduction'], 'mean', REDUCTIONS));
}
