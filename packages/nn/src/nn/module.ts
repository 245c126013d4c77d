/**
 * nn.Module: PyTorch's module tree in TypeScript.
 *
 * Registration: a field assigned a Parameter is a parameter, a field assigned a Module is a
 * submodule, as PyTorch's `__setattr__` makes them. This works because the Module constructor
 * returns a Proxy whose only trap is `defineProperty`: both class-field definitions and plain
 * assignments (`this.fc = new Linear(...)`) define a property, so every one is seen, in order.
 * Buffers are only what `registerBuffer` names (a plain Tensor field is just a field, as in
 * PyTorch). Reads are untrapped and go straight to the object.
 *
 * Calling: `model.forward(x)`. Forward hooks and pre-hooks, once registered, wrap the instance's
 * `forward`, so `model.forward(x)` runs them (PyTorch runs them in `model(x)`; fusor has no
 * callable objects, so `forward` is the call).
 */
import * as torch from '@fusor/tensor';
import { Tensor } from '@fusor/tensor';
import { Parameter, setData } from './parameter.js';
import { checkOptions, describe } from './args.js';

export type StateDict = Record<string, Tensor>;

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export interface RemovableHandle {
  remove(): void;
}

/** The error loadStateDict raises: names every bad key; the model is left unchanged. */
export class StateDictError extends Error {
  override name = 'StateDictError';
}

type ForwardPreHook = (module: Module<any, any>, args: unknown[]) => unknown[] | void; // eslint-disable-line @typescript-eslint/no-explicit-any
type ForwardHook = (module: Module<any, any>, args: unknown[], output: unknown) => unknown; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Internals {
  parameters: Map<string, Parameter | null>;
  buffers: Map<string, Tensor | null>;
  nonPersistent: Set<string>;
  modules: Map<string, Module<unknown[], unknown> | null>;
  preHooks: Map<number, ForwardPreHook>;
  hooks: Map<number, ForwardHook>;
}

let hookId = 0;
const INTERNALS = new WeakMap<object, Internals>();

function internals(m: object): Internals {
  const i = INTERNALS.get(m);
  if (!i) throw new Error('cannot assign before Module.__init__() call');
  return i;
}

const typeName = (v: unknown): string => (v instanceof Tensor ? 'torch.FloatTensor' : describe(v));

/** Keeps the registries in step with the fields: PyTorch's Module.__setattr__. */
function track(target: object, key: string, value: unknown): void {
  const st = INTERNALS.get(target);
  if (!st) return;
  if (value instanceof Parameter) {
    st.buffers.delete(key);
    st.modules.delete(key);
    st.parameters.set(key, value);
  } else if (value instanceof Module) {
    st.parameters.delete(key);
    st.buffers.delete(key);
    st.modules.set(key, value as Module<unknown[], unknown>);
  } else if (st.parameters.has(key)) {
    if (value !== null) throw new TypeError(`cannot assign '${typeName(value)}' as parameter '${key}' (torch.nn.Parameter or None expected)`);
    st.parameters.set(key, null);
  } else if (st.modules.has(key)) {
    if (value !== null) throw new TypeError(`cannot assign '${typeName(value)}' as child module '${key}' (torch.nn.Module or None expected)`);
    st.modules.set(key, null);
  } else if (st.buffers.has(key)) {
    if (value !== null && !(value instanceof Tensor)) throw new TypeError(`cannot assign '${typeName(value)}' as buffer '${key}' (torch.Tensor or None expected)`);
    st.buffers.set(key, value as Tensor | null);
  }
}

/** Set while DataParallel swaps replica tensors into fields: defineProperty then bypasses registration. */
let swapping = false;

/**
 * Runs `fn` with every parameter and buffer field of `module` and its submodules reading as
 * `replace(tensor)` (DataParallel's replicas: differentiable copies on another device), then puts
 * the originals back. The registries stay as they are: `parameters()` still yields the originals,
 * so gradients flowing through the copies land in them. Internal to @fusor/nn (not in index.ts).
 */
