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
import { configureCuda, cublasInfo, cudaBackend, gemmPath as cudaGemmPath } from '@fusor/backend-cuda';
import { getBackend, getBuffer, realize, setBuffer } from '@fusor/runtime';
import { bufferNode } from '@fusor/ir';
import * as torch from '@fusor/tensor';
import { MLP, fusorMlp } from '../../bench/common.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : args[i + 1];
};
const N = Number(option('--elements', 256 * 2 ** 20));
const M = Number(option('--matmul', 4096));
const M16 = Number(option('--matmul16', 8192));
const SOFTMAX_COLS = Number(option('--softmax-cols', 4096));
/** Training-step sizes: the cpu benchmark's MLP and a wide one that keeps an H200 busy. */
const quick = args.includes('--quick'); // checking the script itself (on cpu): tiny sizes
const MLPS = quick ? [{ batch: 8, input: 16, hidden: 8, classes: 4, lr: 0.01 }] : [MLP, { batch: 4096, input: 1024, hidden: 4096, classes: 1000, lr: 0.01 }];
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

/** Runs one part of the benchmark; a failure is reported and recorded, and the rest still runs. */
async function section(name, fn) {
  try {
    await fn();
  } catch (e) {
    const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    console.log(`FAILED ${name}: ${message.split('\n').slice(0, 8).join('\n  ')}`);
    (results.failed ??= []).push({ name, message });
  }
}

const maxAbsDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]) / Math.max(1, Math.abs(b[i]))), 0);
const results = { date: new Date().toISOString(), device: description, elements: N, matmul: M, matmul16: M16 };

// ---------------------------------------------------------------- elementwise chain
await section('chain', async () => {
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
});

// ---------------------------------------------------------------- reductions
await section('sum and softmax', async () => {
  torch.manualSeed(2);
  const x = torch.rand(N, { device });
  realize([x.node]);
  for (let i = 0; i < 2; i++) realize([alias(x).sum().node]);
  const t = measure(() => realize([alias(x).sum().node]), 10);
  const got = alias(x).sum().itemSync();
  let want = 0; // the exact sum, in double, of the values read back
  for (const v of x.dataSync()) want += v;
  results.sum = { gpuMs: t.gpuMs, wallMs: t.wallMs, gbps: (N * 4) / (t.gpuMs * 1e6), relErrVsExact: Math.abs(got - want) / Math.abs(want) };
  console.log(`sum over ${N} float32: ${t.gpuMs.toFixed(3)} ms GPU (${results.sum.gbps.toFixed(0)} GB/s); rel. error vs the exact sum ${results.sum.relErrVsExact.toExponential(2)}`);
  const rows = 4096;
  const y = torch.randn(rows, SOFTMAX_COLS, { device });
  realize([y.node]);
  for (let i = 0; i < 2; i++) realize([alias(y).softmax(1).node]);
  const s = measure(() => realize([alias(y).softmax(1).node]), 10);
  const sm = alias(y).softmax(1).narrow(0, 0, 2).cpu().dataSync();
  const smWant = y.narrow(0, 0, 2).cpu().softmax(1).dataSync();
  results.softmax = { rows, cols: SOFTMAX_COLS, gpuMs: s.gpuMs, wallMs: s.wallMs, gbps: (2 * rows * SOFTMAX_COLS * 4) / (s.gpuMs * 1e6), maxRelErrVsCpu: maxAbsDiff(sm, smWant) };
  console.log(`softmax ${rows}×${SOFTMAX_COLS} float32 along rows: ${s.gpuMs.toFixed(3)} ms GPU (${results.softmax.gbps.toFixed(0)} GB/s)`);
  gc();
});

