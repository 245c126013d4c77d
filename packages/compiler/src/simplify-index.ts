/**
 * The index-expression simplifier. Lowering a view chain composes strides, offsets, masks and
 * reshapes into integer arithmetic; built naively, a sliding window (conv, pooling, pad, unfold)
 * becomes nested div/mod of sums of div/mod whose source grows with every view, and GPU compilers
 * spend minutes on it. Here index math is kept in one normal form, a sum of `coef * atom` terms
 * plus a constant, and division, modulo and comparisons by constants are folded using each
 * atom's value range (the bounds that loop extents give gid and the reduction indices):
 *
 * - `(a*k + b) / k → a + b/k` and `(a*k + b) % k → b % k`, whenever the split keeps trunc and
 *   floor division equal (both sides non-negative);
 * - `x / k → c` and `x % k → x - c*k` when x's range lies in one multiple of k;
 * - `(g*B + s) / (g*m) → B / m` and `(g*B + s) % (g*m) → g*(B % m) + s` for 0 ≤ s < g;
 * - `(y / a) / b → y / (a*b)`, `(y % (k*m)) / k → (y / k) % m`, `(y % (k*m)) % k → y % k`;
 * - `x < k` decided by range, or divided through by the terms' common factor.
 *
 * Only int32 index math (the INDEX dtype) comes here; a range that could leave int32 is treated
 * as unknown, so nothing is folded on a value that may have wrapped.
 */
import { alu, INDEX, konst, type Expr } from './kernel-ir.js';

interface Term {
  readonly coef: number;
  readonly atom: Expr;
}

/** Σ coef·atom + c, terms in a canonical order (by atom key). */
interface Sum {
  readonly terms: readonly Term[];
  readonly c: number;
}

const I32_MIN = -(2 ** 31);
const I32_MAX = 2 ** 31 - 1;

function gcd(a: number, b: number): number {
  a = Math.abs(a);
  b = Math.abs(b);
  while (b) [a, b] = [b, a % b];
  return a;
}

const floorDiv = (a: number, b: number): number => Math.floor(a / b);
const posMod = (a: number, b: number): number => ((a % b) + b) % b;

function sumOf(e: Expr): Sum {
  const terms = new Map<string, { coef: number; atom: Expr }>();
  let c = 0;
  const walk = (x: Expr, k: number): void => {
    if (x.k === 'const') {
      c += k * x.value;
      return;
    }
    if (x.k === 'alu' && x.dtype === INDEX) {
      if (x.op === 'ADD') {
        walk(x.src[0]!, k);
        walk(x.src[1]!, k);
        return;
      }
      if (x.op === 'MUL' && x.src[1]!.k === 'const') {
        walk(x.src[0]!, k * x.src[1].value);
        return;
      }
      if (x.op === 'NEG') {
        walk(x.src[0]!, -k);
        return;
      }
    }
    const t = terms.get(x.key);
    if (t) t.coef += k;
    else terms.set(x.key, { coef: k, atom: x });
  };
  walk(e, 1);
  const ts = [...terms.values()].filter((t) => t.coef !== 0);
  ts.sort((a, b) => (a.atom.key < b.atom.key ? -1 : a.atom.key > b.atom.key ? 1 : 0));
  return { terms: ts, c };
}

/** The sum's value range, or ±Infinity where unknown or where int32 math may have wrapped. */
function rangeOf(s: Sum): [number, number] {
  let lo = s.c;
  let hi = s.c;
  for (const { coef, atom } of s.terms) {
    const a = coef * atom.min;
    const b = coef * atom.max;
    lo += Math.min(a, b);
    hi += Math.max(a, b);
  }
  if (Number.isNaN(lo) || Number.isNaN(hi)) return [-Infinity, Infinity];
  return lo < I32_MIN || hi > I32_MAX ? [-Infinity, Infinity] : [lo, hi];
}

function build(s: Sum): Expr {
  let e: Expr | undefined;
  for (const { coef, atom } of s.terms) {
    const m = coef === 1 ? atom : alu('MUL', atom, konst(coef, INDEX));
    e = e ? alu('ADD', e, m) : m;
  }
  if (!e) return konst(s.c, INDEX);
  return s.c ? alu('ADD', e, konst(s.c, INDEX)) : e;
}

const sum = (terms: readonly Term[], c: number): Sum => ({ terms, c });
const scale = (s: Sum, k: number): Sum => (k === 0 ? sum([], 0) : sum(s.terms.map((t) => ({ coef: t.coef * k, atom: t.atom })), s.c * k));
/** s / g for a g that divides every coefficient and the constant. */
const divide = (s: Sum, g: number): Sum => sum(s.terms.map((t) => ({ coef: t.coef / g, atom: t.atom })), s.c / g);

