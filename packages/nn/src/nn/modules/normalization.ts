/** BatchNorm1d/2d/3d, LayerNorm, GroupNorm, RMSNorm. */
import * as torch from '@fusor/tensor';
import { ShapeError, type Tensor } from '@fusor/tensor';
import { Module, pyFloat, pyRepr } from '../module.js';
import type { Parameter } from '../parameter.js';
import { parseArgs, int, num, bool, optNum } from '../args.js';
import * as F from '../functional/linear.js';
import * as init from '../init.js';
import { emptyParam, factory, FACTORY_KEYS, type FactoryOptions } from './factory.js';

export interface BatchNormOptions extends FactoryOptions {
  eps?: number;
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}

/** Batch normalization over dim 1, with running statistics (buffers running_mean, running_var, num_batches_tracked). */
abstract class BatchNormBase extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  declare weight: Parameter | null;
  declare bias: Parameter | null;
  declare running_mean: Tensor | null;
  declare running_var: Tensor | null;
  declare num_batches_tracked: Tensor | null;

  constructor(name: string, args: unknown[]) {
    super();
    const a = parseArgs(name, ['numFeatures', 'eps', 'momentum', 'affine', 'trackRunningStats'], FACTORY_KEYS, args);
    this.numFeatures = int(name, 'num_features', a['numFeatures'], 0);
    this.eps = num(name, 'eps', a['eps'], 1e-5);
    this.momentum = a['momentum'] === null ? null : num(name, 'momentum', a['momentum'], 0.1);
    this.affine = bool(name, 'affine', a['affine'], true);
    this.trackRunningStats = bool(name, 'track_running_stats', a['trackRunningStats'], true);
    const f = factory(a);
    this.registerParameter('weight', this.affine ? emptyParam([this.numFeatures], f) : null);
    this.registerParameter('bias', this.affine ? emptyParam([this.numFeatures], f) : null);
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', torch.zeros([this.numFeatures], f));
      this.registerBuffer('running_var', torch.ones([this.numFeatures], f));
      this.registerBuffer('num_batches_tracked', torch.tensor(0, { dtype: 'int64', ...(f.device ? { device: f.device } : {}) }));
    } else {
      this.registerBuffer('running_mean', null);
      this.registerBuffer('running_var', null);
      this.registerBuffer('num_batches_tracked', null);
    }
    this.resetParameters();
  }

  /** Running statistics' buffers (PyTorch's key names), for code that wants camelCase. */
  get runningMean(): Tensor | null {
    return this.running_mean;
  }
  get runningVar(): Tensor | null {
    return this.running_var;
  }
  get numBatchesTracked(): Tensor | null {
    return this.num_batches_tracked;
  }

  resetRunningStats(): void {
    if (!this.trackRunningStats) return;
    torch.noGrad(() => {
      this.running_mean!.zero_();
      this.running_var!.fill_(1);
      this.num_batches_tracked!.zero_();
    });
  }

  resetParameters(): void {
    this.resetRunningStats();
    if (this.affine) {
      init.ones_(this.weight!);
      init.zeros_(this.bias!);
    }
  }

  protected abstract checkInputDim(input: Tensor): void;

  override forward(input: Tensor): Tensor {
    this.checkInputDim(input);
    const useBatchStats = this.training || this.running_mean === null;
    if (this.training && this.trackRunningStats && this.num_batches_tracked) {
      torch.noGrad(() => this.num_batches_tracked!.add_(1));
    }
    return F.batchNorm(input, this.training && !this.trackRunningStats ? null : this.running_mean, this.training && !this.trackRunningStats ? null : this.running_var, {
      weight: this.weight,
      bias: this.bias,
      training: useBatchStats,
      momentum: this.momentum,
      eps: this.eps,
      numBatchesTracked: this.num_batches_tracked,
    });
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${this.momentum === null ? 'None' : pyFloat(this.momentum)}, affine=${pyRepr(this.affine)}, track_running_stats=${pyRepr(this.trackRunningStats)}`;
  }
}

type BNArgs = [numFeatures: number, eps?: number | BatchNormOptions, momentum?: number | null | BatchNormOptions, affine?: boolean | BatchNormOptions, trackRunningStats?: boolean | BatchNormOptions, opts?: BatchNormOptions];

export class BatchNorm1d extends BatchNormBase {
  constructor(...args: BNArgs) {
    super('BatchNorm1d', args);
  }
  protected checkInputDim(input: Tensor): void {
    if (input.ndim !== 2 && input.ndim !== 3) throw new ShapeError(`expected 2D or 3D input (got ${input.ndim}D input)`);
  }
}
export class BatchNorm2d extends BatchNormBase {
  constructor(...args: BNArgs) {
    super('BatchNorm2d', args);
  }
  protected checkInputDim(input: Tensor): void {
    if (input.ndim !== 4) throw new ShapeError(`expected 4D input (got ${input.ndim}D input)`);
  }
}
export class BatchNorm3d extends BatchNormBase {
  constructor(...args: BNArgs) {
    super('BatchNorm3d', args);
  }
  protected checkInputDim(input: Tensor): void {
    if (input.ndim !== 5) throw new ShapeError(`expected 5D input (got ${input.ndim}D input)`);
  }
}

export interface LayerNormOptions extends FactoryOptions {
  eps?: number;
  elementwiseAffine?: boolean;
  bias?: boolean;
}

export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  declare weight: Parameter | null;
  declare bias: Parameter | null;

  constructor(normalizedShape: number | readonly number[], eps?: number | LayerNormOptions, elementwiseAffine?: boolean | LayerNormOptions, opts?: LayerNormOptions) {
    super();
    const a = parseArgs('LayerNorm', ['normalizedShape', 'eps', 'elementwiseAffine'], [...FACTORY_KEYS, 'bias'], [normalizedShape, eps, elementwiseAffine, opts]);
    const ns = a['normalizedShape'];
    this.normalizedShape = typeof ns === 'number' ? [ns] : [...(ns as number[])];
    this.eps = num('LayerNorm', 'eps', a['eps'], 1e-5);
    this.elementwiseAffine = bool('LayerNorm', 'elementwise_affine', a['elementwiseAffine'], true);
    const hasBias = bool('LayerNorm', 'bias', a['bias'], true);
    const f = factory(a);
    this.registerParameter('weight', this.elementwiseAffine ? emptyParam(this.normalizedShape, f) : null);
    this.registerParameter('bias', this.elementwiseAffine && hasBias ? emptyParam(this.normalizedShape, f) : null);
    this.resetParameters();
  }
  resetParameters(): void {
    if (this.weight) init.ones_(this.weight);
    if (this.bias) init.zeros_(this.bias);
  }
  override forward(input: Tensor): Tensor {
    return F.layerNorm(input, this.normalizedShape, this.weight, this.bias, this.eps);
  }
  override extraRepr(): string {
    return `${pyRepr(this.normalizedShape)}, eps=${pyFloat(this.eps)}, elementwise_affine=${pyRepr(this.elementwiseAffine)}`;
  }
}

export interface GroupNormOptions extends FactoryOptions {
  eps?: number;
  affine?: boolean;
}

export class GroupNorm extends Module {
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly affine: boolean;
  declare weight: Parameter | null;
  declare bias: Parameter | null;

  constructor(numGroups: number, numChannels: number, eps?: number | GroupNormOptions, affine?: boolean | GroupNormOptions, opts?: GroupNormOptions) {
    super();
    const a = parseArgs('GroupNorm', ['numGroups', 'numChannels', 'eps', 'affine'], FACTORY_KEYS, [numGroups, numChannels, eps, affine, opts]);
    this.numGroups = int('GroupNorm', 'num_groups', a['numGroups'], 1);
    this.numChannels = int('GroupNorm', 'num_channels', a['numChannels'], 1);
    if (this.numChannels % this.numGroups !== 0) throw new RangeError('num_channels must be divisible by num_groups');
    this.eps = num('GroupNorm', 'eps', a['eps'], 1e-5);
    this.affine = bool('GroupNorm', 'affine', a['affine'], true);
    const f = factory(a);
    this.registerParameter('weight', this.affine ? emptyParam([this.numChannels], f) : null);
    this.registerParameter('bias', this.affine ? emptyParam([this.numChannels], f) : null);
    if (this.weight) init.ones_(this.weight);
    if (this.bias) init.zeros_(this.bias);
  }
  override forward(input: Tensor): Tensor {
    return F.groupNorm(input, this.numGroups, this.weight, this.bias, this.eps);
  }
  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${pyFloat(this.eps)}, affine=${pyRepr(this.affine)}`;
  }
}

