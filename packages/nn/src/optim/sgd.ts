/** Stochastic gradient descent with momentum, dampening, Nesterov, weight decay (PyTorch 1.13's SGD). */
import { zerosLike, type Tensor } from '@fusor/tensor';
import { Optimizer, StepScalars, type ParamGroup, type ParamsArg } from './optimizer.js';
import { bindArgs, type ParamSpec, type PositionalArgs } from './options.js';

export interface SGDHyper {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}
export type SGDGroup = ParamGroup & SGDHyper;
export type SGDOptions = Partial<SGDHyper>;

const POSITIONAL: readonly ParamSpec[] = [
  { name: 'lr', kind: 'number' },
  { name: 'momentum', kind: 'number' },
  { name: 'dampening', kind: 'number' },
  { name: 'weightDecay', kind: 'number' },
  { name: 'nesterov', kind: 'boolean' },
];
const KEYWORD: readonly ParamSpec[] = [{ name: 'maximize', kind: 'boolean' }];

export class SGD extends Optimizer<SGDGroup> {
  /** `new SGD(params, lr, momentum?, dampening?, weightDecay?, nesterov?, { maximize })`, any of them also by name. */
  constructor(
    params: ParamsArg,
    ...args: PositionalArgs<[lr: number, momentum: number, dampening: number, weightDecay: number, nesterov: boolean], SGDOptions>
  ) {
    const a = bindArgs('SGD', args, POSITIONAL, KEYWORD) as SGDOptions;
    // lr is required in 1.13 (no default); a group may still set its own
    const lr = a.lr ?? Number.NaN;
    const { momentum = 0, dampening = 0, weightDecay = 0, nesterov = false, maximize = false } = a;
    if (lr < 0) throw new RangeError(`Invalid learning rate: ${lr}`);
    if (momentum < 0) throw new RangeError(`Invalid momentum value: ${momentum}`);
    if (weightDecay < 0) throw new RangeError(`Invalid weight_decay value: ${weightDecay}`);
    if (nesterov && (momentum <= 0 || dampening !== 0)) throw new RangeError('Nesterov momentum requires a momentum and zero dampening');
    super('SGD', params, { lr, momentum, dampening, weightDecay, nesterov, maximize }, [...POSITIONAL, ...KEYWORD]);
    this.paramGroups.forEach((g) => {
      if (Number.isNaN(g.lr)) throw new RangeError("parameter group didn't specify a value of required optimization parameter lr");
    });
  }

  protected update(): void {
    for (const g of this.paramGroups) {
      const k = new StepScalars([-g.lr]);
      for (const p of g.params) {
        const grad = p.grad;
        if (grad === null) continue;
        const [negLr] = k.for(p) as [Tensor];
        let d: Tensor = g.maximize ? grad.neg() : grad;
        if (g.weightDecay !== 0) d = d.add(p, { alpha: g.weightDecay });
        const s = this.stateOf(p);
        if (g.momentum === 0) s['momentum_buffer'] = null;
        else {
          let buf = s['momentum_buffer'] as Tensor | null | undefined;
          if (buf === undefined || buf === null) s['momentum_buffer'] = buf = zerosLike(p).copy_(d);
          else buf.copy_(buf.mul(g.momentum).add(d, { alpha: 1 - g.dampening }));
          d = g.nesterov ? d.add(buf, { alpha: g.momentum }) : buf;
        }
        p.add_(negLr.mul(d));
      }
    }
  }
}
