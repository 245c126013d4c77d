/**
 * Activation functions as compositions of IR primitives; their gradients come from the IR's
 * rules. Each `where` below is written so that PyTorch's gradient at the boundary falls out
 * (leakyRelu at 0 takes the negative slope, hardtanh at its bounds gives 0…), and so that the
 * branch not taken never sees an argument that would make its (masked) gradient NaN.
 */
import { castNode, detachNode, isFloat, type Node } from '@fusor/ir';
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
  // depth for z ≥ 2: 16 levels leave a relative error of 1.4e-8 (float32), 32 levels 1e-12 (float64)
  let f = z;
  for (let k = z.dtype === 'float64' ? 32 : 16; k >= 1; k--) f = D.add(z, D.mul(D.c(k / 2, z), D.recip(f)));
  return D.mul(D.mul(D.exp(D.neg(D.mul(z, z))), D.c(1 / Math.sqrt(Math.PI), z)), D.recip(f));
}

const TAIL = 2;

/**
 * erf(x) as a value: 1 − erfc by its continued fraction for |x| ≥ 2; below, for float64 the
 * Maclaurin series (terms at most e⁴ ≈ 55 times the result, so ~1e-15 absolute), for narrower
 * floats Eigen's rational approximation (error < 5e-7).
 */
function erfValue(x: Node): Node {
  const ax = absNode(x);
  const near = D.lt(ax, D.c(TAIL, x));
  // each branch sees only arguments where it is accurate and finite
  const xs = D.where(near, x, D.c(0, x));
  let body: Node;
  if (x.dtype !== 'float64') {
    const x2 = D.mul(xs, xs);
    const p = poly(x2, [-2.72614225801306e-10, 2.77068142495902e-8, -2.10102402082508e-6, -5.69250639462346e-5, -7.34990630326855e-4, -2.95459980854025e-3, -1.60960333262415e-2]);
    const q = poly(x2, [-1.45660718464996e-5, -2.13374055278905e-4, -1.68282697438203e-3, -7.37332916720468e-3, -1.42647390514189e-2]);
    body = D.mul(D.mul(xs, p), D.recip(q));
  } else {
    const x2 = D.mul(xs, xs);
    let term = xs;
    let sum = xs;
    for (let n = 1; n < 40; n++) {
      term = D.mul(term, D.mul(x2, D.c(-1 / n, x)));
      sum = D.add(sum, D.mul(term, D.c(1 / (2 * n + 1), x)));
    }
    body = D.mul(sum, D.c(TWO_OVER_SQRT_PI, x));
  }
  const tail = D.sub(D.c(1, x), erfcTail(clampNode(ax, TAIL, 6)));
  return D.where(near, body, D.where(D.lt(x, D.c(0, x)), D.neg(tail), tail));
}

/** d erf / dx = 2/√π · e^{−x²} */
const erfSlope = (x: Node): Node => D.mul(D.c(TWO_OVER_SQRT_PI, x), D.exp(D.neg(D.mul(x, x))));

export function erfNode(x: Node): Node {
  // ±0 (keeping its sign) and NaN pass through, with the slope at 0
  const keep = D.or(D.eq(x, D.c(0, x)), D.isnan(x));
  return D.where(keep, D.mul(x, D.c(TWO_OVER_SQRT_PI, x)), D.withSlope(erfValue(D.where(keep, D.c(1, x), x)), x, erfSlope(x)));
}

/** softplus(x)·β = max(βx, 0) + log1p(exp(−|βx|)): never overflows. */
function softplusNode(x: Node, beta: number): Node {
  const bx = beta === 1 ? x : D.mul(x, D.c(beta, x));
  const relu = D.where(D.lt(bx, D.c(0, x)), D.c(0, x), bx);
  const sp = D.add(relu, D.log1p(D.exp(D.neg(absNode(bx)))));
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
  // float32 as PyTorch's vectorized kernel rounds it (x/2·erf + x/2: gelu(−0) is +0); float64 as its scalar one
  const e = erfNode(uNear);
  const near = n.dtype === 'float64' ? D.mul(half, D.add(D.c(1, n), e)) : D.add(D.mul(half, e), half);
  // erfc(−u) with the slope of 1 + erf(u)
  const z = clampNode(D.neg(u), TAIL, 30);
  let far = D.mul(half, D.withSlope(erfcTail(z), u, erfSlope(u)));
  // PyTorch's float32 kernel gives +0 where the tail underflows (its float64 one gives −0)
  if (n.dtype !== 'float64') far = D.add(far, D.c(0, n));
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
  return record('LogSigmoidBackward0', D.sub(min0, D.log1p(D.exp(D.neg(absNode(n))))), [x]);
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

/** clamp with PyTorch's hardtanh gradient: 0 at and beyond the bounds; NaN and −0 pass through. */
function hardtanhNode(n: Node, lo: number, hi: number): Node {
  const atBound = D.or(D.eq(n, D.c(lo, n)), D.eq(n, D.c(hi, n)));
  return D.where(D.lt(n, D.c(lo, n)), D.c(lo, n), D.where(D.lt(D.c(hi, n), n), D.c(hi, n), D.where(atBound, detachNode(n), n)));
}

export function hardtanh(x: Tensor, minVal = -1, maxVal = 1): Tensor {
  if (x.dtype === 'bool') throw new TypeError(`"hardtanh" not implemented for 'Bool'`);
  return record('HardtanhBackward0', hardtanhNode(x.node, minVal, maxVal), [x]);
}

export const relu6 = (x: Tensor): Tensor => hardtanh(x, 0, 6);
