/** Printers for tensor graphs: one line per node as text, or Graphviz DOT. */
import { toposort, type Node } from './node.js';

function argText(n: Node): string {
  if (n.arg === null) return '';
  return typeof n.arg === 'number' ? ` ${n.arg}` : ` ${JSON.stringify(n.arg)}`;
}

/**
 * `%3 = MUL float32[4,3] (%1, %2)`, numbered in topological order. Buffers are numbered by
 * first appearance (`buffer #0`), so the text does not depend on what ran before.
 */
export function printGraph(roots: readonly Node[] | Node): string {
  const list = toposort(Array.isArray(roots) ? roots : [roots as Node]);
  const num = new Map(list.map((n, i) => [n, i]));
  let buffers = 0;
  return list
    .map((n) => {
      const src = n.src.length ? ` (${n.src.map((s) => `%${num.get(s)}`).join(', ')})` : '';
      const dev = n.device === 'cpu' ? '' : ` @${n.device}`;
      const arg = n.op === 'BUFFER' ? ` buffer #${buffers++}` : argText(n);
      return `%${num.get(n)} = ${n.op} ${n.dtype}[${n.shape.join(',')}]${src}${arg}${dev}`;
    })
    .join('\n');
}

export function toDot(roots: readonly Node[] | Node): string {
  const list = toposort(Array.isArray(roots) ? roots : [roots as Node]);
  const lines = ['digraph fusor {', '  node [shape=box, fontname="monospace"];'];
  for (const n of list) {
    lines.push(`  n${n.id} [label="${n.op}${argText(n).replace(/"/g, "'")}\\n${n.dtype}[${n.shape.join(',')}]"];`);
    for (const s of n.src) lines.push(`  n${s.id} -> n${n.id};`);
  }
  lines.push('}');
  return lines.join('\n');
}
