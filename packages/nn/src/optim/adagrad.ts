/** Adagrad (learning-rate decay, initial accumulator), PyTorch 1.13's single-tensor formulas. */
import { fullLike, tensor, type Tensor } from '@fusor/tensor';
import { Optimizer, StepScalars, type ParamGroup, type ParamsArg, type ParamState } from './optimizer.js';
import { bindArgs, type ParamSpec, type PositionalArgs } from './options.js';

export interface AdagradHyper {
  lr: number;
  lrDecay: number;
  weightDecay: number;
  initialAccumulatorValue: number;
  eps: number;
  maximize: boolean;
}
export type AdagradGroup = ParamGroup & AdagradHyper;
export type AdagradOptions = Partial<AdagradHyper>;

const POSITIONAL: readonly ParamSpec[] = [
  { name: 'lr', kind: 'number' },
  { name: 'lrDecay', kind: 'number' },
  { name: 'weightDecay', kind: 'number' },
  { name: 'initialAccumulatorValue', kind: 'number' },
  { name: 'eps', kind: 'number' },
];
const KEYWORD: readonly ParamSpec[] = [{ name: 'maximize', kind: 'boolean' }];

export class Adagrad extends Optimizer<AdagradGroup> {
  /** `new Adagrad(params, lr?, lrDecay?, weightDecay?, initialAccumulatorValue?, eps?, { maximize })`. */
  constructor(
    params: ParamsArg,
    ...args: PositionalArgs<[lr: number, lrDecay: number, weightDecay: number, initialAccumulatorValue: number, eps: number], AdagradOptions>
  ) {
    const a = bindArgs('Adagrad', args, POSITIONAL, KEYWORD) as AdagradOptions;
    const { lr = 1e-2, lrDecay = 0, weightDecay = 0, initialAccumulatorValue = 0, eps = 1e-10, maximize = false } = a;
    if (!(lr >= 0)) throw new RangeError(`Invalid learning rate: ${lr}`);
    if (!(lrDecay >= 0)) throw new RangeError(`Invalid lr_decay value: ${lrDecay}`);
    if (!(weightDecay >= 0)) throw new RangeError(`Invalid weight_decay value: ${weightDecay}`);
    if (!(initialAccumulatorValue >= 0)) throw new RangeError(`Invalid initial_accumulator_value value: ${initialAccumulatorValue}`);
    if (!(eps >= 0)) throw new RangeError(`Invalid epsilon value: ${eps}`);
    super('Adagrad', params, { lr, lrDecay, weightDecay, initialAccumulatorValue, eps, maximize }, [...POSITIONAL, ...KEYWORD]);
    // as in PyTorch, the state exists from construction
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        const s = this.stateOf(p);
        s['step'] = 0;
        s['sum'] = fullLike(p, g.initialAccumulatorValue).contiguous();
      }
    }
  }

  protected update(): void {
    for (const g of this.paramGroups) {
      const packs = new Map<number, StepScalars>();
      for (const p of g.params) {
        const grad0 = p.grad;
        if (grad0 === null) continue;
        const s = this.stateOf(p);
        const step = (s['step'] as number) + 1;
        s['step'] = step;
        let pack = packs.get(step);
        if (!pack) packs.set(step, (pack = new StepScalars([-(g.lr / (1 + (step - 1) * g.lrDecay))])));
        const [negClr] = pack.for(p) as [Tensor];
        let grad: Tensor = g.maximize ? grad0.neg() : grad0;
        if (g.weightDecay !== 0) grad = grad.add(p, { alpha: g.weightDecay });
        const sum = s['sum'] as Tensor;
        sum.copy_(sum.add(grad.mul(grad)));
        const std = sum.sqrt().add(g.eps);
        p.add_(negClr.mul(grad).div(std));
      }
    }
  }

  /** 1.13 keeps Adagrad's step count as a float32 tensor. */
  protected exportState(s: ParamState): ParamState {
    const out = { ...s };
    if (typeof out['step'] === 'number') out['step'] = tensor(out['step'], { dtype: 'float32' });
    return out;
  }
}
