/** Sequential, ModuleList and ModuleDict: children registered under "0", "1", … or their keys. */
import type { Tensor } from '@fusor/tensor';
import { Module } from '../module.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyModule = Module<any, any>;

function normIndex(i: number, n: number, what: string): number {
  if (!Number.isInteger(i)) throw new TypeError(`${what} indices must be integers, not ${typeof i}`);
  const j = i < 0 ? i + n : i;
  if (j < 0 || j >= n) throw new RangeError(`index ${i} is out of range`);
  return j;
}

/** Modules applied in order: `new nn.Sequential(new nn.Linear(784, 10), new nn.ReLU())`, or named by a Map/object. */
export class Sequential extends Module<[Tensor], Tensor> {
  constructor(...modules: AnyModule[] | [Map<string, AnyModule> | Record<string, AnyModule>]) {
    super();
    const first = modules[0];
    if (modules.length === 1 && !(first instanceof Module)) {
      const entries = first instanceof Map ? [...first] : Object.entries(first as Record<string, AnyModule>);
      for (const [k, m] of entries) this.registerModule(k, m);
    } else {
      (modules as AnyModule[]).forEach((m, i) => this.registerModule(String(i), m));
    }
  }

  override forward(input: Tensor): Tensor {
    let x: unknown = input;
    for (const [, m] of this.registeredModules()) if (m) x = m.forward(x);
    return x as Tensor;
  }

  get length(): number {
    return this.registeredModules().length;
  }
  /** `seq[i]` (negative counts from the end). */
  get(i: number): AnyModule {
    const all = this.registeredModules();
    return all[normIndex(i, all.length, 'Sequential')]![1]!;
  }
  /** `seq[start:end]`, a new Sequential over the same modules (keys renumbered, as PyTorch). */
  slice(start?: number, end?: number): Sequential {
    return new Sequential(...this.registeredModules().slice(start, end).map(([, m]) => m!));
  }
  append(module: AnyModule): this {
    this.registerModule(String(this.length), module);
    return this;
  }
  [Symbol.iterator](): Iterator<AnyModule> {
    return this.children();
  }
}

/** A list of submodules, registered and printed as such; forward is the user's. */
export class ModuleList extends Module<unknown[], unknown> {
  constructor(modules: Iterable<AnyModule> = []) {
    super();
    this.extend(modules);
  }
  get length(): number {
    return this.registeredModules().length;
  }
  get(i: number): AnyModule {
    const all = this.registeredModules();
    return all[normIndex(i, all.length, 'ModuleList')]![1]!;
  }
  set(i: number, module: AnyModule): void {
    const j = normIndex(i, this.length, 'ModuleList');
    this.registerModule(String(j), module);
  }
  append(module: AnyModule): this {
    this.registerModule(String(this.length), module);
    return this;
  }
  extend(modules: Iterable<AnyModule>): this {
    for (const m of modules) this.append(m);
    return this;
  }
  insert(index: number, module: AnyModule): void {
    const all = this.registeredModules().map(([, m]) => m!);
    const j = Math.max(0, Math.min(all.length, index < 0 ? index + all.length : index));
    all.splice(j, 0, module);
    all.forEach((m, k) => this.registerModule(String(k), m));
  }
  [Symbol.iterator](): Iterator<AnyModule> {
    return this.registeredModules().map(([, m]) => m!)[Symbol.iterator]();
  }
  override forward(): unknown {
    throw new Error('ModuleList is not callable: iterate over it in your own forward');
  }
}

/** Submodules by name, in insertion order. */
export class ModuleDict extends Module<unknown[], unknown> {
  constructor(modules: Map<string, AnyModule> | Record<string, AnyModule> = {}) {
    super();
    this.update(modules);
  }
  get length(): number {
    return [...this.keys()].length;
  }
  get(key: string): AnyModule {
    for (const [k, m] of this.namedChildren()) if (k === key) return m;
    throw new RangeError(`KeyError: '${key}'`);
  }
  set(key: string, module: AnyModule): void {
    this.registerModule(key, module);
  }
  has(key: string): boolean {
    return [...this.keys()].includes(key);
  }
  pop(key: string): AnyModule {
    const m = this.get(key);
    delete (this as unknown as Record<string, unknown>)[key];
    return m;
  }
  *keys(): Generator<string> {
    for (const [k] of this.namedChildren()) yield k;
  }
  *values(): Generator<AnyModule> {
    yield* this.children();
  }
  *items(): Generator<[string, AnyModule]> {
    yield* this.namedChildren();
  }
  update(modules: Map<string, AnyModule> | Record<string, AnyModule>): void {
    const entries = modules instanceof Map ? [...modules] : Object.entries(modules);
    for (const [k, m] of entries) this.registerModule(k, m);
  }
  [Symbol.iterator](): Iterator<string> {
    return this.keys();
  }
  override forward(): unknown {
    throw new Error('ModuleDict is not callable: index it in your own forward');
  }
}