export interface RMSNormOptions extends FactoryOptions {
  eps?: number | null;
  elementwiseAffine?: boolean;
}

/** torch.nn.RMSNorm (PyTorch ≥ 2.4): x / √(mean(x²) + eps) · weight; eps null = the dtype's epsilon. */
export class RMSNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number | null;
  readonly elementwiseAffine: boolean;
  declare weight: Parameter | null;

  constructor(normalizedShape: number | readonly number[], eps?: number | null | RMSNormOptions, elementwiseAffine?: boolean | RMSNormOptions, opts?: RMSNormOptions) {
    super();
    const a = parseArgs('RMSNorm', ['normalizedShape', 'eps', 'elementwiseAffine'], FACTORY_KEYS, [normalizedShape, eps, elementwiseAffine, opts]);
    const ns = a['normalizedShape'];
    this.normalizedShape = typeof ns === 'number' ? [ns] : [...(ns as number[])];
    this.eps = optNum('RMSNorm', 'eps', a['eps']);
    this.elementwiseAffine = bool('RMSNorm', 'elementwise_affine', a['elementwiseAffine'], true);
    const f = factory(a);
    this.registerParameter('weight', this.elementwiseAffine ? emptyParam(this.normalizedShape, f) : null);
    if (this.weight) init.ones_(this.weight);
  }
  override forward(input: Tensor): Tensor {
    return F.rmsNorm(input, this.normalizedShape, this.weight, this.eps);
  }
  override extraRepr(): string {
    return `${pyRepr(this.normalizedShape)}, eps=${this.eps === null ? 'None' : pyFloat(this.eps)}, elementwise_affine=${pyRepr(this.elementwiseAffine)}`;
  }
}
