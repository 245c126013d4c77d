/** scaled_dot_product_attention (PyTorch 2's formula; 1.13 has no such function). */
import * as torch from '@fusor/tensor';
import { ShapeError, Tensor } from '@fusor/tensor';
import { parseArgs, bool, num, optNum, optTensor } from '../args.js';
import { dropout } from './linear.js';

export interface SdpaOptions {
  attnMask?: Tensor | null;
  dropoutP?: number;
  isCausal?: boolean;
  scale?: number | null;
}

/**
 * softmax(Q Kᵀ · scale + mask) V over the last two dims (…, L, E) × (…, S, E) → (…, L, Ev).
 * A boolean attnMask marks positions that take part (true) — masked ones get −∞ — and a float
 * mask is added; isCausal masks the upper triangle. scale defaults to 1/√E.
 */
export function scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, ...rest: [(Tensor | null | SdpaOptions)?, (number | SdpaOptions)?, (boolean | SdpaOptions)?, SdpaOptions?]): Tensor {
  const fn = 'scaled_dot_product_attention';
  const a = parseArgs(fn, ['attnMask', 'dropoutP', 'isCausal'], ['scale'], rest);
  const attnMask = optTensor(fn, 'attn_mask', a['attnMask']);
  const dropoutP = num(fn, 'dropout_p', a['dropoutP'], 0);
  const isCausal = bool(fn, 'is_causal', a['isCausal'], false);
  const scale = optNum(fn, 'scale', a['scale']);
  const e = query.shape[query.ndim - 1]!;
  if (key.shape[key.ndim - 1] !== e) throw new ShapeError(`${fn}: query and key must have the same embedding size, got ${e} and ${key.shape[key.ndim - 1]}`);
  if (isCausal && attnMask) throw new RangeError('_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True');
  const l = query.shape[query.ndim - 2]!;
  const s = key.shape[key.ndim - 2]!;
  let scores = query.matmul(key.transpose(-2, -1)).mul(scale ?? 1 / Math.sqrt(e));
  if (isCausal) {
    const keep = torch.ones([l, s], { dtype: 'bool', device: query.device });
    const rows = torch.arange(l, { device: query.device }).unsqueeze(1);
    const cols = torch.arange(s, { device: query.device }).unsqueeze(0);
    scores = torch.where(cols.le(rows).logicalAnd(keep), scores, -Infinity);
  }
  if (attnMask) scores = attnMask.dtype === 'bool' ? torch.where(attnMask, scores, -Infinity) : scores.add(attnMask);
  let attn = scores.softmax(-1);
  if (dropoutP > 0) attn = dropout(attn, dropoutP, true);
  return attn.matmul(value);
}
