/** What a schedule would launch, and why each kernel is where it is (the runtime's `explain()` plans the schedule). */
import { formatShape, type Node, type Op } from '@fusor/ir';
import type { Backend } from './backend.js';
import { printKernel, type Expr, type Kernel } from './kernel-ir.js';
import { lower } from './lower.js';
import { describePlan, planKernel } from './reduce-plan.js';
import type { ScheduleItem } from './schedule.js';

export interface KernelReport {
  readonly name: string;
  readonly kind: 'kernel' | 'copy' | 'assign';
  readonly device: string;
  readonly ops: readonly Op[];
  /** Shapes and dtypes of the buffers read. */
  readonly inputs: readonly string[];
  readonly output: string;
  readonly reductions: number;
  /** Why this kernel's output is a buffer of its own. */
  readonly reason: string;
  /** The backend routine that computes it instead of generated code ('gemm', 'sort'), if any. */
  readonly routine?: string;
  /** The elementwise chain the routine applies before its store (a fused bias, activation…), in words. */
  readonly epilogue?: string;
  /** How the backend launches it (workgroup size, tiling…), where the backend says. */
  readonly launch?: string;
  /** The planning pass's decision (vector lanes, cooperative groups, split), where the backend declares its numbers. */
  readonly plan?: string;
  /** Kernel IR, as text. */
  readonly ir?: string;
  /** What the backend renders for it. */
  readonly source?: string;
}

export interface Explanation {
  readonly kernels: readonly KernelReport[];
  toString(): string;
}

export interface ExplainOptions {
  /** Include each kernel's IR (default true). */
  readonly ir?: boolean;
  /** Include each kernel's rendered source (default false). */
  readonly source?: boolean;
}

const describe = (n: Node): string => `${n.dtype}${formatShape(n.shape)}`;

/** An epilogue's ALU ops in order of first use, and the buffers it reads. */
function describeEpilogue(k: Kernel, inputs: readonly Node[]): string {
  const ops: string[] = [];
  const walk = (e: Expr): void => {
    if (e.k === 'alu') e.src.forEach(walk);
    else if (e.k === 'cast') walk(e.src);
    else if (e.k === 'load') walk(e.idx);
    if ((e.k === 'alu' || e.k === 'cast') && e.dtype !== 'int32' && !ops.includes(e.k === 'alu' ? e.op : 'CAST'))
      ops.push(e.k === 'alu' ? e.op : 'CAST');
  };
  for (const s of k.body) if (s.k === 'let' || s.k === 'store') walk(s.expr);
  return `${ops.join(' ') || 'a copy'} on the product before its store${inputs.length ? `, reading ${inputs.map(describe).join(', ')}` : ''}`;
}

/** Describes a schedule: each item's kernel (lowered, and rendered if asked) and how its backend would launch it. */
export function explainSchedule(items: readonly ScheduleItem[], backendFor: (device: string) => Backend, opts: ExplainOptions = {}): Explanation {
  const kernels = items.map((item): KernelReport => {
    const base = {
      kind: item.kind,
      device: item.root.device,
      ops: item.ops,
      inputs: item.inputs.map(describe),
      output: describe(item.root),
      reductions: item.reduces.length,
      reason: item.reason,
    };
    if (item.kind === 'copy') return { ...base, name: `copy_${item.root.shape.join('_')}` };
    if (item.gemm) {
      const g = item.gemm.shape;
      const batch = g.batch.map((d) => `${d.size}x`).join('');
      const launch = backendFor(item.root.device).routines?.gemm?.describe?.(g);
      const e = g.epilogue;
      return {
        ...base,
        name: `gemm_${batch}${g.m}x${g.n}x${g.k}${e ? '_epilogue' : ''}`,
        routine: 'gemm',
        ...(launch === undefined ? {} : { launch }),
        ...(e ? { epilogue: describeEpilogue(e.kernel, item.gemm.epilogue ?? []) } : {}),
        ...(e && opts.ir !== false ? { ir: printKernel(e.kernel) } : {}),
      };
    }
    if (item.sort) {
      const sh = item.sort;
      const launch = backendFor(item.root.device).routines?.sort?.describe?.(sh);
      return {
        ...base,
        name: `sort_${sh.rows}x${sh.n}${sh.k < sh.n ? `_top${sh.k}` : ''}`,
        routine: 'sort',
        ...(launch === undefined ? {} : { launch }),
      };
    }
    const { kernel } = lower(item);
    const backend = backendFor(item.root.device);
    const launch = backend.describe?.(kernel);
    const numbers = backend.planning;
    const plan = numbers ? describePlan(kernel, planKernel(kernel, numbers), numbers) : undefined;
    const rendered = opts.source ? backendFor(item.root.device).render(kernel).source : undefined;
    return {
      ...base,
      name: kernel.name,
      ...(launch === undefined ? {} : { launch }),
      ...(plan === undefined ? {} : { plan }),
      ...(opts.ir === false ? {} : { ir: printKernel(kernel) }),
      ...(rendered === undefined ? {} : { source: typeof rendered === 'string' ? rendered : `<${rendered.length} bytes>` }),
    };
  });
  return {
    kernels,
    toString() {
      const lines = [`${kernels.length} kernel${kernels.length === 1 ? '' : 's'}`];
      kernels.forEach((k, i) => {
        const what = k.routine ? `${k.routine} routine` : k.kind;
        lines.push(`[${i}] ${k.name} (${what} on ${k.device}) ${k.inputs.join(', ') || '-'} -> ${k.output}`);
        lines.push(`    ops: ${k.ops.join(' ') || '-'}; reductions: ${k.reductions}`);
        lines.push(`    why a kernel of its own: ${k.reason}`);
        if (k.epilogue) lines.push(`    epilogue: ${k.epilogue}`);
        if (k.launch) lines.push(`    launch: ${k.launch}`);
        if (k.plan) lines.push(`    plan: ${k.plan}`);
        if (k.ir) lines.push(...k.ir.split('\n').map((l) => `    | ${l}`));
        if (k.source) lines.push(...k.source.split('\n').map((l) => `    > ${l}`));
      });
      return lines.join('\n');
    },
  };
}
