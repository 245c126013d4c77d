/**
 * `jit(fn)`: traces a step once, then replays what it launched on new inputs. The first call
 * with a new input signature runs `fn` eagerly while the compiler records every launch and the
 * frontend records which state from before the call `fn` read and changed: parameters (their
 * storage boxes), `.grad`s, the random generator. Later calls with that signature skip `fn`
 * entirely: no tracing, autograd, scheduling, lowering or compiling, only the recorded launches
 * on the new inputs' buffers, then the same state changes. A parameter updated in place
 * (`p.sub_(…)` under noGrad) is written into its own buffer on replay.
 *
 * What a replay cannot see: control flow on values (reading tensors to the host inside `fn`
 * raises), JavaScript side effects, and tensors `fn` stores anywhere but `.grad` and in-place
 * updates. Outputs of a replay carry no autograd history.
 */
import { bufferNode, type Node } from '@fusor/ir';
import { allocLike, capture, getBuffer, isExclusive, markStale, realize, setBuffer, untaped, type DeviceBuffer, type Recording } from '@fusor/runtime';
import { isGradEnabled, state } from './state.js';
import { commitVersion, Tensor, type Box } from './tensor.js';
import { tracing, type Tracer } from './trace.js';
import { runIndexCheck } from './index-checks.js';

/** Misuse of jit: a signature past `maxTraces`, a host read while tracing, an output that is not a tensor. */
export class JitError extends Error {
  override name = 'JitError';
}

export interface JitOptions {
  /** Input signatures (shapes, dtypes, devices, non-tensor arguments) traced before a new one raises (default 8). */
  readonly maxTraces?: number;
  /** Name used in error messages (default: the function's name). */
  readonly name?: string;
}

export interface Jitted<A extends unknown[], R> {
  (...args: A): R;
  /** Traces made so far: one per input signature (and state, e.g. `.grad` set or not). */
  readonly traces: number;
}

/** Where a value from before the call lives: found again at every replay. */
type Path =
  | { readonly k: 'input'; readonly i: number }
  | { readonly k: 'box'; readonly box: Box }
  | { readonly k: 'grad'; readonly tensor: Tensor }
  | { readonly k: 'buffer'; readonly buf: DeviceBuffer };

/** How a replay binds one buffer of the recording. */
type Bind =
  | { readonly k: 'path'; readonly path: Path }
  /** Computed by the step and used only inside it: the traced buffer is reused. */
  | { readonly k: 'scratch' }
  /** Computed by the step and kept after it (an output, a new `.grad`): a new buffer per call. */
  | { readonly k: 'fresh' }
  /** Computed in place over another buffer of the recording (a parameter updated in place). */
  | { readonly k: 'over'; readonly of: number };

/** A value a traced call leaves behind: a tensor object from before the call, or a buffer of the recording. */
type Value =
  | { readonly k: 'none' }
  | { readonly k: 'tensor'; readonly tensor: Tensor }
  | { readonly k: 'input'; readonly i: number }
  /** A new tensor over a buffer the step computed. */
  | { readonly k: 'buffer'; readonly index: number; readonly like: Like }
  /** A new tensor over state from before the call (`p.detach()`). */
  | { readonly k: 'path'; readonly path: Path; readonly like: Like };

/** Dtype, shape and device of a tensor a replay makes (not its traced node: that would keep its buffer alive). */
type Like = Pick<Node, 'dtype' | 'shape' | 'device'>;

type Effect =
  | { readonly k: 'box'; readonly path: Path; readonly to: number; readonly versions: number }
  | { readonly k: 'grad'; readonly tensor: Tensor; readonly to: Value };

type Template = { readonly k: 'value'; readonly v: Value } | { readonly k: 'array'; readonly items: readonly Template[] } | { readonly k: 'object'; readonly entries: readonly [string, Template][] } | { readonly k: 'literal'; readonly v: null | undefined };

