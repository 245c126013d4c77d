/**
 * PyTorch's autograd semantics at the tensor level: which leaves receive gradients, when they
 * accumulate, when a graph is freed. The gradients themselves come from @fusor/autograd's IR
 * rules, as lazy IR that is realized together at the end of backward().
 */
import { gradients } from '@fusor/autograd';
import { castNode, constNode, binaryNode, shapeEqual, toposort, type Node } from '@fusor/ir';
import { needsAsyncRead, realize, realizeAsync } from '@fusor/runtime';
import { AutogradError } from './errors.js';
import { state } from './state.js';
import { commitVersion, edgeOf, GradFn, Tensor, type Edge } from './tensor.js';

export interface BackwardOptions {
  /** Keep the graph so backward can run through it again. */
  readonly retainGraph?: boolean;
  /** Record the backward pass itself, for higher-order gradients. */
  readonly createGraph?: boolean;
}

export interface GradOptions extends BackwardOptions {
  /** The gradient of each output (required for non-scalar outputs). */
  readonly gradOutputs?: readonly (Tensor | null)[];
  /** Return null for inputs the outputs do not depend on, instead of raising. */
  readonly allowUnused?: boolean;
}

const FREED =
  'Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). Saved intermediate values of the graph are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if you need to access saved tensors after calling backward.';

interface Walk {
  /** Each tensor that can receive a gradient, with the nodes it had when used. */
  readonly targets: Map<Tensor, Set<Node>>;
  /** Non-leaf tensors with hooks: their gradient is transformed before it flows on. */
  readonly hooked: Map<Node, Tensor>;
  /** Leaves the outputs reach through recorded ops: PyTorch gives each a gradient, zeros if need be. */
  readonly reached: Set<Tensor>;
  readonly fns: GradFn[];
}

const TYPE_NAME: Readonly<Record<string, string>> = { float32: 'Float', float64: 'Double', float16: 'Half', bfloat16: 'BFloat16' };

function modifiedError(e: Edge, outputOf?: string): AutogradError {
  const t = e.tensor;
  const name = `torch.${TYPE_NAME[t.dtype] ?? 'Float'}Tensor [${t.shape.join(', ')}]`;
  const producer = outputOf ?? t.gradFn?.name;
  const of = producer ? `, which is output 0 of ${producer},` : '';
  return new AutogradError(
    `one of the variables needed for gradient computation has been modified by an inplace operation: [${name}]${of} is at version ${t._box.version}; expected version ${e.version} instead. Hint: the backtrace further above shows the operation that failed to compute its gradient. The variable in question was changed in there or anywhere later. Good luck!`,
  );
}

/** Walks the tensor-level graph from `roots`, finding leaves, retained and hooked tensors. */
function walk(roots: readonly Tensor[], extra: readonly Tensor[] = []): Walk {
  const targets = new Map<Tensor, Set<Node>>();
  const hooked = new Map<Node, Tensor>();
  const reached = new Set<Tensor>();
  const fns: GradFn[] = [];
  const seen = new Set<GradFn>();
  const addTarget = (t: Tensor, n: Node): void => {
    let s = targets.get(t);
    if (!s) targets.set(t, (s = new Set()));
    s.add(n);
  };
  const stack: GradFn[] = [];
  for (const t of roots) {
    if (t.gradFn) stack.push(t.gradFn);
    else if (t.requiresGrad) addTarget(t, t.node);
  }
  for (const t of extra) addTarget(t, t.node);
  while (stack.length) {
    const fn = stack.pop()!;
    if (seen.has(fn)) continue;
    seen.add(fn);
    fns.push(fn);
    const owner = fn.owner;
    if (owner && owner.gradFn === fn) {
      if (owner._retainsGrad) addTarget(owner, fn.node);
      if (owner._hooks.length) hooked.set(fn.node, owner);
    }
    for (const e of fn.edges) {
      if (e.fn) stack.push(e.fn);
      else if (e.tensor.requiresGrad) {
        addTarget(e.tensor, e.node);
        reached.add(e.tensor);
      }
    }
  }
  // PyTorch runs the functions latest first and raises at the first that cannot run
  for (const fn of [...fns].sort((x, y) => y.seq - x.seq)) {
    if (fn.released && fn.savesTensors) throw new AutogradError(FREED);
    for (const v of fn.saved) {
      if (v.box.version !== v.version) {
        const producer = v.tensor._box === v.box && v.tensor.gradFn === fn ? fn.name : undefined;
        throw modifiedError({ tensor: v.tensor, node: fn.node, fn, version: v.version }, producer);
      }
    }
    if (fn.backwardError) throw fn.backwardError();
  }
  return { targets, hooked, reached, fns };
}

/**
 * Gradients of `out` for every target node. Without hooks this is one sweep over the IR. With
 * hooks on non-leaf tensors, the sweep stops at each hooked node; once all of a hooked node's
 * gradient has arrived, its hooks transform it and the sweep continues from there.
 */
