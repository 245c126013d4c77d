/**
 * The Optimizer base: parameter groups, per-parameter state, zeroGrad and state dicts in
 * PyTorch's layout. Subclasses write `step()` as PyTorch 1.13's single-tensor update formulas,
 * each parameter's arithmetic fused into one expression written in place.
 */
import { enableGrad, noGrad, Tensor, tensor, type DType } from '@fusor/tensor';
import { camelCase, checkOptions, describe, snakeCase, type ParamSpec } from './options.js';

/** One parameter group: its tensors and its hyperparameters (camelCase names). */
export interface ParamGroup {
  params: Tensor[];
  lr: number;
  [key: string]: unknown;
}

/** What a caller passes for a group: `{ params, lr, … }` (unset hyperparameters take the defaults). */
export interface ParamGroupSpec {
  params: Iterable<Tensor> | Tensor;
  [key: string]: unknown;
}

/** An iterable of tensors (`model.parameters()`) or of parameter groups. */
export type ParamsArg = Iterable<Tensor> | Iterable<ParamGroupSpec>;

/** A state entry: a tensor, a count, or null (SGD without momentum keeps `momentum_buffer: null`, as PyTorch). */
export type StateValue = Tensor | number | null;
/** One parameter's state, keyed by PyTorch's names ('exp_avg', 'momentum_buffer', 'step'…). */
export type ParamState = Record<string, StateValue>;

/** PyTorch's optimizer state dict: state keyed by parameter index, groups with index lists. */
export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  param_groups: ({ params: number[] } & Record<string, unknown>)[];
}

/** Keys schedulers keep in a group beside the optimizer's hyperparameters. */
const SCHEDULER_KEYS: readonly ParamSpec[] = [
  { name: 'initialLr', kind: 'number' },
  { name: 'maxLr', kind: 'number' },
  { name: 'minLr', kind: 'number' },
  { name: 'maxMomentum', kind: 'number' },
  { name: 'baseMomentum', kind: 'number' },
];

export abstract class Optimizer<G extends ParamGroup = ParamGroup> {
  readonly paramGroups: G[] = [];
  /** Per-parameter state, as PyTorch's `optimizer.state[p]`. */
  readonly state = new Map<Tensor, ParamState>();
  /** The hyperparameters a group takes when it does not set them. */
  readonly defaults: Readonly<Record<string, unknown>>;
  private readonly specs: readonly ParamSpec[];

  protected constructor(
    /** The class name, for messages. */
    readonly name: string,
    params: ParamsArg,
    defaults: object,
    specs: readonly ParamSpec[],
  ) {
    this.defaults = defaults as Record<string, unknown>;
    this.specs = specs;
    if (params instanceof Tensor) {
      throw new TypeError(`params argument given to the optimizer should be an iterable of Tensors or dicts, but got torch.FloatTensor`);
    }
    if (params === null || typeof (params as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`params argument given to the optimizer should be an iterable of Tensors or dicts, but got ${describe(params)}`);
    }
    const list = [...(params as Iterable<Tensor | ParamGroupSpec>)];
    if (list.length === 0) throw new RangeError('optimizer got an empty parameter list');
    const groups: ParamGroupSpec[] = list[0] instanceof Tensor ? [{ params: list as Tensor[] }] : (list as ParamGroupSpec[]);
    for (const g of groups) this.addParamGroup(g);
  }

  /** Adds a group (e.g. layers unfrozen during fine-tuning); unset hyperparameters take the defaults. */
  addParamGroup(group: ParamGroupSpec): void {
    if (typeof group !== 'object' || group === null || group instanceof Tensor || !('params' in group)) {
      throw new TypeError('param group must be a dict');
    }
    const { params, ...hyper } = group;
    const checked = checkOptions(`${this.name} param group`, hyper, [...this.specs, ...SCHEDULER_KEYS]);
    let list: Tensor[];
    if (params instanceof Tensor) list = [params];
    else if (params instanceof Set) {
      throw new TypeError(
        'optimizer parameters need to be organized in ordered collections, but the ordering of tensors in sets will change between runs. Please use a list instead.',
      );
    } else list = [...params];
    for (const p of list) {
      if (!(p instanceof Tensor)) throw new TypeError(`optimizer can only optimize Tensors, but one of the params is ${describe(p)}`);
      if (!p.isLeaf && !p.retainsGrad) throw new RangeError("can't optimize a non-leaf Tensor");
    }
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    if (list.some((p) => seen.has(p))) throw new RangeError('some parameters appear in more than one parameter group');
    this.paramGroups.push({ ...(this.defaults as object), ...checked, params: list } as unknown as G);
  }

