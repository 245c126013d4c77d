/** Embedding: a lookup table of numEmbeddings rows. */
import * as torch from '@fusor/tensor';
import type { Tensor } from '@fusor/tensor';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import { parseArgs, int } from '../args.js';
import * as F from '../functional/linear.js';
import * as init from '../init.js';
import { emptyParam, factory, FACTORY_KEYS, type FactoryOptions } from './factory.js';

export interface EmbeddingOptions extends FactoryOptions {
  paddingIdx?: number | null;
  _weight?: Tensor;
}

/** weight ~ N(0, 1), the paddingIdx row zero and never updated by gradients. */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;
  weight: Parameter;

  constructor(numEmbeddings: number, embeddingDim: number, paddingIdx?: number | null | EmbeddingOptions, opts?: EmbeddingOptions) {
    super();
    const a = parseArgs('Embedding', ['numEmbeddings', 'embeddingDim', 'paddingIdx'], [...FACTORY_KEYS, '_weight'], [numEmbeddings, embeddingDim, paddingIdx, opts]);
    this.numEmbeddings = int('Embedding', 'num_embeddings', a['numEmbeddings'], 0);
    this.embeddingDim = int('Embedding', 'embedding_dim', a['embeddingDim'], 0);
    let pad = a['paddingIdx'] === undefined || a['paddingIdx'] === null ? null : int('Embedding', 'padding_idx', a['paddingIdx'], 0);
    if (pad !== null) {
      if (pad >= this.numEmbeddings || pad < -this.numEmbeddings) throw new RangeError('Padding_idx must be within num_embeddings');
      if (pad < 0) pad += this.numEmbeddings;
    }
    this.paddingIdx = pad;
    const w = a['_weight'] as Tensor | undefined;
    if (w) {
      if (w.shape.join() !== [this.numEmbeddings, this.embeddingDim].join()) throw new RangeError('Shape of weight does not match num_embeddings and embedding_dim');
      this.weight = new Parameter(w);
    } else {
      this.weight = emptyParam([this.numEmbeddings, this.embeddingDim], factory(a));
      this.resetParameters();
    }
  }

  resetParameters(): void {
    init.normal_(this.weight);
    if (this.paddingIdx !== null) {
      const row = this.paddingIdx;
      torch.noGrad(() => this.weight.copy_(torch.where(torch.arange(this.numEmbeddings, { device: this.weight.device }).eq(row).unsqueeze(1), 0, this.weight)));
    }
  }

  /** A new Embedding holding `embeddings` (frozen unless freeze is false), as Embedding.from_pretrained. */
  static fromPretrained(embeddings: Tensor, opts: { freeze?: boolean; paddingIdx?: number | null } = {}): Embedding {
    if (embeddings.ndim !== 2) throw new RangeError('Embeddings parameter is expected to be 2-dimensional');
    const e = new Embedding(embeddings.shape[0]!, embeddings.shape[1]!, { paddingIdx: opts.paddingIdx ?? null, _weight: embeddings });
    e.weight.requiresGrad = !(opts.freeze ?? true);
    return e;
  }

  override forward(input: Tensor): Tensor {
    return F.embedding(input, this.weight, this.paddingIdx);
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, padding_idx=${this.paddingIdx}` : ''}`;
  }
}