// ---------------------------------------------------------------- matmul
const onCuda = device.startsWith('cuda');
/** cuBLAS in use for large products (cuda only). */
const cublasOn = () => onCuda && cublasInfo().available;
const setCublas = (on) => configureCuda({ cublas: on });
/** What computes a square product of this size now, in words. */
function gemmPath(size, dtype) {
  if (!onCuda) return 'the cpu backend';
  const square = { offset: 0, rowStride: size, colStride: 1 };
  const path = cudaGemmPath({ dtype, m: size, n: size, k: size, batch: [], a: square, b: square, c: square });
  if (path === 'cublas') return `cuBLAS ${cublasInfo().version}`;
  if (path === 'kernels') return dtype === 'float32' || dtype === 'float64' ? "fusor's tiled GEMM kernel" : "fusor's tensor-core GEMM kernel (mma.sync)";
  return 'generated reduction kernel';
}
/** GPU time of an M² product in `dtype`, and how it ran (a routine or generated kernels). */
function matmul(size, dtype) {
  torch.manualSeed(1);
  const a = torch.rand(size, size, { device, dtype });
  const b = torch.rand(size, size, { device, dtype });
  realize([a.node, b.node]);
  const before = torch.compilerStats();
  const t0 = performance.now();
  const c = alias(a).matmul(b); // a new node: the product is computed even if an equal graph was before
  realize([c.node]); // compile and first run
  backend.synchronize();
  const first = performance.now() - t0;
  const routine = torch.compilerStats().routines > before.routines;
  const repeats = Math.max(1, Math.min(10, Math.floor(10_000 / first)));
  const t = measure(() => realize([alias(a).matmul(b).node]), repeats);
  // sampled outputs (corners, tile edges, the middle) against dot products in double on the host
  const [A, B, C] = [a, b, c].map((t) => t.float().dataSync());
  const picks = [...new Set([0, 1, 63, 64, 127, 128, 129, size >> 1, size - 2, size - 1].filter((i) => i >= 0 && i < size))];
  let worst = 0;
  for (const i of picks) {
    for (const j of picks) {
      let dot = 0;
      let mag = 0;
      for (let k = 0; k < size; k++) {
        dot += A[i * size + k] * B[k * size + j];
        mag += Math.abs(A[i * size + k] * B[k * size + j]);
      }
      worst = Math.max(worst, Math.abs(C[i * size + j] - dot) / Math.max(mag, 1e-30));
    }
  }
  // float32 accumulation over k terms, or one rounding of a 16-bit result
  const tolerance = dtype === 'float32' ? 1e-5 : dtype === 'float64' ? 1e-12 : 1e-2;
  const r = { dtype, size, gpuMs: t.gpuMs, wallMs: t.wallMs, tflops: (2 * size ** 3) / (t.gpuMs * 1e9), repeats, path: routine ? gemmPath(size, dtype) : 'generated reduction kernel', maxRelErrVsCpu: worst };
  if (!(worst <= tolerance)) throw new Error(`matmul ${size}² ${dtype} (${r.path}) is wrong: a sampled output is off by ${worst} of its magnitude (tolerance ${tolerance})`);
  console.log(`matmul ${size}² ${dtype} (${r.path}): ${t.gpuMs.toFixed(2)} ms GPU (${r.tflops.toFixed(2)} TFLOP/s) over ${repeats} run(s); max error ${r.maxRelErrVsCpu.toExponential(2)} of Σ|a·b| on ${picks.length}² sampled outputs`);
  gc();
  return r;
}
await section('matmul float32', () => (results.matmul = matmul(M, 'float32')));
if (backend.capabilities.dtypes.includes('bfloat16')) await section('matmul bfloat16', () => (results.matmulBf16 = matmul(M16, 'bfloat16')));
if (cublasOn()) {
  // the backend's own GEMM kernels, with the library switched off
  setCublas(false);
  await section('matmul float32, own kernels', () => (results.matmulOwn = matmul(M, 'float32')));
  if (results.matmulBf16) await section('matmul bfloat16, own kernels', () => (results.matmulOwnBf16 = matmul(M16, 'bfloat16')));
  setCublas(true);
}

