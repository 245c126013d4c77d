// fusor's webgpu column of `pnpm bench`, in Node (Dawn through the `webgpu` package; here on
// SwiftShader, a software adapter: absolute times say little, see browser-webgpu.mjs for ratios).
// Without an adapter it emits { unavailable: reason }.
import { emit } from './common.mjs';
import { WEBGPU_CHAIN_SIZE, fusorWebgpuCases } from './webgpu-cases.mjs';

const torch = await import('@fusor/tensor');
await import('@fusor/backend-webgpu');
const { bufferNode } = await import('@fusor/ir');
const { getBuffer, setBuffer } = await import('@fusor/runtime');

let description;
try {
  description = await torch.init('webgpu');
} catch (e) {
  emit({ unavailable: String(e?.message ?? e).split('\n')[0] });
  process.exit(0);
}
const results = await fusorWebgpuCases({ torch, bufferNode, getBuffer, setBuffer });
emit({ description, chain_size: WEBGPU_CHAIN_SIZE, results, stats: torch.compilerStats() });
process.exit(0);
