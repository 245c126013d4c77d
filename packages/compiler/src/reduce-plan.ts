/**
 * The planning pass: how a lowered kernel's work is spread over vector lanes, threads and groups,
 * decided from numbers each backend declares (PlanNumbers), so no backend decides it by itself:
 *
 * - vectorization (where the backend has no groups: the cpu): which loop variable the lanes take,
 *   the outputs (`gid`) or an innermost reduction loop, and how many vectors one step holds;
 * - cooperative reductions (backends with workgroups or blocks): whether a reduction's outputs
 *   are each reduced by several threads of a group (their partials combined through subgroup
 *   shuffles or shared memory), how many outputs one group holds and in which layout;
 * - split reductions: whether a long reduction loop with few outputs is also cut into parts
 *   (chunks on the cpu's threads, several blocks on a GPU), combined in a fixed order.
 *
 * Every decision depends only on the kernel and the declared numbers, never on how many threads
 * happen to run it, so a result never changes with the thread count.
 */
import { DTYPES, isFloat, type DType, type ReduceKind } from '@fusor/ir';
import { flatten, loopsOf, workPerGid, type FlatKernel, type Instr, type Value } from './flatten.js';
import type { Expr, Kernel, Stmt } from './kernel-ir.js';
import { accsOf, classify, countLoads, laneable, valuesOf, type Lane, type LoadCounts } from './vector-lanes.js';

/** The numbers a backend declares for the planning pass (the `planning` field of its Backend). */
export interface PlanNumbers {
  /** Lanes of 32 bits in one vector register or access (128-bit SIMD: 4); 1: no vectors. */
  readonly vectorWidth: number;
  /** Most vectors one step takes (each copy `vectorWidth` more lanes sharing the step's uniform loads). */
  readonly maxVectorCopies: number;
  /**
   * Most vector accumulators (independent chains) a vectorized inner loop whose combine is
   * order-free (max, integer sums) takes: more chains hide a long combine's latency (wasm's
   * NaN-propagating f32x4.max is 8 x86 instructions in one dependent chain).
   */
  readonly maxReductionChains: number;
  /** Threads in one workgroup or block; 1 where the backend has no groups (the cpu). */
  readonly groupSize: number;
  /**
   * Backends with groups: elementwise kernels move `vectorWidth`·4 bytes per access in tiles of
   * consecutive outputs, each thread keeping at most this many loaded bytes in flight; absent: no tiles.
   */
  readonly tileLoadBytes?: number;
  /** Threads of a group that combine values without a barrier (a warp, a subgroup); absent: none. */
  readonly subgroupSize?: number;
  /** Bytes of memory one group shares (its combine's slots must fit). */
  readonly sharedMemoryBytes: number;
  /** Whether and how outputs are reduced by several threads of a group; absent: one thread per output. */
  readonly cooperative?: CooperativeNumbers;
  /** Whether and how a long reduction with few outputs is split into parts; absent: never. */
  readonly split?: SplitNumbers;
}

export interface CooperativeNumbers {
  /** Iterations each thread sharing a reduction loop gets at least (a loop shorter than this × a subgroup stays serial). */
  readonly minIterationsPerThread: number;
  /**
   * Threads one output may take: `'pow2'` any power of two from the subgroup to the group (more
   * when outputs are fewer than a group holds); `'subgroup-or-group'` exactly a subgroup or the whole group.
   */
  readonly threadsPerOutput: 'pow2' | 'subgroup-or-group';
  /** Most outputs a kernel may have for each to take a whole group (more: a subgroup each). */
  readonly maxWholeGroupOutputs: number;
  /** Most outputs a cooperative kernel may have with an output's threads side by side. */
  readonly maxRowOutputs: number;
  /** Most outputs with consecutive outputs side by side (loads coalesce across outputs); absent: no such layout. */
  readonly maxColumnOutputs?: number;
  /** Accumulator dtypes the combine handles; absent: all. */
  readonly combineDtypes?: readonly DType[];
  /**
   * Whether every thread may store, directly in a top-level loop, the positions its own iterations
   * own (a row kernel's output pass: softmax rescaling the exps it kept); absent: stores only after the loops.
   */
  readonly ownStores?: boolean;
  /** Largest iteration or output count the backend's index arithmetic takes. */
  readonly indexLimit: number;
}