export function withReplacedTensors<T>(module: Module<unknown[], unknown>, replace: (t: Tensor) => Tensor, fn: () => T): T {
  const undo: [object, string, PropertyDescriptor | undefined][] = [];
  swapping = true;
  try {
    for (const m of module.modules()) {
      const st = internals(m);
      for (const [k, t] of [...st.parameters, ...st.buffers]) {
        if (!t) continue;
        const r = replace(t);
        if (r === t) continue;
        undo.push([m, k, Reflect.getOwnPropertyDescriptor(m, k)]);
        Object.defineProperty(m, k, { value: r, writable: true, configurable: true, enumerable: true });
      }
    }
  } finally {
    swapping = false;
  }
  try {
    return fn();
  } finally {
    swapping = true;
    try {
      for (const [m, k, d] of undo.reverse()) {
        if (d) Object.defineProperty(m, k, d);
        else Reflect.deleteProperty(m, k);
      }
    } finally {
      swapping = false;
    }
  }
}

const TRAP: ProxyHandler<object> = {
  defineProperty(target, key, desc) {
    if (swapping) return Reflect.defineProperty(target, key, desc);
    if (typeof key === 'string' && 'value' in desc) {
      const st = INTERNALS.get(target);
      // a redeclared field (`weight!: Parameter` in a subclass) defines undefined after the base
      // constructor registered it: keep the registered value
      if (desc.value === undefined && st && (st.parameters.has(key) || st.modules.has(key) || st.buffers.has(key))) return true;
      track(target, key, desc.value);
    }
    return Reflect.defineProperty(target, key, desc);
  },
  deleteProperty(target, key) {
    if (swapping) return Reflect.deleteProperty(target, key);
    const st = INTERNALS.get(target);
    if (st && typeof key === 'string') {
      st.parameters.delete(key);
      st.buffers.delete(key);
      st.nonPersistent.delete(key);
      st.modules.delete(key);
    }
    return Reflect.deleteProperty(target, key);
  },
};

const shapeStr = (s: readonly number[]): string => `torch.Size([${s.join(', ')}])`;

function addIndent(s: string, n: number): string {
  const lines = s.split('\n');
  if (lines.length === 1) return s;
  return [lines[0], ...lines.slice(1).map((l) => ' '.repeat(n) + l)].join('\n');
}

