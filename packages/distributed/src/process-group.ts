/**
 * The process group: MPI brought up once per process (the world is whatever `mpirun` or Slurm
 * launched), a data engine (MPI itself, or NCCL bootstrapped over MPI), and what makes every
 * operation safe to wait on:
 *
 * - a deadline per operation (the group's timeout unless the call names its own);
 * - a rendezvous before each collective: every rank contributes a 14-number header (its sequence
 *   number, the collective, dtype, shape, root or reduction) to one MPI_Iallgather, so ranks that
 *   disagree raise a clear error instead of corrupting memory, and a rank that never arrives is
 *   caught here at the latest. Cost: one small all-gather per collective (≈ 2–20 µs on one
 *   machine; one network latency across machines);
 * - a diagnosis on a second communicator: a rank whose operation has used 80 % of its time
 *   tells every other rank which collective it is stuck in, so the timeout error names the
 *   ranks that did not take part.
 */
import { DistBackendError, DistBackendUnavailableError, DistError } from './errors.js';
import { MpiEngine, requestSlot, SoloEngine, type Engine } from './engine.js';
import { loadKoffi, type CFunction } from './ffi.js';
import { MPI_ANY_SOURCE, MPI_THREAD_SINGLE, MpiLibrary } from './mpi.js';
import type { Tensor } from '@fusor/tensor';
import { hostRegion, releaseRegions, type Region } from './storage.js';
import { Watchdog } from './watchdog.js';
import { Poller, Work, type Pending, type WorkOwner } from './work.js';

/** PyTorch's default: 30 minutes. */
export const DEFAULT_TIMEOUT_MS = 30 * 60 * 1000;

/** Collective names, as the header and the diagnosis carry them (by index). */
export const COLLECTIVES = [
  'allReduce',
  'broadcast',
  'allGather',
  'allGatherIntoTensor',
  'reduceScatter',
  'reduceScatterTensor',
  'barrier',
  'ncclInit',
] as const;
export type CollectiveName = (typeof COLLECTIVES)[number];

