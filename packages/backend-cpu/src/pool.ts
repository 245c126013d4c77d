/**
 * The worker pool: threads − 1 workers sharing the heap's memory with the main thread. A launch
 * splits its range into parts, hands one to each ready worker, runs one itself and blocks until
 * all are done (Atomics.wait in Node; a spin in browsers, whose main thread may not wait).
 *
 * Jobs travel through a small shared control array: per worker a sequence number (bumped to
 * wake it), the module id, which export to call and its three arguments; a shared counter of
 * finished parts. Compiled modules are posted to a worker once, before its first job with them;
 * a Node worker picks them up synchronously (receiveMessageOnPort), a browser worker in order
 * with its job messages. Workers instantiate each module once and keep the instance.
 */
import { nodeProcess } from './config.js';

/** Control array layout (int32 slots). */
const DONE = 0;
const ERROR = 1;
const HEADER = 4;
const SEQ = 0;
const READY = 1;
const MODULE = 2;
const FN = 3;
const ARG = 4;
/** The job offered to a worker (its sequence number), or 0 once the worker or the main thread took it. */
const CLAIM = 7;
const SLOT = 8;

/** Exports a job may call. */
export type JobFn = 'run' | 'partial' | 'pack';
const FNS: readonly JobFn[] = ['run', 'partial', 'pack'];

/** Busy-waits this many polls before sleeping: back-to-back launches then skip the futex wake-up. */
const SPINS = 20000;

/** The worker's program: plain JavaScript, no imports (runs as a Node eval worker or from a Blob URL). */
const WORKER_SOURCE = `
const HEADER = ${HEADER}, SLOT = ${SLOT}, SEQ = ${SEQ}, READY = ${READY}, MODULE = ${MODULE}, FN = ${FN}, ARG = ${ARG}, CLAIM = ${CLAIM};
const DONE = ${DONE}, ERROR = ${ERROR}, SPINS = ${SPINS};
const FNS = ${JSON.stringify(FNS)};
let ctl, base, imports, port, receive;
const instances = new Map();
const add = (m) => instances.set(m.id, new WebAssembly.Instance(m.module, imports).exports);
function run(id, fn, a0, a1, a2) {
  try {
    let ex = instances.get(id);
    while (!ex && receive) {
      const m = receive(port);
      if (!m) throw new Error('module ' + id + ' was never sent to this worker');
      add(m.message);
      ex = instances.get(id);
    }
    ex[FNS[fn]](a0, a1, a2);
  } catch (e) {
    Atomics.store(ctl, ERROR, 1);
    console.error('fusor cpu worker:', e);
  }
  Atomics.add(ctl, DONE, 1);
  Atomics.notify(ctl, DONE);
}
function start(d) {
  ctl = new Int32Array(d.control);
  base = HEADER + d.slot * SLOT;
  imports = { env: { memory: d.memory, sin: Math.sin, fmod: (a, b) => a % b } };
  Atomics.store(ctl, base + READY, 1);
}
if (typeof require === 'function' && typeof process !== 'undefined' && process.versions && process.versions.node) {
  const wt = require('node:worker_threads');
  port = wt.workerData.port;
  receive = wt.receiveMessageOnPort;
  start(wt.workerData);
  let seq = 0;
  for (;;) {
    for (let i = 0; i < SPINS && Atomics.load(ctl, base + SEQ) === seq; i++);
    Atomics.wait(ctl, base + SEQ, seq);
    const now = Atomics.load(ctl, base + SEQ);
    if (now === seq) continue;
    seq = now;
    if (ctl[base + FN] < 0) break;
    // the main thread may have run the job itself meanwhile (this thread came late)
    if (Atomics.compareExchange(ctl, base + CLAIM, now, 0) !== now) continue;
    run(ctl[base + MODULE], ctl[base + FN], ctl[base + ARG], ctl[base + ARG + 1], ctl[base + ARG + 2]);
  }
} else {
  self.onmessage = (e) => {
    const d = e.data;
    if (d.control) start(d);
    else if (d.module) add(d);
    else if (d.job && Atomics.compareExchange(ctl, base + CLAIM, d.job[5], 0) === d.job[5]) run(d.job[0], d.job[1], d.job[2], d.job[3], d.job[4]);
  };
}
`;

/** A compiled module the pool can run: its id (for workers' caches) and the main thread's instance. */
export interface PoolModule {
  readonly id: number;
  readonly module: WebAssembly.Module;
}

interface WorkerHandle {
  readonly post: (msg: unknown) => void;
  readonly terminate: () => void;
  readonly sent: Set<number>;
}

interface NodeWorkerThreads {
  Worker: new (src: string, opts: object) => { unref(): void; terminate(): Promise<number>; postMessage(m: unknown): void };
  MessageChannel: new () => { port1: { postMessage(m: unknown): void; close(): void }; port2: unknown };
}