// ---------------------------------------------------------------- MLP training step
/** Wall milliseconds per training step (steps issued back to back, then one synchronize). */
async function perStep(step, steps) {
  step();
  step();
  await backend.synchronize();
  const t0 = performance.now();
  let loss;
  for (let i = 0; i < steps; i++) loss = step();
  realize([loss.node]);
  await backend.synchronize();
  return (performance.now() - t0) / steps;
}
results.mlp = [];
for (const sizes of MLPS) await section(`MLP ${sizes.batch}×${sizes.input}→${sizes.hidden}→${sizes.classes}`, async () => {
  const eager = fusorMlp(torch, device, sizes);
  const eagerMs = await perStep(() => eager.step(eager.x, eager.onehot), 20);
  const traced = fusorMlp(torch, device, sizes);
  const step = torch.jit(traced.step, { name: 'mlp' });
  const launched = torch.compilerStats().launched;
  const jitMs = await perStep(() => step(traced.x, traced.onehot), 50);
  const launches = (torch.compilerStats().launched - launched) / 52;
  const loss = step(traced.x, traced.onehot).itemSync();
  results.mlp.push({ ...sizes, eagerMs, jitMs, launchesPerJitStep: launches, loss });
  console.log(`MLP step ${sizes.batch}×${sizes.input}→${sizes.hidden}→${sizes.classes}: eager ${eagerMs.toFixed(3)} ms, jit ${jitMs.toFixed(3)} ms (${launches.toFixed(1)} launches per step), loss ${loss.toFixed(4)}`);
  gc();
});

