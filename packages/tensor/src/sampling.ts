/**
 * Sampling on the counter-based generator (state.ts): bernoulli and multinomial draw their
 * uniforms as RAND nodes, so they fuse and give the same numbers on every backend for one seed.
 */
import { arangeNode, castNode, expandNode, isFloat, padNode, randNode, reshapeNode, ShapeError, shrinkNode, type Node } from '@fusor/ir';
import * as D from './decompose.js';
import { DTYPE_TITLE } from './elementwise.js';
import { drawOffset, state } from './state.js';
import { parseArgs } from './args.js';
import { record, type Tensor } from './tensor.js';

const uniform = (shape: readonly number[], device: string): Node =>
  randNode(state.seed, drawOffset(shape.reduce((a, b) => a * b, 1)), shape, 'float32', device);

/** torch.bernoulli(p): 1 with probability p, else 0, in p's dtype. */
export function bernoulli(p: Tensor): Tensor {
  if (!isFloat(p.dtype)) throw new TypeError(`"bernoulli_tensor_cpu_p_" not implemented for '${DTYPE_TITLE[p.dtype]}'`);
  const u = castNode(uniform(p.shape, p.device), p.dtype);
  return record('', castNode(D.lt(u, p.node), p.dtype), [], false);
}

/** `n` indices per row of w[R, K] (non-negative weights), drawn by inverting the cumulative sum: [R, n]. */
function draw(w: Node, n: number): Node {
  const [r, k] = w.shape as [number, number];
  // cdf[r, k] = Σ_{j ≤ k} w[r, j], as a masked sum (K is a category count: K² is small)
  const j = expandNode(reshapeNode(arangeNode(0, 1, k, 'int32', w.device), [1, 1, k]), [r, k, k]);
  const kk = expandNode(reshapeNode(arangeNode(0, 1, k, 'int32', w.device), [1, k, 1]), [r, k, k]);
  const we = expandNode(reshapeNode(w, [r, 1, k]), [r, k, k]);
  const cdf = reshapeNode(D.sumAxes(D.where(D.lt(kk, j), D.c(0, we), we), [2]), [r, k]);
  const total = expandNode(shrinkNode(cdf, [[0, r], [k - 1, k]]), [r, n]);
  const u = expandNode(reshapeNode(D.mul(castNode(uniform([r, n], w.device), w.dtype), total), [r, n, 1]), [r, n, k]);
  // the index is the number of categories whose cdf is ≤ u (a zero-weight category is never it)
  const below = D.sumAxes(castNode(D.not(D.lt(u, expandNode(reshapeNode(cdf, [r, 1, k]), [r, n, k]))), 'int32'), [2]);
  const idx = reshapeNode(below, [r, n]);
  return D.where(D.lt(idx, D.c(k - 1, idx)), idx, D.c(k - 1, idx));
}

/** Options of `multinomial`: `replacement` may also be given by position. */
export interface MultinomialOptions {
  readonly replacement?: boolean;
}

export function multinomial(input: Tensor, numSamples: number, replacementOrOptions?: boolean | MultinomialOptions, opts?: MultinomialOptions): Tensor {
  const a = parseArgs('multinomial', [numSamples, replacementOrOptions, opts], [
    { name: 'numSamples', kind: 'int', optional: false },
    { name: 'replacement', kind: 'bool' },
  ]);
  const replacement = (a.replacement as boolean | undefined) ?? false;
  if (input.ndim !== 1 && input.ndim !== 2) throw new ShapeError('prob_dist must be 1 or 2 dim');
  if (!isFloat(input.dtype)) throw new TypeError(`multinomial only supports floating-point dtypes for input, got: ${DTYPE_TITLE[input.dtype]}`);
  if (!Number.isInteger(numSamples) || numSamples <= 0) throw new RangeError('cannot sample n_sample <= 0 samples');
  const k = input.shape[input.ndim - 1]!;
  if (!replacement && numSamples > k) throw new RangeError('cannot sample n_sample > prob_dist.size(-1) samples without replacement');
  const rows = input.ndim === 2 ? input.shape[0]! : 1;
  let w = reshapeNode(input.node, [rows, k]);
  if (replacement) return record('', castNode(input.ndim === 1 ? reshapeNode(draw(w, numSamples), [numSamples]) : draw(w, numSamples), 'int64'), [], false);
  const picks: Node[] = [];
  const cat = expandNode(reshapeNode(arangeNode(0, 1, k, 'int32', w.device), [1, k]), [rows, k]);
  for (let s = 0; s < numSamples; s++) {
    const idx = draw(w, 1);
    picks.push(idx);
    // the drawn category's weight drops to 0 for the next draw
    w = D.where(D.eq(cat, expandNode(idx, [rows, k])), D.c(0, w), w);
  }
  let out = picks.length === 1 ? picks[0]! : picks.slice(1).reduce((acc, p, i) => concatCols(acc, p, i + 1), picks[0]!);
  out = castNode(out, 'int64');
  return record('', input.ndim === 1 ? reshapeNode(out, [numSamples]) : out, [], false);
}

/** [r, n] ++ [r, 1] along columns, as pads and an add. */
const concatCols = (acc: Node, col: Node, n: number): Node => D.add(padNode(acc, [[0, 0], [0, 1]]), padNode(col, [[0, 0], [n, 0]]));
