// @fusor/distributed under mpirun (run.mjs launches it; or by hand):
//   mpirun -n 2 node bench/distributed.mjs allreduce   all-reduce of 1–64 MiB float32 buffers: fusor's
//       dist.allReduce on a tensor against the same MPI library's own MPI_Allreduce called
//       through koffi on the same buffers (the same tensor's cpu heap block), in place
//       (MPI_IN_PLACE, as fusor and PyTorch's MPI backend reduce) and, for reference, into one
//       warm heap block; each goes first in turn, with fresh input values each time. As in a
//       training loop, the tensor is the same each time and takes fresh values (copy_), so its
//       buffers come from the heap's pool.
//   mpirun -n N node bench/distributed.mjs ddp         DDP training steps per second (MLP, fixed
//       batch per rank), to compare 1 and 2 ranks
//   node bench/distributed.mjs cpu-replica             nn.DataParallel's cpu replica: forward+backward
//       with the cpu worker pool at 1 thread and at every thread, and the launches it split
// Rank 0 prints the result as JSON on the last line.
import { createRequire } from 'node:module';
import * as torch from '@fusor/tensor';
import * as dist from '@fusor/distributed';
import { emit, MLP } from './common.mjs';
// the one place fusor's collectives get their buffers (bench only: not part of the public API)
import { freshRegion, readRegion, releaseRegions } from '../packages/distributed/dist/storage.js';

const mode = process.argv[2] ?? 'allreduce';
dist.initProcessGroup({ backend: 'mpi', timeout: 120_000 });
const rank = dist.getRank();
const world = dist.getWorldSize();
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** OpenMPI's MPI_IN_PLACE, ((void *) 1). */
const MPI_IN_PLACE = 1n;
/** The raw baseline: MPI_Allreduce of this process's libmpi (already initialized by fusor). */
function rawAllreduce() {
  const koffi = createRequire(import.meta.resolve('@fusor/distributed'))('koffi');
  const lib = koffi.load(process.env.FUSOR_LIBMPI_PATH || 'libmpi.so.40', { global: true });
  const allreduce = lib.func('int MPI_Allreduce(void *send, void *recv, int count, void *type, void *op, void *comm)');
  const h = (s) => koffi.address(lib.symbol(s));
  const [comm, float, sum] = [h('ompi_mpi_comm_world'), h('ompi_mpi_float'), h('ompi_mpi_op_sum')];
  return (send, recv, count) => {
    const code = allreduce(send, recv, count, float, sum, comm);
    if (code !== 0) throw new Error(`MPI_Allreduce failed: ${code}`);
  };
}

