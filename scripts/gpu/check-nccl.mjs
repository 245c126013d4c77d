// @fusor/distributed's backend 'nccl' on the GPUs of this machine: one process per GPU under
// mpirun (or one process, world size 1, where there is no MPI), each on cuda:<local rank>.
// Checks every collective's values on cuda tensors, times an all-reduce of 64 MiB, and runs a
// few DistributedDataParallel steps of a small MLP on cuda against the same steps on the cpu in
// one process (the whole batch). Prints one line per failure and a summary; exits 1 on failure.
//
//   mpirun -n <GPUs> node scripts/gpu/check-nccl.mjs      or    node scripts/gpu/check-nccl.mjs
//   FUSOR_LIBNCCL_PATH=/…/libnccl.so.2 when NCCL is not on the loader path (run.sh finds
//   PyTorch's copy, nvidia/nccl/lib in site-packages)
//
// Bundled by scripts/gpu/prepare.sh into .gpu/check-nccl.mjs.
import '@fusor/backend-cuda';
import * as torch from '@fusor/tensor';
import * as dist from '@fusor/distributed';

const say = (s) => console.log(s);
try {
  say(`cuda: ${await torch.init('cuda')}`);
} catch (e) {
  say(`nccl checks: not run — cuda is unavailable: ${e.message}`);
  process.exit(1);
}
if (!dist.isNcclAvailable()) {
  try {
    dist.initProcessGroup({ backend: 'nccl' });
  } catch (e) {
    say(`nccl checks: not run — ${e.message}`);
  }
  process.exit(1);
}
dist.initProcessGroup({ backend: 'nccl', timeout: 60_000 });
const rank = dist.getRank();
const world = dist.getWorldSize();
const local = Number(process.env.OMPI_COMM_WORLD_LOCAL_RANK ?? process.env.SLURM_LOCALID ?? rank);
const device = `cuda:${local}`;
if (rank === 0) say(`nccl: world size ${world}; rank 0 on ${device}`);