function sweep(out: Tensor, seed: Node, w: Walk, targetNodes: readonly Node[]): Map<Node, Node> {
  if (w.hooked.size === 0) return gradients(out.node, targetNodes, seed);
  const hookedNodes = [...w.hooked.keys()];
  const all = [...new Set([...targetNodes, ...hookedNodes])];
  const isHooked = (n: Node): boolean => w.hooked.has(n);
  const total = new Map<Node, Node>();
  const addAll = (m: Map<Node, Node>): void => {
    for (const [n, g] of m) {
      const prev = total.get(n);
      total.set(n, prev ? binaryNode('ADD', prev, g) : g);
    }
  };
  addAll(gradients(out.node, all, seed, isHooked));
  // hooked nodes in reverse topological order: everything flowing into one arrives before it is used
  const order = toposort([out.node]).filter(isHooked).reverse();
  for (const h of order) {
    const g = total.get(h);
    if (!g) continue;
    const t = w.hooked.get(h)!;
    const transformed = t._hooks.reduce<Tensor>((cur, hook) => hook(cur) ?? cur, Tensor._fromNode(g));
    total.set(h, transformed.node);
    const rest = gradients(h, all.filter((n) => n !== h), castNode(transformed.node, h.dtype), (n) => isHooked(n) && n !== h);
    addAll(rest);
  }
  return total;
}

function seedFor(out: Tensor, gradient: Tensor | null | undefined, i = 0): Node {
  if (gradient === undefined || gradient === null) {
    if (out.numel() !== 1) throw new AutogradError('grad can be implicitly created only for scalar outputs');
    return constNode(1, out.dtype, out.shape, out.device);
  }
  if (!shapeEqual(gradient.shape, out.shape)) {
    throw new AutogradError(
      `Mismatch in shape: grad_output[${i}] has a shape of torch.Size([${gradient.shape.join(', ')}]) and output[${i}] has a shape of torch.Size([${out.shape.join(', ')}]).`,
    );
  }
  return castNode(gradient.node, out.dtype);
}

/**
 * Sums the gradients of every node a tensor had, as that tensor's gradient. A leaf the outputs
 * reach but whose values they do not depend on (x.pow(0), a rounded quotient) gets zeros, as in
 * PyTorch, rather than no gradient.
 */
function gradOf(t: Tensor, nodes: Set<Node>, grads: Map<Node, Node>, w: Walk): Node | undefined {
  let g: Node | undefined;
  for (const n of nodes) {
    const gn = grads.get(n);
    if (gn) g = g ? binaryNode('ADD', g, gn) : gn;
  }
  if (!g && w.reached.has(t)) return constNode(0, t.dtype, t.shape, t.device);
  return g && castNode(g, t.dtype);
}

/** A gradient tensor; under createGraph it carries history back to the tensors it was computed from. */
function gradTensor(node: Node, w: Walk, createGraph: boolean): Tensor {
  const t = Tensor._fromNode(node);
  if (createGraph) {
    const edges = [...w.targets]
      .filter(([leaf]) => leaf.isLeaf)
      .flatMap(([leaf, nodes]) => [...nodes].map((n): Edge => ({ tensor: leaf, node: n, fn: null, version: leaf._box.version })));
    if (edges.length) {
      t.requiresGrad = true;
      t.gradFn = new GradFn('MulBackward0', edges, true, node);
    }
  }
  return t;
}

function applyHooks(t: Tensor, g: Tensor): Tensor {
  let cur = g;
  for (const h of t._hooks) cur = h(cur) ?? cur;
  return cur;
}

/**
 * Accumulates gradients into the leaves. Returns undefined once they are in place, or — when the
 * graph crosses out of a device that has no synchronous read (webgpu) — a promise that settles
 * when they are: `await loss.backward()` is right on every device.
 */
