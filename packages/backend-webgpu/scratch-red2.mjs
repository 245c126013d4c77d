import * as torch from '@fusor/tensor';
import '@fusor/backend-webgpu';
import { bufferNode } from '@fusor/ir';
import { getBuffer, setBuffer } from '@fusor/compiler';
await torch.init('webgpu');
const fresh = (t) => { const n = bufferNode(t.dtype, t.shape, t.device); setBuffer(n, getBuffer(t.node)); return torch.Tensor._fromNode(n); };
const time = async (f, reps = 4) => { await f(); const ts = []; for (let r = 0; r < reps; r++) { const t = performance.now(); await f(); ts.push(performance.now() - t); } ts.sort((a, b) => a - b); return ts[1].toFixed(0); };
const out = [];
for (const [rows, n] of [[64, 16384], [256, 4096], [1024, 1024], [2048, 512]]) {
  const s = torch.randn(rows, n).to('webgpu'); await s._realizeAsync();
  out.push(`${rows}x${n}: ${await time(async () => void (await fresh(s).exp().sum(1).data()))}`);
}
console.log(process.env.FUSOR_COOP_MAX, out.join('  '));
process.exit(0);