function merge(a: Sum, b: Sum): Sum {
  const m = new Map<string, { coef: number; atom: Expr }>();
  for (const t of [...a.terms, ...b.terms]) {
    const o = m.get(t.atom.key);
    if (o) o.coef += t.coef;
    else m.set(t.atom.key, { ...t });
  }
  const ts = [...m.values()].filter((t) => t.coef !== 0);
  ts.sort((x, y) => (x.atom.key < y.atom.key ? -1 : x.atom.key > y.atom.key ? 1 : 0));
  return sum(ts, a.c + b.c);
}

const isIndexConst = (e: Expr): e is Extract<Expr, { k: 'const' }> => e.k === 'const';

/** a + b in index math. */
export function iadd(a: Expr, b: Expr): Expr {
  return build(merge(sumOf(a), sumOf(b)));
}

/** a · b in index math (distributed over sums when one side is a constant). */
export function imul(a: Expr, b: Expr): Expr {
  if (isIndexConst(b)) return build(scale(sumOf(a), b.value));
  if (isIndexConst(a)) return build(scale(sumOf(b), a.value));
  return alu('MUL', a, b);
}

/** The divisors of n greater than 1 and less than n, largest first. */
function divisors(n: number): number[] {
  const out: number[] = [];
  for (let i = 2; i * i <= n; i++) {
    if (n % i === 0) {
      out.push(i);
      if (i * i !== n) out.push(n / i);
    }
  }
  return out.sort((a, b) => b - a);
}

/**
 * Splits s as g·B + r with 0 ≤ r < g and B ≥ 0, for the largest divisor g of d that allows it
 * (terms whose coefficient g divides go to B, the rest and the constant's remainder to r).
 */
function splitSmall(s: Sum, d: number): { g: number; big: Sum; small: Sum } | undefined {
  if (d > 1 << 16) return undefined;
  for (const g of divisors(d)) {
    const bigTerms: Term[] = [];
    const smallTerms: Term[] = [];
    for (const t of s.terms) (t.coef % g === 0 ? bigTerms : smallTerms).push(t);
    if (smallTerms.length === 0) continue; // the common-factor rule handles it
    const cr = posMod(s.c, g);
    const small = sum(smallTerms, cr);
    const [slo, shi] = rangeOf(small);
    if (!(slo >= 0 && shi < g)) continue;
    const big = divide(sum(bigTerms, s.c - cr), g);
    if (!(rangeOf(big)[0] >= 0)) continue;
    return { g, big, small };
  }
  return undefined;
}

/** x / d for a constant d > 0 (C's truncating division). */
export function idiv(x: Expr, d: number): Expr {
  if (d === 1) return x;
  if (!(d > 1) || !Number.isInteger(d)) return alu('IDIV', x, konst(d, INDEX));
  return divSum(sumOf(x), d);
}

function divSum(s: Sum, d: number): Expr {
  const [lo, hi] = rangeOf(s);
  const raw = (): Expr => alu('IDIV', build(s), konst(d, INDEX));
  if (!(lo >= 0)) return raw(); // truncation and flooring may differ: leave it alone
  if (floorDiv(lo, d) === floorDiv(hi, d)) return konst(floorDiv(lo, d), INDEX);
  // a common factor of every coefficient, the constant and d cancels
  const g = s.terms.reduce((acc, t) => gcd(acc, t.coef), gcd(s.c, d));
  if (g > 1) return divSum(divide(s, g), d / g);
  // terms that d divides come out of the division whole
  const q: Term[] = [];
  const r: Term[] = [];
  for (const t of s.terms) (t.coef % d === 0 ? q : r).push(t);
  const rc = posMod(s.c, d);
  const qc = (s.c - rc) / d;
  const rest = sum(r, rc);
  const [rlo, rhi] = rangeOf(rest);
  if (q.length > 0 || qc !== 0) {
    const whole = sum(
      q.map((t) => ({ coef: t.coef / d, atom: t.atom })),
      qc,
    );
    if (floorDiv(rlo, d) === floorDiv(rhi, d)) return build(merge(whole, sum([], floorDiv(rlo, d))));
    if (rlo >= 0) return iadd(build(whole), divSum(rest, d));
    return raw();
  }
  // (g·B + small) / (g·m) → B / m
  const split = splitSmall(s, d);
  if (split) return divSum(split.big, d / split.g);
  if (s.c === 0 && s.terms.length === 1 && s.terms[0]!.coef === 1) {
    const a = s.terms[0]!.atom;
    if (a.k === 'alu' && a.src[1]!.k === 'const' && a.src[1].value > 0 && a.src[0]!.min >= 0) {
      const k = a.src[1].value;
      // (y / k) / d → y / (k·d)
      if (a.op === 'IDIV') return idiv(a.src[0]!, k * d);
      // (y % (d·m)) / d → (y / d) % m
      if (a.op === 'MOD' && k % d === 0) return imod(idiv(a.src[0]!, d), k / d);
    }
  }
  return raw();
}

