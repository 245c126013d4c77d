// fusor's side of `pnpm bench`. `node fusor.mjs` measures every case; `node fusor.mjs cold`
// measures one MLP training step in this fresh process (import included).
const t0 = performance.now();
const torch = await import('@fusor/tensor');
const { configureBlas, blasInfo } = await import('@fusor/backend-cpu');
const { bufferNode } = await import('@fusor/ir');
const { getBuffer, setBuffer } = await import('@fusor/compiler');
const tImport = performance.now();
const { CHAIN_SIZE, CONV2D, TINY, emit, freshTensor, fusorMlp, matmulSweep, measure } = await import('./common.mjs');

/** A realized tensor (inputs are data, not part of what is timed). */
const real = (t) => (t._realize(), t);

const fresh = (t) => freshTensor({ torch, bufferNode, getBuffer, setBuffer }, t);

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
  torch.manualSeed(3);
  const x = real(torch.randn(N, C, H, H));
  const w = real(torch.randn(C, C, K, K).mul(0.05));
  const g = real(torch.randn(N, C, H, H));
  results['conv2d resnet block fwd+bwd'] = await measure(
    () => {
      const xi = fresh(x).requiresGrad_();
      const wi = fresh(w).requiresGrad_();
      torch.conv2d(xi, wi, null, 1, 1).mul(g).sum().backward();
      xi.grad._realize();
      wi.grad._realize();
    },
    { reps: 5, warmup: 1, budgetMs: 20000 },
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
    const a = real(torch.randn(n, n));
    const b = real(torch.randn(n, n));
    const reps = n <= 512 ? 20 : n <= 1024 ? 10 : 5;
    return measure(() => fresh(a).matmul(b)._realize(), { reps, warmup: 2, budgetMs: 3000 });
  });
}
configureBlas({ enabled: true });

{
  torch.manualSeed(1);
  const x = real(torch.randn(CHAIN_SIZE));
  const y = real(torch.randn(CHAIN_SIZE));
  results['elementwise chain 16M'] = await measure(() => fresh(x).mul(2).add(1).relu().mul(y).exp().sum().itemSync(), { reps: 10 });
}

{
  torch.manualSeed(2);
  const x = real(torch.randn(4096, 1024));
  results['softmax 4096x1024'] = await measure(() => fresh(x).softmax(1)._realize(), { reps: 20 });
}

for (const [name, blas] of variants) {
  configureBlas({ enabled: blas });
  if (blas && !blasInfo().available) continue;
  const eager = mlp();
  results[`mlp step eager (${name})`] = await measure(() => eager.step(eager.x, eager.onehot), { reps: 20, warmup: 2, budgetMs: 4000 });
  const traced = mlp();
  const step = torch.jit(traced.step, { name: 'mlp' });
  const launched = torch.compilerStats().launched;
  results[`mlp step jit (${name})`] = await measure(() => step(traced.x, traced.onehot), { reps: 20, warmup: 2, budgetMs: 4000 });
  results[`mlp step jit (${name})`].traces = step.traces;
  results[`mlp step jit (${name})`].launches_per_step = (torch.compilerStats().launched - launched) / (results[`mlp step jit (${name})`].reps + 2);
}
configureBlas({ enabled: true });

{
  const x = real(torch.ones(TINY.size));
  const chain = (v) => {
    for (let i = 0; i < TINY.ops; i++) v = i % 2 === 0 ? v.add(1) : v.mul(0.5);
    return v;
  };
  results['1000 tiny ops'] = await measure(() => chain(fresh(x))._realize(), { reps: 20 });
  const jitted = torch.jit(chain, { name: 'tiny' });
  results['1000 tiny ops (jit)'] = await measure(() => jitted(x)._realize(), { reps: 20 });
}

emit({ results, stats: torch.compilerStats() });
process.exit(0);