interface Trace {
  readonly recording: Recording;
  readonly binds: readonly Bind[];
  /** Tensors from before the call whose `.grad` the step read, and whether it was null. */
  readonly gradGuards: readonly (readonly [Tensor, boolean])[];
  /** Tensors from before the call the step read, and their requiresGrad. */
  readonly gradFlags: readonly (readonly [Tensor, boolean])[];
  readonly effects: readonly Effect[];
  readonly output: Template;
  readonly rng: { readonly seed: number; readonly offset: number; readonly drawn: number };
  /** The step's index bounds checks: their errors, in the order of the checks output beside the result. */
  readonly checks: readonly ((value: number) => Error)[];
  /** The `.grad`s the last replay made, with the tensor each was given to. */
  made?: readonly (readonly [owner: Tensor, grad: Tensor])[];
}

/**
 * A replay that makes new `.grad`s (the step ran with them null: `zeroGrad({ setToNone: true })`,
 * PyTorch's default) writes them to new buffers. Those the previous replay made and no tensor
 * holds as `.grad` any more are freed first: a loop that never yields to the event loop never
 * lets the collector free them, and each step would keep its gradients forever.
 */
const DROPPED_GRAD =
  'this gradient was made by a torch.jit replay and freed at the next replay, once no tensor held it as .grad (zeroGrad({ setToNone: true }) or p.grad = null): clone() it to keep it';

/** One call's arguments: the tensors in order, and a key of everything a trace depends on. */
interface Signature {
  readonly tensors: Tensor[];
  readonly key: string;
  /** Per argument value, where it is and what it was (for error messages). */
  readonly parts: readonly { readonly at: string; readonly text: string; readonly tensor?: Tensor }[];
}

const objectIds = new WeakMap<object, number>();
let nextObjectId = 0;

function signature(args: readonly unknown[]): Signature {
  const tensors: Tensor[] = [];
  const parts: { at: string; text: string; tensor?: Tensor }[] = [];
  const buffers = new Map<DeviceBuffer | Node, number>();
  const walk = (v: unknown, at: string): string => {
    if (v instanceof Tensor) {
      const i = tensors.length;
      tensors.push(v);
      // two arguments that share storage must share it again: the recording reads one buffer
      const storage = getBuffer(v.node) ?? v.node;
      const first = buffers.get(storage) ?? i;
      buffers.set(storage, first);
      const part = `tensor(${v.dtype}, [${v.shape.join(', ')}], ${v.device}${v.requiresGrad ? ', requires_grad' : ''}${first !== i ? `, storage of input ${first}` : ''})`;
      parts.push({ at, text: part, tensor: v });
      return part;
    }
    if (Array.isArray(v)) return `[${v.map((x, i) => walk(x, `${at}[${i}]`)).join(',')}]`;
    if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string' || typeof v === 'bigint') {
      const part = typeof v === 'bigint' ? `${v}n` : String(JSON.stringify(v) ?? 'undefined');
      parts.push({ at, text: part });
      return part;
    }
    if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      return `{${Object.entries(v as Record<string, unknown>)
        .map(([k, x]) => `${JSON.stringify(k)}:${walk(x, `${at}.${k}`)}`)
        .join(',')}}`;
    }
    // anything else (a module, a function) is the same argument only if it is the same object
    let id = objectIds.get(v as object);
    if (id === undefined) objectIds.set(v as object, (id = nextObjectId++));
    parts.push({ at, text: `object #${id}` });
    return `#${id}`;
  };
  const key = `${isGradEnabled() ? 'grad' : 'nograd'}|${args.map((a, i) => walk(a, `argument ${i}`)).join('|')}`;
  return { tensors, key, parts };
}

/** Explains, PyTorch style, how a call differs from the first signature traced. */
function mismatch(name: string, traced: Signature, now: Signature, limit: number): JitError {
  let why = 'grad mode or state changed';
  for (let i = 0; i < Math.max(traced.parts.length, now.parts.length); i++) {
    const a = traced.parts[i];
    const b = now.parts[i];
    if (a && b && a.at === b.at && a.text === b.text) continue;
    if (!a || !b || a.at !== b.at) {
      why = `expected ${traced.parts.length} argument values, got ${now.parts.length}`;
      break;
    }
    const [ta, tb] = [a.tensor, b.tensor];
    const d = ta && tb && ta.ndim === tb.ndim ? ta.shape.findIndex((x, j) => x !== tb.shape[j]) : -1;
    if (ta && tb && ta.dtype !== tb.dtype) why = `${b.at} dtype mismatch. expected ${ta.dtype}, actual ${tb.dtype}`;
    else if (ta && tb && ta.ndim !== tb.ndim) why = `${b.at} dimensionality mismatch. expected ${ta.ndim}, actual ${tb.ndim}`;
    else if (ta && tb && d >= 0) why = `${b.at} size mismatch at index ${d}. expected ${ta.shape[d]}, actual ${tb.shape[d]}`;
    else why = `${b.at} changed. expected ${a.text}, actual ${b.text}`;
    break;
  }
  return new JitError(
    `jit(${name}) hit maxTraces (${limit}): ${why}. Each new input signature is traced anew; keep shapes, dtypes and non-tensor arguments fixed, or raise maxTraces.`,
  );
}

