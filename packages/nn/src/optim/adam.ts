/** Adam and AdamW (with AMSGrad), PyTorch 1.13's single-tensor formulas. */
import { maximum, zerosLike, tensor, type Tensor } from '@fusor/tensor';
import { Optimizer, StepScalars, type ParamGroup, type ParamsArg, type ParamState } from './optimizer.js';
import { bindArgs, type ParamSpec, type PositionalArgs } from './options.js';

export interface AdamHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}
export type AdamGroup = ParamGroup & AdamHyper;
export type AdamOptions = Partial<AdamHyper>;
type AdamPositional = [lr: number, betas: [number, number], eps: number, weightDecay: number, amsgrad: boolean];

const POSITIONAL: readonly ParamSpec[] = [
  { name: 'lr', kind: 'number' },
  { name: 'betas', kind: 'pair' },
  { name: 'eps', kind: 'number' },
  { name: 'weightDecay', kind: 'number' },
  { name: 'amsgrad', kind: 'boolean' },
];
const KEYWORD: readonly ParamSpec[] = [{ name: 'maximize', kind: 'boolean' }];

function hyper(name: string, args: readonly unknown[], weightDecayDefault: number): AdamHyper {
  const a = bindArgs(name, args, POSITIONAL, KEYWORD) as AdamOptions;
  const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = weightDecayDefault, amsgrad = false, maximize = false } = a;
  if (!(lr >= 0)) throw new RangeError(`Invalid learning rate: ${lr}`);
  if (!(eps >= 0)) throw new RangeError(`Invalid epsilon value: ${eps}`);
  if (!(betas[0] >= 0 && betas[0] < 1)) throw new RangeError(`Invalid beta parameter at index 0: ${betas[0]}`);
  if (!(betas[1] >= 0 && betas[1] < 1)) throw new RangeError(`Invalid beta parameter at index 1: ${betas[1]}`);
  if (!(weightDecay >= 0)) throw new RangeError(`Invalid weight_decay value: ${weightDecay}`);
  return { lr, betas: [betas[0], betas[1]], eps, weightDecay, amsgrad, maximize };
}

/** The moment updates shared by Adam and AdamW; returns the new parameter value's update term parts. */
abstract class AdamBase extends Optimizer<AdamGroup> {
  /** Adam adds weight decay to the gradient; AdamW decays the parameter. */
  protected abstract readonly decoupled: boolean;

  protected update(): void {
    for (const g of this.paramGroups) {
      const [beta1, beta2] = g.betas;
      // parameters of one group normally share their step count: one scalar pack per count
      const packs = new Map<number, StepScalars>();
      for (const p of g.params) {
        const grad0 = p.grad;
        if (grad0 === null) continue;
        const s = this.stateOf(p);
        if (s['exp_avg'] === undefined) {
          s['step'] = 0;
          s['exp_avg'] = zerosLike(p);
          s['exp_avg_sq'] = zerosLike(p);
          if (g.amsgrad) s['max_exp_avg_sq'] = zerosLike(p);
        }
        const step = (s['step'] as number) + 1;
        s['step'] = step;
        let pack = packs.get(step);
        if (!pack) {
          const bc1 = 1 - beta1 ** step;
          const bc2 = 1 - beta2 ** step;
          pack = new StepScalars([-(g.lr / bc1), Math.sqrt(bc2), 1 - g.lr * g.weightDecay]);
          packs.set(step, pack);
        }
        const [negStepSize, bc2Sqrt, decay] = pack.for(p) as [Tensor, Tensor, Tensor];
        let grad: Tensor = g.maximize ? grad0.neg() : grad0;
        if (!this.decoupled && g.weightDecay !== 0) grad = grad.add(p, { alpha: g.weightDecay });
        const m = s['exp_avg'] as Tensor;
        const v = s['exp_avg_sq'] as Tensor;
        m.copy_(m.mul(beta1).add(grad, { alpha: 1 - beta1 }));
        v.copy_(v.mul(beta2).add(grad.mul(1 - beta2).mul(grad)));
        let second = v;
        if (g.amsgrad) {
          const mx = s['max_exp_avg_sq'] as Tensor;
          second = mx.copy_(maximum(mx, v));
        }
        const denom = second.sqrt().div(bc2Sqrt).add(g.eps);
        // param.addcdiv_(exp_avg, denom, value=-step_size): p + (value * m) / denom
        const base = this.decoupled ? p.mul(decay) : p;
        p.copy_(base.add(negStepSize.mul(m).div(denom)));
      }
    }
  }

  /** 1.13 keeps Adam's step count as a float32 tensor. */
  protected exportState(s: ParamState): ParamState {
    const out = { ...s };
    if (typeof out['step'] === 'number') out['step'] = tensor(out['step'], { dtype: 'float32' });
    return out;
  }
}

export class Adam extends AdamBase {
  protected readonly decoupled = false;
  /** `new Adam(params, lr?, betas?, eps?, weightDecay?, amsgrad?, { maximize })`, any of them also by name. */
  constructor(params: ParamsArg, ...args: PositionalArgs<AdamPositional, AdamOptions>) {
    super('Adam', params, hyper('Adam', args, 0), [...POSITIONAL, ...KEYWORD]);
  }
}

export class AdamW extends AdamBase {
  protected readonly decoupled = true;
  /** As Adam, with decoupled weight decay (default 1e-2). */
  constructor(params: ParamsArg, ...args: PositionalArgs<AdamPositional, AdamOptions>) {
    super('AdamW', params, hyper('AdamW', args, 1e-2), [...POSITIONAL, ...KEYWORD]);
  }
}
