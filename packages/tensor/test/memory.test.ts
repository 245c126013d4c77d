import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { internedCount } from '@fusor/ir';
import * as torch from '../src/index.js';

// The collector, even when node was not started with --expose-gc.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collects garbage and lets FinalizationRegistry callbacks (which free buffers) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 0));
  }
}

describe('memory stays bounded in a loop', () => {
  it('200 iterations of y = x.mul(2).add(1).sum(); y.itemSync() leak no buffers or nodes', async () => {
    await settle();
    const before = torch.memory();
    const nodesBefore = internedCount();
    const compiled = torch.compilerStats().compiled;
    const step = (i: number): number => {
      // fresh data every iteration: a new buffer, a new graph, the same kernel
      const x = torch.tensor(Float32Array.from({ length: 256 }, (_, j) => (i + j) % 7));
      const y = x.mul(2).add(1).sum();
      return y.itemSync() as number;
    };
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 200; i++) expect(step(i)).toBe([...Array(256).keys()].reduce((s, j) => s + 2 * ((i + j) % 7) + 1, 0));
      await settle();
      const now = torch.memory();
      // everything made in the loop is garbage now: at most a handful of buffers survive
      expect(now.buffers - before.buffers).toBeLessThanOrEqual(4);
      expect(now.bytes - before.bytes).toBeLessThanOrEqual(4 * 256 * 4);
      expect(internedCount() - nodesBefore).toBeLessThanOrEqual(20);
    }
    expect(torch.compilerStats().compiled - compiled).toBe(1);
  });

  it('a live tensor keeps its buffer; dropping it frees the buffer', async () => {
    await settle();
    const before = torch.memory().buffers;
    let keep: torch.Tensor | null = torch.tensor([1, 2, 3], { dtype: torch.float32 }).mul(2);
    keep.dataSync();
    await settle();
    expect(torch.memory().buffers).toBeGreaterThan(before);
    expect(keep.tolistSync()).toEqual([2, 4, 6]);
    keep = null;
    await settle();
    expect(torch.memory().buffers).toBe(before);
  });
});
