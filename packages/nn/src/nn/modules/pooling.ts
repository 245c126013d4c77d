/** MaxPool1d/2d/3d, AvgPool1d/2d/3d, AdaptiveAvgPool1d/2d/3d over @fusor/tensor's pooling. */
import * as torch from '@fusor/tensor';
import type { Tensor } from '@fusor/tensor';
import { Module, pyRepr } from '../module.js';
import { parseArgs, bool } from '../args.js';

type IntOrTuple = number | readonly number[];

export interface MaxPoolOptions {
  kernelSize?: IntOrTuple;
  stride?: IntOrTuple | null;
  padding?: IntOrTuple;
  dilation?: IntOrTuple;
  returnIndices?: boolean;
  ceilMode?: boolean;
}
/** The options of AvgPool modules are the functional form's (one definition, in @fusor/tensor). */
export type AvgPoolOptions = torch.AvgPoolOptions;

type MaxPoolCtor = [kernelSize: IntOrTuple | MaxPoolOptions, stride?: IntOrTuple | null | MaxPoolOptions, padding?: IntOrTuple | MaxPoolOptions, dilation?: IntOrTuple | MaxPoolOptions, returnIndices?: boolean | MaxPoolOptions, ceilMode?: boolean | MaxPoolOptions, opts?: MaxPoolOptions];
type AvgPoolCtor = [kernelSize: IntOrTuple | AvgPoolOptions, stride?: IntOrTuple | null | AvgPoolOptions, padding?: IntOrTuple | AvgPoolOptions, ceilMode?: boolean | AvgPoolOptions, countIncludePad?: boolean | AvgPoolOptions, divisorOverride?: number | null | AvgPoolOptions, opts?: AvgPoolOptions];

const MAX_POS = ['kernelSize', 'stride', 'padding', 'dilation', 'returnIndices', 'ceilMode'];
const AVG_POS = ['kernelSize', 'stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride'];
const tupleOrInt = (v: IntOrTuple): string => (typeof v === 'number' ? String(v) : pyRepr([...v]));

abstract class MaxPoolNd extends Module<[Tensor], Tensor> {
  readonly kernelSize: IntOrTuple;
  readonly stride: IntOrTuple;
  readonly padding: IntOrTuple;
  readonly dilation: IntOrTuple;
  readonly returnIndices: boolean;
  readonly ceilMode: boolean;
  constructor(name: string, args: unknown[]) {
    super();
    const a = parseArgs(name, MAX_POS, [], args);
    if (a['kernelSize'] === undefined) throw new TypeError(`${name}() missing required argument: 'kernel_size'`);
    this.kernelSize = a['kernelSize'] as IntOrTuple;
    this.stride = (a['stride'] ?? this.kernelSize) as IntOrTuple;
    this.padding = (a['padding'] ?? 0) as IntOrTuple;
    this.dilation = (a['dilation'] ?? 1) as IntOrTuple;
    this.returnIndices = bool(name, 'return_indices', a['returnIndices'], false);
    this.ceilMode = bool(name, 'ceil_mode', a['ceilMode'], false);
  }
  protected opts(): { stride: IntOrTuple; padding: IntOrTuple; dilation: IntOrTuple; ceilMode: boolean } {
    return { stride: this.stride, padding: this.padding, dilation: this.dilation, ceilMode: this.ceilMode };
  }
  /** With returnIndices, [values, indices]: PyTorch returns the pair; fusor's forward returns values, forwardWithIndices both. */
  override extraRepr(): string {
    return `kernel_size=${tupleOrInt(this.kernelSize)}, stride=${tupleOrInt(this.stride)}, padding=${tupleOrInt(this.padding)}, dilation=${tupleOrInt(this.dilation)}, ceil_mode=${pyRepr(this.ceilMode)}`;
  }
}

