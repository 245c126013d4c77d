/**
 * Errors in PyTorch's wording: each call raises in PyTorch 1.13 with the message the generator
 * (scripts/gen_golden_nn.py, errors()) recorded, and the same call in fusor raises with the same
 * message, on cpu (where target checks are eager).
 */
import * as torch from '@fusor/tensor';
import { describe, expect, it } from 'vitest';
import { nn } from '../src/index.js';
import { MODULES } from './nn-golden.js';

const { F } = nn;
const r = (...shape: number[]): torch.Tensor => torch.randn(shape);
const long = (v: number[]): torch.Tensor => torch.tensor(v, { dtype: torch.int64 });

/** The same calls as the generator's `calls`, in fusor. */
const CALLS: Record<string, () => unknown> = {
  conv2d_channels: () => new nn.Conv2d(2, 4, 3).forward(r(2, 3, 5, 5)),
  conv2d_dims: () => new nn.Conv2d(2, 4, 3).forward(r(2, 5)),
  embedding_range: () => new nn.Embedding(5, 3).forward(long([1, 5])),
  batchnorm_one_value: () => new nn.BatchNorm1d(3).forward(r(1, 3)),
  batchnorm_dims: () => new nn.BatchNorm2d(3).forward(r(2, 3)),
  layernorm_shape: () => new nn.LayerNorm(4).forward(r(2, 3)),
  ce_batch: () => F.crossEntropy(r(3, 5), long([1, 2])),
  nll_target: () => F.nllLoss(r(3, 5), long([1, 5, 0])),
  ce_negative_target: () => F.crossEntropy(r(3, 5), long([1, -2, 0])),
  bce_size: () => F.binaryCrossEntropy(torch.rand(4, 1), torch.rand(4)),
  bce_logits_size: () => F.binaryCrossEntropyWithLogits(torch.rand(4, 1), torch.rand(4)),
  mha_embed: () => new nn.MultiheadAttention(4, 2).forward(r(3, 2, 3), r(3, 2, 3), r(3, 2, 3)),
  mha_heads: () => new nn.MultiheadAttention(5, 2),
  lstm_input: () => new nn.LSTM(3, 4).forward(r(5, 2, 6)),
  lstm_hidden: () => new nn.LSTM(3, 4).forward(r(5, 2, 3), [r(1, 3, 4), r(1, 3, 4)]),
  groupnorm_groups: () => new nn.GroupNorm(3, 4),
  bilinear: () => new nn.Bilinear(3, 4, 2).forward(r(5, 3), r(5, 3)),
  maxpool_pad: () => new nn.MaxPool2d(2, { padding: 2 }).forward(r(1, 1, 4, 4)),
  unflatten: () => new nn.Unflatten(1, [2, 4]).forward(r(2, 6)),
  linear_3d: () => new nn.Linear(30, 10).forward(r(2, 4, 20)),
  mse_shape: () => F.mseLoss(r(3, 4), r(3, 5)),
  dropout_p: () => new nn.Dropout(1.5),
  transformer_nhead: () => new nn.TransformerEncoderLayer(5, 2),
  adaptive_pool_dims: () => new nn.AdaptiveAvgPool2d(2).forward(r(4)),
};

describe("nn errors in PyTorch 1.13's wording", () => {
  const checked = new Set(['linear', 'cross_entropy_target', 'load_state_dict']); // in nn-module.test.ts
  it('every recorded error is checked', () => {
    expect(Object.keys(MODULES.errors).filter((k) => !checked.has(k) && !(k in CALLS))).toEqual([]);
  });
  for (const [name, call] of Object.entries(CALLS)) {
    it(name, () => {
      const want = MODULES.errors[name];
      expect(want, `${name} is in the fixture`).toBeDefined();
      let got: unknown = undefined;
      try {
        call();
      } catch (e) {
        got = e;
      }
      expect(got, `${name}: fusor raised nothing (PyTorch: ${want})`).toBeInstanceOf(Error);
      expect((got as Error).message).toBe(want);
    });
  }
});
