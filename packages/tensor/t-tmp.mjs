import * as torch from '@fusor/tensor';
const x = torch.randn(1 << 20); x._realize();
let rep = 0; const fresh = (t) => t.mul(1 + ++rep * 2 ** -20);
for (let i = 0; i < 30; i++) {
  const t = performance.now();
  const [v, ix] = fresh(x).topk(100);
  v._realize(); ix._realize();
  if (i % 5 == 4) console.log('topk', (performance.now() - t).toFixed(1));
}