/**
 * The base of every layer. `In` is forward's parameter list, `Out` its result.
 * Subclasses assign Parameters and Modules to fields (or call registerParameter/registerModule)
 * and implement `forward`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export class Module<In extends unknown[] = [Tensor], Out = Tensor> {
  /** Train mode (dropout active, batch norm uses batch statistics), as `module.training`. */
  training = true;

  constructor() {
    INTERNALS.set(this, {
      parameters: new Map(),
      buffers: new Map(),
      nonPersistent: new Set(),
      modules: new Map(),
      preHooks: new Map(),
      hooks: new Map(),
    });
    const proxy = new Proxy(this, TRAP as ProxyHandler<this>);
    INTERNALS.set(proxy, INTERNALS.get(this)!);
    // the Proxy is what makes plain field assignment register parameters (see the class comment)
    // biome-ignore lint/correctness/noConstructorReturn: the module is its registering proxy
    return proxy;
  }

  forward(...args: In): Out {
    void args;
    throw new Error(`Module [${this.constructor.name}] is missing the required "forward" function`);
  }

  // ------------------------------------------------------------------ registration

  registerParameter(name: string, param: Parameter | null): void {
    this.checkName(name, 'parameter');
    if (param !== null && !(param instanceof Parameter)) {
      throw new TypeError(`cannot assign '${typeName(param)}' object to parameter '${name}' (torch.nn.Parameter or None required)`);
    }
    const st = internals(this);
    st.parameters.set(name, param);
    (this as Record<string, unknown>)[name] = param;
  }

  registerBuffer(name: string, tensor: Tensor | null, persistent = true): void {
    this.checkName(name, 'buffer');
    if (tensor !== null && !(tensor instanceof Tensor)) {
      throw new TypeError(`cannot assign '${typeName(tensor)}' object to buffer '${name}' (torch Tensor or None required)`);
    }
    const st = internals(this);
    st.buffers.set(name, tensor);
    if (persistent) st.nonPersistent.delete(name);
    else st.nonPersistent.add(name);
    (this as Record<string, unknown>)[name] = tensor;
  }

  registerModule(name: string, module: Module<any, any> | null): void { // eslint-disable-line @typescript-eslint/no-explicit-any
    this.checkName(name, 'module');
    if (module !== null && !(module instanceof Module)) throw new TypeError(`${describe(module)} is not a Module subclass`);
    internals(this).modules.set(name, module as Module<unknown[], unknown> | null);
    (this as Record<string, unknown>)[name] = module;
  }
  /** PyTorch's `add_module`. */
  addModule(name: string, module: Module<any, any> | null): void { // eslint-disable-line @typescript-eslint/no-explicit-any
    this.registerModule(name, module);
  }

  private checkName(name: string, what: 'parameter' | 'buffer' | 'module'): void {
    if (typeof name !== 'string') throw new TypeError(`${what} name should be a string. Got ${describe(name)}`);
    if (name.includes('.')) throw new Error(`${what} name can't contain "."`);
    if (name === '') throw new Error(`${what} name can't be empty string ""`);
    const st = internals(this);
    const same = what === 'parameter' ? st.parameters : what === 'buffer' ? st.buffers : st.modules;
    // a declared field not yet assigned (undefined) may be registered
    if (name in this && (this as Record<string, unknown>)[name] !== undefined && !same.has(name)) {
      throw new Error(`attribute '${name}' already exists`);
    }
  }

  // ------------------------------------------------------------------ traversal

  *namedParameters(prefix = '', recurse = true, removeDuplicate = true): Generator<[string, Parameter]> {
    const seen = new Set<Tensor>();
    const mods = recurse ? this.namedModules(undefined, prefix, removeDuplicate) : [[prefix, this] as [string, Module<unknown[], unknown>]];
    for (const [mp, m] of mods) {
      for (const [k, p] of internals(m).parameters) {
        if (p === null || (removeDuplicate && seen.has(p))) continue;
        seen.add(p);
        yield [mp ? `${mp}.${k}` : k, p];
      }
    }
  }
  *parameters(recurse = true): Generator<Parameter> {
    for (const [, p] of this.namedParameters('', recurse)) yield p;
  }
  *namedBuffers(prefix = '', recurse = true, removeDuplicate = true): Generator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    const mods = recurse ? this.namedModules(undefined, prefix, removeDuplicate) : [[prefix, this] as [string, Module<unknown[], unknown>]];
    for (const [mp, m] of mods) {
      for (const [k, b] of internals(m).buffers) {
        if (b === null || (removeDuplicate && seen.has(b))) continue;
        seen.add(b);
        yield [mp ? `${mp}.${k}` : k, b];
      }
    }
  }
  *buffers(recurse = true): Generator<Tensor> {
    for (const [, b] of this.namedBuffers('', recurse)) yield b;
  }
  *namedChildren(): Generator<[string, Module<unknown[], unknown>]> {
    const seen = new Set<Module<unknown[], unknown>>();
    for (const [k, m] of internals(this).modules) {
      if (m === null || seen.has(m)) continue;
      seen.add(m);
      yield [k, m];
    }
  }
  /** The registered children as stored, duplicates and empty (null) slots included: what Sequential runs. */
  protected registeredModules(): [string, Module<unknown[], unknown> | null][] {
    return [...internals(this).modules];
  }
  *children(): Generator<Module<unknown[], unknown>> {
    for (const [, m] of this.namedChildren()) yield m;
  }
  *namedModules(memo?: Set<Module<unknown[], unknown>>, prefix = '', removeDuplicate = true): Generator<[string, Module<unknown[], unknown>]> {
    const seen = memo ?? new Set<Module<unknown[], unknown>>();
    const self = this as unknown as Module<unknown[], unknown>;
    if (removeDuplicate && seen.has(self)) return;
    if (removeDuplicate) seen.add(self);
    yield [prefix, self];
    for (const [k, m] of internals(this).modules) {
      if (m === null) continue;
      yield* m.namedModules(seen, prefix ? `${prefix}.${k}` : k, removeDuplicate);
    }
  }
  *modules(): Generator<Module<unknown[], unknown>> {
    for (const [, m] of this.namedModules()) yield m;
  }
  /** PyTorch's `get_submodule('layers.2')`. */
  getSubmodule(target: string): Module<unknown[], unknown> {
    if (target === '') return this as unknown as Module<unknown[], unknown>;
    let mod = this as unknown as Module<unknown[], unknown>;
    for (const item of target.split('.')) {
      const next = internals(mod).modules.get(item);
      if (!next) throw new Error(`${mod.constructor.name} has no attribute \`${item}\``);
      mod = next;
    }
    return mod;
  }

  // ------------------------------------------------------------------ modes and moves

  train(mode = true): this {
    if (typeof mode !== 'boolean') throw new TypeError('training mode is expected to be boolean');
    this.training = mode;
    for (const m of this.children()) m.train(mode);
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /** Calls fn on every submodule (children first) and then on this module, as PyTorch's apply. */
  apply(fn: (m: Module<unknown[], unknown>) => void): this {
    for (const m of this.children()) m.apply(fn);
    fn(this as unknown as Module<unknown[], unknown>);
    return this;
  }

  /**
   * Moves (and/or casts floating-point) parameters and buffers in place: the Parameter objects
   * stay the same (optimizers keep working), as PyTorch's `module.to`.
   */
  to(target: string | { device?: string; dtype?: torch.DType }): this {
    const spec = typeof target === 'string' ? target : undefined;
    if (typeof target === 'object') checkOptions('Module.to', target, ['device', 'dtype']);
    const move = (t: Tensor): Tensor => {
      if (spec !== undefined) {
        // a dtype string casts floating tensors only; a device string moves everything
        const isDtype = ['float32', 'float64', 'float16', 'bfloat16', 'float', 'double', 'half'].includes(spec);
        if (isDtype) return t.isFloatingPoint() ? t.to(spec) : t;
        return t.to(spec);
      }
      const o = target as { device?: string; dtype?: torch.DType };
      let r = t;
      if (o.dtype !== undefined && t.isFloatingPoint()) r = r.to({ dtype: o.dtype });
      if (o.device !== undefined) r = r.to({ device: o.device });
      return r;
    };
    for (const m of this.modules()) {
      const st = internals(m);
      for (const p of st.parameters.values()) {
        if (!p) continue;
        const moved = torch.noGrad(() => move(p.detach()));
        if (moved.node !== p.node) setData(p, moved);
        if (p.grad) p.grad = torch.noGrad(() => move(p.grad!));
      }
      for (const [k, b] of st.buffers) {
        if (!b) continue;
        const moved = torch.noGrad(() => move(b.detach()));
        if (moved.node !== b.node) setData(b, moved);
        void k;
      }
    }
    return this;
  }
  cpu(): this {
    return this.to('cpu');
  }
  cuda(device?: number | string): this {
    return this.to(device === undefined ? 'cuda' : typeof device === 'number' ? `cuda:${device}` : device);
  }
  float(): this {
    return this.to({ dtype: 'float32' });
  }
  double(): this {
    return this.to({ dtype: 'float64' });
  }
  half(): this {
    return this.to({ dtype: 'float16' });
  }

  /**
   * Resets the gradients. PyTorch 1.13's default is `setToNone: false` (zero in place);
   * PyTorch 2 changed it to true. fusor follows 1.13.
   */
  zeroGrad(opts: { setToNone?: boolean } = {}): void {
    checkOptions('zero_grad', opts, ['setToNone']);
    const setToNone = opts.setToNone ?? false;
    for (const p of this.parameters()) {
      const g = p.grad;
      if (g === null) continue;
      if (setToNone) p.grad = null;
      else torch.noGrad(() => g.detach_().zero_());
    }
  }

  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad_(requiresGrad);
    return this;
  }

  // ------------------------------------------------------------------ state dict

  /** Parameters then persistent buffers of each module, depth first, with PyTorch's key names. */
  stateDict(opts: { prefix?: string; keepVars?: boolean } = {}): StateDict {
    checkOptions('state_dict', opts, ['prefix', 'keepVars']);
    const out: StateDict = {};
    const visit = (m: Module<unknown[], unknown>, prefix: string): void => {
      const st = internals(m);
      for (const [k, p] of st.parameters) if (p) out[prefix + k] = opts.keepVars ? p : p.detach();
      for (const [k, b] of st.buffers) if (b && !st.nonPersistent.has(k)) out[prefix + k] = opts.keepVars ? b : b.detach();
      for (const [k, c] of st.modules) if (c) visit(c, `${prefix}${k}.`);
    };
    visit(this as unknown as Module<unknown[], unknown>, opts.prefix ?? '');
    return out;
  }

  /**
   * Copies `stateDict`'s tensors into this module's parameters and buffers (cast to their dtype,
   * moved to their device). Every key is checked before anything is copied: on an error (missing
   * or unexpected keys when strict, a shape mismatch) nothing changes and the error lists all
   * problems in PyTorch's wording.
   */
  loadStateDict(stateDict: StateDict | Map<string, Tensor>, opts: { strict?: boolean } | boolean = {}): LoadStateDictResult {
    const o = typeof opts === 'boolean' ? { strict: opts } : opts;
    checkOptions('load_state_dict', o, ['strict']);
    const strict = o.strict ?? true;
    const sd = stateDict instanceof Map ? stateDict : new Map(Object.entries(stateDict));
    const own = new Map<string, Tensor>();
    const visit = (m: Module<unknown[], unknown>, prefix: string): void => {
      const st = internals(m);
      for (const [k, p] of st.parameters) if (p) own.set(prefix + k, p);
      for (const [k, b] of st.buffers) if (b && !st.nonPersistent.has(k)) own.set(prefix + k, b);
      for (const [k, c] of st.modules) if (c) visit(c, `${prefix}${k}.`);
    };
    visit(this as unknown as Module<unknown[], unknown>, '');
    const errors: string[] = [];
    const missingKeys: string[] = [];
    const plan: [Tensor, Tensor][] = [];
    for (const [key, param] of own) {
      const input = sd.get(key);
      if (input === undefined) {
        missingKeys.push(key);
        continue;
      }
      if (!(input instanceof Tensor)) {
        errors.push(`While copying the parameter named "${key}", expected torch.Tensor or Tensor-like object from checkpoint but received ${describe(input)}`);
        continue;
      }
      if (input.shape.join() !== param.shape.join()) {
        errors.push(
          `size mismatch for ${key}: copying a param with shape ${shapeStr(input.shape)} from checkpoint, the shape in current model is ${shapeStr(param.shape)}.`,
        );
        continue;
      }
      plan.push([param, input]);
    }
    const unexpectedKeys = [...sd.keys()].filter((k) => !own.has(k));
    if (strict) {
      if (unexpectedKeys.length > 0) errors.unshift(`Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(', ')}. `);
      if (missingKeys.length > 0) errors.unshift(`Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(', ')}. `);
    }
    if (errors.length > 0) {
      throw new StateDictError(`Error(s) in loading state_dict for ${this.constructor.name}:\n\t${errors.join('\n\t')}`);
    }
    torch.noGrad(() => {
      for (const [param, input] of plan) param.copy_(input);
    });
    return { missingKeys, unexpectedKeys };
  }

  // ------------------------------------------------------------------ hooks

  /** `hook(module, args)` runs before forward; returning an array replaces the arguments. */
  registerForwardPreHook(hook: (module: this, args: In) => In | void): RemovableHandle {
    const id = hookId++;
    internals(this).preHooks.set(id, hook as unknown as ForwardPreHook);
    this.installHookedForward();
    return { remove: () => this.removeHook('preHooks', id) };
  }

  /** `hook(module, args, output)` runs after forward; returning a value replaces the output. */
  registerForwardHook(hook: (module: this, args: In, output: Out) => Out | void): RemovableHandle {
    const id = hookId++;
    internals(this).hooks.set(id, hook as unknown as ForwardHook);
    this.installHookedForward();
    return { remove: () => this.removeHook('hooks', id) };
  }

  private removeHook(kind: 'preHooks' | 'hooks', id: number): void {
    const st = internals(this);
    st[kind].delete(id);
    if (st.preHooks.size === 0 && st.hooks.size === 0 && Object.prototype.hasOwnProperty.call(this, 'forward')) {
      delete (this as Record<string, unknown>)['forward'];
    }
  }

  /** Gives this instance an own `forward` that runs the hooks around the class's forward. */
  private installHookedForward(): void {
    if (Object.prototype.hasOwnProperty.call(this, 'forward')) return;
    const inner = this.forward;
    const st = internals(this);
    Object.defineProperty(this, 'forward', {
      configurable: true,
      writable: true,
      enumerable: false,
      value: (...args: In): Out => {
        let a = args as unknown[];
        for (const h of [...st.preHooks.values()]) {
          const r = h(this as unknown as Module<unknown[], unknown>, a);
          if (r !== undefined) a = Array.isArray(r) ? r : [r];
        }
        let out: unknown = inner.apply(this, a as In);
        for (const h of [...st.hooks.values()]) {
          const r = h(this as unknown as Module<unknown[], unknown>, a, out);
          if (r !== undefined) out = r;
        }
        return out as Out;
      },
    });
  }

  // ------------------------------------------------------------------ printing

  /** The one-line description inside the parentheses, as PyTorch's `extra_repr`. */
  extraRepr(): string {
    return '';
  }

  /** PyTorch's module repr: `Sequential(\n  (0): Linear(in_features=…)\n)`. */
  toString(): string {
    const extra = this.extraRepr();
    const extraLines = extra ? extra.split('\n') : [];
    const childLines: string[] = [];
    for (const [k, m] of internals(this).modules) {
      childLines.push(`(${k}): ${addIndent(m === null ? 'None' : m.toString(), 2)}`);
    }
    const lines = [...extraLines, ...childLines];
    let s = `${this.constructor.name}(`;
    if (lines.length > 0) {
      if (extraLines.length === 1 && childLines.length === 0) s += extraLines[0];
      else s += `\n  ${lines.join('\n  ')}\n`;
    }
    return `${s})`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** Python's repr of a value inside extra_repr strings. */
export function pyRepr(v: unknown): string {
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'number') return Number.isInteger(v) && !Object.is(v, -0) ? String(v) : pyFloat(v);
  if (Array.isArray(v)) return v.length === 1 ? `(${pyRepr(v[0])},)` : `(${v.map(pyRepr).join(', ')})`;
  return String(v);
}

/** Python's float repr (shortest round-trip, `1e-05` style exponents). */
export function pyFloat(v: number): string {
  if (Number.isInteger(v)) return `${v}.0`;
  let s = String(v);
  const m = /^(-?[\d.]+)e([+-])(\d+)$/.exec(s);
  if (m) s = `${m[1]}e${m[2]}${m[3]!.padStart(2, '0')}`;
  else if (Math.abs(v) < 1e-4 && v !== 0) {
    s = v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  }
  return s;
}
