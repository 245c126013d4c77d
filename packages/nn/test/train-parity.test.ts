/**
 * The acceptance check: the same small CNN (Conv2d → ReLU → MaxPool2d → Flatten → Linear), the
 * same initial weights (a safetensors file PyTorch's model state dict was written to by
 * gen_golden_train.py), the same 50 batches of Fashion-MNIST and Adam: fusor's loss curve equals
 * PyTorch's within float32 tolerance — on cpu, and on webgpu (SwiftShader in CI: 50 steps in about
 * 3 s) where an adapter is found (without one the webgpu run is skipped with the reason locally and
 * fails in CI).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '@fusor/tensor';
import '@fusor/backend-webgpu';
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

const adapter = await torch.init('webgpu').then(
  () => null,
  (e: Error) => e.message,
);

async function trainParity(device: 'cpu' | 'webgpu'): Promise<void> {
  const model = new nn.Sequential(new nn.Conv2d(1, 4, 3), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(4 * 13 * 13, 10));
  const weights = safetensors.load(new Uint8Array(readFileSync(new URL('../fixtures/train-parity-init.safetensors', import.meta.url))));
  expect(Object.keys(weights).sort()).toEqual(['0.bias', '0.weight', '4.bias', '4.weight']);
  model.loadStateDict(weights);
  model.to(device);
  const train = await datasets.FashionMNIST.load();
  const subset = new data.Subset(train, [...Array(golden.steps * golden.batch).keys()]);
  const loader = new data.DataLoader(subset, { batchSize: golden.batch });
  const opt = new optim.Adam(model.parameters(), { lr: golden.lr });
  const losses: number[] = [];
  for (const [x, y] of loader) {
    const loss = nn.functional.crossEntropy(model.forward(x!.to(device)), y!.to(device));
    opt.zeroGrad();
    loss.backward();
    opt.step();
    losses.push((await loss.item()) as number);
  }
  expect(losses.length).toBe(golden.steps);
  // float32 tolerance, loose enough for a different summation order over 50 steps
  losses.forEach((l, k) => expect(Math.abs(l - golden.losses[k]!), `${device} step ${k + 1}: fusor ${l}, PyTorch ${golden.losses[k]}`).toBeLessThanOrEqual(1e-4 * Math.abs(golden.losses[k]!) + 1e-5));
  const sd = model.stateDict();
  for (const [k, head] of Object.entries(golden.final_head)) {
    const got = Array.from((await sd[k]!.data()) as Float32Array).slice(0, head.length);
    got.forEach((v, i) => expect(Math.abs(v - head[i]!), `${device} ${k}[${i}]`).toBeLessThanOrEqual(1e-4 * Math.abs(head[i]!) + 1e-5));
  }
}

describeData(`train parity with PyTorch 1.13${present ? '' : ' — Fashion-MNIST not installed here: apt-get install dataset-fashion-mnist'}`, () => {
  it(`${golden.steps} Adam steps of a small CNN give PyTorch's losses (cpu)`, () => trainParity('cpu'), 120_000);
  it(`${golden.steps} Adam steps of a small CNN give PyTorch's losses (webgpu)`, async (ctx) => {
    if (adapter !== null) {
      if (process.env['CI']) throw new Error(`no WebGPU adapter in CI: ${adapter}`);
      ctx.skip(`no WebGPU adapter here: ${adapter}`);
    }
    await trainParity('webgpu');
  }, 180_000);
});
