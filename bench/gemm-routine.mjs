// The portable GEMM routine called directly (no graph, no allocation of the result): GFLOP/s of
// wasmGemm.run on float32 products, the MLP's shapes included. `node gemm-routine.mjs [threads] [plain]`.
import { loadavg } from 'node:os';
const { wasmGemm, configureCpu, cpuWorkersReady, cpuBackend } = await import('@fusor/backend-cpu');
// operands in the heap, as the backend's own buffers (`plain` as argv[3]: ordinary arrays)
const plain = process.argv[3] === 'plain';
const threads = Number(process.argv[2] ?? 2);
configureCpu({ threads });
await cpuWorkersReady?.();
const buf = (n) => (plain ? { dtype: 'float32', size: n, data: new Float32Array(n) } : cpuBackend.alloc('float32', n, 0));
/** New values, written before the clock starts: no repetition multiplies what an earlier one did. */
const fill = (b) => {
  for (let i = 0; i < b.data.length; i++) b.data[i] = Math.random() - 0.5;
};
// [name, m, n, k, a transposed, b transposed]
const cases = [
  ['256', 256, 256, 256],
  ['512', 512, 512, 512],
  ['1024', 1024, 1024, 1024],
  ['2048', 2048, 2048, 2048],
  ['mlp fwd 256x784@784x512', 256, 512, 784],
  ['mlp fwd 256x512@512x10', 256, 10, 512],
  ['mlp dW1 784x256@256x512 (aT)', 784, 512, 256, true],
  ['mlp dX 256x10@10x512 (bT)', 256, 512, 10, false, true],
  ['mlp dW2 512x256@256x10 (aT)', 512, 10, 256, true],
];
const out = { threads, operands: plain ? 'plain arrays' : 'heap', loadavg: loadavg().map((x) => +x.toFixed(2)) };
for (const [name, m, n, k, at, bt] of cases) {
  const a = buf(m * k);
  const b = buf(k * n);
  const c = buf(m * n);
  const g = {
    dtype: 'float32', m, n, k, batch: [],
    a: at ? { offset: 0, rowStride: 1, colStride: m } : { offset: 0, rowStride: k, colStride: 1 },
    b: bt ? { offset: 0, rowStride: 1, colStride: k } : { offset: 0, rowStride: n, colStride: 1 },
    c: { offset: 0, rowStride: n, colStride: 1 },
  };
  if (!wasmGemm.supports(g)) { out[name] = 'unsupported'; continue; }
  const reps = Math.max(3, Math.min(50, Math.round(3e9 / (2 * m * n * k))));
  const times = [];
  for (let r = 0; r < reps + 2; r++) {
    fill(a);
    fill(b);
    const t = performance.now();
    wasmGemm.run(g, a, b, c, []);
    if (r >= 2) times.push(performance.now() - t);
  }
  times.sort((x, y) => x - y);
  out[name] = +((2 * m * n * k) / times[times.length >> 1] / 1e6).toFixed(1);
}
console.log(JSON.stringify(out));
process.exit(0);
