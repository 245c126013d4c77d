/**
 * The nn golden cases (fixtures made by scripts/gen_golden_nn.py from PyTorch 1.13), runnable on
 * any device: each module is built here, loaded from the fixture's state dict, moved to the
 * device, run forward and backward (sum(output · gradOutput)), and compared.
 */
import { readFileSync } from 'node:fs';
import * as torch from '@fusor/tensor';
import { Tensor } from '@fusor/tensor';
import { expect } from 'vitest';
import { nn } from '../src/index.js';

export interface TensorData {
  shape: number[];
  dtype: 'float32' | 'float64' | 'int64' | 'bool';
  data: (number | boolean | 'nan' | 'inf' | '-inf')[];
}
const decode = (v: number | boolean | string): number | boolean =>
  v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : (v as number | boolean);
export interface ModuleCase {
  name: string;
  train: boolean;
  state: Record<string, TensorData>;
  inputs: TensorData[];
  outputs: TensorData[];
  gradOutputs: TensorData[];
  gradInputs: (TensorData | null)[];
  gradParams: Record<string, TensorData>;
  buffersAfter: Record<string, TensorData>;
  repr?: string;
}
export interface FnCase {
  name: string;
  inputs: TensorData[];
  output: TensorData;
  gradOutput: TensorData;
  gradInputs: (TensorData | null)[];
}

const fixture = <T>(file: string): T => JSON.parse(readFileSync(new URL(`../fixtures/${file}`, import.meta.url), 'utf8')) as T;
export const MODULES = fixture<{ cases: ModuleCase[]; errors: Record<string, string> }>('nn-modules.json');
export const LOSSES = fixture<{ cases: FnCase[] }>('nn-losses.json');

export function toTensor(d: TensorData, device = 'cpu'): Tensor {
  const vals = d.data.map(decode);
  const t = torch.tensor(d.dtype === 'bool' ? (vals as boolean[]) : (vals as number[]), { dtype: d.dtype }).reshape(d.shape);
  return device === 'cpu' ? t : t.to(device);
}

const TOL = { atol: 2e-5, rtol: 2e-4 };

