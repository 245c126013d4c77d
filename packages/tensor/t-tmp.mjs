import * as torch from '@fusor/tensor';
import { compilerStats } from '@fusor/runtime';
const x = torch.randn(1 << 20); x._realize();
let rep = 0; const fresh = (t) => t.mul(1 + ++rep * 2 ** -20);
for (const what of ['sort', 'topk']) for (let i = 0; i < 4; i++) {
  const r0 = compilerStats().routines, l0 = compilerStats().launched;
  const t = performance.now();
  const [v, ix] = what === 'sort' ? fresh(x).sort() : fresh(x).topk(100);
  v._realize(); ix._realize();
  console.log(what, (performance.now() - t).toFixed(1), 'ms; routines', compilerStats().routines - r0, 'launches', compilerStats().launched - l0);
}