export interface SplitNumbers {
  /** Parts to aim for over a whole launch (every output group's loop cut into about this many / groups). */
  readonly targetParts: number;
  /** Iterations each thread of a part gets at least. */
  readonly minIterationsPerThread: number;
  /** Only kernels with fewer outputs than this split. */
  readonly outputsBelow: number;
  /** Only kernels with at least this many element operations split. */
  readonly minWork: number;
  /**
   * Without groups, chunk starts are multiples of this (the vector width whether or not vectors
   * are on, so a sum's chunks, and so its value, do not change with that switch); a loop
   * vectorized several vectors per step aligns them to its step.
   */
  readonly align: number;
}

/** An accumulator a cooperative or split loop updates: each thread or part holds a partial. */
export interface PartialAcc {
  readonly name: string;
  readonly dtype: DType;
  readonly op: ReduceKind;
  readonly init: number;
}

type LoopStmt = Extract<Stmt, { k: 'loop' }>;

/** A top-level reduction loop whose iterations threads may share. */
export interface ReductionLoop {
  readonly loop: LoopStmt;
  /** The loop and the loops nested in it that one flat index walks (each level: some lets, then one loop). */
  readonly nest: readonly LoopStmt[];
  /** Iterations of the flattened nest. */
  readonly n: number;
  /** What runs per flat iteration: the nest's lets, then the innermost loop's body. */
  readonly body: readonly Stmt[];
  /** Top-level accumulators the loop updates. */
  readonly accs: readonly PartialAcc[];
}

export type VectorPlan =
  | { readonly lanes: 'none' }
  /** `width`·`copies` consecutive outputs per step. */
  | { readonly lanes: 'outputs'; readonly width: number; readonly copies: number; readonly classes: ReadonlyMap<Value, Lane> }
  /**
   * Backends with groups: `width` consecutive outputs per thread step, buffers accessed at `gid`
   * (the loads in `loads` and the stores) moved as one vector each; `copies` steps loaded before any is computed.
   */
  | { readonly lanes: 'tiles'; readonly width: number; readonly copies: number; readonly loads: readonly number[] }
  /** Each of `loops` runs `width`·`copies` iterations per step, into partial accumulators combined after it. */
  | { readonly lanes: 'loop'; readonly width: number; readonly loops: ReadonlyMap<Loop, LoopLanes> };

type Loop = Extract<Instr, { k: 'loop' }>;

/** How one vectorized loop's values vary over its lanes, and how many vectors (chains) one step takes. */
export interface LoopLanes {
  readonly classes: ReadonlyMap<Value, Lane>;
  readonly copies: number;
}

export interface GroupPlan {
  /** `rows`: an output's threads side by side; `cols`: consecutive outputs side by side. */
  readonly layout: 'rows' | 'cols';
  readonly outputsPerGroup: number;
  readonly threadsPerOutput: number;
  /**
   * How an output's partials combine: `subgroup` by shuffles within the subgroup alone; `shared`
   * through the group's shared memory (after shuffles within each subgroup, where the renderer has them).
   */
  readonly combine: 'subgroup' | 'shared';
  /** Groups covering the outputs. */
  readonly groups: number;
  /** The top-level loops the threads of an output share. */
  readonly loops: readonly ReductionLoop[];
}

export interface SplitPlan {
  /** Parts each output group's loop is cut into. */
  readonly parts: number;
  readonly loop: ReductionLoop;
  /** Without groups: part p covers iterations [bounds[p], bounds[p + 1]) of the top-level loop. */
  readonly bounds?: readonly number[];
}

