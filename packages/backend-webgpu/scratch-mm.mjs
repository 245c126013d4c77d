import * as torch from '@fusor/tensor';
import '@fusor/backend-webgpu';
import { bufferNode } from '@fusor/ir';
import { getBuffer, setBuffer } from '@fusor/compiler';
console.log(await torch.init('webgpu'));
const fresh = (t) => { const n = bufferNode(t.dtype, t.shape, t.device); setBuffer(n, getBuffer(t.node)); return torch.Tensor._fromNode(n); };
const sizes = (process.argv[2] ?? '256,512').split(',').map(Number);
for (const n of sizes) {
  torch.manualSeed(n);
  const ac = torch.randn(n, n), bc = torch.randn(n, n);
  const a = ac.to('webgpu'), b = bc.to('webgpu');
  await a._realizeAsync(); await b._realizeAsync();
  const got = await a.matmul(b).data();
  const want = await ac.matmul(bc).data();
  let err = 0; for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
  const ts = [];
  for (let r = 0; r < 4; r++) { const t = performance.now(); await fresh(a).matmul(b).data(); ts.push(performance.now() - t); }
  ts.sort((x, y) => x - y);
  console.log(n, 'maxerr', err.toExponential(2), 'ms', ts.map((x) => x.toFixed(0)).join(' '), 'GF/s', (2 * n ** 3 / ts[1] / 1e6).toFixed(2));
}
process.exit(0);
