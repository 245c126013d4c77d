// The watchdog alone: a "blocking call" (the main thread stuck in Atomics.wait, as it would be
// inside MPI_Allreduce) outlives its timeout; the watchdog must end the process with the message.
import { Watchdog } from '../../dist/watchdog.js';

const w = new Watchdog();
const ms = Number(process.argv[2] ?? 300);
// a call that finishes in time leaves the process alone
w.guard(2000, 'never printed', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50));
console.log('first call returned');
w.guard(ms, `allReduce timed out after ${ms} ms on rank 0 (world size 1): a test`, () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10_000));
console.log('second call returned: the watchdog did not fire');