export interface KernelPlan {
  readonly vector: VectorPlan;
  readonly group: GroupPlan | null;
  readonly split: SplitPlan | null;
}

/** Values an accumulator may start from so that combining partials equals the serial loop. */
const NEUTRAL: Readonly<Record<ReduceKind, (init: number) => boolean>> = {
  add: (v) => v === 0,
  mul: (v) => v === 1,
  max: () => true, // max is idempotent: every partial starting from the init changes nothing
};

/** Combines whose result does not depend on the order of the partials (more partials change no bit). */
const orderFree = (dtype: DType, op: ReduceKind): boolean => op === 'max' || !isFloat(dtype);

/** Every statement under `stmts`, loops' bodies included. */
function walkStmts(stmts: readonly Stmt[], visit: (s: Stmt) => void): void {
  for (const s of stmts) {
    visit(s);
    if (s.k === 'loop') walkStmts(s.body, visit);
  }
}

/** Every expression node under `e`, `e` first. */
function walkExpr(e: Expr, visit: (e: Expr) => void): void {
  visit(e);
  switch (e.k) {
    case 'load':
      walkExpr(e.idx, visit);
      if (e.valid) walkExpr(e.valid, visit);
      break;
    case 'rand':
      walkExpr(e.seed, visit);
      walkExpr(e.counter, visit);
      break;
    case 'cast':
      walkExpr(e.src, visit);
      break;
    case 'alu':
      for (const s of e.src) walkExpr(s, visit);
      break;
    default:
  }
}

function exprsOf(stmts: readonly Stmt[], visit: (e: Expr) => void): void {
  walkStmts(stmts, (s) => {
    if (s.k === 'let' || s.k === 'update' || s.k === 'store') walkExpr(s.expr, visit);
    if (s.k === 'store') walkExpr(s.idx, visit);
  });
}

/** A loop and the loops nested in it that one flat index can walk (each level: lets, then one loop). */
function nestOf(l: LoopStmt, limit: number): { nest: LoopStmt[]; n: number; body: Stmt[] } {
  const nest = [l];
  const body: Stmt[] = [];
  let n = l.n;
  for (let cur = l; ; ) {
    const last = cur.body[cur.body.length - 1];
    if (last?.k !== 'loop' || !cur.body.slice(0, -1).every((s) => s.k === 'let') || n * last.n >= limit) break;
    body.push(...cur.body.slice(0, -1));
    cur = last;
    nest.push(cur);
    n *= cur.n;
  }
  body.push(...nest[nest.length - 1]!.body);
  return { nest, n, body };
}

/**
 * The kernel's top-level loops, when threads may share every one of them: no store inside a loop
 * or before one, each accumulator a loop updates declared before it at top level, still at its
 * op's neutral init, updated by one op, in this loop only, and not read inside it (its value
 * there is a partial). Null (and why) otherwise. Statements outside the loops run in every
 * thread alike; only one thread stores.
 */