let passed = 0;
const failed = [];
async function check(name, fn) {
  try {
    await fn();
    passed++;
  } catch (e) {
    failed.push(name);
    say(`FAIL rank ${rank} ${name}: ${e instanceof Error ? e.message.split('\n').slice(0, 3).join(' | ') : e}`);
  }
}
const near = (got, want, tol, what) => {
  if (got.length !== want.length) throw new Error(`${what}: ${got.length} values, expected ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol * Math.max(1, Math.abs(want[i])))) throw new Error(`${what}[${i}]: got ${got[i]}, expected ${want[i]}`);
  }
};
const values = async (t) => Array.from(await t.data(), Number);
const n = 1 << 20;
const ranks = Array.from({ length: world }, (_, r) => r);
// rank r holds (i mod 97) · (r + 1): sums and maxima are known in closed form
const mine = () => torch.arange(0, n).remainder(97).mul(rank + 1).float().to(device);
const at = (i, r) => (i % 97) * (r + 1);
const sample = [0, 1, 96, 97, 12345, n - 1];

await check('allReduce SUM / AVG / MAX, 1M float32', async () => {
  for (const [op, f] of [
    ['sum', (i) => ranks.reduce((a, r) => a + at(i, r), 0)],
    ['avg', (i) => ranks.reduce((a, r) => a + at(i, r), 0) / world],
    ['max', (i) => Math.max(...ranks.map((r) => at(i, r)))],
  ]) {
    const t = mine();
    dist.allReduce(t, op);
    const v = await values(t);
    near(sample.map((i) => v[i]), sample.map(f), 1e-6, `allReduce ${op}`);
  }
});
await check('allReduce float16 and int64', async () => {
  const h = torch.ones(1000, { dtype: torch.float16, device }).mul(rank + 1);
  dist.allReduce(h);
  near(await values(h), Array(1000).fill((world * (world + 1)) / 2), 1e-3, 'float16');
  const l = torch.arange(0, 10, { dtype: torch.long, device }).add(rank);
  dist.allReduce(l, dist.ReduceOp.MIN);
  near(await values(l), Array.from({ length: 10 }, (_, i) => i), 0, 'int64 min');
});
await check('async allReduce with a work handle', async () => {
  const t = mine();
  const w = dist.allReduce(t, { asyncOp: true });
  const [r] = await w.getFuture();
  if (r !== t || !w.isCompleted()) throw new Error('the future did not give the tensor back completed');
  const v = await values(t);
  near(sample.map((i) => v[i]), sample.map((i) => ranks.reduce((a, r2) => a + at(i, r2), 0)), 1e-6, 'async sum');
});
await check('broadcast, allGatherIntoTensor, reduceScatterTensor', async () => {
  const b = torch.full([4], rank + 10, { device });
  dist.broadcast(b, world - 1);
  near(await values(b), Array(4).fill(world - 1 + 10), 0, 'broadcast');
  const g = torch.zeros(world * 3, { device });
  dist.allGatherIntoTensor(g, torch.full([3], rank, { dtype: torch.float32, device }));
  near(await values(g), ranks.flatMap((r) => [r, r, r]), 0, 'allGatherIntoTensor');
  const o = torch.zeros(2, { device });
  dist.reduceScatterTensor(o, torch.arange(0, 2 * world).float().to(device));
  near(await values(o), [2 * rank * world, (2 * rank + 1) * world], 0, 'reduceScatterTensor');
});
await check('shapes that differ across ranks raise on every rank', async () => {
  if (world === 1) return;
  try {
    dist.allReduce(torch.zeros(rank === 0 ? 3 : 2, { device }));
    throw new Error('no error');
  } catch (e) {
    if (!/tensors differ across ranks/.test(e.message)) throw e;
  }
});

// all-reduce bandwidth: 64 MiB float32, fresh tensors each time
let timing = '';
await check('allReduce 64 MiB timing', async () => {
  const m = (64 << 20) / 4;
  const times = [];
  for (let i = 0; i < 6; i++) {
    const t = torch.rand(m, { device });
    await t.data();
    dist.barrier();
    const t0 = performance.now();
    dist.allReduce(t);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const ms = times[times.length >> 1];
  // NCCL's bus bandwidth convention for all-reduce: 2(n−1)/n · bytes / time
  timing = `allReduce 64 MiB on ${world} GPU(s): ${ms.toFixed(2)} ms (bus bandwidth ${world > 1 ? ((2 * (world - 1)) / world * 64 * 2 ** 20 / (ms / 1000) / 1e9).toFixed(1) : '—'} GB/s)`;
});

// DDP: each rank trains on its slice of one batch; the cpu reference trains on the whole batch
await check('DDP: 5 steps on cuda equal 5 steps on the whole batch on cpu', async () => {
  const make = (dev) => {
    torch.manualSeed(3);
    const ps = [torch.randn(32, 64).mul(0.2), torch.zeros(64), torch.randn(64, 4).mul(0.2)].map((p) => p.to(dev).detach().requiresGrad_());
    return { parameters: () => ps, forward: (x) => x.matmul(ps[0]).add(ps[1]).relu().matmul(ps[2]) };
  };
  torch.manualSeed(11);
  const per = 16;
  const X = torch.randn(per * world, 32);
  const Y = torch.randn(per * world, 4);
  const ref = make('cpu');
  const model = make(device);
  const ddp = new dist.DistributedDataParallel(model);
  const step = (m, fwd, x, y) => {
    const loss = fwd(x).sub(y).pow(2).mean();
    loss.backward();
    torch.noGrad(() => {
      for (const p of m.parameters()) {
        p.sub_(p.grad.mul(0.1));
        p.grad = null;
      }
    });
  };
  for (let s = 0; s < 5; s++) {
    step(model, (x) => ddp.forward(x), X.narrow(0, rank * per, per).to(device), Y.narrow(0, rank * per, per).to(device));
    step(ref, (x) => ref.forward(x), X, Y);
  }
  for (const [i, p] of model.parameters().entries()) near(await values(p), await values(ref.parameters()[i]), 1e-4, `parameter ${i}`);
});

// every rank's counts, gathered on the GPUs (this group's collectives take cuda tensors)
const all = torch.zeros(2 * world, { dtype: torch.float64, device });
dist.allGatherIntoTensor(all, torch.tensor([passed, failed.length], { dtype: torch.float64 }).to(device));
const counts = await values(all);
if (rank === 0) {
  if (timing) say(timing);
  const p = counts.filter((_, i) => i % 2 === 0).reduce((a, b) => a + b, 0);
  const f = counts.filter((_, i) => i % 2 === 1).reduce((a, b) => a + b, 0);
  say(`nccl checks on ${world} GPU(s): ${p} passed, ${f} failed`);
}
dist.destroyProcessGroup();
process.exit(failed.length ? 1 : 0);
