/** Activation modules: thin wrappers over nn.functional, printed as PyTorch prints them. */
import type { Tensor } from '@fusor/tensor';
import { Module, pyFloat, pyRepr } from '../module.js';
import { Parameter } from '../parameter.js';
import * as torch from '@fusor/tensor';
import { parseArgs, num, bool, str, int, optNum } from '../args.js';
import * as A from '../functional/activation.js';

const inplaceRepr = (inplace: boolean): string => (inplace ? 'inplace=True' : '');

/** Elementwise activation with an optional `inplace` flag (accepted for PyTorch parity; results are new tensors). */
abstract class Simple extends Module {
  readonly inplace: boolean;
  constructor(name: string, args: unknown[]) {
    super();
    const a = parseArgs(name, ['inplace'], [], args);
    this.inplace = bool(name, 'inplace', a['inplace'], false);
  }
  override extraRepr(): string {
    return inplaceRepr(this.inplace);
  }
}

export class ReLU extends Simple {
  constructor(inplace?: boolean | { inplace?: boolean }) {
    super('ReLU', [inplace]);
  }
  override forward(x: Tensor): Tensor {
    return A.relu(x);
  }
}
export class ReLU6 extends Simple {
  constructor(inplace?: boolean | { inplace?: boolean }) {
    super('ReLU6', [inplace]);
  }
  override forward(x: Tensor): Tensor {
    return A.relu6(x);
  }
}
export class SiLU extends Simple {
  constructor(inplace?: boolean | { inplace?: boolean }) {
    super('SiLU', [inplace]);
  }
  override forward(x: Tensor): Tensor {
    return A.silu(x);
  }
}
export class Mish extends Simple {
  constructor(inplace?: boolean | { inplace?: boolean }) {
    super('Mish', [inplace]);
  }
  override forward(x: Tensor): Tensor {
    return A.mish(x);
  }
}
export class Hardswish extends Simple {
  constructor(inplace?: boolean | { inplace?: boolean }) {
    super('Hardswish', [inplace]);
  }
  override forward(x: Tensor): Tensor {
    return A.hardswish(x);
  }
}
export class Hardsigmoid extends Simple {
  constructor(inplace?: boolean | { inplace?: boolean }) {
    super('Hardsigmoid', [inplace]);
  }
  override forward(x: Tensor): Tensor {
    return A.hardsigmoid(x);
  }
}
export class SELU extends Simple {
  constructor(inplace?: boolean | { inplace?: boolean }) {
    super('SELU', [inplace]);
  }
  override forward(x: Tensor): Tensor {
    return A.selu(x);
  }
}

export class Tanh extends Module {
  override forward(x: Tensor): Tensor {
    return A.tanh(x);
  }
}
export class Sigmoid extends Module {
  override forward(x: Tensor): Tensor {
    return A.sigmoid(x);
  }
}
export class LogSigmoid extends Module {
  override forward(x: Tensor): Tensor {
    return A.logsigmoid(x);
  }
}
export class Softsign extends Module {
  override forward(x: Tensor): Tensor {
    return A.softsign(x);
  }
}
export class Tanhshrink extends Module {
  override forward(x: Tensor): Tensor {
    return A.tanhshrink(x);
  }
}

export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';
  constructor(approximate?: 'none' | 'tanh' | { approximate?: 'none' | 'tanh' }) {
    super();
    const a = parseArgs('GELU', ['approximate'], [], [approximate]);
    this.approximate = str('GELU', 'approximate', a['approximate'], 'none', ['none', 'tanh']);
  }
  override forward(x: Tensor): Tensor {
    return A.gelu(x, { approximate: this.approximate });
  }
  override extraRepr(): string {
    return `approximate=${pyRepr(this.approximate)}`;
  }
}

export class LeakyReLU extends Module {
  readonly negativeSlope: number;
  readonly inplace: boolean;
  constructor(negativeSlope?: number | { negativeSlope?: number; inplace?: boolean }, inplace?: boolean | { inplace?: boolean }) {
    super();
    const a = parseArgs('LeakyReLU', ['negativeSlope', 'inplace'], [], [negativeSlope, inplace]);
    this.negativeSlope = num('LeakyReLU', 'negative_slope', a['negativeSlope'], 0.01);
    this.inplace = bool('LeakyReLU', 'inplace', a['inplace'], false);
  }
  override forward(x: Tensor): Tensor {
    return A.leakyRelu(x, this.negativeSlope);
  }
  override extraRepr(): string {
    return `negative_slope=${pyFloat(this.negativeSlope)}${this.inplace ? ', inplace=True' : ''}`;
  }
}

export class ELU extends Module {
  readonly alpha: number;
  readonly inplace: boolean;
  constructor(alpha?: number | { alpha?: number; inplace?: boolean }, inplace?: boolean | { inplace?: boolean }) {
    super();
    const a = parseArgs('ELU', ['alpha', 'inplace'], [], [alpha, inplace]);
    this.alpha = num('ELU', 'alpha', a['alpha'], 1.0);
    this.inplace = bool('ELU', 'inplace', a['inplace'], false);
  }
  override forward(x: Tensor): Tensor {
    return A.elu(x, this.alpha);
  }
  override extraRepr(): string {
    return `alpha=${pyFloat(this.alpha)}${this.inplace ? ', inplace=True' : ''}`;
  }
}

