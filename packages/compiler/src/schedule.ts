/**
 * Scheduling: where the kernel boundaries go. Everything that can run in one pass over the
 * output fuses: elementwise chains, views, elementwise producers into a reduction, and
 * elementwise epilogues after it. A node gets its own buffer (and kernel) only for a reason,
 * and the reason is recorded so `explain()` can say it.
 */
import { contiguousStrides, type Node, type Op } from '@fusor/ir';
import { parseDevice, type Backend, type GemmRoutine, type SortShape } from './backend.js';
import { contractionOperands, gemmShape, outputLayout, type Contraction, type ContractionOperands } from './contraction.js';
import { lowerEpilogue } from './epilogue.js';
import { isAluOp } from './kernel-ir.js';
import { sortShape } from './sort-network.js';

export type ItemKind = 'kernel' | 'copy' | 'assign';

export interface ScheduleItem {
  readonly kind: ItemKind;
  /** The node this item computes into its own buffer. */
  readonly root: Node;
  /** Nodes read from buffers (realized earlier, or by an earlier item). */
  readonly inputs: readonly Node[];
  /** Primitive ops fused into this item, in first-visit order. */
  readonly ops: readonly Op[];
  /** Reductions fused into this item. */
  readonly reduces: readonly Node[];
  /** Why this node has its own buffer. */
  readonly reason: string;
  /** Set when the backend's GEMM routine computes this item instead of generated code. */
  readonly gemm?: Contraction;
  /** Set when the backend's sort routine computes this item (a SORT node; its one input holds the rows). */
  readonly sort?: SortShape;
  /**
   * Set when the kernel runs one thread per row: the row's reductions over these axes first
   * (each once, the row kept in cache), then a loop over them storing the outputs. That is how
   * softmax reads its input from memory once instead of three times.
   */
  readonly rowAxes?: readonly number[];
}

interface Visit {
  readonly node: Node;
  /** Inside the source of a fused reduction. */
  readonly inReduce: boolean;
  /** Reached through an expand since the last reduction (or the root). */
  readonly throughExpand: boolean;
  /** The movement ops passed since the root (outside reductions): which index the node is needed at. */
  readonly view: string;
  /** Read at data-dependent positions (the data source of a GATHER, through views). */
  readonly indexed?: boolean;
  /**
   * On a row path: from the root (or from the source of a reduction), only elementwise ops on
   * one shape, so the index is the plain position. `rowOf` is set below an EXPAND that
   * broadcasts this value over those axes (the value is the same along them).
   */
  readonly row?: { readonly rowOf?: string };
  /** The axes of the reduction whose source this visit is in (row paths only). */
  readonly loopAxes?: string;
}

const MOVEMENT: ReadonlySet<Op> = new Set(['RESHAPE', 'PERMUTE', 'EXPAND', 'PAD', 'SHRINK', 'FLIP']);

/** Ops that keep a row path: the same position in the source as in the result. */
const SAME_POSITION: ReadonlySet<Op> = new Set(['CAST', 'DETACH', 'DATA']);

/** Whether a visit's sources stay on its row path (and where), or leave it. */
function rowPath(v: Visit, n: Node): Visit['row'] | undefined {
  if (!v.row) return undefined;
  if (isAluOp(n.op) || SAME_POSITION.has(n.op)) return v.row;
  // the first broadcast makes a row value; a value broadcast twice is left to the plain rules
  if (n.op === 'EXPAND' && v.row.rowOf === undefined) return { rowOf: broadcastAxes(n.src[0]!, n).join(',') };
  return undefined;
}

/**
 * Whether a reduction is read at its row's index: broadcast on a row path, or at the root's own
 * position where the root has the reduction's shape (logsumexp adding its row max back).
 */
function rowPlace(v: Visit, root: Node): boolean {
  if (!v.row) return false;
  if (v.row.rowOf !== undefined) return true;
  return !v.inReduce && v.node.shape.length === root.shape.length && v.node.shape.every((d, i) => d === root.shape[i]);
}

/** Axes where `from` is 1 and `to` is not: what an EXPAND broadcasts over. */
const broadcastAxes = (from: Node, to: Node): number[] => to.shape.flatMap((d, i) => (from.shape[i] === 1 && d !== 1 ? [i] : []));

