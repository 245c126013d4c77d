/**
 * Learning-rate schedulers, PyTorch 1.13's chainable formulas (`step()` computes each lr from
 * the group's current one, so float sequences match PyTorch's, and schedulers compose).
 */
import { Tensor } from '@fusor/tensor';
import { Optimizer, type ParamGroup } from './optimizer.js';
import { bindArgs, camelCase, describe, snakeCase, type ParamSpec, type PositionalArgs } from './options.js';

type AnyOptimizer = Optimizer<ParamGroup>;

function checkOptimizer(optimizer: unknown): asserts optimizer is AnyOptimizer {
  if (!(optimizer instanceof Optimizer)) throw new TypeError(`${describe(optimizer)} is not an Optimizer`);
}

/** Scheduler state dicts: every field but the optimizer, with PyTorch's snake_case names. */
export type SchedulerStateDict = Record<string, unknown>;

/** Fields whose PyTorch names are not plain snake_case of ours. */
const KEY_TO_PY: Record<string, string> = { lastLr: '_last_lr', stepCount: '_step_count', TMax: 'T_max', phases: '_schedule_phases' };
const KEY_FROM_PY: Record<string, string> = Object.fromEntries(Object.entries(KEY_TO_PY).map(([a, b]) => [b, a]));

export abstract class LRScheduler {
  readonly optimizer: AnyOptimizer;
  baseLrs: number[];
  lastEpoch: number;
  protected stepCount = 0;
  protected lastLr: number[] = [];

  protected constructor(optimizer: Optimizer<ParamGroup>, lastEpoch: number) {
    checkOptimizer(optimizer);
    this.optimizer = optimizer;
    if (lastEpoch === -1) {
      for (const g of optimizer.paramGroups) if (g['initialLr'] === undefined) g['initialLr'] = g.lr;
    } else {
      optimizer.paramGroups.forEach((g, i) => {
        if (g['initialLr'] === undefined) throw new RangeError(`param 'initial_lr' is not specified in param_groups[${i}] when resuming an optimizer`);
      });
    }
    this.baseLrs = optimizer.paramGroups.map((g) => g['initialLr'] as number);
    this.lastEpoch = lastEpoch;
  }

  /** Subclass constructors call this last, as PyTorch's base constructor does. */
  protected initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** The new learning rates, from the groups' current ones (the chainable form). */
  protected abstract getLr(): number[];

  /** Advances one epoch (or step) and writes the new learning rates into the groups. */
  step(): void {
    this.stepCount++;
    this.lastEpoch++;
    const values = this.getLr();
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = values[i]!));
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The learning rates the last `step()` set, one per group. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  stateDict(): SchedulerStateDict {
    const out: SchedulerStateDict = {};
    for (const [k, v] of Object.entries(this)) {
      if (k === 'optimizer' || typeof v === 'function') continue;
      out[KEY_TO_PY[k] ?? snakeCase(k)] = Array.isArray(v) ? [...v] : v;
    }
    return out;
  }

  loadStateDict(sd: SchedulerStateDict): void {
    for (const [k, v] of Object.entries(sd)) {
      const name = KEY_FROM_PY[k] ?? camelCase(k);
      if (!(name in this) || name === 'optimizer') throw new RangeError(`loadStateDict(): unexpected key '${k}' for ${this.constructor.name}`);
      (this as unknown as Record<string, unknown>)[name] = Array.isArray(v) ? [...v] : v;
    }
  }
}

const LAST_EPOCH: ParamSpec = { name: 'lastEpoch', kind: 'number' };

export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;
  /** `new StepLR(optimizer, stepSize, gamma = 0.1, lastEpoch = -1)`. */
  constructor(optimizer: Optimizer<ParamGroup>, ...args: PositionalArgs<[stepSize: number, gamma: number, lastEpoch: number], { stepSize?: number; gamma?: number; lastEpoch?: number }>) {
    const a = bindArgs('StepLR', args, [{ name: 'stepSize', kind: 'number' }, { name: 'gamma', kind: 'number' }, LAST_EPOCH]) as {
      stepSize?: number;
      gamma?: number;
      lastEpoch?: number;
    };
    if (a.stepSize === undefined) throw new TypeError("StepLR() missing 1 required positional argument: 'step_size'");
    super(optimizer, a.lastEpoch ?? -1);
    this.stepSize = a.stepSize;
    this.gamma = a.gamma ?? 0.1;
    this.initialStep();
  }
  protected getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * this.gamma);
  }
}

