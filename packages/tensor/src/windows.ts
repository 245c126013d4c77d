/**
 * Sliding windows: the view every convolution, pooling and unfold reads. The windows over a
 * tensor's trailing axes are one GATHER at positions from a constant table (slidingWindows), so
 * each window element costs one load and the col2im of the backward pass is one scatter-add;
 * windowAxis, movement ops only (tinygrad's repeat trick), serves Tensor.unfold and pooling's
 * divisors along a single axis.
 */
import { binaryNode, bufferNode, constNode, dataNode, expandNode, gatherNode, scatterNode, padNode, permuteNode, reshapeNode, shrinkNode, whereNode, type Node, type Pair } from '@fusor/ir';
import { setHostCopy } from '@fusor/runtime';

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

/** Index tables by geometry and device: the same tables serve every step of a training loop. */
const TABLES = new Map<string, WindowTables>();
const MAX_TABLES = 128;

interface WindowTables {
  /** [K·L]: the flat input position window element (k, o) reads, −1 in the padding. */
  readonly read: Node;
  /** [K·P]: for kernel offset k and input position p, the element k·L + o of the window o that reads p at offset k, or −1. */
  readonly readBy: Node;
}

/**
 * The flat input position (row-major over S) each window element reads, in [k..., o...] order, or
 * −1 where it falls in the padding (or, with `spread` > 1, between the spread-out samples of a
 * transposed convolution), and the inverse map. Computed on the host once per geometry:
 * constants, uploaded on use.
 */
function windowTables(
  spatial: readonly number[],
  k: readonly number[],
  s: readonly number[],
  d: readonly number[],
  lo: readonly number[],
  o: readonly number[],
  spread: readonly number[],
  device: string,
): WindowTables {
  const key = `${device}|${spatial}|${k}|${s}|${d}|${lo}|${o}|${spread}`;
  const hit = TABLES.get(key);
  if (hit) {
    // most recently used last
    TABLES.delete(key);
    TABLES.set(key, hit);
    return hit;
  }
  const nd = k.length;
  const kk = k.reduce((a, v) => a * v, 1);
  const ll = o.reduce((a, v) => a * v, 1);
  const pp = spatial.reduce((a, v) => a * v, 1);
  const read = new Int32Array(kk * ll);
  const readBy = new Int32Array(kk * pp).fill(-1);
  const pitch = spatial.map((_, i) => spatial.slice(i + 1).reduce((a, v) => a * v, 1));
  const dims = [...k, ...o];
  const at = new Array<number>(2 * nd).fill(0);
  for (let e = 0; e < kk * ll; e++) {
    let flat = 0;
    for (let i = 0; i < nd; i++) {
      // the position in the spread-out, padded input, then in the input itself
      const pos = at[nd + i]! * s[i]! + at[i]! * d[i]! - lo[i]!;
      const q = pos / spread[i]!;
      if (pos < 0 || !Number.isInteger(q) || q >= spatial[i]!) {
        flat = -1;
        break;
      }
      flat += q * pitch[i]!;
    }
    read[e] = flat;
    // for a fixed offset, distinct windows read distinct positions: the inverse is a function
    // (to the window element's flat position e = offset·L + window, so col2im adds no offset)
    if (flat >= 0) readBy[Math.floor(e / ll) * pp + flat] = e;
    for (let j = 2 * nd - 1; j >= 0; j--) {
      if (++at[j]! < dims[j]!) break;
      at[j] = 0;
    }
  }
  const constant = (data: Int32Array): Node => {
    const n = bufferNode('int32', [data.length], device);
    setHostCopy(n, data);
    return n;
  };
  const tables = { read: constant(read), readBy: constant(readBy) };
  if (TABLES.size >= MAX_TABLES) TABLES.delete(TABLES.keys().next().value!);
  TABLES.set(key, tables);
  return tables;
}

/** The number of windows along each axis of a (spread-out) input padded by lo/hi. */
function outputCounts(spatial: readonly number[], k: readonly number[], s: readonly number[], d: readonly number[], lo: readonly number[], hi: readonly number[], spread?: readonly number[]): number[] {
  return spatial.map((size, i) => {
    const len = size === 0 ? 0 : (size - 1) * (spread?.[i] ?? 1) + 1;
    return Math.max(0, Math.floor((len + lo[i]! + hi[i]! - d[i]! * (k[i]! - 1) - 1) / s[i]!) + 1);
  });
}

/**
 * Whether the windows tile the input: stride = kernel size, no dilation, padding or spread, and
 * the windows inside it (a far-side remainder no window reads is cropped).
 */
export function windowsTile(
  spatial: readonly number[],
  k: readonly number[],
  s: readonly number[],
  d: readonly number[],
  lo: readonly number[],
  o: readonly number[],
  spread: readonly number[] = k.map(() => 1),
): boolean {
  return k.every((kk, i) => s[i] === kk && (d[i] === 1 || kk === 1) && lo[i] === 0 && spread[i] === 1 && o[i]! * kk <= spatial[i]!);
}

