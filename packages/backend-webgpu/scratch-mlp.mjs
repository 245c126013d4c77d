import * as torch from '@fusor/tensor';
import '@fusor/backend-webgpu';
import { fusorMlp } from '../../bench/common.mjs';
await torch.init('webgpu');
const m = fusorMlp(torch, 'webgpu');
await m.x._realizeAsync(); await m.onehot._realizeAsync();
const ts = [];
for (let i = 0; i < 5; i++) { const t = performance.now(); await m.step().item(); ts.push(performance.now() - t); }
console.log('mlp ms', ts.map((x) => x.toFixed(0)).join(' '));
if (process.argv[2]) {
  const loss = m.step();
  console.log(torch.explain(loss, { ir: false }).toString());
}
console.log(torch.compilerStats());
process.exit(0);