export class MultiStepLR extends LRScheduler {
  /** How many times each milestone was given (PyTorch's Counter). */
  readonly milestones: Map<number, number>;
  readonly gamma: number;
  /** `new MultiStepLR(optimizer, milestones, gamma = 0.1, lastEpoch = -1)`. */
  constructor(
    optimizer: Optimizer<ParamGroup>,
    ...args: PositionalArgs<[milestones: number[], gamma: number, lastEpoch: number], { milestones?: number[]; gamma?: number; lastEpoch?: number }>
  ) {
    const a = bindArgs('MultiStepLR', args, [{ name: 'milestones', kind: 'numbers' }, { name: 'gamma', kind: 'number' }, LAST_EPOCH]) as {
      milestones?: number[];
      gamma?: number;
      lastEpoch?: number;
    };
    if (a.milestones === undefined) throw new TypeError("MultiStepLR() missing 1 required positional argument: 'milestones'");
    super(optimizer, a.lastEpoch ?? -1);
    this.milestones = new Map();
    for (const m of [a.milestones].flat()) this.milestones.set(m, (this.milestones.get(m) ?? 0) + 1);
    this.gamma = a.gamma ?? 0.1;
    this.initialStep();
  }
  protected getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    const n = this.milestones.get(this.lastEpoch);
    if (n === undefined) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * this.gamma ** n);
  }
  stateDict(): SchedulerStateDict {
    const sd = super.stateDict();
    sd['milestones'] = Object.fromEntries(this.milestones);
    return sd;
  }
  loadStateDict(sd: SchedulerStateDict): void {
    const { milestones, ...rest } = sd;
    super.loadStateDict(rest);
    if (milestones !== undefined) {
      (this as { milestones: Map<number, number> }).milestones = new Map(Object.entries(milestones as Record<string, number>).map(([k, v]) => [Number(k), v]));
    }
  }
}

export class ExponentialLR extends LRScheduler {
  readonly gamma: number;
  /** `new ExponentialLR(optimizer, gamma, lastEpoch = -1)`. */
  constructor(optimizer: Optimizer<ParamGroup>, ...args: PositionalArgs<[gamma: number, lastEpoch: number], { gamma?: number; lastEpoch?: number }>) {
    const a = bindArgs('ExponentialLR', args, [{ name: 'gamma', kind: 'number' }, LAST_EPOCH]) as { gamma?: number; lastEpoch?: number };
    if (a.gamma === undefined) throw new TypeError("ExponentialLR() missing 1 required positional argument: 'gamma'");
    super(optimizer, a.lastEpoch ?? -1);
    this.gamma = a.gamma;
    this.initialStep();
  }
  protected getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    if (this.lastEpoch === 0) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * this.gamma);
  }
}

export class CosineAnnealingLR extends LRScheduler {
  readonly TMax: number;
  readonly etaMin: number;
  /** `new CosineAnnealingLR(optimizer, TMax, etaMin = 0, lastEpoch = -1)`. */
  constructor(
    optimizer: Optimizer<ParamGroup>,
    ...args: PositionalArgs<[TMax: number, etaMin: number, lastEpoch: number], { TMax?: number; etaMin?: number; lastEpoch?: number }>
  ) {
    const a = bindArgs('CosineAnnealingLR', args, [{ name: 'TMax', kind: 'number' }, { name: 'etaMin', kind: 'number' }, LAST_EPOCH]) as {
      TMax?: number;
      etaMin?: number;
      lastEpoch?: number;
    };
    if (a.TMax === undefined) throw new TypeError("CosineAnnealingLR() missing 1 required positional argument: 'T_max'");
    super(optimizer, a.lastEpoch ?? -1);
    this.TMax = a.TMax;
    this.etaMin = a.etaMin ?? 0;
    this.initialStep();
  }
  protected getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    const { TMax, etaMin, lastEpoch: e } = this;
    if (e === 0) return groups.map((g) => g.lr);
    if (this.stepCount === 1 && e > 0) return this.baseLrs.map((b) => etaMin + ((b - etaMin) * (1 + Math.cos((e * Math.PI) / TMax))) / 2);
    if ((((e - 1 - TMax) % (2 * TMax)) + 2 * TMax) % (2 * TMax) === 0) {
      return groups.map((g, i) => g.lr + ((this.baseLrs[i]! - etaMin) * (1 - Math.cos(Math.PI / TMax))) / 2);
    }
    return groups.map((g) => ((1 + Math.cos((Math.PI * e) / TMax)) / (1 + Math.cos((Math.PI * (e - 1)) / TMax))) * (g.lr - etaMin) + etaMin);
  }
}

