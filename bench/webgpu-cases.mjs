// The webgpu cases of `pnpm bench`, shared by the Node runner (fusor-webgpu.mjs) and the Chromium
// page (webgpu-page/, driven by browser-webgpu.mjs). A subset that makes sense on a software
// adapter (SwiftShader): matmul 256, 512 and 1024, the MLP step, softmax over 4096 rows of 1024,
// a smaller elementwise chain. Every timed run ends with an awaited read of its result (end to
// end: submit, compute, readback); fusor's inputs are fresh nodes every run (it memoizes graphs).
import { freshTensor, fusorMlp, measure, tfjsMlpStep } from './common.mjs';

export const WEBGPU_MATMUL_SIZES = [256, 512, 1024];
export const WEBGPU_SOFTMAX = [4096, 1024];
export const WEBGPU_CHAIN_SIZE = 1024 * 1024;
export const WEBGPU_REPS = { matmul: 10, mlp: 10, chain: 10, softmax: 10 };

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
  {
    torch.manualSeed(2);
    const x = await real(torch.randn(...WEBGPU_SOFTMAX).to('webgpu'));
    results.softmax = await measure(async () => void (await fresh(x).softmax(1).data()), { reps: WEBGPU_REPS.softmax, warmup: 1, budgetMs: 3000 });
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
  {
    const x = tf.randomNormal(WEBGPU_SOFTMAX, 0, 1, 'float32', 2);
    results.softmax = await measure(
      async () => {
        const s = tf.softmax(x);
        await s.data();
        s.dispose();
      },
      { reps: WEBGPU_REPS.softmax, warmup: 1, budgetMs: 3000 },
    );
  }
  {
    const x = tf.randomNormal([WEBGPU_CHAIN_SIZE], 0, 1, 'float32', 3);
    const y = tf.randomNormal([WEBGPU_CHAIN_SIZE], 0, 1, 'float32', 4);
    results['elementwise chain 1M'] = await measure(
      async () => {
        const s = tf.tidy(() => tf.sum(tf.exp(tf.mul(tf.relu(tf.add(tf.mul(x, 2), 1)), y))));
        await s.data();
        s.dispose();
      },
      { reps: WEBGPU_REPS.chain, warmup: 2 },
    );
  }
  return results;
}
