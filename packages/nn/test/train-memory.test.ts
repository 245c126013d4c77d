/** A training loop over a DataLoader (shuffle, Adam, a scheduler) keeps memory flat: no buffers pile up per step. */
import { describe, expect, it } from 'vitest';
import * as torch from '@fusor/tensor';
import { data, nn, optim } from '../src/index.js';

const STEPS = Number(process.env.FUSOR_MEMORY_STEPS ?? 10_000);

describe('training keeps memory flat', () => {
  it(`${STEPS} steps of an MLP over a shuffled DataLoader with Adam and StepLR: live buffers and bytes stop growing`, () => {
    torch.manualSeed(0);
    const ds = new data.TensorDataset(torch.randn(256, 16).contiguous(), torch.randint(0, 4, [256]).contiguous());
    const loader = new data.DataLoader(ds, { batchSize: 8, shuffle: true, generator: new data.Generator().manualSeed(1) });
    const model = new nn.Sequential(new nn.Linear(16, 32), new nn.ReLU(), new nn.Linear(32, 4));
    const opt = new optim.Adam(model.parameters(), { lr: 1e-2 });
    const sched = new optim.lrScheduler.StepLR(opt, 5, 0.9);
    const samples: { buffers: number; bytes: number }[] = [];
    let step = 0;
    let first = 0;
    let last = 0;
    while (step < STEPS) {
      for (const [x, y] of loader) {
        if (step === STEPS) break;
        const loss = nn.functional.crossEntropy(model.forward(x!), y!);
        opt.zeroGrad({ setToNone: true });
        loss.backward();
        opt.step();
        last = loss.itemSync() as number;
        if (step === 0) first = last;
        if (++step % Math.max(1, Math.floor(STEPS / 20)) === 0) samples.push(torch.memory());
      }
      sched.step();
    }
    expect(step).toBe(STEPS);
    expect(last).toBeLessThan(first);
    // after warm-up the counts hold still (within a few buffers of jitter), however many steps run
    const [a, ...rest] = samples.slice(1);
    for (const s of rest) {
      expect(s.buffers - a!.buffers, JSON.stringify(samples)).toBeLessThanOrEqual(4);
      expect(s.bytes - a!.bytes, JSON.stringify(samples)).toBeLessThanOrEqual(16 * 1024);
    }
  }, 600_000);
});