/** Records, during a trace, the state from before the call that the traced function touches. */
class Recorder implements Tracer {
  readonly bornSet = new WeakSet<object>();
  /** Boxes from before the call, with the node each had when first touched. */
  readonly boxes = new Map<Box, { node: Node; version: number }>();
  /** Tensors from before the call, with requiresGrad and `.grad` as first seen. */
  readonly tensors = new Map<Tensor, { requiresGrad: boolean; grad: Tensor | null; gradRead: boolean }>();
  /** Boxes of pre-existing gradient tensors, reached as `owner.grad`. */
  readonly gradBoxes = new Map<Box, Tensor>();
  /** The nodes of that state as first seen: read from their buffers, never recomputed by the trace. */
  readonly stateNodes = new WeakSet<Node>();

  /** Index bounds checks made by the step (computed as extra outputs, read after each call). */
  readonly checks: { readonly node: Node; readonly error: (value: number) => Error }[] = [];

  constructor(private readonly name: string) {}

  indexCheck(node: Node, error: (value: number) => Error): void {
    this.checks.push({ node, error });
  }

  born(x: object): void {
    this.bornSet.add(x);
  }

  touchBox(box: Box, t: Tensor): void {
    if (!this.bornSet.has(t) && !this.tensors.has(t)) this.tensors.set(t, { requiresGrad: t.requiresGrad, grad: t._grad, gradRead: false });
    if (this.bornSet.has(box) || this.boxes.has(box)) return;
    // state from before the call is read from its buffer: computing a lazy one is not part of the step
    if (!getBuffer(box.node)) untaped(() => realize([box.node]));
    this.boxes.set(box, { node: box.node, version: box.version });
    this.stateNodes.add(box.node);
  }

  touchGrad(t: Tensor): void {
    if (this.bornSet.has(t)) return;
    let seen = this.tensors.get(t);
    if (!seen) this.tensors.set(t, (seen = { requiresGrad: t.requiresGrad, grad: t._grad, gradRead: false }));
    if (!seen.gradRead) {
      seen.gradRead = true;
      const g = t._grad;
      if (g && !this.bornSet.has(g) && !this.bornSet.has(g._box)) this.gradBoxes.set(g._box, t);
    }
  }

  hostRead(what: string): void {
    throw new JitError(
      `jit(${this.name}): ${what} reads a tensor to the host while tracing; a replay would repeat the value read now. Return the tensor from the jitted function and read it outside.`,
    );
  }
}

function flattenOutput(v: unknown, name: string, out: Tensor[]): void {
  if (v instanceof Tensor) out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => flattenOutput(x, name, out));
  else if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) Object.values(v).forEach((x) => flattenOutput(x, name, out));
  else if (v !== undefined && v !== null) {
    throw new JitError(`jit(${name}): the function returned a ${typeof v}; a replay cannot recompute it. Return tensors (or arrays and objects of tensors).`);
  }
}