export function reductionLoops(k: Kernel, indexLimit = 2 ** 31 - 1, storesInLoops = false): readonly ReductionLoop[] | string {
  if (k.size < 1 || k.size >= indexLimit) return 'no outputs, or more than the index range';
  const ops = new Map<string, ReduceKind>();
  let mixed = false;
  walkStmts(k.body, (s) => {
    if (s.k !== 'update') return;
    if ((ops.get(s.name) ?? s.op) !== s.op) mixed = true;
    ops.set(s.name, s.op);
  });
  if (mixed) return 'an accumulator updated by two ops';
  const declared = new Map<string, Extract<Stmt, { k: 'acc' }>>();
  const taken = new Set<string>();
  const loops: ReductionLoop[] = [];
  let stored = false;
  for (const s of k.body) {
    if (s.k === 'acc') declared.set(s.name, s);
    else if (s.k === 'update') taken.add(s.name);
    else if (s.k === 'store') stored = true;
    else if (s.k === 'loop') {
      if (stored) return 'a store before a loop';
      if (s.n >= indexLimit) return 'a loop past the index range';
      const inner = new Set<string>();
      walkStmts(s.body, (t) => {
        if (t.k === 'acc') inner.add(t.name);
      });
      const updated = new Set<string>();
      let storesInside = false;
      walkStmts(s.body, (t) => {
        if (t.k === 'store' && !(storesInLoops && s.body.includes(t))) storesInside = true;
        if (t.k === 'update' && !inner.has(t.name)) updated.add(t.name);
      });
      if (storesInside) return 'a store inside a loop';
      const accs: PartialAcc[] = [];
      for (const name of updated) {
        const decl = declared.get(name);
        const op = ops.get(name)!;
        if (!decl || taken.has(name) || !NEUTRAL[op](decl.init)) return `accumulator ${name} is not a partial of one loop`;
        taken.add(name);
        accs.push({ name, dtype: decl.dtype, op, init: decl.init });
      }
      let partialRead = false;
      exprsOf(s.body, (e) => {
        if (e.k === 'local' && updated.has(e.name)) partialRead = true;
      });
      if (partialRead) return 'an accumulator read inside its loop';
      loops.push({ loop: s, ...nestOf(s, indexLimit), accs });
    }
  }
  if (!loops.length) return 'no loop';
  if (storesInLoops && !ownStores(k)) return 'a loop reads a position another thread stores';
  return loops;
}

/**
 * Whether the stores in a kernel's top-level loops stay with their thread when the loops stride
 * over a group: each stores at a position affine in its loop's index (never a loaded one: a
 * scatter's targets repeat), and every read of the output is at a position some loop stores to as
 * the same function of its index (so the same thread stored it), never another's (a scan reading
 * its previous element).
 */
function ownStores(k: Kernel): boolean {
  const norm = (e: Expr, ridx: number): string => e.key.replace(new RegExp(`\\br${ridx}\\b`, 'g'), 'R');
  const stored = new Set<string>();
  const read: string[] = [];
  const affine = (e: Expr, ridx: number): boolean =>
    e.k === 'const' || e.k === 'gid' || (e.k === 'ridx' && e.i === ridx) || (e.k === 'alu' && (e.op === 'ADD' || e.op === 'MUL') && e.src.every((x) => affine(x, ridx)));
  // of an affine index: whether it moves with the loop (a position fixed for the loop is every iteration's)
  const moves = (e: Expr, ridx: number): boolean => (e.k === 'ridx' && e.i === ridx) || (e.k === 'alu' && e.src.some((x) => moves(x, ridx)));
  for (const l of k.body) {
    if (l.k !== 'loop') continue;
    exprsOf(l.body, (e) => {
      if (e.k === 'load' && e.buf === 0) read.push(norm(e.idx, l.ridx));
    });
    for (const st of l.body) {
      if (st.k !== 'store') continue;
      if (!affine(st.idx, l.ridx) || !moves(st.idx, l.ridx)) return false;
      stored.add(norm(st.idx, l.ridx));
    }
  }
  return read.every((r) => stored.has(r));
}

/** An integer index expression's value at a point (gid and reduction indices), or null if it depends on anything else. */
function evalIndex(e: Expr, gidValue: number, r: ReadonlyMap<number, number>): number | null {
  switch (e.k) {
    case 'const':
      return e.value;
    case 'gid':
      return gidValue;
    case 'ridx':
      return r.get(e.i) ?? 0;
    case 'cast':
      return e.bitcast || isFloat(e.dtype) || isFloat(e.src.dtype) ? null : evalIndex(e.src, gidValue, r);
    case 'alu': {
      const v = e.src.map((s) => evalIndex(s, gidValue, r));
      if (v.some((x) => x === null)) return null;
      const [a, b] = v as number[];
      switch (e.op) {
        case 'ADD':
          return a! + b!;
        case 'MUL':
          return a! * b!;
        case 'NEG':
          return -a!;
        case 'IDIV':
          return b === 0 ? null : Math.trunc(a! / b!);
        case 'MOD':
          return b === 0 ? null : a! % b!;
        default:
          return null;
      }
    }
    default:
      return null;
  }
}

