/**
 * Contractions: a REDUCE add over the MUL of two views. That is how the frontend writes a matmul
 * (linalg.ts `contract()`: both operands broadcast to [..., n, m, k], multiplied, summed over k)
 * and how autograd writes its gradients (the same product, summed over n or m). Recognised here,
 * whatever the axis order, transposes and batch dims, so a backend may compute one with a GEMM
 * routine instead of generated code.
 */
import { ShapeTracker, type Node, type Shape, type View } from '@fusor/ir';
import type { GemmShape, MatrixLayout } from './backend.js';

/** A contraction the compiler can hand to a GEMM routine. */
export interface Contraction {
  readonly reduce: Node;
  /** The nodes whose buffers hold the two operands (computed first if they are not buffers yet). */
  readonly a: Node;
  readonly b: Node;
  readonly shape: GemmShape;
  /** With `shape.epilogue`: the nodes bound to the epilogue's extra operands, in order. */
  readonly epilogue?: readonly Node[];
}

/** The operands of a contraction: each a node read through one strided view over the product's index space. */
export interface ContractionOperands {
  readonly reduce: Node;
  readonly a: { readonly base: Node; readonly view: View };
  readonly b: { readonly base: Node; readonly view: View };
}

const MOVEMENT: ReadonlySet<string> = new Set(['RESHAPE', 'PERMUTE', 'EXPAND', 'PAD', 'SHRINK', 'FLIP']);
/** Movement ops a GEMM operand may pass through (a pad needs a mask, which a strided matrix cannot say). */
const VIEWS: ReadonlySet<string> = new Set(['RESHAPE', 'PERMUTE', 'EXPAND', 'SHRINK', 'FLIP']);

/**
 * The chain of movement ops from `n` down to the node it views (stopping at nodes `stop` says hold
 * a buffer), as a ShapeTracker over that node. Lowering uses the same walk to index its loads.
 */
export function viewChain(n: Node, stop: (n: Node) => boolean, ops: ReadonlySet<string> = MOVEMENT): { base: Node; st: ShapeTracker } {
  const chain: Node[] = [];
  let base = n;
  while (ops.has(base.op) && !stop(base)) {
    chain.push(base);
    base = base.src[0]!;
  }
  let st = ShapeTracker.contiguous(base.shape);
  for (let i = chain.length - 1; i >= 0; i--) {
    const m = chain[i]!;
    switch (m.op) {
      case 'RESHAPE':
        st = st.reshape(m.shape);
        break;
      case 'PERMUTE':
        st = st.permute(m.arg as readonly number[]);
        break;
      case 'EXPAND':
        st = st.expand(m.shape);
        break;
      case 'PAD':
        st = st.pad(m.arg as readonly (readonly [number, number])[]);
        break;
      case 'SHRINK':
        st = st.shrink(m.arg as readonly (readonly [number, number])[]);
        break;
      case 'FLIP':
        st = st.flip(m.arg as readonly number[]);
        break;
    }
  }
  return { base, st };
}

/** One strided view without padding, or undefined. */
function singleView(st: ShapeTracker): View | undefined {
  if (st.views.length !== 1) return undefined;
  const v = st.views[0]!;
  return v.mask === null ? v : undefined;
}

/** A REDUCE add over MUL(view of a, view of b), with both views plain strided windows. */
export function contractionOperands(r: Node, isRealized: (n: Node) => boolean): ContractionOperands | undefined {
  if (r.op !== 'REDUCE' || (r.arg as { reduce: string }).reduce !== 'add' || isRealized(r)) return undefined;
  const mul = r.src[0]!;
  if (mul.op !== 'MUL' || isRealized(mul) || r.size === 0 || mul.size === 0) return undefined;
  const side = (n: Node): { base: Node; view: View } | undefined => {
    const { base, st } = viewChain(n, isRealized, VIEWS);
    const view = singleView(st);
    if (!view || base.op === 'CONST') return undefined;
    return { base, view };
  };
  const a = side(mul.src[0]!);
  const b = side(mul.src[1]!);
  return a && b ? { reduce: r, a, b } : undefined;
}

/**
 * Where the product's result lands when the buffer being written is `root`, a chain of reshapes
 * and permutes over the reduction: the stride of each of the reduction's dims in that buffer.
 */