/** Builds the replay plan of a traced call. */
function plan(rec: Recording, r: Recorder, inputs: readonly Tensor[], result: unknown, rng: Trace['rng']): Omit<Trace, 'checks'> {
  const index = new Map<DeviceBuffer, number>(rec.buffers.map((b, i) => [b!, i]));
  const inputBuffers = new Map<DeviceBuffer, number>();
  inputs.forEach((t, i) => {
    const b = getBuffer(t.node);
    if (b && !inputBuffers.has(b)) inputBuffers.set(b, i);
  });
  const inputBoxes = new Map<Box, number>(inputs.map((t, i) => [t._box, i]));
  /** The path of a box from before the call. */
  const boxPath = (box: Box): Path => {
    const i = inputBoxes.get(box);
    if (i !== undefined) return { k: 'input', i };
    const owner = r.gradBoxes.get(box);
    return owner ? { k: 'grad', tensor: owner } : { k: 'box', box };
  };
  // buffers from before the call, by the state that held them when the step began
  const external = new Map<DeviceBuffer, Path>();
  for (const [box, first] of r.boxes) {
    const b = getBuffer(first.node);
    if (b && !external.has(b)) external.set(b, boxPath(box));
  }
  for (const [b, i] of inputBuffers) external.set(b, { k: 'input', i });

  const binds: Bind[] = rec.buffers.map((b, i): Bind => {
    if (!b) throw new JitError('internal: a recording is planned once');
    if (rec.allocated[i]) return { k: 'scratch' };
    return { k: 'path', path: external.get(b) ?? { k: 'buffer', buf: b } };
  });

  /** A value left behind, as a buffer of the recording or an object from before the call. */
  const valueOf = (t: Tensor | null): Value => {
    if (t === null) return { k: 'none' };
    const i = inputs.indexOf(t);
    if (i >= 0) return { k: 'input', i };
    if (!r.bornSet.has(t)) return { k: 'tensor', tensor: t };
    const node = t._box.node;
    const like: Like = { dtype: node.dtype, shape: node.shape, device: node.device };
    const at = index.get(getBuffer(node)!);
    if (at !== undefined) return { k: 'buffer', index: at, like };
    if (!r.bornSet.has(t._box)) return { k: 'path', path: boxPath(t._box), like };
    const first = [...r.boxes].find(([, f]) => getBuffer(f.node) === getBuffer(node));
    if (first) return { k: 'path', path: boxPath(first[0]), like };
    throw new JitError(`jit: a tensor the traced call leaves behind holds a buffer from before the call that no replay can find`);
  };

  const effects: Effect[] = [];
  /** Buffers a step leaves behind, with the buffer of the state each replaces (if any). */
  const left: [number, DeviceBuffer | undefined][] = [];
  for (const [box, first] of r.boxes) {
    if (box.node === first.node) continue;
    const to = index.get(getBuffer(box.node)!);
    if (to === undefined) continue; // now holds a buffer from before the call: nothing to compute
    effects.push({ k: 'box', path: boxPath(box), to, versions: box.version - first.version });
    left.push([to, getBuffer(first.node)]);
  }
  for (const [t, first] of r.tensors) {
    if (t._grad === first.grad) continue;
    const to = valueOf(t._grad);
    effects.push({ k: 'grad', tensor: t, to });
    const old = first.grad && !r.bornSet.has(first.grad) ? getBuffer(first.grad._box.node) : undefined;
    if (to.k === 'buffer') left.push([to.index, old]);
  }

  const template = (v: unknown): Template => {
    if (v instanceof Tensor) {
      const val = valueOf(v);
      if (val.k === 'buffer') left.push([val.index, undefined]);
      return { k: 'value', v: val };
    }
    if (Array.isArray(v)) return { k: 'array', items: v.map(template) };
    if (v !== null && typeof v === 'object') return { k: 'object', entries: Object.entries(v).map(([k, x]) => [k, template(x)]) };
    return { k: 'literal', v: v as null | undefined };
  };
  const output = template(result);

  const uses = new Map<number, number>();
  for (const [i] of left) {
    uses.set(i, (uses.get(i) ?? 0) + 1);
    if (binds[i]!.k === 'scratch') binds[i] = { k: 'fresh' };
  }
  // a value replacing state from before the call is computed over that state's own buffer when
  // its one writer reads the old value only elementwise and nothing reads the old value later
  for (const [to, old] of left) {
    const from = old && index.get(old);
    const bind = from === undefined ? undefined : binds[from]!;
    if (from === undefined || bind?.k !== 'path' || bind.path.k === 'buffer' || binds[to]!.k !== 'fresh' || uses.get(to) !== 1) continue;
    const writers = rec.writers(to);
    if (writers.length !== 1 || rec.writers(from).length > 0) continue;
    if (!rec.mayWriteOver(writers[0]!, from) || rec.readAfter(from, writers[0]!)) continue;
    binds[to] = { k: 'over', of: from };
  }
  // inputs change every call (their flags are in the signature): guards are on state only
  const held = [...r.tensors].filter(([t]) => !inputBoxes.has(t._box));
  // the recording keeps only the buffers replays reuse
  binds.forEach((b, i) => b.k !== 'scratch' && rec.release(i));
  const gradGuards = held.filter(([, s]) => s.gradRead).map(([t, s]) => [t, s.grad === null] as const);
  const gradFlags = held.map(([t, s]) => [t, s.requiresGrad] as const);
  return { recording: rec, binds, gradGuards, gradFlags, effects, output, rng };
}

