/** nn.Module's machinery: registration, traversal, state dicts, modes, hooks, printing, init, errors. */
import * as torch from '@fusor/tensor';
import { Tensor } from '@fusor/tensor';
import { describe, expect, it } from 'vitest';
import { nn } from '../src/index.js';
import { MODULES } from './nn-golden.js';

class Net extends nn.Module {
  conv = new nn.Linear(4, 3);
  bn = new nn.BatchNorm1d(3);
  head: nn.Sequential;
  scale: nn.Parameter;
  plain = torch.ones(2); // a plain tensor field is not a buffer, as in PyTorch
  constructor() {
    super();
    this.head = new nn.Sequential(new nn.ReLU(), new nn.Linear(3, 2));
    this.scale = new nn.Parameter(torch.ones(1));
    this.registerBuffer('steps', torch.zeros(1));
    this.registerBuffer('cache', torch.zeros(1), false);
  }
  override forward(x: Tensor): Tensor {
    return this.head.forward(this.bn.forward(this.conv.forward(x))).mul(this.scale);
  }
}

describe('registration and traversal', () => {
  it('fields assigned Parameters and Modules register in order, with PyTorch key names', () => {
    const n = new Net();
    expect(Object.keys(n.stateDict())).toEqual([
      'scale', 'steps',
      'conv.weight', 'conv.bias',
      'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked',
      'head.1.weight', 'head.1.bias',
    ]);
    expect([...n.namedParameters()].map(([k]) => k)).toEqual(['scale', 'conv.weight', 'conv.bias', 'bn.weight', 'bn.bias', 'head.1.weight', 'head.1.bias']);
    expect([...n.namedBuffers()].map(([k]) => k)).toEqual(['steps', 'cache', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked']);
    expect([...n.namedChildren()].map(([k]) => k)).toEqual(['conv', 'bn', 'head']);
    expect([...n.namedModules()].map(([k]) => k)).toEqual(['', 'conv', 'bn', 'head', 'head.0', 'head.1']);
    expect([...n.parameters()].reduce((a, p) => a + p.numel(), 0)).toBe(1 + 15 + 6 + 8);
    expect(n.stateDict()['bn.num_batches_tracked']!.dtype).toBe('int64');
    expect(n.getSubmodule('head.1')).toBe(n.head.get(1));
  });

  it('shared parameters are listed once; reassigning or deleting a field updates the registry', () => {
    const n = new Net();
    n.head.get(1).weight = n.head.get(1).weight; // same object
    const lin = new nn.Linear(2, 2);
    const seq = new nn.Sequential(lin, lin);
    expect([...seq.parameters()].length).toBe(2);
    expect(Object.keys(seq.stateDict())).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
    lin.bias = null;
    expect(Object.keys(lin.stateDict())).toEqual(['weight']);
    expect(() => {
      (lin as unknown as { weight: Tensor }).weight = torch.ones(2, 2);
    }).toThrow("cannot assign 'torch.FloatTensor' as parameter 'weight' (torch.nn.Parameter or None expected)");
    delete (n as unknown as Record<string, unknown>)['bn'];
    expect([...n.namedChildren()].map(([k]) => k)).toEqual(['conv', 'head']);
  });

  it('Parameter is a leaf that requires grad, shares storage and prints as PyTorch', () => {
    const t = torch.tensor([1, 2]);
    const p = new nn.Parameter(t.float());
    expect(p.requiresGrad).toBe(true);
    expect(p.isLeaf).toBe(true);
    expect(p).toBeInstanceOf(Tensor);
    expect(p.toString()).toBe('Parameter containing:\ntensor([1., 2.], requires_grad=True)');
    expect(new nn.Parameter(torch.ones(1), false).requiresGrad).toBe(false);
  });
});

describe('state dicts', () => {
  it('round-trips into a fresh model, giving the same outputs', async () => {
    const a = new Net();
    const b = new Net();
    const x = torch.randn(5, 4);
    a.eval();
    b.eval();
    b.loadStateDict(a.stateDict());
    expect(await b.forward(x).tolist()).toEqual(await a.forward(x).tolist());
  });

  it("errors name every key in PyTorch's wording and leave the model unchanged", async () => {
    const m = new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU(), new nn.Linear(3, 1));
    const before = await m.get(0).weight.tolist();
    const sd = m.stateDict();
    sd['0.weight'] = torch.ones(3, 2);
    sd['2.weight'] = torch.zeros(2, 3);
    delete sd['0.bias'];
    sd['extra'] = torch.zeros(1);
    expect(() => m.loadStateDict(sd)).toThrow(MODULES.errors['load_state_dict']!);
    expect(() => m.loadStateDict(sd)).toThrow(nn.StateDictError);
    expect(await m.get(0).weight.tolist()).toEqual(before);
  });

  it('strict: false reports missing and unexpected keys and loads the rest', async () => {
    const m = new nn.Linear(2, 2);
    const r = m.loadStateDict({ weight: torch.ones(2, 2), foo: torch.ones(1) }, { strict: false });
    expect(r).toEqual({ missingKeys: ['bias'], unexpectedKeys: ['foo'] });
    expect(await m.weight.tolist()).toEqual([[1, 1], [1, 1]]);
    expect(() => m.loadStateDict({}, { strict: false, bogus: 1 } as never)).toThrow("load_state_dict() got an unexpected keyword argument 'bogus'");
  });

  it('loading copies in place: the Parameter objects (what optimizers hold) stay', () => {
    const m = new nn.Linear(2, 2);
    const w = m.weight;
    m.loadStateDict({ weight: torch.zeros(2, 2), bias: torch.zeros(2) });
    expect(m.weight).toBe(w);
    expect(w.requiresGrad).toBe(true);
    expect(w.isLeaf).toBe(true);
  });
});

describe('modes, gradients, moves', () => {
  it('train()/eval() set training recursively', () => {
    const n = new Net();
    n.eval();
    expect([...n.modules()].every((m) => !m.training)).toBe(true);
    n.train();
    expect([...n.modules()].every((m) => m.training)).toBe(true);
  });

  it('zeroGrad zeroes in place by default (PyTorch 1.13) and sets None with setToNone', async () => {
    const m = new nn.Linear(3, 1);
    m.forward(torch.ones(2, 3)).sum().backward();
    const g = m.weight.grad!;
    m.zeroGrad();
    expect(m.weight.grad).toBe(g);
    expect(await g.tolist()).toEqual([[0, 0, 0]]);
    m.zeroGrad({ setToNone: true });
    expect(m.weight.grad).toBeNull();
  });

  it('requiresGrad_, apply, to(dtype) keep Parameter identity', () => {
    const n = new Net();
    const w = n.conv.weight;
    n.requiresGrad_(false);
    expect([...n.parameters()].every((p) => !p.requiresGrad)).toBe(true);
    n.requiresGrad_(true);
    const seen: string[] = [];
    n.apply((m) => seen.push(m.constructor.name));
    expect(seen).toEqual(['Linear', 'BatchNorm1d', 'ReLU', 'Linear', 'Sequential', 'Net']);
    n.to({ dtype: 'float64' });
    expect(n.conv.weight).toBe(w);
    expect(w.dtype).toBe('float64');
    expect(w.requiresGrad).toBe(true);
    expect(n.bn.num_batches_tracked!.dtype).toBe('int64');
    n.double().forward(torch.randn(3, 4, { dtype: 'float64' })).sum().backward();
    expect(w.grad!.dtype).toBe('float64');
  });
});

describe('forward hooks', () => {
  it('pre-hooks can replace the input, hooks the output; remove() restores forward', async () => {
    const m = new nn.Linear(2, 2);
    m.loadStateDict({ weight: torch.eye(2), bias: torch.zeros(2) });
    const calls: string[] = [];
    const h1 = m.registerForwardPreHook((_mod, [x]) => {
      calls.push('pre');
      return [x.mul(2)];
    });
    const h2 = m.registerForwardHook((_mod, _args, out) => {
      calls.push('post');
      return out.add(1);
    });
    expect(await m.forward(torch.tensor([[1, 2]], { dtype: 'float32' })).tolist()).toEqual([[3, 5]]);
    expect(calls).toEqual(['pre', 'post']);
    h1.remove();
    h2.remove();
    expect(await m.forward(torch.tensor([[1, 2]], { dtype: 'float32' })).tolist()).toEqual([[1, 2]]);
    expect(Object.prototype.hasOwnProperty.call(m, 'forward')).toBe(false);
  });

  it('hooks on a child run when a container calls it', () => {
    const seq = new nn.Sequential(new nn.Linear(2, 2), new nn.ReLU());
    const shapes: number[][] = [];
    seq.get(0).registerForwardHook((_m, _a, out: Tensor) => void shapes.push(out.shape));
    seq.forward(torch.ones(3, 2));
    expect(shapes).toEqual([[3, 2]]);
  });
});

describe('printing', () => {
  it("reads like PyTorch's repr", () => {
    const m = new nn.Sequential(new nn.Linear(784, 512), new nn.ReLU(), new nn.Dropout(0.2), new nn.Linear(512, 10));
    expect(m.toString()).toBe(
      'Sequential(\n  (0): Linear(in_features=784, out_features=512, bias=True)\n  (1): ReLU()\n  (2): Dropout(p=0.2, inplace=False)\n  (3): Linear(in_features=512, out_features=10, bias=True)\n)',
    );
    expect(new Net().toString()).toContain('  (head): Sequential(\n    (0): ReLU()\n    (1): Linear(in_features=3, out_features=2, bias=True)\n  )');
    expect(new nn.ModuleDict({ a: new nn.Tanh() }).toString()).toBe('ModuleDict(\n  (a): Tanh()\n)');
  });
});

describe('containers', () => {
  it('ModuleList and ModuleDict register their items', () => {
    const l = new nn.ModuleList([new nn.Linear(1, 1), new nn.Linear(1, 1)]);
    l.append(new nn.Linear(1, 2));
    l.insert(0, new nn.Tanh());
    expect(Object.keys(l.stateDict())).toEqual(['1.weight', '1.bias', '2.weight', '2.bias', '3.weight', '3.bias']);
    expect(l.get(-1)).toBeInstanceOf(nn.Linear);
    const d = new nn.ModuleDict({ enc: new nn.Linear(1, 1) });
    d.set('dec', new nn.Linear(1, 1));
    expect([...d.keys()]).toEqual(['enc', 'dec']);
    expect(() => d.set('train', new nn.Tanh())).toThrow("attribute 'train' already exists");
  });
  it('Sequential slices and indexes', () => {
    const s = new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU(), new nn.Linear(3, 1));
    expect(s.length).toBe(3);
    expect(s.slice(0, 2).toString()).toBe('Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n  (1): ReLU()\n)');
    expect(() => s.get(3)).toThrow('index 3 is out of range');
  });
});

