/**
 * How each ALU op reads in a C-like language: the spelling the JavaScript, WGSL and CUDA C
 * renderers share. Each renderer builds its table with `opTable`: this base for every op it
 * spells the same way, its own entries where its language or number model differs (JavaScript's
 * `Math.sqrt` and `===`, WGSL's `select`, CUDA's wrapping integer helpers …). The WebAssembly
 * renderer emits instructions, not text: its tables stay in backend-cpu/src/render-wasm.ts.
 */
import { UNARY, type UnaryOp } from '@fusor/ir';
import type { AluOp, Expr } from './kernel-ir.js';

/** An op's source text from its operands' source texts. */
export type OpText = (args: readonly string[]) => string;

/** A math function's name in the target language (JavaScript: `Math.sqrt`, CUDA float: `sqrtf`). */
export type MathName = (fn: string) => string;

const IDENT = /^[A-Za-z_]\w*$/;

/** The C math function a unary primitive is spelled as (ops.ts UNARY `source`), or undefined for a template. */
export const mathFunction = (op: AluOp): string | undefined => {
  const src = (UNARY as Partial<Record<AluOp, { source: string }>>)[op]?.source;
  return src !== undefined && IDENT.test(src) ? src : undefined;
};

/** The C-like spelling of every ALU op, math functions named by `name`. */
export function cLike(name: MathName = (fn) => fn): Readonly<Record<AluOp, OpText>> {
  const call =
    (fn: string): OpText =>
    (a) =>
      `${name(fn)}(${a.join(', ')})`;
  const unary = Object.fromEntries(
    Object.entries(UNARY).map(([op, { source }]): [string, OpText] => [op, IDENT.test(source) ? call(source) : ([a]) => source.split('$0').join(a)]),
  ) as Record<UnaryOp, OpText>;
  return {
    ...unary,
    ADD: ([a, b]) => `(${a} + ${b})`,
    MUL: ([a, b]) => `(${a} * ${b})`,
    IDIV: ([a, b]) => `(${a} / ${b})`,
    MOD: ([a, b]) => `(${a} % ${b})`,
    MAX: call('max'),
    CMPLT: ([a, b]) => `(${a} < ${b})`,
    CMPEQ: ([a, b]) => `(${a} == ${b})`,
    AND: ([a, b]) => `(${a} & ${b})`,
    OR: ([a, b]) => `(${a} | ${b})`,
    XOR: ([a, b]) => `(${a} ^ ${b})`,
    SHL: ([a, b]) => `(${a} << ${b})`,
    SHR: ([a, b]) => `(${a} >> ${b})`,
    WHERE: ([c, a, b]) => `(${c} ? ${a} : ${b})`,
  };
}

/** The base with plainly named math functions. */
export const C_LIKE: Readonly<Record<AluOp, OpText>> = cLike();

/**
 * A renderer's op table: its own entries, and for every other op the base's text through
 * `adapt` (which brings an OpText to the renderer's signature).
 */
export function opTable<F>(own: Partial<Record<AluOp, F>>, adapt: (base: OpText, op: AluOp) => F, base = C_LIKE): Readonly<Record<AluOp, F>> {
  const out = {} as Record<AluOp, F>;
  for (const op of Object.keys(base) as AluOp[]) out[op] = own[op] ?? adapt(base[op], op);
  return out;
}

/**
 * Index arithmetic that fits int32 with its operands (ranges known from kernel-ir): renderers
 * write it as plain C-like `+ * / %`, without the wrapping or rounding of general integer math.
 */
export const fitsInt32 = (e: Expr): boolean => e.dtype === 'int32' && e.min >= -(2 ** 31) && e.max < 2 ** 31;

/**
 * Whether a renderer spells `op`: with an entry of its own (`own`), with a template, or with a
 * math function its language has (`has`). What it does not spell, it renders by the op's fallback
 * (fallback.ts `withFallbacks`).
 */
export const spells =
  (own: Partial<Record<AluOp, unknown>>, has: (fn: string) => boolean) =>
  (op: AluOp): boolean => {
    const fn = mathFunction(op);
    return op in own || fn === undefined || has(fn);
  };