if (mode === 'allreduce') {
  const raw = rawAllreduce();
  const sizesMb = [1, 4, 16, 64];
  // fusor's all-reduce is in place (torch.distributed's semantics): the baseline it is judged
  // against is MPI_Allreduce(MPI_IN_PLACE, …) on the tensor's heap block, the call PyTorch's MPI
  // backend makes; MPI_Allreduce from that block into another warm one is timed too, for reference
  const variants = ['fusor', 'inPlace', 'outOfPlace'];
  /** One timed call of `variant` on fresh values (written before the clock starts). */
  const timeOne = (variant, t, out) => {
    if (variant === 'fusor') {
      t.copy_(torch.rand(t.shape));
      dist.barrier();
      const t0 = performance.now();
      dist.allReduce(t);
      return performance.now() - t0;
    }
    // the same memory fusor reduces: another tensor's block, written and reduced on a cycle of
    // its own, changed MPI's own time by up to 1.5× either way here (docs/BENCHMARKS.md)
    t.copy_(torch.rand(t.shape));
    const input = readRegion(t);
    const [send, recv] = variant === 'inPlace' ? [MPI_IN_PLACE, input.host] : [input.host, out.host];
    dist.barrier();
    const t0 = performance.now();
    raw(send, recv, input.count);
    const ms = performance.now() - t0;
    releaseRegions([input]);
    return ms;
  };
  // steady state, as in a training loop's later steps: fusor's call path is JavaScript, which V8
  // optimizes only after some thousand calls (--trace-opt: after 200, the all-reduce's own
  // functions still ran unoptimized); the raw call is one koffi call. Untimed, on a 64 KiB tensor
  {
    const w = torch.zeros(2 ** 14);
    const out = freshRegion('float32', [2 ** 14], 'cpu').region;
    for (let i = 0; i < 3000; i++) for (const variant of variants) timeOne(variant, w, out);
    releaseRegions([out]);
  }
  const results = {};
  for (const mb of sizesMb) {
    const n = (mb * 2 ** 20) / 4;
    const reps = mb >= 64 ? 9 : mb >= 16 ? 21 : mb >= 4 ? 61 : 101;
    const times = { fusor: [], inPlace: [], outOfPlace: [] };
    // as in a training loop: one tensor (a gradient buffer) that gets fresh values before each
    // all-reduce; the baselines reduce the same tensor's block
    const t = torch.zeros(n);
    const out = freshRegion('float32', [n], 'cpu').region;
    for (let i = 0; i < reps + 1; i++) {
      // each variant goes first, second and third in turn
      for (let k = 0; k < variants.length; k++) {
        const variant = variants[(i + k) % variants.length];
        const ms = timeOne(variant, t, out);
        if (i > 0) times[variant].push(ms);
      }
    }
    releaseRegions([out]);
    // the times of the slowest rank are the collective's time
    const stats = torch.tensor(variants.flatMap((v) => [median(times[v]), Math.min(...times[v])]), { dtype: torch.float64 });
    dist.allReduce(stats, dist.ReduceOp.MAX);
    const [fusorMs, fusorMin, mpiMs, mpiMin, oopMs, oopMin] = stats.dataSync();
    // the goal holds when both the medians and the minima meet it (bench/run.mjs): the variants
    // alternate, so the medians see the same load; the minima show the cost without it
    results[`${mb} MiB`] = {
      fusor_ms: fusorMs,
      mpi_ms: mpiMs,
      ratio: mpiMs / fusorMs,
      fusor_min_ms: fusorMin,
      mpi_min_ms: mpiMin,
      ratio_min: mpiMin / fusorMin,
      mpi_out_of_place_ms: oopMs,
      mpi_out_of_place_min_ms: oopMin,
      reps,
    };
  }
  if (rank === 0) emit({ world, results });
} else if (mode === 'ddp') {
  const sizes = { ...MLP, batch: 64 };
  const { step } = fusorMlpDdp(sizes);
  for (let i = 0; i < 3; i++) step();
  dist.barrier();
  const steps = 20;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step().itemSync();
  dist.barrier();
  const ms = performance.now() - t0;
  if (rank === 0) {
    emit({ world, batch_per_rank: sizes.batch, steps, ms, steps_per_s: (steps * 1000) / ms, samples_per_s: (steps * sizes.batch * world * 1000) / ms });
  }
} else if (mode === 'cpu-replica') {
  // nn.DataParallel's cpu replica: its kernels already run over the cpu backend's worker pool
  // (one pool, one heap, launched from the calling thread one at a time), so a second cpu
  // replica would have no threads of its own. Measures a replica's forward+backward (the MLP,
  // batch 256) with the pool limited to 1 thread and with every thread, and how many of its
  // launches the pool split.
  const { configureCpu, cpuConfig, cpuStats, cpuWorkersReady } = await import('@fusor/backend-cpu');
  const { nn } = await import('@fusor/nn');
  const all = cpuConfig().threads;
  const { batch, input, hidden, classes } = MLP;
  torch.manualSeed(0);
  const model = new nn.Sequential(new nn.Linear(input, hidden), new nn.ReLU(), new nn.Linear(hidden, classes));
  const dp = new nn.DataParallel(model, { deviceIds: ['cpu'] });
  const step = () => {
    const x = torch.randn(batch, input);
    const y = torch.randint(0, classes, [batch]);
    const loss = nn.functional.crossEntropy(dp.forward(x), y);
    loss.backward();
    for (const p of model.parameters()) p.grad = null;
    return loss.itemSync();
  };
  const out = { threads_available: all };
  for (const threads of [1, all]) {
    configureCpu({ threads });
    await cpuWorkersReady();
    for (let i = 0; i < 3; i++) step();
    const before = cpuStats();
    const ms = [];
    for (let i = 0; i < 15; i++) {
      const t0 = performance.now();
      step();
      ms.push(performance.now() - t0);
    }
    const after = cpuStats();
    out[`threads_${threads}`] = { ms: median(ms), min_ms: Math.min(...ms), launches: after.wasm - before.wasm, threaded: after.threaded - before.threaded };
  }
  if (rank === 0) emit(out);
} else {
  throw new Error(`unknown mode ${mode} (allreduce, ddp, cpu-replica)`);
}
dist.destroyProcessGroup();

/** common.mjs's MLP (784-512-10), its parameters wrapped in DDP; each step gets a fresh batch. */
function fusorMlpDdp(sizes) {
  torch.manualSeed(0);
  const { batch, input, hidden, classes, lr } = sizes;
  const params = [torch.randn(input, hidden).mul(0.05), torch.zeros(hidden), torch.randn(hidden, classes).mul(0.05), torch.zeros(classes)].map((p) =>
    p.detach().requiresGrad_(),
  );
  const [w1, b1, w2, b2] = params;
  const module = { parameters: () => params, forward: (x) => x.matmul(w1).add(b1).relu().matmul(w2).add(b2) };
  const ddp = new dist.DistributedDataParallel(module);
  torch.manualSeed(1 + rank);
  const step = () => {
    const x = torch.randn(batch, input);
    const labels = torch.randint(0, classes, [batch]);
    const onehot = torch.arange(classes).unsqueeze(0).eq(labels.unsqueeze(1)).float();
    const loss = ddp.forward(x).logSoftmax(1).mul(onehot).sum().neg().div(batch);
    loss.backward();
    torch.noGrad(() => {
      for (const p of params) {
        p.sub_(p.grad.mul(lr));
        p.grad = null;
      }
    });
    return loss;
  };
  return { step };
}
