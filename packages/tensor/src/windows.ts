/**
 * Sliding windows as movement ops only (tinygrad's pool trick): the view every convolution,
 * pooling and unfold reads. No gather, no hand-written kernel: the compiler sees reshapes,
 * expands and shrinks, so a window view fuses into its consumer, and its gradient (col2im, the
 * sum of overlapping windows) is the movement ops' own gradient rules.
 */
import { expandNode, padNode, permuteNode, reshapeNode, shrinkNode, type Node, type Pair } from '@fusor/ir';

/** Windows along one axis: x[..., I, ...] → [..., o, k, ...] with y[.., i, j, ..] = x[.., i·s + j·d, ..]. */
export function windowAxis(x: Node, axis: number, k: number, s: number, d: number): Node {
  const size = x.shape[axis]!;
  const o = Math.floor((size - d * (k - 1) - 1) / s) + 1;
  const before = x.shape.slice(0, axis);
  const after = x.shape.slice(axis + 1);
  const at = (n: Node, ranges: Record<number, Pair>): Node => shrinkNode(n, n.shape.map((dim, i): Pair => ranges[i] ?? [0, dim]));
  if (o <= 0) return reshapeNode(at(x, { [axis]: [0, 0] }), [...before, 0, k, ...after]);
  // room for o·s columns; the extra zeros are never read by a window (i·s + j·d ≤ size − 1)
  const width = Math.max(size, o * s);
  let n = padNode(x, x.shape.map((_, i): Pair => (i === axis ? [0, width - size] : [0, 0])));
  // k rows of `width + d` read from the input repeated: row j starts j·d further along
  const reps = Math.ceil((k * (width + d)) / width);
  n = reshapeNode(n, [...before, 1, width, ...after]);
  n = expandNode(n, [...before, reps, width, ...after]);
  n = reshapeNode(n, [...before, reps * width, ...after]);
  n = at(n, { [axis]: [0, k * (width + d)] });
  n = reshapeNode(n, [...before, k, width + d, ...after]);
  // every s-th column of the first o·s
  n = at(n, { [axis + 1]: [0, o * s] });
  n = reshapeNode(n, [...before, k, o, s, ...after]);
  n = at(n, { [axis + 2]: [0, 1] });
  n = reshapeNode(n, [...before, k, o, ...after]);
  const order = n.shape.map((_, i) => (i === axis ? axis + 1 : i === axis + 1 ? axis : i));
  return permuteNode(n, order);
}

/**
 * Windows over the trailing `k.length` axes of x[B..., S...]: → [B..., o..., k...] (window
 * positions, then offsets within a window).
 */
export function windows(x: Node, k: readonly number[], s: readonly number[], d: readonly number[]): Node {
  const nd = k.length;
  const lead = x.ndim - nd;
  let n = x;
  // last axis first, so the earlier axes keep their positions
  for (let i = nd - 1; i >= 0; i--) n = windowAxis(n, lead + i, k[i]!, s[i]!, d[i]!);
  // now [B..., o0, k0, o1, k1, ...]
  const order = [...Array.from({ length: lead }, (_, i) => i), ...k.map((_, i) => lead + 2 * i), ...k.map((_, i) => lead + 2 * i + 1)];
  return permuteNode(n, order);
}

/** The output length of a window along one axis (PyTorch's formula; ceil mode for pooling). */
export function outSize(size: number, k: number, s: number, p: number, d: number, ceil = false): number {
  const span = size + 2 * p - d * (k - 1) - 1;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // in ceil mode, the last window must start inside the input or its left padding
  if (ceil && (o - 1) * s >= size + p) o--;
  return o;
}
