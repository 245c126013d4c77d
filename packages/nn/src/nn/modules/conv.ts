/** Conv1d/2d/3d and ConvTranspose1d/2d/3d over @fusor/tensor's convolutions. */
import * as torch from '@fusor/tensor';
import type { Tensor } from '@fusor/tensor';
import { Module, pyRepr } from '../module.js';
import type { Parameter } from '../parameter.js';
import { parseArgs, int, bool, ints, str } from '../args.js';
import * as init from '../init.js';
import { emptyParam, factory, FACTORY_KEYS, type FactoryOptions } from './factory.js';

export type PaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';
type IntOrTuple = number | readonly number[];

export interface ConvOptions extends FactoryOptions {
  stride?: IntOrTuple;
  padding?: IntOrTuple | 'same' | 'valid';
  dilation?: IntOrTuple;
  groups?: number;
  bias?: boolean;
  paddingMode?: PaddingMode;
}
export interface ConvTransposeOptions extends FactoryOptions {
  stride?: IntOrTuple;
  padding?: IntOrTuple;
  outputPadding?: IntOrTuple;
  groups?: number;
  bias?: boolean;
  dilation?: IntOrTuple;
  paddingMode?: 'zeros';
}

const tupleRepr = (t: readonly number[]): string => pyRepr(t);

