// Quick measurements of the cpu backend (not a test, not the benchmark suite — that is
// `pnpm bench`): the fused elementwise chain over 16M floats, softmax 4096×1024 and a naive
// 1024³ matmul through the generated reduction kernel (the BLAS routine switched off), under one
// renderer / thread setting. Run after `pnpm build`:
//   node packages/backend-cpu/scripts/measure.mjs [wasm|js] [threads] [simd|scalar]
// Medians of wall time; on a shared machine, run it more than once.
import * as torch from '../../tensor/dist/index.js';
import { bufferNode } from '../../ir/dist/index.js';
import { getBuffer, setBuffer } from '../../compiler/dist/index.js';
import * as cpu from '../dist/index.js';

const [renderer = 'wasm', threadsArg, simdArg = 'simd'] = process.argv.slice(2);
const threads = threadsArg ? Number(threadsArg) : undefined;
// (guarded so the script also runs against older builds of the backend, for before/after numbers)
cpu.configureCpu?.({ renderer, simd: simdArg !== 'scalar', ...(threads ? { threads } : {}) });
cpu.configureBlas?.({ enabled: false });
console.log(await torch.init('cpu'), JSON.stringify(cpu.cpuConfig?.() ?? {}));
await cpu.cpuWorkersReady?.();

/**
 * Median wall time of `fn(...inputs)` (ms) after `warm` warm-up runs, as `pnpm bench` measures
 * it: inputs are realized once, and each run reads them through new nodes (fusor interns graphs
 * and keeps results, so re-running one graph on the same tensors would be free); outputs are
 * realized, not copied to the host. Yields between runs so freed buffers return to the pool.
 */
async function time(label, inputs, fn, { runs = Number(process.env.RUNS ?? 10), warm = 2 } = {}) {
  const ts = [];
  for (let i = 0; i < warm + runs; i++) {
    const args = inputs.map(fresh);
    const t0 = performance.now();
    fn(...args);
    const t = performance.now() - t0;
    if (i >= warm) ts.push(t);
    await new Promise((r) => setTimeout(r, 0));
  }
  ts.sort((a, b) => a - b);
  const med = ts[Math.floor(ts.length / 2)];
  console.log(`${label.padEnd(44)} median ${med.toFixed(2)} ms  (min ${ts[0].toFixed(2)}, max ${ts[ts.length - 1].toFixed(2)})`);
  return med;
}

/** The same data under a new node. */
function fresh(t) {
  const n = bufferNode(t.dtype, t.shape, t.device);
  setBuffer(n, getBuffer(t.node));
  return torch.Tensor._fromNode(n);
}

const real = (t) => (t._realize(), t);
const host = (n, scale) => Float32Array.from({ length: n }, () => (Math.random() - 0.5) * scale);

const N = 16 * 1024 * 1024;
await time(
  'chain 16M: x*2+1 -> relu -> *y -> exp -> sum',
  [real(torch.tensor(host(N, 2))), real(torch.tensor(host(N, 2)))],
  (x, y) => x.mul(2).add(1).relu().mul(y).exp().sum().itemSync(),
);

await time('softmax 4096x1024', [real(torch.tensor(host(4096 * 1024, 8)).reshape(4096, 1024))], (s) => s.softmax(1)._realize());

const ms = await time(
  'matmul 1024^3 (generated reduction kernel)',
  [real(torch.tensor(host(1024 * 1024, 1)).reshape(1024, 1024)), real(torch.tensor(host(1024 * 1024, 1)).reshape(1024, 1024))],
  (a, b) => a.matmul(b)._realize(),
  { runs: renderer === 'js' ? 1 : 5, warm: 1 },
);
console.log(`  = ${((2 * 1024 ** 3) / ms / 1e6).toFixed(2)} GFLOP/s`);
