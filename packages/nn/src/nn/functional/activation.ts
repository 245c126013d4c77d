/**
 * Activation functions, composed from @fusor/tensor's primitives so they fuse into their
 * neighbours. Branches that could overflow (exp of a large input) are fed clamped inputs, so the
 * untaken side of a `where` never produces inf/NaN gradients.
 */
import * as torch from '@fusor/tensor';
import { Tensor } from '@fusor/tensor';

export const relu = (x: Tensor): Tensor => x.relu();
export const sigmoid = (x: Tensor): Tensor => x.sigmoid();
export const tanh = (x: Tensor): Tensor => x.tanh();

// the ones @fusor/tensor defines (torch.functional), so there is one implementation of each
const T = torch.functional;
export const erf = (x: Tensor): Tensor => T.erf(x);
export const gelu = (x: Tensor, opts: { approximate?: 'none' | 'tanh' } = {}): Tensor => T.gelu(x, opts);
export const silu = (x: Tensor): Tensor => T.silu(x);
export const mish = (x: Tensor): Tensor => T.mish(x);
export const softplus = (x: Tensor, beta = 1, threshold = 20): Tensor => T.softplus(x, beta, threshold);
export const logsigmoid = (x: Tensor): Tensor => T.logsigmoid(x);
export const leakyRelu = (x: Tensor, negativeSlope = 0.01): Tensor => T.leakyRelu(x, negativeSlope);
export const elu = (x: Tensor, alpha = 1.0): Tensor => T.elu(x, alpha);
export const hardtanh = (x: Tensor, minVal = -1.0, maxVal = 1.0): Tensor => T.hardtanh(x, minVal, maxVal);
export const relu6 = (x: Tensor): Tensor => T.relu6(x);

export function selu(x: Tensor): Tensor {
  const alpha = 1.6732632423543772848170429916717;
  const scale = 1.0507009873554804934193349852946;
  return elu(x, alpha).mul(scale);
}

export function celu(x: Tensor, alpha = 1.0): Tensor {
  return torch.where(x.gt(0), x, x.clamp(null, 0).div(alpha).exp().sub(1).mul(alpha));
}

export const hardsigmoid = (x: Tensor): Tensor => x.div(6).add(0.5).clamp(0, 1);
export const hardswish = (x: Tensor): Tensor => x.mul(hardsigmoid(x));
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
