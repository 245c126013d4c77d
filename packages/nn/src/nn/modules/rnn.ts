/**
 * RNN, LSTM and GRU (multi-layer, batchFirst, bidirectional, inter-layer dropout), PyTorch's
 * parameter names and gate order (LSTM: i, f, g, o; GRU: r, z, n). The input projection of a
 * whole sequence is one matmul per layer and direction; the recurrence is a loop over time.
 */
import * as torch from '@fusor/tensor';
import { ShapeError, Tensor } from '@fusor/tensor';
import { Module, pyFloat } from '../module.js';
import type { Parameter } from '../parameter.js';
import { parseArgs, int, num, bool, str } from '../args.js';
import * as init from '../init.js';
import * as F from '../functional/linear.js';
import { emptyParam, factory, FACTORY_KEYS, type FactoryOptions } from './factory.js';

export interface RNNOptions extends FactoryOptions {
  numLayers?: number;
  nonlinearity?: 'tanh' | 'relu';
  bias?: boolean;
  batchFirst?: boolean;
  dropout?: number;
  bidirectional?: boolean;
}

/**
 * The state computed at each step (as in-place ops compute at once): fused across steps, the
 * state (used several times in a step) was inlined again at every step (a bidirectional 2-layer
 * LSTM's forward over 4 steps: 36 s → under 1 s on cpu). `contiguous()` no longer forces this.
 */
const boundary = (t: Tensor): Tensor => {
  t._realize();
  // the same in backward: the gradient reaching each step's state is computed at once, or the
  // backward graph of the whole sequence was fused into one program that inlined every step's
  // gradient again wherever it was used (a GRU over 5 steps: minutes to compile)
  if (t.requiresGrad) t.registerHook(realizeGrad);
  return t;
};
const realizeGrad = (g: Tensor): Tensor => {
  g._realize();
  return g;
};

type Mode = 'RNN_TANH' | 'RNN_RELU' | 'LSTM' | 'GRU';
const GATES: Record<Mode, number> = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 };

abstract class RNNBase<H> extends Module<[Tensor, (H | null)?], [Tensor, H]> {
  readonly mode: Mode;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;

  constructor(name: string, mode: Mode | null, args: unknown[]) {
    super();
    const a = parseArgs(name, ['inputSize', 'hiddenSize', 'numLayers', ...(mode === null ? ['nonlinearity'] : []), 'bias', 'batchFirst', 'dropout', 'bidirectional'], FACTORY_KEYS, args);
    this.mode = mode ?? (str(name, 'nonlinearity', a['nonlinearity'], 'tanh', ['tanh', 'relu']) === 'tanh' ? 'RNN_TANH' : 'RNN_RELU');
    this.inputSize = int(name, 'input_size', a['inputSize'], 0);
    this.hiddenSize = int(name, 'hidden_size', a['hiddenSize'], 0);
    this.numLayers = int(name, 'num_layers', a['numLayers'], 1);
    this.bias = bool(name, 'bias', a['bias'], true);
    this.batchFirst = bool(name, 'batch_first', a['batchFirst'], false);
    this.dropout = num(name, 'dropout', a['dropout'], 0);
    this.bidirectional = bool(name, 'bidirectional', a['bidirectional'], false);
    if (this.dropout < 0 || this.dropout > 1) throw new RangeError('dropout should be a number in range [0, 1] representing the probability of an element being zeroed');
    if (this.hiddenSize <= 0) throw new RangeError('hidden_size must be greater than zero');
    const f = factory(a);
    const g = GATES[this.mode] * this.hiddenSize;
    const dirs = this.bidirectional ? 2 : 1;
    for (let l = 0; l < this.numLayers; l++) {
      for (let d = 0; d < dirs; d++) {
        const sfx = `_l${l}${d === 1 ? '_reverse' : ''}`;
        const inL = l === 0 ? this.inputSize : this.hiddenSize * dirs;
        this.registerParameter(`weight_ih${sfx}`, emptyParam([g, inL], f));
        this.registerParameter(`weight_hh${sfx}`, emptyParam([g, this.hiddenSize], f));
        if (this.bias) {
          this.registerParameter(`bias_ih${sfx}`, emptyParam([g], f));
          this.registerParameter(`bias_hh${sfx}`, emptyParam([g], f));
        }
      }
    }
    this.resetParameters();
  }

