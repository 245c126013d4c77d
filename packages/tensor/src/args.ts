/**
 * Python-style call arguments for the functional ops with many parameters (conv, pooling…):
 * PyTorch's positional parameters stay positional, and a trailing options object may name any
 * of them; an unknown key, a parameter given twice or a wrong type raises Python's TypeError.
 */
import { Tensor } from './tensor.js';

/** A prefix of the positional parameters `P`, optionally followed by an options object `O`. */
export type CallArgs<P extends readonly unknown[], O> = P extends readonly [...infer H, infer L]
  ? readonly [...H, L] | readonly [...H, L, O] | CallArgs<H, O>
  : readonly [] | readonly [O];

/** An int, or one int per spatial dim (`stride=2`, `stride=(2, 1)`). */
export type IntOrTuple = number | readonly number[];

const isOptions = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Tensor);

/** The arguments by name: positional ones first, then the options object's. */
export function bindArgs(fn: string, names: readonly string[], args: readonly unknown[]): Record<string, unknown> {
  const positional = args.length && isOptions(args[args.length - 1]) ? args.slice(0, -1) : args;
  const options = positional === args ? {} : (args[args.length - 1] as Record<string, unknown>);
  if (positional.length > names.length) {
    throw new TypeError(`${fn}() takes at most ${names.length + 2} arguments (${positional.length + 2} given)`);
  }
  const out: Record<string, unknown> = {};
  positional.forEach((v, i) => (out[names[i]!] = v));
  for (const [k, v] of Object.entries(options)) {
    if (!names.includes(k)) throw new TypeError(`${fn}() got an unexpected keyword argument '${k}'`);
    if (k in out && out[k] !== undefined) throw new TypeError(`${fn}() got multiple values for argument '${k}'`);
    out[k] = v;
  }
  return out;
}

const typeName = (v: unknown): string =>
  v === null ? 'NoneType' : typeof v === 'number' ? (Number.isInteger(v) ? 'int' : 'float') : typeof v === 'string' ? 'str' : typeof v;

/** An int or tuple of ints argument, expanded to `n` values. */
export function intTuple(fn: string, name: string, v: unknown, n: number, dflt: IntOrTuple): number[] {
  const val = v === undefined || v === null ? dflt : v;
  if (typeof val === 'number') {
    if (!Number.isInteger(val)) throw new TypeError(`${fn}(): argument '${name}' must be tuple of ints, not float`);
    return new Array<number>(n).fill(val);
  }
  if (!Array.isArray(val) || val.some((x) => typeof x !== 'number' || !Number.isInteger(x))) {
    throw new TypeError(`${fn}(): argument '${name}' must be tuple of ints, not ${typeName(val)}`);
  }
  const list = val as number[];
  if (list.length === 1) return new Array<number>(n).fill(list[0]!);
  return [...list];
}

export function intArg(fn: string, name: string, v: unknown, dflt: number): number {
  const val = v === undefined ? dflt : v;
  if (typeof val !== 'number' || !Number.isInteger(val)) throw new TypeError(`${fn}(): argument '${name}' must be int, not ${typeName(val)}`);
  return val;
}

export function numberArg(fn: string, name: string, v: unknown, dflt: number): number {
  const val = v === undefined ? dflt : v;
  if (typeof val !== 'number') throw new TypeError(`${fn}(): argument '${name}' must be Number, not ${typeName(val)}`);
  return val;
}

export function boolArg(fn: string, name: string, v: unknown, dflt: boolean): boolean {
  const val = v === undefined ? dflt : v;
  if (typeof val !== 'boolean') throw new TypeError(`${fn}(): argument '${name}' must be bool, not ${typeName(val)}`);
  return val;
}

export function tensorArg(fn: string, name: string, v: unknown): Tensor | null {
  if (v === undefined || v === null) return null;
  if (!(v instanceof Tensor)) throw new TypeError(`${fn}(): argument '${name}' must be Tensor, not ${typeName(v)}`);
  return v;
}