const DTYPE_CODES = ['float32', 'float64', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool', 'float16', 'bfloat16'] as const;
const MAX_DIMS = 8;
/** seq, collective, dtype, numel, extra (root / reduction), ndim, up to 8 sizes. */
export const HEADER_LENGTH = 6 + MAX_DIMS;
const DIAG_TAG = 7;
/** Tests of the rendezvous's request before its wait goes through a Work (each test is ~0.15 µs). */
const QUICK_TESTS = 200;

export interface Header {
  readonly dtype: string;
  readonly shape: readonly number[];
  /** The root of a broadcast, the reduction of an all-reduce (as an index); 0 when absent. */
  readonly extra?: number;
  readonly extraName?: string;
  readonly describeExtra?: (v: number) => string;
}

let libc: { sched_yield: CFunction } | null | undefined;
/** sched_yield(2): what MPI itself does while it waits on an oversubscribed machine. */
function schedYield(): void {
  if (libc === undefined) {
    try {
      libc = { sched_yield: loadKoffi().load('libc.so.6').func('int sched_yield()') as unknown as CFunction };
    } catch {
      libc = null;
    }
  }
  libc?.sched_yield();
}

function pin<T extends ArrayBufferView>(a: T): T {
  void a.buffer;
  return a;
}

const listRanks = (ranks: readonly number[]): string => (ranks.length === 1 ? `rank ${ranks[0]}` : `ranks ${ranks.join(', ')}`);

export class ProcessGroup implements WorkOwner {
  private seq = 0;
  private brokenBy: Error | null = null;
  private destroyed = false;
  readonly poller = new Poller();
  /** The last announcement each rank made: [seq, collective]. */
  private readonly heard = new Map<number, readonly [number, number]>();
  private readonly diagIn = pin(new Float64Array(3));
  private diagRecv: Pending | null = null;
  private readonly diagSends: Pending[] = [];
  private watchdog: Watchdog | null = null;
  /** The watchdog's message for the last blocking call (the same string object while they repeat). */
  private blockingWhy = { name: '', timeoutMs: 0, text: '' };
  /** The rendezvous's buffers: this rank's header, every rank's, and the request. */
  private readonly header = pin(new Float64Array(HEADER_LENGTH));
  private readonly headers: Float64Array;
  private readonly headerRegions: readonly [Region, Region];
  private readonly headerSlot = requestSlot();
  private readonly failureHooks: (() => void)[] = [];
  private readonly destroyHooks: (() => void)[] = [];
  /** The data engine (MPI's own, or NCCL's). */
  engine: Engine;

  constructor(
    /** Null in a world of one without MPI. */
    readonly lib: MpiLibrary | null,
    readonly rank: number,
    readonly size: number,
    /** Collectives' headers and the mpi engine's data. */
    readonly control: Engine,
    /** Where stuck ranks announce themselves. */
    private readonly diag: Engine,
    readonly timeoutMs: number,
    /** Whether this group called MPI_Init (and so owes MPI_Finalize). */
    private readonly ownsMpi: boolean,
  ) {
    this.engine = control;
    this.headers = pin(new Float64Array(HEADER_LENGTH * size));
    this.headerRegions = [hostRegion(this.header, 'float64'), hostRegion(this.headers, 'float64')];
  }

  get backend(): 'mpi' | 'nccl' {
    return this.engine.name;
  }

  get broken(): Error | null {
    return this.brokenBy;
  }

  /** Raises when the group was destroyed or broken by an earlier failure. */
  checkUsable(what: string): void {
    if (this.destroyed) throw new DistError(`${what}: the default process group was destroyed; call initProcessGroup() first`);
    if (this.brokenBy) {
      throw new DistBackendError(`${what}: the process group is unusable after an earlier failure (${this.brokenBy.message}); exit this process`);
    }
  }

  /** The next collective's sequence number (every rank counts the same). */
  nextSeq(): number {
    return ++this.seq;
  }

  /**
   * The rendezvous: every rank's header for collective `seq`; raises on disagreement. Waits
   * like any operation, so a missing rank times out here with the collective's name. Ranks that
   * are already lined up finish it in a few tests of the request; only a longer wait goes through
   * a Work (deadline, diagnosis). Its buffers are the group's own: a rendezvous always completes
   * before the next starts, and after a failed one the group is unusable.
   */
  rendezvous(name: CollectiveName, seq: number, h: Header, timeoutMs: number): void {
    const { header: mine, headers: all } = this;
    mine.fill(0);
    mine[0] = seq;
    mine[1] = COLLECTIVES.indexOf(name);
    mine[2] = DTYPE_CODES.indexOf(h.dtype as (typeof DTYPE_CODES)[number]);
    mine[3] = h.shape.reduce((a, b) => a * b, 1);
    mine[4] = h.extra ?? 0;
    mine[5] = h.shape.length;
    for (let i = 0; i < Math.min(MAX_DIMS, h.shape.length); i++) mine[6 + i] = h.shape[i]!;
    // a world of one has nobody to disagree with
    if (this.size === 1) return;
    const pending = this.control.allGather(this.headerRegions[0], this.headerRegions[1], this.headerSlot);
    let done = false;
    for (let i = 0; i < QUICK_TESTS && !done; i++) done = pending.test();
    if (!done) this.work(name, seq, [pending], () => {}, [], timeoutMs).wait();
    for (let i = 0; i < all.length; i++) {
      if (all[i] !== mine[i % HEADER_LENGTH]) {
        this.disagreement(name, seq, h);
        return;
      }
    }
  }

  /** Raises the error that names what the ranks disagree on (the headers differ somewhere). */
  private disagreement(name: CollectiveName, seq: number, h: Header): void {
    const { header: mine, headers: all } = this;
    const at = (r: number): Float64Array => all.subarray(r * HEADER_LENGTH, (r + 1) * HEADER_LENGTH);
    const shapeOf = (x: Float64Array): string =>
      x[5]! > MAX_DIMS ? `a ${x[5]}-d tensor of ${x[3]} elements` : `[${Array.from(x.subarray(6, 6 + x[5]!)).join(', ')}]`;
    const describe = (x: Float64Array): string => `${DTYPE_CODES[x[2]!] ?? 'dtype ?'} ${shapeOf(x)}`;
    for (let r = 0; r < this.size; r++) {
      const x = at(r);
      if (x[0] !== seq || x[1] !== mine[1]) {
        throw new DistError(
          `${name}: ranks called different collectives: rank ${this.rank} called ${name} (collective #${seq}), rank ${r} called ${COLLECTIVES[x[1]!] ?? '?'} (collective #${x[0]})`,
        );
      }
    }
    const byDesc = new Map<string, number[]>();
    const byExtra = new Map<number, number[]>();
    for (let r = 0; r < this.size; r++) {
      const x = at(r);
      const d = describe(x);
      byDesc.set(d, [...(byDesc.get(d) ?? []), r]);
      byExtra.set(x[4]!, [...(byExtra.get(x[4]!) ?? []), r]);
    }
    if (byDesc.size > 1) {
      const parts = [...byDesc].map(([d, ranks]) => `${listRanks(ranks)}: ${d}`);
      throw new DistError(`${name}: tensors differ across ranks (${parts.join('; ')}); every rank must pass the same dtype and shape`);
    }
    if (byExtra.size > 1 && h.extraName) {
      const parts = [...byExtra].map(([v, ranks]) => `${listRanks(ranks)}: ${h.describeExtra ? h.describeExtra(v) : v}`);
      throw new DistError(`${name}: ranks disagree on ${h.extraName} (${parts.join('; ')})`);
    }
  }

  /**
   * A work handle for started transfers; `peer` says who a p2p operation waits for. The regions
   * are unpinned when it succeeds (after a failure the library may still write into them).
   */
  work(
    name: string,
    seq: number,
    pending: readonly Pending[],
    onDone: () => void,
    results: readonly Tensor[],
    timeoutMs: number,
    peer: string | null = null,
    regions: readonly Region[] = [],
  ): Work {
    return new Work(this, name, seq, pending, onDone, results, timeoutMs, performance.now(), peer, (ok) => ok && releaseRegions(regions));
  }

  /**
   * Runs a blocking library call with the watchdog armed: past the deadline the process ends
   * with the timeout error (the main thread, inside the call, cannot raise it).
   */
  guardBlocking<T>(name: string, timeoutMs: number, fn: () => T): T {
    this.watchdog ??= new Watchdog();
    let why = this.blockingWhy;
    if (why.name !== name || why.timeoutMs !== timeoutMs) {
      const text = `${name} timed out after ${timeoutMs} ms on rank ${this.rank} (world size ${this.size}): the transfer did not complete (every rank had arrived for it; one may have died during it)`;
      why = this.blockingWhy = { name, timeoutMs, text };
    }
    try {
      return this.watchdog.guard(timeoutMs, why.text, fn);
    } catch (e) {
      this.fail(e as Error);
      throw e;
    }
  }

  // ------------------------------------------------------------- WorkOwner: timeouts and diagnosis

  relax(): void {
    schedYield();
  }

  fail(error: Error): void {
    if (!(error instanceof DistBackendError) || this.brokenBy) return;
    this.brokenBy = error;
    for (const h of this.failureHooks) h();
  }

  /** Runs when an operation fails for good (NCCL aborts its communicator). */
  onFailure(h: () => void): void {
    this.failureHooks.push(h);
  }

  onDestroy(h: () => void): void {
    this.destroyHooks.push(h);
  }

  tick(work: Work, now: number): void {
    if (work.seq < 0) return;
    const grace = Math.min(1000, work.timeoutMs * 0.2);
    if (!work.announced && now >= work.deadline - grace) {
      work.announced = true;
      this.announce(work);
    }
    if (work.announced) this.listen();
  }

  private announce(work: Work): void {
    const msg = pin(new Float64Array([this.rank, work.seq, COLLECTIVES.indexOf(work.name as CollectiveName)]));
    const region = hostRegion(msg, 'float64');
    for (let r = 0; r < this.size; r++) {
      if (r === this.rank) continue;
      try {
        this.diagSends.push(this.diag.send(region, r, DIAG_TAG));
      } catch {
        // a dead peer may refuse: the diagnosis is best effort
      }
    }
  }

  /** Collects announcements that arrived (one receive posted at a time, reposted after each). */
  listen(): void {
    for (;;) {
      if (!this.diagRecv) {
        this.diagRecv = this.diag.recv(hostRegion(this.diagIn, 'float64'), MPI_ANY_SOURCE, DIAG_TAG);
      }
      let done = false;
      try {
        done = this.diagRecv.test();
      } catch {
        return;
      }
      if (!done) return;
      this.heard.set(this.diagIn[0]!, [this.diagIn[1]!, this.diagIn[2]!]);
      this.diagRecv = null;
    }
  }

  timeoutError(work: Work): DistBackendError {
    const head = `${work.name} timed out after ${work.timeoutMs} ms on rank ${this.rank} (world size ${this.size})`;
    if (work.seq < 0) return new DistBackendError(`${head}: ${work.peer}`);
    this.listen();
    const missing: number[] = [];
    const elsewhere: string[] = [];
    for (let r = 0; r < this.size; r++) {
      if (r === this.rank) continue;
      const h = this.heard.get(r);
      if (h && h[0] === work.seq) continue;
      if (h && h[0] > work.seq - 1 && h[0] !== work.seq) {
        elsewhere.push(`rank ${r} is waiting in ${COLLECTIVES[h[1]] ?? '?'} (collective #${h[0]}; this is #${work.seq})`);
      } else {
        missing.push(r);
      }
    }
    const why = [...(missing.length ? [`${listRanks(missing)} did not take part`] : []), ...elsewhere];
    return new DistBackendError(`${head}: ${why.length ? why.join('; ') : 'every rank took part, but it did not complete'}`);
  }

  // ------------------------------------------------------------- teardown

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (!this.brokenBy) for (const h of this.destroyHooks) h();
    this.watchdog?.terminate();
    if (!this.ownsMpi || !this.lib) return;
    // after a failure a peer may never reach MPI_Finalize: waiting for it would hang
    if (this.brokenBy) return;
    // diagnosis traffic still in flight would keep MPI_Finalize waiting
    if (this.diagSends.some((p) => !safeTest(p))) return;
    finalized = true;
    this.lib.call('MPI_Finalize');
  }
}