/** Compares values read asynchronously (works on every backend). */
export async function expectClose(actual: Tensor | null | undefined, expected: TensorData | null | undefined, what: string, tol = TOL): Promise<void> {
  if (expected === null || expected === undefined) {
    expect(actual ?? null, what).toBeNull();
    return;
  }
  expect(actual, what).toBeTruthy();
  expect(actual!.shape, `${what} shape`).toEqual(expected.shape);
  const got = Array.from(await actual!.cpu().to('float64').data(), Number);
  const want = expected.data.map((v) => Number(decode(v)));
  for (let i = 0; i < want.length; i++) {
    const ok = Math.abs(got[i]! - want[i]!) <= tol.atol + tol.rtol * Math.abs(want[i]!) || (Number.isNaN(want[i]) && Number.isNaN(got[i]));
    if (!ok) expect.fail(`${what}[${i}]: got ${got[i]}, expected ${want[i]} (shape [${expected.shape}])`);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyModule = nn.Module<any, any>;

/** The fusor module for each fixture case, built as the generator built PyTorch's. */
export const BUILD: Record<string, () => AnyModule> = {
  Linear: () => new nn.Linear(5, 3),
  Linear3d: () => new nn.Linear(5, 3),
  LinearNoBias: () => new nn.Linear(5, 3, { bias: false }),
  Bilinear: () => new nn.Bilinear(3, 4, 2),
  Identity: () => new nn.Identity(),
  Flatten: () => new nn.Flatten(),
  Unflatten: () => new nn.Unflatten(1, [2, 3]),
  ReLU: () => new nn.ReLU(),
  ReLU6: () => new nn.ReLU6(),
  GELU: () => new nn.GELU(),
  GELUTanh: () => new nn.GELU('tanh'),
  SiLU: () => new nn.SiLU(),
  Tanh: () => new nn.Tanh(),
  Sigmoid: () => new nn.Sigmoid(),
  Softmax: () => new nn.Softmax({ dim: 1 }),
  LogSoftmax: () => new nn.LogSoftmax(1),
  LeakyReLU: () => new nn.LeakyReLU(0.2),
  ELU: () => new nn.ELU(0.7),
  Softplus: () => new nn.Softplus({ beta: 2, threshold: 3 }),
  Hardtanh: () => new nn.Hardtanh(-0.5, 0.5),
  Mish: () => new nn.Mish(),
  Hardswish: () => new nn.Hardswish(),
  Hardsigmoid: () => new nn.Hardsigmoid(),
  SELU: () => new nn.SELU(),
  CELU: () => new nn.CELU(0.5),
  LogSigmoid: () => new nn.LogSigmoid(),
  Softsign: () => new nn.Softsign(),
  Tanhshrink: () => new nn.Tanhshrink(),
  GLU: () => new nn.GLU(),
  Softmin: () => new nn.Softmin(1),
  PReLU: () => new nn.PReLU(3),
  BatchNorm1d: () => new nn.BatchNorm1d(3),
  BatchNorm1d3d: () => new nn.BatchNorm1d(3, { momentum: 0.3 }),
  BatchNorm2d: () => new nn.BatchNorm2d(2),
  BatchNorm2dCumulative: () => new nn.BatchNorm2d(2, { momentum: null }),
  BatchNorm2dEval: () => new nn.BatchNorm2d(2),
  BatchNorm1dNoStats: () => new nn.BatchNorm1d(3, { trackRunningStats: false }),
  LayerNorm: () => new nn.LayerNorm(6),
  LayerNorm2d: () => new nn.LayerNorm([3, 4], { eps: 1e-3 }),
  GroupNorm: () => new nn.GroupNorm(2, 4),
  RMSNorm: () => new nn.RMSNorm(6),
  RMSNormEps: () => new nn.RMSNorm([2, 3], 1e-3),
  Embedding: () => new nn.Embedding(7, 3),
  EmbeddingPadding: () => new nn.Embedding(7, 3, { paddingIdx: 2 }),
  MLP: () => new nn.Sequential(new nn.Flatten(), new nn.Linear(8, 6), new nn.ReLU(), new nn.Dropout(0.0), new nn.Linear(6, 3)),
  'Dropout eval': () => new nn.Dropout(0.5),
  Conv1d: () => new nn.Conv1d(2, 3, 3, { stride: 2, padding: 1 }),
  Conv2d: () => new nn.Conv2d(2, 4, 3),
  Conv2dGroups: () => new nn.Conv2d(4, 4, 3, { padding: 1, groups: 2, bias: false }),
  Conv2dReflect: () => new nn.Conv2d(2, 2, 3, { padding: 1, paddingMode: 'reflect' }),
  Conv2dSame: () => new nn.Conv2d(2, 3, [2, 3], { padding: 'same', dilation: 2 }),
  Conv3d: () => new nn.Conv3d(1, 2, 2),
  ConvTranspose1d: () => new nn.ConvTranspose1d(2, 2, 3, 2),
  ConvTranspose2d: () => new nn.ConvTranspose2d(2, 3, 3, { stride: 2, padding: 1, outputPadding: 1 }),
  MaxPool1d: () => new nn.MaxPool1d(2),
  MaxPool2d: () => new nn.MaxPool2d(2),
  MaxPool2dPad: () => new nn.MaxPool2d(3, { stride: 2, padding: 1 }),
  AvgPool2d: () => new nn.AvgPool2d(2),
  AvgPool2dPad: () => new nn.AvgPool2d(3, 2, 1, { countIncludePad: false }),
  AdaptiveAvgPool2d: () => new nn.AdaptiveAvgPool2d([2, 3]),
  AdaptiveAvgPool2d1: () => new nn.AdaptiveAvgPool2d(1),
  CNN: () =>
    new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Conv2d(4, 8, 3), new nn.BatchNorm2d(8), new nn.ReLU(),
      new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Linear(8, 3),
    ),
  MHA: () => new nn.MultiheadAttention(4, 2),
  MHAMasks: () => new nn.MultiheadAttention(4, 2, { batchFirst: true }),
  MHAKdimFloatMask: () => new nn.MultiheadAttention(4, 1, { kdim: 3, vdim: 2 }),
  TransformerEncoderLayer: () => new nn.TransformerEncoderLayer(4, 2, 8, { dropout: 0 }),
  TransformerEncoderLayerNormFirst: () => new nn.TransformerEncoderLayer(4, 2, 6, { dropout: 0, activation: 'gelu', batchFirst: true, normFirst: true }),
  TransformerEncoder: () => new nn.TransformerEncoder(new nn.TransformerEncoderLayer(4, 2, 8, { dropout: 0 }), 2, { norm: new nn.LayerNorm(4) }),
  RNN: () => new nn.RNN(3, 4),
  RNNRelu2: () => new nn.RNN(3, 4, 2, { nonlinearity: 'relu', batchFirst: true }),
  LSTM: () => new nn.LSTM(3, 4),
  LSTMDeepBi: () => new nn.LSTM(3, 4, { numLayers: 2, batchFirst: true, bidirectional: true }),
  GRU: () => new nn.GRU(3, 4),
  GRUDeepBi: () => new nn.GRU(3, 4, 2, { bidirectional: true }),
  GRUUnbatched: () => new nn.GRU(3, 4, { bias: false }),
  GRUBatchFirstHidden: () => new nn.GRU(2, 3, { batchFirst: true }),
  LSTMUnbatchedHidden: () => new nn.LSTM(2, 3, 2),
  'Dropout2d eval': () => new nn.Dropout2d(0.5),
};

/** Cases whose forward takes more than the inputs in order, as the generator called them. */
const CALL: Record<string, (m: AnyModule, x: Tensor[]) => unknown> = {
  MHA: (m, [q, k, v]) => m.forward(q, k, v),
  MHAMasks: (m, [q, k, v, kp, a]) => m.forward(q, k, v, { keyPaddingMask: kp, attnMask: a, averageAttnWeights: false }),
  MHAKdimFloatMask: (m, [q, k, v, a]) => m.forward(q, k, v, { attnMask: a, needWeights: false })[0],
  TransformerEncoderLayerNormFirst: (m, [x, kp]) => m.forward(x, { srcKeyPaddingMask: kp }),
  TransformerEncoder: (m, [x, mask]) => m.forward(x, { mask }),
  LSTMDeepBi: (m, [x, h, c]) => m.forward(x, [h, c]),
  LSTMUnbatchedHidden: (m, [x, h, c]) => m.forward(x, [h, c]),
};

/** Tensors of an output as the generator's first(): a tensor, or a tuple's tensors (one level of nesting). */
function flat(out: unknown): Tensor[] {
  if (out instanceof Tensor) return [out];
  const res: Tensor[] = [];
  for (const o of out as unknown[]) {
    if (o instanceof Tensor) res.push(o);
    else if (Array.isArray(o)) res.push(...o.filter((x): x is Tensor => x instanceof Tensor));
  }
  return res;
}

/**
 * Cases checked forward only on cpu, each with why (none now: LSTMDeepBi's backward lowers a
 * kernel past WebAssembly's 50,000 locals, which the cpu backend now runs with its JavaScript
 * renderer instead of failing to compile).
 */
export const CPU_FORWARD_ONLY = new Map<string, string>();

export async function runModuleCase(c: ModuleCase, device = 'cpu'): Promise<void> {
  const build = BUILD[c.name];
  if (!build) throw new Error(`no builder for case ${c.name}`);
  const m = build();
  m.train(c.train);
  const sd: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(c.state)) sd[k] = toTensor(v);
  m.loadStateDict(sd);
  if (device !== 'cpu') m.to(device);
  const inputs = c.inputs.map((d) => {
    const t = toTensor(d, device);
    return t.isFloatingPoint() ? t.requiresGrad_() : t;
  });
  const call = CALL[c.name];
  const outs = flat(call ? call(m, inputs) : m.forward(...inputs));
  expect(outs.length, `${c.name} outputs`).toBe(c.outputs.length);
  for (let i = 0; i < c.outputs.length; i++) await expectClose(outs[i], c.outputs[i], `${c.name} output ${i}`);
  if (device === 'cpu' && CPU_FORWARD_ONLY.has(c.name)) return;
  let total: Tensor | null = null;
  c.gradOutputs.forEach((g, i) => {
    const term = outs[i]!.mul(toTensor(g, device)).sum();
    total = total ? total.add(term) : term;
  });
  (total as Tensor | null)?.backward();
  for (let i = 0; i < c.gradInputs.length; i++) {
    if (c.gradInputs[i]) await expectClose(inputs[i]!.grad, c.gradInputs[i], `${c.name} grad input ${i}`);
  }
  const params = Object.fromEntries(m.namedParameters());
  for (const [k, g] of Object.entries(c.gradParams)) await expectClose(params[k]!.grad, g, `${c.name} grad ${k}`);
  const bufs = Object.fromEntries(m.namedBuffers());
  for (const [k, b] of Object.entries(c.buffersAfter)) await expectClose(bufs[k], b, `${c.name} buffer ${k}`);
}

