// Run under mpirun: the last rank dies ('exit') or never arrives ('hang'); the others must fail
// with an error naming the collective and that rank, within the timeout.
import * as torch from '@fusor/tensor';
import * as dist from '@fusor/distributed';
import { report } from './report.mjs';

const mode = process.argv[2];
const timeout = Number(process.argv[3] ?? 2000);
dist.initProcessGroup({ backend: 'mpi', timeout });
const rank = dist.getRank();
const world = dist.getWorldSize();
const t = torch.ones(4);
dist.allReduce(t); // everyone is up and connected
const victim = world - 1;
if (rank === victim) {
  if (mode === 'exit') process.exit(3);
  // hang: never call the collective, never return to the event loop
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600_000);
}
const start = performance.now();
try {
  if (mode === 'async') {
    const w = dist.allReduce(t, { asyncOp: true, timeout: timeout / 2 });
    w.wait();
  } else {
    dist.allReduce(t);
  }
  console.log(`RANK ${rank} completed`);
} catch (e) {
  const ms = Math.round(performance.now() - start);
  report('FAILED', { rank, name: e.name, message: e.message, ms });
  // the group is unusable now; any later call says so
  try {
    dist.barrier();
  } catch (e2) {
    report('AFTER', { rank, message: e2.message });
  }
  dist.destroyProcessGroup();
  process.exit(1);
}
