/**
 * Reading arguments as PyTorch's Python signatures do: positional parameters stay positional,
 * any of them may instead be named in one trailing options object, and a value of the wrong
 * type raises PyTorch's "argument 'x' (position n) must be T, not U" — never silently misread.
 */

/** A tensor, told apart without importing the Tensor class (this module is below it). */
const isTensor = (v: unknown): boolean => v !== null && typeof v === 'object' && typeof (v as { dataSync?: unknown }).dataSync === 'function' && 'shape' in v;

/** A value's type as Python would name it in an error. */
export function pyType(v: unknown): string {
  if (v === null || v === undefined) return 'NoneType';
  if (isTensor(v)) return 'Tensor';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'string') return 'str';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'function') return 'function';
  return 'dict';
}

export const isOptions = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !(isTensor(v)) && Object.getPrototypeOf(v) === Object.prototype;

export type Kind = 'int' | 'bool' | 'dims' | 'dtype' | 'number' | 'tensorOrNumber';

function accepts(kind: Kind, v: unknown): boolean {
  switch (kind) {
    case 'int':
      return typeof v === 'number' && Number.isInteger(v);
    case 'bool':
      return typeof v === 'boolean';
    case 'dims':
      return (typeof v === 'number' && Number.isInteger(v)) || (Array.isArray(v) && v.every((d) => typeof d === 'number' && Number.isInteger(d)));
    case 'dtype':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number' || typeof v === 'boolean';
    case 'tensorOrNumber':
      return typeof v === 'number' || typeof v === 'boolean' || isTensor(v);
  }
}

const KIND_NAME: Readonly<Record<Kind, string>> = {
  int: 'int',
  bool: 'bool',
  dims: 'tuple of ints',
  dtype: 'torch.dtype',
  number: 'Number',
  tensorOrNumber: 'Tensor or Number',
};

export interface Param {
  readonly name: string;
  readonly kind: Kind;
  /** May be null/undefined (Python's Optional). */
  readonly optional?: boolean;
}

/**
 * Reads `args` against positional `params` and keyword-only `keywords`: a trailing plain object
 * holds named values (of either kind). Returns every value by name (undefined where not given).
 */
export function parseArgs(fn: string, args: readonly unknown[], params: readonly Param[], keywords: readonly Param[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let positional = [...args];
  while (positional.length && positional[positional.length - 1] === undefined) positional.pop();
  let named: Record<string, unknown> | undefined;
  if (positional.length && isOptions(positional[positional.length - 1])) {
    named = positional[positional.length - 1] as Record<string, unknown>;
    positional = positional.slice(0, -1);
  }
  if (positional.length > params.length) {
    throw new TypeError(`${fn}() takes ${params.length} positional argument${params.length === 1 ? '' : 's'} but ${positional.length} were given`);
  }
  const check = (p: Param, v: unknown, position?: number): void => {
    if ((v === null || v === undefined) && p.optional !== false) return;
    if (!accepts(p.kind, v)) {
      const at = position === undefined ? '' : ` (position ${position})`;
      throw new TypeError(`${fn}(): argument '${p.name}'${at} must be ${KIND_NAME[p.kind]}, not ${pyType(v)}`);
    }
  };
  positional.forEach((v, i) => {
    check(params[i]!, v, i + 1);
    out[params[i]!.name] = v;
  });
  if (named) {
    const all = [...params, ...keywords];
    for (const [k, v] of Object.entries(named)) {
      const p = all.find((q) => q.name === k);
      if (!p) throw new TypeError(`${fn}() got an unexpected keyword argument '${k}'`);
      if (k in out) throw new TypeError(`${fn}() got multiple values for argument '${k}'`);
      check(p, v);
      out[k] = v;
    }
  }
  return out;
}

// ------------------------------------------------------------------ many-parameter functions (conv, pooling…)

/** A prefix of the positional parameters `P`, optionally followed by an options object `O`. */
export type CallArgs<P extends readonly unknown[], O> = P extends readonly [...infer H, infer L]
  ? readonly [...H, L] | readonly [...H, L, O] | CallArgs<H, O>
  : readonly [] | readonly [O];

/** An int, or one int per spatial dim (`stride=2`, `stride=(2, 1)`). */
export type IntOrTuple = number | readonly number[];

/**
 * The arguments by name, positional ones first, then the options object's; types are checked
 * per parameter by the readers below (their values need more than parseArgs' kinds: an int or a
 * tuple expanded to the spatial dims, 'same'…).
 */
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

/** An int or tuple of ints argument, expanded to `n` values. */
export function intTuple(fn: string, name: string, v: unknown, n: number, dflt: IntOrTuple): number[] {
  const val = v === undefined || v === null ? dflt : v;
  if (typeof val === 'number') {
    if (!Number.isInteger(val)) throw new TypeError(`${fn}(): argument '${name}' must be tuple of ints, not float`);
    return new Array<number>(n).fill(val);
  }
  if (!Array.isArray(val) || val.some((x) => typeof x !== 'number' || !Number.isInteger(x))) {
    throw new TypeError(`${fn}(): argument '${name}' must be tuple of ints, not ${pyType(val)}`);
  }
  const list = val as number[];
  if (list.length === 1) return new Array<number>(n).fill(list[0]!);
  return [...list];
}

export function intArg(fn: string, name: string, v: unknown, dflt: number): number {
  const val = v === undefined ? dflt : v;
  if (typeof val !== 'number' || !Number.isInteger(val)) throw new TypeError(`${fn}(): argument '${name}' must be int, not ${pyType(val)}`);
  return val;
}

export function boolArg(fn: string, name: string, v: unknown, dflt: boolean): boolean {
  const val = v === undefined ? dflt : v;
  if (typeof val !== 'boolean') throw new TypeError(`${fn}(): argument '${name}' must be bool, not ${pyType(val)}`);
  return val;
}

/** An optional tensor argument (its caller narrows the type: this module is below Tensor). */
export function tensorArg<T>(fn: string, name: string, v: T | null | undefined | unknown): T | null {
  if (v === undefined || v === null) return null;
  if (!isTensor(v)) throw new TypeError(`${fn}(): argument '${name}' must be Tensor, not ${pyType(v)}`);
  return v as T;
}
