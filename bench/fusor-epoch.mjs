// One training epoch of examples/fashion-mnist.mjs's small CNN (Conv2d(1,16,5)→ReLU→MaxPool2d(2)→
// Conv2d(16,32,5)→ReLU→MaxPool2d(2)→Flatten→Linear(512,10), batch 64, Adam 1e-3, shuffled DataLoader) on fusor's cpu backend: the epoch's time and the memory in use across it
// (sampled every 50 steps: fusor's live device bytes and the process RSS). Fashion-MNIST from
// Debian's package when installed, else random data of the same shape. Last stdout line: JSON.
//   node fusor-epoch.mjs [steps] [--jit]   (default: the whole epoch, 938 steps)
// --jit: the forward pass and backward() traced once by torch.jit and replayed on every later
// batch (the optimizer step stays eager: Adam's bias corrections change with the step count).
// Default: the loop as written in PyTorch, every op dispatched, differentiated and planned.
import { existsSync } from 'node:fs';
import * as torch from '@fusor/tensor';
import { data, datasets, nn, optim } from '@fusor/nn';

const BATCH = 64;
const args = process.argv.slice(2);
const jit = args.includes('--jit');
const positional = args.filter((a) => !a.startsWith('--'));
const limit = positional[0] ? Number(positional[0]) : Infinity;
torch.manualSeed(0);
const real = existsSync(`${datasets.FASHION_MNIST_ROOT}/train-images-idx3-ubyte.gz`);
const train = real
  ? await datasets.FashionMNIST.load()
  : new data.TensorDataset(torch.rand(60000, 1, 28, 28).contiguous(), torch.randint(0, 10, [60000]).contiguous());
const loader = new data.DataLoader(train, { batchSize: BATCH, shuffle: true, generator: new data.Generator().manualSeed(0) });
const model = new nn.Sequential(
  new nn.Conv2d(1, 16, 5),
  new nn.ReLU(),
  new nn.MaxPool2d(2),
  new nn.Conv2d(16, 32, 5),
  new nn.ReLU(),
  new nn.MaxPool2d(2),
  new nn.Flatten(),
  new nn.Linear(32 * 4 * 4, 10),
);
const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
const lossAndGrads = (x, y) => {
  const loss = nn.functional.crossEntropy(model.forward(x), y);
  loss.backward();
  return loss;
};
const forwardBackward = jit ? torch.jit(lossAndGrads, { maxTraces: 2 }) : lossAndGrads;

const samples = [];
const sample = (step) => samples.push({ step, bytes: torch.memory().bytes, rss: process.memoryUsage().rss });
let step = 0;
let first;
let last;
const t0 = performance.now();
const c0 = process.cpuUsage();
for (const [x, y] of loader) {
  opt.zeroGrad({ setToNone: true });
  const loss = forwardBackward(x, y);
  opt.step();
  if (step === 0) first = loss.itemSync();
  if (step % 50 === 0) sample(step);
  last = loss;
  if (++step >= limit) break;
}
last = last.itemSync();
const ms = performance.now() - t0;
const cpu = process.cpuUsage(c0);
sample(step);
const mib = (b) => b / 2 ** 20;
const after = samples.slice(2);
console.log(
  JSON.stringify({
    results: {
      epoch: {
        median_ms: ms,
        // CPU time of every thread of the process (workers and library threads too): the work done, less sensitive to a busy machine than the wall time
        cpu_ms: (cpu.user + cpu.system) / 1000,
        mode: jit ? 'jit' : 'eager',
        steps: step,
        batch: BATCH,
        data: real ? 'fashion-mnist' : 'random',
        first_loss: first,
        last_loss: last,
        device_mib: { min: mib(Math.min(...after.map((s) => s.bytes))), max: mib(Math.max(...after.map((s) => s.bytes))) },
        rss_mib: { min: mib(Math.min(...after.map((s) => s.rss))), max: mib(Math.max(...after.map((s) => s.rss))) },
      },
    },
  }),
);
