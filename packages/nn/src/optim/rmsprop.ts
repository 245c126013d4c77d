/** RMSprop (centered, momentum), PyTorch 1.13's single-tensor formulas. */
import { zerosLike, type Tensor } from '@fusor/tensor';
import { Optimizer, StepScalars, type ParamGroup, type ParamsArg } from './optimizer.js';
import { bindArgs, type ParamSpec, type PositionalArgs } from './options.js';

export interface RMSpropHyper {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
}
export type RMSpropGroup = ParamGroup & RMSpropHyper;
export type RMSpropOptions = Partial<RMSpropHyper>;

const POSITIONAL: readonly ParamSpec[] = [
  { name: 'lr', kind: 'number' },
  { name: 'alpha', kind: 'number' },
  { name: 'eps', kind: 'number' },
  { name: 'weightDecay', kind: 'number' },
  { name: 'momentum', kind: 'number' },
  { name: 'centered', kind: 'boolean' },
];
const KEYWORD: readonly ParamSpec[] = [{ name: 'maximize', kind: 'boolean' }];

export class RMSprop extends Optimizer<RMSpropGroup> {
  /** `new RMSprop(params, lr?, alpha?, eps?, weightDecay?, momentum?, centered?, { maximize })`. */
  constructor(
    params: ParamsArg,
    ...args: PositionalArgs<[lr: number, alpha: number, eps: number, weightDecay: number, momentum: number, centered: boolean], RMSpropOptions>
  ) {
    const a = bindArgs('RMSprop', args, POSITIONAL, KEYWORD) as RMSpropOptions;
    const { lr = 1e-2, alpha = 0.99, eps = 1e-8, weightDecay = 0, momentum = 0, centered = false, maximize = false } = a;
    if (!(lr >= 0)) throw new RangeError(`Invalid learning rate: ${lr}`);
    if (!(eps >= 0)) throw new RangeError(`Invalid epsilon value: ${eps}`);
    if (!(momentum >= 0)) throw new RangeError(`Invalid momentum value: ${momentum}`);
    if (!(weightDecay >= 0)) throw new RangeError(`Invalid weight_decay value: ${weightDecay}`);
    if (!(alpha >= 0)) throw new RangeError(`Invalid alpha value: ${alpha}`);
    super('RMSprop', params, { lr, alpha, eps, weightDecay, momentum, centered, maximize }, [...POSITIONAL, ...KEYWORD]);
  }

  protected update(): void {
    for (const g of this.paramGroups) {
      const k = new StepScalars([-g.lr]);
      for (const p of g.params) {
        const grad0 = p.grad;
        if (grad0 === null) continue;
        const s = this.stateOf(p);
        if (s['square_avg'] === undefined) {
          s['step'] = 0;
          s['square_avg'] = zerosLike(p);
          if (g.momentum > 0) s['momentum_buffer'] = zerosLike(p);
          if (g.centered) s['grad_avg'] = zerosLike(p);
        }
        s['step'] = (s['step'] as number) + 1;
        const [negLr] = k.for(p) as [Tensor];
        let grad: Tensor = g.maximize ? grad0.neg() : grad0;
        if (g.weightDecay !== 0) grad = grad.add(p, { alpha: g.weightDecay });
        const sq = s['square_avg'] as Tensor;
        sq.copy_(sq.mul(g.alpha).add(grad.mul(1 - g.alpha).mul(grad)));
        let avg: Tensor;
        if (g.centered) {
          const ga = s['grad_avg'] as Tensor;
          ga.copy_(ga.mul(g.alpha).add(grad, { alpha: 1 - g.alpha }));
          avg = sq.add(ga.mul(-1).mul(ga)).sqrt();
        } else avg = sq.sqrt();
        avg = avg.add(g.eps);
        if (g.momentum > 0) {
          const buf = s['momentum_buffer'] as Tensor;
          buf.copy_(buf.mul(g.momentum).add(grad.div(avg)));
          p.add_(negLr.mul(buf));
        } else {
          p.add_(negLr.mul(grad).div(avg));
        }
      }
    }
  }
}