/**
 * `cols` when some load that moves with a reduction loop's indices reads consecutive elements for
 * consecutive outputs (a sum over a leading axis, a matrix product's right operand): those keep
 * their coalescing with outputs side by side. Otherwise `rows`.
 */
function layoutOf(k: Kernel, loops: readonly ReductionLoop[]): 'rows' | 'cols' {
  if (k.size === 1) return 'rows';
  for (const { loop } of loops) {
    const ridxs: number[] = [];
    walkStmts([loop], (s) => {
      if (s.k === 'loop') ridxs.push(s.ridx);
    });
    let cols = false;
    exprsOf(loop.body, (e) => {
      if (e.k !== 'load') return;
      const at = (g: number, r: ReadonlyMap<number, number>) => evalIndex(e.idx, g, r);
      const base = at(0, new Map());
      if (base === null) return;
      const moves = ridxs.some((i) => at(0, new Map([[i, 1]])) !== base);
      const step = at(1, new Map());
      if (moves && step !== null && Math.abs(step - base) === 1) cols = true;
    });
    if (cols) return 'cols';
  }
  return 'rows';
}

const pow2ceil = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, n)));
const pow2floor = (n: number): number => 2 ** Math.floor(Math.log2(Math.max(1, n)));

/**
 * Whether a kernel's outputs are reduced cooperatively, and how: the smallest share is a subgroup
 * (the group where there are none) with `minIterationsPerThread` iterations each; an output takes
 * more threads as its loop is longer, up to the whole group (for at most `maxWholeGroupOutputs`
 * outputs); with few outputs, one group's spare threads join them.
 */
export function planGroups(k: Kernel, numbers: PlanNumbers): GroupPlan | null {
  const coop = numbers.cooperative;
  const G = numbers.groupSize;
  if (!coop || G <= 1) return null;
  const loops = reductionLoops(k, coop.indexLimit, coop.ownStores ?? false);
  if (typeof loops === 'string') return null;
  if (coop.combineDtypes) {
    for (const s of k.body) if (s.k === 'acc' && !coop.combineDtypes.includes(s.dtype)) return null;
  }
  const subgroups = numbers.subgroupSize !== undefined && numbers.subgroupSize > 1 && numbers.subgroupSize <= G;
  const sg = subgroups ? numbers.subgroupSize! : G;
  const longest = Math.max(0, ...loops.map((l) => l.n));
  if (longest < coop.minIterationsPerThread * sg) return null;
  const layout = coop.maxColumnOutputs !== undefined ? layoutOf(k, loops) : 'rows';
  if (k.size > (layout === 'cols' ? coop.maxColumnOutputs! : coop.maxRowOutputs)) return null;
  let outputs: number;
  let whole = false;
  if (layout === 'cols') outputs = Math.min(sg, pow2ceil(k.size));
  else {
    let perOutput = Math.min(G, Math.max(sg, pow2floor(longest / coop.minIterationsPerThread)));
    whole = perOutput === G && k.size <= coop.maxWholeGroupOutputs;
    if (perOutput === G && !whole) {
      if (!subgroups) return null;
      perOutput = sg;
    }
    if (coop.threadsPerOutput === 'subgroup-or-group') {
      perOutput = whole ? G : sg;
      outputs = G / perOutput;
    } else outputs = Math.min(G / perOutput, pow2ceil(k.size));
  }
  const threads = G / outputs;
  // the combine's slots: at most one 8-byte partial per thread and accumulator
  const accs = loops.reduce((n, l) => n + l.accs.length, 0);
  if (accs * G * 8 > numbers.sharedMemoryBytes) return null;
  // consecutive outputs side by side share a subgroup: their combine goes through shared memory
  const combine = layout === 'rows' && threads <= sg && subgroups && !whole ? 'subgroup' : 'shared';
  return { layout, outputsPerGroup: outputs, threadsPerOutput: threads, combine, groups: Math.ceil(k.size / outputs), loops };
}