  resetParameters(): void {
    const stdv = this.hiddenSize > 0 ? 1 / Math.sqrt(this.hiddenSize) : 0;
    for (const p of this.parameters(false)) init.uniform_(p, -stdv, stdv);
  }

  protected weights(l: number, d: number): { wih: Parameter; whh: Parameter; bih: Parameter | null; bhh: Parameter | null } {
    const sfx = `_l${l}${d === 1 ? '_reverse' : ''}`;
    const self = this as unknown as Record<string, Parameter | undefined>;
    return { wih: self[`weight_ih${sfx}`]!, whh: self[`weight_hh${sfx}`]!, bih: self[`bias_ih${sfx}`] ?? null, bhh: self[`bias_hh${sfx}`] ?? null };
  }

  /** One step: gates from the precomputed input projection xi and the state. */
  protected abstract cell(xi: Tensor, h: Tensor, c: Tensor | null, whh: Tensor, bhh: Tensor | null): [Tensor, Tensor | null];

  /** Runs every layer and direction; input [L, N, in]; h0/c0 [layers·dirs, N, H]. */
  protected run(input: Tensor, h0: Tensor | null, c0: Tensor | null): { out: Tensor; hn: Tensor; cn: Tensor | null } {
    const batched = input.ndim === 3;
    if (input.ndim !== 2 && input.ndim !== 3) throw new ShapeError(`${this.constructor.name}: Expected input to be 2D or 3D, got ${input.ndim}D instead`);
    let x = batched ? (this.batchFirst ? input.transpose(0, 1) : input) : input.unsqueeze(1);
    if (x.shape[2] !== this.inputSize) throw new ShapeError(`input.size(-1) must be equal to input_size. Expected ${this.inputSize}, got ${x.shape[2]}`);
    const [len, n] = x.shape as [number, number];
    const dirs = this.bidirectional ? 2 : 1;
    const stateShape = [this.numLayers * dirs, n, this.hiddenSize];
    const prep = (s: Tensor | null, what: string): Tensor | null => {
      if (!s) return null;
      const t = batched ? s : s.unsqueeze(1);
      if (t.shape.join() !== stateShape.join()) throw new ShapeError(`Expected ${what} size (${stateShape.join(', ')}), got [${t.shape.join(', ')}]`);
      return t;
    };
    const isLstm = this.mode === 'LSTM';
    const hs = prep(h0, isLstm ? 'hidden[0]' : 'hidden') ?? torch.zeros(stateShape, { dtype: x.dtype, device: x.device });
    const cs = isLstm ? (prep(c0, 'hidden[1]') ?? torch.zeros(stateShape, { dtype: x.dtype, device: x.device })) : null;
    const hn: Tensor[] = [];
    const cn: Tensor[] = [];
    for (let l = 0; l < this.numLayers; l++) {
      const outs: Tensor[] = [];
      for (let d = 0; d < dirs; d++) {
        const { wih, whh, bih, bhh } = this.weights(l, d);
        // [L, N, G·H] for all steps at once, computed once: every step's backward reads it
        const xi = boundary(F.linear(x, wih, bih));
        let h = hs.select(0, l * dirs + d);
        let c = cs ? cs.select(0, l * dirs + d) : null;
        const steps: Tensor[] = new Array<Tensor>(len);
        for (let s = 0; s < len; s++) {
          const t = d === 0 ? s : len - 1 - s;
          [h, c] = this.cell(xi.select(0, t), h, c, whh, bhh);
          h = boundary(h);
          if (c) c = boundary(c);
          steps[t] = h;
        }
        outs.push(torch.stack(steps, 0));
        hn.push(h);
        if (c) cn.push(c);
      }
      // one buffer per layer: a stack of per-step buffers is a chain of selects in every kernel that
      // reads it (stacked again over directions and layers, the kernels outgrew WebAssembly's locals)
      x = boundary(dirs === 1 ? outs[0]! : torch.cat(outs, 2));
      if (this.dropout > 0 && this.training && l < this.numLayers - 1) x = F.dropout(x, this.dropout, true);
    }
    let out = x;
    let hN = boundary(torch.stack(hn, 0));
    let cN = isLstm ? boundary(torch.stack(cn, 0)) : null;
    if (!batched) {
      out = out.squeeze(1);
      hN = hN.squeeze(1);
      cN = cN ? cN.squeeze(1) : null;
    } else if (this.batchFirst) out = out.transpose(0, 1);
    return { out, hn: hN, cn: cN };
  }

