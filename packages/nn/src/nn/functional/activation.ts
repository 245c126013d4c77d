/**
 * Activation functions, composed from @fusor/tensor's primitives so they fuse into their
 * neighbours. Branches that could overflow (exp of a large input) are fed clamped inputs, so the
 * untaken side of a `where` never produces inf/NaN gradients.
 */
import * as torch from '@fusor/tensor';
import { Tensor } from '@fusor/tensor';
import { str } from '../args.js';

export const relu = (x: Tensor): Tensor => x.relu();
export const relu6 = (x: Tensor): Tensor => hardtanh(x, 0, 6);
export const sigmoid = (x: Tensor): Tensor => x.sigmoid();
export const tanh = (x: Tensor): Tensor => x.tanh();

/**
 * erf by Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7, below float32's resolution near 1).
 * TODO(ops-conv): use torch.erf once @fusor/tensor has it.
 */
export function erf(x: Tensor): Tensor {
  const ax = x.abs();
  const t = ax.mul(0.3275911).add(1).reciprocal();
  const poly = t.mul(t.mul(t.mul(t.mul(t.mul(1.061405429).add(-1.453152027)).add(1.421413741)).add(-0.284496736)).add(0.254829592));
  const y = poly.mul(ax.square().neg().exp()).neg().add(1);
  return y.mul(x.sign());
}

export function gelu(x: Tensor, opts: { approximate?: 'none' | 'tanh' } = {}): Tensor {
  const approximate = str('gelu', 'approximate', opts.approximate, 'none', ['none', 'tanh']);
  if (approximate === 'tanh') {
    const inner = x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
    return x.mul(0.5).mul(inner.tanh().add(1));
  }
  return x.mul(0.5).mul(erf(x.mul(Math.SQRT1_2)).add(1));
}

export const silu = (x: Tensor): Tensor => x.mul(x.sigmoid());

export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return torch.where(x.gt(0), x, x.mul(negativeSlope));
}

export function elu(x: Tensor, alpha = 1.0): Tensor {
  return torch.where(x.gt(0), x, x.clamp(null, 0).exp().sub(1).mul(alpha));
}

export function selu(x: Tensor): Tensor {
  const alpha = 1.6732632423543772848170429916717;
  const scale = 1.0507009873554804934193349852946;
  return elu(x, alpha).mul(scale);
}

export function celu(x: Tensor, alpha = 1.0): Tensor {
  return torch.where(x.gt(0), x, x.clamp(null, 0).div(alpha).exp().sub(1).mul(alpha));
}

/** log(1 + e^{βx})/β, linear above `threshold` as PyTorch; computed as max(z,0) + log(1 + e^{-|z|}). */
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  const z = x.mul(beta);
  const soft = z.relu().add(z.abs().neg().exp().add(1).log()).div(beta);
  return torch.where(z.gt(threshold), x, soft);
}

export function hardtanh(x: Tensor, minVal = -1.0, maxVal = 1.0): Tensor {
  if (minVal > maxVal) throw new RangeError('min_val cannot be greater than max_val');
  return x.clamp(minVal, maxVal);
}

export const hardsigmoid = (x: Tensor): Tensor => x.div(6).add(0.5).clamp(0, 1);
export const hardswish = (x: Tensor): Tensor => x.mul(hardsigmoid(x));
export const mish = (x: Tensor): Tensor => x.mul(softplus(x).tanh());
export const logsigmoid = (x: Tensor): Tensor => softplus(x.neg()).neg();
export const softsign = (x: Tensor): Tensor => x.div(x.abs().add(1));
export const tanhshrink = (x: Tensor): Tensor => x.sub(x.tanh());

export function threshold(x: Tensor, thresh: number, value: number): Tensor {
  return torch.where(x.gt(thresh), x, value);
}

export function glu(x: Tensor, dim = -1): Tensor {
  const n = x.shape[dim < 0 ? dim + x.ndim : dim]!;
  if (n % 2 !== 0) throw new RangeError(`Halving dimension must be even, but dimension ${dim < 0 ? dim + x.ndim : dim} is size ${n}`);
  const [a, b] = x.chunk(2, dim);
  return a!.mul(b!.sigmoid());
}

export function prelu(x: Tensor, weight: Tensor): Tensor {
  // weight has one value or one per channel (dim 1)
  const w = weight.numel() === 1 || x.ndim < 2 ? weight.reshape(weight.numel() === 1 ? [] : [weight.numel()]) : weight.reshape([weight.numel(), ...Array<number>(x.ndim - 2).fill(1)]);
  return torch.where(x.gt(0), x, x.mul(w));
}

/** PyTorch's implicit softmax dim (deprecated there, kept for Softmax(dim=None)). */
export function implicitSoftmaxDim(ndim: number): number {
  return ndim === 0 || ndim === 1 || ndim === 3 ? 0 : 1;
}

export function softmax(x: Tensor, dim?: number | null, opts: { dtype?: torch.DType } = {}): Tensor {
  const d = dim ?? implicitSoftmaxDim(x.ndim);
  return (opts.dtype ? x.to(opts.dtype) : x).softmax(d);
}
export function logSoftmax(x: Tensor, dim?: number | null, opts: { dtype?: torch.DType } = {}): Tensor {
  const d = dim ?? implicitSoftmaxDim(x.ndim);
  return (opts.dtype ? x.to(opts.dtype) : x).logSoftmax(d);
}
export function softmin(x: Tensor, dim?: number | null): Tensor {
  return softmax(x.neg(), dim);
}