  /** Clears the gradients: zeroes them (default, as PyTorch 1.13) or sets them to null. */
  zeroGrad(opts: { setToNone?: boolean } = {}): void {
    const { setToNone = false } = checkOptions('zeroGrad', opts, [{ name: 'setToNone', kind: 'boolean' }]) as { setToNone?: boolean };
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        const grad = p.grad;
        if (grad === null) continue;
        if (setToNone) p.grad = null;
        else {
          if (grad.gradFn !== null) grad.detach_();
          else grad.requiresGrad = false;
          grad.zero_();
        }
      }
    }
  }

  /** One update of every parameter that has a gradient; with a closure, re-evaluates the loss first. */
  step(closure?: () => Tensor | number): Tensor | number | undefined {
    const loss = closure ? enableGrad(closure) : undefined;
    noGrad(() => this.update());
    return loss;
  }

  /** The update itself (called by `step`, under noGrad). */
  protected abstract update(): void;

  /** The state of `p`, created empty on first use. */
  protected stateOf(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (!s) this.state.set(p, (s = {}));
    return s;
  }

  /** PyTorch's layout: `{ state: { 0: { exp_avg, … } }, param_groups: [{ lr, …, params: [0, 1] }] }`. */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const param_groups = this.paramGroups.map((g) => {
      const packed: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(g)) if (k !== 'params') packed[snakeCase(k)] = Array.isArray(v) ? [...v] : v;
      const ids = g.params.map((p) => {
        if (!index.has(p)) index.set(p, index.size);
        return index.get(p)!;
      });
      return { ...packed, params: ids };
    });
    const state: Record<number, ParamState> = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i !== undefined) state[i] = this.exportState(s);
    }
    return { state, param_groups };
  }

  /** Loads a dict from `stateDict()` (or PyTorch's, converted to tensors): groups must match in number and size. */
  loadStateDict(sd: OptimizerStateDict): void {
    if (typeof sd !== 'object' || sd === null || !Array.isArray(sd.param_groups) || typeof sd.state !== 'object') {
      throw new TypeError(`loadStateDict() expects { state, param_groups }, got ${describe(sd)}`);
    }
    const saved = sd.param_groups;
    if (saved.length !== this.paramGroups.length) throw new RangeError('loaded state dict has a different number of parameter groups');
    if (saved.some((g, i) => g.params.length !== this.paramGroups[i]!.params.length)) {
      throw new RangeError("loaded state dict contains a parameter group that doesn't match the size of optimizer's group");
    }
    const idMap = new Map<number, Tensor>();
    saved.forEach((g, i) => g.params.forEach((id, j) => idMap.set(id, this.paramGroups[i]!.params[j]!)));
    const state = new Map<Tensor, ParamState>();
    for (const [k, v] of Object.entries(sd.state)) {
      const p = idMap.get(Number(k));
      if (!p) throw new RangeError(`loaded state dict has state for parameter ${k}, which is in no parameter group`);
      state.set(p, this.importState(p, v));
    }
    this.state.clear();
    for (const [p, s] of state) this.state.set(p, s);
    saved.forEach((g, i) => {
      const group: Record<string, unknown> = { params: this.paramGroups[i]!.params };
      for (const [k, v] of Object.entries(g)) if (k !== 'params') group[camelCase(k)] = Array.isArray(v) ? [...v] : v;
      this.paramGroups[i] = group as G;
    });
  }

  /** How a state entry is saved (Adam's 'step' is a float32 tensor in PyTorch 1.13). */
  protected exportState(s: ParamState): ParamState {
    return { ...s };
  }

  /** Casts loaded tensors to the parameter's dtype and device (except 'step'), copying them. */
  protected importState(p: Tensor, s: ParamState): ParamState {
    const out: ParamState = {};
    for (const [k, v] of Object.entries(s)) {
      if (v instanceof Tensor) {
        if (k === 'step') out[k] = v.numel() === 1 ? Number(v.itemSync()) : v;
        else out[k] = (p.isFloatingPoint() ? v.to({ dtype: p.dtype, device: p.device }) : v.to(p.device)).clone().contiguous();
      } else out[k] = v;
    }
    return out;
  }

  toString(): string {
    const lines = [`${this.name} (`];
    this.paramGroups.forEach((g, i) => {
      lines.push(`Parameter Group ${i}`);
      for (const k of Object.keys(g).filter((k) => k !== 'params').sort()) {
        const v = g[k];
        lines.push(`    ${snakeCase(k)}: ${Array.isArray(v) ? `(${v.join(', ')})` : String(v)}`);
      }
    });
    lines.push(')');
    return lines.join('\n');
  }
}

/**
 * Per-step scalars (learning rate, bias corrections) as one small device tensor, so a kernel
 * reads them instead of baking them in as constants: a scheduler changing the learning rate or
 * Adam's step count then reuses the compiled kernels.
 */
export class StepScalars {
  private readonly packs = new Map<string, Tensor[]>();
  constructor(private readonly values: readonly number[]) {}

  /** The scalars as 0-d tensors of `p`'s dtype on `p`'s device. */
  for(p: Tensor): Tensor[] {
    const key = `${p.device}/${p.dtype}`;
    let pack = this.packs.get(key);
    if (!pack) {
      const t = tensor([...this.values], { dtype: p.dtype as DType, device: p.device });
      pack = this.values.map((_, i) => t.select(0, i));
      this.packs.set(key, pack);
    }
    return pack;
  }
}