/** The buffer behind a path now, realizing a lazy value (computed outside the step). */
function resolve(path: Path, inputs: readonly Tensor[]): { buf: DeviceBuffer; node?: Node } {
  if (path.k === 'buffer') return { buf: path.buf };
  const box = boxOf(path, inputs)!;
  if (!getBuffer(box.node)) realize([box.node]);
  return { buf: getBuffer(box.node)!, node: box.node };
}

function boxOf(path: Path, inputs: readonly Tensor[]): Box | undefined {
  switch (path.k) {
    case 'input':
      return inputs[path.i]!._box;
    case 'box':
      return path.box;
    case 'grad':
      return path.tensor._grad?._box;
    case 'buffer':
      return undefined;
  }
}

/** A tensor over a buffer of a replay (no autograd history). */
function wrap(buf: DeviceBuffer, like: Like): Tensor {
  const n = bufferNode(like.dtype, like.shape, like.device);
  setBuffer(n, buf);
  return Tensor._fromNode(n);
}

function replay(t: Trace, inputs: readonly Tensor[]): unknown {
  for (const [owner, grad] of t.made ?? []) if (owner._grad !== grad) grad._dispose(DROPPED_GRAD);
  const rec = t.recording;
  const bound: DeviceBuffer[] = new Array(rec.buffers.length);
  const oldNodes: Node[] = [];
  for (let i = 0; i < t.binds.length; i++) {
    const b = t.binds[i]!;
    if (b.k === 'path') {
      const { buf, node } = resolve(b.path, inputs);
      bound[i] = buf;
      if (node) oldNodes[i] = node;
    } else if (b.k === 'scratch') bound[i] = rec.buffers[i]!;
    else if (b.k === 'fresh') bound[i] = allocLike(rec.specs[i]!);
  }
  // written over the state's own buffer when nothing else holds it; the first replay after a trace
  // usually finds it shared (with the traced graph) and computes into a buffer of its own instead
  const overwritten: number[] = [];
  for (let i = 0; i < t.binds.length; i++) {
    const b = t.binds[i]!;
    if (b.k !== 'over') continue;
    const target = bound[b.of]!;
    if (isExclusive(target)) {
      bound[i] = target;
      overwritten.push(b.of);
    } else bound[i] = allocLike(rec.specs[i]!);
  }
  const base = state.offset;
  const { seed, offset, drawn } = t.rng;
  // random numbers drawn by the step are drawn anew, from where the generator is now
  rec.replay(bound, (s, o) => ((s >>> 0) === seed && o >= (offset | 0) && o < offset + drawn ? [state.seed | 0, (o - offset + base) | 0] : [s, o]));
  state.offset = base + drawn;

  // values overwritten in place are gone: lazy values still reading them must not see the new ones
  for (const i of overwritten) if (oldNodes[i]) markStale(oldNodes[i]!);
  const valueNow = (v: Value): Tensor | null => {
    switch (v.k) {
      case 'none':
        return null;
      case 'tensor':
        return v.tensor;
      case 'input':
        return inputs[v.i]!;
      case 'buffer':
        return wrap(bound[v.index]!, v.like);
      case 'path':
        return wrap(resolve(v.path, inputs).buf, v.like);
    }
  };
  const made: (readonly [Tensor, Tensor])[] = [];
  for (const e of t.effects) {
    if (e.k === 'box') {
      const box = boxOf(e.path, inputs)!;
      const n = bufferNode(box.node.dtype, box.node.shape, box.node.device);
      setBuffer(n, bound[e.to]!);
      commitVersion(box, n);
      box.version += e.versions - 1;
    } else {
      const g = valueNow(e.to);
      e.tensor._grad = g;
      // only a gradient in a buffer of this replay's own: never an input or a state's storage
      if (g && e.to.k === 'buffer' && t.binds[e.to.index]?.k === 'fresh') made.push([e.tensor, g]);
    }
  }
  t.made = made;
  const build = (tpl: Template): unknown => {
    switch (tpl.k) {
      case 'value':
        return valueNow(tpl.v);
      case 'array':
        return tpl.items.map(build);
      case 'object':
        return Object.fromEntries(tpl.entries.map(([k, x]) => [k, build(x)]));
      case 'literal':
        return tpl.v;
    }
  };
  const [result, checks] = build(t.output) as [unknown, Tensor[]];
  checks.forEach((c, i) => runIndexCheck(c.node, t.checks[i]!));
  return result;
}