export class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;
  /** `new LinearLR(optimizer, startFactor = 1/3, endFactor = 1, totalIters = 5, lastEpoch = -1)`. */
  constructor(
    optimizer: Optimizer<ParamGroup>,
    ...args: PositionalArgs<
      [startFactor: number, endFactor: number, totalIters: number, lastEpoch: number],
      { startFactor?: number; endFactor?: number; totalIters?: number; lastEpoch?: number }
    >
  ) {
    const a = bindArgs('LinearLR', args, [
      { name: 'startFactor', kind: 'number' },
      { name: 'endFactor', kind: 'number' },
      { name: 'totalIters', kind: 'number' },
      LAST_EPOCH,
    ]) as { startFactor?: number; endFactor?: number; totalIters?: number; lastEpoch?: number };
    const { startFactor = 1 / 3, endFactor = 1, totalIters = 5 } = a;
    if (startFactor > 1 || startFactor < 0) throw new RangeError('Starting multiplicative factor expected to be between 0 and 1.');
    if (endFactor > 1 || endFactor < 0) throw new RangeError('Ending multiplicative factor expected to be between 0 and 1.');
    super(optimizer, a.lastEpoch ?? -1);
    this.startFactor = startFactor;
    this.endFactor = endFactor;
    this.totalIters = totalIters;
    this.initialStep();
  }
  protected getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    const { startFactor: s, endFactor: f, totalIters: n, lastEpoch: e } = this;
    if (e === 0) return groups.map((g) => g.lr * s);
    if (e > n) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * (1 + (f - s) / (n * s + (e - 1) * (f - s))));
  }
}

interface Phase {
  endStep: number;
  startLr: string;
  endLr: string;
  startMomentum: string;
  endMomentum: string;
}

export interface OneCycleLROptions {
  maxLr?: number | number[];
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  pctStart?: number;
  annealStrategy?: 'cos' | 'linear';
  cycleMomentum?: boolean;
  baseMomentum?: number | number[];
  maxMomentum?: number | number[];
  divFactor?: number;
  finalDivFactor?: number;
  threePhase?: boolean;
  lastEpoch?: number;
}

