import { describe, expect, it } from 'vitest';
import * as torch from '../../tensor/src/index.js';
import { alu, gid, INDEX, konst, ridx, type Expr, type Stmt } from '../src/kernel-ir.js';
import { observeKernels } from '../../runtime/src/index.js';
import { iadd, idiv, igt, ilt, imod, imul, inBounds } from '../src/simplify-index.js';

/** C semantics of the index ops (truncating division, remainder with the dividend's sign). */
function evaluate(e: Expr, env: { gid: number; r: number[] }): number {
  switch (e.k) {
    case 'const':
      return e.value;
    case 'gid':
      return env.gid;
    case 'ridx':
      return env.r[e.i]!;
    case 'alu': {
      const [a, b] = e.src.map((s) => evaluate(s, env)) as [number, number];
      switch (e.op) {
        case 'ADD':
          return a + b;
        case 'MUL':
          return a * b;
        case 'IDIV':
          return Math.trunc(a / b);
        case 'MOD':
          return a % b;
        case 'CMPLT':
          return a < b ? 1 : 0;
        case 'AND':
          return a & b;
        case 'NEG':
          return -a;
        default:
          throw new Error(`unexpected ${e.op}`);
      }
    }
    default:
      throw new Error(`unexpected ${e.k}`);
  }
}