describe('errors in PyTorch wording', () => {
  it('Linear on a wrong input', () => {
    expect(() => new nn.Linear(30, 10).forward(torch.randn(64, 20))).toThrow(MODULES.errors['linear']!);
  });
  it('crossEntropy with a target out of range (checked eagerly on cpu)', () => {
    expect(() => nn.F.crossEntropy(torch.randn(3, 5), torch.tensor([1, 7, 0]))).toThrow(MODULES.errors['cross_entropy_target']!);
  });
  it('unknown options raise', () => {
    expect(() => new nn.Linear(2, 2, { bias: false, bogus: 1 } as never)).toThrow("Linear() got an unexpected keyword argument 'bogus'");
    expect(() => new nn.Linear(2, 2, true, { bias: false })).toThrow("Linear() got multiple values for argument 'bias'");
    expect(() => nn.F.crossEntropy(torch.randn(2, 3), torch.tensor([0, 1]), { reduce: 'sum' } as never)).toThrow("cross_entropy() got an unexpected keyword argument 'reduce'");
    expect(() => nn.F.mseLoss(torch.ones(1), torch.ones(1), { reduction: 'avg' as never })).toThrow("mse_loss(): argument 'reduction' must be one of 'none', 'mean', 'sum', not 'avg'");
  });
  it('a Module without forward', () => {
    class Empty extends nn.Module {}
    expect(() => new Empty().forward(torch.ones(1))).toThrow('Module [Empty] is missing the required "forward" function');
  });
});

