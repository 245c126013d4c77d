// Shared by every JavaScript runner of `pnpm bench`: timing and the case sizes.

export const MATMUL_SIZES = [256, 512, 1024, 2048];
export const CHAIN_SIZE = 16 * 1024 * 1024;
export const MLP = { batch: 256, input: 784, hidden: 512, classes: 10, lr: 0.01 };
export const TINY = { size: 16, ops: 1000 };
/** A ResNet block's 3×3 convolution: batch N, C channels in and out, H×H images, K×K kernel. */
export const CONV2D = { N: 32, C: 64, H: 56, K: 3 };

/**
 * Median time of `fn` in ms after `warmup` runs: at most `reps` runs, stopping early once
 * `budgetMs` is spent (at least 3 runs). The first call's time (compiles included) is `firstMs`.
 * `setup`, run before every call and outside the clock, makes that call's inputs: fusor
 * memoizes interned graphs, so a repetition on inputs it has seen would time a cache.
 */
export async function measure(fn, { reps = 10, warmup = 2, budgetMs = 2000, setup } = {}) {
  let first;
  for (let i = 0; i < warmup; i++) {
    const input = setup ? await setup() : undefined;
    const t = performance.now();
    const out = await fn(input);
    if (i === 0) first = performance.now() - t;
    release(out, input);
  }
  const times = [];
  const start = performance.now();
  while (times.length < reps && (times.length < 3 || performance.now() - start < budgetMs)) {
    const input = setup ? await setup() : undefined;
    const t = performance.now();
    const out = await fn(input);
    times.push(performance.now() - t);
    release(out, input);
  }
  times.sort((a, b) => a - b);
  return { median_ms: times[times.length >> 1], min_ms: times[0], first_ms: first, reps: times.length };
}

/**
 * Frees, after the clock stops, the tensors a repetition returned and read, as PyTorch frees
 * them when their last reference goes: the next repetition's buffers then come from the pool,
 * as torch's come from its allocator (torch's best forms even write into one preallocated
 * `out=`). Left to the garbage collector, a loop that never allocates JavaScript objects keeps
 * every result and each new one lands on fresh pages (~4 ms/MB on this VM).
 */
function release(...values) {
  for (const v of values) {
    if (Array.isArray(v)) release(...v);
    else if (v && typeof v === 'object' && typeof v.dispose === 'function') v.dispose();
  }
}

/** Matmul sizes in ascending order, skipping a size once the last one predicts more than `limitMs` a run. */
export async function matmulSweep(run, limitMs = 3000) {
  const out = {};
  let last;
  for (const n of MATMUL_SIZES) {
    if (last && last.median_ms * (n / last.n) ** 3 > limitMs) {
      out[n] = { skipped: `predicted ${Math.round(last.median_ms * (n / last.n) ** 3)} ms per run from size ${last.n}` };
      continue;
    }
    const r = await run(n);
    out[n] = r;
    last = { ...r, n };
  }
  return out;
}

/** Prints the runner's result for run.mjs (the last line of stdout). */
export function emit(result) {
  process.stdout.write(`\n${JSON.stringify(result)}\n`);
}

/**
 * tfjs's MLP training step, shared by the Node runners and the Chromium page. tfjs-core's bundles
 * register no gradients (the `@tensorflow/tfjs` union package does), so the backward pass is
 * written out with the kernels tfjs's autodiff would call. Returns a function that runs one step
 * and returns the loss tensor (the caller reads and disposes it).
 */
export function tfjsMlpStep(tf) {
  const { batch, input, hidden, classes, lr } = MLP;
  const w1 = tf.variable(tf.mul(tf.randomNormal([input, hidden], 0, 1, 'float32', 0), 0.05));
  const b1 = tf.variable(tf.zeros([hidden]));
  const w2 = tf.variable(tf.mul(tf.randomNormal([hidden, classes], 0, 1, 'float32', 1), 0.05));
  const b2 = tf.variable(tf.zeros([classes]));
  const x = tf.randomNormal([batch, input], 0, 1, 'float32', 2);
  const labels = tf.randomUniform([batch], 0, classes, 'int32', 3);
  const onehot = tf.cast(tf.oneHot(labels, classes), 'float32');
  return () =>
    tf.tidy(() => {
      const pre = tf.add(tf.matMul(x, w1), b1);
      const h = tf.relu(pre);
      const logits = tf.add(tf.matMul(h, w2), b2);
      const logp = tf.logSoftmax(logits);
      const loss = tf.div(tf.neg(tf.sum(tf.mul(logp, onehot))), batch);
      const dlogits = tf.div(tf.sub(tf.exp(logp), onehot), batch);
      const dw2 = tf.matMul(h, dlogits, true, false);
      const db2 = tf.sum(dlogits, 0);
      const dpre = tf.mul(tf.matMul(dlogits, w2, false, true), tf.step(pre));
      const dw1 = tf.matMul(x, dpre, true, false);
      const db1 = tf.sum(dpre, 0);
      for (const [p, g] of [[w1, dw1], [b1, db1], [w2, dw2], [b2, db2]]) p.assign(tf.sub(p, tf.mul(g, lr)));
      return loss;
    });
}

/**
 * fusor's MLP training step (784-512-10, cross-entropy, SGD, grads set to None), built on
 * `device`. `step(x, onehot)` returns the loss tensor. The inputs are lazy: callers realize them
 * (synchronously or not, as the device allows) so that data is not part of what is timed.
 */
export function fusorMlp(torch, device = 'cpu', sizes = MLP) {
  torch.manualSeed(0);
  const { batch, input, hidden, classes, lr } = sizes;
  const on = (t) => (device === 'cpu' ? t : t.to(device));
  const params = [torch.randn(input, hidden).mul(0.05), torch.zeros(hidden), torch.randn(hidden, classes).mul(0.05), torch.zeros(classes)].map(
    (p) => on(p).detach().requiresGrad_(),
  );
  const [w1, b1, w2, b2] = params;
  const x = on(torch.randn(batch, input));
  const labels = torch.randint(0, classes, [batch]);
  const onehot = on(torch.arange(classes).unsqueeze(0).eq(labels.unsqueeze(1)).float());
  const step = (xb = x, oh = onehot) => {
    const logits = xb.matmul(w1).add(b1).relu().matmul(w2).add(b2);
    const loss = logits.logSoftmax(1).mul(oh).sum().neg().div(batch);
    loss.backward();
    torch.noGrad(() => {
      for (const p of params) {
        p.sub_(p.grad.mul(lr));
        p.grad = null;
      }
    });
    return loss;
  };
  return { step, x, onehot };
}

/**
 * New data of `shape`, drawn and realized through the public API (call it from a `setup`, outside
 * the clock): a tensor fusor has never seen, so nothing about it is memoized.
 */
let draws = 1000;

/** The webgpu runner's older freshness: the same buffer under a new node (internals; being replaced by freshRandn). */
export function freshTensor({ torch, bufferNode, getBuffer, setBuffer }, t) {
  const n = bufferNode(t.dtype, t.shape, t.device);
  setBuffer(n, getBuffer(t.node));
  return torch.Tensor._fromNode(n);
}

export function freshRandn(torch, shape, device = 'cpu') {
  torch.manualSeed(draws++);
  const t = torch.randn(shape, { device });
  if (device === 'cpu') t.dataSync();
  return t;
}