/** x % d for a constant d > 0 (C's remainder: the sign of x). */
export function imod(x: Expr, d: number): Expr {
  if (d === 1) return konst(0, INDEX);
  if (!(d > 1) || !Number.isInteger(d)) return alu('MOD', x, konst(d, INDEX));
  return modSum(sumOf(x), d);
}

function modSum(s0: Sum, d: number): Expr {
  const [lo0, hi0] = rangeOf(s0);
  if (!(lo0 >= 0)) return alu('MOD', build(s0), konst(d, INDEX));
  if (hi0 < d) return build(s0);
  // multiples of d drop out; every other coefficient and the constant reduce into [0, d), which
  // keeps the value congruent and (atoms being non-negative) non-negative
  let s = s0;
  const reduced = sum(
    s0.terms.filter((t) => t.coef % d !== 0).map((t) => ({ coef: posMod(t.coef, d), atom: t.atom })),
    posMod(s0.c, d),
  );
  if (rangeOf(reduced)[0] >= 0) s = reduced;
  const [lo, hi] = rangeOf(s);
  if (floorDiv(lo, d) === floorDiv(hi, d)) return build(merge(s, sum([], -floorDiv(lo, d) * d)));
  // a common factor of every coefficient, the constant and d: g·(x/g % d/g)
  const g = s.terms.reduce((acc, t) => gcd(acc, t.coef), gcd(s.c, d));
  if (g > 1) return imul(modSum(divide(s, g), d / g), konst(g, INDEX));
  // (g·B + small) % (g·m) → g·(B % m) + small
  const split = splitSmall(s, d);
  if (split) return iadd(imul(modSum(split.big, d / split.g), konst(split.g, INDEX)), build(split.small));
  if (s.c === 0 && s.terms.length === 1 && s.terms[0]!.coef === 1) {
    const a = s.terms[0]!.atom;
    // (y % (d·m)) % d → y % d
    if (a.k === 'alu' && a.op === 'MOD' && a.src[1]!.k === 'const' && a.src[1].value % d === 0 && a.src[0]!.min >= 0) {
      return imod(a.src[0]!, d);
    }
  }
  return alu('MOD', build(s), konst(d, INDEX));
}

/** x < k for a constant k. */
export function ilt(x: Expr, k: number): Expr {
  const s = sumOf(x);
  const [lo, hi] = rangeOf(s);
  if (hi < k) return konst(1, 'bool');
  if (lo >= k) return konst(0, 'bool');
  // Σ + c < k  ⇔  Σ < k - c  ⇔  Σ/g < ceil((k - c)/g)
  const g = s.terms.reduce((acc, t) => gcd(acc, t.coef), 0);
  if (g === 0) return alu('CMPLT', build(s), konst(k, INDEX));
  const lhs = build(divide(sum(s.terms, 0), g));
  return alu('CMPLT', lhs, konst(Math.ceil((k - s.c) / g), INDEX));
}

/** k < x for a constant k. */
export function igt(k: number, x: Expr): Expr {
  const s = sumOf(x);
  const [lo, hi] = rangeOf(s);
  if (lo > k) return konst(1, 'bool');
  if (hi <= k) return konst(0, 'bool');
  // k < Σ + c  ⇔  k - c < Σ  ⇔  floor((k - c)/g) < Σ/g
  const g = s.terms.reduce((acc, t) => gcd(acc, t.coef), 0);
  if (g === 0) return alu('CMPLT', konst(k, INDEX), build(s));
  const rhs = build(divide(sum(s.terms, 0), g));
  return alu('CMPLT', konst(floorDiv(k - s.c, g), INDEX), rhs);
}

/** lo ≤ x < hi, as one validity condition (parts that the range decides drop out). */
export function inBounds(x: Expr, lo: number, hi: number): Expr {
  return alu('AND', ilt(x, hi), igt(lo - 1, x));
}
