/**
 * Work handles (PyTorch's `Work`): an operation that was started and completes later. Every wait
 * has a deadline; progress is made by testing the library's requests (MPI_Test, cuEventQuery),
 * synchronously in `wait()` and by a background poller on the event loop, so an unobserved
 * asynchronous operation still completes (or fails at its deadline).
 */
import type { Tensor } from '@fusor/tensor';
import { DistBackendError } from './errors.js';

/** How long a wait polls before it starts yielding the core between polls. */
const SPIN_MS = 2;

/** A started transfer in a communication library. */
export interface Pending {
  /** True once complete; throws DistBackendError when the library reports a failure. */
  test(): boolean;
}

/** What a wait reports back to its process group (announcements, timeouts). */
export interface WorkOwner {
  /** Called on each unsuccessful test: the group's timeout diagnosis. */
  tick(work: Work, now: number): void;
  /** The error for a work whose deadline passed. */
  timeoutError(work: Work): DistBackendError;
  /** Lets other processes run between tests (sched_yield), after a short spin. */
  relax(): void;
  /** Marks the group unusable after a failed or timed-out operation. */
  fail(error: Error): void;
}

export class Work {
  private state: 'running' | 'done' | 'failed' = 'running';
  private error: Error | null = null;
  private future: Promise<Tensor[]> | null = null;
  private settle: { resolve: (t: Tensor[]) => void; reject: (e: Error) => void } | null = null;
  /** The group's timeout diagnosis sent this work's announcement. */
  announced = false;

  constructor(
    private readonly owner: WorkOwner,
    /** The collective's name as users call it (allReduce, broadcast …). */
    readonly name: string,
    /** The collective's position in this group's sequence (p2p operations: -1). */
    readonly seq: number,
    private readonly pending: readonly Pending[],
    /** Writes the results into the tensors (runs once, on completion). */
    private readonly onDone: () => void,
    /** The tensors the operation wrote, for getFuture(). */
    private readonly results: readonly Tensor[],
    readonly timeoutMs: number,
    readonly startedAt: number,
    /** For p2p: who the other side is, for the timeout message. */
    readonly peer: string | null = null,
    /** Runs once when the work settles: true when it succeeded. */
    private readonly cleanup: (ok: boolean) => void = () => {},
  ) {}

  get deadline(): number {
    return this.startedAt + this.timeoutMs;
  }

  /** Tests once; finishes or fails the work when its time has come. */
  poll(now = performance.now()): boolean {
    if (this.state !== 'running') return true;
    try {
      if (this.pending.every((p) => p.test())) {
        this.state = 'done';
        this.cleanup(true);
        this.onDone();
        this.settle?.resolve([...this.results]);
        return true;
      }
    } catch (e) {
      this.failWith(e as Error);
      return true;
    }
    this.owner.tick(this, now);
    if (now >= this.deadline) {
      this.failWith(this.owner.timeoutError(this));
      return true;
    }
    return false;
  }

  private failWith(e: Error): void {
    if (this.state === 'running') this.cleanup(false);
    this.state = 'failed';
    this.error = e;
    this.owner.fail(e);
    this.settle?.reject(e);
  }

  /** Whether the operation has finished (successfully or not); tests the library once. */
  isCompleted(): boolean {
    return this.poll();
  }

  /** Whether it finished without error. */
  isSuccess(): boolean {
    return this.poll() && this.state === 'done';
  }

  /** The error it failed with, if it did. */
  exception(): Error | null {
    return this.error;
  }

  /**
   * Blocks until the operation completes, as PyTorch's `work.wait()`; throws its error (a
   * timeout names the collective and the ranks that did not take part). Returns true.
   */
  wait(): boolean {
    // spin a while before yielding the core: a peer a few hundred µs behind is usually in the
    // middle of its own timeslice, and a yield on a loaded machine can cost a whole one (ms)
    const spinUntil = performance.now() + SPIN_MS;
    while (!this.poll()) {
      if (performance.now() > spinUntil) this.owner.relax();
    }
    if (this.error) throw this.error;
    return true;
  }

  /** A promise of the tensors the operation wrote, settled in the background (PyTorch's get_future()). */
  getFuture(): Promise<Tensor[]> {
    if (!this.future) {
      this.future = new Promise<Tensor[]>((resolve, reject) => {
        this.settle = { resolve, reject };
      });
      if (this.state === 'done') this.settle!.resolve([...this.results]);
      else if (this.state === 'failed') this.settle!.reject(this.error!);
    }
    return this.future;
  }
}

/** Drives running works from the event loop while any exist (so isCompleted() turns true unprompted). */
export class Poller {
  private readonly works = new Set<Work>();
  private scheduled = false;

  add(w: Work): void {
    this.works.add(w);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.works.size === 0) return;
    this.scheduled = true;
    // setImmediate while transfers are young (latency), then a 1 ms timer (no busy event loop)
    const young = [...this.works].some((w) => performance.now() - w.startedAt < 5);
    const run = (): void => {
      this.scheduled = false;
      const now = performance.now();
      for (const w of this.works) if (w.poll(now)) this.works.delete(w);
      this.schedule();
    };
    if (young) setImmediate(run);
    else setTimeout(run, 1);
  }

  /** Works still running. */
  get size(): number {
    return this.works.size;
  }
}
