/** linear, bilinear, dropout, embedding, normalizations, cosine similarity. */
import * as torch from '@fusor/tensor';
import { ShapeError, Tensor } from '@fusor/tensor';

export function linear(input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const inF = weight.ndim === 2 ? weight.shape[1]! : weight.shape[0]!;
  const k = input.shape[input.ndim - 1] ?? 1;
  if (weight.ndim === 2 && k !== inF) {
    const rows = input.ndim <= 1 ? 1 : input.numel() / k;
    throw new ShapeError(`mat1 and mat2 shapes cannot be multiplied (${rows}x${k} and ${weight.shape[1]}x${weight.shape[0]})`);
  }
  const out = input.matmul(weight.ndim === 2 ? weight.t() : weight);
  return bias ? out.add(bias) : out;
}

/** y = x₁ᵀ A x₂ + b, A: [out, in1, in2]. */
export function bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const [o, i1, i2] = weight.shape as [number, number, number];
  if (input1.shape[input1.ndim - 1] !== i1) throw new ShapeError(`bilinear(): input1 size does not match weight size: got ${input1.shape[input1.ndim - 1]} but expected ${i1}`);
  if (input2.shape[input2.ndim - 1] !== i2) throw new ShapeError(`bilinear(): input2 size does not match weight size: got ${input2.shape[input2.ndim - 1]} but expected ${i2}`);
  const lead = input1.shape.slice(0, -1);
  const x1 = input1.reshape([-1, i1]);
  const x2 = input2.reshape([-1, i2]);
  // (x1 · A_o) : [N, o, i2], then dot with x2
  const t = x1.matmul(weight.permute(1, 0, 2).reshape([i1, o * i2])).reshape([-1, o, i2]);
  let out = t.mul(x2.unsqueeze(1)).sum(2);
  if (bias) out = out.add(bias);
  return out.reshape([...lead, o]);
}

function checkP(p: number): void {
  if (typeof p !== 'number' || p < 0 || p > 1) throw new RangeError(`dropout probability has to be between 0 and 1, but got ${p}`);
}

/** Zeroes each element with probability p (train only), scaling the rest by 1/(1-p). */
export function dropout(input: Tensor, p = 0.5, training = true): Tensor {
  checkP(p);
  if (!training || p === 0) return input;
  if (p === 1) return input.mul(0);
  const keep = torch.rand(input.shape, { device: input.device }).ge(p);
  return input.mul(keep).mul(1 / (1 - p));
}

/** Zeroes whole channels (dim 1) of a [N, C, ...] or [C, ...] input. */
export function dropoutNd(input: Tensor, p: number, training: boolean, batched: boolean): Tensor {
  checkP(p);
  if (!training || p === 0) return input;
  if (p === 1) return input.mul(0);
  const lead = batched ? 2 : 1;
  const maskShape = input.shape.map((s, i) => (i < lead ? s : 1));
  const keep = torch.rand(maskShape, { device: input.device }).ge(p);
  return input.mul(keep).mul(1 / (1 - p));
}
export const dropout1d = (input: Tensor, p = 0.5, training = true): Tensor => dropoutNd(input, p, training, input.ndim === 3);
export const dropout2d = (input: Tensor, p = 0.5, training = true): Tensor => dropoutNd(input, p, training, input.ndim === 4);
export const dropout3d = (input: Tensor, p = 0.5, training = true): Tensor => dropoutNd(input, p, training, input.ndim === 5);

/** Rows of `weight` picked by integer `input`; the paddingIdx row gets no gradient. */
export function embedding(input: Tensor, weight: Tensor, paddingIdx?: number | null): Tensor {
  if (input.dtype !== 'int64' && input.dtype !== 'int32') {
    throw new TypeError(`Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; but got ${input.dtype} instead (while checking arguments for embedding)`);
  }
  const n = weight.shape[0]!;
  let pad = paddingIdx ?? null;
  if (pad !== null) {
    if (pad < -n || pad >= n) throw new RangeError('Padding_idx must be within num_embeddings');
    if (pad < 0) pad += n;
  }
  const picked = weight.indexSelect(0, input.reshape([-1])).reshape([...input.shape, weight.shape[1]!]);
  if (pad === null) return picked;
  // forward value unchanged; a gradient hook drops what flows to the padding row (a where()
  // between the value and its detached self would not: both are one IR node)
  if (picked.requiresGrad) {
    const keep = input.ne(pad).unsqueeze(-1).to(picked.dtype);
    picked.registerHook((g) => g.mul(keep));
  }
  return picked;
}

function normDims(normalizedShape: readonly number[], x: Tensor, what: string): number[] {
  const k = normalizedShape.length;
  const tail = x.shape.slice(x.ndim - k);
  if (k > x.ndim || tail.join() !== normalizedShape.join()) {
    throw new ShapeError(
      `Given normalized_shape=[${normalizedShape.join(', ')}], expected input with shape [*, ${normalizedShape.join(', ')}], but got input of size[${x.shape.join(', ')}]`,
    );
  }
  void what;
  return Array.from({ length: k }, (_, i) => x.ndim - k + i);
}

export function layerNorm(input: Tensor, normalizedShape: number | readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  const shape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
  const dims = normDims(shape, input, 'layer_norm');
  const mean = input.mean(dims, true);
  const centered = input.sub(mean);
  const v = centered.square().mean(dims, true);
  let out = centered.mul(v.add(eps).rsqrt());
  if (weight) out = out.mul(weight);
  if (bias) out = out.add(bias);
  return out;
}

