/**
 * One pattern-rewrite engine for the whole project: rules are data (a pattern and a builder),
 * applied bottom-up to a fixed point. The compiler uses it for algebraic simplification;
 * autograd uses it to tidy gradient graphs.
 */
import { withSources, type Node } from './node.js';
import type { Op } from './ops.js';

export interface Pattern {
  /** Matches when the node's op is this one (or one of these). */
  readonly op?: Op | readonly Op[];
  /** Binds the matched node under this name. */
  readonly name?: string;
  /** Patterns for the sources, in order. */
  readonly src?: readonly Pattern[];
  /** Also try the sources in reverse order (for commutative ops). */
  readonly commutative?: boolean;
  /** Any further condition on the node. */
  readonly where?: (n: Node) => boolean;
}

export type Bindings = Record<string, Node>;

export interface Rule {
  readonly name: string;
  readonly pattern: Pattern;
  /** The replacement, or undefined to leave the node alone. */
  readonly build: (b: Bindings, n: Node) => Node | undefined;
}

/** Every way `p` matches `n`, so commutative choices nested inside a pattern are backtracked. */
function* matches(p: Pattern, n: Node, b: Bindings): Generator<Bindings> {
  if (p.op !== undefined && (typeof p.op === 'string' ? p.op !== n.op : !p.op.includes(n.op))) return;
  if (p.where && !p.where(n)) return;
  if (p.name !== undefined) {
    if (b[p.name] !== undefined && b[p.name] !== n) return;
    b = { ...b, [p.name]: n };
  }
  if (!p.src) {
    yield b;
    return;
  }
  if (p.src.length !== n.src.length) return;
  const orders = p.commutative && n.src.length === 2 ? [[0, 1], [1, 0]] : [n.src.map((_, i) => i)];
  for (const order of orders) yield* matchSources(p.src, n, order, 0, b);
}

function* matchSources(pats: readonly Pattern[], n: Node, order: readonly number[], i: number, b: Bindings): Generator<Bindings> {
  if (i === pats.length) {
    yield b;
    return;
  }
  for (const next of matches(pats[i]!, n.src[order[i]!]!, b)) yield* matchSources(pats, n, order, i + 1, next);
}

export function match(p: Pattern, n: Node, b: Bindings = {}): Bindings | undefined {
  for (const m of matches(p, n, b)) return m;
  return undefined;
}

/** Rewrites every node reachable from `roots`, sources first, until no rule applies. */
export function rewrite(roots: readonly Node[], rules: readonly Rule[], isLeaf: (n: Node) => boolean = () => false): Node[] {
  const memo = new Map<Node, Node>();
  const visit = (root: Node): Node => {
    // iterative post-order so deep graphs do not overflow the stack
    const stack: [Node, boolean][] = [[root, false]];
    while (stack.length) {
      const [n, ready] = stack.pop()!;
      if (memo.has(n)) continue;
      if (isLeaf(n)) {
        memo.set(n, n);
        continue;
      }
      if (!ready) {
        stack.push([n, true]);
        for (const s of n.src) if (!memo.has(s)) stack.push([s, false]);
        continue;
      }
      let cur = withSources(n, n.src.map((s) => memo.get(s)!));
      for (let changed = true, guard = 0; changed && guard < 64; guard++) {
        changed = false;
        for (const r of rules) {
          const b = match(r.pattern, cur);
          const next = b && r.build(b, cur);
          if (next && next !== cur) {
            // the replacement may itself contain new nodes: normalise them too
            cur = next === cur ? cur : visitNew(next);
            changed = true;
            break;
          }
        }
      }
      memo.set(n, cur);
    }
    return memo.get(root)!;
  };
  const visitNew = (n: Node): Node => (memo.has(n) ? memo.get(n)! : visit(n));
  return roots.map(visit);
}
