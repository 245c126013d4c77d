/**
 * Kernel IR with its values hoisted: every expression becomes one value, computed
 * once (equal expressions share it) at the outermost loop level where its inputs exist, so
 * loop-invariant index math and loads move out of reduction loops, and gid-invariant ones out
 * of the kernel's loop. Values no store or update needs are dropped.
 */
import type { DType, ReduceKind } from '@fusor/ir';
import type { AluOp, Expr, Kernel, Stmt } from './kernel-ir.js';

export type ValueKind = 'const' | 'gid' | 'ridx' | 'var' | 'acc' | 'load' | 'alu' | 'cast' | 'bitcast' | 'rand';

export interface Acc {
  readonly id: number;
  readonly dtype: DType;
  readonly init: number;
  /** Set by the acc's update (an accumulator is updated by one op). */
  op: ReduceKind;
  /** Level of the block that declares it. */
  readonly level: number;
  /** The value that reads it once it is final. */
  read?: Value;
}

export interface Value {
  readonly id: number;
  readonly kind: ValueKind;
  readonly dtype: DType;
  /** -1: once per launch; 0: once per gid; d > 0: inside the d-th nested loop. */
  readonly level: number;
  /** Operands (for a load: index, then validity if masked). */
  readonly args: readonly Value[];
  readonly op?: AluOp;
  /** const: the value; ridx: loop number; var: parameter index; load: buffer index. */
  readonly n: number;
  readonly acc?: Acc;
  /** Known range (index math). */
  readonly min: number;
  readonly max: number;
}

export type Instr =
  | { readonly k: 'value'; readonly v: Value }
  | { readonly k: 'acc'; readonly acc: Acc }
  | { readonly k: 'loop'; readonly ridx: Value; readonly n: number; readonly body: Instr[] }
  | { readonly k: 'update'; readonly acc: Acc; readonly v: Value }
  /** The accumulator's loop is done: its value is final (float32 sums are rounded here). */
  | { readonly k: 'round'; readonly acc: Acc }
  | { readonly k: 'store'; readonly buf: number; readonly idx: Value; readonly v: Value };

export interface FlatKernel {
  readonly kernel: Kernel;
  /** Values computed once per launch. */
  readonly prologue: Instr[];
  /** Run for each gid. */
  readonly body: Instr[];
  readonly gid: Value;
  readonly accs: readonly Acc[];
}

