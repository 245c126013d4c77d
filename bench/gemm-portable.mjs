// The portable (WebAssembly) GEMM alone: matmul GFLOP/s at 256–2048 and the MLP training step
// (784-512-10, batch 256), OpenBLAS disabled, at the thread count given (`node gemm-portable.mjs 1`).
// Prints JSON; compare with PyTorch through `node run.mjs --only fusor,torch`.
import { cpus, loadavg } from 'node:os';
const threads = Number(process.argv[2] ?? cpus().length);
const torch = await import('@fusor/tensor');
const { configureBlas, configureCpu } = await import('@fusor/backend-cpu');
const { MATMUL_SIZES, MLP, freshRandn, fusorMlp, measure } = await import('./common.mjs');
await torch.init('cpu');
configureBlas({ enabled: false });
configureCpu({ threads });
const fresh = (shape) => freshRandn(torch, shape);
const out = { threads, loadavg: loadavg().map((x) => +x.toFixed(2)) };
for (const n of MATMUL_SIZES) {
  torch.manualSeed(n);
  const b = torch.randn(n, n);
  b.dataSync();
  const r = await measure((a) => a.matmul(b).realize(), { reps: n <= 512 ? 20 : n <= 1024 ? 10 : 4, warmup: 2, budgetMs: 3000, setup: () => fresh([n, n]) });
  out[`matmul ${n} GFLOP/s`] = +((2 * n ** 3) / r.median_ms / 1e6).toFixed(1);
}
const m = fusorMlp(torch);
const batch = () => {
  const x = fresh([MLP.batch, MLP.input]);
  const labels = torch.randint(0, MLP.classes, [MLP.batch]);
  const oh = torch.arange(MLP.classes).unsqueeze(0).eq(labels.unsqueeze(1)).float();
  oh.dataSync();
  return [x, oh];
};
const r = await measure(([x, oh]) => m.step(x, oh).itemSync(), { reps: 30, warmup: 3, budgetMs: 4000, setup: batch });
out['mlp step ms'] = +r.median_ms.toFixed(2);
out.loadavgAfter = loadavg().map((x) => +x.toFixed(2));
console.log(JSON.stringify(out));
process.exit(0);
