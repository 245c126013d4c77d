/** Algebraic simplification of the tensor graph before scheduling, as rewrite rules. */
import { isFloat, rewrite, withShape, type Node, type Rule } from '@fusor/ir';

const isConstValue = (v: number) => (n: Node) => n.op === 'CONST' && Object.is(n.arg, v);

export const GRAPH_RULES: readonly Rule[] = [
  { name: 'x*1', pattern: { op: 'MUL', commutative: true, src: [{ name: 'x' }, { where: isConstValue(1) }] }, build: (b) => b.x },
  {
    name: 'int x+0',
    pattern: { op: 'ADD', commutative: true, src: [{ name: 'x', where: (n) => !isFloat(n.dtype) }, { where: isConstValue(0) }] },
    build: (b) => b.x,
  },
  { name: 'x+(-0)', pattern: { op: 'ADD', commutative: true, src: [{ name: 'x' }, { where: isConstValue(-0) }] }, build: (b) => b.x },
  { name: '--x', pattern: { op: 'NEG', src: [{ op: 'NEG', src: [{ name: 'x' }] }] }, build: (b) => b.x },
  { name: 'detach', pattern: { op: 'DETACH', src: [{ name: 'x' }] }, build: (b) => b.x },
  { name: 'data', pattern: { op: 'DATA', src: [{ name: 'x' }, { name: 'history' }] }, build: (b) => b.x },
  {
    name: 'view of a constant',
    pattern: { op: ['RESHAPE', 'PERMUTE', 'EXPAND', 'SHRINK', 'FLIP'], name: 'v', src: [{ op: 'CONST', name: 'c' }] },
    build: (b) => withShape(b.c!, b.v!.shape),
  },
  {
    name: 'where on a constant condition',
    pattern: { op: 'WHERE', src: [{ op: 'CONST', name: 'c' }, { name: 'a' }, { name: 'b' }] },
    build: (b) => ((b.c!.arg as number) ? b.a : b.b),
  },
];

export function simplifyGraph(roots: readonly Node[], isRealized: (n: Node) => boolean): Node[] {
  return rewrite(roots, GRAPH_RULES, isRealized);
}
