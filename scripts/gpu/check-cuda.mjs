// The cuda code paths the conformance suite's small cases never reach, checked against the cpu
// backend on the same data: vector-mode elementwise kernels (tails, every dtype, views), block-mode
// reductions (rows, columns, split across blocks), and the GEMM routines (cuBLAS and the
// backend's own tiled and tensor-core kernels; transposes, batches, every float dtype).
// Prints one line per failure and a summary; exits 1 if anything failed.
//
//   node scripts/gpu/check-cuda.mjs [--small] [--only REGEX]
//   (--small: sizes that still reach every mode, for the emulator; --only: the checks whose names match)
//
// Bundled by scripts/gpu/prepare.sh into .gpu/check-cuda.mjs.
import { configureCuda, cublasInfo, gemmPath } from '@fusor/backend-cuda';
import { getBackend } from '@fusor/runtime';
import * as torch from '@fusor/tensor';
import { MLP, fusorMlp } from '../../bench/common.mjs';

const small = process.argv.includes('--small');
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt < 0 ? null : new RegExp(process.argv[onlyAt + 1]);
const available = getBackend('cuda').isAvailable();
if (!available.ok) {
  console.log(`checks on cuda: not run — cuda is unavailable: ${available.reason}`);
  process.exit(1);
}
const big = small ? 300_001 : 30_000_001;
console.log(`checks on cuda: ${await torch.init('cuda')}`);
console.log(`cuBLAS: ${cublasInfo().available ? `${cublasInfo().version} (${cublasInfo().library})` : cublasInfo().reason}`);

let passed = 0;
const failed = [];
const numbers = (t) => Array.from(t.dataSync(), Number);

/**
 * `make(device)` on cuda and on cpu, compared elementwise: |got − want| ≤ tol · max(1, |want|)
 * (tol 0: equal, NaN = NaN), or with `scaled`, ≤ tol · the largest |want| of the output.
 */
function check(name, make, tol = 0, scaled = false) {
  if (only && !only.test(name)) return;
  try {
    torch.manualSeed(7);
    const got = [make('cuda')].flat().map(numbers);
    torch.manualSeed(7);
    const want = [make('cpu')].flat().map(numbers);
    for (const [o, w] of want.entries()) {
      const g = got[o];
      if (g.length !== w.length) throw new Error(`output ${o}: ${g.length} values, expected ${w.length}`);
      const scale = scaled ? w.reduce((m, v) => Math.max(m, Math.abs(v)), 0) : 0;
      for (let i = 0; i < w.length; i++) {
        const bound = tol * (scaled ? scale : Math.max(1, Math.abs(w[i])));
        const ok = Number.isNaN(w[i]) ? Number.isNaN(g[i]) : tol === 0 ? g[i] === w[i] : Math.abs(g[i] - w[i]) <= bound;
        if (!ok) throw new Error(`output ${o}[${i}]: got ${g[i]}, expected ${w[i]} (tolerance ${tol})`);
      }
    }
    passed++;
  } catch (e) {
    failed.push(name);
    console.log(`FAIL ${name}: ${e instanceof Error ? e.message.split('\n').slice(0, 4).join('\n  ') : e}`);
  }
}

/** Data made on cpu (the same values on both devices), then moved to `device` (16-bit floats cast there). */
const data = (device, shape, dtype = 'float32') => {
  const x = torch.randn(shape).mul(3);
  const sixteen = dtype === 'float16' || dtype === 'bfloat16';
  const t = dtype === 'float32' || sixteen ? x : dtype.startsWith('int') || dtype === 'uint8' ? x.mul(10).round().to({ dtype }) : x.to({ dtype });
  const there = device === 'cpu' ? t : t.to(device);
  return sixteen ? there.to({ dtype }) : there;
};
/** 16-bit floats live only on cuda: computed there, compared as float32 with cpu's float32. */
const half = (device, dtype) => (device === 'cpu' ? 'float32' : dtype);

