/** Identity, Linear, Bilinear, Flatten, Unflatten. */
import { ShapeError, type Tensor } from '@fusor/tensor';
import { Module, pyRepr } from '../module.js';
import type { Parameter } from '../parameter.js';
import { parseArgs, int, bool, ints } from '../args.js';
import * as F from '../functional/linear.js';
import * as init from '../init.js';
import { emptyParam, factory, FACTORY_KEYS, type FactoryOptions } from './factory.js';

export class Identity extends Module {
  constructor(..._args: unknown[]) {
    super();
  }
  override forward(input: Tensor): Tensor {
    return input;
  }
}

export interface LinearOptions extends FactoryOptions {
  bias?: boolean;
}

/** y = x Wᵀ + b; weight [out, in] and bias initialized U(−1/√in, 1/√in) as PyTorch. */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter;
  declare bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, bias?: boolean | LinearOptions, opts?: LinearOptions) {
    super();
    const a = parseArgs('Linear', ['inFeatures', 'outFeatures', 'bias'], FACTORY_KEYS, [inFeatures, outFeatures, bias, opts]);
    this.inFeatures = int('Linear', 'in_features', a['inFeatures'], 0);
    this.outFeatures = int('Linear', 'out_features', a['outFeatures'], 0);
    const f = factory(a);
    this.weight = emptyParam([this.outFeatures, this.inFeatures], f);
    this.registerParameter('bias', bool('Linear', 'bias', a['bias'], true) ? emptyParam([this.outFeatures], f) : null);
    this.resetParameters();
  }

  resetParameters(): void {
    init.kaimingUniform_(this.weight, Math.sqrt(5));
    if (this.bias) {
      const [fanIn] = init.calculateFanInAndFanOut(this.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      init.uniform_(this.bias, -bound, bound);
    }
  }

  override forward(input: Tensor): Tensor {
    return F.linear(input, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyRepr(this.bias !== null)}`;
  }
}

export class Bilinear extends Module<[Tensor, Tensor], Tensor> {
  readonly in1Features: number;
  readonly in2Features: number;
  readonly outFeatures: number;
  weight: Parameter;
  declare bias: Parameter | null;

  constructor(in1Features: number, in2Features: number, outFeatures: number, bias?: boolean | LinearOptions, opts?: LinearOptions) {
    super();
    const a = parseArgs('Bilinear', ['in1Features', 'in2Features', 'outFeatures', 'bias'], FACTORY_KEYS, [in1Features, in2Features, outFeatures, bias, opts]);
    this.in1Features = int('Bilinear', 'in1_features', a['in1Features'], 0);
    this.in2Features = int('Bilinear', 'in2_features', a['in2Features'], 0);
    this.outFeatures = int('Bilinear', 'out_features', a['outFeatures'], 0);
    const f = factory(a);
    this.weight = emptyParam([this.outFeatures, this.in1Features, this.in2Features], f);
    this.registerParameter('bias', bool('Bilinear', 'bias', a['bias'], true) ? emptyParam([this.outFeatures], f) : null);
    this.resetParameters();
  }

  resetParameters(): void {
    const bound = 1 / Math.sqrt(this.weight.shape[1]!);
    init.uniform_(this.weight, -bound, bound);
    if (this.bias) init.uniform_(this.bias, -bound, bound);
  }

  override forward(input1: Tensor, input2: Tensor): Tensor {
    return F.bilinear(input1, input2, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in1_features=${this.in1Features}, in2_features=${this.in2Features}, out_features=${this.outFeatures}, bias=${pyRepr(this.bias !== null)}`;
  }
}

export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;
  constructor(startDim?: number | { startDim?: number; endDim?: number }, endDim?: number | { startDim?: number; endDim?: number }) {
    super();
    const a = parseArgs('Flatten', ['startDim', 'endDim'], [], [startDim, endDim]);
    this.startDim = int('Flatten', 'start_dim', a['startDim'], 1);
    this.endDim = int('Flatten', 'end_dim', a['endDim'], -1);
  }
  override forward(input: Tensor): Tensor {
    return input.flatten(this.startDim, this.endDim);
  }
  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

export class Unflatten extends Module {
  readonly dim: number;
  readonly unflattenedSize: number[];
  constructor(dim: number, unflattenedSize: readonly number[]) {
    super();
    this.dim = int('Unflatten', 'dim', dim, 0);
    this.unflattenedSize = ints('Unflatten', 'unflattened_size', unflattenedSize, Array.isArray(unflattenedSize) ? unflattenedSize.length : 1);
  }
  override forward(input: Tensor): Tensor {
    const d = this.dim < 0 ? this.dim + input.ndim : this.dim;
    const size = input.shape[d];
    if (size !== undefined && this.unflattenedSize.reduce((a, b) => a * b, 1) !== size && !this.unflattenedSize.includes(-1)) {
      throw new ShapeError(`unflatten: Provided sizes [${this.unflattenedSize.join(', ')}] don't multiply up to the size of dim ${d} (${size}) in the input tensor`);
    }
    return input.reshape([...input.shape.slice(0, d), ...this.unflattenedSize, ...input.shape.slice(d + 1)]);
  }
  override extraRepr(): string {
    return `dim=${this.dim}, unflattened_size=${pyRepr(this.unflattenedSize)}`;
  }
}
