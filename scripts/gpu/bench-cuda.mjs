// fusor on cuda against PyTorch on the same GPU: a fused elementwise chain over 256M float32
// and a 4096² float32 matmul (TF32 off on both). fusor is timed with CUDA events around the
// realizes (GPU time) and with the wall clock (end to end, JavaScript included); PyTorch by
// bench_torch.py with CUDA events. Results are checked against the cpu backend on a sample.
//
//   node --expose-gc scripts/gpu/bench-cuda.mjs [--elements N] [--matmul N] [--out DIR] [--device cuda]
//
// Bundled by scripts/gpu/prepare.sh into .gpu/bench-cuda.mjs (bench_torch.py beside it).
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cudaBackend } from '@fusor/backend-cuda';
import { getBackend, getBuffer, realize, setBuffer } from '@fusor/compiler';
import { bufferNode } from '@fusor/ir';
import * as torch from '@fusor/tensor';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : args[i + 1];
};
const N = Number(option('--elements', 256 * 2 ** 20));
const M = Number(option('--matmul', 4096));
const outDir = option('--out', null);
const device = option('--device', 'cuda');

const backend = getBackend(device);
const available = backend.isAvailable();
if (!available.ok) {
  console.log(`benchmark not run: ${device} is unavailable: ${available.reason}`);
  process.exit(1);
}
const description = await torch.init(device);
console.log(`fusor on ${device}: ${description}`);
const gc = () => globalThis.gc?.();

/**
 * A new tensor on the same device memory. Graphs are interned and a realized node is never
 * computed again, so each timed iteration reads its input through a fresh buffer node: the kernel
 * (and its compiled program) is the same, the work is done every time.
 */
function alias(t) {
  realize([t.node]);
  const n = bufferNode(t.dtype, t.shape, t.device);
  setBuffer(n, getBuffer(t.node));
  return torch.Tensor._fromNode(n);
}

/** GPU milliseconds per call of `fn` (CUDA events around `repeats` calls), and wall milliseconds per call. */
function measure(fn, repeats) {
  const run = () => {
    for (let i = 0; i < repeats; i++) fn();
  };
  const t0 = performance.now();
  // off cuda (checking this script on cpu) the wall clock stands in for GPU time
  const gpu = device.startsWith('cuda') ? cudaBackend.time(run) : (run(), performance.now() - t0);
  const wall = performance.now() - t0;
  return { gpuMs: gpu / repeats, wallMs: wall / repeats };
}

const maxAbsDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]) / Math.max(1, Math.abs(b[i]))), 0);
const results = { date: new Date().toISOString(), device: description, elements: N, matmul: M };

// ---------------------------------------------------------------- elementwise chain
{
  torch.manualSeed(0);
  const x = torch.rand(N, { device });
  realize([x.node]);
  const chain = (t) => t.mul(1.5).add(0.5).relu().mul(t).sub(0.25);
  const kernels = torch.explain(chain(x), { ir: false }).kernels.length;
  for (let i = 0; i < 2; i++) realize([chain(alias(x)).node]); // compile and warm up
  await backend.synchronize();
  gc();
  const keep = [];
  const t = measure(() => {
    const y = chain(alias(x));
    realize([y.node]);
    keep.push(y);
  }, 10);
  // check a sample against the cpu backend
  const sample = Math.min(N, 1 << 16);
  const got = keep[0].narrow(0, 0, sample).cpu().dataSync();
  const want = chain(x.narrow(0, 0, sample).cpu()).dataSync();
  keep.length = 0;
  gc();
  const bytes = 2 * N * 4;
  results.chain = { kernels, gpuMs: t.gpuMs, wallMs: t.wallMs, gbps: bytes / (t.gpuMs * 1e6), maxRelErrVsCpu: maxAbsDiff(got, want) };
  console.log(
    `chain over ${N} float32: ${kernels} kernel(s), ${t.gpuMs.toFixed(3)} ms GPU (${results.chain.gbps.toFixed(0)} GB/s), ${t.wallMs.toFixed(3)} ms end to end; max rel. error vs cpu ${results.chain.maxRelErrVsCpu}`,
  );
}