describe('dropout and init', () => {
  it('Dropout zeroes about p of the elements in training, scales the rest, and is the identity in eval', async () => {
    torch.manualSeed(0);
    const d = new nn.Dropout(0.3);
    const y = (await d.forward(torch.ones(10000)).data()) as Float32Array;
    const zeros = y.filter((v) => v === 0).length;
    expect(zeros / 10000).toBeGreaterThan(0.27);
    expect(zeros / 10000).toBeLessThan(0.33);
    expect(y.filter((v) => v !== 0).every((v) => Math.abs(v - 1 / 0.7) < 1e-6)).toBe(true);
    d.eval();
    const x = torch.randn(5);
    expect(d.forward(x)).toBe(x);
  });
  it('Dropout2d drops whole channels', async () => {
    const y = await new nn.Dropout2d(0.5).forward(torch.ones(4, 8, 3, 3)).tolist() as number[][][][];
    for (const n of y) for (const ch of n) expect(new Set(ch.flat()).size).toBe(1);
  });
  it("Linear's default init is U(-1/sqrt(in), 1/sqrt(in)) for weight and bias", async () => {
    const l = new nn.Linear(400, 300);
    const w = Array.from((await l.weight.data()) as Float32Array);
    const b = 1 / Math.sqrt(400);
    expect(Math.max(...w)).toBeLessThanOrEqual(b);
    expect(Math.min(...w)).toBeGreaterThanOrEqual(-b);
    expect(Math.max(...w)).toBeGreaterThan(b * 0.99);
    const variance = w.reduce((a, v) => a + v * v, 0) / w.length;
    expect(variance).toBeCloseTo((b * b) / 3, 5);
  });
  it('nn.init: gains, fans, xavier, kaiming, truncNormal, constants', async () => {
    expect(nn.init.calculateGain('relu')).toBeCloseTo(Math.SQRT2);
    expect(nn.init.calculateGain('leaky_relu', 0.2)).toBeCloseTo(Math.sqrt(2 / 1.04));
    expect(nn.init.calculateGain('tanh')).toBeCloseTo(5 / 3);
    expect(nn.init.calculateFanInAndFanOut(torch.empty(8, 4, 3, 3))).toEqual([36, 72]);
    const std = async (t: Tensor): Promise<number> => Number(await t.std().item());
    expect(await std(nn.init.kaimingNormal_(torch.empty(256, 512), { mode: 'fan_in', nonlinearity: 'relu' }))).toBeCloseTo(Math.sqrt(2 / 512), 3);
    expect(await std(nn.init.xavierNormal_(torch.empty(300, 200)))).toBeCloseTo(Math.sqrt(2 / 500), 3);
    const xu = Array.from((await nn.init.xavierUniform_(torch.empty(300, 200), 2).data()) as Float32Array);
    expect(Math.max(...xu.map(Math.abs))).toBeLessThanOrEqual(2 * Math.sqrt(6 / 500));
    const tn = Array.from((await nn.init.truncNormal_(torch.empty(20000), 0, 1, -1, 0.5).data()) as Float32Array);
    expect(Math.min(...tn)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...tn)).toBeLessThanOrEqual(0.5);
    expect(await nn.init.constant_(torch.empty(2), 3).tolist()).toEqual([3, 3]);
    const o = nn.init.orthogonal_(torch.empty(3, 5));
    const eye = (await o.matmul(o.t()).tolist()) as number[][];
    eye.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(i === j ? 1 : 0, 5)));
  });
  it('Embedding: N(0,1) weights with a zero padding row', async () => {
    const e = new nn.Embedding(10, 4, { paddingIdx: 3 });
    expect(await e.weight.index(3).tolist()).toEqual([0, 0, 0, 0]);
    expect(e.toString()).toBe('Embedding(10, 4, padding_idx=3)');
  });
});
