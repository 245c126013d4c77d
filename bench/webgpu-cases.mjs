// The webgpu cases of `pnpm bench`, shared by the Node runner (fusor-webgpu.mjs) and the Chromium
// page (webgpu-page/, driven by browser-webgpu.mjs). A subset that makes sense on a software
// adapter (SwiftShader): matmul 256 and 512, the MLP step, a smaller elementwise chain. Every
// timed run ends with an awaited read of its result (end to end: submit, compute, readback).
import { MLP, measure, tfjsMlpStep } from './common.mjs';

export const WEBGPU_MATMUL_SIZES = [256, 512];
export const WEBGPU_CHAIN_SIZE = 1024 * 1024;
export const WEBGPU_REPS = { matmul: 10, mlp: 10, chain: 10 };

/** fusor on webgpu. `fusor` holds the modules: { torch, bufferNode, getBuffer, setBuffer }. */
export async function fusorWebgpuCases({ torch, bufferNode, getBuffer, setBuffer }, { chain = true } = {}) {
  const real = async (t) => (await t._realizeAsync(), t);
  /** The same data under a new node (fusor would otherwise reuse what it computed; see fusor.mjs). */
  const fresh = (t) => {
    const n = bufferNode(t.dtype, t.shape, t.device);
    setBuffer(n, getBuffer(t.node));
    return torch.Tensor._fromNode(n);
  };
  const results = {};
  results.matmul = {};
  for (const n of WEBGPU_MATMUL_SIZES) {
    torch.manualSeed(n);
    const a = await real(torch.randn(n, n).to('webgpu'));
    const b = await real(torch.randn(n, n).to('webgpu'));
    results.matmul[n] = await measure(async () => void (await fresh(a).matmul(b).data()), { reps: WEBGPU_REPS.matmul, warmup: 1, budgetMs: 3000 });
  }
  {
    torch.manualSeed(0);
    const { batch, input, hidden, classes, lr } = MLP;
    const params = [torch.randn(input, hidden).mul(0.05), torch.zeros(hidden), torch.randn(hidden, classes).mul(0.05), torch.zeros(classes)];
    for (let i = 0; i < params.length; i++) params[i] = (await real(params[i].to('webgpu').detach())).requiresGrad_();
    const [w1, b1, w2, b2] = params;
    const x = await real(torch.randn(batch, input).to('webgpu'));
    const labels = torch.randint(0, classes, [batch]);
    const onehot = await real(torch.arange(classes).unsqueeze(0).eq(labels.unsqueeze(1)).float().to('webgpu'));
    const step = async () => {
      const logits = x.matmul(w1).add(b1).relu().matmul(w2).add(b2);
      const loss = logits.logSoftmax(1).mul(onehot).sum().neg().div(batch);
      loss.backward();
      torch.noGrad(() => {
        for (const p of params) {
          p.sub_(p.grad.mul(lr));
          p.grad = null;
        }
      });
      return await loss.item();
    };
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