/**
 * Whether one long reduction loop is also cut into parts, each with its own partial accumulators,
 * combined in part order: on a group backend across groups (parts interleave by the output's
 * threads), without groups into contiguous chunks of the top-level loop, their starts multiples of
 * `align` (the loop's vector step). The cut depends only on the kernel and the numbers.
 */
export function planSplit(k: Kernel, numbers: PlanNumbers, group: GroupPlan | null, flat?: FlatKernel, align = 1): SplitPlan | null {
  const s = numbers.split;
  if (!s || k.size >= s.outputsBelow) return null;
  let loop: ReductionLoop;
  let groups = 1;
  let threads = 1;
  let n: number;
  if (numbers.groupSize > 1) {
    if (!group || group.loops.length !== 1 || group.loops[0]!.accs.length === 0) return null;
    loop = group.loops[0]!;
    groups = group.groups;
    threads = group.threadsPerOutput;
    n = loop.n;
  } else {
    const loops = reductionLoops(k);
    if (typeof loops === 'string' || loops.length !== 1 || loops[0]!.accs.length === 0) return null;
    loop = loops[0]!;
    // every accumulator is a partial of the loop (an acc no loop updates is final as declared)
    if (k.body.some((t) => t.k === 'acc' && !loop.accs.some((a) => a.name === t.name))) return null;
    n = loop.loop.n;
  }
  if (s.minWork > 0) {
    const f = flat ?? flatten(k);
    if (k.size * workPerGid(f.body) < s.minWork) return null;
  }
  const parts = Math.min(Math.floor(s.targetParts / groups), Math.floor(n / (threads * s.minIterationsPerThread)));
  if (parts < 2 || n + threads * parts >= 2 ** 31) return null;
  if (numbers.groupSize > 1) return { parts, loop };
  const bounds: number[] = [];
  for (let c = 0; c < parts; c++) bounds.push(Math.floor((c * n) / parts / align) * align);
  bounds.push(n);
  return { parts, loop, bounds };
}

/**
 * Which loop variable the vector lanes take (backends without groups). Outputs when every load
 * then reads contiguously or uniformly, else an innermost reduction loop when its loads do, else
 * whichever applies. With outputs as lanes, a kernel with a reduction takes up to
 * `maxVectorCopies` vectors per step (more outputs share each uniform load) as long as the lanes
 * classify alike; an innermost loop whose accumulators combine in any order (max, integer sums)
 * takes up to `maxReductionChains`, each copy a chain of its own: a max of f32x4.max is bound by
 * the latency of one dependent chain, not by its loads.
 */