function safeTest(p: Pending): boolean {
  try {
    return p.test();
  } catch {
    return true;
  }
}

// ------------------------------------------------------------- the default group

let defaultGroup: ProcessGroup | null = null;
let mpiOwned = false;
let finalized = false;

export function currentGroup(what: string): ProcessGroup {
  if (!defaultGroup) {
    throw new DistError(`${what}: Default process group has not been initialized, please make sure to call initProcessGroup.`);
  }
  defaultGroup.checkUsable(what);
  return defaultGroup;
}

export const maybeGroup = (): ProcessGroup | null => defaultGroup;

export function setDefaultGroup(g: ProcessGroup | null): void {
  defaultGroup = g;
}

/** Whether a launcher (mpirun, srun) started this process as one of several. */
const launched = (env: Readonly<Record<string, string | undefined>> = process.env): boolean =>
  ['OMPI_COMM_WORLD_SIZE', 'PMI_SIZE', 'PMIX_RANK', 'SLURM_NTASKS'].some((k) => env[k] !== undefined && env[k] !== '1');

/**
 * Brings MPI up (once per process: MPI cannot be initialized again after MPI_Finalize). With
 * `soloWithoutMpi` (backend 'nccl'), a process no launcher started, on a machine without an MPI
 * library, is a world of one that needs no transport.
 */
