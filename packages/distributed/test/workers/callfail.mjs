// Run under mpirun: MPI's blocking all-reduce returns an error after the rendezvous (injected into
// the engine's call: a real library cannot be made to fail there on demand). The call raises it;
// the tensor, which took the result before the call, raises it when read (and so does its detached
// alias); the group is unusable afterwards.
import * as torch from '@fusor/tensor';
import * as dist from '@fusor/distributed';
import { MpiEngine } from '../../dist/engine.js';
import { report } from './report.mjs';

dist.initProcessGroup({ backend: 'mpi', timeout: 20_000 });
const out = { rank: dist.getRank() };
const warm = torch.ones(4);
dist.allReduce(warm);
out.before = warm.tolistSync();
MpiEngine.prototype.allReduceBlocking = () => {
  throw new dist.DistBackendError('MPI_Allreduce failed: MPI_ERR_INTERN (injected)');
};
const t = torch.zeros(8);
t.copy_(torch.arange(0, 8).float());
const alias = t.detach();
const attempt = (f) => {
  try {
    f();
    return 'no error';
  } catch (e) {
    return `${e.name}: ${e.message}`;
  }
};
out.call = attempt(() => dist.allReduce(t));
out.read = attempt(() => t.dataSync());
out.alias = attempt(() => alias.dataSync());
out.after = attempt(() => dist.barrier());
report('RESULT', out);
dist.destroyProcessGroup();