/** x / sqrt(mean(x²) + eps) · weight; eps defaults to the dtype's machine epsilon (torch.nn.RMSNorm). */
export function rmsNorm(input: Tensor, normalizedShape: number | readonly number[], weight?: Tensor | null, eps?: number | null): Tensor {
  const shape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
  const dims = normDims(shape, input, 'rms_norm');
  const e = eps ?? finfoEps(input.dtype);
  let out = input.mul(input.square().mean(dims, true).add(e).rsqrt());
  if (weight) out = out.mul(weight);
  return out;
}

export function finfoEps(dtype: torch.DType): number {
  switch (dtype) {
    case 'float64':
      return 2.220446049250313e-16;
    case 'float16':
      return 0.0009765625;
    case 'bfloat16':
      return 0.0078125;
    default:
      return 1.1920928955078125e-7;
  }
}

/** Per-channel statistics shape [1, C, 1, ...] for an [N, C, ...] input. */
const channelShape = (x: Tensor): number[] => x.shape.map((s, i) => (i === 1 ? s : 1));

/**
 * Batch normalization over every dim but 1. In training (or without running stats) the batch's
 * statistics normalize; the running ones are updated in place (unbiased variance), with
 * `momentum` or, when it is null, a cumulative average over `numBatchesTracked`.
 */
export function batchNorm(
  input: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  opts: { weight?: Tensor | null; bias?: Tensor | null; training?: boolean; momentum?: number | null; eps?: number; numBatchesTracked?: Tensor | null } = {},
): Tensor {
  const training = opts.training ?? false;
  const eps = opts.eps ?? 1e-5;
  if (input.ndim < 2) throw new ShapeError(`expected 2D or 3D input (got ${input.ndim}D input)`);
  const c = input.shape[1]!;
  const cs = channelShape(input);
  const dims = input.shape.map((_, i) => i).filter((i) => i !== 1);
  let mean: Tensor;
  let v: Tensor;
  if (training || !runningMean || !runningVar) {
    const count = input.numel() / c;
    if (training && count <= 1) throw new RangeError(`Expected more than 1 value per channel when training, got input size torch.Size([${input.shape.join(', ')}])`);
    mean = input.mean(dims, true);
    v = input.sub(mean).square().mean(dims, true);
    if (training && runningMean && runningVar) {
      // momentum null: a cumulative average, factor 1/numBatchesTracked (kept on the device)
      const f: number | Tensor = opts.momentum ?? (opts.numBatchesTracked ? opts.numBatchesTracked.to(runningMean.dtype).reciprocal() : 1);
      const keep: number | Tensor = typeof f === 'number' ? 1 - f : f.neg().add(1);
      torch.noGrad(() => {
        const m = mean.detach().reshape([c]);
        const unbiased = v.detach().reshape([c]).mul(count / Math.max(count - 1, 1));
        runningMean.copy_(runningMean.mul(keep).add(m.mul(f)));
        runningVar.copy_(runningVar.mul(keep).add(unbiased.mul(f)));
      });
    }
  } else {
    mean = runningMean.reshape(cs);
    v = runningVar.reshape(cs);
  }
  let out = input.sub(mean).mul(v.add(eps).rsqrt());
  if (opts.weight) out = out.mul(opts.weight.reshape(cs));
  if (opts.bias) out = out.add(opts.bias.reshape(cs));
  return out;
}

export function groupNorm(input: Tensor, numGroups: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  const [n, c] = input.shape as [number, number];
  if (c % numGroups !== 0) throw new RangeError(`Expected number of channels in input to be divisible by num_groups, but got input of shape [${input.shape.join(', ')}] and num_groups=${numGroups}`);
  const g = input.reshape([n, numGroups, -1]);
  const mean = g.mean(2, true);
  const centered = g.sub(mean);
  const v = centered.square().mean(2, true);
  let out = centered.mul(v.add(eps).rsqrt()).reshape(input.shape);
  const cs = channelShape(input);
  if (weight) out = out.mul(weight.reshape(cs));
  if (bias) out = out.add(bias.reshape(cs));
  return out;
}

/** Σ (x₁/max(‖x₁‖, eps)) · (x₂/max(‖x₂‖, eps)) along dim, PyTorch 1.13's formula. */
export function cosineSimilarity(x1: Tensor, x2: Tensor, dim = 1, eps = 1e-8): Tensor {
  const n1 = x1.square().sum(dim, true).sqrt().clamp(eps);
  const n2 = x2.square().sum(dim, true).sqrt().clamp(eps);
  return x1.div(n1).mul(x2.div(n2)).sum(dim);
}

export function pairwiseDistance(x1: Tensor, x2: Tensor, p = 2, eps = 1e-6, keepdim = false): Tensor {
  const d = x1.sub(x2).add(eps).abs();
  return d.pow(p).sum(-1, keepdim).pow(1 / p);
}

/** x / max(‖x‖_p, eps) along dim. */
export function normalize(input: Tensor, p = 2, dim = 1, eps = 1e-12): Tensor {
  const norm = input.abs().pow(p).sum(dim, true).pow(1 / p).clamp(eps);
  return input.div(norm);
}

export function oneHot(tensor: Tensor, numClasses = -1): Tensor {
  if (tensor.dtype !== 'int64') throw new TypeError('one_hot is only applicable to index tensor.');
  let n = numClasses;
  if (n === -1) n = Number(tensor.max().itemSync()) + 1;
  const classes = torch.arange(n, { dtype: 'int64', device: tensor.device });
  return tensor.unsqueeze(-1).eq(classes).long();
}
