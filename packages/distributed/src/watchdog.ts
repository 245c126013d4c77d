/**
 * A watchdog thread for blocking calls into a communication library. A synchronous all-reduce
 * runs MPI's blocking MPI_Allreduce (its tuned algorithms are faster than the nonblocking ones)
 * once the rendezvous has shown every rank present; the main thread is then inside C and cannot
 * check a deadline itself. The watchdog, armed before the call and disarmed after, writes the
 * timeout error to stderr and ends the process (SIGTERM, so mpirun ends the job) if the call is
 * still running at the deadline: a stuck transfer fails loudly instead of hanging.
 */
import { Worker } from 'node:worker_threads';

/**
 * ctl[0]: 0 idle, 1 armed; ctl[1]: arming count; ctl[2]: 1 while the thread sleeps without a
 * time limit (then arming must wake it); ctl[3]: the address timed sleeps wait on (always 0);
 * ctl[4]: the armed call's timeout in ms. While calls keep coming (the arming count moves) the
 * thread polls every POLL_MS instead, so arming and disarming are plain stores to one cache line:
 * a futex wake per call costs 10–25 µs (the woken thread then competes for a core), as much as a
 * small all-reduce itself. The thread starts a call's clock when it first sees the call armed
 * (no clock read on the caller's side), so a deadline is noticed up to two POLL_MS late.
 */
const POLL_MS = 50;
/** Polling this long without an armed call, the thread goes back to sleeping until woken. */
const IDLE_MS = 2000;
/** The longest timeout ctl[4] holds (int32 ms, ~24.8 days): longer ones wait that long. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

const WORKER = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const ctl = new Int32Array(workerData.ctl);
const text = new Uint8Array(workerData.text);
let seen = Atomics.load(ctl, 1);
let lastCall = Date.now();
let watching = -1;
let since = 0;
for (;;) {
  // calls keep coming while the arming count moves, however short each call is
  if (Atomics.load(ctl, 1) !== seen) {
    seen = Atomics.load(ctl, 1);
    lastCall = Date.now();
  }
  if (Atomics.load(ctl, 0) === 0 && Date.now() - lastCall > ${IDLE_MS}) {
    Atomics.store(ctl, 2, 1);
    // re-checked after announcing the sleep: an arming in between is not missed
    if (Atomics.load(ctl, 0) === 0) Atomics.wait(ctl, 0, 0);
    Atomics.store(ctl, 2, 0);
    seen = Atomics.load(ctl, 1);
    lastCall = Date.now();
  }
  if (Atomics.load(ctl, 0) === 1) {
    const now = Date.now();
    const call = Atomics.load(ctl, 1);
    if (call !== watching) {
      watching = call;
      since = now;
    }
    const left = since + Atomics.load(ctl, 4) - now;
    if (left <= 0 && Atomics.load(ctl, 0) === 1 && Atomics.load(ctl, 1) === call) {
      const len = text.indexOf(0);
      writeSync(2, Buffer.from(text.subarray(0, len < 0 ? text.length : len)).toString('utf8') + '\\n');
      process.kill(process.pid, 'SIGTERM');
      Atomics.wait(ctl, 3, 0, 1000);
      process.kill(process.pid, 'SIGKILL');
    }
    Atomics.wait(ctl, 3, 0, Math.max(1, Math.min(${POLL_MS}, left)));
  } else {
    Atomics.wait(ctl, 3, 0, ${POLL_MS});
  }
}
`;

export class Watchdog {
  private readonly ctl = new Int32Array(new SharedArrayBuffer(20));
  private readonly text = new Uint8Array(new SharedArrayBuffer(2048));
  private readonly worker: Worker;
  private message = '';

  constructor() {
    this.worker = new Worker(WORKER, {
      eval: true,
      workerData: { ctl: this.ctl.buffer, text: this.text.buffer },
    });
    // it must never keep the process alive
    this.worker.unref();
  }

  /** Runs `fn` (a blocking call); if it runs past `timeoutMs`, the process ends with `message`. */
  guard<T>(timeoutMs: number, message: string, fn: () => T): T {
    if (message !== this.message) {
      const bytes = Buffer.from(`DistBackendError: ${message}`, 'utf8').subarray(0, this.text.length - 1);
      this.text.fill(0);
      this.text.set(bytes);
      this.message = message;
    }
    const ctl = this.ctl;
    Atomics.store(ctl, 4, Math.min(Math.ceil(timeoutMs), MAX_TIMEOUT_MS));
    Atomics.add(ctl, 1, 1);
    Atomics.store(ctl, 0, 1);
    if (Atomics.load(ctl, 2) === 1) Atomics.notify(ctl, 0);
    try {
      return fn();
    } finally {
      Atomics.store(ctl, 0, 0);
    }
  }

  terminate(): void {
    void this.worker.terminate();
  }
}
