/** Datasets and DataLoader against PyTorch 1.13's orders (fixtures from gen_golden_train.py). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as torch from '@fusor/tensor';
import { data } from '../src/index.js';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/train-data.json', import.meta.url), 'utf8')) as {
  randperm: { n: number; seed: number; first: number[]; second: number[] }[];
  random_split: { n: number; lengths: number[]; seed: number; indices: number[][] }[];
  loaders: { n: number; batch_size: number; drop_last: boolean; seed: number; len: number; epochs: [number[], number[]][][] }[];
};

class Range extends data.Dataset<number> {
  constructor(readonly n: number) {
    super();
  }
  getItem(i: number): number {
    return i;
  }
  len(): number {
    return this.n;
  }
}

describe('Generator: PyTorch\'s mt19937 and randperm', () => {
  for (const c of fixture.randperm) {
    it(`randperm(${c.n}) with seed ${c.seed}, twice from one generator`, () => {
      const g = new data.Generator().manualSeed(c.seed);
      expect(g.randperm(c.n)).toEqual(c.first);
      expect(g.randperm(c.n)).toEqual(c.second);
    });
  }
});

describe('randomSplit and Subset', () => {
  for (const c of fixture.random_split) {
    it(`randomSplit(range(${c.n}), [${c.lengths.join(', ')}]) with seed ${c.seed}`, () => {
      const parts = data.randomSplit(new Range(c.n), c.lengths, { generator: new data.Generator().manualSeed(c.seed) });
      expect(parts.map((p) => p.indices)).toEqual(c.indices);
      expect(parts.map((p) => Array.from({ length: p.len() }, (_, i) => p.getItem(i)))).toEqual(c.indices);
    });
  }
  it('raises on lengths that do not add up, and on bad indices', () => {
    expect(() => data.randomSplit(new Range(5), [2, 2])).toThrow('Sum of input lengths does not equal the length of the input dataset!');
    expect(() => new data.Subset(new Range(5), [1, 2]).getItem(2)).toThrow('index 2 is out of range for a dataset of length 2');
    expect(() => data.randomSplit(new Range(5), [5], { seed: 1 } as never)).toThrow("random_split() got an unexpected keyword argument 'seed'");
  });
});

describe('DataLoader', () => {
  for (const c of fixture.loaders) {
    it(`TensorDataset(${c.n}), batchSize ${c.batch_size}, shuffle, dropLast ${c.drop_last}: PyTorch's batches for two epochs`, async () => {
      const ds = new data.TensorDataset(torch.arange(c.n), torch.arange(c.n).mul(10));
      const loader = new data.DataLoader(ds, { batchSize: c.batch_size, shuffle: true, dropLast: c.drop_last, generator: new data.Generator().manualSeed(c.seed) });
      expect(loader.len()).toBe(c.len);
      const epochs: unknown[] = [];
      for (let e = 0; e < 2; e++) {
        const batches: unknown[] = [];
        for (const [x, y] of loader) {
          expect([x!.dtype, y!.dtype]).toEqual(['int64', 'int64']);
          batches.push([x!.tolistSync(), y!.tolistSync()]);
        }
        epochs.push(batches);
      }
      expect(epochs).toEqual(c.epochs);
      // async iteration gives the same batches from the same seed
      const again = new data.DataLoader(ds, c.batch_size, true, { dropLast: c.drop_last, generator: new data.Generator().manualSeed(c.seed) });
      const batches: unknown[] = [];
      for await (const [x, y] of again) batches.push([await x!.tolist(), await y!.tolist()]);
      expect(batches).toEqual(c.epochs[0]);
    });
  }

  it('default collate stacks tensors, numbers, nested arrays and objects', () => {
    class Samples extends data.Dataset<{ x: torch.Tensor; y: number; w: number; tag: string; pair: [number, boolean] }> {
      getItem(i: number) {
        return { x: torch.full([2], i, { dtype: torch.float32 }), y: i, w: i + 0.5, tag: `s${i}`, pair: [i * 2, i % 2 === 0] as [number, boolean] };
      }
      len(): number {
        return 3;
      }
    }
    const [b] = [...new data.DataLoader(new Samples(), { batchSize: 3 })];
    expect(b!.x.shape).toEqual([3, 2]);
    expect(b!.x.tolistSync()).toEqual([[0, 0], [1, 1], [2, 2]]);
    expect([b!.y.dtype, b!.y.tolistSync()]).toEqual(['int64', [0, 1, 2]]);
    expect([b!.w.dtype, b!.w.tolistSync()]).toEqual(['float64', [0.5, 1.5, 2.5]]);
    expect(b!.tag).toEqual(['s0', 's1', 's2']);
    expect(b!.pair[0].tolistSync()).toEqual([0, 2, 4]);
    expect([b!.pair[1].dtype, b!.pair[1].tolistSync()]).toEqual(['bool', [true, false, true]]);
  });

  it('in order without shuffle, a custom collateFn, and the last partial batch', () => {
    const loader = new data.DataLoader(new Range(7), { batchSize: 3, collateFn: (xs: number[]) => xs.join(',') });
    expect([...loader]).toEqual(['0,1,2', '3,4,5', '6']);
    expect(loader.len()).toBe(3);
    expect([...new data.DataLoader(new Range(3), { batchSize: null })].map((t) => t)).toEqual([0, 1, 2]);
  });

  it('iterable datasets batch as they stream, sync and async; len() raises without a length', async () => {
    class Stream extends data.IterableDataset<number> {
      *[Symbol.iterator]() {
        for (let i = 0; i < 5; i++) yield i;
      }
    }
    const loader = new data.DataLoader(new Stream(), { batchSize: 2 });
    expect([...loader].map((t) => (t as torch.Tensor).tolistSync())).toEqual([[0, 1], [2, 3], [4]]);
    const out: unknown[] = [];
    for await (const t of loader) out.push((t as torch.Tensor).tolistSync());
    expect(out).toEqual([[0, 1], [2, 3], [4]]);
    expect(() => loader.len()).toThrow("object of type 'Stream' has no len()");
    expect(() => new data.DataLoader(new Stream(), { shuffle: true })).toThrow('DataLoader with IterableDataset: expected unspecified shuffle option, but got shuffle=true');
  });

  it('async getItem needs for await, which keeps `prefetch` batches in flight', async () => {
    let inFlight = 0;
    let most = 0;
    class Slow extends data.Dataset<number> {
      async getItem(i: number): Promise<number> {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight--;
        return i;
      }
      len(): number {
        return 8;
      }
    }
    const loader = new data.DataLoader(new Slow(), { batchSize: 2, prefetch: 3 });
    const got: number[][] = [];
    for await (const b of loader) got.push((b as torch.Tensor).tolistSync() as number[]);
    expect(got).toEqual([[0, 1], [2, 3], [4, 5], [6, 7]]);
    expect(most).toBe(6);
    expect(() => [...loader]).toThrow('this dataset returns promises from getItem: iterate the DataLoader with for await');
  });

  it('bad options raise', () => {
    expect(() => new data.DataLoader(new Range(3), { batch_size: 2 } as never)).toThrow("DataLoader() got an unexpected keyword argument 'batch_size'");
    expect(() => new data.DataLoader(new Range(3), 0)).toThrow('batch_size should be a positive integer value, but got batch_size=0');
    expect(() => new data.DataLoader(new Range(3), 2, { batchSize: 2 })).toThrow("DataLoader() got multiple values for argument 'batchSize'");
  });

  it('shuffle without a generator follows torch.manualSeed', () => {
    const order = (): number[] => {
      torch.manualSeed(3);
      return [...new data.DataLoader(new Range(20), { batchSize: 20, shuffle: true })].flatMap((t) => (t as torch.Tensor).tolistSync() as number[]);
    };
    const a = order();
    expect(a).toEqual(order());
    expect([...a].sort((x, y) => x - y)).toEqual([...Array(20).keys()]);
    expect(a).not.toEqual([...Array(20).keys()]);
  });
});

describe('progress bar', () => {
  const sink = (isTTY: boolean): { stream: data.ProgressStream; text: () => string } => {
    let s = '';
    return { stream: { isTTY, columns: 80, write: (x: string) => (s += x) }, text: () => s };
  };

  it('formats like tqdm', () => {
    const line = data.formatMeter({ n: 450, total: 1000, elapsed: 3.43, desc: 'train', postfix: { loss: 0.51234 }, width: 80 });
    // the bar fills what the 80 columns leave: 19 cells, 45% of them in eighths
    expect(line).toBe('train:  45%|████████▌          | 450/1000 [00:03<00:04, 131.20it/s, loss=0.5123]');
    expect(line.length).toBe(80);
    expect(data.formatMeter({ n: 12, total: null, elapsed: 61, unit: 'img' })).toBe('12img [01:01, 5.08s/img]');
    expect(data.formatInterval(3725)).toBe('1:02:05');
  });

  it('on a terminal redraws one line and ends it; elsewhere prints whole lines', () => {
    const tty = sink(true);
    const seen: number[] = [];
    const bar = data.progress([1, 2, 3], { desc: 'd', stream: tty.stream });
    for (const x of bar) {
      seen.push(x);
      bar.setPostfix({ loss: x / 10 });
    }
    expect(seen).toEqual([1, 2, 3]);
    expect(tty.text().startsWith('\rd:   0%|')).toBe(true);
    expect(tty.text().endsWith('\x1b[K\n')).toBe(true);
    expect(tty.text()).toContain('| 3/3 [');
    expect(tty.text()).toContain('loss=0.3]');
    const plain = sink(false);
    const p = data.progress(new data.DataLoader(new Range(10), 4), { stream: plain.stream, interval: 0 });
    expect(p.total).toBe(3);
    for (const _ of p) void _;
    const lines = plain.text().trimEnd().split('\n');
    expect(plain.text()).not.toContain('\r');
    expect(lines[lines.length - 1]).toMatch(/^100%\|█+\| 3\/3 \[/);
    expect(() => data.progress([], { totl: 3 } as never)).toThrow("progress() got an unexpected keyword argument 'totl'");
  });
});
