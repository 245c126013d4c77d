/**
 * What runs without a launcher: DistributedSampler's partition, the errors before
 * initProcessGroup, and backend 'nccl' refusing cleanly where NCCL is absent.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as torch from '@fusor/tensor';
import * as dist from '@fusor/distributed';

describe('DistributedSampler', () => {
  it('splits indices by rank with padding, as PyTorch', () => {
    const parts = [0, 1, 2].map((rank) => [...new dist.DistributedSampler({ length: 10 }, { numReplicas: 3, rank, shuffle: false })]);
    // 10 indices, 3 ranks: 4 each, padded with the first two
    expect(parts).toEqual([
      [0, 3, 6, 9],
      [1, 4, 7, 0],
      [2, 5, 8, 1],
    ]);
    expect(new dist.DistributedSampler([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], { numReplicas: 3, rank: 0 }).length).toBe(4);
  });

  it('drops the tail with dropLast', () => {
    const s = [0, 1, 2].map((rank) => [...new dist.DistributedSampler({ len: () => 10 }, { numReplicas: 3, rank, shuffle: false, dropLast: true })]);
    expect(s).toEqual([
      [0, 3, 6],
      [1, 4, 7],
      [2, 5, 8],
    ]);
  });

  it('shuffles the same way on every rank for a (seed, epoch), differently per epoch, without the global generator', () => {
    const make = (rank: number, seed = 0) => new dist.DistributedSampler({ length: 20 }, { numReplicas: 2, rank, seed });
    torch.manualSeed(1);
    const before = torch.rand(1).itemSync();
    const a = [...make(0)];
    const b = [...make(1)];
    // the two ranks' shares are disjoint and cover every index
    expect([...a, ...b].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(a).not.toEqual(Array.from({ length: 10 }, (_, i) => 2 * i));
    expect([...make(0)]).toEqual(a);
    const e1 = make(0);
    e1.setEpoch(1);
    expect([...e1]).not.toEqual(a);
    expect([...make(0, 5)]).not.toEqual(a);
    torch.manualSeed(1);
    expect(torch.rand(1).itemSync()).toBe(before);
  });

  it('rejects bad arguments', () => {
    expect(() => new dist.DistributedSampler({ length: 4 }, { numReplicas: 2, rank: 2 })).toThrow('Invalid rank 2, rank should be in the interval [0, 1]');
    expect(() => new dist.DistributedSampler({ length: 4 }, { numReplicas: 2, rank: 0, shufle: true } as never)).toThrow(
      "DistributedSampler() got an unexpected keyword argument 'shufle'",
    );
    expect(() => new dist.DistributedSampler({ length: 4 })).toThrow(/Default process group has not been initialized/);
  });
});

describe('before initProcessGroup', () => {
  it('raises PyTorch’s error', () => {
    expect(dist.isInitialized()).toBe(false);
    expect(dist.isAvailable()).toBe(true);
    expect(() => dist.getRank()).toThrow('getRank: Default process group has not been initialized, please make sure to call initProcessGroup.');
    expect(() => dist.allReduce(torch.ones(2))).toThrow('allReduce: Default process group has not been initialized');
    expect(() => dist.initProcessGroup({ backend: 'gloo' as never })).toThrow("initProcessGroup(): Invalid backend: 'gloo' (fusor has 'mpi' and 'nccl')");
    expect(() => dist.initProcessGroup({ backend: 'mpi', timeoutMs: 5 } as never)).toThrow("initProcessGroup() got an unexpected keyword argument 'timeoutMs'");
    expect(() => new dist.DistributedDataParallel({ parameters: () => [], forward: () => 0 })).toThrow(/Default process group has not been initialized/);
  });

  it("backend 'nccl' says why it is unavailable and how to enable it", () => {
    if (dist.isNcclAvailable()) return; // a machine with NCCL: scripts/gpu/check-nccl.mjs covers it
    let err: unknown;
    try {
      dist.initProcessGroup({ backend: 'nccl' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(dist.DistBackendUnavailableError);
    expect((err as Error).message).toMatch(/^backend 'nccl' is unavailable: libnccl\.so\.2 not found \(tried libnccl\.so\.2, libnccl\.so: .*\)\. NCCL needs an NVIDIA GPU: install NCCL/);
    expect((err as Error).message).toMatch(/set FUSOR_LIBNCCL_PATH/);
    expect(dist.isInitialized()).toBe(false);
  });
});

describe('the watchdog of blocking calls', () => {
  it('ends a process stuck in a call past its deadline, with the error on stderr; a call in time is left alone', { timeout: 20_000 }, () => {
    const script = join(dirname(fileURLToPath(import.meta.url)), 'workers', 'watchdog.mjs');
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [script, '300'], { encoding: 'utf8', timeout: 15_000 });
    const ms = performance.now() - t0;
    expect(r.stdout).toBe('first call returned\n');
    expect(r.stderr).toContain('DistBackendError: allReduce timed out after 300 ms on rank 0 (world size 1): a test');
    expect(r.stderr).not.toContain('never printed');
    expect(r.signal).toBe('SIGTERM');
    expect(ms).toBeLessThan(5000);
  });
});
