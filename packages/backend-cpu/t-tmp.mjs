import { cpuSort } from './dist/sort.js';
import { allocBuffer } from './dist/buffer.js';
const n = 1 << 20;
const xb = allocBuffer('float32', n); const x = xb.data; for (let i = 0; i < n; i++) x[i] = Math.random() * 2 - 1;
const plain = { data: Float32Array.from(x) };
const out = { data: new Int32Array(100) };
for (const [name, b] of [['heap', xb], ['plain', plain], ['heap', xb], ['plain', plain]]) {
  const ts = [];
  for (let i = 0; i < 10; i++) { const t = performance.now(); cpuSort.run({ dtype: 'float32', rows: 1, n, k: 100, descending: true }, b, out); ts.push(performance.now() - t); }
  console.log(name, ts.map((v) => v.toFixed(1)).join(' '));
}
