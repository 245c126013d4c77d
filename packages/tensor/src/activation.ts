/**
 * Activation functions as compositions of IR primitives; their gradients come from the IR's
 * rules. Each `where` below is written so that PyTorch's gradient at the boundary falls out
 * (leakyRelu at 0 takes the negative slope, hardtanh at its bounds gives 0…), and so that the
 * branch not taken never sees an argument that would make its (masked) gradient NaN.
 */
import { castNode, isFloat, type Node } from '@fusor/ir';
import * as D from './decompose.js';
import { DTYPE_TITLE } from './elementwise.js';
import { record, type Tensor } from './tensor.js';
import { getDefaultDtype } from './state.js';

const SQRT1_2 = Math.SQRT1_2;
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** The node in floating point (integers promote, as PyTorch's float ops do). */
const float = (x: Tensor): Node => castNode(x.node, isFloat(x.dtype) ? x.dtype : getDefaultDtype());

const poly = (x: Node, coeffs: readonly number[]): Node => coeffs.slice(1).reduce((p, c) => D.add(D.mul(p, x), D.c(c, x)), D.c(coeffs[0]!, x));
const clampNode = (x: Node, lo: number, hi: number): Node => D.where(D.lt(x, D.c(lo, x)), D.c(lo, x), D.where(D.lt(D.c(hi, x), x), D.c(hi, x), x));
const absNode = (x: Node): Node => D.where(D.lt(x, D.c(0, x)), D.neg(x), x);

/** erfc(z) for z ≥ 2 by its continued fraction e^{−z²}/√π · 1/(z + ½/(z + 1/(z + 3⁄2/(z + …)))), from the bottom up. */
function erfcTail(z: Node): Node {
  let f = z;
  for (let k = 40; k >= 1; k--) f = D.add(z, D.mul(D.c(k / 2, z), D.recip(f)));
  return D.mul(D.mul(D.exp(D.neg(D.mul(z, z))), D.c(1 / Math.sqrt(Math.PI), z)), D.recip(f));
}

const TAIL = 2;

/**
 * erf(x). float64: the Maclaurin series below |x| = 2 (terms at most e⁴ ≈ 55 times the result,
 * so ~1e-15 absolute) and 1 − erfc by the continued fraction above. Narrower floats: Eigen's
 * rational approximation on [−4, 4] (error < 5e-7, below float32's rounding of the inputs).
 */
export function erfNode(x: Node): Node {
  if (x.dtype !== 'float64') {
    const xc = clampNode(x, -4, 4);
    const x2 = D.mul(xc, xc);
    const p = poly(x2, [-2.72614225801306e-10, 2.77068142495902e-8, -2.10102402082508e-6, -5.69250639462346e-5, -7.34990630326855e-4, -2.95459980854025e-3, -1.60960333262415e-2]);
    const q = poly(x2, [-1.45660718464996e-5, -2.13374055278905e-4, -1.68282697438203e-3, -7.37332916720468e-3, -1.42647390514189e-2]);
    return D.where(D.isnan(x), x, D.mul(D.mul(xc, p), D.recip(q)));
  }
  const ax = absNode(x);
  const near = D.lt(ax, D.c(TAIL, x));
  // each branch sees only arguments where it is accurate and finite, so the masked one's gradient is 0, not NaN
  const xs = D.where(near, x, D.c(0, x));
  const x2 = D.mul(xs, xs);
  let term = xs;
  let sum = xs;
  for (let n = 1; n < 40; n++) {
    term = D.mul(term, D.mul(x2, D.c(-1 / n, x)));
    sum = D.add(sum, D.mul(term, D.c(1 / (2 * n + 1), x)));
  }
  const series = D.mul(sum, D.c(TWO_OVER_SQRT_PI, x));
  const tail = D.sub(D.c(1, x), erfcTail(clampNode(ax, TAIL, 6)));
  const signed = D.where(D.lt(x, D.c(0, x)), D.neg(tail), tail);
  return D.where(D.isnan(x), x, D.where(near, series, signed));
}

/** log(1 + u) for u ≥ 0 without losing small u: log(w)·u/(w − 1), w = 1 + u (Goldberg). */
function log1pNode(u: Node): Node {
  const w = D.add(D.c(1, u), u);
  const one = D.eq(w, D.c(1, u));
  const wSafe = D.where(one, D.c(2, u), w);
  return D.where(one, u, D.mul(D.log(wSafe), D.mul(u, D.recip(D.sub(wSafe, D.c(1, u))))));
}

/** softplus(x)·β = max(βx, 0) + log1p(exp(−|βx|)): never overflows. */
function softplusNode(x: Node, beta: number): Node {
  const bx = beta === 1 ? x : D.mul(x, D.c(beta, x));
  const relu = D.where(D.lt(bx, D.c(0, x)), D.c(0, x), bx);
  const sp = D.add(relu, log1pNode(D.exp(D.neg(absNode(bx)))));
  return beta === 1 ? sp : D.mul(sp, D.c(1 / beta, x));
}

function checkFloat(fn: string, x: Tensor): void {
  if (!isFloat(x.dtype)) throw new TypeError(`"${fn}" not implemented for '${DTYPE_TITLE[x.dtype]}'`);
}

export const erf = (x: Tensor): Tensor => {
  if (x.dtype === 'bool') throw new TypeError(`"erf_vml_cpu" not implemented for 'Bool'`);
  return record('ErfBackward0', erfNode(float(x)), [x]);
};

export interface GeluOptions {
  approximate?: 'none' | 'tanh';
}

export function gelu(x: Tensor, opts: GeluOptions = {}): Tensor {
  for (const k of Object.keys(opts)) if (k !== 'approximate') throw new TypeError(`gelu() got an unexpected keyword argument '${k}'`);
  const approximate = opts.approximate ?? 'none';
  if (approximate !== 'none' && approximate !== 'tanh') throw new RangeError('approximate argument must be either none or tanh.');
  checkFloat('GeluKernelImpl', x);
  const n = x.node;
  const half = D.mul(n, D.c(0.5, n));
  if (approximate === 'tanh') {
    const inner = D.mul(D.c(Math.sqrt(2 / Math.PI), n), D.add(n, D.mul(D.c(0.044715, n), D.mul(n, D.mul(n, n)))));
    return record('GeluBackward0', D.mul(half, D.add(D.c(1, n), D.tanh(inner))), [x]);
  }
  const u = D.mul(n, D.c(SQRT1_2, n));
  // far left, 1 + erf(u) cancels to nothing: take erfc(−u) from its continued fraction instead
  const left = D.lt(u, D.c(-TAIL, n));
  const uNear = D.where(left, D.c(0, n), u);
  const near = D.mul(half, D.add(D.c(1, n), erfNode(uNear)));
  const far = D.mul(half, erfcTail(clampNode(D.neg(u), TAIL, 30)));
  return record('GeluBackward0', D.where(left, far, near), [x]);
}

export function silu(x: Tensor): Tensor {
  checkFloat('silu', x);
  return record('SiluBackward0', D.mul(x.node, D.sigmoid(x.node)), [x]);
}

export function mish(x: Tensor): Tensor {
  checkFloat('mish', x);
  return record('MishBackward0', D.mul(x.node, D.tanh(softplusNode(x.node, 1))), [x]);
}

export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  checkFloat('softplus', x);
  const n = x.node;
  const above = D.lt(D.c(threshold, n), D.mul(n, D.c(beta, n)));
  // above the threshold PyTorch returns x itself (slope 1)
  return record('SoftplusBackward0', D.where(above, n, softplusNode(D.where(above, D.c(0, n), n), beta)), [x]);
}

