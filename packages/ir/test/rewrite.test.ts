import { describe, expect, it } from 'vitest';
import { binaryNode, bufferNode, constNode, match, rewrite, unaryNode, type Node, type Rule } from '../src/index.js';

const x = bufferNode('float32', [3], 'cpu');
const y = bufferNode('float32', [3], 'cpu');
const k = (v: number): Node => constNode(v, 'float32', [3], 'cpu');
const mul = (a: Node, b: Node): Node => binaryNode('MUL', a, b);
const add = (a: Node, b: Node): Node => binaryNode('ADD', a, b);
const isConst = (v: number) => (n: Node): boolean => n.op === 'CONST' && n.arg === v;

const mulOne: Rule = {
  name: 'x*1 → x',
  pattern: { op: 'MUL', commutative: true, src: [{ name: 'x' }, { op: 'CONST', where: isConst(1) }] },
  build: (b) => b.x,
};
const addZero: Rule = {
  name: 'x+0 → x',
  pattern: { op: 'ADD', commutative: true, src: [{ name: 'x' }, { op: 'CONST', where: isConst(0) }] },
  build: (b) => b.x,
};
const doubleNeg: Rule = {
  name: '--x → x',
  pattern: { op: 'NEG', src: [{ op: 'NEG', src: [{ name: 'x' }] }] },
  build: (b) => b.x,
};
/** x + x → x * 2: creates a node another rule then folds. */
const addSelf: Rule = {
  name: 'x+x → x*2',
  pattern: { op: 'ADD', src: [{ name: 'x' }, { name: 'x' }] },
  build: (b, n) => mul(b.x!, constNode(2, n.dtype, n.shape, n.device)),
};
/** (x * c1) * c2 → x * (c1 c2) */
const foldMul: Rule = {
  name: '(x*c1)*c2 → x*(c1 c2)',
  pattern: {
    op: 'MUL',
    src: [{ op: 'MUL', src: [{ name: 'x' }, { op: 'CONST', name: 'c1' }] }, { op: 'CONST', name: 'c2' }],
  },
  build: (b, n) => mul(b.x!, constNode((b.c1!.arg as number) * (b.c2!.arg as number), n.dtype, n.shape, n.device)),
};

describe('match', () => {
  it('binds names and requires a repeated name to bind the same node', () => {
    const p = { op: 'ADD', src: [{ name: 'a' }, { name: 'a' }] } as const;
    expect(match(p, add(x, x))?.a).toBe(x);
    expect(match(p, add(x, y))).toBeUndefined();
  });

  it('accepts a list of ops and checks the source count', () => {
    expect(match({ op: ['ADD', 'MUL'], name: 'n' }, mul(x, y))?.n).toBe(mul(x, y));
    expect(match({ op: ['ADD', 'MUL'] }, unaryNode('NEG', x))).toBeUndefined();
    expect(match({ op: 'NEG', src: [{}, {}] }, unaryNode('NEG', x))).toBeUndefined();
  });

  it('tries commutative sources in both orders', () => {
    expect(match(mulOne.pattern, mul(x, k(1)))?.x).toBe(x);
    expect(match(mulOne.pattern, mul(k(1), x))?.x).toBe(x);
    expect(match(mulOne.pattern, mul(x, y))).toBeUndefined();
  });

  // IR BUG: commutative matching does not backtrack into a nested commutative pattern. For
  // ADD(MUL(a, b), b) and the pattern ADD~(MUL~(x, y), x) (both commutative), MUL binds x=a, y=b
  // first, then ADD's second source b ≠ x fails, and MUL's other order (x=b, y=a) is never tried.
  // Fix: make match enumerate all bindings (e.g. a generator) so outer failures retry inner orders.
  it('backtracks into nested commutative patterns', () => {
    const p = {
      op: 'ADD',
      commutative: true,
      src: [{ op: 'MUL', commutative: true, src: [{ name: 'x' }, { name: 'y' }] }, { name: 'x' }],
    } as const;
    const b = match(p, add(mul(x, y), y));
    expect(b?.x).toBe(y);
    expect(b?.y).toBe(x);
  });
});

describe('rewrite', () => {
  it('rewrites x*1 → x in either operand order', () => {
    expect(rewrite([mul(x, k(1))], [mulOne])).toEqual([x]);
    expect(rewrite([mul(k(1), x)], [mulOne])[0]).toBe(x);
    expect(rewrite([mul(x, k(2))], [mulOne])[0]).toBe(mul(x, k(2)));
  });

  it('rewrites bottom-up through the whole graph and rebuilds consumers (interned)', () => {
    const g = unaryNode('SQRT', add(mul(x, k(1)), mul(k(1), y)));
    expect(rewrite([g], [mulOne])[0]).toBe(unaryNode('SQRT', add(x, y)));
  });

  it('reaches a fixed point across rules and nested rewrites', () => {
    // x*1 + x*1 → x + x → x*2 (new node) ; (x*2)*2 → x*4
    const g = mul(add(mul(x, k(1)), mul(x, k(1))), k(2));
    expect(rewrite([g], [mulOne, addSelf, foldMul])[0]).toBe(mul(x, k(4)));
    const h = unaryNode('NEG', mul(unaryNode('NEG', add(x, k(0))), k(1)));
    expect(rewrite([h], [mulOne, addZero, doubleNeg])[0]).toBe(x);
  });

  it('keeps nodes no rule touches, and returns one result per root', () => {
    const a = add(x, y);
    const [r1, r2] = rewrite([a, mul(a, k(1))], [mulOne]);
    expect(r1).toBe(a);
    expect(r2).toBe(a);
  });

  it('a rule whose build returns undefined leaves the node alone', () => {
    const never: Rule = { name: 'never', pattern: { op: 'ADD' }, build: () => undefined };
    const a = add(x, y);
    expect(rewrite([a], [never])[0]).toBe(a);
  });

  it('handles a 5000-deep chain without overflowing the stack', () => {
    let g: Node = x;
    for (let i = 0; i < 5000; i++) g = unaryNode('SQRT', mul(g, k(1)));
    let want: Node = x;
    for (let i = 0; i < 5000; i++) want = unaryNode('SQRT', want);
    expect(rewrite([g], [mulOne])[0]).toBe(want);
  });
});