export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  readonly annealStrategy: 'cos' | 'linear';
  readonly cycleMomentum: boolean;
  readonly useBeta1: boolean;
  private readonly phases: Phase[];

  /** `new OneCycleLR(optimizer, maxLr, totalSteps?, epochs?, stepsPerEpoch?, pctStart = 0.3, …)`, any of them by name. */
  constructor(optimizer: Optimizer<ParamGroup>, ...args: unknown[]) {
    checkOptimizer(optimizer);
    const a = bindArgs('OneCycleLR', args, [
      { name: 'maxLr', kind: 'numbers' },
      { name: 'totalSteps', kind: 'number' },
      { name: 'epochs', kind: 'number' },
      { name: 'stepsPerEpoch', kind: 'number' },
      { name: 'pctStart', kind: 'number' },
      { name: 'annealStrategy', kind: 'string' },
      { name: 'cycleMomentum', kind: 'boolean' },
      { name: 'baseMomentum', kind: 'numbers' },
      { name: 'maxMomentum', kind: 'numbers' },
      { name: 'divFactor', kind: 'number' },
      { name: 'finalDivFactor', kind: 'number' },
      { name: 'threePhase', kind: 'boolean' },
      LAST_EPOCH,
    ]) as OneCycleLROptions;
    const {
      pctStart = 0.3,
      annealStrategy = 'cos',
      cycleMomentum = true,
      baseMomentum = 0.85,
      maxMomentum = 0.95,
      divFactor = 25,
      finalDivFactor = 1e4,
      threePhase = false,
      lastEpoch = -1,
    } = a;
    if (a.maxLr === undefined) throw new TypeError("OneCycleLR() missing 1 required positional argument: 'max_lr'");
    let totalSteps: number;
    if (a.totalSteps === undefined && a.epochs === undefined && a.stepsPerEpoch === undefined) {
      throw new RangeError('You must define either total_steps OR (epochs AND steps_per_epoch)');
    } else if (a.totalSteps !== undefined) {
      if (a.totalSteps <= 0 || !Number.isInteger(a.totalSteps)) throw new RangeError(`Expected positive integer total_steps, but got ${a.totalSteps}`);
      totalSteps = a.totalSteps;
    } else {
      const { epochs, stepsPerEpoch } = a;
      if (epochs === undefined || epochs <= 0 || !Number.isInteger(epochs)) throw new RangeError(`Expected positive integer epochs, but got ${epochs}`);
      if (stepsPerEpoch === undefined || stepsPerEpoch <= 0 || !Number.isInteger(stepsPerEpoch)) {
        throw new RangeError(`Expected positive integer steps_per_epoch, but got ${stepsPerEpoch}`);
      }
      totalSteps = epochs * stepsPerEpoch;
    }
    const phases: Phase[] = threePhase
      ? [
          { endStep: pctStart * totalSteps - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
          { endStep: 2 * pctStart * totalSteps - 2, startLr: 'maxLr', endLr: 'initialLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
          { endStep: totalSteps - 1, startLr: 'initialLr', endLr: 'minLr', startMomentum: 'maxMomentum', endMomentum: 'maxMomentum' },
        ]
      : [
          { endStep: pctStart * totalSteps - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
          { endStep: totalSteps - 1, startLr: 'maxLr', endLr: 'minLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
        ];
    if (pctStart < 0 || pctStart > 1) throw new RangeError(`Expected float between 0 and 1 pct_start, but got ${pctStart}`);
    if (annealStrategy !== 'cos' && annealStrategy !== 'linear') {
      throw new RangeError(`anneal_strategy must by one of 'cos' or 'linear', instead got ${String(annealStrategy)}`);
    }
    const groups = optimizer.paramGroups;
    const perGroup = (name: string, v: number | number[]): number[] => {
      if (Array.isArray(v)) {
        if (v.length !== groups.length) throw new RangeError(`expected ${groups.length} values for ${name}, got ${v.length}`);
        return v;
      }
      return groups.map(() => v);
    };
    const maxLrs = perGroup('max_lr', a.maxLr);
    if (lastEpoch === -1) {
      groups.forEach((g, i) => {
        g['initialLr'] = maxLrs[i]! / divFactor;
        g['maxLr'] = maxLrs[i]!;
        g['minLr'] = (g['initialLr'] as number) / finalDivFactor;
      });
    }
    let useBeta1 = false;
    if (cycleMomentum) {
      const defaults = optimizer.defaults as Record<string, unknown>;
      if (!('momentum' in defaults) && !('betas' in defaults)) throw new RangeError('optimizer must support momentum with `cycle_momentum` option enabled');
      useBeta1 = 'betas' in defaults;
      const maxM = perGroup('max_momentum', maxMomentum);
      const baseM = perGroup('base_momentum', baseMomentum);
      if (lastEpoch === -1) {
        groups.forEach((g, i) => {
          if (useBeta1) g['betas'] = [maxM[i]!, (g['betas'] as number[])[1]!];
          else g['momentum'] = maxM[i]!;
          g['maxMomentum'] = maxM[i]!;
          g['baseMomentum'] = baseM[i]!;
        });
      }
    }
    super(optimizer, lastEpoch);
    this.totalSteps = totalSteps;
    this.phases = phases;
    this.annealStrategy = annealStrategy;
    this.cycleMomentum = cycleMomentum;
    this.useBeta1 = useBeta1;
    this.initialStep();
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === 'cos') return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
    return (end - start) * pct + start;
  }

  protected getLr(): number[] {
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps) {
      throw new RangeError(`Tried to step ${stepNum + 1} times. The specified number of total steps is ${this.totalSteps}`);
    }
    return this.optimizer.paramGroups.map((g) => {
      let startStep = 0;
      let lr = 0;
      for (let i = 0; i < this.phases.length; i++) {
        const phase = this.phases[i]!;
        if (stepNum <= phase.endStep || i === this.phases.length - 1) {
          const pct = (stepNum - startStep) / (phase.endStep - startStep);
          lr = this.anneal(g[phase.startLr] as number, g[phase.endLr] as number, pct);
          if (this.cycleMomentum) {
            const m = this.anneal(g[phase.startMomentum] as number, g[phase.endMomentum] as number, pct);
            if (this.useBeta1) g['betas'] = [m, (g['betas'] as number[])[1]!];
            else g['momentum'] = m;
          }
          break;
        }
        startStep = phase.endStep;
      }
      return lr;
    });
  }
}

export interface ReduceLROnPlateauOptions {
  mode?: 'min' | 'max';
  factor?: number;
  patience?: number;
  threshold?: number;
  thresholdMode?: 'rel' | 'abs';
  cooldown?: number;
  minLr?: number | number[];
  eps?: number;
}

/** Lowers the learning rate when a metric stops improving: `scheduler.step(valLoss)`. */
export class ReduceLROnPlateau {
  readonly optimizer: AnyOptimizer;
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLrs: number[];
  readonly eps: number;
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;
  private lastLr: number[] = [];

  /** `new ReduceLROnPlateau(optimizer, mode = 'min', factor = 0.1, patience = 10, threshold = 1e-4, thresholdMode = 'rel', cooldown = 0, minLr = 0, eps = 1e-8)`. */
  constructor(optimizer: Optimizer<ParamGroup>, ...args: unknown[]) {
    const a = bindArgs('ReduceLROnPlateau', args, [
      { name: 'mode', kind: 'string' },
      { name: 'factor', kind: 'number' },
      { name: 'patience', kind: 'number' },
      { name: 'threshold', kind: 'number' },
      { name: 'thresholdMode', kind: 'string' },
      { name: 'cooldown', kind: 'number' },
      { name: 'minLr', kind: 'numbers' },
      { name: 'eps', kind: 'number' },
    ]) as ReduceLROnPlateauOptions;
    const { mode = 'min', factor = 0.1, patience = 10, threshold = 1e-4, thresholdMode = 'rel', cooldown = 0, minLr = 0, eps = 1e-8 } = a;
    if (factor >= 1) throw new RangeError('Factor should be < 1.0.');
    checkOptimizer(optimizer);
    this.optimizer = optimizer;
    const n = optimizer.paramGroups.length;
    if (Array.isArray(minLr)) {
      if (minLr.length !== n) throw new RangeError(`expected ${n} min_lrs, got ${minLr.length}`);
      this.minLrs = [...minLr];
    } else this.minLrs = Array.from({ length: n }, () => minLr);
    if (mode !== 'min' && mode !== 'max') throw new RangeError(`mode ${String(mode)} is unknown!`);
    if (thresholdMode !== 'rel' && thresholdMode !== 'abs') throw new RangeError(`threshold mode ${String(thresholdMode)} is unknown!`);
    this.mode = mode;
    this.factor = factor;
    this.patience = patience;
    this.threshold = threshold;
    this.thresholdMode = thresholdMode;
    this.cooldown = cooldown;
    this.eps = eps;
    this.best = mode === 'min' ? Infinity : -Infinity;
  }

  /** One epoch's metric (a number or a one-element tensor, read synchronously). */
  step(metrics: number | Tensor): void {
    const current = metrics instanceof Tensor ? Number(metrics.itemSync()) : Number(metrics);
    this.lastEpoch++;
    if (this.isBetter(current, this.best)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else this.numBadEpochs++;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.optimizer.paramGroups.forEach((g, i) => {
        const old = g.lr;
        const next = Math.max(old * this.factor, this.minLrs[i]!);
        if (old - next > this.eps) g.lr = next;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  get inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  private isBetter(a: number, best: number): boolean {
    if (this.mode === 'min' && this.thresholdMode === 'rel') return a < best * (1 - this.threshold);
    if (this.mode === 'min') return a < best - this.threshold;
    if (this.thresholdMode === 'rel') return a > best * (this.threshold + 1);
    return a > best + this.threshold;
  }

  getLastLr(): number[] {
    return [...this.lastLr];
  }

  stateDict(): SchedulerStateDict {
    return {
      mode: this.mode,
      factor: this.factor,
      patience: this.patience,
      threshold: this.threshold,
      threshold_mode: this.thresholdMode,
      cooldown: this.cooldown,
      min_lrs: [...this.minLrs],
      eps: this.eps,
      best: this.best,
      num_bad_epochs: this.numBadEpochs,
      cooldown_counter: this.cooldownCounter,
      last_epoch: this.lastEpoch,
      _last_lr: [...this.lastLr],
    };
  }

  loadStateDict(sd: SchedulerStateDict): void {
    for (const [k, v] of Object.entries(sd)) {
      const name = camelCase(k.replace(/^_/, ''));
      if (!(name in this) || name === 'optimizer') throw new RangeError(`loadStateDict(): unexpected key '${k}' for ReduceLROnPlateau`);
      (this as unknown as Record<string, unknown>)[name] = Array.isArray(v) ? [...v] : v;
    }
  }
}