export function logsigmoid(x: Tensor): Tensor {
  checkFloat('log_sigmoid_forward', x);
  const n = x.node;
  // −softplus(−x) = min(x, 0) − log1p(exp(−|x|))
  const min0 = D.where(D.lt(n, D.c(0, n)), n, D.c(0, n));
  return record('LogSigmoidBackward0', D.sub(min0, log1pNode(D.exp(D.neg(absNode(n))))), [x]);
}

export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  checkFloat('leaky_relu', x);
  const n = x.node;
  return record('LeakyReluBackward0', D.where(D.lt(D.c(0, n), n), n, D.mul(n, D.c(negativeSlope, n))), [x]);
}

export function elu(x: Tensor, alpha = 1): Tensor {
  checkFloat('elu', x);
  const n = x.node;
  const pos = D.lt(D.c(0, n), n);
  // the negative branch sees 0 where x > 0, so exp cannot overflow into its masked gradient
  const neg = D.where(pos, D.c(0, n), n);
  return record('EluBackward0', D.where(pos, n, D.mul(D.c(alpha, n), D.sub(D.exp(neg), D.c(1, n)))), [x]);
}

/** clamp with PyTorch's hardtanh gradient: 0 at and beyond the bounds, NaN passes. */
function hardtanhNode(n: Node, lo: number, hi: number): Node {
  const le = D.or(D.lt(n, D.c(lo, n)), D.eq(n, D.c(lo, n)));
  const ge = D.or(D.lt(D.c(hi, n), n), D.eq(n, D.c(hi, n)));
  return D.where(le, D.c(lo, n), D.where(ge, D.c(hi, n), n));
}

export function hardtanh(x: Tensor, minVal = -1, maxVal = 1): Tensor {
  if (x.dtype === 'bool') throw new TypeError(`"hardtanh" not implemented for 'Bool'`);
  return record('HardtanhBackward0', hardtanhNode(x.node, minVal, maxVal), [x]);
}

export const relu6 = (x: Tensor): Tensor => hardtanh(x, 0, 6);
