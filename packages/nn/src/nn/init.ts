/**
 * nn.init: in-place initializers under noGrad, PyTorch's formulas (fans, gains, bounds).
 * Random draws come from fusor's seeded generator (torch.manualSeed), so values differ from
 * PyTorch's for the same seed; the distributions are the same.
 */
import * as torch from '@fusor/tensor';
import { Tensor } from '@fusor/tensor';

export type Nonlinearity =
  | 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d'
  | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

/** The recommended gain for a nonlinearity (PyTorch's calculate_gain). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number | null): number {
  switch (nonlinearity) {
    case 'linear': case 'conv1d': case 'conv2d': case 'conv3d':
    case 'conv_transpose1d': case 'conv_transpose2d': case 'conv_transpose3d': case 'sigmoid':
      return 1;
    case 'tanh':
      return 5.0 / 3;
    case 'relu':
      return Math.sqrt(2.0);
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      if (typeof slope !== 'number') throw new TypeError(`negative_slope ${String(slope)} not a valid number`);
      return Math.sqrt(2.0 / (1 + slope ** 2));
    }
    case 'selu':
      return 3.0 / 4;
    default:
      throw new RangeError(`Unsupported nonlinearity ${String(nonlinearity)}`);
  }
}

/** [fanIn, fanOut] of a weight shaped [out, in, *kernel]. */
export function calculateFanInAndFanOut(tensor: Tensor): [number, number] {
  if (tensor.ndim < 2) throw new RangeError('Fan in and fan out can not be computed for tensor with fewer than 2 dimensions');
  const receptive = tensor.shape.slice(2).reduce((a, b) => a * b, 1);
  return [tensor.shape[1]! * receptive, tensor.shape[0]! * receptive];
}

const inPlace = (t: Tensor, f: () => void): Tensor => {
  torch.noGrad(f);
  return t;
};

export const uniform_ = (tensor: Tensor, a = 0, b = 1): Tensor => inPlace(tensor, () => tensor.uniform_(a, b));
export const normal_ = (tensor: Tensor, mean = 0, std = 1): Tensor => inPlace(tensor, () => tensor.normal_(mean, std));
export const constant_ = (tensor: Tensor, val: number): Tensor => inPlace(tensor, () => tensor.fill_(val));
export const zeros_ = (tensor: Tensor): Tensor => inPlace(tensor, () => tensor.zero_());
export const ones_ = (tensor: Tensor): Tensor => inPlace(tensor, () => tensor.fill_(1));

/** The identity matrix (a 2-D tensor) in place. */
export function eye_(tensor: Tensor): Tensor {
  if (tensor.ndim !== 2) throw new RangeError('Only tensors with 2 dimensions are supported');
  return inPlace(tensor, () => tensor.copy_(torch.eye(tensor.shape[0]!, tensor.shape[1]!, { dtype: tensor.dtype, device: tensor.device })));
}

export function xavierUniform_(tensor: Tensor, gain = 1.0): Tensor {
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor);
  const std = gain * Math.sqrt(2.0 / (fanIn + fanOut));
  const a = Math.sqrt(3.0) * std;
  return uniform_(tensor, -a, a);
}

export function xavierNormal_(tensor: Tensor, gain = 1.0): Tensor {
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor);
  return normal_(tensor, 0, gain * Math.sqrt(2.0 / (fanIn + fanOut)));
}

export interface KaimingOptions {
  a?: number;
  mode?: 'fan_in' | 'fan_out';
  nonlinearity?: Nonlinearity;
}

function kaimingStd(fn: string, tensor: Tensor, a: number | KaimingOptions | undefined, opts: KaimingOptions): number {
  const o: KaimingOptions = typeof a === 'object' ? { ...a } : { ...opts, ...(a === undefined ? {} : { a }) };
  for (const k of Object.keys(o)) if (!['a', 'mode', 'nonlinearity'].includes(k)) throw new TypeError(`${fn}() got an unexpected keyword argument '${k}'`);
  const mode = o.mode ?? 'fan_in';
  if (mode !== 'fan_in' && mode !== 'fan_out') throw new RangeError(`Mode ${String(mode)} not supported, please use one of fan_in, fan_out`);
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor);
  const fan = mode === 'fan_in' ? fanIn : fanOut;
  const gain = calculateGain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0);
  return gain / Math.sqrt(fan);
}

