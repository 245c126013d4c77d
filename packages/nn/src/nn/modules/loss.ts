/** Loss modules: options stored at construction, forward(input, target). Class weights are buffers, as PyTorch registers them. */
import type { Tensor } from '@fusor/tensor';
import { Module, pyFloat } from '../module.js';
import { parseArgs, str, num, bool, optTensor, REDUCTIONS, type Reduction } from '../args.js';
import * as L from '../functional/loss.js';
import * as F from '../functional/linear.js';

abstract class Loss extends Module<[Tensor, Tensor], Tensor> {
  readonly reduction: Reduction;
  constructor(name: string, opts: Record<string, unknown>) {
    super();
    this.reduction = str(name, 'reduction', opts['reduction'], 'mean', REDUCTIONS);
  }
}

export class MSELoss extends Loss {
  constructor(opts: { reduction?: Reduction } = {}) {
    super('MSELoss', parseArgs('MSELoss', [], ['reduction'], [opts]));
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return L.mseLoss(input, target, { reduction: this.reduction });
  }
}
export class L1Loss extends Loss {
  constructor(opts: { reduction?: Reduction } = {}) {
    super('L1Loss', parseArgs('L1Loss', [], ['reduction'], [opts]));
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return L.l1Loss(input, target, { reduction: this.reduction });
  }
}
export class SmoothL1Loss extends Loss {
  readonly beta: number;
  constructor(opts: { reduction?: Reduction; beta?: number } = {}) {
    const a = parseArgs('SmoothL1Loss', [], ['reduction', 'beta'], [opts]);
    super('SmoothL1Loss', a);
    this.beta = num('SmoothL1Loss', 'beta', a['beta'], 1.0);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return L.smoothL1Loss(input, target, { reduction: this.reduction, beta: this.beta });
  }
}
export class HuberLoss extends Loss {
  readonly delta: number;
  constructor(opts: { reduction?: Reduction; delta?: number } = {}) {
    const a = parseArgs('HuberLoss', [], ['reduction', 'delta'], [opts]);
    super('HuberLoss', a);
    this.delta = num('HuberLoss', 'delta', a['delta'], 1.0);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return L.huberLoss(input, target, { reduction: this.reduction, delta: this.delta });
  }
}

export interface CrossEntropyLossOptions {
  weight?: Tensor | null;
  ignoreIndex?: number;
  reduction?: Reduction;
  labelSmoothing?: number;
}

export class CrossEntropyLoss extends Loss {
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  declare weight: Tensor | null;
  constructor(weight?: Tensor | null | CrossEntropyLossOptions, opts?: CrossEntropyLossOptions) {
    const a = parseArgs('CrossEntropyLoss', ['weight'], ['ignoreIndex', 'reduction', 'labelSmoothing'], [weight, opts]);
    super('CrossEntropyLoss', a);
    this.registerBuffer('weight', optTensor('CrossEntropyLoss', 'weight', a['weight']));
    this.ignoreIndex = num('CrossEntropyLoss', 'ignore_index', a['ignoreIndex'], -100);
    this.labelSmoothing = num('CrossEntropyLoss', 'label_smoothing', a['labelSmoothing'], 0);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return L.crossEntropy(input, target, { weight: this.weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction, labelSmoothing: this.labelSmoothing });
  }
}

export class NLLLoss extends Loss {
  readonly ignoreIndex: number;
  declare weight: Tensor | null;
  constructor(weight?: Tensor | null | L.NllOptions, opts?: L.NllOptions) {
    const a = parseArgs('NLLLoss', ['weight'], ['ignoreIndex', 'reduction'], [weight, opts]);
    super('NLLLoss', a);
    this.registerBuffer('weight', optTensor('NLLLoss', 'weight', a['weight']));
    this.ignoreIndex = num('NLLLoss', 'ignore_index', a['ignoreIndex'], -100);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return L.nllLoss(input, target, { weight: this.weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction });
  }
}

export class BCELoss extends Loss {
  declare weight: Tensor | null;
  constructor(weight?: Tensor | null | { weight?: Tensor | null; reduction?: Reduction }, opts?: { weight?: Tensor | null; reduction?: Reduction }) {
    const a = parseArgs('BCELoss', ['weight'], ['reduction'], [weight, opts]);
    super('BCELoss', a);
    this.registerBuffer('weight', optTensor('BCELoss', 'weight', a['weight']));
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return L.binaryCrossEntropy(input, target, { weight: this.weight, reduction: this.reduction });
  }
}

export class BCEWithLogitsLoss extends Loss {
  declare weight: Tensor | null;
  declare pos_weight: Tensor | null;
  constructor(weight?: Tensor | null | L.BceWithLogitsOptions, opts?: L.BceWithLogitsOptions) {
    const a = parseArgs('BCEWithLogitsLoss', ['weight'], ['reduction', 'posWeight'], [weight, opts]);
    super('BCEWithLogitsLoss', a);
    this.registerBuffer('weight', optTensor('BCEWithLogitsLoss', 'weight', a['weight']));
    this.registerBuffer('pos_weight', optTensor('BCEWithLogitsLoss', 'pos_weight', a['posWeight']));
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return L.binaryCrossEntropyWithLogits(input, target, { weight: this.weight, posWeight: this.pos_weight, reduction: this.reduction });
  }
}

export class KLDivLoss extends Module<[Tensor, Tensor], Tensor> {
  readonly reduction: L.KlReduction;
  readonly logTarget: boolean;
  constructor(opts: { reduction?: L.KlReduction; logTarget?: boolean } = {}) {
    super();
    const a = parseArgs('KLDivLoss', [], ['reduction', 'logTarget'], [opts]);
    this.reduction = str<L.KlReduction>('KLDivLoss', 'reduction', a['reduction'], 'mean', ['none', 'mean', 'sum', 'batchmean']);
    this.logTarget = bool('KLDivLoss', 'log_target', a['logTarget'], false);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return L.klDiv(input, target, { reduction: this.reduction, logTarget: this.logTarget });
  }
}

export class SoftMarginLoss extends Loss {
  constructor(opts: { reduction?: Reduction } = {}) {
    super('SoftMarginLoss', parseArgs('SoftMarginLoss', [], ['reduction'], [opts]));
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return L.softMarginLoss(input, target, { reduction: this.reduction });
  }
}

export class CosineSimilarity extends Module<[Tensor, Tensor], Tensor> {
  readonly dim: number;
  readonly eps: number;
  constructor(dim?: number | { dim?: number; eps?: number }, eps?: number | { eps?: number }) {
    super();
    const a = parseArgs('CosineSimilarity', ['dim', 'eps'], [], [dim, eps]);
    this.dim = num('CosineSimilarity', 'dim', a['dim'], 1);
    this.eps = num('CosineSimilarity', 'eps', a['eps'], 1e-8);
  }
  override forward(x1: Tensor, x2: Tensor): Tensor {
    return F.cosineSimilarity(x1, x2, this.dim, this.eps);
  }
  override extraRepr(): string {
    return `dim=${this.dim}, eps=${pyFloat(this.eps)}`;
  }
}
