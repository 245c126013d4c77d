/** Dropout modules: active in training mode only. */
import type { Tensor } from '@fusor/tensor';
import { Module, pyFloat, pyRepr } from '../module.js';
import { parseArgs, num, bool } from '../args.js';
import * as F from '../functional/linear.js';

type DropoutArgs = [p?: number | { p?: number; inplace?: boolean }, inplace?: boolean | { inplace?: boolean }];

abstract class DropoutBase extends Module {
  readonly p: number;
  readonly inplace: boolean;
  constructor(name: string, args: unknown[]) {
    super();
    const a = parseArgs(name, ['p', 'inplace'], [], args);
    this.p = num(name, 'p', a['p'], 0.5);
    if (this.p < 0 || this.p > 1) throw new RangeError(`dropout probability has to be between 0 and 1, but got ${this.p}`);
    this.inplace = bool(name, 'inplace', a['inplace'], false);
  }
  override extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=${pyRepr(this.inplace)}`;
  }
}

export class Dropout extends DropoutBase {
  constructor(...args: DropoutArgs) {
    super('Dropout', args);
  }
  override forward(input: Tensor): Tensor {
    return F.dropout(input, this.p, this.training);
  }
}
export class Dropout1d extends DropoutBase {
  constructor(...args: DropoutArgs) {
    super('Dropout1d', args);
  }
  override forward(input: Tensor): Tensor {
    return F.dropout1d(input, this.p, this.training);
  }
}
export class Dropout2d extends DropoutBase {
  constructor(...args: DropoutArgs) {
    super('Dropout2d', args);
  }
  override forward(input: Tensor): Tensor {
    return F.dropout2d(input, this.p, this.training);
  }
}
export class Dropout3d extends DropoutBase {
  constructor(...args: DropoutArgs) {
    super('Dropout3d', args);
  }
  override forward(input: Tensor): Tensor {
    return F.dropout3d(input, this.p, this.training);
  }
}
