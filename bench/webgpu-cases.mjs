// The webgpu cases of `pnpm bench`, shared by the Node runner (fusor-webgpu.mjs) and the Chromium
// page (webgpu-page/, driven by browser-webgpu.mjs). A subset that makes sense on a software
// adapter (SwiftShader): matmul 256 and 512, the MLP step, a smaller elementwise chain. Every
// timed run ends with an awaited read of its result (end to end: submit, compute, readback).
import { freshTensor, fusorMlp, measure, tfjsMlpStep } from './common.mjs';

export const WEBGPU_MATMUL_SIZES = [256, 512];
export const WEBGPU_CHAIN_SIZE = 1024 * 1024;
export const WEBGPU_REPS = { matmul: 10, mlp: 10, chain: 10 };

/** fusor on webgpu. `fusor` holds the modules: { torch, bufferNode, getBuffer, setBuffer }. */
export async function fusorWebgpuCases({ torch, bufferNode, getBuffer, setBuffer }, { chain = true } = {}) {
  const real = async (t) => (await t._realizeAsync(), t);
  const fresh = (t) => freshTensor({ torch, bufferNode, getBuffer, setBuffer }, t);
  const results = {};
  results.matmul = {};
  for (const n of WEBGPU_MATMUL_SIZES) {
    torch.manualSeed(n);
    const a = await real(torch.randn(n, n).to('webgpu'));
    const b = await real(torch.randn(n, n).to('webgpu'));
    results.matmul[n] = await measure(async () => void (await fresh(a).matmul(b).data()), { reps: WEBGPU_REPS.matmul, warmup: 1, budgetMs: 3000 });
  }
  {
    const m = fusorMlp(torch, 'webgpu');
    await real(m.x);
    await real(m.onehot);
    const step = async () => await m.step().item();
    results['mlp step'] = await measure(step, { reps: WEBGPU_REPS.mlp, warmup: 1, budgetMs: 4000 });
    results['mlp step'].loss = await step();
  }
  if (chain) {
    torch.manualSeed(1);
    const x = await real(torch.randn(WEBGPU_CHAIN_SIZE).to('webgpu'));
    const y = await real(torch.randn(WEBGPU_CHAIN_SIZE).to('webgpu'));
    results['elementwise chain 1M'] = await measure(async () => void (await fresh(x).mul(2).add(1).relu().mul(y).exp().sum().item()), {
      reps: WEBGPU_REPS.chain,
      warmup: 2,
    });
  }
  return results;
}

/**
 * tfjs on its webgpu backend (the caller has set it). The MLP step's backward pass is written out
 * as in tfjs.mjs (tfjs-core registers no gradients without the union package).
 */
export async function tfjsWebgpuCases(tf) {
  const results = { matmul: {} };
  for (const n of WEBGPU_MATMUL_SIZES) {
    const a = tf.randomNormal([n, n], 0, 1, 'float32', n);
    const b = tf.randomNormal([n, n], 0, 1, 'float32', n + 1);
    results.matmul[n] = await measure(
      async () => {
        const c = tf.matMul(a, b);
        await c.data();
        c.dispose();
      },
      { reps: WEBGPU_REPS.matmul, warmup: 1, budgetMs: 3000 },
    );
  }
  {
    const run = tfjsMlpStep(tf);
    const step = async () => {
      const loss = run();
      const v = (await loss.data())[0];
      loss.dispose();
      return v;
    };
    results['mlp step'] = await measure(step, { reps: WEBGPU_REPS.mlp, warmup: 1, budgetMs: 4000 });
    results['mlp step'].loss = await step();
  }
  return results;
}
