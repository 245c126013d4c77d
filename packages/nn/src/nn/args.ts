/**
 * PyTorch's calling convention in TypeScript: positional parameters stay positional, and any of
 * them may also be named in one trailing options object with the keyword-only ones. An unknown
 * key, or a parameter given twice, raises as Python would.
 */
import { Tensor } from '@fusor/tensor';

const isOptions = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !(v instanceof Tensor) && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

/**
 * Merges positional `args` (named by `positional`) with a trailing options object, checking every
 * key against `positional` + `keywordOnly`. Returns the named values (absent ones undefined).
 */
export function parseArgs(
  fn: string,
  positional: readonly string[],
  keywordOnly: readonly string[],
  args: readonly unknown[],
): Record<string, unknown> {
  let list = [...args];
  // trailing undefineds are "not given"
  while (list.length > 0 && list[list.length - 1] === undefined) list.pop();
  let opts: Record<string, unknown> = {};
  if (list.length > 0 && isOptions(list[list.length - 1])) {
    opts = list[list.length - 1] as Record<string, unknown>;
    list = list.slice(0, -1);
  }
  if (list.length > positional.length) {
    throw new TypeError(`${fn}() takes ${positional.length} positional arguments but ${list.length} were given`);
  }
  const out: Record<string, unknown> = {};
  list.forEach((v, i) => {
    out[positional[i]!] = v;
  });
  for (const [k, v] of Object.entries(opts)) {
    if (!positional.includes(k) && !keywordOnly.includes(k)) {
      throw new TypeError(`${fn}() got an unexpected keyword argument '${k}'`);
    }
    if (k in out && out[k] !== undefined) throw new TypeError(`${fn}() got multiple values for argument '${k}'`);
    out[k] = v;
  }
  return out;
}

/** Checks an options object's keys (for signatures whose leading parameters are fixed). */
export function checkOptions(fn: string, opts: object | undefined, allowed: readonly string[]): void {
  if (opts === undefined || opts === null) return;
  if (!isOptions(opts)) throw new TypeError(`${fn}(): expected an options object, got ${describe(opts)}`);
  for (const k of Object.keys(opts)) {
    if (!allowed.includes(k)) throw new TypeError(`${fn}() got an unexpected keyword argument '${k}'`);
  }
}

export function describe(v: unknown): string {
  if (v === null) return 'NoneType';
  if (v instanceof Tensor) return 'Tensor';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return (v as object).constructor === Object ? 'dict' : ((v as object).constructor?.name ?? 'object');
  // Python's names, as PyTorch's messages give them
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'string') return 'str';
  if (typeof v === 'boolean') return 'bool';
  if (v === undefined) return 'NoneType';
  return typeof v;
}

/** Typed readers for parsed arguments: a wrong type raises instead of being misread. */
export function num(fn: string, name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`${fn}(): argument '${name}' must be a number, not ${describe(v)}`);
  return v;
}
export function int(fn: string, name: string, v: unknown, dflt: number): number {
  const n = num(fn, name, v, dflt);
  if (!Number.isInteger(n)) throw new TypeError(`${fn}(): argument '${name}' must be an int, not ${n}`);
  return n;
}
export function optNum(fn: string, name: string, v: unknown): number | null {
  if (v === undefined || v === null) return null;
  return num(fn, name, v, 0);
}
export function bool(fn: string, name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new TypeError(`${fn}(): argument '${name}' must be bool, not ${describe(v)}`);
  return v;
}
export function str<T extends string>(fn: string, name: string, v: unknown, dflt: T, allowed: readonly T[]): T {
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new TypeError(`${fn}(): argument '${name}' must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, not ${typeof v === 'string' ? `'${v}'` : describe(v)}`);
  }
  return v as T;
}
export function optTensor(fn: string, name: string, v: unknown): Tensor | null {
  if (v === undefined || v === null) return null;
  if (!(v instanceof Tensor)) throw new TypeError(`${fn}(): argument '${name}' must be Tensor, not ${describe(v)}`);
  return v;
}
/** An int or a tuple of ints: PyTorch's `_size_2_t` and friends. */
export function ints(fn: string, name: string, v: unknown, n: number, dflt?: number | readonly number[]): number[] {
  const val = v === undefined ? dflt : v;
  if (val === undefined) throw new TypeError(`${fn}() missing required argument: '${name}'`);
  if (typeof val === 'number') {
    if (!Number.isInteger(val)) throw new TypeError(`${fn}(): argument '${name}' must be an int or a tuple of ints, not ${val}`);
    return Array.from({ length: n }, () => val);
  }
  if (Array.isArray(val) && val.every((x) => Number.isInteger(x))) {
    if (val.length !== n) throw new TypeError(`${fn}(): argument '${name}' must have ${n} elements, got ${val.length}`);
    return [...(val as number[])];
  }
  throw new TypeError(`${fn}(): argument '${name}' must be an int or a tuple of ints, not ${describe(val)}`);
}

export type Reduction = 'none' | 'mean' | 'sum';
export const REDUCTIONS: readonly Reduction[] = ['none', 'mean', 'sum'];