/**
 * Tiling windows as movement ops: x[B..., o·k...] → [B..., o, k, ...] → [B..., k..., o...]. No
 * table: the kernels that read them index the input directly, and their gradient is the inverse
 * permutation (pooling's usual case, MaxPool2d(2) on an even size).
 */
function tiles(x: Node, k: readonly number[], o: readonly number[]): Node {
  const lead = x.ndim - k.length;
  const b = x.shape.slice(0, lead);
  const cropped = shrinkNode(x, x.shape.map((dim, i): Pair => (i < lead ? [0, dim] : [0, o[i - lead]! * k[i - lead]!])));
  const split = reshapeNode(cropped, [...b, ...o.flatMap((v, i) => [v, k[i]!])]);
  const order = [...b.map((_, i) => i), ...k.map((_, i) => lead + 2 * i + 1), ...o.map((_, i) => lead + 2 * i)];
  return permuteNode(split, order);
}

/**
 * The sliding windows of x[B..., S...] padded by lo/hi (with `fill`): → [B..., k..., o...], the
 * offsets within a window first, as im2col wants them. Every element is one load: a GATHER along
 * the flattened spatial axis at positions from a constant table, whatever the stride, dilation or
 * padding. `spread` (a transposed convolution's stride) reads the input as if s − 1 zeros sat
 * between its samples.
 *
 * Its gradient (col2im, each input position summing the window elements that read it) is what a
 * gather's own rule would make a serial scatter-add; instead the windows take their gradient from
 * the same windows written as a scatter of the input (a DATA node: the gather's value, the
 * scatter's history, never computed), whose gradient is a gather: each input position sums its
 * K window elements, found by the inverse table, in parallel on every backend.
 */
export function slidingWindows(
  x: Node,
  k: readonly number[],
  s: readonly number[],
  d: readonly number[],
  lo: readonly number[],
  hi: readonly number[],
  fill = 0,
  spread: readonly number[] = k.map(() => 1),
): Node {
  const nd = k.length;
  const lead = x.ndim - nd;
  const b = x.shape.slice(0, lead);
  const spatial = x.shape.slice(lead);
  const o = outputCounts(spatial, k, s, d, lo, hi, spread);
  const shape = [...b, ...k, ...o];
  const kk = k.reduce((a, v) => a * v, 1);
  const ll = o.reduce((a, v) => a * v, 1);
  const pp = spatial.reduce((a, v) => a * v, 1);
  if (kk * ll === 0 || pp === 0 || b.includes(0)) return constNode(fill, x.dtype, shape, x.device);
  if (windowsTile(spatial, k, s, d, lo, o, spread)) return tiles(x, k, o);
  const { read, readBy } = windowTables(spatial, k, s, d, lo, o, spread, x.device);
  // the leading axes as one: the kernels' index math then splits the position once, not per axis
  const bb = b.reduce((a, v) => a * v, 1);
  const flat = reshapeNode(x, [bb, pp]);
  const index = expandNode(reshapeNode(read, [1, kk * ll]), [bb, kk * ll]);
  const value = reshapeNode(gatherNode(flat, index, 1), [bb, kk, ll]);
  const inverse = expandNode(reshapeNode(readBy, [1, kk * pp]), [bb, kk * pp]);
  const spreadOut = reshapeNode(expandNode(reshapeNode(flat, [bb, 1, pp]), [bb, kk, pp]), [bb, kk * pp]);
  const history = reshapeNode(scatterNode(constNode(0, x.dtype, [bb, kk * ll], x.device), inverse, spreadOut, 1, 'add'), [bb, kk, ll]);
  let win = dataNode(value, history);
  // the gather reads 0 at index −1: another fill is put there
  if (fill !== 0) {
    const outside = binaryNode('CMPLT', reshapeNode(index, win.shape), constNode(0, 'int32', win.shape, x.device));
    win = whereNode(outside, constNode(fill, x.dtype, win.shape, x.device), win);
  }
  return reshapeNode(win, shape);
}

/** The flat input position each element of slidingWindows(x, …) reads (−1 in the padding), as [k..., o...]. */
export function windowPositions(
  spatial: readonly number[],
  k: readonly number[],
  s: readonly number[],
  d: readonly number[],
  lo: readonly number[],
  hi: readonly number[],
  device: string,
): Node {
  const o = outputCounts(spatial, k, s, d, lo, hi);
  return reshapeNode(windowTables(spatial, k, s, d, lo, o, k.map(() => 1), device).read, [...k, ...o]);
}

/** The output length of a window along one axis (PyTorch's formula; ceil mode for pooling). */
export function outSize(size: number, k: number, s: number, p: number, d: number, ceil = false): number {
  const span = size + 2 * p - d * (k - 1) - 1;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // in ceil mode, the last window must start inside the input or its left padding
  if (ceil && (o - 1) * s >= size + p) o--;
  return o;
}
