// Data parallelism across processes: an MLP on Fashion-MNIST, one replica per process, each on its
// own shard of every epoch (DistributedSampler), gradients averaged by DistributedDataParallel.
//
//   mpirun -n 2 node packages/distributed/examples/train-fashion-mnist.mjs [images]
//   (as root add --allow-run-as-root; --oversubscribe on a machine with fewer cores than ranks)
//
// Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), or FASHION_MNIST_DIR.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as torch from '@fusor/tensor';
import * as dist from '@fusor/distributed';

const dir = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const limit = Number(process.argv[2] ?? 6000);
/** IDX files: a big-endian header, then bytes. */
function idx(file, headerBytes) {
  return gunzipSync(readFileSync(join(dir, file))).subarray(headerBytes);
}
const images = idx('train-images-idx3-ubyte.gz', 16);
const labels = idx('train-labels-idx1-ubyte.gz', 8);
const dataset = { length: Math.min(limit, labels.length) };

dist.initProcessGroup({ backend: 'mpi', timeout: 60_000 });
const rank = dist.getRank();
const world = dist.getWorldSize();

torch.manualSeed(0); // every rank makes the same model; DDP broadcasts rank 0's anyway
const [inp, hidden, classes] = [784, 128, 10];
const params = [torch.randn(inp, hidden).mul(Math.sqrt(2 / inp)), torch.zeros(hidden), torch.randn(hidden, classes).mul(Math.sqrt(1 / hidden)), torch.zeros(classes)].map(
  (p) => p.requiresGrad_(),
);
const [w1, b1, w2, b2] = params;
const model = { parameters: () => params, forward: (x) => x.matmul(w1).add(b1).relu().matmul(w2).add(b2) };
const ddp = new dist.DistributedDataParallel(model);

/** The rows `ids` as a batch: pixels scaled to [0, 1], labels one-hot. */
function batch(ids) {
  const x = new Float32Array(ids.length * inp);
  const y = new Float32Array(ids.length * classes);
  ids.forEach((id, i) => {
    for (let j = 0; j < inp; j++) x[i * inp + j] = images[id * inp + j] / 255;
    y[i * classes + labels[id]] = 1;
  });
  return [torch.tensor(x).view(ids.length, inp), torch.tensor(y).view(ids.length, classes)];
}

const sampler = new dist.DistributedSampler(dataset, { shuffle: true, seed: 42 });
const perRank = 64;
const lr = 0.1;
for (let epoch = 0; epoch < 3; epoch++) {
  sampler.setEpoch(epoch);
  const mine = sampler.indices();
  let total = 0;
  let correct = 0;
  let steps = 0;
  for (let s = 0; s + perRank <= mine.length; s += perRank) {
    const [x, y] = batch(mine.slice(s, s + perRank));
    const logits = ddp.forward(x);
    const loss = logits.logSoftmax(1).mul(y).sum().neg().div(perRank);
    loss.backward();
    torch.noGrad(() => {
      for (const p of params) {
        p.sub_(p.grad.mul(lr));
        p.grad = null;
      }
    });
    total += loss.itemSync();
    correct += logits.argmax(1).eq(y.argmax(1)).sum().itemSync();
    steps++;
  }
  // every rank's numbers, averaged: the epoch's loss and accuracy over all shards
  const stats = torch.tensor([total / steps, correct / (steps * perRank)], { dtype: torch.float64 });
  dist.allReduce(stats, dist.ReduceOp.AVG);
  const [l, acc] = stats.dataSync();
  if (rank === 0) console.log(`epoch ${epoch}: loss ${l.toFixed(4)}, train accuracy ${(acc * 100).toFixed(1)}% (${world} ranks × ${steps} steps of ${perRank})`);
}
dist.destroyProcessGroup();