export function openMpiWorld(timeoutMs: number, soloWithoutMpi = false): ProcessGroup {
  if (finalized) throw new DistError('initProcessGroup: MPI was finalized by destroyProcessGroup() and cannot be initialized again in this process');
  const lib = MpiLibrary.open();
  if (typeof lib === 'string') {
    if (soloWithoutMpi && !launched()) {
      const solo = new SoloEngine();
      return new ProcessGroup(null, 0, 1, solo, solo, timeoutMs, false);
    }
    throw new DistBackendUnavailableError(`backend '${soloWithoutMpi ? 'nccl' : 'mpi'}' is unavailable: ${lib}`);
  }
  const flag = pin(new Int32Array(1));
  lib.call('MPI_Initialized', flag);
  let owns = false;
  if (!flag[0]) {
    const provided = pin(new Int32Array(1));
    const code = lib.call('MPI_Init_thread', null, null, MPI_THREAD_SINGLE, provided);
    if (code !== 0) throw new DistBackendError(`MPI_Init_thread failed: ${lib.errorString(code)}`);
    owns = true;
    mpiOwned = true;
    process.once('exit', (code) => {
      // a clean exit that forgot destroyProcessGroup() still finalizes; a failing one must not wait
      if (mpiOwned && !finalized && code === 0 && !defaultGroup?.broken) {
        finalized = true;
        lib.call('MPI_Finalize');
      }
    });
  }
  const world = lib.handle.commWorld;
  // errors come back as codes (MPI's default would abort the process without saying where)
  lib.call('MPI_Comm_set_errhandler', world, lib.handle.errorsReturn);
  const rank = pin(new Int32Array(1));
  const size = pin(new Int32Array(1));
  lib.call('MPI_Comm_rank', world, rank);
  lib.call('MPI_Comm_size', world, size);
  const dup = (): bigint => {
    const out = pin(new BigUint64Array(1));
    const code = lib.call('MPI_Comm_dup', world, out);
    if (code !== 0) throw new DistBackendError(`MPI_Comm_dup failed: ${lib.errorString(code)}`);
    return out[0]!;
  };
  const control = new MpiEngine(lib, dup(), rank[0]!, size[0]!);
  const diag = new MpiEngine(lib, dup(), rank[0]!, size[0]!);
  return new ProcessGroup(lib, rank[0]!, size[0]!, control, diag, timeoutMs, owns);
}