/** Counts the div and mod nodes of an expression tree. */
function divmods(e: Expr): number {
  return e.k === 'alu' ? (e.op === 'IDIV' || e.op === 'MOD' ? 1 : 0) + e.src.reduce((n, s) => n + divmods(s), 0) : 0;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const c = (v: number): Expr => konst(v, INDEX);
const G = 72;
const R = 5;
const g = gid(G);
const r0 = ridx(0, R);

describe('index simplifier', () => {
  it('folds (a·k + b) / k and % k when 0 ≤ b < k', () => {
    const x = iadd(imul(g, c(8)), r0); // r0 < 5 < 8
    expect(idiv(x, 8).key).toBe(g.key);
    expect(imod(x, 8).key).toBe(r0.key);
  });

  it('drops a modulo that cannot wrap and a division that is always 0', () => {
    expect(imod(r0, 5).key).toBe(r0.key);
    expect(idiv(r0, 5).key).toBe(c(0).key);
    expect(imod(iadd(r0, c(2)), 8).key).toBe(iadd(r0, c(2)).key);
  });

  it('merges div of div and div of mod', () => {
    expect(idiv(idiv(g, 3), 4).key).toBe(alu('IDIV', g, c(12)).key);
    // (g % 12) / 4 → (g / 4) % 3
    expect(idiv(imod(g, 12), 4).key).toBe(alu('MOD', alu('IDIV', g, c(4)), c(3)).key);
    // (g % 12) % 4 → g % 4
    expect(imod(imod(g, 12), 4).key).toBe(alu('MOD', g, c(4)).key);
  });

  it('unflattening a flattened index gives back the dims', () => {
    const a = imod(idiv(g, 12), 6); // dims of a [6, 3, 4] index
    const b = imod(idiv(g, 4), 3);
    const d = imod(g, 4);
    const lin = iadd(iadd(imul(a, c(12)), imul(b, c(4))), d);
    expect(imod(idiv(lin, 4), 3).key).toBe(b.key);
    expect(imod(lin, 4).key).toBe(d.key);
    expect(idiv(lin, 12).key).toBe(a.key);
  });

  it('decides comparisons by range and cancels common factors', () => {
    expect(ilt(r0, 5).key).toBe(konst(1, 'bool').key);
    expect(igt(-1, r0).key).toBe(konst(1, 'bool').key);
    expect(ilt(iadd(r0, c(3)), 3).key).toBe(konst(0, 'bool').key);
    // 4·g + 4 < 10 ⇔ g < 2
    expect(ilt(iadd(imul(g, c(4)), c(4)), 10).key).toBe(alu('CMPLT', g, c(2)).key);
    expect(inBounds(r0, 0, 5).key).toBe(konst(1, 'bool').key);
  });

  it('agrees with C semantics on every value, for random sums and every fold', () => {
    const rand = rng(12345);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const atoms: Expr[] = [g, r0, idiv(g, 6), imod(g, 6), imod(idiv(g, 3), 4), imod(g, 9), idiv(g, 8)];
    const coefs = [-6, -3, -1, 1, 2, 3, 4, 6, 8, 9, 12, 16, 36];
    let folded = 0;
    for (let trial = 0; trial < 400; trial++) {
      let x = c(Math.floor(rand() * 40) - 12);
      const n = 1 + Math.floor(rand() * 3);
      for (let t = 0; t < n; t++) x = iadd(x, imul(pick(atoms), c(pick(coefs))));
      const d = pick([2, 3, 4, 6, 8, 9, 12, 16, 24, 36]);
      const k = Math.floor(rand() * 60) - 20;
      const plain = (op: 'IDIV' | 'MOD'): Expr => alu(op, x, c(d));
      const cases: [Expr, (v: number) => number][] = [
        [idiv(x, d), (v) => Math.trunc(v / d)],
        [imod(x, d), (v) => v % d],
        [ilt(x, k), (v) => (v < k ? 1 : 0)],
        [igt(k, x), (v) => (k < v ? 1 : 0)],
        [idiv(imod(x, d * 2), d), (v) => Math.trunc((v % (d * 2)) / d)],
        [imod(idiv(x, 2), d), (v) => Math.trunc(v / 2) % d],
      ];
      folded += divmods(plain('IDIV')) + divmods(plain('MOD')) - divmods(cases[0]![0]) - divmods(cases[1]![0]);
      for (let gv = 0; gv < G; gv++) {
        for (let rv = 0; rv < R; rv++) {
          const env = { gid: gv, r: [rv] };
          const v = evaluate(x, env);
          for (const [e, want] of cases) {
            const got = evaluate(e, env);
            if (got !== want(v)) throw new Error(`${e.key} at gid=${gv} r0=${rv}: ${got}, want ${want(v)} (x = ${x.key} = ${v})`);
          }
        }
      }
    }
    // the folds must actually fire on such sums, not just stay correct by doing nothing
    expect(folded).toBeGreaterThan(100);
  });
});

describe('sliding-window kernels stay small', () => {
  /** Every kernel a realize of `fn` lowers, with the div/mod count and the printed size of each. */
  function kernelsOf(fn: () => void): { divmod: number; chars: number }[] {
    const out: { divmod: number; chars: number }[] = [];
    const stop = observeKernels((k) => {
      let divmod = 0;
      const seen = new Set<Expr>();
      const walkE = (e: Expr): void => {
        if (seen.has(e)) return;
        seen.add(e);
        if (e.k === 'alu') {
          if (e.op === 'IDIV' || e.op === 'MOD') divmod++;
          e.src.forEach(walkE);
        } else if (e.k === 'load') {
          walkE(e.idx);
          if (e.valid) walkE(e.valid);
        } else if (e.k === 'cast') walkE(e.src);
      };
      const walkS = (s: Stmt): void => {
        if (s.k === 'loop') s.body.forEach(walkS);
        else if (s.k === 'let' || s.k === 'update') walkE(s.expr);
        else if (s.k === 'store') {
          walkE(s.idx);
          walkE(s.expr);
        }
      };
      k.body.forEach(walkS);
      out.push({ divmod, chars: k.key.length });
    });
    try {
      fn();
    } finally {
      stop();
    }
    return out;
  }

  it('conv2d and max-pool forward and backward', () => {
    torch.manualSeed(0);
    const ks = kernelsOf(() => {
      const x = torch.rand(2, 3, 13, 11, { requiresGrad: true });
      const w = torch.rand(4, 3, 3, 3, { requiresGrad: true });
      torch.maxPool2d(torch.conv2d(x, w, null, 2, 1), 3, 2, 1).sum().backward();
      x.grad!.dataSync();
      w.grad!.dataSync();
    });
    expect(ks.length).toBeGreaterThan(5);
    // unsimplified, the largest of these printed to megabytes (a tree of nested div/mod per view)
    for (const k of ks) {
      expect(k.divmod).toBeLessThan(60);
      expect(k.chars).toBeLessThan(10_000);
    }
  });
});