type LossFn = (x: Tensor[]) => Tensor;
const { F } = nn;

/** Each loss/function case as fusor calls it. */
export const LOSS_FNS: Record<string, LossFn> = {
  mse_mean: ([a, b]) => F.mseLoss(a!, b!),
  mse_sum: ([a, b]) => F.mseLoss(a!, b!, { reduction: 'sum' }),
  mse_none: ([a, b]) => F.mseLoss(a!, b!, { reduction: 'none' }),
  l1_mean: ([a, b]) => F.l1Loss(a!, b!),
  l1_sum: ([a, b]) => F.l1Loss(a!, b!, { reduction: 'sum' }),
  l1_none: ([a, b]) => F.l1Loss(a!, b!, { reduction: 'none' }),
  smooth_l1: ([a, b]) => F.smoothL1Loss(a!, b!, { beta: 0.5 }),
  huber: ([a, b]) => F.huberLoss(a!, b!, { delta: 0.7 }),
  cross_entropy: ([a, b]) => F.crossEntropy(a!, b!),
  cross_entropy_sum: ([a, b]) => F.crossEntropy(a!, b!, { reduction: 'sum' }),
  cross_entropy_none: ([a, b]) => F.crossEntropy(a!, b!, { reduction: 'none' }),
  cross_entropy_weight: ([a, b, w]) => F.crossEntropy(a!, b!, w!),
  cross_entropy_ignore: ([a, b]) => F.crossEntropy(a!, b!),
  cross_entropy_ignore7: ([a, b]) => F.crossEntropy(a!, b!, { ignoreIndex: 1 }),
  cross_entropy_ls: ([a, b]) => F.crossEntropy(a!, b!, { labelSmoothing: 0.2 }),
  cross_entropy_ls_weight_ignore: ([a, b, w]) => F.crossEntropy(a!, b!, { weight: w!, labelSmoothing: 0.1, ignoreIndex: 1 }),
  cross_entropy_ls_sum: ([a, b]) => F.crossEntropy(a!, b!, { labelSmoothing: 0.3, reduction: 'sum' }),
  cross_entropy_ls_none: ([a, b]) => F.crossEntropy(a!, b!, { labelSmoothing: 0.3, reduction: 'none' }),
  cross_entropy_probs: ([a, b]) => F.crossEntropy(a!, b!),
  cross_entropy_probs_ls_weight: ([a, b, w]) => F.crossEntropy(a!, b!, w!, { labelSmoothing: 0.2 }),
  cross_entropy_kdim: ([a, b]) => F.crossEntropy(a!, b!),
  cross_entropy_1d: ([a, b]) => F.crossEntropy(a!, b!),
  nll: ([a, b]) => F.nllLoss(a!, b!),
  nll_weight_ignore: ([a, b, w]) => F.nllLoss(a!, b!, { weight: w!, ignoreIndex: 3 }),
  bce: ([a, b]) => F.binaryCrossEntropy(a!, b!),
  bce_weight_sum: ([a, b, w]) => F.binaryCrossEntropy(a!, b!, { weight: w!, reduction: 'sum' }),
  bce_logits: ([a, b]) => F.binaryCrossEntropyWithLogits(a!, b!),
  bce_logits_pos_weight: ([a, b, w]) => F.binaryCrossEntropyWithLogits(a!, b!, { posWeight: w! }),
  kl_div_batchmean: ([a, b]) => F.klDiv(a!, b!, { reduction: 'batchmean' }),
  kl_div_sum_log_target: ([a, b]) => F.klDiv(a!, b!, { reduction: 'sum', logTarget: true }),
  cosine_similarity: ([a, b]) => F.cosineSimilarity(a!, b!),
  cosine_similarity_dim0: ([a, b]) => F.cosineSimilarity(a!, b!, 0),
  sdpa: ([q, k, v]) => F.scaledDotProductAttention(q!, k!, v!),
  sdpa_causal: ([q, k, v]) => F.scaledDotProductAttention(q!, k!, v!, { isCausal: true }),
  sdpa_bool_mask: ([q, k, v, m]) => F.scaledDotProductAttention(q!, k!, v!, m!),
  sdpa_float_mask_scale: ([q, k, v, m]) => F.scaledDotProductAttention(q!, k!, v!, { attnMask: m!, scale: 0.3 }),
};

/** Which inputs the generator asked gradients for is in the fixture (null = none). */
export async function runFnCase(c: FnCase, device = 'cpu'): Promise<void> {
  const fn = LOSS_FNS[c.name];
  if (!fn) throw new Error(`no function for case ${c.name}`);
  const inputs = c.inputs.map((d, i) => {
    const t = toTensor(d, device);
    return c.gradInputs[i] ? t.requiresGrad_() : t;
  });
  const out = fn(inputs);
  await expectClose(out, c.output, `${c.name} output`);
  out.mul(toTensor(c.gradOutput, device)).sum().backward();
  for (let i = 0; i < inputs.length; i++) if (c.gradInputs[i]) await expectClose(inputs[i]!.grad, c.gradInputs[i], `${c.name} grad input ${i}`);
}