// ---------------------------------------------------------------- vector mode
const chain = (x) => x.mul(1.5).add(0.5).relu().mul(x).sub(0.25);
for (const n of [1, 3, 4, 5, 1023, 4097, big]) check(`chain over ${n} float32`, (d) => chain(data(d, [n])));
for (const dtype of ['float64', 'int32', 'int64', 'int16', 'uint8']) check(`elementwise ${dtype} over 4099`, (d) => data(d, [4099], dtype).mul(3).add(1));
check('bool elementwise over 4099', (d) => data(d, [4099]).gt(0).logicalAnd(data(d, [4099]).lt(1)));
for (const dtype of ['float16', 'bfloat16']) {
  check(`elementwise ${dtype} over 4099`, (d) => data(d, [4099]).to({ dtype: half(d, dtype) }).mul(2).add(1).float(), 1e-2);
}
check('views: transposed, sliced, broadcast', (d) => {
  const x = data(d, [513, 257]);
  return [x.t().mul(2), x.narrow(0, 3, 500).add(1), x.add(data(d, [257]))];
});

// ---------------------------------------------------------------- block mode
for (const n of [1000, 100_003, big]) check(`sum, mean, amax, argmax over ${n}`, (d) => { const x = data(d, [n]); return [x.sum(), x.mean(), x.amax(), x.argmax()]; }, 1e-5);
check('int64 sum over 300001 (exact)', (d) => data(d, [300_001], 'int64').sum());
check('rows: sum and max along dim 1 of [33, 40097]', (d) => { const x = data(d, [33, 40_097]); return [x.sum(1), x.amax(1)]; }, 1e-5);
check('columns: sum along dim 0 of [40097, 33]', (d) => data(d, [40_097, 33]).sum(0), 1e-5);
check('softmax and logsumexp over rows of [64, 5000]', (d) => { const x = data(d, [64, 5000]); return [x.softmax(1), x.logsumexp(1)]; }, 1e-5);
check('var and std over 300001', (d) => { const x = data(d, [300_001]); return [x.var(), x.std()]; }, 1e-5);
check('max and argmax with NaN over 100000', (d) => { const x = data(d, [100_000]); const y = torch.where(x.gt(8), NaN, x); return [y.amax(), y.argmax()]; });

// ---------------------------------------------------------------- GEMM routines
const products = (dtype, tol) => {
  const dt = (d) => (dtype === 'float16' || dtype === 'bfloat16' ? half(d, dtype) : dtype);
  const back = (t) => t.float();
  check(`matmul ${dtype} [300, 500]·[500, 260]`, (d) => back(data(d, [300, 500], dt(d)).matmul(data(d, [500, 260], dt(d)))), tol, true);
  check(`matmul ${dtype} with transposed operands`, (d) => back(data(d, [500, 300], dt(d)).t().matmul(data(d, [260, 500], dt(d)).t())), tol, true);
  check(`bmm ${dtype} [8, 130, 200]·[8, 200, 150] and a broadcast batch`, (d) => [back(data(d, [8, 130, 200], dt(d)).matmul(data(d, [8, 200, 150], dt(d)))), back(data(d, [8, 130, 200], dt(d)).matmul(data(d, [200, 150], dt(d))))], tol, true);
};
// errors relative to the largest output: float32 accumulation; 16-bit inputs rounded on cuda (cpu keeps float32)
const TOLERANCES = [['float32', 1e-5], ['float64', 1e-12], ['float16', 1e-2], ['bfloat16', 5e-2]];
const path = () => gemmPath({ dtype: 'float32', m: 300, n: 260, k: 500, batch: [], a: { offset: 0, rowStride: 500, colStride: 1 }, b: { offset: 0, rowStride: 260, colStride: 1 }, c: { offset: 0, rowStride: 260, colStride: 1 } });
console.log(`[300, 500]·[500, 260] float32 goes to: ${path()}`);
for (const [dtype, tol] of TOLERANCES) products(dtype, tol);
configureCuda({ cublas: false });
console.log(`with cuBLAS off: ${path()}`);
for (const [dtype, tol] of TOLERANCES) products(dtype, tol);
configureCuda({ cublas: true });

// ---------------------------------------------------------------- a training step under jit
check('MLP training steps under jit: losses', (d) => {
  const m = fusorMlp(torch, d, MLP);
  const step = torch.jit(m.step, { name: 'mlp' });
  const losses = [];
  for (let i = 0; i < 4; i++) losses.push(step(m.x, m.onehot).itemSync());
  return torch.tensor(losses, { dtype: 'float64' });
}, 1e-4);

console.log(`checks on cuda: ${passed} passed, ${failed.length} failed`);
process.exit(failed.length ? 1 : 0);