// ---------------------------------------------------------------- matmul
{
  torch.manualSeed(1);
  const a = torch.rand(M, M, { device });
  const b = torch.rand(M, M, { device });
  realize([a.node, b.node]);
  const t0 = performance.now();
  const c = a.matmul(b);
  realize([c.node]); // compile and first run
  await backend.synchronize();
  const first = performance.now() - t0;
  const repeats = Math.max(1, Math.min(5, Math.floor(10_000 / first)));
  const t = measure(() => realize([alias(a).matmul(b).node]), repeats);
  const got = c.narrow(0, 0, 4).narrow(1, 0, 4).cpu().dataSync();
  const want = a.narrow(0, 0, 4).cpu().matmul(b.narrow(1, 0, 4).cpu()).dataSync();
  const flops = 2 * M ** 3;
  results.matmul = { gpuMs: t.gpuMs, wallMs: t.wallMs, tflops: flops / (t.gpuMs * 1e9), repeats, maxRelErrVsCpu: maxAbsDiff(got, want) };
  console.log(`matmul ${M}² float32: ${t.gpuMs.toFixed(2)} ms GPU (${results.matmul.tflops.toFixed(2)} TFLOP/s) over ${repeats} run(s); max rel. error vs cpu ${results.matmul.maxRelErrVsCpu}`);
  gc();
}

// ---------------------------------------------------------------- PyTorch on the same GPU
const here = fileURLToPath(new URL('.', import.meta.url));
const script = join(here, 'bench_torch.py');
try {
  const text = execFileSync('python3', [script, '--elements', String(N), '--matmul', String(M)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  results.torch = JSON.parse(text.trim().split('\n').pop());
} catch (e) {
  results.torch = { error: `python3 ${script} failed: ${e.message.split('\n')[0]}` };
}

// ---------------------------------------------------------------- report
const tt = results.torch;
const lines = [`# fusor (cuda) vs PyTorch, ${results.date.slice(0, 10)}`, '', `GPU: ${description}`];
if (tt.error) lines.push('', `PyTorch: not measured (${tt.error})`);
else lines.push(`PyTorch ${tt.torch} (CUDA ${tt.cuda}) on ${tt.gpu}, timed with CUDA events (median of 10 after warm-up)`);
const gb = (ms) => (2 * N * 4) / (ms * 1e6);
lines.push('', '| workload | fusor | PyTorch | fusor speed ÷ PyTorch speed |', '| --- | --- | --- | --- |');
const ch = results.chain;
if (!tt.error) lines.push(`| device copy, ${N} float32 (reference bandwidth) | — | ${tt.copy_ms.toFixed(3)} ms, ${gb(tt.copy_ms).toFixed(0)} GB/s | — |`);
lines.push(
  `| chain \`x*1.5+0.5 → relu → *x − 0.25\`, ${N} float32 | ${ch.kernels} kernel, ${ch.gpuMs.toFixed(3)} ms GPU, ${ch.gbps.toFixed(0)} GB/s${tt.error ? '' : ` (${((100 * ch.gbps) / gb(tt.copy_ms)).toFixed(0)}% of copy)`}; ${ch.wallMs.toFixed(3)} ms end to end | ${tt.error ? '—' : `5 kernels, ${tt.chain_ms.toFixed(3)} ms, ${gb(tt.chain_ms).toFixed(0)} GB/s`} | ${tt.error ? '—' : `${(tt.chain_ms / ch.gpuMs).toFixed(2)}× (end to end ${(tt.chain_ms / ch.wallMs).toFixed(2)}×)`} |`,
);
const mm = results.matmul;
const tf = (ms) => (2 * M ** 3) / (ms * 1e9);
lines.push(
  `| matmul ${M}² float32, TF32 off | ${mm.gpuMs.toFixed(2)} ms, ${mm.tflops.toFixed(2)} TFLOP/s (generated reduction kernel, no GEMM yet) | ${tt.error ? '—' : `${tt.matmul_ms.toFixed(2)} ms, ${tf(tt.matmul_ms).toFixed(2)} TFLOP/s`} | ${tt.error ? '—' : `${(tt.matmul_ms / mm.gpuMs).toFixed(3)}×`} |`,
);
lines.push('', `Checked against the cpu backend on samples: chain max rel. error ${ch.maxRelErrVsCpu}, matmul ${mm.maxRelErrVsCpu}.`);
lines.push('Goals (issue 6, H200): the chain at ≥ 70% of copy bandwidth and ≥ 1.5× PyTorch eager; fp32 matmul ≥ 0.5× PyTorch (needs a GEMM: not yet).');
const report = lines.join('\n');
console.log(`\n${report}`);
if (outDir && existsSync(outDir)) {
  writeFileSync(join(outDir, 'bench.json'), JSON.stringify(results, null, 2));
  writeFileSync(join(outDir, 'bench.md'), `${report}\n`);
}