export function planVector(flat: FlatKernel, numbers: PlanNumbers): VectorPlan {
  const W = numbers.vectorWidth;
  if (W <= 1 || numbers.groupSize > 1) return { lanes: 'none' };
  const same = (a: LoadCounts, b: LoadCounts): boolean => a.contiguous === b.contiguous && a.uniform === b.uniform && a.gathered === b.gathered;
  let gid: { classes: Map<Value, Lane>; loads: LoadCounts; copies: number } | undefined;
  if (flat.kernel.size >= W && laneable(flat.body)) {
    const classes = classify(flat.body, flat.gid, W);
    gid = { classes, loads: countLoads(flat.body, classes), copies: 1 };
    if (flat.body.some((i) => i.k === 'loop')) {
      for (let copies = numbers.maxVectorCopies; copies > 1 && gid.copies === 1; copies /= 2) {
        if (flat.kernel.size < W * copies) continue;
        const wide = classify(flat.body, flat.gid, W * copies);
        const loads = countLoads(flat.body, wide);
        if (same(loads, gid.loads)) gid = { classes: wide, loads, copies };
      }
    }
  }
  // innermost loops, several iterations at a time. A loop that stores may read back an earlier
  // iteration's store (a scan walking its fiber): it is vectorized only when it loads the output
  // at nothing but the positions it stores to, so its iterations are independent (a row
  // kernel's loop rewriting its row in place).
  const independent = (l: Loop): boolean => {
    const stored = new Set(l.body.flatMap((i) => (i.k === 'store' ? [i.idx] : [])));
    if (stored.size === 0) return true;
    // each iteration stores to its own position (an index affine in the loop's, never a
    // loaded one: a scatter's repeated targets accumulate in order) and reads back only those
    const uniform = (v: Value): boolean => v.level < l.ridx.level;
    const affine = (v: Value): boolean => uniform(v) || v === l.ridx || (v.kind === 'alu' && (v.op === 'ADD' || v.op === 'MUL') && v.args.every(affine));
    return [...stored].every((i) => !uniform(i) && affine(i)) && valuesOf(l.body).every((v) => v.kind !== 'load' || v.n !== 0 || stored.has(v.args[0]!));
  };
  const candidates = loopsOf(flat.body)
    .filter((l) => !l.body.some((i) => i.k === 'loop') && independent(l) && l.n >= 2 * W && laneable(l.body))
    .map((loop) => {
      const classes = classify(loop.body, loop.ridx, W);
      let lanes: LoopLanes = { classes, copies: 1 };
      const loads = countLoads(loop.body, classes);
      const accs = accsOf(loop.body);
      if (accs.length > 0 && accs.every((a) => orderFree(a.dtype, a.op))) {
        for (let copies = numbers.maxReductionChains; copies > 1 && lanes.copies === 1; copies /= 2) {
          if (loop.n < 2 * W * copies) continue;
          const wide = classify(loop.body, loop.ridx, W * copies);
          if (same(countLoads(loop.body, wide), loads)) lanes = { classes: wide, copies };
        }
      }
      return { loop, lanes, loads };
    });
  const contiguous = candidates.filter((c) => c.loads.gathered === 0);
  // every loop that reads contiguously (a row kernel's passes), else the longest
  const inner = contiguous.length ? contiguous : candidates.sort((a, b) => b.loop.n - a.loop.n).slice(0, 1);
  const ofGid = (): VectorPlan => ({ lanes: 'outputs', width: W, copies: gid!.copies, classes: gid!.classes });
  const ofInner = (): VectorPlan => ({ lanes: 'loop', width: W, loops: new Map(inner.map((c) => [c.loop, c.lanes])) });
  if (gid && gid.loads.gathered === 0) return ofGid();
  if (contiguous.length) return ofInner();
  if (gid) return ofGid();
  if (inner.length) return ofInner();
  return { lanes: 'none' };
}

const isTileAccess = (e: Expr): boolean => e.k === 'load' && e.idx.k === 'gid' && e.valid === null;

/**
 * Vector tiles (backends with groups): an elementwise kernel whose stores are at `gid` covers
 * `width` consecutive outputs per thread step, where `width` is one access of `vectorWidth`·4
 * bytes over the widest buffer accessed at `gid`; as many steps are loaded at once as
 * `tileLoadBytes` allows (at most `maxVectorCopies`). Only buffers holding every index the kernel
 * covers are tiled; the `size % width` last outputs run one per thread.
 */
