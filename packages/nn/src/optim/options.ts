/**
 * Python's calling convention in TypeScript: positional parameters stay positional, and any of
 * them (plus the keyword-only ones) may instead be named in one trailing options object. An
 * unknown key, a value given twice or a value of the wrong type raises, as Python would.
 */

/** [], [a], [a, b], … : every prefix of a positional parameter list. */
type Prefixes<T extends readonly unknown[]> = T extends readonly [...infer H, unknown] ? T | Prefixes<H> : T;

/** Any prefix of the positional parameters, optionally followed by the options object. */
export type PositionalArgs<P extends readonly unknown[], O> =
  Prefixes<P> extends infer X ? (X extends readonly unknown[] ? X | [...X, O] : never) : never;

export type Kind = 'number' | 'boolean' | 'string' | 'pair' | 'numbers' | 'norm' | 'any';

/** A parameter: its camelCase name and the kind of value it takes. */
export interface ParamSpec {
  readonly name: string;
  readonly kind: Kind;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);

function checkKind(fn: string, name: string, kind: Kind, v: unknown): void {
  const ok =
    kind === 'any' ||
    (kind === 'number' && typeof v === 'number') ||
    (kind === 'boolean' && typeof v === 'boolean') ||
    (kind === 'string' && typeof v === 'string') ||
    (kind === 'norm' && (typeof v === 'number' || v === 'inf')) ||
    (kind === 'pair' && Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) ||
    (kind === 'numbers' && (typeof v === 'number' || (Array.isArray(v) && v.every((x) => typeof x === 'number'))));
  if (!ok) {
    const what = kind === 'norm' ? "a number or 'inf'" : kind === 'pair' ? 'a pair of numbers' : kind === 'numbers' ? 'a number or an array of numbers' : `a ${kind}`;
    throw new TypeError(`${fn}(): argument '${name}' must be ${what}, got ${describe(v)}`);
  }
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array [${v.map((x) => String(x)).join(', ')}]`;
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/**
 * Binds `args` (positional values, then maybe an options object) to `positional` and
 * `keywordOnly` parameter names; returns the given values by name (absent ones are left out).
 */
export function bindArgs(
  fn: string,
  args: readonly unknown[],
  positional: readonly ParamSpec[],
  keywordOnly: readonly ParamSpec[] = [],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let n = args.length;
  let opts: Record<string, unknown> | undefined;
  if (n > 0 && isPlainObject(args[n - 1]) && positional[n - 1]?.kind !== 'any') {
    opts = args[n - 1] as Record<string, unknown>;
    n--;
  }
  if (n > positional.length) {
    throw new TypeError(`${fn}() takes ${positional.length} positional arguments but ${n} were given`);
  }
  for (let i = 0; i < n; i++) {
    const spec = positional[i]!;
    if (args[i] === undefined) continue;
    checkKind(fn, spec.name, spec.kind, args[i]);
    out[spec.name] = args[i];
  }
  if (opts) {
    const all = new Map([...positional, ...keywordOnly].map((s) => [s.name, s] as const));
    for (const [key, value] of Object.entries(opts)) {
      const spec = all.get(key);
      if (!spec) throw new TypeError(`${fn}() got an unexpected keyword argument '${key}'`);
      if (key in out) throw new TypeError(`${fn}() got multiple values for argument '${key}'`);
      if (value === undefined) continue;
      checkKind(fn, key, spec.kind, value);
      out[key] = value;
    }
  }
  return out;
}

/** Checks a plain options object: only known keys, each of its kind. */
export function checkOptions(fn: string, opts: object | undefined, specs: readonly ParamSpec[]): Record<string, unknown> {
  if (opts === undefined) return {};
  if (!isPlainObject(opts)) throw new TypeError(`${fn}(): options must be an object, got ${describe(opts)}`);
  return bindArgs(fn, [opts], [], specs);
}

/** Python's repr of a float in messages (1.0, not 1). */
export const pyFloat = (v: number): string => (Number.isInteger(v) && Math.abs(v) < 1e16 ? v.toFixed(1) : String(v));

/** camelCase → PyTorch's snake_case key (weightDecay → weight_decay). */
export const snakeCase = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
/** snake_case → camelCase. */
export const camelCase = (k: string): string => k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