export function flatten(kernel: Kernel): FlatKernel {
  let nextId = 0;
  const blocks: Instr[][] = [];
  const prologue: Instr[] = [];
  const memo = new Map<string, Value>();
  const names = new Map<string, Value>();
  const accs = new Map<string, Acc>();
  const ridxs = new Map<number, Value>();
  const accList: Acc[] = [];

  const make = (v: Omit<Value, 'id'>): Value => ({ ...v, id: nextId++ });
  const gid = make({ kind: 'gid', dtype: 'int32', level: 0, args: [], n: 0, min: 0, max: Math.max(kernel.size - 1, 0) });

  /** The block a value of `level` is appended to: the end of that block is before any open loop. */
  const blockAt = (level: number): Instr[] => (level < 0 ? prologue : blocks[level]!);

  const value = (e: Expr): Value => {
    switch (e.k) {
      case 'const': {
        const key = `${e.key}`;
        let c = memo.get(key);
        if (!c) memo.set(key, (c = make({ kind: 'const', dtype: e.dtype, level: -1, args: [], n: e.value, min: e.min, max: e.max })));
        return c;
      }
      case 'gid':
        return gid;
      case 'ridx': {
        const r = ridxs.get(e.i);
        if (!r) throw new Error(`flatten: r${e.i} used outside its loop`);
        return r;
      }
      case 'local': {
        const v = names.get(e.name);
        if (!v) throw new Error(`flatten: ${e.name} used before it is defined`);
        return v;
      }
      default:
        break;
    }
    const hit = memo.get(e.key);
    if (hit) return hit;
    let v: Value;
    const base = { dtype: e.dtype, min: e.min, max: e.max };
    switch (e.k) {
      case 'var':
        v = make({ kind: 'var', ...base, level: -1, args: [], n: e.i });
        break;
      case 'load': {
        const args = e.valid ? [value(e.idx), value(e.valid)] : [value(e.idx)];
        v = make({ kind: 'load', ...base, level: levelOf(args), args, n: e.buf });
        break;
      }
      case 'alu': {
        const args = e.src.map(value);
        v = make({ kind: 'alu', ...base, level: levelOf(args), args, op: e.op, n: 0 });
        break;
      }
      case 'cast': {
        const args = [value(e.src)];
        v = make({ kind: e.bitcast ? 'bitcast' : 'cast', ...base, level: levelOf(args), args, n: 0 });
        break;
      }
      case 'rand': {
        const args = [value(e.seed), value(e.counter)];
        v = make({ kind: 'rand', ...base, level: levelOf(args), args, n: 0 });
        break;
      }
    }
    memo.set(e.key, v);
    if (v.kind !== 'var') blockAt(v.level).push({ k: 'value', v });
    return v;
  };

  const walk = (stmts: readonly Stmt[], level: number): void => {
    const block = blocks[level]!;
    for (const s of stmts) {
      switch (s.k) {
        case 'let':
          names.set(s.name, value(s.expr));
          break;
        case 'acc': {
          const acc: Acc = { id: accList.length, dtype: s.dtype, init: s.init, op: 'add', level };
          accs.set(s.name, acc);
          accList.push(acc);
          block.push({ k: 'acc', acc });
          break;
        }
        case 'loop': {
          const ridx = make({ kind: 'ridx', dtype: 'int32', level: level + 1, args: [], n: s.ridx, min: 0, max: Math.max(s.n - 1, 0) });
          ridxs.set(s.ridx, ridx);
          const body: Instr[] = [];
          blocks.push(body);
          walk(s.body, level + 1);
          blocks.pop();
          block.push({ k: 'loop', ridx, n: s.n, body });
          // accumulators of this block updated in this loop are final once it ends
          for (const [name, acc] of accs) {
            if (names.has(name) || acc.level !== level || !updates(body, acc)) continue;
            block.push({ k: 'round', acc });
            acc.read = make({ kind: 'acc', dtype: acc.dtype, level, args: [], n: acc.id, acc, min: -Infinity, max: Infinity });
            names.set(name, acc.read);
          }
          break;
        }
        case 'update': {
          const acc = accs.get(s.name);
          if (!acc) throw new Error(`flatten: update of unknown accumulator ${s.name}`);
          acc.op = s.op;
          block.push({ k: 'update', acc, v: value(s.expr) });
          break;
        }
        case 'store':
          block.push({ k: 'store', buf: s.buf, idx: value(s.idx), v: value(s.expr) });
          break;
      }
    }
    // an accumulator never updated (a reduction over zero elements) is final as declared
    if (level === 0) {
      for (const [name, acc] of accs) {
        if (names.has(name)) continue;
        acc.read = make({ kind: 'acc', dtype: acc.dtype, level: 0, args: [], n: acc.id, acc, min: -Infinity, max: Infinity });
        names.set(name, acc.read);
      }
    }
  };

  blocks.push([]);
  walk(kernel.body, 0);
  const body = blocks[0]!;
  prune(prologue, body);
  return { kernel, prologue, body, gid, accs: accList };
}

const levelOf = (args: readonly Value[]): number => args.reduce((l, a) => Math.max(l, a.level), -1);

function updates(body: readonly Instr[], acc: Acc): boolean {
  return body.some((i) => (i.k === 'update' && i.acc === acc) || (i.k === 'loop' && updates(i.body, acc)));
}

/** Drops values nothing stored or accumulated depends on. */
function prune(prologue: Instr[], body: Instr[]): void {
  const live = new Set<Value>();
  const mark = (v: Value): void => {
    if (live.has(v)) return;
    live.add(v);
    for (const a of v.args) mark(a);
  };
  const roots = (instrs: readonly Instr[]): void => {
    for (const i of instrs) {
      if (i.k === 'update') mark(i.v);
      else if (i.k === 'store') (mark(i.v), mark(i.idx));
      else if (i.k === 'loop') roots(i.body);
    }
  };
  roots(body);
  const sweep = (instrs: Instr[]): void => {
    for (let j = instrs.length - 1; j >= 0; j--) {
      const i = instrs[j]!;
      if (i.k === 'value' && !live.has(i.v)) instrs.splice(j, 1);
      else if (i.k === 'loop') sweep(i.body);
    }
  };
  sweep(prologue);
  sweep(body);
}

/** Every loop instruction, outermost first. */
export function loopsOf(instrs: readonly Instr[]): Extract<Instr, { k: 'loop' }>[] {
  const out: Extract<Instr, { k: 'loop' }>[] = [];
  for (const i of instrs) {
    if (i.k !== 'loop') continue;
    out.push(i);
    out.push(...loopsOf(i.body));
  }
  return out;
}

/** Element operations per gid: the body's statements weighted by their loops' trip counts. */
export function workPerGid(instrs: readonly Instr[]): number {
  let w = 0;
  for (const i of instrs) w += i.k === 'loop' ? i.n * Math.max(1, workPerGid(i.body)) : 1;
  return w;
}
