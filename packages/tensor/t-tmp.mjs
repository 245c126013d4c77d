import * as torch from '@fusor/tensor';
const x = torch.randn(1 << 20); x._realize();
let rep = 0; const fresh = (t) => t.mul(1 + ++rep * 2 ** -20);
const med = (a) => a.sort((p, q) => p - q)[a.length >> 1].toFixed(1);
const tm = [], tk = [], ts = [];
for (let i = 0; i < 15; i++) {
  let t = performance.now(); const y = fresh(x); y._realize(); tm.push(performance.now() - t); y.dispose?.();
  t = performance.now(); const [v, ix] = fresh(x).topk(100); v._realize(); ix._realize(); tk.push(performance.now() - t); v.dispose(); ix.dispose();
  t = performance.now(); const [a, b] = fresh(x).sort(); a._realize(); b._realize(); ts.push(performance.now() - t); a.dispose(); b.dispose();
}
console.log('mul', med(tm), 'topk', med(tk), 'sort', med(ts));
