/**
 * A kernel with the unary primitives its target cannot spell written out by their `fallback`
 * (@fusor/ir ops.ts UNARY): how WGSL and WebAssembly, which have no expm1, run EXPM1. Renderers
 * call it on the kernel they are given, so a new primitive needs no entry in their tables.
 */
import { arith, UNARY, type UnaryOp } from '@fusor/ir';
import { alu, cast, konst, load, local, rand, type AluOp, type Expr, type Kernel, type Stmt } from './kernel-ir.js';

/** Kernel-expression arithmetic (folding and simplifying as `alu` does). */
const EXPR = arith<Expr>({
  c: (v, like) => konst(v, like.dtype),
  unary: (op, a) => alu(op, a),
  binary: (op, a, b) => alu(op, a, b),
  where: (c, a, b) => alu('WHERE', c, a, b),
  dtype: (a) => a.dtype,
});

/** Expressions cheap to repeat: a fallback uses its operand several times. */
const LEAF: ReadonlySet<Expr['k']> = new Set(['const', 'local', 'gid', 'ridx', 'var']);

function some(e: Expr, f: (e: Expr) => boolean): boolean {
  if (f(e)) return true;
  switch (e.k) {
    case 'alu':
      return e.src.some((s) => some(s, f));
    case 'load':
      return some(e.idx, f) || (e.valid !== null && some(e.valid, f));
    case 'cast':
      return some(e.src, f);
    case 'rand':
      return some(e.seed, f) || some(e.counter, f);
    default:
      return false;
  }
}

const exprsOf = (s: Stmt): Expr[] => (s.k === 'store' ? [s.idx, s.expr] : s.k === 'let' || s.k === 'update' ? [s.expr] : []);
const anyExpr = (stmts: readonly Stmt[], f: (e: Expr) => boolean): boolean =>
  stmts.some((s) => (s.k === 'loop' ? anyExpr(s.body, f) : exprsOf(s).some((e) => some(e, f))));

/**
 * `k` with every ALU op that `native` rejects replaced by its fallback (an operand that is not a
 * leaf is bound to a local first); `k` itself when it uses none. An op without a fallback throws
 * `fail(reason)`.
 */
export function withFallbacks(k: Kernel, native: (op: AluOp) => boolean, fail: (why: string) => Error = (why) => new Error(why)): Kernel {
  const missing = (e: Expr): boolean => e.k === 'alu' && !native(e.op);
  if (!anyExpr(k.body, missing)) return k;
  let locals = 0;
  const block = (stmts: readonly Stmt[]): Stmt[] => {
    const out: Stmt[] = [];
    const memo = new Map<string, Expr>();
    const expr = (e: Expr): Expr => {
      if (LEAF.has(e.k) || !some(e, missing)) return e;
      const hit = memo.get(e.key);
      if (hit) return hit;
      let r: Expr;
      switch (e.k) {
        case 'alu': {
          const src = e.src.map(expr);
          if (native(e.op)) {
            r = alu(e.op, ...src);
            break;
          }
          const fallback = UNARY[e.op as UnaryOp]?.fallback;
          if (!fallback) throw fail(`${e.op} has no spelling in this target and no fallback (@fusor/ir ops.ts UNARY)`);
          let x = src[0]!;
          if (!LEAF.has(x.k)) {
            const name = `fb${locals++}`;
            out.push({ k: 'let', name, expr: x });
            x = local(name, x.dtype, x.min, x.max);
          }
          r = expr(fallback(EXPR, x));
          break;
        }
        case 'load':
          r = load(e.buf, expr(e.idx), e.dtype, e.valid && expr(e.valid));
          break;
        case 'cast':
          r = cast(expr(e.src), e.dtype, e.bitcast);
          break;
        case 'rand':
          r = rand(expr(e.seed), expr(e.counter), e.dtype);
          break;
        default:
          r = e;
      }
      memo.set(e.key, r);
      return r;
    };
    for (const s of stmts) {
      if (s.k === 'loop') out.push({ ...s, body: block(s.body) });
      else if (s.k === 'store') {
        const idx = expr(s.idx);
        out.push({ ...s, idx, expr: expr(s.expr) });
      } else if (s.k === 'let' || s.k === 'update') out.push({ ...s, expr: expr(s.expr) });
      else out.push(s);
    }
    return out;
  };
  return { ...k, body: block(k.body) };
}
