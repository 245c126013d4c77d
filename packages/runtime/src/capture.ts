/**
 * Replaying what realizes launched: the machinery under `jit`. A recording holds the launches a
 * traced call made (generated kernels with their compiled programs, GEMM and sort routines, uploads,
 * device copies), each bound to buffers by index. A replay binds those indices to the buffers of
 * a new call and runs the launches again: nothing is traced, scheduled, lowered or compiled.
 */
import type { DType, HostArray, Node } from '@fusor/ir';
import type { Backend, BackendBuffer, Expr, GemmShape, Kernel, SortShape, Stmt } from '@fusor/compiler';
import { countLaunches, startTape, stopTape, type DeviceBuffer, type Tape } from './realize.js';

/** New (seed, offset) for a random-number pair recorded as (seed, offset). */
export type RandomRemap = (seed: number, offset: number) => readonly [number, number];

type Step =
  | { readonly k: 'kernel'; readonly backend: Backend; readonly kernel: Kernel; readonly program: unknown; readonly bufs: readonly number[]; readonly vars: readonly number[]; readonly seeds: readonly number[] }
  | { readonly k: 'gemm'; readonly backend: Backend; readonly shape: GemmShape; readonly bufs: readonly number[] }
  | { readonly k: 'sort'; readonly backend: Backend; readonly shape: SortShape; readonly bufs: readonly number[] }
  | { readonly k: 'upload'; readonly backend: Backend; readonly bufs: readonly number[]; readonly data: HostArray }
  | { readonly k: 'copy'; readonly bufs: readonly number[] };

/** Records every launch made while `fn` runs (`keep`: nodes realized before that hold state to read, not recompute). */
export function capture<T>(fn: () => T, keep?: (n: Node) => boolean): { result: T; recording: Recording } {
  const tape = startTape(keep);
  try {
    const result = fn();
    return { result, recording: new Recording(tape) };
  } finally {
    stopTape();
  }
}

/** What a buffer of a recording was: enough to allocate another like it. */
export interface BufferSpec {
  readonly backend: Backend;
  readonly device: string;
  readonly handle: { readonly dtype: DType; readonly size: number };
}

export class Recording {
  /**
   * Every buffer a launch bound, in order of first use (replays bind buffers by these indices);
   * undefined once released (a buffer a replay never reuses need not stay alive).
   */
  readonly buffers: (DeviceBuffer | undefined)[];
  /** Dtype, size and device of each buffer. */
  readonly specs: readonly BufferSpec[];
  /** Per buffer: whether a recorded launch allocated it (else it existed before the capture). */
  readonly allocated: readonly boolean[];
  private readonly steps: readonly Step[];

  constructor(tape: Tape) {
    const index = new Map<DeviceBuffer, number>();
    const buffers: DeviceBuffer[] = [];
    const at = (b: DeviceBuffer): number => {
      let i = index.get(b);
      if (i === undefined) {
        index.set(b, (i = buffers.length));
        buffers.push(b);
      }
      return i;
    };
    this.steps = tape.steps.map((s): Step => {
      switch (s.k) {
        case 'kernel': {
          // random numbers come from (seed, offset) parameter pairs, which a replay draws anew
          const seeds = s.kernel.vars.flatMap((v, i) => (v.name === 'seed' ? [i] : []));
          return { k: 'kernel', backend: s.backend, kernel: s.kernel, program: s.program, bufs: s.bufs.map(at), vars: s.vars, seeds };
        }
        case 'gemm':
          return { k: 'gemm', backend: s.backend, shape: s.shape, bufs: s.bufs.map(at) };
        case 'sort':
          return { k: 'sort', backend: s.backend, shape: s.shape, bufs: s.bufs.map(at) };
        case 'upload':
          return { k: 'upload', backend: s.buf.backend, bufs: [at(s.buf)], data: s.data };
        case 'copy':
          return { k: 'copy', bufs: s.bufs.map(at) };
      }
    });
    // a replay writes into these: they stay allocated while the recording may replay them
    for (const b of buffers) b.pin();
    this.buffers = buffers;
    this.specs = buffers.map((b) => ({ backend: b.backend, device: b.device, handle: { dtype: b.handle.dtype, size: b.handle.size } }));
    this.allocated = buffers.map((b) => tape.allocated.has(b));
  }