interface Pass {
  readonly order: ScheduleItem[];
  /** Per reduction or RAND fused somewhere: each place it was fused into, as `root id:view`. */
  readonly fusedAt: Map<Node, Set<string>>;
  readonly reasons: Map<Node, string>;
}

/**
 * A reduction (or a draw of random numbers) is computed where it is used, unless that would
 * compute it more than once: when
 * it is fused into two kernels, read at two indices of one kernel, or also needed in a buffer,
 * it gets a buffer of its own. That is only known once the kernels are drawn, so scheduling
 * repeats with those reductions materialized until none is computed twice.
 */
export function schedule(roots: readonly Node[], isRealized: (n: Node) => boolean, backendFor: BackendLookup = () => undefined): ScheduleItem[] {
  const shared = new Map<Node, string>();
  const routed = routedContractions(roots, isRealized, backendFor);
  for (;;) {
    const { order, fusedAt, reasons } = pass(roots, isRealized, shared, routed, backendFor);
    let changed = false;
    for (const [r, places] of fusedAt) {
      // a reduction with a buffer of its own is also fused into its own kernel: two places either way
      if (shared.has(r) || places.size < 2) continue;
      const kernels = new Set([...places].map((p) => p.split(':')[0])).size;
      const what = r.op === 'RAND' ? 'random numbers' : 'reduction result';
      const done = r.op === 'RAND' ? 'drawn once into a buffer' : 'computed once into a buffer';
      shared.set(
        r,
        reasons.get(r) ??
          (kernels > 1 ? `${what} read by ${kernels} kernels: ${done}` : `${what} read at ${places.size} different indices: ${done}`),
      );
      changed = true;
    }
    if (!changed) return order;
  }
}

/** Ops that are always a kernel of their own (boundary() below says why). */
const OWN_KERNEL: ReadonlySet<Op> = new Set(['SCATTER', 'SCAN', 'SORT', 'CONTIGUOUS', 'COPY', 'ASSIGN']);

const GEMM_OPERAND = 'operand of a matrix product computed by the gemm routine';
const GEMM_RESULT = 'matrix product computed by the gemm routine';
const SORT_OPERAND = 'rows sorted by the sort routine';
const SORT_RESULT = 'sort: computed by the backend\'s sort routine';