/** U(−b, b), b = gain·√(3/fan): `kaimingUniform_(w, Math.sqrt(5))` is Linear's default. */
export function kaimingUniform_(tensor: Tensor, a?: number | KaimingOptions, opts: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3.0) * kaimingStd('kaiming_uniform_', tensor, a, opts);
  return uniform_(tensor, -bound, bound);
}

export function kaimingNormal_(tensor: Tensor, a?: number | KaimingOptions, opts: KaimingOptions = {}): Tensor {
  return normal_(tensor, 0, kaimingStd('kaiming_normal_', tensor, a, opts));
}

/**
 * N(mean, std²) truncated to [a, b], by rejection: draws outside are redrawn (12 rounds leave
 * a 1e-16 chance per element for the default ±2σ) and any survivor is clamped. PyTorch uses the
 * inverse CDF; the distribution is the same.
 */
export function truncNormal_(tensor: Tensor, mean = 0, std = 1, a = -2, b = 2): Tensor {
  return inPlace(tensor, () => {
    let z = torch.normal(mean, std, tensor.shape, { dtype: tensor.dtype, device: tensor.device });
    for (let i = 0; i < 12; i++) {
      const outside = z.lt(a).logicalOr(z.gt(b));
      // contiguous: a kernel per round; fused, each round would inline its input twice (2^rounds)
      z = torch.where(outside, torch.normal(mean, std, tensor.shape, { dtype: tensor.dtype, device: tensor.device }), z).contiguous();
    }
    tensor.copy_(z.clamp(a, b));
  });
}

/** Fills a [out, in, *k] weight so convolutions preserve identity (Dirac delta). */
export function dirac_(tensor: Tensor, groups = 1): Tensor {
  const dims = tensor.ndim;
  if (dims < 3 || dims > 5) throw new RangeError('Only tensors with 3, 4, or 5 dimensions are supported');
  const sizes = tensor.shape;
  if (sizes[0]! % groups !== 0) throw new RangeError('dim 0 must be divisible by groups');
  const outPerGroup = sizes[0]! / groups;
  const minDim = Math.min(outPerGroup, sizes[1]!);
  const data = new Float64Array(tensor.numel());
  const strides = sizes.map((_, i) => sizes.slice(i + 1).reduce((x, y) => x * y, 1));
  for (let g = 0; g < groups; g++) {
    for (let d = 0; d < minDim; d++) {
      let idx = (g * outPerGroup + d) * strides[0]! + d * strides[1]!;
      for (let k = 2; k < dims; k++) idx += Math.floor(sizes[k]! / 2) * strides[k]!;
      data[idx] = 1;
    }
  }
  return inPlace(tensor, () => tensor.copy_(torch.tensor(data, { dtype: tensor.dtype }).reshape(sizes)));
}

/** (Semi-)orthogonal matrix: QR of a normal draw is not in @fusor/tensor yet, so Gram–Schmidt on the host. */
export function orthogonal_(tensor: Tensor, gain = 1): Tensor {
  if (tensor.ndim < 2) throw new RangeError('Only tensors with 2 or more dimensions are supported');
  const rows = tensor.shape[0]!;
  const cols = tensor.numel() / rows;
  const flat = torch.randn(rows, cols).dataSync() as Float32Array;
  const transpose = rows < cols;
  const [n, m] = transpose ? [cols, rows] : [rows, cols]; // n ≥ m, orthonormal columns
  const q = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) q[i * m + j] = transpose ? flat[j * cols + i]! : flat[i * cols + j]!;
  for (let j = 0; j < m; j++) {
    for (let k = 0; k < j; k++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += q[i * m + j]! * q[i * m + k]!;
      for (let i = 0; i < n; i++) q[i * m + j] -= dot * q[i * m + k]!;
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += q[i * m + j]! ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < n; i++) q[i * m + j] /= norm;
  }
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) {
    if (transpose) out[j * cols + i] = q[i * m + j]! * gain;
    else out[i * cols + j] = q[i * m + j]! * gain;
  }
  return inPlace(tensor, () => tensor.copy_(torch.tensor(out, { dtype: tensor.dtype }).reshape(tensor.shape)));
}
