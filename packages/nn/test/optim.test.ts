/** Optimizers against PyTorch 1.13 trajectories (packages/nn/scripts/gen_golden_train.py). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as torch from '@fusor/tensor';
import { optim } from '../src/index.js';
import { firstMismatch, makeOptimizer, makeParams, optimCases, runCase } from './optim-golden.js';

describe('optimizers follow PyTorch 1.13 trajectories on cpu', () => {
  for (const c of optimCases) {
    it(`${c.name}: parameters after each of ${c.trajectory.length} steps`, async () => {
      const got = await runCase(c, 'cpu');
      got.forEach((row, k) =>
        row.forEach((p, i) => expect(firstMismatch(p, c.trajectory[k]![i]!), `${c.name} step ${k + 1} param ${i}`).toBeNull()),
      );
    });
  }
});

describe('optimizer state dicts have PyTorch layout', () => {
  it('state keyed by parameter index with PyTorch names and values; param_groups with index lists', async () => {
    for (const c of optimCases) {
      const params = makeParams(c, 'cpu');
      const opt = makeOptimizer(c, params);
      c.grads.forEach((gs, k) => {
        params.forEach((p, i) => (p.grad = c.missing?.[0] === k && c.missing[1] === i ? null : torch.tensor(Float32Array.from(gs[i]!)).reshape(c.shapes[i]!)));
        opt.step();
      });
      const sd = opt.stateDict();
      expect(Object.keys(sd.state).sort(), c.name).toEqual(Object.keys(c.state).sort());
      for (const [idx, st] of Object.entries(c.state)) {
        const mine = sd.state[Number(idx)]!;
        expect(Object.keys(mine).sort(), `${c.name} state ${idx}`).toEqual(Object.keys(st).sort());
        for (const [k, v] of Object.entries(st)) {
          const m = mine[k]!;
          if (typeof v === 'number' || v === null) expect(m, `${c.name} ${idx}.${k}`).toBe(v);
          else {
            expect(m).toBeInstanceOf(torch.Tensor);
            const t = m as torch.Tensor;
            // 1.13 keeps Adam's and Adagrad's step as a 0-d float32 tensor
            if (k === 'step') expect([t.shape, t.dtype]).toEqual([[], 'float32']);
            expect(firstMismatch(Array.from(t.dataSync() as Float32Array), v), `${c.name} ${idx}.${k}`).toBeNull();
          }
        }
      }
      // PyTorch's groups also hold foreach/capturable/differentiable/fused flags fusor has no use for
      const skip = new Set(['foreach', 'capturable', 'differentiable', 'fused']);
      const expected = c.param_groups.map((g) => Object.fromEntries(Object.entries(g).filter(([k]) => !skip.has(k))));
      expect(sd.param_groups, c.name).toEqual(expected);
    }
  });

  it('loadStateDict then more steps continues the trajectory exactly as if never interrupted', async () => {
    for (const c of optimCases.filter((c) => ['adam_wd_amsgrad', 'sgd_groups', 'rmsprop_centered_momentum_wd', 'adagrad_decay_wd_init'].includes(c.name))) {
      const params = makeParams(c, 'cpu');
      const opt = makeOptimizer(c, params);
      const feed = (ps: torch.Tensor[], k: number): void =>
        ps.forEach((p, i) => (p.grad = torch.tensor(Float32Array.from(c.grads[k]![i]!)).reshape(c.shapes[i]!)));
      for (let k = 0; k < 3; k++) {
        feed(params, k);
        opt.step();
      }
      const sd = opt.stateDict();
      // a fresh optimizer over copies of the parameters, resumed from the state dict
      const copies = params.map((p) => p.detach().clone().contiguous().requiresGrad_());
      const resumed = makeOptimizer(c, copies);
      resumed.loadStateDict(sd);
      for (let k = 3; k < 5; k++) {
        feed(copies, k);
        resumed.step();
      }
      copies.forEach((p, i) => expect(firstMismatch(Array.from(p.dataSync() as Float32Array), c.trajectory[4]![i]!), c.name).toBeNull());
    }
  });

  it('loadStateDict rejects a dict whose groups do not match', () => {
    const a = new optim.SGD([torch.zeros(2).requiresGrad_()], { lr: 0.1 });
    const b = new optim.SGD([{ params: [torch.zeros(2).requiresGrad_()] }, { params: [torch.zeros(2).requiresGrad_()] }], { lr: 0.1 });
    expect(() => a.loadStateDict(b.stateDict())).toThrow('loaded state dict has a different number of parameter groups');
    const c = new optim.SGD([torch.zeros(2).requiresGrad_(), torch.zeros(2).requiresGrad_()], { lr: 0.1 });
    expect(() => a.loadStateDict(c.stateDict())).toThrow("loaded state dict contains a parameter group that doesn't match the size of optimizer's group");
  });
});

describe('optimizer construction', () => {
  const p = (): torch.Tensor => torch.zeros(3).requiresGrad_();

  it('positional parameters stay positional and may be named instead', () => {
    const a = new optim.SGD([p()], 0.1, 0.9);
    expect([a.paramGroups[0]!.lr, a.paramGroups[0]!.momentum]).toEqual([0.1, 0.9]);
    const b = new optim.SGD([p()], 0.1, { momentum: 0.9, nesterov: true });
    expect([b.paramGroups[0]!.momentum, b.paramGroups[0]!.nesterov]).toEqual([0.9, true]);
    const c = new optim.Adam([p()], { lr: 0.5, betas: [0.5, 0.6] });
    expect(c.paramGroups[0]!.betas).toEqual([0.5, 0.6]);
    expect(new optim.AdamW([p()]).paramGroups[0]!.weightDecay).toBe(0.01);
  });

  it('bad arguments raise with PyTorch wording', () => {
    expect(() => new optim.SGD([p()], { lr: 0.1, momentom: 0.9 } as never)).toThrow("SGD() got an unexpected keyword argument 'momentom'");
    expect(() => new optim.SGD([p()], 0.1, { lr: 0.2 })).toThrow("SGD() got multiple values for argument 'lr'");
    expect(() => new optim.Adam([p()], { lr: '0.1' } as never)).toThrow("Adam(): argument 'lr' must be a number, got string \"0.1\"");
    expect(() => new optim.SGD([p()], -0.1)).toThrow('Invalid learning rate: -0.1');
    expect(() => new optim.SGD([p()], { lr: 0.1, nesterov: true })).toThrow('Nesterov momentum requires a momentum and zero dampening');
    expect(() => new optim.Adam([p()], { betas: [1, 0.9] })).toThrow('Invalid beta parameter at index 0: 1');
    expect(() => new optim.RMSprop([p()], { alpha: -1 })).toThrow('Invalid alpha value: -1');
    expect(() => new optim.Adagrad([p()], { lrDecay: -1 })).toThrow('Invalid lr_decay value: -1');
    expect(() => new optim.SGD([p()])).toThrow("parameter group didn't specify a value of required optimization parameter lr");
    expect(() => new optim.SGD([], 0.1)).toThrow('optimizer got an empty parameter list');
    expect(() => new optim.SGD(p() as never, 0.1)).toThrow('params argument given to the optimizer should be an iterable of Tensors or dicts');
    const q = p();
    expect(() => new optim.SGD([{ params: [q] }, { params: [q] }], 0.1)).toThrow('some parameters appear in more than one parameter group');
    expect(() => new optim.SGD([q.mul(2)], 0.1)).toThrow("can't optimize a non-leaf Tensor");
    expect(() => new optim.SGD([{ params: [q], lrr: 1 }], 0.1)).toThrow("SGD param group() got an unexpected keyword argument 'lrr'");
  });

  it('zeroGrad zeroes gradients by default and drops them with setToNone', () => {
    const w = p();
    const opt = new optim.SGD([w], 0.1);
    w.mul(2).sum().backward();
    opt.zeroGrad();
    expect(w.grad!.tolistSync()).toEqual([0, 0, 0]);
    opt.zeroGrad({ setToNone: true });
    expect(w.grad).toBeNull();
    expect(() => opt.zeroGrad({ set_to_none: true } as never)).toThrow("zeroGrad() got an unexpected keyword argument 'set_to_none'");
  });

  it('step(closure) re-evaluates the loss with grad enabled and returns it', () => {
    const w = torch.tensor([1, 2], { dtype: torch.float32 }).requiresGrad_();
    const opt = new optim.SGD([w], 0.5);
    const loss = torch.noGrad(() =>
      opt.step(() => {
        opt.zeroGrad();
        const l = w.mul(w).sum();
        l.backward();
        return l;
      }),
    );
    expect((loss as torch.Tensor).itemSync()).toBe(5);
    expect(w.tolistSync()).toEqual([0, 0]);
  });

  it('prints like PyTorch', () => {
    expect(String(new optim.SGD([p()], 0.1))).toBe(
      'SGD (\nParameter Group 0\n    dampening: 0\n    lr: 0.1\n    maximize: false\n    momentum: 0\n    nesterov: false\n    weight_decay: 0\n)',
    );
  });
});

describe('an optimizer step is a few fused kernels and compiles once', () => {
  for (const name of ['SGD', 'Adam', 'AdamW', 'RMSprop', 'Adagrad'] as const) {
    it(`${name}: a fixed number of kernels per parameter, none compiled after the second step even as the lr changes`, () => {
      const params = [torch.randn(8, 4), torch.randn(4)].map((t) => t.contiguous().requiresGrad_());
      const Cls = optim[name] as unknown as new (p: torch.Tensor[], o: object) => optim.Optimizer;
      const opt = new Cls(params, { lr: 0.01, ...(name === 'SGD' ? { momentum: 0.9 } : {}) });
      const sched = new optim.lrScheduler.ExponentialLR(opt, 0.5);
      const launched: number[] = [];
      let compiledLate = 0;
      for (let k = 0; k < 4; k++) {
        params.forEach((p) => (p.grad = torch.randn(p.shape).contiguous()));
        params.forEach((p) => p.grad!.dataSync());
        const before = torch.compilerStats();
        opt.step();
        sched.step();
        const after = torch.compilerStats();
        launched.push(after.launched - before.launched);
        if (k >= 2) compiledLate += after.compiled - before.compiled;
      }
      // one kernel per state tensor written plus one for the parameter: SGD 2, Adam/AdamW 3, RMSprop 2, Adagrad 2
      const perParam = { SGD: 2, Adam: 3, AdamW: 3, RMSprop: 2, Adagrad: 2 }[name];
      expect(launched.slice(1)).toEqual([perParam * 2, perParam * 2, perParam * 2]);
      expect(compiledLate).toBe(0);
    });
  }
});

interface ClipNorm {
  max_norm: number;
  norm_type: number | 'inf';
  grads: number[][];
  total_norm: number;
  clipped: number[][];
}
const clipFixture = JSON.parse(readFileSync(new URL('../fixtures/train-optim.json', import.meta.url), 'utf8')) as {
  clip_norm: ClipNorm[];
  clip_value: { clip_value: number; grads: number[][]; clipped: number[][] };
};
const SHAPES = [[3, 4], [5]];
const withGrads = (grads: number[][]): torch.Tensor[] =>
  grads.map((g, i) => {
    const p = torch.zeros(SHAPES[i]!).requiresGrad_();
    p.grad = torch.tensor(Float32Array.from(g)).reshape(SHAPES[i]!);
    return p;
  });

describe('gradient clipping matches PyTorch', () => {
  for (const c of clipFixture.clip_norm) {
    it(`clipGradNorm_(maxNorm ${c.max_norm}, normType ${c.norm_type})`, () => {
      const ps = withGrads(c.grads);
      const total = optim.clipGradNorm_(ps, c.max_norm, c.norm_type);
      expect(Math.abs(Number(total.itemSync()) - c.total_norm)).toBeLessThanOrEqual(1e-5 * c.total_norm);
      ps.forEach((p, i) => expect(firstMismatch(Array.from(p.grad!.dataSync() as Float32Array), c.clipped[i]!)).toBeNull());
    });
  }

  it('clipGradValue_ clamps every gradient', () => {
    const c = clipFixture.clip_value;
    const ps = withGrads(c.grads);
    optim.clipGradValue_(ps, c.clip_value);
    ps.forEach((p, i) => expect(Array.from(p.grad!.dataSync() as Float32Array)).toEqual(c.clipped[i]!.map(Math.fround)));
  });

  it('errorIfNonfinite raises PyTorch\'s error; no gradients gives a zero norm', () => {
    const ps = withGrads([[...Array(12).fill(1)], [Infinity, 0, 0, 0, 0]]);
    expect(() => optim.clipGradNorm_(ps, 1, { errorIfNonfinite: true })).toThrow(
      'The total norm of order 2.0 for gradients from `parameters` is non-finite, so it cannot be clipped.',
    );
    expect(optim.clipGradNorm_([torch.zeros(2).requiresGrad_()], 1).itemSync()).toBe(0);
    expect(() => optim.clipGradNorm_(ps, 1, { norm: 2 } as never)).toThrow("clip_grad_norm_() got an unexpected keyword argument 'norm'");
  });
});