  /** Drops the recording's hold on buffer `i` (a replay binds another buffer there). */
  release(i: number): void {
    const b = this.buffers[i];
    this.buffers[i] = undefined;
    b?.unpin();
  }

  /** Number of launches (kernels and routines) a replay makes. */
  get launches(): number {
    return this.steps.filter((s) => s.k === 'kernel' || s.k === 'gemm' || s.k === 'sort').length;
  }

  /** Indices of the steps that write buffer `b` (every step writes its first buffer). */
  writers(b: number): number[] {
    return this.steps.flatMap((s, i) => (s.bufs[0] === b ? [i] : []));
  }

  /** Whether any step after `step` reads buffer `b`. */
  readAfter(b: number, step: number): boolean {
    return this.steps.some((s, i) => i > step && s.bufs.includes(b, 1));
  }

  /**
   * Whether step `step` may write its output over buffer `b`: a generated kernel that reads `b`
   * only at the very index it writes, so each element is read before it is overwritten.
   */
  mayWriteOver(step: number, b: number): boolean {
    const s = this.steps[step];
    if (!s || s.k !== 'kernel') return false;
    const params = new Set(s.bufs.flatMap((x, p) => (x === b && p > 0 ? [p] : [])));
    const src = this.specs[b]!.handle;
    const out = this.specs[s.bufs[0]!]!.handle;
    if (src.dtype !== out.dtype || src.size !== out.size || s.kernel.size !== out.size) return false;
    return loadsOf(s.kernel.body).every((l) => !params.has(l.buf) || (l.idx.k === 'gid' && l.valid === null));
  }

  /**
   * Runs the recorded launches with buffer `i` of the recording replaced by `bind[i]` (a buffer
   * whose recorded writer runs again may be bound to another recorded buffer's storage).
   */
  replay(bind: readonly DeviceBuffer[], remap?: RandomRemap): void {
    const h: BackendBuffer[] = bind.map((b) => b.handle);
    let kernels = 0;
    let routines = 0;
    for (const s of this.steps) {
      switch (s.k) {
        case 'kernel': {
          let vars = s.vars;
          if (remap && s.seeds.length) {
            const v = [...vars];
            for (const i of s.seeds) [v[i], v[i + 1]] = remap(v[i]!, v[i + 1]!) as [number, number];
            vars = v;
          }
          s.backend.launch(
            s.program,
            s.bufs.map((i) => h[i]!),
            vars,
          );
          kernels++;
          break;
        }
        case 'gemm':
          s.backend.routines!.gemm!.run(s.shape, h[s.bufs[1]!]!, h[s.bufs[2]!]!, h[s.bufs[0]!]!, s.bufs.slice(3).map((i) => h[i]!));
          routines++;
          break;
        case 'sort':
          s.backend.routines!.sort!.run(s.shape, h[s.bufs[1]!]!, h[s.bufs[0]!]!);
          routines++;
          break;
        case 'upload':
          s.backend.write(h[s.bufs[0]!]!, s.data);
          break;
        case 'copy': {
          const src = bind[s.bufs[1]!]!;
          const dst = bind[s.bufs[0]!]!;
          if (!src.backend.readSync) throw new Error(`copying from ${src.device} needs an asynchronous read: a jitted function cannot copy from it`);
          dst.backend.write(dst.handle, src.backend.readSync(src.handle));
          break;
        }
      }
    }
    countLaunches(kernels, routines);
  }
}

function loadsOf(body: readonly Stmt[]): Extract<Expr, { k: 'load' }>[] {
  const out: Extract<Expr, { k: 'load' }>[] = [];
  const visit = (e: Expr): void => {
    switch (e.k) {
      case 'load':
        out.push(e);
        visit(e.idx);
        if (e.valid) visit(e.valid);
        break;
      case 'alu':
        e.src.forEach(visit);
        break;
      case 'cast':
        visit(e.src);
        break;
      case 'rand':
        visit(e.seed);
        visit(e.counter);
        break;
    }
  };
  const walk = (stmts: readonly Stmt[]): void => {
    for (const s of stmts) {
      if (s.k === 'loop') walk(s.body);
      else if (s.k === 'let' || s.k === 'update' || s.k === 'store') visit(s.expr);
    }
  };
  walk(body);
  return out;
}