/** Where workers come from: Node's worker_threads, or browser Workers when the page is cross-origin isolated. */
function workerFactory(): ((memory: WebAssembly.Memory, control: SharedArrayBuffer, slot: number) => WorkerHandle) | undefined {
  const proc = nodeProcess();
  if (proc) {
    const wt = proc.getBuiltinModule?.('node:worker_threads') as NodeWorkerThreads | undefined;
    if (!wt) return undefined;
    return (memory, control, slot) => {
      const { port1, port2 } = new wt.MessageChannel();
      const w = new wt.Worker(WORKER_SOURCE, { eval: true, workerData: { memory, control, slot, port: port2 }, transferList: [port2] });
      w.unref();
      return {
        post: (m) => port1.postMessage(m),
        terminate: () => {
          port1.close();
          void w.terminate();
        },
        sent: new Set(),
      };
    };
  }
  const g = globalThis as { Worker?: new (url: string) => { postMessage(m: unknown): void; terminate(): void }; Blob?: typeof Blob; URL?: typeof URL };
  if (!g.Worker || !g.Blob || !g.URL) return undefined;
  const url = g.URL.createObjectURL(new g.Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  return (memory, control, slot) => {
    const w = new g.Worker!(url);
    w.postMessage({ memory, control, slot });
    return { post: (m) => w.postMessage(m), terminate: () => w.terminate(), sent: new Set() };
  };
}

export class Pool {
  private readonly ctl: Int32Array;
  private readonly workers: WorkerHandle[] = [];
  private readonly node: boolean;

  constructor(
    memory: WebAssembly.Memory,
    readonly size: number,
  ) {
    const control = new SharedArrayBuffer(4 * (HEADER + SLOT * Math.max(size, 1)));
    this.ctl = new Int32Array(control);
    this.node = nodeProcess() !== undefined;
    const make = workerFactory();
    if (!make) return;
    for (let i = 0; i < size; i++) this.workers.push(make(memory, control, i));
  }

  /** Workers that have started (a launch uses only these: results do not depend on how many). */
  ready(): number {
    let n = 0;
    while (n < this.workers.length && Atomics.load(this.ctl, HEADER + n * SLOT + READY) === 1) n++;
    return n;
  }

  /** Resolves once every worker has started (or after `timeoutMs`). */
  async whenReady(timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.ready() < this.workers.length && Date.now() < until) await new Promise((r) => setTimeout(r, 1));
  }

  /**
   * Calls export `fn(a, b, arg)` of `mod` for consecutive ranges [a, b) covering [0, n), each
   * boundary a multiple of `align`: one range per ready worker plus one on this thread.
   */
  run(mod: PoolModule, main: (a: number, b: number) => void, fn: JobFn, n: number, align: number, arg: number): void {
    const parts = Math.min(this.ready() + 1, Math.ceil(n / align));
    const bounds: number[] = [];
    for (let p = 0; p < parts; p++) bounds.push(Math.floor((p * n) / parts / align) * align);
    bounds.push(n);
    const ctl = this.ctl;
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, ERROR, 0);
    // per worker given a part: the job number it was offered under (0: none)
    const offered: number[] = [];
    let sent = 0;
    for (let p = 1; p < parts; p++) {
      offered.push(0);
      if (bounds[p + 1]! <= bounds[p]!) continue;
      const w = this.workers[p - 1]!;
      if (!w.sent.has(mod.id)) {
        w.post({ id: mod.id, module: mod.module });
        w.sent.add(mod.id);
      }
      const fi = FNS.indexOf(fn);
      const base = HEADER + (p - 1) * SLOT;
      // job numbers are positive and never 0 (wrapping skips it)
      const job = (Atomics.load(ctl, base + SEQ) + 1) | 0 || 1;
      offered[p - 1] = job;
      if (this.node) {
        ctl[base + MODULE] = mod.id;
        ctl[base + FN] = fi;
        ctl[base + ARG] = bounds[p]!;
        ctl[base + ARG + 1] = bounds[p + 1]!;
        ctl[base + ARG + 2] = arg;
        Atomics.store(ctl, base + CLAIM, job);
        Atomics.store(ctl, base + SEQ, job);
        Atomics.notify(ctl, base + SEQ);
      } else {
        Atomics.store(ctl, base + CLAIM, job);
        Atomics.store(ctl, base + SEQ, job);
        w.post({ job: [mod.id, fi, bounds[p]!, bounds[p + 1]!, arg, job] });
      }
      sent++;
    }
    try {
      if (bounds[1]! > bounds[0]!) main(bounds[0]!, bounds[1]!);
      // parts whose worker has not picked them up yet (descheduled by the machine's other work,
      // or still asleep) run here instead of being waited for
      for (let p = 1; p < parts; p++) {
        const job = offered[p - 1]!;
        if (job && Atomics.compareExchange(ctl, HEADER + (p - 1) * SLOT + CLAIM, job, 0) === job) {
          sent--;
          main(bounds[p]!, bounds[p + 1]!);
        }
      }
    } finally {
      this.wait(sent);
    }
    if (Atomics.load(ctl, ERROR)) throw new Error('a cpu worker failed running a kernel (its error is on the console)');
  }

  private wait(count: number): void {
    const ctl = this.ctl;
    for (let spin = 0; Atomics.load(ctl, DONE) < count; spin++) {
      if (this.node && spin > SPINS) {
        const now = Atomics.load(ctl, DONE);
        if (now < count) Atomics.wait(ctl, DONE, now, 1000);
      }
    }
  }

  /** Stops the workers (after the current launch; the pool must not be used afterwards). */
  close(): void {
    for (let i = 0; i < this.workers.length; i++) {
      const base = HEADER + i * SLOT;
      if (this.node) {
        this.ctl[base + FN] = -1;
        Atomics.add(this.ctl, base + SEQ, 1);
        Atomics.notify(this.ctl, base + SEQ);
      }
      this.workers[i]!.terminate();
    }
  }
}
