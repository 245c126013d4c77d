import { describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';

// bernoulli and multinomial draw from the counter-based generator: the numbers differ from
// PyTorch's generator, so these check the distributions (with bounds many standard deviations
// wide) and determinism under manualSeed.

describe('bernoulli', () => {
  it('draws 1 with probability p, in p’s dtype, reproducibly for one seed', () => {
    const p = torch.tensor([0, 0.25, 0.9, 1]).reshape(4, 1).expand(4, 4000).contiguous();
    torch.manualSeed(5);
    const a = torch.bernoulli(p);
    expect(a.dtype).toBe('float32');
    const means = a.mean(1).tolistSync() as number[];
    expect(means[0]).toBe(0);
    expect(means[3]).toBe(1);
    expect(Math.abs(means[1]! - 0.25)).toBeLessThan(0.04);
    expect(Math.abs(means[2]! - 0.9)).toBeLessThan(0.03);
    torch.manualSeed(5);
    expect(torch.bernoulli(p).tolistSync()).toEqual(a.tolistSync());
  });
});

describe('multinomial', () => {
  it('with replacement: frequencies follow the weights, zero weights are never drawn', () => {
    torch.manualSeed(1);
    const w = torch.tensor([[1, 0, 3, 4], [0, 0, 1, 0]], { dtype: torch.float32 });
    const s = torch.multinomial(w, 4000, true);
    expect(s.dtype).toBe('int64');
    expect(s.shape).toEqual([2, 4000]);
    const rows = s.tolistSync() as number[][];
    const freq = (r: number[], k: number): number => r.filter((v) => v === k).length / r.length;
    expect(freq(rows[0]!, 1)).toBe(0);
    expect(Math.abs(freq(rows[0]!, 0) - 0.125)).toBeLessThan(0.03);
    expect(Math.abs(freq(rows[0]!, 2) - 0.375)).toBeLessThan(0.04);
    expect(Math.abs(freq(rows[0]!, 3) - 0.5)).toBeLessThan(0.04);
    expect(rows[1]!.every((v) => v === 2)).toBe(true);
  });

  it('without replacement: every category at most once, all drawn when numSamples = K', () => {
    torch.manualSeed(2);
    const s = torch.multinomial(torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5]), 5).tolistSync() as number[];
    expect([...s].sort()).toEqual([0, 1, 2, 3, 4]);
    torch.manualSeed(2);
    expect(torch.multinomial(torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5]), 5).tolistSync()).toEqual(s);
  });

  it("PyTorch's errors", () => {
    expect(() => torch.multinomial(torch.ones(2, 2, 2), 1)).toThrow('prob_dist must be 1 or 2 dim');
    expect(() => torch.multinomial(torch.ones(3), 4)).toThrow('cannot sample n_sample > prob_dist.size(-1) samples without replacement');
    expect(() => torch.multinomial(torch.ones(3), 0)).toThrow('cannot sample n_sample <= 0 samples');
  });
});
