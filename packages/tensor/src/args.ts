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