export class MaxPool1d extends MaxPoolNd {
  constructor(...args: MaxPoolCtor) {
    super('MaxPool1d', args);
  }
  override forward(input: Tensor): Tensor {
    return torch.maxPool1d(input, this.kernelSize, this.opts());
  }
  forwardWithIndices(input: Tensor): [Tensor, Tensor] {
    return torch.maxPool1d(input, this.kernelSize, { ...this.opts(), returnIndices: true });
  }
}
export class MaxPool2d extends MaxPoolNd {
  constructor(...args: MaxPoolCtor) {
    super('MaxPool2d', args);
  }
  override forward(input: Tensor): Tensor {
    return torch.maxPool2d(input, this.kernelSize, this.opts());
  }
  forwardWithIndices(input: Tensor): [Tensor, Tensor] {
    return torch.maxPool2d(input, this.kernelSize, { ...this.opts(), returnIndices: true });
  }
}
export class MaxPool3d extends MaxPoolNd {
  constructor(...args: MaxPoolCtor) {
    super('MaxPool3d', args);
  }
  override forward(input: Tensor): Tensor {
    return torch.maxPool3d(input, this.kernelSize, this.opts());
  }
  forwardWithIndices(input: Tensor): [Tensor, Tensor] {
    return torch.maxPool3d(input, this.kernelSize, { ...this.opts(), returnIndices: true });
  }
}

abstract class AvgPoolNd extends Module<[Tensor], Tensor> {
  readonly kernelSize: IntOrTuple;
  readonly stride: IntOrTuple;
  readonly padding: IntOrTuple;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | null;
  constructor(name: string, args: unknown[]) {
    super();
    const a = parseArgs(name, AVG_POS, [], args);
    if (a['kernelSize'] === undefined) throw new TypeError(`${name}() missing required argument: 'kernel_size'`);
    this.kernelSize = a['kernelSize'] as IntOrTuple;
    this.stride = (a['stride'] ?? this.kernelSize) as IntOrTuple;
    this.padding = (a['padding'] ?? 0) as IntOrTuple;
    this.ceilMode = bool(name, 'ceil_mode', a['ceilMode'], false);
    this.countIncludePad = bool(name, 'count_include_pad', a['countIncludePad'], true);
    this.divisorOverride = (a['divisorOverride'] ?? null) as number | null;
  }
  protected opts(): AvgPoolOptions {
    return { stride: this.stride, padding: this.padding, ceilMode: this.ceilMode, countIncludePad: this.countIncludePad, divisorOverride: this.divisorOverride };
  }
  override extraRepr(): string {
    return `kernel_size=${tupleOrInt(this.kernelSize)}, stride=${tupleOrInt(this.stride)}, padding=${tupleOrInt(this.padding)}`;
  }
}

export class AvgPool1d extends AvgPoolNd {
  constructor(...args: AvgPoolCtor) {
    super('AvgPool1d', args);
  }
  override forward(input: Tensor): Tensor {
    const { divisorOverride: _d, ...o } = this.opts();
    return torch.avgPool1d(input, this.kernelSize, o);
  }
}
export class AvgPool2d extends AvgPoolNd {
  constructor(...args: AvgPoolCtor) {
    super('AvgPool2d', args);
  }
  override forward(input: Tensor): Tensor {
    return torch.avgPool2d(input, this.kernelSize, this.opts());
  }
}
export class AvgPool3d extends AvgPoolNd {
  constructor(...args: AvgPoolCtor) {
    super('AvgPool3d', args);
  }
  override forward(input: Tensor): Tensor {
    return torch.avgPool3d(input, this.kernelSize, this.opts());
  }
}

abstract class AdaptiveAvgPoolNd extends Module<[Tensor], Tensor> {
  readonly outputSize: number | (number | null)[];
  constructor(outputSize: number | readonly (number | null)[]) {
    super();
    this.outputSize = typeof outputSize === 'number' ? outputSize : [...outputSize];
  }
  override extraRepr(): string {
    return `output_size=${typeof this.outputSize === 'number' ? this.outputSize : pyRepr(this.outputSize)}`;
  }
}
export class AdaptiveAvgPool1d extends AdaptiveAvgPoolNd {
  override forward(input: Tensor): Tensor {
    return torch.adaptiveAvgPool1d(input, this.outputSize);
  }
}
export class AdaptiveAvgPool2d extends AdaptiveAvgPoolNd {
  override forward(input: Tensor): Tensor {
    return torch.adaptiveAvgPool2d(input, this.outputSize);
  }
}
export class AdaptiveAvgPool3d extends AdaptiveAvgPoolNd {
  override forward(input: Tensor): Tensor {
    return torch.adaptiveAvgPool3d(input, this.outputSize);
  }
}
