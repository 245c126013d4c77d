/**
 * Scheduling: where the kernel boundaries go. Everything that can run in one pass over the
 * output fuses: elementwise chains, views, elementwise producers into a reduction, and
 * elementwise epilogues after it. A node gets its own buffer (and kernel) only for a reason,
 * and the reason is recorded so `explain()` can say it.
 */
import type { Node, Op } from '@fusor/ir';

export type ItemKind = 'kernel' | 'copy' | 'assign';

export interface ScheduleItem {
  readonly kind: ItemKind;
  /** The node this item computes into its own buffer. */
  readonly root: Node;
  /** Nodes read from buffers (realized earlier, or by an earlier item). */
  readonly inputs: readonly Node[];
  /** Primitive ops fused into this item, in first-visit order. */
  readonly ops: readonly Op[];
  /** Reductions fused into this item. */
  readonly reduces: readonly Node[];
  /** Why this node has its own buffer. */
  readonly reason: string;
}

/** Nodes whose value is needed, stopping at realized ones. */
function reachable(roots: readonly Node[], isRealized: (n: Node) => boolean): Map<Node, Set<Node>> {
  const consumers = new Map<Node, Set<Node>>();
  const stack = [...roots];
  const seen = new Set<Node>(roots);
  while (stack.length) {
    const n = stack.pop()!;
    if (isRealized(n)) continue;
    for (const s of n.src) {
      let c = consumers.get(s);
      if (!c) consumers.set(s, (c = new Set()));
      c.add(n);
      if (!seen.has(s)) {
        seen.add(s);
        stack.push(s);
      }
    }
  }
  return consumers;
}

interface Visit {
  readonly node: Node;
  /** Inside the source of a fused reduction. */
  readonly inReduce: boolean;
  /** Reached through an expand since the last reduction (or the root). */
  readonly throughExpand: boolean;
}

export function schedule(roots: readonly Node[], isRealized: (n: Node) => boolean): ScheduleItem[] {
  const consumers = reachable(roots, isRealized);
  const reasons = new Map<Node, string>();
  for (const r of roots) if (!isRealized(r)) reasons.set(r, 'output');

  const boundary = (v: Visit): string | undefined => {
    const n = v.node;
    switch (n.op) {
      case 'CONTIGUOUS':
        return 'explicit contiguous()';
      case 'COPY':
        return `copy to ${n.device}`;
      case 'ASSIGN':
        return 'in-place assign';
      case 'REDUCE': {
        if (v.inReduce) return 'reduction inside the source of another reduction';
        if (v.throughExpand) return 'reduction result broadcast back over its reduced axes: the consumer needs all of it first';
        const users = consumers.get(n)?.size ?? 0;
        if (users > 1) return `reduction result used by ${users} consumers`;
        return undefined;
      }
      default:
        return undefined;
    }
  };

  const items = new Map<Node, ScheduleItem>();
  const order: ScheduleItem[] = [];

  const region = (root: Node): ScheduleItem => {
    const inputs: Node[] = [];
    const ops: Op[] = [];
    const reduces: Node[] = [];
    const seen = new Set<string>();
    const kind: ItemKind = root.op === 'COPY' ? 'copy' : root.op === 'ASSIGN' ? 'assign' : 'kernel';
    const addInput = (n: Node, why: string): void => {
      if (!isRealized(n) && !reasons.has(n)) reasons.set(n, why);
      if (!inputs.includes(n)) inputs.push(n);
    };
    let start: Visit[];
    if (kind === 'copy') {
      addInput(root.src[0]!, `source of a copy to ${root.device}`);
      start = [];
    } else if (kind === 'assign') {
      addInput(root.src[0]!, 'target of an in-place assign');
      start = [{ node: root.src[1]!, inReduce: false, throughExpand: false }];
    } else {
      start = [{ node: root, inReduce: false, throughExpand: false }];
    }
    const stack = start;
    while (stack.length) {
      const v = stack.pop()!;
      const n = v.node;
      const key = `${n.id}:${+v.inReduce}${+v.throughExpand}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (n !== root && (isRealized(n) || reasons.has(n))) {
        addInput(n, reasons.get(n) ?? 'realized');
        continue;
      }
      const why = n === root ? undefined : boundary(v);
      if (why !== undefined) {
        addInput(n, why);
        continue;
      }
      if (n.op === 'BUFFER') throw new Error(`BUFFER ${n} has no data`);
      if (!ops.includes(n.op)) ops.push(n.op);
      if (n.op === 'REDUCE') {
        reduces.push(n);
        stack.push({ node: n.src[0]!, inReduce: true, throughExpand: false });
      } else if (n.op === 'EXPAND') {
        stack.push({ node: n.src[0]!, inReduce: v.inReduce, throughExpand: true });
      } else {
        for (const s of n.src) stack.push({ node: s, inReduce: v.inReduce, throughExpand: v.throughExpand });
      }
    }
    return { kind, root, inputs, ops, reduces, reason: reasons.get(root) ?? 'output' };
  };

  // depth-first so every item follows the items that produce its inputs
  const emit = (root: Node): void => {
    if (items.has(root) || isRealized(root)) return;
    const item = region(root);
    items.set(root, item);
    for (const i of item.inputs) if (!isRealized(i)) emit(i);
    order.push(item);
  };
  for (const r of roots) emit(r);
  return order;
}