export function backward(out: Tensor, gradient: Tensor | undefined, opts: BackwardOptions = {}): Promise<void> | undefined {
  if (!out.requiresGrad) throw new AutogradError('element 0 of tensors does not require grad and does not have a grad_fn');
  const seed = seedFor(out, gradient);
  const w = walk([out]);
  const nodes = [...w.targets.values()].flatMap((s) => [...s]);
  const grads = sweep(out, seed, w, nodes);
  const updated: Tensor[] = [];
  const prev = state.gradEnabled;
  state.gradEnabled = opts.createGraph === true;
  try {
    for (const [t, ns] of w.targets) {
      const g = gradOf(t, ns, grads, w);
      if (!g) continue;
      const gt = t.isLeaf ? applyHooks(t, gradTensor(g, w, opts.createGraph === true)) : gradTensor(g, w, opts.createGraph === true);
      const prevGrad = t.grad;
      if (prevGrad && !opts.createGraph && !prevGrad.requiresGrad && !prevGrad.isView) {
        // PyTorch's AccumulateGrad adds into the existing .grad in place: the same tensor, a new version
        commitVersion(prevGrad._box, binaryNode('ADD', prevGrad.node, castNode(gt.node, prevGrad.dtype)));
        updated.push(prevGrad);
      } else {
        t.grad = prevGrad ? accumulate(prevGrad, gt, opts.createGraph === true) : gt;
        updated.push(t.grad);
      }
    }
  } finally {
    state.gradEnabled = prev;
  }
  const release = (): void => {
    if (!opts.retainGraph) for (const fn of w.fns) fn.released = true;
  };
  if (opts.createGraph) {
    release();
    return undefined;
  }
  // the output is realized with the gradients: it is almost always read next, and shares their work
  const roots = [out.node, ...updated.map((t) => t.node)];
  // a gradient accumulated into an existing .grad is that tensor's new contents (compacted to a
  // buffer); a new one stays a computed result, which the runtime may drop once it is
  // replaced (p.grad = null) and the loop moves on
  const compact = (): void => {
    for (const t of updated) if (t.version > 0) t._compact();
  };
  if (!needsAsyncRead(roots)) {
    realize(roots);
    compact();
    release();
    return undefined;
  }
  // The graph crosses out of a device without synchronous reads (webgpu → cpu or cuda): its
  // launches are issued now, in order, and the copies awaited; the gradients land when the
  // promise settles (`await loss.backward()`). Until then a synchronous read of them raises.
  release();
  return realizeAsync(roots).then(compact);
}

function accumulate(prev: Tensor, g: Tensor, createGraph: boolean): Tensor {
  const node = binaryNode('ADD', prev.node, castNode(g.node, prev.dtype));
  const t = Tensor._fromNode(node);
  if (createGraph && (g.requiresGrad || prev.requiresGrad)) {
    t.requiresGrad = true;
    t.gradFn = new GradFn('AddBackward0', [prev, g].filter((x) => x.requiresGrad).map(edgeOf), false, node);
  }
  return t;
}

/** torch.autograd.grad: gradients of `outputs` with respect to `inputs`, returned instead of accumulated. */
export function grad(outputs: Tensor | readonly Tensor[], inputs: Tensor | readonly Tensor[], opts: GradOptions = {}): (Tensor | null)[] {
  const outs = outputs instanceof Tensor ? [outputs] : [...outputs];
  const ins = inputs instanceof Tensor ? [inputs] : [...inputs];
  for (const i of ins) {
    if (!i.requiresGrad) throw new AutogradError('One of the differentiated Tensors does not require grad');
  }
  for (const o of outs) {
    if (!o.requiresGrad) throw new AutogradError('element 0 of tensors does not require grad and does not have a grad_fn');
  }
  const w = walk(outs, ins);
  const createGraph = opts.createGraph === true;
  const total = new Map<Tensor, Node>();
  outs.forEach((o, k) => {
    const seed = seedFor(o, opts.gradOutputs?.[k], k);
    const nodes = ins.flatMap((t) => [...(w.targets.get(t) ?? [t.node])]);
    const grads = sweep(o, seed, w, nodes);
    for (const t of ins) {
      const g = gradOf(t, w.targets.get(t) ?? new Set([t.node]), grads, w);
      if (!g) continue;
      const prev = total.get(t);
      total.set(t, prev ? binaryNode('ADD', prev, g) : g);
    }
  });
  const result = ins.map((t) => {
    const g = total.get(t);
    if (!g) {
      if (opts.allowUnused) return null;
      throw new AutogradError('One of the differentiated Tensors appears to not have been used in the graph. Set allow_unused=True if this is the desired behavior.');
    }
    return gradTensor(g, w, createGraph);
  });
  if (!createGraph) {
    const real = result.filter((t): t is Tensor => t !== null);
    const roots = real.map((t) => t.node);
    // realized together (they share their work), unless that needs a read out of a device without
    // synchronous reads (webgpu → cpu): then they are returned lazy, and `await g.data()` (or
    // `await g.realizeAsync()`) realizes each with the asynchronous read, as backward's promise does
    if (!needsAsyncRead(roots)) {
      realize(roots);
      real.forEach((t) => t._compact());
    }
  }
  if (!(opts.retainGraph ?? createGraph)) for (const fn of w.fns) fn.released = true;
  return result;
}

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const prev = state.gradEnabled;
  state.gradEnabled = enabled;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    state.gradEnabled = prev;
    throw e;
  }
  if (result instanceof Promise) {
    // async functions keep the mode until they settle
    return result.finally(() => {
      state.gradEnabled = prev;
    }) as T;
  }
  state.gradEnabled = prev;
  return result;
}

/** Runs `fn` without recording autograd history (also async functions, until they settle). */
export const noGrad = <T>(fn: () => T): T => withGradMode(false, fn);
/** Runs `fn` with autograd recording on, even inside noGrad. */
export const enableGrad = <T>(fn: () => T): T => withGradMode(true, fn);
export const isGradEnabled = (): boolean => state.gradEnabled;
export function setGradEnabled(enabled: boolean): void {
  state.gradEnabled = enabled;
}