// ---------------------------------------------------------------- PyTorch on the same GPU
const here = fileURLToPath(new URL('.', import.meta.url));
const script = join(here, 'bench_torch.py');
try {
  const text = execFileSync('python3', [script, '--elements', String(N), '--matmul', String(M), '--matmul16', String(M16), '--softmax-cols', String(SOFTMAX_COLS), '--mlps', JSON.stringify(MLPS)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  results.torch = JSON.parse(text.trim().split('\n').pop());
} catch (e) {
  results.torch = { error: `python3 ${script} failed: ${e.message.split('\n')[0]}` };
}

// ---------------------------------------------------------------- report
const tt = results.torch;
const lines = [`# fusor (cuda) vs PyTorch, ${results.date.slice(0, 10)}`, '', `GPU: ${description}`];
if (tt.error) lines.push('', `PyTorch: not measured (${tt.error})`);
else lines.push(`PyTorch ${tt.torch} (CUDA ${tt.cuda}) on ${tt.gpu}, timed with CUDA events (median of 10 after warm-up); training steps by the wall clock`);
const gb = (ms) => (2 * N * 4) / (ms * 1e6);
const ratio = (torchMs, fusorMs) => (tt.error || torchMs === undefined ? '—' : `${(torchMs / fusorMs).toFixed(2)}×`);
const row = (...cells) => lines.push(`| ${cells.join(' | ')} |`);
lines.push('', '| workload | fusor | PyTorch | fusor speed ÷ PyTorch speed |', '| --- | --- | --- | --- |');
if (!tt.error) row(`device copy, ${N} float32 (reference bandwidth)`, '—', `${tt.copy_ms.toFixed(3)} ms, ${gb(tt.copy_ms).toFixed(0)} GB/s`, '—');
const ch = results.chain;
if (ch) row(
  `chain \`x*1.5+0.5 → relu → *x − 0.25\`, ${N} float32`,
  `${ch.kernels} kernel, ${ch.gpuMs.toFixed(3)} ms GPU, ${ch.gbps.toFixed(0)} GB/s${tt.error ? '' : ` (${((100 * ch.gbps) / gb(tt.copy_ms)).toFixed(0)}% of copy)`}; ${ch.wallMs.toFixed(3)} ms end to end`,
  tt.error ? '—' : `5 kernels, ${tt.chain_ms.toFixed(3)} ms, ${gb(tt.chain_ms).toFixed(0)} GB/s`,
  tt.error ? '—' : `${ratio(tt.chain_ms, ch.gpuMs)} (end to end ${ratio(tt.chain_ms, ch.wallMs)})`,
);
if (results.sum) row(`sum of ${N} float32`, `${results.sum.gpuMs.toFixed(3)} ms, ${results.sum.gbps.toFixed(0)} GB/s`, tt.error ? '—' : `${tt.sum_ms.toFixed(3)} ms`, ratio(tt.sum_ms, results.sum.gpuMs));
const sm = results.softmax;
if (sm) row(`softmax ${sm.rows}×${sm.cols} float32 along rows`, `${sm.gpuMs.toFixed(3)} ms, ${sm.gbps.toFixed(0)} GB/s`, tt.error ? '—' : `${tt.softmax_ms.toFixed(3)} ms`, ratio(tt.softmax_ms, sm.gpuMs));
for (const [key, torchKey] of [
  ['matmul', 'matmul_ms'],
  ['matmulOwn', 'matmul_ms'],
  ['matmulBf16', 'matmul16_ms'],
  ['matmulOwnBf16', 'matmul16_ms'],
]) {
  const r = results[key];
  if (!r) continue;
  const tf = (ms) => (2 * r.size ** 3) / (ms * 1e9);
  row(
    `matmul ${r.size}² ${r.dtype}${r.dtype === 'float32' ? ', TF32 off' : ''}`,
    `${r.gpuMs.toFixed(2)} ms, ${r.tflops.toFixed(2)} TFLOP/s (${r.path})`,
    tt.error ? '—' : `${tt[torchKey].toFixed(2)} ms, ${tf(tt[torchKey]).toFixed(2)} TFLOP/s`,
    ratio(tt[torchKey], r.gpuMs),
  );
}
for (const [i, m] of results.mlp.entries()) {
  const t = tt.mlp?.[i];
  const name = `MLP training step ${m.batch}×${m.input}→${m.hidden}→${m.classes} (forward, backward, SGD)`;
  row(`${name}, eager`, `${m.eagerMs.toFixed(3)} ms`, t ? `${t.eager_ms.toFixed(3)} ms eager` : '—', t ? ratio(t.eager_ms, m.eagerMs) : '—');
  row(`${name}, fusor under \`jit\``, `${m.jitMs.toFixed(3)} ms, ${m.launchesPerJitStep.toFixed(1)} launches`, t ? `${t.eager_ms.toFixed(3)} ms eager` : '—', t ? ratio(t.eager_ms, m.jitMs) : '—');
}
lines.push(
  '',
  `Checked against the cpu backend on samples: chain max rel. error ${ch?.maxRelErrVsCpu ?? '—'}, sum (against the exact sum) ${results.sum?.relErrVsExact.toExponential(2) ?? '—'}, softmax ${sm?.maxRelErrVsCpu ?? '—'}; products: sampled outputs against dot products in double, error ÷ Σ|a·b| — float32 ${results.matmul?.maxRelErrVsCpu ?? '—'}, bf16 ${results.matmulBf16?.maxRelErrVsCpu ?? '—'}.`,
);
for (const f of results.failed ?? []) lines.push(`FAILED: ${f.name}: ${f.message.split('\n')[0]}`);
lines.push('Goals (issue 6, H200): the chain at ≥ 70% of copy bandwidth and ≥ 1.5× PyTorch eager; fp32 4096² and bf16 8192² matmul ≥ 0.5× PyTorch; MLP step under jit ≥ 1.0× PyTorch eager.');
const report = lines.join('\n');
console.log(`\n${report}`);
if (outDir && existsSync(outDir)) {
  writeFileSync(join(outDir, 'bench.json'), JSON.stringify(results, null, 2));
  writeFileSync(join(outDir, 'bench.md'), `${report}\n`);
}
if (results.failed?.length) process.exit(1);
