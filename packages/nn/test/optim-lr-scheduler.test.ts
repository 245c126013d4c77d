/** Learning-rate schedulers against PyTorch 1.13's lr (and momentum) sequences. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as torch from '@fusor/tensor';
import { optim } from '../src/index.js';

interface SchedCase {
  name: string;
  steps: number;
  metrics: number[] | null;
  lrs: number[][];
  momentum: (number | null)[][];
  last_lr: number[];
}
const cases = (JSON.parse(readFileSync(new URL('../fixtures/train-schedulers.json', import.meta.url), 'utf8')) as { cases: SchedCase[] }).cases;

const S = optim.lrScheduler;
type Sched = { step(metric: number): void; getLastLr(): number[] };
const params = (): torch.Tensor[] => [torch.zeros(2).requiresGrad_(), torch.zeros(3).requiresGrad_()];
const sgd = (): optim.Optimizer => new optim.SGD(params(), { lr: 0.1, momentum: 0.9 });
const twoGroups = (kind: 'SGD' | 'Adam', lr: number): optim.Optimizer => {
  const [a, b] = params() as [torch.Tensor, torch.Tensor];
  const groups = [{ params: [a] }, { params: [b], lr: 0.05 }];
  return kind === 'SGD' ? new optim.SGD(groups, { lr }) : new optim.Adam(groups, { lr });
};

/** The same schedules as the generator builds, by case name. */
const MAKE: Record<string, () => [optim.Optimizer, Sched[]]> = {
  step: () => ((o) => [o, [new S.StepLR(o, 3, 0.5)]])(sgd()),
  multistep: () => ((o) => [o, [new S.MultiStepLR(o, [2, 5, 5, 8], { gamma: 0.1 })]])(sgd()),
  exponential: () => ((o) => [o, [new S.ExponentialLR(o, 0.9)]])(twoGroups('SGD', 0.1)),
  cosine: () => ((o) => [o, [new S.CosineAnnealingLR(o, { TMax: 5, etaMin: 0.001 })]])(sgd()),
  linear: () => ((o) => [o, [new S.LinearLR(o, { startFactor: 0.25, totalIters: 4 })]])(sgd()),
  linear_default: () => ((o) => [o, [new S.LinearLR(o)]])(sgd()),
  onecycle: () => ((o) => [o, [new S.OneCycleLR(o, 0.1, { totalSteps: 20 })]])(sgd()),
  onecycle_adam_linear_three_phase: () =>
    ((o) => [o, [new S.OneCycleLR(o, { maxLr: [0.1, 0.05], totalSteps: 12, annealStrategy: 'linear', threePhase: true })]])(twoGroups('Adam', 0.01)),
  chained_step_exponential: () => ((o) => [o, [new S.StepLR(o, 2, 0.5), new S.ExponentialLR(o, 0.9)]])(sgd()),
  plateau_min: () => ((o) => [o, [new S.ReduceLROnPlateau(o, { factor: 0.5, patience: 2, cooldown: 1, minLr: 0.01 })]])(sgd()),
  plateau_max_abs: () => ((o) => [o, [new S.ReduceLROnPlateau(o, 'max', { thresholdMode: 'abs', threshold: 0.1, patience: 1 })]])(sgd()),
};

const momentumOf = (g: optim.ParamGroup): number | null => (Array.isArray(g['betas']) ? (g['betas'] as number[])[0]! : ((g['momentum'] as number | undefined) ?? null));

describe('schedulers give PyTorch 1.13 lr sequences', () => {
  for (const c of cases) {
    it(`${c.name}: ${c.steps} steps`, () => {
      const [opt, scheds] = MAKE[c.name]!();
      const lrs = [opt.paramGroups.map((g) => g.lr)];
      const moms = [opt.paramGroups.map(momentumOf)];
      for (let k = 0; k < c.steps; k++) {
        for (const s of scheds) s.step(c.metrics?.[k] as number);
        lrs.push(opt.paramGroups.map((g) => g.lr));
        moms.push(opt.paramGroups.map(momentumOf));
      }
      // the same double arithmetic in the same order as PyTorch; only cos may differ in its last
      // bit between V8 and libm, so within 1e-14 relative
      const close = (a: (number | null)[][], b: (number | null)[][], what: string): void =>
        b.forEach((row, k) =>
          row.forEach((v, i) => {
            const x = a[k]![i]!;
            if (v === null || x === null) expect(x, `${what} ${k}`).toBe(v);
            else expect(Math.abs(x - v), `${what} after ${k} steps: ${x} vs ${v}`).toBeLessThanOrEqual(1e-14 * Math.abs(v));
          }),
        );
      close(lrs, c.lrs, 'lr');
      close(moms, c.momentum, 'momentum');
      close([scheds[scheds.length - 1]!.getLastLr()], [c.last_lr], 'last lr');
    });
  }
});

describe('scheduler errors and state', () => {
  it('raise with PyTorch wording', () => {
    expect(() => new S.StepLR({} as never, 2)).toThrow('Object is not an Optimizer');
    expect(() => new S.LinearLR(sgd(), { startFactor: 2 })).toThrow('Starting multiplicative factor expected to be between 0 and 1.');
    expect(() => new S.OneCycleLR(sgd(), 0.1)).toThrow('You must define either total_steps OR (epochs AND steps_per_epoch)');
    expect(() => new S.OneCycleLR(sgd(), 0.1, { totalSteps: 0 })).toThrow('Expected positive integer total_steps, but got 0');
    expect(() => new S.OneCycleLR(new optim.Adagrad(params()), 0.1, { totalSteps: 5 })).toThrow(
      'optimizer must support momentum with `cycle_momentum` option enabled',
    );
    const oc = new S.OneCycleLR(sgd(), 0.1, { totalSteps: 2 });
    oc.step();
    oc.step();
    expect(() => oc.step()).toThrow('Tried to step 4 times. The specified number of total steps is 2');
    expect(() => new S.ReduceLROnPlateau(sgd(), { factor: 1 })).toThrow('Factor should be < 1.0.');
    expect(() => new S.ReduceLROnPlateau(sgd(), { mode: 'mean' as never })).toThrow('mode mean is unknown!');
    expect(() => new S.StepLR(sgd(), 2, { gama: 0.5 } as never)).toThrow("StepLR() got an unexpected keyword argument 'gama'");
    expect(() => new S.StepLR(sgd(), 2, { lastEpoch: 3 })).toThrow("param 'initial_lr' is not specified in param_groups[0] when resuming an optimizer");
  });

  it('stateDict / loadStateDict resume a schedule, and the optimizer dict carries initial_lr', () => {
    const o1 = sgd();
    const s1 = new S.CosineAnnealingLR(o1, 6);
    for (let k = 0; k < 3; k++) s1.step();
    const o2 = sgd();
    o2.loadStateDict(o1.stateDict());
    expect(o1.stateDict().param_groups[0]!['initial_lr']).toBe(0.1);
    const s2 = new S.CosineAnnealingLR(o2, 6);
    s2.loadStateDict(s1.stateDict());
    o2.paramGroups[0]!.lr = o1.paramGroups[0]!.lr;
    s1.step();
    s2.step();
    expect(s2.getLastLr()).toEqual(s1.getLastLr());
    expect(s1.stateDict()).toMatchObject({ T_max: 6, eta_min: 0, last_epoch: 4, base_lrs: [0.1] });
  });
});
