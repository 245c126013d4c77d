// tfjs's side of `pnpm bench`: `node tfjs.mjs cpu|wasm [cold]`.
const t0 = performance.now();
const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-cpu');
await import('@tensorflow/tfjs-backend-wasm');
const backend = process.argv[2] ?? 'cpu';
await tf.setBackend(backend);
await tf.ready();
const tImport = performance.now();
const { CHAIN_SIZE, TINY, emit, matmulSweep, measure, tfjsMlpStep } = await import('./common.mjs');

const mlp = () => tfjsMlpStep(tf);

if (process.argv[3] === 'cold') {
  const loss = mlp()();
  const value = loss.dataSync()[0];
  const tEnd = performance.now();
  emit({ import_ms: tImport - t0, first_step_ms: tEnd - tImport, total_ms: tEnd - t0, loss: value });
  process.exit(0);
}

const results = { backend: tf.getBackend(), version: tf.version_core };

results.matmul = await matmulSweep(async (n) => {
  const a = tf.randomNormal([n, n], 0, 1, 'float32', n);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', n + 1);
  const reps = n <= 512 ? 20 : n <= 1024 ? 10 : 5;
  // cpu and wasm compute when the op is called: the result exists when it returns
  return measure(() => tf.matMul(a, b).dispose(), { reps, budgetMs: 3000 });
});

{
  const x = tf.randomNormal([CHAIN_SIZE], 0, 1, 'float32', 5);
  const y = tf.randomNormal([CHAIN_SIZE], 0, 1, 'float32', 6);
  results['elementwise chain 16M'] = await measure(
    () => {
      const s = tf.tidy(() => tf.sum(tf.exp(tf.mul(tf.relu(tf.add(tf.mul(x, 2), 1)), y))));
      s.dataSync();
      s.dispose();
    },
    { reps: 10, warmup: 1, budgetMs: 4000 },
  );
}

{
  const x = tf.randomNormal([4096, 1024], 0, 1, 'float32', 7);
  results['softmax 4096x1024'] = await measure(() => tf.softmax(x, 1).dispose(), { reps: 20 });
}

{
  const step = mlp();
  results['mlp step'] = await measure(() => step().dispose(), { reps: 20, warmup: 2, budgetMs: 4000 });
}

{
  const x = tf.ones([TINY.size]);
  results['1000 tiny ops'] = await measure(
    () => {
      const v = tf.tidy(() => {
        let v = x;
        for (let i = 0; i < TINY.ops; i++) v = i % 2 === 0 ? tf.add(v, 1) : tf.mul(v, 0.5);
        return v;
      });
      v.dispose();
    },
    { reps: 20 },
  );
}

emit({ results });
process.exit(0);
