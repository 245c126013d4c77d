// Run under mpirun: a plain synchronous DDP training loop (no dispose, no scope) with collectives
// holds a bounded number of buffers, as fusor's own loops do; the same in torch.scope.
import * as torch from '@fusor/tensor';
import * as dist from '@fusor/distributed';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { report } from './report.mjs';

dist.initProcessGroup('mpi');
const rank = dist.getRank();
const out = { rank };
for (const mode of ['plain', 'scope']) {
  torch.manualSeed(0);
  const ps = [torch.randn(16, 32).mul(0.1), torch.zeros(32), torch.randn(32, 4).mul(0.1)].map((p) => p.requiresGrad_());
  const ddp = new dist.DistributedDataParallel({ parameters: () => ps, forward: (x) => x.matmul(ps[0]).add(ps[1]).relu().matmul(ps[2]) }, { bucketCapMb: 0.001 });
  const seen = {};
  for (let s = 0; s <= 50; s++) {
    const body = () => {
      const loss = ddp.forward(torch.randn(8, 16)).pow(2).mean();
      loss.backward();
      torch.noGrad(() => {
        for (const p of ps) {
          p.sub_(p.grad.mul(0.01));
          p.grad = null;
        }
      });
      const t = torch.rand(1000);
      dist.allReduce(t, dist.ReduceOp.AVG);
      const gathered = [torch.zeros(8), torch.zeros(8), torch.zeros(8)].slice(0, dist.getWorldSize());
      dist.allGather(gathered, torch.rand(8));
      return t.sum().itemSync() + loss.itemSync();
    };
    if (mode === 'scope') torch.scope(body);
    else body();
    if (s === 30 || s === 50) seen[s] = torch.memory().buffers;
  }
  ddp.remove();
  out[mode] = seen;
}
// many all-reduces of fresh 512 KiB tensors dropped right after (results nobody releases): past
// their budget (8) the held results move to host copies, a cache the runtime drops past its own
// budget (made small here, so the steady state comes after a few steps)
{
  const budget = torch.getCacheBudget();
  torch.setCacheBudget({ bytes: 4 * 2 ** 20, buffers: 64 });
  const seen = {};
  for (let s = 1; s <= 36; s++) {
    const t = torch.rand(128 * 1024);
    dist.allReduce(t);
    if (s === 24 || s === 36) seen[s] = { buffers: torch.memory().buffers, bytes: torch.memory().bytes };
  }
  torch.setCacheBudget(budget);
  out.fresh = seen;
}
// the JavaScript heap stays flat too over thousands of all-reduces in one synchronous loop (the
// bookkeeping of results must not keep one object per collective alive until the loop ends): a
// tensor refreshed in place and reduced, and a fresh computed tensor reduced and dropped
{
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc');
  const t = torch.zeros(16);
  const step = (i) => {
    t.copy_(torch.full([16], i));
    dist.allReduce(t);
    dist.allReduce(torch.rand(16).add(i));
  };
  const heap = () => {
    gc();
    return process.memoryUsage().heapUsed;
  };
  for (let i = 0; i < 2000; i++) step(i);
  const start = heap();
  for (let i = 0; i < 6000; i++) step(i);
  out.heapGrowth = heap() - start;
}
report('RESULT', out);
dist.destroyProcessGroup();