function pass(
  roots: readonly Node[],
  isRealized: (n: Node) => boolean,
  shared: ReadonlyMap<Node, string>,
  routed: ReadonlyMap<Node, ContractionOperands>,
  backendFor: BackendLookup,
): Pass {
  const reasons = new Map<Node, string>();
  const fusedAt = new Map<Node, Set<string>>();
  for (const r of roots) if (!isRealized(r)) reasons.set(r, 'output');
  // a GEMM routine reads its operands from memory: whatever computes them is a kernel of its own
  for (const ops of routed.values()) {
    for (const base of [ops.a.base, ops.b.base]) if (!isRealized(base) && !reasons.has(base)) reasons.set(base, GEMM_OPERAND);
  }
  const holdsBuffer = (n: Node): boolean => isRealized(n) || reasons.has(n);

  /** The routed product `root` writes directly: itself, or through reshapes and permutes (its result lands transposed). */
  const directGemm = (root: Node): Contraction | undefined => {
    let n = root;
    while ((n.op === 'RESHAPE' || n.op === 'PERMUTE') && (n === root || !holdsBuffer(n))) n = n.src[0]!;
    const ops = routed.get(n);
    if (!ops || (n !== root && holdsBuffer(n))) return undefined;
    const layout = outputLayout(root, n, holdsBuffer);
    const shape = layout && gemmShape(ops, layout);
    if (!shape || !gemmRoutine(backendFor, root.device)?.supports(shape)) return undefined;
    return { reduce: n, a: ops.a.base, b: ops.b.base, shape };
  };

  /**
   * The routed product `root` computes with an elementwise chain after it (a bias, an activation,
   * a scale) that the routine applies before its store, where the routine takes epilogues: the
   * chain reads the product (through reshapes and permutes only) at the element it computes, and
   * otherwise only buffers and constants. The product has no buffer of its own (it is read nowhere
   * else), else the chain is a kernel of its own as before.
   */
  const epilogueGemm = (root: Node): Contraction | undefined => {
    const routine = gemmRoutine(backendFor, root.device);
    if (!routine?.supportsEpilogue || !(isAluOp(root.op) || root.op === 'CAST')) return undefined;
    let found: { top: Node; reduce: Node; ops: ContractionOperands } | undefined;
    const inputs: Node[] = [];
    const seen = new Set<Node>();
    const stack = [root];
    while (stack.length) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      // lowering the epilogue recurses through it: a chain this long is cut into kernels
      // (depthCuts) before a routine may take its end
      if (seen.size > MAX_FUSED_DEPTH) return undefined;
      // what the walk below will read from a buffer anyway (a copy to the device, a scatter…)
      if (n !== root && (holdsBuffer(n) || OWN_KERNEL.has(n.op))) {
        inputs.push(n);
        continue;
      }
      if (!found && (n.op === 'RESHAPE' || n.op === 'PERMUTE' || n.op === 'REDUCE') && n.shape.join() === root.shape.join()) {
        let r = n;
        while ((r.op === 'RESHAPE' || r.op === 'PERMUTE') && !holdsBuffer(r)) r = r.src[0]!;
        const ops = routed.get(r);
        if (ops && !holdsBuffer(r) && !shared.has(r)) {
          found = { top: n, reduce: r, ops };
          continue;
        }
      }
      // loops, draws and gathers stay generated code; so does a second product
      if (!isAluOp(n.op) && !MOVEMENT.has(n.op) && n.op !== 'CAST' && n.op !== 'CONST' && n.op !== 'DETACH') return undefined;
      for (const s of n.src) stack.push(s);
    }
    if (!found) return undefined;
    const layout = outputLayout(found.top, found.reduce, holdsBuffer);
    const shape = layout && gemmShape(found.ops, layout);
    if (!shape || !routine.supports(shape)) return undefined;
    const lowered = lowerEpilogue(root, found.top, inputs);
    if (!lowered || !routine.supportsEpilogue({ ...shape, epilogue: lowered.epilogue })) return undefined;
    return { reduce: found.reduce, a: found.ops.a.base, b: found.ops.b.base, shape: { ...shape, epilogue: lowered.epilogue }, epilogue: lowered.inputs };
  };

  /** The row axes of the item being drawn (set by its first row reduction). */
  const drawing: { rowAxes?: string } = {};
  /**
   * A reduction whose value is the same along the axes it reduces, read on a row path: computed
   * once per row in the kernel that reads it — in the source of another reduction over the same
   * axes (hoisted out of its loop), or as one of the row reductions of a row kernel.
   */
  const rowReduce = (v: Visit): boolean => {
    const n = v.node;
    const axes = (n.arg as { axes: readonly number[] }).axes.join(',');
    if (!v.row || v.row.rowOf !== axes || v.indexed || !rowKernels(backendFor, n.device)) return false;
    if (v.inReduce) return v.loopAxes === axes;
    if (drawing.rowAxes !== undefined && drawing.rowAxes !== axes) return false;
    drawing.rowAxes = axes;
    return true;
  };

  const boundary = (v: Visit, direct: Node | undefined): string | undefined => {
    const n = v.node;
    if (v.indexed && !MOVEMENT.has(n.op) && n.op !== 'CONST' && n.op !== 'SCATTER' && n.op !== 'SCAN') return 'read at data-dependent indices by a gather';
    switch (n.op) {
      case 'SCATTER':
        return 'scatter: a kernel of its own, one thread per fiber along its axis';
      case 'SCAN':
        return 'scan: a kernel of its own, one thread per fiber along its axis';
      case 'SORT':
        return SORT_RESULT;
      case 'CONTIGUOUS':
        return 'explicit contiguous()';
      case 'COPY':
        return `copy to ${n.device}`;
      case 'ASSIGN':
        return 'in-place assign';
      case 'REDUCE':
        if (routed.has(n) && n !== direct) return GEMM_RESULT;
        if (shared.has(n)) return shared.get(n);
        if (rowReduce(v)) return undefined;
        if (v.inReduce) return 'reduction inside the source of another reduction';
        if (v.throughExpand) return 'reduction result broadcast back over its reduced axes: the consumer needs all of it first';
        return shared.get(n);
      case 'RAND':
        return shared.get(n);
      default:
        return undefined;
    }
  };

  const items = new Map<Node, ScheduleItem>();
  const order: ScheduleItem[] = [];

  const draw = (root: Node): ScheduleItem => {
    const inputs: Node[] = [];
    const ops: Op[] = [];
    const reduces: Node[] = [];
    const seen = new Set<string>();
    const kind: ItemKind = root.op === 'COPY' ? 'copy' : root.op === 'ASSIGN' ? 'assign' : 'kernel';
    const addInput = (n: Node, why: string): void => {
      if (!isRealized(n) && !reasons.has(n)) reasons.set(n, why);
      if (!inputs.includes(n)) inputs.push(n);
    };
    const gemm = kind === 'kernel' ? (directGemm(root) ?? epilogueGemm(root)) : undefined;
    drawing.rowAxes = undefined;
    let start: Visit[];
    if (kind === 'copy') {
      addInput(root.src[0]!, `source of a copy to ${root.device}`);
      start = [];
    } else if (root.op === 'SORT') {
      // the routine reads its rows from memory, contiguous: whatever computes them is a kernel of its own
      addInput(root.src[0]!, SORT_OPERAND);
      return { kind, root, inputs, ops: ['SORT'], reduces, reason: reasons.get(root) ?? 'output', sort: sortShape(root) };
    } else if (kind === 'assign') {
      addInput(root.src[0]!, 'target of an in-place assign');
      start = [{ node: root.src[1]!, inReduce: false, throughExpand: false, view: '' }];
    } else if (root.op === 'SCATTER' || root.op === 'SCAN') {
      // the kernel walks its fibers in loops: sources are read inside them, as inside a reduction
      start = root.src.map((node) => ({ node, inReduce: true, throughExpand: false, view: '' }));
      ops.push(root.op);
    } else {
      // a row path starts at the root unless a routine computes it
      start = [{ node: root, inReduce: false, throughExpand: false, view: '', ...(gemm ? {} : { row: {} }) }];
    }
    const stack = start;
    while (stack.length) {
      const v = stack.pop()!;
      const n = v.node;
      const key = `${n.id}:${+v.inReduce}${+v.throughExpand}${+!!v.indexed}:${v.view}:${v.row ? `${v.row.rowOf ?? '-'}/${v.loopAxes ?? '-'}` : ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (n !== root && (isRealized(n) || reasons.has(n))) {
        addInput(n, reasons.get(n) ?? 'realized');
        continue;
      }
      const why = n === root ? undefined : boundary(v, gemm?.reduce);
      if (why !== undefined) {
        addInput(n, why);
        continue;
      }
      if (n.op === 'BUFFER') throw new Error(`BUFFER ${n} has no data`);
      if (!ops.includes(n.op)) ops.push(n.op);
      if (n.op === 'REDUCE' || n.op === 'RAND') {
        // computing these twice costs real work: track where each is fused
        let places = fusedAt.get(n);
        if (!places) fusedAt.set(n, (places = new Set()));
        // a row reduction is computed once per row wherever the row path reads it
        places.add(`${root.id}:${n.op === 'REDUCE' && rowPlace(v, root) ? `row${(n.arg as { axes: readonly number[] }).axes.join(',')}` : v.inReduce ? 'r' : v.view}`);
      }
      if (n.op === 'REDUCE') {
        if (!reduces.includes(n)) reduces.push(n);
        const axes = (n.arg as { axes: readonly number[] }).axes.join(',');
        stack.push({ node: n.src[0]!, inReduce: true, throughExpand: false, view: '', ...(v.row ? { row: {}, loopAxes: axes } : {}) });
      } else if (n.op === 'GATHER') {
        stack.push({ node: n.src[0]!, inReduce: v.inReduce, throughExpand: true, view: `${v.view}/g${n.id}`, indexed: true });
        stack.push({ node: n.src[1]!, inReduce: v.inReduce, throughExpand: v.throughExpand, view: v.view });
      } else {
        const throughExpand = v.throughExpand || n.op === 'EXPAND';
        const view = !v.inReduce && MOVEMENT.has(n.op) ? `${v.view}/${n.id}` : v.view;
        const row = rowPath(v, n);
        for (const s of n.src) stack.push({ node: s, inReduce: v.inReduce, throughExpand, view, indexed: v.indexed, ...(row ? { row, loopAxes: v.loopAxes } : {}) });
      }
    }
    // set by rowReduce during the walk (a closure: the compiler's narrowing does not see it)
    const rowsKey = drawing.rowAxes as string | undefined;
    const rows = rowsKey ? rowsKey.split(',').map(Number) : undefined;
    const item = { kind, root, inputs, ops, reduces, reason: reasons.get(root) ?? 'output', ...(rows ? { rowAxes: rows } : {}) };
    // the routine binds exactly its two operands (and its epilogue's); anything else read here means generated code
    const bound = gemm ? [...new Set([gemm.a, gemm.b, ...(gemm.epilogue ?? [])])] : [];
    const bindsOperands = gemm && inputs.every((i) => bound.includes(i)) && inputs.includes(gemm.a) && inputs.includes(gemm.b);
    return bindsOperands ? { ...item, inputs: bound, gemm } : item;
  };

  // a kernel binds its output and each input: past the backend's limit, part of it is computed first;
  // a region deeper than MAX_FUSED_DEPTH is cut into kernels the same way
  const region = (root: Node): ScheduleItem => {
    const limit = backendFor(root.device)?.capabilities.maxBuffers ?? Infinity;
    const depth = fusedDepthLimit(backendFor, root.device);
    for (;;) {
      const item = draw(root);
      const cuts = item.gemm ? [] : depthCuts(item, depth);
      for (const c of cuts) reasons.set(c, `more than ${depth} ops fused on one path: an intermediate of a deep chain computed into a buffer`);
      const split = cuts.length === 0 && item.inputs.length + 1 > limit ? splitPoint(item, limit) : undefined;
      if (split) reasons.set(split, `the kernel would bind ${item.inputs.length + 1} buffers, more than ${parseDevice(root.device).type} allows (maxBuffers ${limit})`);
      else if (cuts.length === 0) return item;
      for (const places of fusedAt.values()) for (const p of places) if (p.startsWith(`${root.id}:`)) places.delete(p);
    }
  };

  // depth-first so every item follows the items that produce its inputs; an explicit stack, as a
  // chain of kernels (an unrolled loop of matrix products) is as long as the user's loop
  const emit = (top: Node): void => {
    const stack: { root: Node; item?: ScheduleItem }[] = [{ root: top }];
    while (stack.length) {
      const { root, item } = stack.pop()!;
      if (item) {
        order.push(item);
        continue;
      }
      if (items.has(root) || isRealized(root)) continue;
      const drawn = region(root);
      items.set(root, drawn);
      stack.push({ root, item: drawn });
      for (let i = drawn.inputs.length - 1; i >= 0; i--) if (!isRealized(drawn.inputs[i]!)) stack.push({ root: drawn.inputs[i]! });
    }
  };
  for (const r of roots) emit(r);
  return { order, fusedAt, reasons };
}

/**
 * The most ops one kernel computes on any path from its output to its inputs. Lowering walks a
 * kernel's expression recursively (about three stack frames per op; near a thousand ops deep the
 * default stack is spent), and a define-by-run loop makes chains as long as it runs (an unrolled
 * recurrence, an iterative solver). A quarter of that keeps a margin for the caller's own stack
 * and costs nothing in practice: one buffer written and read per 256 fused ops. Shader compilers
 * never see deep nesting either way: every op is a `let` of its own in the rendered source.
 */
export const MAX_FUSED_DEPTH = 256;

/** The fused depth a device's kernels are cut at: MAX_FUSED_DEPTH, or less where its backend asks. */
const fusedDepthLimit = (backendFor: BackendLookup, device: string): number =>
  Math.max(1, Math.min(MAX_FUSED_DEPTH, backendFor(device)?.capabilities.maxFusedDepth ?? MAX_FUSED_DEPTH));

/**
 * The fused nodes to compute into buffers of their own so no path through `item` has more than
 * `limit` ops. Each node's depth is the number of ops above it on its longest path from the
 * root; the nodes fall into bands of `limit` depths, and a node is cut where a path
 * enters its band. Depth only grows along a path, so every kernel left between cuts lies in one
 * band: the whole chain is partitioned by one walk, not by redrawing it once per kernel. Views
 * add no depth (lowering folds a chain of them into one index computation without recursing),
 * and a cut under a view is made at the view's base, so a broadcast is never materialized at its
 * expanded size.
 */
function depthCuts(item: ScheduleItem, limit: number): Node[] {
  if (item.kind === 'copy') return [];
  const inputs = new Set(item.inputs);
  const inside = (n: Node): boolean => !inputs.has(n) && n.src.length > 0;
  // sources before consumers, by an iterative post-order
  const order: Node[] = [];
  const seen = new Set<Node>([item.root]);
  const stack: [Node, number][] = [[item.root, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const [n, i] = top;
    if (i === n.src.length) {
      stack.pop();
      order.push(n);
      continue;
    }
    top[1]++;
    const s = n.src[i]!;
    if (inside(s) && !seen.has(s)) {
      seen.add(s);
      stack.push([s, 0]);
    }
  }
  if (order.length <= limit) return [];
  const depth = new Map<Node, number>([[item.root, 0]]);
  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k]!;
    const below = depth.get(n)! + (MOVEMENT.has(n.op) ? 0 : 1);
    for (const s of n.src) if (inside(s)) depth.set(s, Math.max(depth.get(s) ?? 0, below));
  }
  const band = (n: Node): number => Math.floor(depth.get(n)! / limit);
  const cuts = new Set<Node>();
  for (const n of order) {
    for (const s of n.src) {
      if (!inside(s) || band(s) === band(n)) continue;
      let c = s;
      while (MOVEMENT.has(c.op) && inside(c.src[0]!)) c = c.src[0]!;
      if (!MOVEMENT.has(c.op)) cuts.add(c);
    }
  }
  return [...cuts];
}

/**
 * The backend serving a device, or undefined where none is registered (scheduling then assumes
 * no routines and no limit on bindings). Scheduling is pure: the runtime passes its registry in.
 */
export type BackendLookup = (device: string) => Backend | undefined;

/** Whether the device's backend wants row kernels (one thread walking each row). */
const rowKernels = (backendFor: BackendLookup, device: string): boolean => backendFor(device)?.capabilities.rowKernels === true;

/** The GEMM routine of the backend for a device, if it offers one. */
const gemmRoutine = (backendFor: BackendLookup, device: string): GemmRoutine | undefined => backendFor(device)?.routines?.gemm;

/** The pending contractions the device's GEMM routine takes (with the result in its own contiguous buffer). */
function routedContractions(roots: readonly Node[], isRealized: (n: Node) => boolean, backendFor: BackendLookup): Map<Node, ContractionOperands> {
  const routed = new Map<Node, ContractionOperands>();
  const seen = new Set<Node>();
  const stack = roots.filter((r) => !isRealized(r));
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    if (n.op === 'REDUCE') {
      const routine = gemmRoutine(backendFor, n.device);
      const ops = routine && contractionOperands(n, isRealized);
      const shape = ops && gemmShape(ops, { strides: contiguousStrides(n.shape), offset: 0 });
      if (ops && shape && routine.supports(shape)) routed.set(n, ops);
    }
    for (const s of n.src) if (!isRealized(s) && !seen.has(s)) stack.push(s);
  }
  return routed;
}

/**
 * The fused node to compute into a buffer of its own so that a kernel binds fewer buffers:
 * preferring one whose own kernel fits the limit, then the one leaving the fewest buffers behind.
 */
function splitPoint(item: ScheduleItem, limit: number): Node | undefined {
  const inputs = new Set(item.inputs);
  const top = item.kind === 'assign' ? item.root.src[1]! : item.root;
  /** Inputs read by the region under `from`, with `cut` read from a buffer too. */
  const reads = (from: Node, cut?: Node): Set<Node> => {
    const used = new Set<Node>();
    const seen = new Set<Node>([from]);
    const stack = [from];
    while (stack.length) {
      for (const s of stack.pop()!.src) {
        if (s === cut || inputs.has(s)) used.add(s);
        else if (!seen.has(s)) (seen.add(s), stack.push(s));
      }
    }
    return used;
  };
  const nodes = new Set<Node>();
  const stack = [top];
  while (stack.length) for (const s of stack.pop()!.src) if (!inputs.has(s) && !nodes.has(s)) (nodes.add(s), stack.push(s));
  const before = reads(top).size;
  let best: Node | undefined;
  let bestKey = [Infinity, Infinity];
  for (const n of nodes) {
    const own = reads(n).size;
    if (own < 2) continue;
    const left = reads(top, n).size;
    if (left >= before) continue;
    const key = [own + 1 <= limit ? 0 : 1, left];
    if (key[0]! < bestKey[0]! || (key[0] === bestKey[0] && key[1]! < bestKey[1]!)) {
      best = n;
      bestKey = key;
    }
  }
  return best;
}
