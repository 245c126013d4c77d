/**
 * The acceptance check: the same small CNN (Conv2d → ReLU → MaxPool2d → Flatten → Linear), the
 * same initial weights (a safetensors file PyTorch's model state dict was written to by
 * gen_golden_train.py), the same 50 batches of Fashion-MNIST and Adam: fusor's loss curve equals
 * PyTorch's within float32 tolerance.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { data, datasets, nn, optim, safetensors } from '../src/index.js';

const golden = JSON.parse(readFileSync(new URL('../fixtures/train-parity.json', import.meta.url), 'utf8')) as {
  steps: number;
  batch: number;
  lr: number;
  losses: number[];
  final_head: Record<string, number[]>;
};

const present = existsSync(join(datasets.FASHION_MNIST_ROOT, 'train-images-idx3-ubyte.gz'));
const describeData = present || process.env['CI'] ? describe : describe.skip;

describeData(`train parity with PyTorch 1.13${present ? '' : ' — Fashion-MNIST not installed here: apt-get install dataset-fashion-mnist'}`, () => {
  it(`${golden.steps} Adam steps of a small CNN give PyTorch's losses`, async () => {
    const model = new nn.Sequential(new nn.Conv2d(1, 4, 3), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(4 * 13 * 13, 10));
    const weights = safetensors.load(new Uint8Array(readFileSync(new URL('../fixtures/train-parity-init.safetensors', import.meta.url))));
    expect(Object.keys(weights).sort()).toEqual(['0.bias', '0.weight', '4.bias', '4.weight']);
    model.loadStateDict(weights);
    const train = await datasets.FashionMNIST.load();
    const subset = new data.Subset(train, [...Array(golden.steps * golden.batch).keys()]);
    const loader = new data.DataLoader(subset, { batchSize: golden.batch });
    const opt = new optim.Adam(model.parameters(), { lr: golden.lr });
    const losses: number[] = [];
    for (const [x, y] of loader) {
      const loss = nn.functional.crossEntropy(model.forward(x!), y!);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      losses.push(loss.itemSync() as number);
    }
    expect(losses.length).toBe(golden.steps);
    // float32 tolerance, loose enough for a different summation order over 50 steps
    losses.forEach((l, k) => expect(Math.abs(l - golden.losses[k]!), `step ${k + 1}: fusor ${l}, PyTorch ${golden.losses[k]}`).toBeLessThanOrEqual(1e-4 * Math.abs(golden.losses[k]!) + 1e-5));
    const sd = model.stateDict();
    for (const [k, head] of Object.entries(golden.final_head)) {
      const got = Array.from(sd[k]!.dataSync() as Float32Array).slice(0, head.length);
      got.forEach((v, i) => expect(Math.abs(v - head[i]!), `${k}[${i}]`).toBeLessThanOrEqual(1e-4 * Math.abs(head[i]!) + 1e-5));
    }
  }, 120_000);
});
