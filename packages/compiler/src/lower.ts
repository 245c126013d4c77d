/**
 * Lowering: one schedule item → kernel IR. Walks the fused region from the root, carrying the
 * index at which each node is needed; movement ops only rewrite that index (views are free),
 * reductions become loops with accumulators, and everything read from memory becomes a load.
 */
import {
  contiguousNode,
  contiguousStrides,
  isFloat,
  ShapeTracker,
  type DType,
  type Node,
  type Shape,
  type ReduceKind,
} from '@fusor/ir';
import {
  alu,
  cast,
  gid,
  isConst,
  konst,
  kvar,
  load,
  local,
  printKernel,
  rand,
  ridx,
  INDEX,
  type Expr,
  type Kernel,
  type KernelBuffer,
  type KernelVar,
  type Stmt,
  isAluOp,
} from './kernel-ir.js';
import { viewChain } from './contraction.js';
import { iadd, idiv, imod, imul, inBounds } from './simplify-index.js';
import type { ScheduleItem } from './schedule.js';

/** An index into a node's shape, as a linear offset and/or per-dim expressions, with validity. */
class Index {
  private lin: Expr | undefined;
  private ds: Expr[] | undefined;
  /** Fixed at construction: deriving the other form later must not change it. */
  readonly key: string;
  constructor(
    readonly shape: Shape,
    linear: Expr | undefined,
    dims: Expr[] | undefined,
    readonly valid: Expr,
  ) {
    this.lin = linear;
    this.ds = dims;
    this.key = `${linear ? linear.key : dims!.map((d) => d.key).join(';')}|${valid.key}`;
  }

  linear(): Expr {
    if (!this.lin) {
      const st = contiguousStrides(this.shape);
      this.lin = this.dims().reduce((acc, d, i) => iadd(acc, imul(d, konst(st[i]!, INDEX))), konst(0, INDEX));
    }
    return this.lin;
  }

  dims(): Expr[] {
    if (!this.ds) this.ds = unflatten(this.lin!, this.shape);
    return this.ds;
  }
}

function unflatten(lin: Expr, shape: Shape): Expr[] {
  const st = contiguousStrides(shape);
  return shape.map((d, i) => (d === 1 ? konst(0, INDEX) : imod(idiv(lin, st[i]!), d)));
}

const TRUE = konst(1, 'bool');

/** 0 <= k < n, for an index loaded from memory. */
const inRange = (k: Expr, n: number): Expr => inBounds(k, 0, n);

/** The value a reduction starts from, representable in its dtype. */
export function reduceIdentity(op: ReduceKind, dtype: DType): number {
  if (op === 'add') return 0;
  if (op === 'mul') return 1;
  if (isFloat(dtype)) return -Infinity;
  const lowest: Partial<Record<DType, number>> = { int32: -2147483648, int64: -(2 ** 63), int16: -32768, int8: -128 };
  return lowest[dtype] ?? 0;
}

export interface LoweredKernel {
  readonly kernel: Kernel;
  /** Nodes bound to buffer parameters 1..n (parameter 0 is the output). */
  readonly inputs: readonly Node[];
  /** Values of the kernel's scalar parameters for this launch. */
  readonly varValues: readonly number[];
  /** The RAND node whose (seed, offset) is each pair of `varValues`, in order (the runtime's replays draw anew). */
  readonly rands: readonly Node[];
  /**
   * A kernel to launch first into the same output buffer (a SCATTER's copy of its base, one
   * thread per element), so the kernel itself only walks the index.
   */
  readonly prefill?: LoweredKernel;
}

/**
 * The value a row kernel can keep in its output between passes: the source of one of its row
 * reductions over `axes` that the stores also read, of the output's shape and dtype, and worth
 * not computing twice (not a plain input).
 */