abstract class ConvNd extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[] | 'same' | 'valid';
  readonly dilation: number[];
  readonly transposed: boolean;
  readonly outputPadding: number[];
  readonly groups: number;
  readonly paddingMode: PaddingMode;
  weight: Parameter;
  declare bias: Parameter | null;

  constructor(name: string, nd: number, transposed: boolean, a: Record<string, unknown>) {
    super();
    this.inChannels = int(name, 'in_channels', a['inChannels'], 0);
    this.outChannels = int(name, 'out_channels', a['outChannels'], 0);
    this.kernelSize = ints(name, 'kernel_size', a['kernelSize'], nd);
    this.stride = ints(name, 'stride', a['stride'], nd, 1);
    const p = a['padding'];
    if (p === 'same' || p === 'valid') {
      if (transposed) throw new TypeError(`${name}(): padding='${p}' is not supported for transposed convolutions`);
      if (p === 'same' && this.stride.some((s) => s !== 1)) throw new RangeError("padding='same' is not supported for strided convolutions");
      this.padding = p;
    } else this.padding = ints(name, 'padding', p, nd, 0);
    this.dilation = ints(name, 'dilation', a['dilation'], nd, 1);
    this.transposed = transposed;
    this.outputPadding = transposed ? ints(name, 'output_padding', a['outputPadding'], nd, 0) : Array<number>(nd).fill(0);
    this.groups = int(name, 'groups', a['groups'], 1);
    if (this.groups <= 0) throw new RangeError('groups must be a positive integer');
    if (this.inChannels % this.groups !== 0) throw new RangeError('in_channels must be divisible by groups');
    if (this.outChannels % this.groups !== 0) throw new RangeError('out_channels must be divisible by groups');
    this.paddingMode = str<PaddingMode>(name, 'padding_mode', a['paddingMode'], 'zeros', ['zeros', 'reflect', 'replicate', 'circular']);
    if (transposed && this.paddingMode !== 'zeros') throw new RangeError(`Only "zeros" padding mode is supported for ${name}`);
    const f = factory(a);
    const wShape = transposed
      ? [this.inChannels, this.outChannels / this.groups, ...this.kernelSize]
      : [this.outChannels, this.inChannels / this.groups, ...this.kernelSize];
    this.weight = emptyParam(wShape, f);
    this.registerParameter('bias', bool(name, 'bias', a['bias'], true) ? emptyParam([this.outChannels], f) : null);
    this.resetParameters();
  }

  resetParameters(): void {
    init.kaimingUniform_(this.weight, Math.sqrt(5));
    if (this.bias) {
      const [fanIn] = init.calculateFanInAndFanOut(this.weight);
      if (fanIn !== 0) {
        const bound = 1 / Math.sqrt(fanIn);
        init.uniform_(this.bias, -bound, bound);
      }
    }
  }

  /** The input padded by paddingMode when it is not 'zeros' (PyTorch pads first, then convolves with padding 0). */
  protected padded(input: Tensor): { x: Tensor; padding: number[] | 'same' | 'valid' } {
    if (this.paddingMode === 'zeros' || typeof this.padding === 'string') return { x: input, padding: this.padding };
    const rev = [...this.padding].reverse().flatMap((p) => [p, p]);
    return { x: torch.functional.pad(input, rev, this.paddingMode), padding: this.padding.map(() => 0) };
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${tupleRepr(this.kernelSize)}, stride=${tupleRepr(this.stride)}`;
    if (typeof this.padding === 'string') s += `, padding=${this.padding}`;
    else if (this.padding.some((p) => p !== 0)) s += `, padding=${tupleRepr(this.padding)}`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=${tupleRepr(this.dilation)}`;
    if (this.outputPadding.some((p) => p !== 0)) s += `, output_padding=${tupleRepr(this.outputPadding)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ', bias=False';
    if (this.paddingMode !== 'zeros') s += `, padding_mode=${this.paddingMode}`;
    return s;
  }
}

const CONV_POS = ['inChannels', 'outChannels', 'kernelSize', 'stride', 'padding', 'dilation', 'groups', 'bias', 'paddingMode'];
const CONVT_POS = ['inChannels', 'outChannels', 'kernelSize', 'stride', 'padding', 'outputPadding', 'groups', 'bias', 'dilation', 'paddingMode'];

type ConvCtorArgs = [
  inChannels: number,
  outChannels: number,
  kernelSize: IntOrTuple,
  stride?: IntOrTuple | ConvOptions,
  padding?: IntOrTuple | 'same' | 'valid' | ConvOptions,
  dilation?: IntOrTuple | ConvOptions,
  groups?: number | ConvOptions,
  bias?: boolean | ConvOptions,
  paddingMode?: PaddingMode | ConvOptions,
  opts?: ConvOptions,
];
type ConvTCtorArgs = [
  inChannels: number,
  outChannels: number,
  kernelSize: IntOrTuple,
  stride?: IntOrTuple | ConvTransposeOptions,
  padding?: IntOrTuple | ConvTransposeOptions,
  outputPadding?: IntOrTuple | ConvTransposeOptions,
  groups?: number | ConvTransposeOptions,
  bias?: boolean | ConvTransposeOptions,
  dilation?: IntOrTuple | ConvTransposeOptions,
  opts?: ConvTransposeOptions,
];

function convForward(nd: 1 | 2 | 3, m: ConvNd, input: Tensor): Tensor {
  const fn = nd === 1 ? torch.conv1d : nd === 2 ? torch.conv2d : torch.conv3d;
  const { x, padding } = (m as unknown as { padded(i: Tensor): { x: Tensor; padding: number[] | 'same' | 'valid' } }).padded(input);
  return fn(x, m.weight, { bias: m.bias, stride: m.stride, padding, dilation: m.dilation, groups: m.groups });
}
function convTForward(nd: 1 | 2 | 3, m: ConvNd, input: Tensor): Tensor {
  const fn = nd === 1 ? torch.convTranspose1d : nd === 2 ? torch.convTranspose2d : torch.convTranspose3d;
  return fn(input, m.weight, { bias: m.bias, stride: m.stride, padding: m.padding as number[], outputPadding: m.outputPadding, groups: m.groups, dilation: m.dilation });
}

export class Conv1d extends ConvNd {
  constructor(...args: ConvCtorArgs) {
    super('Conv1d', 1, false, parseArgs('Conv1d', CONV_POS, FACTORY_KEYS, args));
  }
  override forward(input: Tensor): Tensor {
    return convForward(1, this, input);
  }
}
export class Conv2d extends ConvNd {
  constructor(...args: ConvCtorArgs) {
    super('Conv2d', 2, false, parseArgs('Conv2d', CONV_POS, FACTORY_KEYS, args));
  }
  override forward(input: Tensor): Tensor {
    return convForward(2, this, input);
  }
}
export class Conv3d extends ConvNd {
  constructor(...args: ConvCtorArgs) {
    super('Conv3d', 3, false, parseArgs('Conv3d', CONV_POS, FACTORY_KEYS, args));
  }
  override forward(input: Tensor): Tensor {
    return convForward(3, this, input);
  }
}
export class ConvTranspose1d extends ConvNd {
  constructor(...args: ConvTCtorArgs) {
    super('ConvTranspose1d', 1, true, parseArgs('ConvTranspose1d', CONVT_POS, FACTORY_KEYS, args));
  }
  override forward(input: Tensor): Tensor {
    return convTForward(1, this, input);
  }
}
export class ConvTranspose2d extends ConvNd {
  constructor(...args: ConvTCtorArgs) {
    super('ConvTranspose2d', 2, true, parseArgs('ConvTranspose2d', CONVT_POS, FACTORY_KEYS, args));
  }
  override forward(input: Tensor): Tensor {
    return convTForward(2, this, input);
  }
}
export class ConvTranspose3d extends ConvNd {
  constructor(...args: ConvTCtorArgs) {
    super('ConvTranspose3d', 3, true, parseArgs('ConvTranspose3d', CONVT_POS, FACTORY_KEYS, args));
  }
  override forward(input: Tensor): Tensor {
    return convTForward(3, this, input);
  }
}
