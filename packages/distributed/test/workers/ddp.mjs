// Run under mpirun: DDP training for 20 steps on each rank's slice of a batch equals training
// one copy of the model on the whole batch in one process (computed here too, for comparison).
import * as torch from '@fusor/tensor';
import * as dist from '@fusor/distributed';
import { report } from './report.mjs';

const bucketCapMb = Number(process.argv[2] ?? 25);
dist.initProcessGroup({ backend: 'mpi', timeout: 20_000 });
const rank = dist.getRank();
const world = dist.getWorldSize();

/** A tiny hand-made module: two Linear-like layers (the structural interface DDP needs). */
class TinyMlp {
  constructor(seed) {
    torch.manualSeed(seed);
    this.w1 = torch.randn(4, 8).mul(0.5).requiresGrad_();
    this.b1 = torch.zeros(8).requiresGrad_();
    this.w2 = torch.randn(8, 1).mul(0.5).requiresGrad_();
  }
  parameters() {
    return [this.w1, this.b1, this.w2];
  }
  forward(x) {
    return x.matmul(this.w1).add(this.b1).relu().matmul(this.w2);
  }
}

const sgd = (params, lr) =>
  torch.noGrad(() => {
    for (const p of params) {
      p.sub_(p.grad.mul(lr));
      p.grad = null;
    }
  });

// the same data on every rank; each rank trains on its rows
torch.manualSeed(1234);
const batch = 12;
const X = torch.randn(batch, 4);
const Y = X.sum(1, true).mul(0.3).sin();
const per = batch / world;

// reference: one process, the whole batch, initialized as rank 0's replica
const ref = new TinyMlp(7);
// the replicas start different (seed 7 + rank): the wrap-time broadcast makes them rank 0's
const model = new TinyMlp(7 + rank);
const ddp = new dist.DistributedDataParallel(model, { bucketCapMb });
const startsEqual = model.parameters().every((p, i) => p.sub(ref.parameters()[i]).abs().max().itemSync() === 0);

const sampler = new dist.DistributedSampler({ length: batch }, { shuffle: false });
const losses = [];
const refLosses = [];
for (let step = 0; step < 20; step++) {
  const x = X.narrow(0, rank * per, per);
  const y = Y.narrow(0, rank * per, per);
  const loss = ddp.forward(x).sub(y).pow(2).mean();
  loss.backward();
  sgd(model.parameters(), 0.1);
  losses.push(loss.itemSync());
  const rl = ref.forward(X).sub(Y).pow(2).mean();
  rl.backward();
  sgd(ref.parameters(), 0.1);
  refLosses.push(rl.itemSync());
}
let maxDiff = 0;
model.parameters().forEach((p, i) => {
  maxDiff = Math.max(maxDiff, p.sub(ref.parameters()[i]).abs().max().itemSync());
});
// the mean of the ranks' losses is the whole batch's loss
const lossT = torch.tensor(losses);
dist.allReduce(lossT, dist.ReduceOp.AVG);
const lossDiff = lossT.sub(torch.tensor(refLosses)).abs().max().itemSync();
const out = {
  rank,
  world,
  startsEqual,
  maxDiff,
  lossDiff,
  buckets: ddp.lastBucketCount,
  firstLoss: refLosses[0],
  lastLoss: refLosses[19],
  sampler: [...sampler],
  samplerLength: sampler.length,
};
// gradient accumulation: a backward under noSync() keeps its gradient local; the next, synced one
// averages the accumulated sum (PyTorch's no_sync): equal to the whole batch's gradient, twice
{
  const x = X.narrow(0, rank * per, per);
  const y = Y.narrow(0, rank * per, per);
  ddp.noSync(() => ddp.forward(x).sub(y).pow(2).mean().backward());
  const local = model.parameters().map((p) => p.grad.clone());
  ddp.forward(x).sub(y).pow(2).mean().backward();
  ref.forward(X).sub(Y).pow(2).mean().mul(2).backward();
  out.noSyncDiff = Math.max(...model.parameters().map((p, i) => p.grad.sub(ref.parameters()[i].grad).abs().max().itemSync()));
  // the local part alone differs from the average (the ranks' slices differ)
  out.localDiffers = world > 1 && local.some((g, i) => g.mul(2).sub(ref.parameters()[i].grad).abs().max().itemSync() > 1e-4);
  for (const p of [...model.parameters(), ...ref.parameters()]) p.grad = null;
}
// a forward after a backward that left a parameter without gradient is refused, as PyTorch does
try {
  const loss = x0().matmul(model.w1).sum();
  loss.backward();
  ddp.forward(x0());
  out.unused = 'no error';
} catch (e) {
  out.unused = e.message.split('.')[0];
}
function x0() {
  return X.narrow(0, 0, 2);
}
report('RESULT', out);
process.exit(0);