function guardsHold(t: Trace): boolean {
  for (const [tensor, wasNull] of t.gradGuards) if ((tensor._grad === null) !== wasNull) return false;
  for (const [tensor, requiresGrad] of t.gradFlags) if (tensor.requiresGrad !== requiresGrad) return false;
  return true;
}

/**
 * Traces `fn` on its first call with each input signature, then replays the recorded launches
 * on later calls with that signature (see the top of this file for what a replay repeats).
 *
 * ```ts
 * const step = torch.jit((x: Tensor, y: Tensor) => {
 *   const loss = model(x).sub(y).pow(2).mean();
 *   loss.backward();
 *   torch.noGrad(() => params.forEach((p) => { p.sub_(p.grad!.mul(0.1)); p.grad = null; }));
 *   return loss;
 * });
 * for (const [x, y] of batches) step(x, y).itemSync();
 * ```
 */
export function jit<A extends unknown[], R>(fn: (...args: A) => R, opts: JitOptions = {}): Jitted<A, R> {
  const name = opts.name ?? (fn.name || 'fn');
  const limit = opts.maxTraces ?? 8;
  const traces = new Map<string, Trace[]>();
  let count = 0;
  let firstSignature: Signature | undefined;

  const call = (...args: A): R => {
    if (tracing.current) return fn(...args); // inside another trace: part of that one
    const sig = signature(args);
    for (const t of traces.get(sig.key) ?? []) if (guardsHold(t)) return replay(t, sig.tensors) as R;
    if (count >= limit) throw mismatch(name, firstSignature!, sig, limit);

    // inputs are data, not part of the step: computed first if lazy
    const lazy = sig.tensors.filter((t) => !getBuffer(t.node));
    if (lazy.length) realize(lazy.map((t) => t.node));
    const recorder = new Recorder(name);
    const rng = { seed: state.seed, offset: state.offset };
    tracing.current = recorder;
    let result!: R;
    let checkTensors: Tensor[] = [];
    let recording: Recording;
    try {
      ({ recording } = capture(() => {
        result = fn(...args);
        // what the step leaves behind is computed inside it: outputs, new grads, updated state
        const outs: Tensor[] = [];
        flattenOutput(result, name, outs);
        checkTensors = recorder.checks.map((c) => Tensor._fromNode(c.node));
        outs.push(...checkTensors);
        for (const [t, first] of recorder.tensors) if (t._grad !== first.grad && t._grad) outs.push(t._grad);
        const pending = [...outs.map((t) => t._box.node), ...[...recorder.boxes].filter(([b, f]) => b.node !== f.node).map(([b]) => b.node)];
        realize(pending);
      }, (n) => recorder.stateNodes.has(n)));
    } finally {
      tracing.current = null;
    }
    // the index checks ride along as a second output, read after this call and every replay
    const traced = plan(recording, recorder, sig.tensors, [result, checkTensors], { ...rng, drawn: state.offset - rng.offset });
    const trace = { ...traced, checks: recorder.checks.map((c) => c.error) };
    traces.set(sig.key, [...(traces.get(sig.key) ?? []), trace]);
    count++;
    firstSignature ??= sig;
    checkTensors.forEach((t, i) => runIndexCheck(t.node, trace.checks[i]!));
    return result;
  };
  Object.defineProperty(call, 'traces', { get: () => count });
  Object.defineProperty(call, 'name', { value: name });
  return call as Jitted<A, R>;
}