  override extraRepr(): string {
    let s = `${this.inputSize}, ${this.hiddenSize}`;
    if (this.numLayers !== 1) s += `, num_layers=${this.numLayers}`;
    if (!this.bias) s += ', bias=False';
    if (this.batchFirst) s += ', batch_first=True';
    if (this.dropout !== 0) s += `, dropout=${pyFloat(this.dropout)}`;
    if (this.bidirectional) s += ', bidirectional=True';
    return s;
  }
}

type RnnArgs = [inputSize: number, hiddenSize: number, numLayers?: number | RNNOptions, ...rest: (boolean | number | string | RNNOptions | undefined)[]];

/** Elman RNN: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu). forward → [output, h_n]. */
export class RNN extends RNNBase<Tensor> {
  constructor(...args: RnnArgs) {
    super('RNN', null, args);
  }
  protected cell(xi: Tensor, h: Tensor, _c: Tensor | null, whh: Tensor, bhh: Tensor | null): [Tensor, null] {
    const pre = xi.add(F.linear(h, whh, bhh));
    return [this.mode === 'RNN_TANH' ? pre.tanh() : pre.relu(), null];
  }
  override forward(input: Tensor, hx?: Tensor | null): [Tensor, Tensor] {
    const r = this.run(input, hx ?? null, null);
    return [r.out, r.hn];
  }
}

/** LSTM; forward(input, [h0, c0]?) → [output, [h_n, c_n]]. */
export class LSTM extends RNNBase<[Tensor, Tensor]> {
  constructor(...args: RnnArgs) {
    super('LSTM', 'LSTM', args);
  }
  protected cell(xi: Tensor, h: Tensor, c: Tensor | null, whh: Tensor, bhh: Tensor | null): [Tensor, Tensor] {
    // a boundary: the backward of each gate reads the pre-activations (and their gradient is used
    // three times: for h, W_hh and the input), so neither is recomputed inside other kernels
    const gates = boundary(xi.add(F.linear(h, whh, bhh)));
    const [i, f, g, o] = gates.chunk(4, 1) as [Tensor, Tensor, Tensor, Tensor];
    const c2 = f.sigmoid().mul(c!).add(i.sigmoid().mul(g.tanh()));
    return [o.sigmoid().mul(c2.tanh()), c2];
  }
  override forward(input: Tensor, hx?: [Tensor, Tensor] | null): [Tensor, [Tensor, Tensor]] {
    if (hx && !(Array.isArray(hx) && hx.length === 2 && hx[0] instanceof Tensor && hx[1] instanceof Tensor)) {
      throw new TypeError('LSTM: hx must be a pair [h_0, c_0]');
    }
    const r = this.run(input, hx ? hx[0] : null, hx ? hx[1] : null);
    return [r.out, [r.hn, r.cn!]];
  }
}

/** GRU; forward(input, h0?) → [output, h_n]. */
export class GRU extends RNNBase<Tensor> {
  constructor(...args: RnnArgs) {
    super('GRU', 'GRU', args);
  }
  protected cell(xi: Tensor, h: Tensor, _c: Tensor | null, whh: Tensor, bhh: Tensor | null): [Tensor, null] {
    const hh = boundary(F.linear(h, whh, bhh)); // as LSTM's gates
    const [xr, xz, xn] = xi.chunk(3, 1) as [Tensor, Tensor, Tensor];
    const [hr, hz, hn] = hh.chunk(3, 1) as [Tensor, Tensor, Tensor];
    const r = xr.add(hr).sigmoid();
    const z = xz.add(hz).sigmoid();
    const nn = xn.add(r.mul(hn)).tanh();
    return [nn.sub(z.mul(nn)).add(z.mul(h)), null];
  }
  override forward(input: Tensor, hx?: Tensor | null): [Tensor, Tensor] {
    const r = this.run(input, hx ?? null, null);
    return [r.out, r.hn];
  }
}
