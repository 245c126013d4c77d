/**
 * Reverse-mode differentiation over the IR: walks the graph from an output back to the
 * requested inputs, applying each node's rule and summing gradients that meet.
 */
import { binaryNode, castNode, isFloat, toposort, type Node } from '@fusor/ir';
import { GRAD_RULES } from './rules.js';

/**
 * Gradients of `output` (seeded with `seed`, same shape) with respect to each node in `wrt`.
 * A node in `wrt` that `output` does not depend on gets no entry. `stop(n)` marks nodes whose
 * sources are not differentiated through (detached history).
 */
export function gradients(output: Node, wrt: readonly Node[], seed: Node, stop: (n: Node) => boolean = () => false): Map<Node, Node> {
  const targets = new Set(wrt);
  // nodes on a path from some target to the output
  const order = toposort([output]);
  const relevant = new Set<Node>();
  for (const n of order) {
    if (targets.has(n)) relevant.add(n);
    else if (!stop(n) && n.op !== 'DETACH' && n.src.some((s) => relevant.has(s))) relevant.add(n);
  }
  const grads = new Map<Node, Node>();
  if (!relevant.has(output)) return new Map();
  grads.set(output, seed);
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    const g = grads.get(n);
    if (!g || !relevant.has(n) || (n !== output && stop(n))) continue;
    const srcGrads = GRAD_RULES[n.op](n, g);
    n.src.forEach((s, j) => {
      const sg = srcGrads[j];
      if (!sg || !relevant.has(s) || !isFloat(s.dtype)) return;
      const typed = castNode(sg, s.dtype);
      const prev = grads.get(s);
      grads.set(s, prev ? binaryNode('ADD', prev, typed) : typed);
    });
  }
  const out = new Map<Node, Node>();
  for (const w of wrt) {
    const g = grads.get(w);
    if (g) out.set(w, g);
  }
  return out;
}