export class CELU extends Module {
  readonly alpha: number;
  constructor(alpha?: number | { alpha?: number; inplace?: boolean }, inplace?: boolean | { inplace?: boolean }) {
    super();
    const a = parseArgs('CELU', ['alpha', 'inplace'], [], [alpha, inplace]);
    this.alpha = num('CELU', 'alpha', a['alpha'], 1.0);
  }
  override forward(x: Tensor): Tensor {
    return A.celu(x, this.alpha);
  }
  override extraRepr(): string {
    return `alpha=${pyFloat(this.alpha)}`;
  }
}

export class Softplus extends Module {
  readonly beta: number;
  readonly threshold: number;
  constructor(beta?: number | { beta?: number; threshold?: number }, threshold?: number | { threshold?: number }) {
    super();
    const a = parseArgs('Softplus', ['beta', 'threshold'], [], [beta, threshold]);
    this.beta = num('Softplus', 'beta', a['beta'], 1);
    this.threshold = num('Softplus', 'threshold', a['threshold'], 20);
  }
  override forward(x: Tensor): Tensor {
    return A.softplus(x, this.beta, this.threshold);
  }
  override extraRepr(): string {
    return `beta=${pyRepr(this.beta)}, threshold=${pyRepr(this.threshold)}`;
  }
}

export class Hardtanh extends Module {
  readonly minVal: number;
  readonly maxVal: number;
  readonly inplace: boolean;
  constructor(minVal?: number | { minVal?: number; maxVal?: number; inplace?: boolean }, maxVal?: number | { maxVal?: number; inplace?: boolean }, inplace?: boolean | { inplace?: boolean }) {
    super();
    const a = parseArgs('Hardtanh', ['minVal', 'maxVal', 'inplace'], [], [minVal, maxVal, inplace]);
    this.minVal = num('Hardtanh', 'min_val', a['minVal'], -1.0);
    this.maxVal = num('Hardtanh', 'max_val', a['maxVal'], 1.0);
    this.inplace = bool('Hardtanh', 'inplace', a['inplace'], false);
    if (this.maxVal <= this.minVal) throw new RangeError('max_val must be greater than min_val');
  }
  override forward(x: Tensor): Tensor {
    return A.hardtanh(x, this.minVal, this.maxVal);
  }
  override extraRepr(): string {
    return `min_val=${pyFloat(this.minVal)}, max_val=${pyFloat(this.maxVal)}${this.inplace ? ', inplace=True' : ''}`;
  }
}

export class Threshold extends Module {
  readonly threshold: number;
  readonly value: number;
  constructor(threshold: number, value: number) {
    super();
    this.threshold = num('Threshold', 'threshold', threshold, 0);
    this.value = num('Threshold', 'value', value, 0);
  }
  override forward(x: Tensor): Tensor {
    return A.threshold(x, this.threshold, this.value);
  }
  override extraRepr(): string {
    return `threshold=${pyRepr(this.threshold)}, value=${pyRepr(this.value)}`;
  }
}

export class GLU extends Module {
  readonly dim: number;
  constructor(dim?: number | { dim?: number }) {
    super();
    this.dim = int('GLU', 'dim', parseArgs('GLU', ['dim'], [], [dim])['dim'], -1);
  }
  override forward(x: Tensor): Tensor {
    return A.glu(x, this.dim);
  }
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

export class PReLU extends Module {
  readonly numParameters: number;
  weight: Parameter;
  constructor(numParameters?: number | { numParameters?: number; init?: number; device?: string; dtype?: torch.DType }, initValue?: number | { init?: number }) {
    super();
    const a = parseArgs('PReLU', ['numParameters', 'init'], ['device', 'dtype'], [numParameters, initValue]);
    this.numParameters = int('PReLU', 'num_parameters', a['numParameters'], 1);
    const v = num('PReLU', 'init', a['init'], 0.25);
    this.weight = new Parameter(torch.full([this.numParameters], v, { dtype: (a['dtype'] as torch.DType | undefined) ?? torch.getDefaultDtype(), ...(a['device'] ? { device: a['device'] as string } : {}) }));
  }
  override forward(x: Tensor): Tensor {
    return A.prelu(x, this.weight);
  }
  override extraRepr(): string {
    return `num_parameters=${this.numParameters}`;
  }
}

abstract class DimModule extends Module {
  readonly dim: number | null;
  constructor(name: string, dim: unknown) {
    super();
    this.dim = optNum(name, 'dim', parseArgs(name, ['dim'], [], [dim])['dim']);
  }
  override extraRepr(): string {
    return `dim=${pyRepr(this.dim)}`;
  }
}
export class Softmax extends DimModule {
  constructor(dim?: number | null | { dim?: number | null }) {
    super('Softmax', dim);
  }
  override forward(x: Tensor): Tensor {
    return A.softmax(x, this.dim);
  }
}
export class LogSoftmax extends DimModule {
  constructor(dim?: number | null | { dim?: number | null }) {
    super('LogSoftmax', dim);
  }
  override forward(x: Tensor): Tensor {
    return A.logSoftmax(x, this.dim);
  }
}
export class Softmin extends DimModule {
  constructor(dim?: number | null | { dim?: number | null }) {
    super('Softmin', dim);
  }
  override forward(x: Tensor): Tensor {
    return A.softmin(x, this.dim);
  }
}
