/** MultiheadAttention, as torch.nn.MultiheadAttention 1.13 (in_proj_weight packing, masks, averaged weights). */
import * as torch from '@fusor/tensor';
import { ShapeError, type Tensor } from '@fusor/tensor';
import { Module } from '../module.js';
import type { Parameter } from '../parameter.js';
import { parseArgs, int, num, bool, optTensor } from '../args.js';
import * as init from '../init.js';
import * as F from '../functional/linear.js';
import { Linear } from './linear.js';
import { emptyParam, factory, FACTORY_KEYS, type FactoryOptions } from './factory.js';

export interface MultiheadAttentionOptions extends FactoryOptions {
  dropout?: number;
  bias?: boolean;
  addBiasKv?: boolean;
  addZeroAttn?: boolean;
  kdim?: number | null;
  vdim?: number | null;
  batchFirst?: boolean;
}

export interface MhaForwardOptions {
  keyPaddingMask?: Tensor | null;
  needWeights?: boolean;
  attnMask?: Tensor | null;
  averageAttnWeights?: boolean;
}

/** PyTorch prints MultiheadAttention's output projection under this name. */
export class NonDynamicallyQuantizableLinear extends Linear {}

/** A boolean mask (true = masked) as an additive float mask. */
function additive(mask: Tensor, dtype: torch.DType): Tensor {
  if (mask.dtype === 'bool') return torch.where(mask, -Infinity, torch.zeros([], { dtype, device: mask.device }));
  if (!mask.isFloatingPoint()) throw new TypeError(`only bool and floating types of masks are supported`);
  return mask;
}

export class MultiheadAttention extends Module<[Tensor, Tensor, Tensor, (Tensor | null | MhaForwardOptions)?, (boolean | MhaForwardOptions)?, (Tensor | null | MhaForwardOptions)?, (boolean | MhaForwardOptions)?, MhaForwardOptions?], [Tensor, Tensor | null]> {
  readonly embedDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly qkvSameEmbedDim: boolean;
  declare in_proj_weight: Parameter | null;
  declare q_proj_weight: Parameter | null;
  declare k_proj_weight: Parameter | null;
  declare v_proj_weight: Parameter | null;
  declare in_proj_bias: Parameter | null;
  out_proj: NonDynamicallyQuantizableLinear;

  constructor(embedDim: number, numHeads: number, dropout?: number | MultiheadAttentionOptions, bias?: boolean | MultiheadAttentionOptions, opts?: MultiheadAttentionOptions) {
    super();
    const n = 'MultiheadAttention';
    const a = parseArgs(n, ['embedDim', 'numHeads', 'dropout', 'bias', 'addBiasKv', 'addZeroAttn', 'kdim', 'vdim', 'batchFirst'], FACTORY_KEYS, [embedDim, numHeads, dropout, bias, opts]);
    this.embedDim = int(n, 'embed_dim', a['embedDim'], 0);
    this.numHeads = int(n, 'num_heads', a['numHeads'], 1);
    this.kdim = a['kdim'] == null ? this.embedDim : int(n, 'kdim', a['kdim'], 0);
    this.vdim = a['vdim'] == null ? this.embedDim : int(n, 'vdim', a['vdim'], 0);
    this.dropout = num(n, 'dropout', a['dropout'], 0);
    this.batchFirst = bool(n, 'batch_first', a['batchFirst'], false);
    if (bool(n, 'add_bias_kv', a['addBiasKv'], false) || bool(n, 'add_zero_attn', a['addZeroAttn'], false)) {
      throw new RangeError('MultiheadAttention: addBiasKv and addZeroAttn are not supported by fusor yet');
    }
    this.headDim = Math.floor(this.embedDim / this.numHeads);
    if (this.headDim * this.numHeads !== this.embedDim) throw new RangeError('embed_dim must be divisible by num_heads');
    this.qkvSameEmbedDim = this.kdim === this.embedDim && this.vdim === this.embedDim;
    const f = factory(a);
    const e = this.embedDim;
    if (this.qkvSameEmbedDim) {
      this.registerParameter('in_proj_weight', emptyParam([3 * e, e], f));
      this.registerParameter('q_proj_weight', null);
      this.registerParameter('k_proj_weight', null);
      this.registerParameter('v_proj_weight', null);
    } else {
      this.registerParameter('q_proj_weight', emptyParam([e, e], f));
      this.registerParameter('k_proj_weight', emptyParam([e, this.kdim], f));
      this.registerParameter('v_proj_weight', emptyParam([e, this.vdim], f));
      this.registerParameter('in_proj_weight', null);
    }
    const hasBias = bool(n, 'bias', a['bias'], true);
    this.registerParameter('in_proj_bias', hasBias ? emptyParam([3 * e], f) : null);
    this.out_proj = new NonDynamicallyQuantizableLinear(e, e, { bias: hasBias, dtype: f.dtype, ...(f.device ? { device: f.device } : {}) });
    this.resetParameters();
  }

  resetParameters(): void {
    if (this.in_proj_weight) init.xavierUniform_(this.in_proj_weight);
    else {
      init.xavierUniform_(this.q_proj_weight!);
      init.xavierUniform_(this.k_proj_weight!);
      init.xavierUniform_(this.v_proj_weight!);
    }
    if (this.in_proj_bias) {
      init.constant_(this.in_proj_bias, 0);
      init.constant_(this.out_proj.bias!, 0);
    }
  }