function spillable(out: Node, axes: readonly number[], isInput: ReadonlySet<Node>): { node: Node; reduce: Node; reading: boolean } | undefined {
  const key = axes.join(',');
  // what the stores read directly (outside reductions), and the reductions fused in this kernel
  const direct = new Set<Node>();
  const reductions: Node[] = [];
  const stack = [out];
  while (stack.length) {
    const n = stack.pop()!;
    if (direct.has(n) || (n !== out && isInput.has(n))) continue;
    direct.add(n);
    if (n.op === 'REDUCE') reductions.push(n);
    else stack.push(...n.src);
  }
  for (const r of reductions) {
    const s = r.src[0]!;
    if ((r.arg as { axes: readonly number[] }).axes.join(',') !== key || isInput.has(s) || !isAluOp(s.op)) continue;
    if (direct.has(s) && s !== out && s.dtype === out.dtype && s.shape.join(',') === out.shape.join(',')) return { node: s, reduce: r, reading: false };
  }
  return undefined;
}

/**
 * The longest index expression (as text) lowering keeps inline. Ordinary views (windows, pads,
 * transposes) stay well under it (under a thousand characters across the conformance suite), so
 * their index math simplifies as a whole.
 */
const MAX_INDEX_TEXT = 4096;

export function lower(item: ScheduleItem): LoweredKernel {
  const root = item.root;
  const outNode = item.kind === 'assign' ? root.src[1]! : root;
  const isInput = new Set(item.inputs);
  const buffers: KernelBuffer[] = [{ dtype: root.dtype, size: root.size, output: true }];
  const inputs: Node[] = [];
  const bufIndex = new Map<Node, number>();
  const vars: KernelVar[] = [];
  const varValues: number[] = [];
  const randVars = new Map<Node, [Expr, Expr]>();
  const trackers = new Map<Node, { base: Node; st: ShapeTracker }>();
  let nLocals = 0;
  let nRidx = 0;
  /**
   * A row kernel's value that a row reduction sums and the stores read again (softmax's
   * exp(x − max)): the reduction's loop also stores it into the output, and the store loop
   * reads it back from there (the row is in cache) instead of computing it twice.
   */
  let spill: { readonly node: Node; readonly reduce: Node; reading: boolean } | undefined;

  // statement blocks and CSE scopes are pushed together when entering a loop
  const blocks: Stmt[][] = [[]];
  const scopes: Map<string, Expr>[] = [new Map()];
  const emit = (s: Stmt): void => {
    blocks[blocks.length - 1]!.push(s);
  };
  const lookup = (key: string): Expr | undefined => {
    for (let i = scopes.length - 1; i >= 0; i--) {
      const e = scopes[i]!.get(key);
      if (e) return e;
    }
    return undefined;
  };
  /**
   * The block (depth in `blocks`) an expression can be computed in: the innermost one defining
   * a loop index or local it reads. Code is placed there, so what a loop does not change is
   * computed before it (a row's maximum before the loop that subtracts it).
   */
  const definedAt = new Map<string, number>();
  const depthMemo = new WeakMap<Expr, number>();
  const depthOf = (e: Expr): number => {
    // a load of the output may follow a store of this thread's: it stays where it is written
    if (e.k === 'load' && e.buf === 0) return blocks.length - 1;
    const hit = depthMemo.get(e);
    if (hit !== undefined) return hit;
    let d: number;
    switch (e.k) {
      case 'const':
      case 'gid':
      case 'var':
        d = 0;
        break;
      case 'ridx':
      case 'local':
        d = definedAt.get(e.key) ?? blocks.length - 1;
        break;
      case 'load':
        d = Math.max(depthOf(e.idx), e.valid ? depthOf(e.valid) : 0);
        break;
      case 'alu':
        d = e.src.reduce((m, x) => Math.max(m, depthOf(x)), 0);
        break;
      case 'cast':
        d = depthOf(e.src);
        break;
      case 'rand':
        d = Math.max(depthOf(e.seed), depthOf(e.counter));
        break;
    }
    depthMemo.set(e, d);
    return d;
  };

  /** Binds a non-trivial expression to a local so later uses share it, in the outermost block it can live in. */
  const bind = (key: string, e: Expr): Expr => {
    let out = e;
    const d = depthOf(e);
    if (e.k === 'alu' || e.k === 'load' || e.k === 'cast' || e.k === 'rand') {
      const name = `x${nLocals++}`;
      blocks[d]!.push({ k: 'let', name, expr: e });
      definedAt.set(name, d);
      out = local(name, e.dtype, e.min, e.max);
    }
    scopes[d]!.set(key, out);
    return out;
  };

  /** Runs `f` with the blocks and scopes inside depth `d` set aside: what it emits lands in block `d`. */
  const at = <T>(d: number, f: () => T): T => {
    if (d >= blocks.length - 1) return f();
    const [b, sc] = [blocks.splice(d + 1), scopes.splice(d + 1)];
    try {
      return f();
    } finally {
      blocks.push(...b);
      scopes.push(...sc);
    }
  };

  const bufferOf = (n: Node): number => {
    let i = bufIndex.get(n);
    if (i === undefined) {
      i = buffers.length;
      buffers.push({ dtype: n.dtype, size: n.size, output: false });
      inputs.push(n);
      bufIndex.set(n, i);
    }
    return i;
  };

  const trackerOf = (n: Node): { base: Node; st: ShapeTracker } => {
    let t = trackers.get(n);
    if (!t) trackers.set(n, (t = viewChain(n, (m) => isInput.has(m))));
    return t;
  };

  /**
   * `d` where the index math may take lo ≤ d < hi as known: a masked dim's value matters only
   * where the mask holds (the load is guarded by it), so the index under it is simplified with
   * the narrowed range (a padded window's negative offset then cancels exactly).
   */
  const assume = (d: Expr, lo: number, hi: number): Expr => {
    if (d.k === 'const' || lo >= hi || (d.min >= lo && d.max < hi)) return d;
    const key = `${d.key}∈[${lo},${hi})`;
    const hit = lookup(key);
    if (hit) return hit;
    const [min, max] = [Math.max(d.min, lo), Math.min(d.max, hi - 1)];
    // a one-wide mask pins the dim (an index into a size-1 padded dim, a strided gap)
    if (min === max) return konst(min, d.dtype);
    const name = `x${nLocals++}`;
    const depth = depthOf(d);
    blocks[depth]!.push({ k: 'let', name, expr: d });
    definedAt.set(name, depth);
    const out = local(name, d.dtype, min, max);
    scopes[depth]!.set(key, out);
    return out;
  };

  /** Index into `base` for an index into a view of it. */
  const applyTracker = (st: ShapeTracker, idx: Index, baseShape: Shape): Index => {
    if (st.contiguous) return new Index(baseShape, idx.linear(), undefined, idx.valid);
    let dims = idx.dims();
    let valid = idx.valid;
    let lin: Expr = konst(0, INDEX);
    for (let v = st.views.length - 1; v >= 0; v--) {
      const view = st.views[v]!;
      if (view.mask) {
        dims = dims.map((d, i) => {
          const [lo, hi] = view.mask![i]!;
          if (lo === 0 && hi === view.shape[i]) return d;
          valid = alu('AND', valid, inBounds(d, lo, hi));
          return assume(d, lo, hi);
        });
      }
      lin = konst(view.offset, INDEX);
      view.strides.forEach((s, i) => {
        if (s !== 0) lin = iadd(lin, imul(dims[i]!, konst(s, INDEX)));
      });
      if (v > 0) dims = unflatten(lin, st.views[v - 1]!.shape);
    }
    // the same condition guards every load and select under this view: compute it once
    if (valid !== idx.valid && valid.k === 'alu') valid = bind(`valid:${valid.key}`, valid);
    // views that do not merge, stacked along a deep chain (a tile or a window read at every step),
    // compose index math that reuses the index before it (its quotient and its remainder): past a
    // size the index is a local, so its text stays linear in the chain rather than exponential
    if (lin.k === 'alu' && lin.key.length > MAX_INDEX_TEXT) lin = bind(`index:${lin.key}`, lin);
    return new Index(baseShape, lin, undefined, valid);
  };

  const lowerNode = (n: Node, idx: Index): Expr => {
    const key = `${n.id}@${idx.key}`;
    const hit = lookup(key);
    if (hit) return hit;
    let e: Expr;
    if (n !== outNode && isInput.has(n)) {
      return bind(key, load(bufferOf(n), idx.linear(), n.dtype, idx.valid));
    }
    if (spill?.reading && n === spill.node) return bind(key, load(0, idx.linear(), n.dtype, null));
    if (isAluOp(n.op)) {
      e = alu(n.op, ...n.src.map((s) => lowerNode(s, idx)));
      return bind(key, e);
    }
    switch (n.op) {
      case 'CONST':
        return konst(n.arg as number, n.dtype);
      case 'ARANGE': {
        // floats are computed in float64 and rounded once, as the reference interpreter defines it
        const a = n.arg as { start: number; step: number };
        const dt: DType = isFloat(n.dtype) ? 'float64' : n.dtype;
        const i = cast(idx.dims()[0]!, dt);
        return bind(key, cast(alu('ADD', alu('MUL', i, konst(a.step, dt)), konst(a.start, dt)), n.dtype));
      }
      case 'RAND': {
        let v = randVars.get(n);
        if (!v) {
          const a = n.arg as { seed: number; offset: number };
          v = [kvar(vars.length, 'int32'), kvar(vars.length + 1, 'int32')];
          vars.push({ name: 'seed', dtype: 'int32' }, { name: 'offset', dtype: 'int32' });
          varValues.push(a.seed | 0, a.offset | 0);
          randVars.set(n, v);
        }
        return bind(key, rand(v[0], alu('ADD', v[1], idx.linear()), n.dtype));
      }
      case 'CAST':
        return bind(key, cast(lowerNode(n.src[0]!, idx), n.dtype));
      case 'BITCAST':
        return bind(key, cast(lowerNode(n.src[0]!, idx), n.dtype, true));
      case 'CONTIGUOUS':
      case 'DETACH':
      case 'DATA':
        return lowerNode(n.src[0]!, idx);
      case 'RESHAPE':
      case 'PERMUTE':
      case 'EXPAND':
      case 'PAD':
      case 'SHRINK':
      case 'FLIP': {
        const { base, st } = trackerOf(n);
        const inner = applyTracker(st, idx, base.shape);
        // a window that lies wholly in the padding reads nothing
        if (isConst(inner.valid) && !inner.valid.value) return konst(0, n.dtype);
        const v = lowerNode(base, inner);
        return inner.valid === idx.valid ? v : bind(`${key}:masked`, alu('WHERE', inner.valid, v, konst(0, n.dtype)));
      }
      case 'REDUCE':
        return lowerReduce(n, idx, key);
      case 'GATHER': {
        // a load at a computed index: clamped into range (so the address is always valid), reading 0 outside it
        const [x, index] = n.src as [Node, Node];
        const axis = n.arg as number;
        const k = bind(`${key}:k`, cast(lowerNode(index, idx), INDEX));
        const inb = inRange(k, x.shape[axis]!);
        const dims = idx.dims().map((d, i) => (i === axis ? alu('WHERE', inb, k, konst(0, INDEX)) : d));
        const v = lowerNode(x, new Index(x.shape, undefined, dims, alu('AND', idx.valid, inb)));
        return bind(key, alu('WHERE', inb, v, konst(0, n.dtype)));
      }
      default:
        throw new Error(`lower: ${n.op} cannot appear inside a kernel`);
    }
  };

  /**
   * A reduction is computed in the outermost block where its index is known: read inside a loop
   * that does not change it (a row kernel's store loop, another reduction over the same row),
   * it runs once, before that loop.
   */
  const lowerReduce = (n: Node, idx: Index, key: string): Expr => {
    const outDims = idx.dims();
    const depth = outDims.reduce((m, e) => Math.max(m, depthOf(e)), depthOf(idx.valid));
    return at(depth, () => lowerReduceHere(n, outDims, idx.valid, key));
  };

  const lowerReduceHere = (n: Node, outDims: readonly Expr[], valid: Expr, key: string): Expr => {
    const { reduce, axes } = n.arg as { reduce: ReduceKind; axes: readonly number[] };
    const src = n.src[0]!;
    const name = `acc${nLocals++}`;
    const accDtype = n.dtype;
    emit({ k: 'acc', name, dtype: accDtype, init: reduceIdentity(reduce, accDtype) });
    definedAt.set(name, blocks.length - 1);
    const loops: { ridx: number; n: number; body: Stmt[] }[] = [];
    const dims = src.shape.map((d, i) => {
      if (!axes.includes(i)) return outDims[i]!;
      const r = nRidx++;
      loops.push({ ridx: r, n: d, body: [] });
      return ridx(r, d);
    });
    for (const l of loops) {
      blocks.push(l.body);
      scopes.push(new Map());
      definedAt.set(`r${l.ridx}`, blocks.length - 1);
    }
    const srcIndex = new Index(src.shape, undefined, dims, valid);
    // a reduction's source is computed, never read back from the output
    const reading = spill?.reading ?? false;
    if (spill) spill.reading = false;
    const v = lowerNode(src, srcIndex);
    if (spill) spill.reading = reading;
    if (spill && n === spill.reduce) emit({ k: 'store', buf: 0, idx: srcIndex.linear(), expr: v });
    emit({ k: 'update', name, op: reduce, expr: v });
    for (let i = loops.length - 1; i >= 0; i--) {
      const l = loops[i]!;
      blocks.pop();
      scopes.pop();
      emit({ k: 'loop', ridx: l.ridx, n: l.n, body: l.body });
    }
    const out = local(name, accDtype);
    scopes[scopes.length - 1]!.set(key, out);
    return out;
  };

  /** A loop of `n` iterations whose body `body` emits, in a block and CSE scope of its own. */
  const loop = (n: number, body: (r: Expr) => void): void => {
    const r = nRidx++;
    const stmts: Stmt[] = [];
    blocks.push(stmts);
    scopes.push(new Map());
    definedAt.set(`r${r}`, blocks.length - 1);
    body(ridx(r, n));
    blocks.pop();
    scopes.pop();
    emit({ k: 'loop', ridx: r, n, body: stmts });
  };

  /**
   * SCATTER and SCAN: one thread per fiber (every element along the axis), walking it in order,
   * so repeated indices and running sums combine in one fixed order on every backend. Each thread
   * reads back what it wrote (buffer 0); no other thread touches its fiber. A SCATTER's base is
   * copied into the output by a prefill kernel launched just before (one thread per element).
   */
  const lowerFibers = (): number => {
    const { axis, reduce } = outNode.arg as { axis: number; reduce: string };
    const shape = outNode.shape;
    const dt = outNode.dtype;
    const fiberShape = shape.filter((_, i) => i !== axis);
    const size = fiberShape.reduce((a, b) => a * b, 1);
    const f = new Index(fiberShape, gid(size), undefined, TRUE).dims();
    const at = (fs: readonly Expr[], a: Expr): Expr[] => [...fs.slice(0, axis), a, ...fs.slice(axis)];
    const lin = (dims: Expr[]): Expr => new Index(shape, undefined, dims, TRUE).linear();
    const combine = (old: Expr, v: Expr): Expr => (reduce === 'add' ? alu('ADD', old, v) : reduce === 'mul' ? alu('MUL', old, v) : reduce === 'max' ? alu('MAX', old, v) : v);
    if (outNode.op === 'SCAN') {
      const x = outNode.src[0]!;
      loop(shape[axis]!, (r) => {
        const dims = at(f, r);
        const v = lowerNode(x, new Index(shape, undefined, dims, TRUE));
        const first = alu('CMPLT', r, konst(1, INDEX));
        const prev = bind(`prev${r.key}`, load(0, lin(at(f, alu('WHERE', first, konst(0, INDEX), alu('ADD', r, konst(-1, INDEX))))), dt, null));
        emit({ k: 'store', buf: 0, idx: lin(dims), expr: alu('WHERE', first, v, combine(prev, v)) });
      });
      return size;
    }
    const [, index, src] = outNode.src as [Node, Node, Node];
    // the base is already in the output buffer: the prefill kernel copied it there
    // fibers past the index's extent get no writes; their index and src coordinates are clamped so every address is valid
    let fv: Expr = TRUE;
    const fi = f.map((d, j) => {
      const bound = index.shape[j < axis ? j : j + 1]!;
      if (bound >= fiberShape[j]!) return d;
      const ok = alu('CMPLT', d, konst(bound, INDEX));
      fv = alu('AND', fv, ok);
      return alu('WHERE', ok, d, konst(0, INDEX));
    });
    loop(index.shape[axis]!, (r) => {
      const p = at(fi, r);
      const k = bind(`k${r.key}`, cast(lowerNode(index, new Index(index.shape, undefined, p, TRUE)), INDEX));
      const inb = alu('AND', fv, inRange(k, shape[axis]!));
      // the target stays in this thread's own fiber (never a clamped neighbour's: that would race)
      const tgt = bind(`t${r.key}`, lin(at(f, alu('WHERE', inb, k, konst(0, INDEX)))));
      const v = lowerNode(src, new Index(src.shape, undefined, p, TRUE));
      const old = bind(`o${r.key}`, load(0, tgt, dt, null));
      emit({ k: 'store', buf: 0, idx: tgt, expr: alu('WHERE', inb, combine(old, v), old) });
    });
    return size;
  };

  /**
   * A row kernel: one thread per row (the dims outside `axes`), which computes the row's
   * reductions once (they are hoisted out of the loops below) and then walks the row storing
   * each output, so the row is read from memory once and stays in cache for every pass.
   */
  const lowerRows = (axes: readonly number[]): number => {
    const shape = outNode.shape;
    const outerShape = shape.filter((_, i) => !axes.includes(i));
    const rows = outerShape.reduce((a, b) => a * b, 1);
    const outer = new Index(outerShape, gid(rows), undefined, TRUE).dims();
    const rowIdx: Expr[] = [];
    spill = spillable(outNode, axes, isInput);
    const nest = (j: number): void => {
      if (j === axes.length) {
        let o = 0;
        const dims = shape.map((_, i) => (axes.includes(i) ? rowIdx[axes.indexOf(i)]! : outer[o++]!));
        const index = new Index(shape, undefined, dims, TRUE);
        // the row's reductions are hoisted out of this loop: they run (and store the spilled value) first
        if (spill) spill.reading = true;
        emit({ k: 'store', buf: 0, idx: index.linear(), expr: lowerNode(outNode, index) });
        return;
      }
      loop(shape[axes[j]!]!, (r) => {
        rowIdx[j] = r;
        nest(j + 1);
      });
    };
    nest(0);
    return rows;
  };

  let size: number;
  if (outNode.op === 'SCATTER' || outNode.op === 'SCAN') size = lowerFibers();
  else if (item.rowAxes && item.kind === 'kernel') size = lowerRows(item.rowAxes);
  else {
    size = outNode.size;
    const g = gid(size);
    const value = lowerNode(outNode, new Index(outNode.shape, g, undefined, TRUE));
    emit({ k: 'store', buf: 0, idx: g, expr: value });
  }
  const prefix = outNode.op === 'SCATTER' ? 'S' : outNode.op === 'SCAN' ? 'C' : item.reduces.length ? 'r' : 'E';
  const name = `${prefix}_${outNode.shape.join('_') || 'scalar'}`;
  const body = blocks[0]!;
  const text = printKernel({ name, size, buffers, vars, body });
  const lowered = { kernel: { name, size, buffers, vars, body, key: text }, inputs, varValues, rands: [...randVars.keys()] };
  if (outNode.op !== 'SCATTER') return lowered;
  const prefill = lower({ ...item, kind: 'kernel', root: contiguousNode(outNode.src[0]!), reduces: [], gemm: undefined });
  return { ...lowered, prefill };
}
