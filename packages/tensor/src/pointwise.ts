/**
 * The pointwise op table: every export is both the function `torch.<name>(input, …)` and the
 * method `input.<name>(…)` (tensor.ts types the methods from this module, index.ts installs them),
 * so an elementwise op is one entry here. Ops with options or several forms live in elementwise.ts.
 */
import { binaryNode, castNode, isFloat, unaryNode, type Node } from '@fusor/ir';
import * as D from './decompose.js';
import { binary, DTYPE_TITLE, prepare, unaryFloat } from './elementwise.js';
import { record, type Tensor, type TensorLike } from './tensor.js';

export const remainder = (a: TensorLike, other: TensorLike): Tensor => binary('RemainderBackward0', a, other, D.remainder);
export const fmod = (a: TensorLike, other: TensorLike): Tensor => binary('FmodBackward0', a, other, (x, y) => binaryNode('MOD', x, y));

export function neg(x: Tensor): Tensor {
  if (x.dtype === 'bool') {
    throw new TypeError('Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.');
  }
  return record('NegBackward0', D.neg(x.node), [x], false);
}
export const abs = (x: Tensor): Tensor => record('AbsBackward0', x.dtype === 'bool' ? x.node : D.max(x.node, D.neg(x.node)), [x]);
export function sign(x: Tensor): Tensor {
  const n = x.node;
  if (n.dtype === 'bool') return record('SignBackward0', n, [x]);
  const one = D.c(1, n);
  const zero = D.c(0, n);
  // (0 < x) − (x < 0), as PyTorch computes it: sign(NaN) is 0
  const s = D.sub(D.where(D.lt(zero, n), one, zero), D.where(D.lt(n, zero), one, zero));
  return record('SignBackward0', s, [x], false);
}
export const exp = (x: Tensor): Tensor => unaryFloat('ExpBackward0', x, D.exp);
export const exp2 = (x: Tensor): Tensor => unaryFloat('Exp2Backward0', x, (n) => unaryNode('EXP2', n));
export const expm1 = (x: Tensor): Tensor => unaryFloat('Expm1Backward0', x, (n) => unaryNode('EXPM1', n));
export const log = (x: Tensor): Tensor => unaryFloat('LogBackward0', x, D.log);
export const log1p = (x: Tensor): Tensor => unaryFloat('Log1PBackward0', x, (n) => D.withGradient(D.log1p(n), n, D.recip(D.add(D.c(1, n), n))));
export const log2 = (x: Tensor): Tensor => unaryFloat('Log2Backward0', x, (n) => D.mul(D.log(n), D.c(Math.LOG2E, n)));
export const sqrt = (x: Tensor): Tensor => unaryFloat('SqrtBackward0', x, D.sqrt);
export const rsqrt = (x: Tensor): Tensor => unaryFloat('RsqrtBackward0', x, (n) => D.recip(D.sqrt(n)));
export const reciprocal = (x: Tensor): Tensor => unaryFloat('ReciprocalBackward0', x, D.recip);
export const sin = (x: Tensor): Tensor => unaryFloat('SinBackward0', x, D.sin);
export const cos = (x: Tensor): Tensor => unaryFloat('CosBackward0', x, D.cos);
export const tanh = (x: Tensor): Tensor => unaryFloat('TanhBackward0', x, D.tanh);
export const sigmoid = (x: Tensor): Tensor => unaryFloat('SigmoidBackward0', x, D.sigmoid);
export const relu = (x: Tensor): Tensor => {
  if (x.dtype === 'bool') throw new TypeError('"clamp_min_cpu" not implemented for \'Bool\'');
  return record('ReluBackward0', D.relu(x.node), [x]);
};
export const floor = (x: Tensor): Tensor => record('FloorBackward0', D.floor(x.node), [x], false);
export const ceil = (x: Tensor): Tensor => record('CeilBackward0', D.ceil(x.node), [x], false);
export const trunc = (x: Tensor): Tensor => record('TruncBackward0', D.trunc(x.node), [x], false);
export const round = (x: Tensor): Tensor => record('RoundBackward0', D.round(x.node), [x], false);

export const maximum = (a: Tensor, other: Tensor): Tensor => binary('MaximumBackward0', a, other, D.max);
export const minimum = (a: Tensor, other: Tensor): Tensor =>
  binary('MinimumBackward0', a, other, (x, y) => (x.dtype === 'bool' ? D.and(x, y) : D.neg(D.max(D.neg(x), D.neg(y)))));

const compare = (name: string, f: (x: Node, y: Node) => Node) => (a: TensorLike, other: TensorLike): Tensor => {
  const p = prepare([a, other]);
  return record(name, f(p.nodes[0]!, p.nodes[1]!), [], false);
};
export const lt = compare('LtBackward0', D.lt);
export const gt = compare('GtBackward0', (x, y) => D.lt(y, x));
export const le = compare('LeBackward0', (x, y) => D.or(D.lt(x, y), D.eq(x, y)));
export const ge = compare('GeBackward0', (x, y) => D.or(D.lt(y, x), D.eq(x, y)));
export const eq = compare('EqBackward0', D.eq);
export const ne = compare('NeBackward0', D.ne);

export const isnan = (x: Tensor): Tensor => record('', D.isnan(x.node), [], false);
export const isinf = (x: Tensor): Tensor =>
  record('', isFloat(x.dtype) ? D.eq(D.max(x.node, D.neg(x.node)), D.c(Infinity, x.node)) : D.c(0, x.node, 'bool'), [], false);
export const isfinite = (x: Tensor): Tensor =>
  record('', isFloat(x.dtype) ? D.eq(D.sub(x.node, x.node), D.c(0, x.node)) : D.c(1, x.node, 'bool'), [], false);

const logical = (f: (x: Node, y: Node) => Node) => (a: TensorLike, other: TensorLike): Tensor => {
  const p = prepare([a, other], 'bool');
  return record('', f(p.nodes[0]!, p.nodes[1]!), [], false);
};
export const logicalAnd = logical(D.and);
export const logicalOr = logical(D.or);
export const logicalXor = logical((x, y) => binaryNode('XOR', x, y));
export const logicalNot = (x: Tensor): Tensor => record('', D.not(castNode(x.node, 'bool')), [], false);

const bitwise = (name: string, op: 'AND' | 'OR' | 'XOR') => (a: TensorLike, other: TensorLike): Tensor => {
  const p = prepare([a, other]);
  if (isFloat(p.dtype)) throw new TypeError(`"bitwise_${name}_cpu" not implemented for '${DTYPE_TITLE[p.dtype]}'`);
  return record('', binaryNode(op, p.nodes[0]!, p.nodes[1]!), [], false);
};
export const bitwiseAnd = bitwise('and', 'AND');
export const bitwiseOr = bitwise('or', 'OR');
export const bitwiseXor = bitwise('xor', 'XOR');
export function bitwiseNot(x: Tensor): Tensor {
  if (isFloat(x.dtype)) throw new TypeError(`"bitwise_not_cpu" not implemented for '${DTYPE_TITLE[x.dtype]}'`);
  return record('', binaryNode('XOR', x.node, D.c(x.dtype === 'bool' ? 1 : -1, x.node)), [], false);
}

