// The webgpu cases of `pnpm bench`, shared by the Node runner (fusor-webgpu.mjs) and the Chromium
// page (webgpu-page/, driven by browser-webgpu.mjs). A subset that makes sense on a software
// adapter (SwiftShader): matmul 256, 512 and 1024, the MLP step, softmax over 4096 rows of 1024,
// a smaller elementwise chain. Every timed run ends with an awaited read of its result (end to
// end: submit, compute, readback); fusor's inputs are fresh nodes every run (it memoizes graphs).
// Each case is a function of its own, so the page can run fusor's and tfjs's side by side, case
// by case: on a machine other work loads, both sides of a ratio then see about the same load.
import { fusorMlp, measure, tfjsMlpStep } from './common.mjs';

export const WEBGPU_MATMUL_SIZES = [256, 512, 1024];
export const WEBGPU_SOFTMAX = [4096, 1024];
export const WEBGPU_CHAIN_SIZE = 1024 * 1024;
export const WEBGPU_REPS = { matmul: 10, mlp: 10, chain: 10, softmax: 10 };

/** The cases, in order: [key path in the results, name]. */
export const WEBGPU_CASES = [...WEBGPU_MATMUL_SIZES.map((n) => `matmul ${n}`), 'mlp step', 'softmax', 'elementwise chain 1M'];

/** Stores a case's result where run.mjs looks for it (matmul sizes under results.matmul). */
export function putResult(results, name, r) {
  const m = /^matmul (\d+)$/.exec(name);
  if (m) (results.matmul ??= {})[m[1]] = r;
  else results[name] = r;
}

/** fusor's cases on webgpu. `mods` holds the modules: { torch, bufferNode, getBuffer, setBuffer }. Returns run(name) → result. */
export function fusorWebgpuCase(mods) {
  const { torch, bufferNode, getBuffer, setBuffer } = mods;
  /**
   * A realized input's buffer, held for the whole case (the runtime may drop a recomputable
   * input's device copy from its cache between runs), and a maker of fresh nodes over it: the
   * same data under a new node each run, which fusor has never computed with.
   */
  const input = async (t) => {
    await t._realizeAsync();
    const buf = getBuffer(t.node);
    if (!buf) throw new Error('internal: a realized bench input has no buffer');
    buf.pin?.();
    return () => {
      const n = bufferNode(t.dtype, t.shape, t.device);
      setBuffer(n, buf);
      return torch.Tensor._fromNode(n);
    };
  };
  const real = async (t) => (await t._realizeAsync(), t);
  return async (name) => {
    const mm = /^matmul (\d+)$/.exec(name);
    if (mm) {
      const n = Number(mm[1]);
      torch.manualSeed(n);
      const a = await input(torch.randn(n, n).to('webgpu'));
      const b = await input(torch.randn(n, n).to('webgpu'));
      return measure(async () => void (await a().matmul(b()).data()), { reps: WEBGPU_REPS.matmul, warmup: 1, budgetMs: 3000 });
    }
    if (name === 'mlp step') {
      const m = fusorMlp(torch, 'webgpu');
      await real(m.x);
      await real(m.onehot);
      const step = async () => await m.step().item();
      const r = await measure(step, { reps: WEBGPU_REPS.mlp, warmup: 1, budgetMs: 4000 });
      r.loss = await step();
      return r;
    }
    if (name === 'softmax') {
      torch.manualSeed(2);
      const x = await input(torch.randn(...WEBGPU_SOFTMAX).to('webgpu'));
      return measure(async () => void (await x().softmax(1).data()), { reps: WEBGPU_REPS.softmax, warmup: 1, budgetMs: 3000 });
    }
    if (name === 'elementwise chain 1M') {
      torch.manualSeed(1);
      const x = await input(torch.randn(WEBGPU_CHAIN_SIZE).to('webgpu'));
      const y = await input(torch.randn(WEBGPU_CHAIN_SIZE).to('webgpu'));
      return measure(async () => void (await x().mul(2).add(1).relu().mul(y()).exp().sum().item()), { reps: WEBGPU_REPS.chain, warmup: 2 });
    }
    throw new Error(`unknown webgpu case ${name}`);
  };
}

/**
 * tfjs's cases on its webgpu backend (the caller has set it). The MLP step's backward pass is
 * written out as in tfjs.mjs (tfjs-core registers no gradients without the union package).
 */
export function tfjsWebgpuCase(tf) {
  return async (name) => {
    const mm = /^matmul (\d+)$/.exec(name);
    if (mm) {
      const n = Number(mm[1]);
      const a = tf.randomNormal([n, n], 0, 1, 'float32', n);
      const b = tf.randomNormal([n, n], 0, 1, 'float32', n + 1);
      const r = await measure(
        async () => {
          const c = tf.matMul(a, b);
          await c.data();
          c.dispose();
        },
        { reps: WEBGPU_REPS.matmul, warmup: 1, budgetMs: 3000 },
      );
      a.dispose();
      b.dispose();
      return r;
    }
    if (name === 'mlp step') {
      const run = tfjsMlpStep(tf);
      const step = async () => {
        const loss = run();
        const v = (await loss.data())[0];
        loss.dispose();
        return v;
      };
      const r = await measure(step, { reps: WEBGPU_REPS.mlp, warmup: 1, budgetMs: 4000 });
      r.loss = await step();
      return r;
    }
    if (name === 'softmax') {
      const x = tf.randomNormal(WEBGPU_SOFTMAX, 0, 1, 'float32', 2);
      const r = await measure(
        async () => {
          const s = tf.softmax(x);
          await s.data();
          s.dispose();
        },
        { reps: WEBGPU_REPS.softmax, warmup: 1, budgetMs: 3000 },
      );
      x.dispose();
      return r;
    }
    if (name === 'elementwise chain 1M') {
      const x = tf.randomNormal([WEBGPU_CHAIN_SIZE], 0, 1, 'float32', 3);
      const y = tf.randomNormal([WEBGPU_CHAIN_SIZE], 0, 1, 'float32', 4);
      const r = await measure(
        async () => {
          const s = tf.tidy(() => tf.sum(tf.exp(tf.mul(tf.relu(tf.add(tf.mul(x, 2), 1)), y))));
          await s.data();
          s.dispose();
        },
        { reps: WEBGPU_REPS.chain, warmup: 2 },
      );
      x.dispose();
      y.dispose();
      return r;
    }
    throw new Error(`unknown webgpu case ${name}`);
  };
}

/** Every fusor case in order (the Node runner). */
export async function fusorWebgpuCases(mods) {
  const run = fusorWebgpuCase(mods);
  const results = {};
  for (const name of WEBGPU_CASES) putResult(results, name, await run(name));
  return results;
}
