/** Algebraic simplification of the tensor graph before scheduling, as rewrite rules. */
import { isFloat, rewrite, withShape, type Node, type Rule } from '@fusor/ir';
import type { BackendLookup } from './schedule.js';
import { sortWithoutRoutine } from './sort-network.js';

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

/**
 * The graph under `roots` simplified; with `backendFor`, also each SORT its device's backend has no
 * routine for written out as a sorting network (sort-network.ts).
 */
export function simplifyGraph(roots: readonly Node[], isRealized: (n: Node) => boolean, backendFor?: BackendLookup): Node[] {
  return rewrite(roots, backendFor ? [...GRAPH_RULES, sortWithoutRoutine(backendFor)] : GRAPH_RULES, isRealized);
}
