// Trains a classifier on Fashion-MNIST with Adam, a progress bar and the test accuracy at the end.
//   apt-get install dataset-fashion-mnist   (the IDX files, in /usr/share/datasets/fashion-mnist)
//   pnpm build && node examples/fashion-mnist.mjs [--epochs 5] [--batch-size 64] [--lr 0.001] [--model mlp|cnn] [--limit N]
// The default model is a small CNN (Conv2d→ReLU→MaxPool ×2 →Flatten→Linear, 18k parameters), 5
// epochs; the test accuracy is printed after each. --model mlp trains a 784-256-128-10 MLP instead.
import { parseArgs } from 'node:util';
import * as torch from '@fusor/tensor';
import { nn, optim, data, datasets } from '@fusor/nn';

const { values: args } = parseArgs({
  options: {
    epochs: { type: 'string', default: '5' },
    'batch-size': { type: 'string', default: '64' },
    lr: { type: 'string', default: '0.001' },
    model: { type: 'string', default: 'cnn' },
    limit: { type: 'string' },
    seed: { type: 'string', default: '0' },
  },
});
const epochs = Number(args.epochs);
const batchSize = Number(args['batch-size']);
const lr = Number(args.lr);

function makeModel(kind) {
  if (kind === 'mlp') {
    return new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 128), new nn.ReLU(), new nn.Linear(128, 10));
  }
  if (kind !== 'cnn') throw new Error(`--model must be mlp or cnn, got ${kind}`);
  // 28×28 → conv 5×5 (16) → 24 → pool → 12 → conv 5×5 (32) → 8 → pool → 4 → 512 → 10
  return new nn.Sequential(
    new nn.Conv2d(1, 16, 5), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(16, 32, 5), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Linear(32 * 4 * 4, 10),
  );
}

torch.manualSeed(Number(args.seed));
let train = await datasets.FashionMNIST.load({ train: true });
const test = await datasets.FashionMNIST.load({ train: false });
if (args.limit) train = new data.Subset(train, [...Array(Number(args.limit)).keys()]);
const loader = new data.DataLoader(train, { batchSize, shuffle: true, generator: new data.Generator().manualSeed(Number(args.seed)) });
const model = makeModel(args.model);
const optimizer = new optim.Adam(model.parameters(), { lr });
// the learning rate follows a half cosine over the epochs: the last ones fine-tune
const scheduler = new optim.lrScheduler.CosineAnnealingLR(optimizer, epochs);
console.log(String(model));

/** The share of the test set the model classifies correctly. */
function evaluate() {
  model.eval();
  let correct = 0;
  torch.noGrad(() => {
    for (const [x, y] of new data.DataLoader(test, { batchSize: 1000 })) correct += model.forward(x).argmax(1).eq(y).sum().itemSync();
  });
  return correct;
}

let trainSeconds = 0;
let correct = 0;
for (let epoch = 0; epoch < epochs; epoch++) {
  const started = performance.now();
  model.train();
  const bar = data.progress(loader, { desc: `epoch ${epoch + 1}/${epochs}`, unit: 'batch' });
  let i = 0;
  for (const [x, y] of bar) {
    const loss = nn.functional.crossEntropy(model.forward(x), y);
    optimizer.zeroGrad({ setToNone: true });
    loss.backward();
    optimizer.step();
    // reading the loss waits for the step: only now and then
    if (i++ % 20 === 0) bar.setPostfix({ loss: loss.itemSync(), lr: scheduler.getLastLr()[0] });
  }
  scheduler.step();
  const seconds = (performance.now() - started) / 1000;
  trainSeconds += seconds;
  correct = evaluate();
  console.log(`epoch ${epoch + 1}/${epochs}: ${seconds.toFixed(1)} s, test accuracy ${((correct / test.len()) * 100).toFixed(2)}%`);
}
console.log(`test accuracy ${((correct / test.len()) * 100).toFixed(2)}% (${correct}/${test.len()}) after ${epochs} epochs in ${trainSeconds.toFixed(1)} s of training`);