export function planTiles(k: Kernel, numbers: PlanNumbers): VectorPlan {
  const none: VectorPlan = { lanes: 'none' };
  const bytes = numbers.vectorWidth * 4;
  if (numbers.groupSize <= 1 || numbers.tileLoadBytes === undefined || numbers.vectorWidth <= 1) return none;
  if (k.size >= (numbers.cooperative?.indexLimit ?? 2 ** 31 - 1) || !k.body.every((s) => s.k === 'let' || s.k === 'store')) return none;
  const stores = k.body.filter((s): s is Extract<Stmt, { k: 'store' }> => s.k === 'store');
  if (stores.length === 0 || stores.some((s) => s.idx.k !== 'gid')) return none;
  const loads = new Set<number>();
  exprsOf(k.body, (e) => {
    if (e.k === 'load' && isTileAccess(e)) loads.add(e.buf);
  });
  const tiled = [...new Set([...loads, ...stores.map((s) => s.buf)])];
  // a tile reads whole vectors: only buffers that hold every index the kernel covers
  if (tiled.some((b) => k.buffers[b]!.size < k.size)) return none;
  const width = bytes / Math.max(...tiled.map((b) => DTYPES[k.buffers[b]!.dtype].itemsize));
  if (k.size < width) return none;
  const copies = Math.max(1, Math.min(numbers.maxVectorCopies, Math.floor(numbers.tileLoadBytes / (bytes * Math.max(1, loads.size)))));
  return { lanes: 'tiles', width, copies, loads: [...loads].sort((a, b) => a - b) };
}

/**
 * The whole plan of a kernel for a backend's numbers. `flat` (the kernel flattened) saves a
 * second flattening where the caller has it.
 */
export function planKernel(k: Kernel, numbers: PlanNumbers, opts: { readonly flat?: FlatKernel } = {}): KernelPlan {
  let vector: VectorPlan = planTiles(k, numbers);
  const group = vector.lanes === 'none' ? planGroups(k, numbers) : null;
  let flat = opts.flat;
  if (numbers.groupSize <= 1 && numbers.vectorWidth > 1) {
    flat ??= flatten(k);
    vector = planVector(flat, numbers);
  }
  // chunk starts stay on the vector step of the loop they cut
  const top = flat?.body.find((i): i is Loop => i.k === 'loop');
  const step = vector.lanes === 'loop' && top && vector.loops.has(top) ? vector.width * vector.loops.get(top)!.copies : 1;
  const split = planSplit(k, numbers, group, flat, Math.max(step, numbers.split?.align ?? 1));
  return { vector, group, split };
}

/** One line for explain(): the plan's vector lanes, cooperative groups and split. */
export function describePlan(k: Kernel, plan: KernelPlan, numbers: PlanNumbers): string {
  const parts: string[] = [];
  const v = plan.vector;
  if (v.lanes === 'outputs') parts.push(`vector ${v.width}${v.copies > 1 ? `×${v.copies}` : ''} outputs per step`);
  else if (v.lanes === 'tiles') parts.push(`vector tiles of ${v.width} outputs (${numbers.vectorWidth * 4} bytes) per thread step, ${v.copies} in flight`);
  else if (v.lanes === 'loop') {
    const each = [...v.loops].map(([l, { copies }]) => `r${l.ridx.n}${copies > 1 ? ` (×${copies})` : ''}`);
    const [only] = v.loops.values();
    if (v.loops.size === 1) parts.push(`vector ${v.width}${only!.copies > 1 ? `×${only!.copies}` : ''} iterations of loop ${each[0]!.split(' ')[0]} per step`);
    else parts.push(`vector ${v.width} iterations per step of loops ${each.join(', ')}`);
  }
  else if (numbers.groupSize <= 1) parts.push('scalar');
  const g = plan.group;
  if (g) {
    const how = g.combine === 'subgroup' ? 'subgroup shuffles' : 'shared memory';
    parts.push(`group ${numbers.groupSize}: ${g.outputsPerGroup} output${g.outputsPerGroup === 1 ? '' : 's'} per group (${g.layout}), ${g.threadsPerOutput} threads each, combined by ${how}`);
  } else if (numbers.groupSize > 1 && v.lanes === 'none') parts.push(`group ${numbers.groupSize}: one thread per output`);
  const s = plan.split;
  if (s) parts.push(s.bounds ? `reduction split into ${s.parts} chunks of loop r${s.loop.loop.ridx}, combined in chunk order` : `loop split across ${s.parts} groups, combined in a fixed order`);
  return parts.join('; ');
}
