/** nn.parallel's argument checks (cpu only): bad input raises at the call, in PyTorch's words where PyTorch has them. */
import { describe, expect, it } from 'vitest';
import * as torch from '@fusor/tensor';
import { nn } from '../src/index.js';

const seq = (): nn.Sequential => new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.Linear(4, 2));

describe('nn.parallel argument checks', () => {
  it('Pipe: chunks, balance and devices', () => {
    expect(() => new nn.parallel.Pipe(seq(), { chunks: 0 })).toThrow('number of chunks must be positive integer, got 0');
    expect(() => new nn.parallel.Pipe(seq(), { balance: [1, 1], devices: ['cpu', 'cuda:0'] })).toThrow(
      'module and sum of balance have different length (module: 3, sum of balance: 2)',
    );
    expect(() => new nn.parallel.Pipe(seq(), { balance: [1, 0, 2], devices: ['cpu'] })).toThrow('all balance numbers must be positive integer');
    expect(() => new nn.parallel.Pipe(seq(), { balance: [1, 2], devices: ['cpu'] })).toThrow('too few devices to hold given partitions (devices: 1, partitions: 2)');
    expect(() => new nn.parallel.Pipe(seq(), { devices: ['cpu'] })).toThrow('Pipe: devices goes with balance');
    expect(() => new nn.parallel.Pipe(seq(), { chunk: 2 } as never)).toThrow("unexpected keyword argument 'chunk'");
    expect(() => new nn.parallel.Pipe(new nn.Linear(2, 2) as never)).toThrow('Pipe: module must be an nn.Sequential');
  });

  it('Pipe on one device: one stage, micro-batches give the whole batch', async () => {
    const s = seq();
    const pipe = new nn.parallel.Pipe(s, { chunks: 2 });
    expect(pipe.devices).toEqual(['cpu']);
    const x = torch.randn(5, 3);
    expect([...pipe.forward(x).dataSync()]).toEqual([...s.forward(x).dataSync()].map((v) => expect.closeTo(Number(v), 6)));
    expect(Object.keys(pipe.stateDict())).toEqual(['partitions.0.0.weight', 'partitions.0.0.bias', 'partitions.0.2.weight', 'partitions.0.2.bias']);
  });

  it('DataParallel: options, devices and gather', () => {
    const m = seq();
    expect(() => new nn.DataParallel(m, { deviceId: ['cpu'] } as never)).toThrow("unexpected keyword argument 'deviceId'");
    expect(() => new nn.DataParallel(m, { deviceIds: [] })).toThrow('DataParallel: deviceIds must be a non-empty array of devices');
    expect(() => new nn.DataParallel(m, { deviceIds: ['cpu', 'cpu'] })).toThrow('DataParallel: device cpu is listed twice in deviceIds');
    expect(() => new nn.DataParallel(m, { deviceIds: ['gpu:x'] })).toThrow("DataParallel: invalid device 'gpu:x'");
    const dp = new nn.DataParallel(m, { deviceIds: [0, 1] });
    expect(dp.deviceIds).toEqual(['cuda:0', 'cuda:1']);
    expect(new nn.DataParallel(m).deviceIds).toEqual(['cpu']);
    expect(String(new nn.DataParallel(m))).toContain('DataParallel(\n  device_ids=[cpu], output_device=cpu, dim=0\n  (module): Sequential(');
    expect(Object.keys(new nn.DataParallel(m).stateDict())[0]).toBe('module.0.weight');
    // outputs that are arrays are gathered position by position; scalars become a vector
    const gathered = nn.parallel.gather([[torch.ones(2), torch.tensor(1)], [torch.ones(1), torch.tensor(2)]], 'cpu') as torch.Tensor[];
    expect(gathered.map((t) => t.shape)).toEqual([[3], [2]]);
    const parts = nn.parallel.scatter([torch.arange(3), 'x'], ['cpu']);
    expect([parts.length, (parts[0]![0] as torch.Tensor).shape, parts[0]![1]]).toEqual([1, [3], 'x']);
    expect(() => nn.parallel.scatter([torch.tensor(1)], ['cpu'])).toThrow('scatter: a 0-dim tensor cannot be scattered along a dimension');
  });

  it('ColumnParallelLinear / RowParallelLinear: sizes and devices', () => {
    expect(() => new nn.parallel.ColumnParallelLinear(4, 1, { devices: ['cpu', 'cuda:0'] })).toThrow(
      'ColumnParallelLinear: out_features (1) must be at least the number of devices (2)',
    );
    expect(() => new nn.parallel.RowParallelLinear(4, 2, undefined as never)).toThrow('RowParallelLinear: options with devices are required');
    expect(() => new nn.parallel.RowParallelLinear(0, 2, { devices: ['cpu'] })).toThrow('RowParallelLinear: in_features must be a positive integer, got 0');
    expect(() => new nn.parallel.RowParallelLinear(4, 2, { devices: ['cpu'], bias: 1 as never })).toThrow("RowParallelLinear(): argument 'bias' must be bool, not int");
    const row = new nn.parallel.RowParallelLinear(4, 2, { devices: ['cpu'] });
    expect(() => row.forward(torch.randn(2, 3))).toThrow('RowParallelLinear: input has 3 features, expected 4');
    expect(() => row.forwardShards([torch.randn(2, 4), torch.randn(2, 4)])).toThrow('RowParallelLinear: expected 1 input shards, got 2');
    // a new split layer draws nn.Linear's random numbers: the same seed gives the same values
    torch.manualSeed(5);
    const ref = new nn.Linear(4, 3);
    torch.manualSeed(5);
    const col = new nn.parallel.ColumnParallelLinear(4, 3, { devices: ['cpu'] });
    const x = torch.randn(2, 4);
    expect([...col.forward(x).dataSync()]).toEqual([...ref.forward(x).dataSync()]);
    expect(() => new nn.parallel.ParallelMLP(col, new nn.ReLU(), row)).toThrow("ParallelMLP: fc1's out_features (3) must equal fc2's in_features (4)");
  });
});
