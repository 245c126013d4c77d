/**
 * Sliding windows as movement ops only (tinygrad's pool trick): the view every convolution,
 * pooling and unfold reads. No gather, no hand-written kernel: the compiler sees reshapes,
 * expands and shrinks, so a window view fuses into its consumer, and its gradient (col2im, the
 * sum of overlapping windows) is the movement ops' own gradient rules.
 */
import { binaryNode, constNode, contiguousNode, expandNode, padNode, permuteNode, reshapeNode, shrinkNode, whereNode, type Node, type Pair } from '@fusor/ir';

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
 * positions, then offsets within a window), by the repeat trick of windowAxis.
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

/** Pads (negative amounts crop) the trailing axes by lo/hi, with `fill` outside (0 by a plain pad). */
export function padTrailing(x: Node, lo: readonly number[], hi: readonly number[], fill = 0): Node {
  const lead = x.ndim - lo.length;
  const pairs = x.shape.map((_, i): Pair => (i < lead ? [0, 0] : [Math.max(lo[i - lead]!, 0), Math.max(hi[i - lead]!, 0)]));
  let n = padNode(x, pairs);
  if (fill !== 0) n = whereNode(padNode(constNode(1, 'bool', x.shape, x.device), pairs), n, constNode(fill, x.dtype, n.shape, x.device));
  return shrinkNode(n, n.shape.map((size, i): Pair => (i < lead ? [0, size] : [Math.max(-lo[i - lead]!, 0), size - Math.max(-hi[i - lead]!, 0)])));
}

/**
 * The sliding windows of x[B..., S...] padded by lo/hi (with `fill`): → [B..., k..., o...], the
 * offsets within a window first, as im2col wants them. With stride 1 (convolutions' common case)
 * each kernel offset is a shrink of the padded input placed by a pad, and the input is reshaped
 * to its final rank before anything is padded: every load then stays one strided view with a
 * mask, which lowers to a few multiply-adds (a reshape after a pad would not).
 */
export function slidingWindows(
  x: Node,
  k: readonly number[],
  s: readonly number[],
  d: readonly number[],
  lo: readonly number[],
  hi: readonly number[],
  fill = 0,
): Node {
  const nd = k.length;
  const lead = x.ndim - nd;
  const b = x.shape.slice(0, lead);
  if (k.reduce((a, v) => a * v, 1) > 64) {
    const w = windows(padTrailing(x, lo, hi, fill), k, s, d); // [B..., o..., k...]
    return permuteNode(w, [...b.map((_, i) => i), ...k.map((_, i) => lead + nd + i), ...k.map((_, i) => lead + i)]);
  }
  const spatial = x.shape.slice(lead);
  const padded = spatial.map((size, i) => size + lo[i]! + hi[i]!);
  const o = padded.map((size, i) => Math.floor((size - d[i]! * (k[i]! - 1) - 1) / s[i]!) + 1);
  const strided = s.some((v) => v !== 1);
  let xr: Node;
  if (!strided) xr = padTrailing(reshapeNode(x, [...b, ...k.map(() => 1), ...spatial]), lo, hi, fill);
  else {
    // a strided slice splits its axis by a reshape, which a padded (masked) view cannot take: the
    // padded input becomes a buffer first, with room for every slice to take o·s elements
    const room = padded.map((size, i) => Math.max(0, d[i]! * (k[i]! - 1) + o[i]! * s[i]! - size));
    const xp = contiguousNode(padTrailing(x, lo, hi.map((v, i) => v + room[i]!), fill));
    xr = reshapeNode(xp, [...b, ...k.map(() => 1), ...xp.shape.slice(lead)]);
  }
  let acc: Node | undefined;
  const offsets: number[][] = [[]];
  for (const kk of k) offsets.splice(0, offsets.length, ...offsets.flatMap((p) => Array.from({ length: kk }, (_, j) => [...p, j])));
  const at = (i: number): number => i - lead - nd;
  for (const off of offsets) {
    let slice = shrinkNode(xr, xr.shape.map((size, i): Pair => (i < lead + nd ? [0, size] : [off[at(i)]! * d[at(i)]!, off[at(i)]! * d[at(i)]! + o[at(i)]! * s[at(i)]!])));
    if (strided) {
      // every s-th element: split each axis into (o, s) and keep column 0
      const head = [...b, ...k.map(() => 1)];
      slice = reshapeNode(slice, [...head, ...o.flatMap((v, i) => [v, s[i]!])]);
      slice = shrinkNode(slice, slice.shape.map((size, i): Pair => (i >= lead + nd && (i - lead - nd) % 2 === 1 ? [0, 1] : [0, size])));
      slice = reshapeNode(slice, [...head, ...o]);
    }
    const placed = padNode(slice, slice.shape.map((_, i): Pair => (i >= lead && i < lead + nd ? [off[i - lead]!, k[i - lead]! - 1 - off[i - lead]!] : [0, 0])));
    acc = acc ? binaryNode(x.dtype === 'bool' ? 'OR' : 'ADD', acc, placed) : placed;
  }
  return acc!;
}

/** The output length of a window along one axis (PyTorch's formula; ceil mode for pooling). */
export function outSize(size: number, k: number, s: number, p: number, d: number, ceil = false): number {
  const span = size + 2 * p - d * (k - 1) - 1;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // in ceil mode, the last window must start inside the input or its left padding
  if (ceil && (o - 1) * s >= size + p) o--;
  return o;
}