  /**
   * Returns [output, weights]: weights averaged over heads ([N, L, S]) unless averageAttnWeights
   * is false ([N, H, L, S]); null when needWeights is false. Inputs [L, N, E] ([N, L, E] with
   * batchFirst) or unbatched [L, E]. Boolean masks mark masked positions with true.
   */
  override forward(query: Tensor, key: Tensor, value: Tensor, ...rest: [(Tensor | null | MhaForwardOptions)?, (boolean | MhaForwardOptions)?, (Tensor | null | MhaForwardOptions)?, (boolean | MhaForwardOptions)?, MhaForwardOptions?]): [Tensor, Tensor | null] {
    const n = 'MultiheadAttention.forward';
    const a = parseArgs(n, ['keyPaddingMask', 'needWeights', 'attnMask', 'averageAttnWeights'], [], rest);
    const keyPaddingMask = optTensor(n, 'key_padding_mask', a['keyPaddingMask']);
    const needWeights = bool(n, 'need_weights', a['needWeights'], true);
    let attnMask = optTensor(n, 'attn_mask', a['attnMask']);
    const average = bool(n, 'average_attn_weights', a['averageAttnWeights'], true);

    const batched = query.ndim === 3;
    if (!batched && query.ndim !== 2) throw new ShapeError(`query should be unbatched 2D or batched 3D tensor but received ${query.ndim}-D query tensor`);
    // to [L, N, E]
    let q = batched ? (this.batchFirst ? query.transpose(0, 1) : query) : query.unsqueeze(1);
    let k = batched ? (this.batchFirst ? key.transpose(0, 1) : key) : key.unsqueeze(1);
    let v = batched ? (this.batchFirst ? value.transpose(0, 1) : value) : value.unsqueeze(1);
    const [tgtLen, bsz, e] = q.shape as [number, number, number];
    if (e !== this.embedDim) throw new ShapeError(`was expecting embedding dimension of ${this.embedDim}, but got ${e}`);
    const srcLen = k.shape[0]!;
    const h = this.numHeads;
    const hd = this.headDim;

    let bq: Tensor | null = null;
    let bk: Tensor | null = null;
    let bv: Tensor | null = null;
    if (this.in_proj_bias) [bq, bk, bv] = this.in_proj_bias.chunk(3) as [Tensor, Tensor, Tensor];
    if (this.in_proj_weight) {
      const [wq, wk, wv] = this.in_proj_weight.chunk(3) as [Tensor, Tensor, Tensor];
      q = F.linear(q, wq, bq);
      k = F.linear(k, wk, bk);
      v = F.linear(v, wv, bv);
    } else {
      q = F.linear(q, this.q_proj_weight!, bq);
      k = F.linear(k, this.k_proj_weight!, bk);
      v = F.linear(v, this.v_proj_weight!, bv);
    }

    if (attnMask) {
      if (attnMask.ndim === 2) {
        if (attnMask.shape.join() !== [tgtLen, srcLen].join()) throw new ShapeError(`The shape of the 2D attn_mask is [${attnMask.shape.join(', ')}], but should be (${tgtLen}, ${srcLen}).`);
        attnMask = attnMask.unsqueeze(0);
      } else if (attnMask.ndim === 3) {
        if (attnMask.shape.join() !== [bsz * h, tgtLen, srcLen].join()) throw new ShapeError(`The shape of the 3D attn_mask is [${attnMask.shape.join(', ')}], but should be (${bsz * h}, ${tgtLen}, ${srcLen}).`);
      } else throw new ShapeError(`attn_mask's dimension ${attnMask.ndim} is not supported`);
      attnMask = additive(attnMask, q.dtype);
    }
    if (keyPaddingMask) {
      const kpm = batched ? keyPaddingMask : keyPaddingMask.unsqueeze(0);
      if (kpm.shape.join() !== [bsz, srcLen].join()) throw new ShapeError(`expecting key_padding_mask shape of (${bsz}, ${srcLen}), but got [${kpm.shape.join(', ')}]`);
      const m = additive(kpm, q.dtype).reshape([bsz, 1, 1, srcLen]).expand(bsz, h, 1, srcLen).reshape([bsz * h, 1, srcLen]);
      attnMask = attnMask ? attnMask.add(m) : m;
    }

    // [L, N, E] → [N·H, L, hd]
    const heads = (t: Tensor, len: number): Tensor => t.reshape([len, bsz * h, hd]).transpose(0, 1);
    const qh = heads(q, tgtLen).mul(1 / Math.sqrt(hd));
    const kh = heads(k, srcLen);
    const vh = heads(v, srcLen);
    let scores = qh.matmul(kh.transpose(1, 2));
    if (attnMask) scores = scores.add(attnMask);
    let attn = scores.softmax(-1);
    if (this.dropout > 0 && this.training) attn = F.dropout(attn, this.dropout, true);
    let out = attn.matmul(vh).transpose(0, 1).reshape([tgtLen * bsz, e]);
    out = this.out_proj.forward(out).reshape([tgtLen, bsz, e]);
    if (!batched) out = out.squeeze(1);
    else if (this.batchFirst) out = out.transpose(0, 1);

    if (!needWeights) return [out, null];
    let w = attn.reshape([bsz, h, tgtLen, srcLen]);
    if (average) w = w.mean(1);
    if (!batched) w = w.squeeze(0);
    return [out, w];
  }
}