export function outputLayout(root: Node, r: Node, stop: (n: Node) => boolean): { strides: readonly number[]; offset: number } | undefined {
  const chain: Node[] = [];
  let n = root;
  while (n !== r) {
    if ((n.op !== 'RESHAPE' && n.op !== 'PERMUTE') || (n !== root && stop(n))) return undefined;
    chain.push(n);
    n = n.src[0]!;
  }
  // walk the chain backwards from the buffer's own (contiguous) layout: each op undone
  let st = ShapeTracker.contiguous(root.shape);
  for (const m of chain) {
    if (m.op === 'RESHAPE') st = st.reshape(m.src[0]!.shape);
    else {
      const order = m.arg as readonly number[];
      const inverse = new Array<number>(order.length);
      order.forEach((o, i) => (inverse[o] = i));
      st = st.permute(inverse);
    }
  }
  const v = singleView(st);
  return v && { strides: v.strides, offset: v.offset };
}

/** Dims of one role, merged where their strides let one index walk them all. */
function groups(dims: readonly number[], shape: Shape, strides: readonly (readonly number[])[]): { size: number; dims: number[] }[] {
  const out: { size: number; dims: number[] }[] = [];
  for (const d of dims) {
    const last = out[out.length - 1];
    const inner = last?.dims[last.dims.length - 1];
    // an outer dim d0 and an inner dim d1 merge when every operand steps d0 by size(d1) × its step of d1
    if (last && inner !== undefined && strides.every((s) => s[inner]! === s[d]! * shape[d]!)) {
      last.dims.push(d);
      last.size *= shape[d]!;
    } else {
      out.push({ size: shape[d]!, dims: [d] });
    }
  }
  return out;
}

/**
 * The GEMM a contraction is, given where its result lands (strides over the reduction's dims), or
 * undefined when it is not one: each dim of the product is summed (k: both operands move), kept by
 * one operand only (m: a's rows, n: b's columns) or by both (a batch dim, looped over). Dims of a
 * role that one stride can walk are merged; extra m or n groups become batch loops too.
 */
export function gemmShape(ops: ContractionOperands, c: { strides: readonly number[]; offset: number }): GemmShape | undefined {
  const r = ops.reduce;
  const S = r.src[0]!.shape;
  const axes = (r.arg as { axes: readonly number[] }).axes;
  const sa = ops.a.view.strides;
  const sb = ops.b.view.strides;
  const sc = S.map((_, d) => (axes.includes(d) ? 0 : c.strides[d]!));
  const role: Record<'k' | 'm' | 'n' | 'batch', number[]> = { k: [], m: [], n: [], batch: [] };
  for (let d = 0; d < S.length; d++) {
    if (S[d] === 1) continue;
    const inA = sa[d] !== 0;
    const inB = sb[d] !== 0;
    if (axes.includes(d)) {
      if (!inA || !inB) return undefined; // a sum over a broadcast operand is a scaling, not a product
      role.k.push(d);
    } else if (inA && inB) role.batch.push(d);
    else if (inA) role.m.push(d);
    else if (inB) role.n.push(d);
    else return undefined; // the result is broadcast: nothing to multiply along this dim
  }
  const k = groups(role.k, S, [sa, sb]);
  if (k.length !== 1) return undefined;
  const m = groups(role.m, S, [sa, sc]);
  const n = groups(role.n, S, [sb, sc]);
  const batchDims = [...role.batch, ...m.slice(0, -1).flatMap((g) => g.dims), ...n.slice(0, -1).flatMap((g) => g.dims)].sort((x, y) => x - y);
  const batch = groups(batchDims, S, [sa, sb, sc]).map((g) => {
    const d = g.dims[g.dims.length - 1]!;
    return { size: g.size, a: sa[d]!, b: sb[d]!, c: sc[d]! };
  });
  const mg = m[m.length - 1];
  const ng = n[n.length - 1];
  const kd = k[0]!.dims[k[0]!.dims.length - 1]!;
  const md = mg?.dims[mg.dims.length - 1];
  const nd = ng?.dims[ng.dims.length - 1];
  const step = (s: readonly number[], d: number | undefined): number => (d === undefined ? 0 : s[d]!);
  const layout = (offset: number, rowStride: number, colStride: number): MatrixLayout => ({ offset, rowStride, colStride });
  return {
    dtype: r.dtype,
    m: mg?.size ?? 1,
    n: ng?.size ?? 1,
    k: k[0]!.size,
    batch,
    a: layout(ops.a.view.offset, step(sa, md), sa[kd]!),
    b: layout(ops.b.view.offset, sb[kd]!, step(sb, nd)),
    c: layout(c.offset, step(sc, md), step(sc, nd)),
  };
}
