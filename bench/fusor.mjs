// fusor's side of `pnpm bench`. `node fusor.mjs` measures every case; `node fusor.mjs cold`
// measures one MLP training step in this fresh process (import included).
const t0 = performance.now();
const torch = await import('@fusor/tensor');
const { configureBlas, blasInfo } = await import('@fusor/backend-cpu');
const tImport = performance.now();
const { CHAIN_SIZE, CONV2D, MLP, TINY, emit, freshRandn, fusorMlp, matmulSweep, measure } = await import('./common.mjs');

/** A realized tensor (inputs are data, not part of what is timed). */
const real = (t) => (t.dataSync(), t);
/** Inputs of a case, new for every repetition and realized before the clock starts. */
const fresh = (shape) => freshRandn(torch, shape);
/** A new batch for the MLP step: inputs and one-hot targets, realized. */
const batch = () => {
  const x = fresh([MLP.batch, MLP.input]);
  const labels = torch.randint(0, MLP.classes, [MLP.batch]);
  const onehot = real(torch.arange(MLP.classes).unsqueeze(0).eq(labels.unsqueeze(1)).float());
  return [x, onehot];
};

function mlp() {
  const m = fusorMlp(torch);
  real(m.x);
  real(m.onehot);
  return m;
}

await torch.init('cpu');

if (process.argv[2] === 'cold') {
  const blas = process.argv[3] !== 'portable';
  configureBlas({ enabled: blas });
  const { step, x, onehot } = mlp();
  const loss = step(x, onehot).itemSync();
  const tEnd = performance.now();
  emit({ import_ms: tImport - t0, first_step_ms: tEnd - tImport, total_ms: tEnd - t0, loss, blas });
  process.exit(0);
}

const results = { blas: blasInfo(), description: await torch.init('cpu') };

// BENCH_CASES=conv2d (comma-separated): only those of the cases below that opt in, then exit
const onlyCases = process.env.BENCH_CASES?.split(',');

{
  // conv2d forward + backward of a ResNet block: [32, 64, 56, 56] * [64, 64, 3, 3], padding 1
  const { N, C, H, K } = CONV2D;
  results['conv2d resnet block fwd+bwd'] = await measure(
    ([x, w, g]) => {
      torch.conv2d(x, w, null, 1, 1).mul(g).sum().backward();
      x.grad.dataSync();
      w.grad.dataSync();
    },
    {
      reps: 5,
      warmup: 1,
      budgetMs: 20000,
      setup: () => [fresh([N, C, H, H]).requiresGrad_(), fresh([C, C, K, K]).requiresGrad_(), fresh([N, C, H, H])],
    },
  );
}
if (onlyCases) {
  emit({ results, stats: torch.compilerStats() });
  process.exit(0);
}
const variants = [
  ['portable', false],
  ['blas', true],
];

for (const [name, blas] of variants) {
  configureBlas({ enabled: blas });
  if (blas && !blasInfo().available) {
    results[`matmul (${name})`] = { unavailable: blasInfo().reason };
    continue;
  }
  results[`matmul (${name})`] = await matmulSweep(async (n) => {
    torch.manualSeed(n);
    const b = real(torch.randn(n, n));
    const reps = n <= 512 ? 20 : n <= 1024 ? 10 : 5;
    // realize(): computed into a pooled buffer and left there, as torch's out= form leaves it
    return measure((a) => a.matmul(b).realize(), { reps, warmup: 2, budgetMs: 3000, setup: () => fresh([n, n]) });
  });
}
configureBlas({ enabled: true });

{
  torch.manualSeed(1);
  const y = real(torch.randn(CHAIN_SIZE));
  results['elementwise chain 16M'] = await measure((x) => x.mul(2).add(1).relu().mul(y).exp().sum().itemSync(), {
    reps: 10,
    setup: () => fresh([CHAIN_SIZE]),
  });
}

{
  torch.manualSeed(2);
  results['softmax 4096x1024'] = await measure((x) => x.softmax(1).realize(), { reps: 20, setup: () => fresh([4096, 1024]) });
  // the same and a copy to a new host array (16 MB: page faults on a fresh allocation dominate on some VMs)
  results['softmax 4096x1024 + read'] = await measure((x) => x.softmax(1).dataSync(), { reps: 10, setup: () => fresh([4096, 1024]) });
}

for (const [name, blas] of variants) {
  configureBlas({ enabled: blas });
  if (blas && !blasInfo().available) continue;
  const eager = mlp();
  results[`mlp step eager (${name})`] = await measure(([x, oh]) => eager.step(x, oh).itemSync(), {
    reps: 20,
    warmup: 2,
    budgetMs: 4000,
    setup: batch,
  });
  const traced = mlp();
  const step = torch.jit(traced.step, { name: 'mlp' });
  const launched = torch.compilerStats().launched;
  results[`mlp step jit (${name})`] = await measure(([x, oh]) => step(x, oh).itemSync(), { reps: 20, warmup: 2, budgetMs: 4000, setup: batch });
  results[`mlp step jit (${name})`].traces = step.traces;
  results[`mlp step jit (${name})`].launches_per_step = (torch.compilerStats().launched - launched) / (results[`mlp step jit (${name})`].reps + 2);
}
configureBlas({ enabled: true });

{
  const chain = (v) => {
    for (let i = 0; i < TINY.ops; i++) v = i % 2 === 0 ? v.add(1) : v.mul(0.5);
    return v;
  };
  results['1000 tiny ops'] = await measure((x) => chain(x).dataSync(), { reps: 20, setup: () => fresh([TINY.size]) });
  const jitted = torch.jit(chain, { name: 'tiny' });
  results['1000 tiny ops (jit)'] = await measure((x) => jitted(x).dataSync(), { reps: 20, setup: () => fresh([TINY.size]) });
}

{
  // the runtime issue's loop: MLP 784-512-10, batch 64, a new batch every step, loss read every
  // step; memory after 50 steps and after 300 (fusor's buffers, and the process's RSS)
  const m = fusorMlp(torch, 'cpu', { ...MLP, batch: 64 });
  const rss = () => process.memoryUsage().rss;
  const before = { ...torch.memory(), rss: rss() };
  let at50;
  for (let s = 0; s < 300; s++) {
    const x = fresh([64, MLP.input]);
    const labels = torch.randint(0, MLP.classes, [64]);
    const oh = torch.arange(MLP.classes).unsqueeze(0).eq(labels.unsqueeze(1)).float();
    m.step(x, oh).itemSync();
    if (s === 49) at50 = { ...torch.memory(), rss: rss() };
  }
  results['mlp loop memory'] = { before, at50, at300: { ...torch.memory(), rss: rss() } };
}

emit({ results, stats: torch.compilerStats() });
process.exit(0);
