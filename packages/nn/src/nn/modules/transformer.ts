/** TransformerEncoderLayer and TransformerEncoder (post-norm or pre-norm), as PyTorch 1.13. */
import type { Tensor } from '@fusor/tensor';
import { Module } from '../module.js';
import { parseArgs, int, num, bool, optTensor } from '../args.js';
import * as A from '../functional/activation.js';
import { Linear } from './linear.js';
import { Dropout } from './dropout.js';
import { LayerNorm } from './normalization.js';
import { MultiheadAttention } from './attention.js';
import { ModuleList } from './container.js';
import type { FactoryOptions } from './factory.js';

export interface TransformerEncoderLayerOptions extends FactoryOptions {
  dimFeedforward?: number;
  dropout?: number;
  activation?: 'relu' | 'gelu' | ((x: Tensor) => Tensor);
  layerNormEps?: number;
  batchFirst?: boolean;
  normFirst?: boolean;
}

export interface EncoderForwardOptions {
  srcMask?: Tensor | null;
  srcKeyPaddingMask?: Tensor | null;
  mask?: Tensor | null;
}

type LayerArgs = [dModel: number, nhead: number, dimFeedforward?: number | TransformerEncoderLayerOptions, dropout?: number | TransformerEncoderLayerOptions, opts?: TransformerEncoderLayerOptions];

export class TransformerEncoderLayer extends Module<[Tensor, (Tensor | null | EncoderForwardOptions)?, (Tensor | null | EncoderForwardOptions)?, EncoderForwardOptions?], Tensor> {
  self_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  readonly normFirst: boolean;
  readonly activation: (x: Tensor) => Tensor;
  private readonly args: LayerArgs;

  constructor(...args: LayerArgs) {
    super();
    const n = 'TransformerEncoderLayer';
    const a = parseArgs(n, ['dModel', 'nhead', 'dimFeedforward', 'dropout', 'activation', 'layerNormEps', 'batchFirst', 'normFirst'], ['device', 'dtype'], args);
    const d = int(n, 'd_model', a['dModel'], 0);
    const nhead = int(n, 'nhead', a['nhead'], 1);
    const ff = int(n, 'dim_feedforward', a['dimFeedforward'], 2048);
    const p = num(n, 'dropout', a['dropout'], 0.1);
    const eps = num(n, 'layer_norm_eps', a['layerNormEps'], 1e-5);
    const f: FactoryOptions = { ...(a['device'] ? { device: a['device'] as string } : {}), ...(a['dtype'] ? { dtype: a['dtype'] as FactoryOptions['dtype'] } : {}) };
    this.self_attn = new MultiheadAttention(d, nhead, { dropout: p, batchFirst: bool(n, 'batch_first', a['batchFirst'], false), ...f });
    this.linear1 = new Linear(d, ff, f);
    this.dropout = new Dropout(p);
    this.linear2 = new Linear(ff, d, f);
    this.normFirst = bool(n, 'norm_first', a['normFirst'], false);
    this.norm1 = new LayerNorm(d, { eps, ...f });
    this.norm2 = new LayerNorm(d, { eps, ...f });
    this.dropout1 = new Dropout(p);
    this.dropout2 = new Dropout(p);
    const act = a['activation'] ?? 'relu';
    if (act === 'relu') this.activation = A.relu;
    else if (act === 'gelu') this.activation = (x) => A.gelu(x);
    else if (typeof act === 'function') this.activation = act as (x: Tensor) => Tensor;
    else throw new RangeError(`activation should be relu/gelu, not ${String(act)}`);
    this.args = args;
  }

  /** A fresh layer with the same configuration and a copy of this one's state (PyTorch deep-copies). */
  clone(): TransformerEncoderLayer {
    const c = new TransformerEncoderLayer(...this.args);
    c.loadStateDict(this.stateDict());
    c.train(this.training);
    return c;
  }

  override forward(src: Tensor, ...rest: [(Tensor | null | EncoderForwardOptions)?, (Tensor | null | EncoderForwardOptions)?, EncoderForwardOptions?]): Tensor {
    const n = 'TransformerEncoderLayer.forward';
    const a = parseArgs(n, ['srcMask', 'srcKeyPaddingMask'], [], rest);
    const mask = optTensor(n, 'src_mask', a['srcMask']);
    const kpm = optTensor(n, 'src_key_padding_mask', a['srcKeyPaddingMask']);
    const sa = (x: Tensor): Tensor => this.dropout1.forward(this.self_attn.forward(x, x, x, { attnMask: mask, keyPaddingMask: kpm, needWeights: false })[0]);
    const ffb = (x: Tensor): Tensor => this.dropout2.forward(this.linear2.forward(this.dropout.forward(this.activation(this.linear1.forward(x)))));
    let x = src;
    if (this.normFirst) {
      x = x.add(sa(this.norm1.forward(x)));
      x = x.add(ffb(this.norm2.forward(x)));
    } else {
      x = this.norm1.forward(x.add(sa(x)));
      x = this.norm2.forward(x.add(ffb(x)));
    }
    return x;
  }
}

export class TransformerEncoder extends Module<[Tensor, (Tensor | null | EncoderForwardOptions)?, (Tensor | null | EncoderForwardOptions)?, EncoderForwardOptions?], Tensor> {
  layers: ModuleList;
  readonly numLayers: number;
  declare norm: Module | null;

  constructor(encoderLayer: TransformerEncoderLayer, numLayers: number, norm?: Module | null | { norm?: Module | null; enableNestedTensor?: boolean }, opts?: { norm?: Module | null; enableNestedTensor?: boolean }) {
    super();
    const a = parseArgs('TransformerEncoder', ['encoderLayer', 'numLayers', 'norm'], ['enableNestedTensor'], [encoderLayer, numLayers, norm, opts]);
    this.numLayers = int('TransformerEncoder', 'num_layers', a['numLayers'], 1);
    this.layers = new ModuleList(Array.from({ length: this.numLayers }, () => encoderLayer.clone()));
    this.registerModule('norm', (a['norm'] as Module | null | undefined) ?? null);
  }

  override forward(src: Tensor, ...rest: [(Tensor | null | EncoderForwardOptions)?, (Tensor | null | EncoderForwardOptions)?, EncoderForwardOptions?]): Tensor {
    const n = 'TransformerEncoder.forward';
    const a = parseArgs(n, ['mask', 'srcKeyPaddingMask'], [], rest);
    const mask = optTensor(n, 'mask', a['mask']);
    const kpm = optTensor(n, 'src_key_padding_mask', a['srcKeyPaddingMask']);
    let x = src;
    for (const layer of this.layers) x = (layer as TransformerEncoderLayer).forward(x, { srcMask: mask, srcKeyPaddingMask: kpm });
    return this.norm ? this.norm.forward(x) : x;
  }
}
